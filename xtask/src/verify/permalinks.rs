//! A chapter's links to a cat in the in-browser page (`try-in-browser.html#breed=…&seed=…`):
//! each must read as a permalink ([`tinycats_core::permalink`]) of a breed the bundled
//! generator has, and must be one that a step of the chapter's examples printed, so a link
//! under a figure names the cat the run drew and goes stale loudly when the run changes.

use std::sync::LazyLock;

use regex::Regex;
use tinycats_core::SampleOptions;
use tinycats_core::permalink::{PAGE, Permalink};

use super::problems::Problem;

/// `try-in-browser.html#FRAGMENT` where the fragment holds settings (`KEY=VALUE`).
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"{}#([A-Za-z_]+=[^\s)\]>`'\x22]*)",
        regex::escape(PAGE)
    ))
    .unwrap()
});

/// Whether `fragment`, a link's part after `#`, is a permalink rather than a heading's id,
/// which never holds a `=` (the built book's link check leaves those to this one).
pub fn is_permalink(fragment: &str) -> bool {
    fragment.contains('=')
}

/// Checks every permalink in `text` (the chapter `rel`): it parses, names one of `breeds`,
/// and appears verbatim in `printed`, the text of the chapter's examples' outputs.
pub fn check_chapter(
    rel: &str,
    text: &str,
    breeds: &[String],
    printed: &[String],
    problems: &mut Vec<Problem>,
) {
    let defaults = Permalink {
        breed: "Siamese".into(),
        seed: 0,
        image: 0,
        options: SampleOptions::DEFAULT,
        graph: "fp32".into(),
    };
    for (n, line) in text.lines().enumerate() {
        for cap in LINK.captures_iter(line) {
            let fragment = cap[1].replace("&amp;", "&");
            let at = format!("{rel}:{}", n + 1);
            match Permalink::parse(&fragment, &defaults) {
                Err(e) => problems.push(Problem::new(
                    &at,
                    format!("the permalink `#{fragment}` does not read: {e}"),
                    "copy the link a step printed (`Permalink::url`)",
                )),
                Ok(cat) if !breeds.contains(&cat.breed) => problems.push(Problem::new(
                    &at,
                    format!(
                        "the permalink `#{fragment}` names the breed `{}`, which the bundled generator does not have",
                        cat.breed
                    ),
                    format!("one of {}", breeds.join(", ")),
                )),
                Ok(_) if !printed.iter().any(|p| p.contains(&fragment)) => {
                    problems.push(Problem::new(
                        &at,
                        format!(
                            "the permalink `#{fragment}` is printed by none of this chapter's steps, so nothing shows it names the cat the run drew"
                        ),
                        "print the link in the step that draws the cat (`Permalink::url`) and copy it from the step's snapshot",
                    ))
                }
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAGMENT: &str =
        "breed=Siamese&seed=0&steps=10&solver=heun&guidance=3&interval=0.3,1&shift=1&graph=fp32";

    fn problems_of(text: &str, printed: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        let breeds = vec!["Siamese".to_owned(), "Bombay".to_owned()];
        check_chapter("c.md", text, &breeds, &[printed.to_owned()], &mut problems);
        problems
    }

    #[test]
    fn a_printed_permalink_passes_and_others_are_named() {
        let printed =
            format!("one Siamese\nin the page  https://x/try-in-browser.html#{FRAGMENT}\n");
        let link = format!("[this cat](try-in-browser.html#{FRAGMENT})");
        assert!(problems_of(&link, &printed).is_empty());
        // Headings' ids on the page are not permalinks.
        assert!(problems_of("[how](try-in-browser.html#one-sampler)", "").is_empty());
        let stale = link.replace("seed=0", "seed=1");
        let p = problems_of(&stale, &printed);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].to_string().contains("printed by none"), "{}", p[0]);
        let bad = link.replace("steps=10", "steps=0");
        assert!(
            problems_of(&bad, &bad)
                .iter()
                .any(|p| p.to_string().contains("does not read"))
        );
        let dog = link.replace("Siamese", "Poodle");
        assert!(
            problems_of(&dog, &dog)
                .iter()
                .any(|p| p.to_string().contains("Poodle"))
        );
    }
}
