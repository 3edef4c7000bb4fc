//! The README's table of declared tolerances lists exactly the steps that declare one, or
//! declare themselves chaotic.

use std::collections::BTreeSet;
use std::path::Path;

/// `(example, step)` of every step whose code calls `tolerance(..)` or `chaotic(..)` before the
/// next `step(..)`.
fn declared(root: &Path) -> BTreeSet<String> {
    let step = regex::Regex::new(r#"\bstep\("([a-z0-9_-]+)"\)"#).unwrap();
    let mut out = BTreeSet::new();
    let examples = root.join("examples");
    // Every source file of every example: `examples/NAME.rs`, or any `.rs` under the folder
    // `examples/NAME/` of an example split into modules (or of a crate example).
    for entry in walkdir::WalkDir::new(&examples) {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let first = path.strip_prefix(&examples).unwrap().components().next();
        let first = first.unwrap().as_os_str().to_string_lossy().into_owned();
        let example = first.trim_end_matches(".rs").to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let mut current = None;
        for line in source.lines() {
            if let Some(c) = step.captures(line) {
                current = Some(c[1].to_owned());
            } else if line.contains("tolerance(Tolerance")
                || line.trim_start().starts_with("chaotic(")
            {
                let name = current.clone().expect("tolerance before any step");
                out.insert(format!("{example}/{name}"));
            }
        }
    }
    out
}

#[test]
fn the_readme_lists_every_declared_tolerance() {
    // The examples declare tolerances: an empty set would make this test vacuous.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    assert!(
        declared(root).len() >= 5,
        "found too few declared tolerances: {:?}",
        declared(root)
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let row = regex::Regex::new(r"(?m)^\| `([0-9]{2}_[a-z_]+/[a-z0-9_-]+)` \|").unwrap();
    let listed: BTreeSet<String> = row
        .captures_iter(&readme)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(
        listed,
        declared(root),
        "README.md's table of declared tolerances (left) and the examples (right) disagree"
    );
}
