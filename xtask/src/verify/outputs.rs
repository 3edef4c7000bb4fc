//! Step outputs: an example's stdout split at its step markers, normalised, and kept as
//! insta snapshots in `book/outputs/<example>/<step>.snap`. The chapter shows each one with
//! `{{#include ../outputs/<example>/<step>.snap:N:}}`, which skips insta's header: the
//! snapshot file is the one copy both the page and the check read.
//!
//! Normalisation, so snapshots stay quiet across runs and machines:
//! - absolute paths: the example's output folder → `<out>`, the checkout → `<root>`,
//!   the home folder → `~`;
//! - durations (`12.3 ms`, `4 s`, `1.5 min`) → `<time>`; rates (`123.4 img/s`,
//!   `56 images/s`, `7.8 it/s`) → `<rate>`;
//! - thread counts (`4 threads`, `threads: 4`) → `<n>`;
//! - decimals with more than 4 fractional digits → rounded to 4 (`-0.0000` → `0.0000`);
//!   scientific notation with more than 4 significant digits → 4 (`1.23456e-7` → `1.235e-7`;
//!   `1e-4` stays);
//! - ANSI colour codes, carriage returns and trailing whitespace removed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use regex::Regex;

use super::Project;
use tinycats_marker::STEP_MARKER;

/// The step marker the examples print (see `tinycats_notebook::step`). Kept in sync by a
/// test, because the xtask must not depend on the project's crates.
mod tinycats_marker {
    pub const STEP_MARKER: &str = "@@tinycats-step ";
}

/// Splits raw stdout into `(step, text)` in order. Text before the first marker goes under
/// the empty step name.
pub fn split_steps(stdout: &str) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = vec![(String::new(), String::new())];
    for line in stdout.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix(STEP_MARKER) {
            steps.push((name.trim().to_owned(), String::new()));
        } else {
            steps.last_mut().unwrap().1.push_str(line);
        }
    }
    if steps[0].1.trim().is_empty() {
        steps.remove(0);
    }
    steps
}

/// What the normaliser replaces paths with.
#[derive(Debug, Clone)]
pub struct PathContext {
    pub out_dir: String,
    pub root: String,
    pub home: Option<String>,
}

static ANSI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").unwrap());
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d+(?:\.\d+)?(?:e-?\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds|min|mins|minutes|h)\b",
    )
    .unwrap()
});
static RATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d+(?:\.\d+)?\s?(?:img|imgs|images|it|steps|samples|calls)/s\b").unwrap()
});
static THREADS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d+(\s+(?:threads?|cores?)\b)|\b((?:threads?|cores?)\s*[:=]\s*)\d+\b").unwrap()
});
static SCI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-?\b\d+\.\d{4,}[eE][-+]?\d+\b").unwrap());
static LONG_DECIMAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"-?\b\d+\.\d{5,}\b").unwrap());

/// The precision (fractional digits) that long decimals are rounded to.
pub const DECIMALS: usize = 4;

pub fn normalise(text: &str, paths: &PathContext) -> String {
    let mut s = ANSI.replace_all(text, "").replace('\r', "");
    for (from, to) in [
        (Some(&paths.out_dir), "<out>"),
        (Some(&paths.root), "<root>"),
        (paths.home.as_ref(), "~"),
    ] {
        if let Some(from) = from.filter(|f| f.len() > 1) {
            s = s.replace(from.as_str(), to);
        }
    }
    let s = DURATION.replace_all(&s, "<time>");
    let s = RATE.replace_all(&s, "<rate>");
    let s = THREADS.replace_all(&s, |c: &regex::Captures| match (c.get(1), c.get(2)) {
        (Some(unit), _) => format!("<n>{}", unit.as_str()),
        (None, Some(label)) => format!("{}<n>", label.as_str()),
        _ => unreachable!(),
    });
    let s = SCI.replace_all(&s, |c: &regex::Captures| {
        c[0].parse::<f64>()
            .map(|v| format!("{v:.3e}"))
            .unwrap_or_else(|_| c[0].to_owned())
    });
    let s = LONG_DECIMAL.replace_all(&s, |c: &regex::Captures| {
        let v: f64 = c[0].parse().unwrap_or(0.0);
        let r = format!("{v:.DECIMALS$}");
        if r.starts_with('-') && r[1..].chars().all(|ch| ch == '0' || ch == '.') {
            r[1..].to_owned()
        } else {
            r
        }
    });
    let mut lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// How an insta snapshot comparison came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    Matches,
    /// Differs from (or has no) committed snapshot; insta printed the diff.
    Differs,
}

/// Compares `text` with `book/outputs/<example>/<step>.snap` through insta.
///
/// With `INSTA_UPDATE=always` (set by `--update`) insta rewrites the file in place; without
/// it insta leaves a `.snap.new` beside it for `cargo insta review` (not in CI).
pub fn snapshot(project: &Project, example: &str, step: &str, text: &str) -> SnapshotOutcome {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(project.outputs_dir().join(example));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!(
        "stdout of step `{step}` of examples/{example}.rs, shown in the book; regenerate with `cargo xtask verify-docs --update`"
    ));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(step.to_owned(), text));
    }));
    match result {
        Ok(()) => SnapshotOutcome::Matches,
        Err(_) => SnapshotOutcome::Differs,
    }
}

/// Makes insta rewrite differing snapshots in place (`--update`). insta reads its mode from
/// `INSTA_UPDATE` once per process, so call this before the first comparison.
pub fn accept_new_snapshots() {
    // SAFETY: called before any example runs or snapshot is compared, while this is the only
    // thread of the xtask that touches the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("INSTA_UPDATE", "always")
    };
}

/// The committed snapshots: example → step → file.
pub fn committed(
    project: &Project,
) -> Result<BTreeMap<String, BTreeMap<String, std::path::PathBuf>>> {
    let mut out: BTreeMap<String, BTreeMap<String, _>> = BTreeMap::new();
    let dir = project.outputs_dir();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(&dir).min_depth(2).max_depth(2) {
        let path = entry?.into_path();
        if path.extension().is_some_and(|e| e == "snap") {
            let example = path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let step = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.entry(example).or_default().insert(step, path);
        }
    }
    Ok(out)
}

/// The `{{#include …}}` target that shows a snapshot's body from a chapter in `chapter_dir`.
pub fn include_target(chapter_dir: &Path, snap: &Path, project: &Project) -> Result<String> {
    let text =
        std::fs::read_to_string(snap).with_context(|| format!("cannot read {}", snap.display()))?;
    // insta's header is a YAML block closed by a `---` line.
    let header = text
        .lines()
        .enumerate()
        .skip(1)
        .find(|(_, l)| l.trim_end() == "---")
        .map(|(i, _)| i + 1)
        .with_context(|| format!("{} has no insta header", project.rel(snap)))?;
    let rel = pathdiff(snap, chapter_dir);
    Ok(format!("{rel}:{}:", header + 1))
}

/// `target` relative to `base` (both absolute), with `/` separators.
pub fn pathdiff(target: &Path, base: &Path) -> String {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PathContext {
        PathContext {
            out_dir: "/w/target/out/ex".into(),
            root: "/w".into(),
            home: Some("/home/me".into()),
        }
    }

    #[test]
    fn the_marker_matches_the_notebook_crate() {
        let src = include_str!("../../../crates/tinycats-notebook/src/lib.rs");
        assert!(src.contains(&format!("pub const STEP_MARKER: &str = {STEP_MARKER:?};")));
    }

    #[test]
    fn stdout_splits_at_markers() {
        let out = format!("{STEP_MARKER}one\na\nb\n{STEP_MARKER}two\n{STEP_MARKER}three\nc\n");
        let steps = split_steps(&out);
        let names: Vec<_> = steps
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        assert_eq!(names, [("one", "a\nb\n"), ("two", ""), ("three", "c\n")]);
        assert_eq!(split_steps("stray\n")[0].0, "");
    }

    #[test]
    fn volatile_parts_are_normalised() {
        let raw = "saved /w/target/out/ex/grid.png in 12.5 ms (340.2 img/s)\n\
                   built /w/crates/x with 16 threads, threads: 8\n\
                   loss 0.123456789 and -0.000001 and 1.234567e-7, 1e-4 and 0.5\r\n\
                   home /home/me/.cache\x1b[32m ok\x1b[0m   \n\n";
        let got = normalise(raw, &ctx());
        assert_eq!(
            got,
            "saved <out>/grid.png in <time> (<rate>)\n\
             built <root>/crates/x with <n> threads, threads: <n>\n\
             loss 0.1235 and 0.0000 and 1.235e-7, 1e-4 and 0.5\n\
             home ~/.cache ok"
        );
    }

    #[test]
    fn words_ending_in_s_are_not_durations() {
        assert_eq!(
            normalise("13 breeds, 64 px, 8 steps", &ctx()),
            "13 breeds, 64 px, 8 steps"
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            pathdiff(
                Path::new("/a/book/outputs/e/s.snap"),
                Path::new("/a/book/src")
            ),
            "../outputs/e/s.snap"
        );
        assert_eq!(
            pathdiff(Path::new("/a/book/src/x.png"), Path::new("/a/book/src")),
            "x.png"
        );
    }
}
