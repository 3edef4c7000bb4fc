//! The 13 classes and the matching of folder names to them.

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
    let best = BREEDS
        .iter()
        .enumerate()
        .map(|(id, b)| {
            (
                id,
                strsim::normalized_damerau_levenshtein(&norm, &normalize_class_name(b)),
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match best {
        Some((id, score)) if score >= 0.75 => BreedMatch::Near(id),
        _ => BreedMatch::Unknown,
    }
}

/// Class id of a canonical breed name (exact match after normalisation).
pub fn breed_id(name: &str) -> Option<usize> {
    match match_breed(name) {
        BreedMatch::Exact(id) => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
