//! Class tables: the 13 canonical classes, the matching of folder names to them, and the
//! lookup of a breed in a model's own `class_names` (with the generator's null class).

/// Class names, index = class id. The 12 Oxford-IIIT Pet cat breeds in the dataset's
/// own (alphabetical) order, then `Other` (Oxford's dogs, or anything that is not one of
/// the twelve).
pub const BREEDS: [&str; 13] = [
    "Abyssinian",
    "Bengal",
    "Birman",
    "Bombay",
    "British_Shorthair",
    "Egyptian_Mau",
    "Maine_Coon",
    "Persian",
    "Ragdoll",
    "Russian_Blue",
    "Siamese",
    "Sphynx",
    "Other",
];

/// Number of classes of the breed classifier (`BREEDS.len()`).
pub const NUM_CLASSES: usize = 13;

/// Class id of `Other`.
pub const OTHER: usize = 12;

/// Lower-cases and drops everything but letters and digits: `"british-shorthair"`,
/// `"British Shorthair"` and `"British_Shorthair"` all become `"britishshorthair"`.
pub fn normalize_class_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Checks a model's class names, which become file and folder names (`tinycats sample
/// --out-dir` writes `NAME_00.png`, datasets have a folder per class): each must be a plain
/// name — not empty, at most 100 characters, no `/`, `\` or `:`, no control characters,
/// not `.` or `..`, no leading or trailing space — and no two may be the same ignoring case
/// (they would be one file on a case-insensitive disk). The error names the first bad one.
pub fn check_class_names(names: &[String]) -> crate::Result<()> {
    const RULE: &str = "a plain name: 1 to 100 characters, no `/`, `\\`, `:` or control \
                        characters, not `.` or `..`, no leading or trailing space (class names \
                        become file names)";
    let mut seen = std::collections::HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let bad = name.is_empty()
            || name.chars().count() > 100
            || name == "."
            || name == ".."
            || name.trim() != name
            || name
                .chars()
                .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control());
        if bad {
            return Err(crate::Invalid::new(
                &format!("class_names[{i}]"),
                format!("{name:?}"),
                RULE,
            ));
        }
        if let Some(first) = seen.insert(name.to_lowercase(), i) {
            return Err(crate::Invalid::new(
                &format!("class_names[{i}]"),
                format!("{name:?}"),
                &format!(
                    "a name of its own: class_names[{first}] is {:?}, the same ignoring case",
                    names[first]
                ),
            ));
        }
    }
    Ok(())
}

/// How a class name relates to the canonical breeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreedMatch {
    /// Matches `BREEDS[id]` up to case and separators.
    Exact(usize),
    /// Matches no breed, but is close to `BREEDS[id]` (probably a typo).
    Near(usize),
    /// Matches nothing (a new class, e.g. for fine-tuning).
    Unknown,
}

/// Matches a class name to a breed, case- and separator-insensitively, with a
/// "did you mean" for near misses (normalised edit distance).
pub fn match_breed(name: &str) -> BreedMatch {
    let norm = normalize_class_name(name);
    if norm.is_empty() {
        return BreedMatch::Unknown;
    }
    if let Some(id) = BREEDS.iter().position(|b| normalize_class_name(b) == norm) {
        return BreedMatch::Exact(id);
    }
    // Common aliases seen in photo collections.
    let alias = match norm.as_str() {
        "dog" | "dogs" | "others" | "notacat" => Some(OTHER),
        "mainecooncat" | "coon" => Some(6),
        "britishblue" | "bsh" => Some(4),
        "mau" => Some(5),
        _ => None,
    };
    if let Some(id) = alias {
        return BreedMatch::Exact(id);
    }
    match closest_name(&norm, BREEDS) {
        Some((id, _)) => BreedMatch::Near(id),
        None => BreedMatch::Unknown,
    }
}

/// The "did you mean": the position and name in `names` closest to `given` after
/// normalisation, when it is close enough to be a typo (normalised Damerau–Levenshtein
/// similarity of at least 0.75: one slip in a seven-letter name).
pub fn closest_name<'a>(
    given: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<(usize, &'a str)> {
    let given = normalize_class_name(given);
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let score = strsim::normalized_damerau_levenshtein(&given, &normalize_class_name(name));
            (i, name, score)
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .filter(|&(_, _, score)| score >= 0.75)
        .map(|(i, name, _)| (i, name))
}

/// Class id of a canonical breed name (exact match after normalisation).
pub fn breed_id(name: &str) -> Option<usize> {
    match match_breed(name) {
        BreedMatch::Exact(id) => Some(id),
        _ => None,
    }
}

/// Which class a request means: a label, a name, or the generator's null class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breed {
    /// A label; `class_names.len()` is the null class.
    Index(usize),
    /// A class name, matched ignoring case, spaces, `_` and `-` (`"maine coon"`,
    /// `"Maine_Coon"`).
    Name(String),
    /// The null class: unconditional samples, no guidance.
    Unconditional,
}

impl std::str::FromStr for Breed {
    type Err = std::convert::Infallible;
    /// A number is a label, `unconditional` the null class, anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            t if t.eq_ignore_ascii_case("unconditional") => Breed::Unconditional,
            t => t
                .parse()
                .map(Breed::Index)
                .unwrap_or_else(|_| Breed::Name(t.to_string())),
        })
    }
}

/// A breed that a model does not know, with the labels it does know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown breed `{given}`{}: this model knows {known}",
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
)]
pub struct UnknownBreed {
    pub given: String,
    /// The model's class name closest to `given`, when it looks like a typo of one.
    pub suggestion: Option<String>,
    /// `0 Abyssinian, 1 Bengal, …`, and the null class when there is one.
    pub known: String,
}

/// The label of `breed` in a model's `class_names`. With `null_class`, the generator's
/// extra label `class_names.len()` (unconditional) is allowed too.
pub fn class_index(
    class_names: &[String],
    breed: &Breed,
    null_class: bool,
) -> Result<usize, UnknownBreed> {
    let n = class_names.len();
    let unknown = |given: String, suggestion: Option<&str>| {
        let mut known = class_names
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{i} {name}"))
            .collect::<Vec<_>>()
            .join(", ");
        if null_class {
            known.push_str(&format!(" ({n} = unconditional)"));
        }
        UnknownBreed {
            given,
            suggestion: suggestion.map(str::to_string),
            known,
        }
    };
    match breed {
        Breed::Unconditional if null_class => Ok(n),
        Breed::Unconditional => Err(unknown("unconditional".into(), None)),
        Breed::Index(i) if *i < n || (null_class && *i == n) => Ok(*i),
        Breed::Index(i) => Err(unknown(i.to_string(), None)),
        Breed::Name(name) => {
            let want = normalize_class_name(name);
            class_names
                .iter()
                .position(|c| normalize_class_name(c) == want)
                .ok_or_else(|| {
                    let near = closest_name(name, class_names.iter().map(String::as_str));
                    unknown(name.clone(), near.map(|(_, c)| c))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_that_would_be_paths_are_refused() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_class_names(&names(&BREEDS)).is_ok());
        assert!(check_class_names(&names(&["Maine Coon", "Teal", "Chartreux-2"])).is_ok());
        for bad in [
            "../../escaped",
            "/some/abs/path",
            "a\\b",
            "C:cat",
            "..",
            ".",
            "",
            " Siamese",
            "tab\tname",
        ] {
            let err = check_class_names(&names(&["Bengal", bad]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("class_names[1]") && err.contains("file names"),
                "{bad:?}: {err}"
            );
        }
        let long = "x".repeat(101);
        assert!(check_class_names(&[long]).is_err());
        let err = check_class_names(&names(&["Siamese", "Bengal", "siamese"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class_names[2]") && err.contains("class_names[0]"),
            "{err}"
        );
    }

    #[test]
    fn model_class_lookup_matches_names_labels_and_the_null_class() {
        let names: Vec<String> = BREEDS.iter().map(|s| s.to_string()).collect();
        let find = |b: &str, null| class_index(&names, &b.parse().unwrap(), null);
        assert_eq!(find("maine coon", false), Ok(6));
        assert_eq!(find("Russian-Blue", false), Ok(9));
        assert_eq!(find("12", false), Ok(12));
        assert_eq!(find("13", true), Ok(13));
        assert_eq!(find("unconditional", true), Ok(13));
        let err = find("13", false).unwrap_err().to_string();
        assert!(
            err.contains("`13`") && err.contains("0 Abyssinian"),
            "{err}"
        );
        let err = find("Scottish Fold", true).unwrap_err().to_string();
        assert!(err.contains("13 = unconditional"), "{err}");
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn a_typo_of_a_model_class_gets_a_did_you_mean_and_the_full_list() {
        let names: Vec<String> = BREEDS.iter().map(|s| s.to_string()).collect();
        let err = class_index(&names, &Breed::Name("Siamse".into()), false).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("Siamese"));
        let text = err.to_string();
        assert!(
            text.contains("unknown breed `Siamse` (did you mean `Siamese`?)")
                && text.contains("0 Abyssinian")
                && text.contains("12 Other"),
            "{text}"
        );
        // The model's own names, not the canonical table: a fine-tuned class is suggested.
        let own = vec!["Tabby".to_string(), "Calico".to_string()];
        let err = class_index(&own, &Breed::Name("calcio".into()), false).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("Calico"));
        let err = class_index(&names, &Breed::Name("Unicorn".into()), false).unwrap_err();
        assert_eq!(err.suggestion, None);
    }

    #[test]
    fn names_match_case_and_separator_insensitively() {
        assert_eq!(match_breed("british-shorthair"), BreedMatch::Exact(4));
        assert_eq!(match_breed("Maine Coon"), BreedMatch::Exact(6));
        assert_eq!(match_breed("RUSSIAN_BLUE"), BreedMatch::Exact(9));
        assert_eq!(match_breed("other"), BreedMatch::Exact(OTHER));
    }

    #[test]
    fn near_misses_get_a_suggestion_and_strangers_do_not() {
        assert_eq!(match_breed("Siamesse"), BreedMatch::Near(10));
        assert_eq!(match_breed("Abysinian"), BreedMatch::Near(0));
        assert_eq!(match_breed("Scottish_Fold"), BreedMatch::Unknown);
        assert_eq!(match_breed("___"), BreedMatch::Unknown);
    }

    #[test]
    fn breeds_and_num_classes_agree() {
        assert_eq!(BREEDS.len(), NUM_CLASSES);
        assert_eq!(BREEDS[OTHER], "Other");
    }
}
