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
pub use tinycats_notebook::Tolerance;
use tinycats_notebook::{
    CHAOTIC_IMAGE_MARKER, CHAOTIC_MARKER, CLAIM_MARKER, CLOCK_MARKER, IMAGE_TEXT_MARKER,
    STABLE_MARKER, STEP_MARKER, TOLERANCE_MARKER,
};

/// One step's raw output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    pub name: String,
    pub text: String,
    /// What the step declared with `tinycats_notebook::tolerance`, if anything.
    pub tolerance: Option<Tolerance>,
    /// A tolerance marker that could not be read.
    pub bad_tolerance: Option<String>,
    /// When the step started, in seconds since the example's first step (from the clock
    /// marker that `tinycats_notebook::step` prints under the xtask).
    pub started_s: Option<f64>,
    /// Why the step's text is chaotic (`tinycats_notebook::chaotic`): shown as committed,
    /// not compared.
    pub chaotic: Option<String>,
    /// Images declared chaotic in this step (`tinycats_notebook::chaotic_image`): file name
    /// and why.
    pub chaotic_images: Vec<(String, String)>,
    /// What must hold on every machine (`tinycats_notebook::stable` and `::claim`), in order.
    pub stable: Vec<Stable>,
    /// Marker lines of any kind that could not be read.
    pub bad_markers: Vec<String>,
}

/// A line of a step's stable record.
#[derive(Debug, Clone, PartialEq)]
pub enum Stable {
    /// A value and how far it may move.
    Value {
        name: String,
        value: String,
        tolerance: Tolerance,
    },
    /// A claim and whether this run bore it out.
    Claim { holds: bool, text: String },
    /// The fixed text of a chaotic image (`tinycats_notebook::chaotic_image`): its title,
    /// labels and legend, which must match exactly although its curves may not.
    ImageText { image: String, text: Vec<String> },
}

impl Stable {
    /// The line of `book/outputs/<example>/stable/<step>.snap`.
    pub fn line(&self) -> String {
        match self {
            Stable::Value {
                name,
                value,
                tolerance,
            } => format!("{name} = {value}   (tolerance: {tolerance})"),
            Stable::Claim { text, .. } => format!("claim: {text}"),
            Stable::ImageText { image, text } => format!("text of {image}: {}", text.join(" | ")),
        }
    }
}

impl StepOutput {
    /// The stable record as the snapshot holds it (empty when the step declares nothing).
    pub fn stable_text(&self) -> String {
        self.stable
            .iter()
            .map(Stable::line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The claims this run did not bear out.
    pub fn failed_claims(&self) -> Vec<&str> {
        self.stable
            .iter()
            .filter_map(|s| match s {
                Stable::Claim { holds: false, text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn parse_stable(spec: &str) -> std::result::Result<Stable, String> {
    // `rel=R abs=A name words = value`
    let mut parts = spec.splitn(3, ' ');
    let (rel, abs, rest) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let tolerance = Tolerance::parse(&format!("{rel} {abs}"))?;
    let (name, value) = rest
        .rsplit_once(" = ")
        .ok_or_else(|| format!("`{rest}`: expected `name = value`"))?;
    value
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("`{value}` is not a number"))?;
    Ok(Stable::Value {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
        tolerance,
    })
}

/// Compares two stable records line by line: claims and images' text exactly, each value
/// within the tolerance its line states.
pub fn compare_stable(committed: &str, new: &str, steps: &[Stable]) -> Comparison {
    if committed == new {
        return Comparison::Equal;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), new.lines().collect());
    if a.len() != b.len() {
        return Comparison::Differs {
            why: format!("{} stable lines became {}", a.len(), b.len()),
        };
    }
    let mut worst = None;
    for (i, ((la, lb), s)) in a.iter().zip(&b).zip(steps).enumerate() {
        if let Stable::ImageText { image, .. } = s
            && la != lb
        {
            return Comparison::Differs {
                why: format!(
                    "line {}: the text {image} writes changed: `{la}` → `{lb}`; look at the new image, the committed one still shows the old text",
                    i + 1
                ),
            };
        }
        let tol = match s {
            Stable::Value { tolerance, .. } => *tolerance,
            Stable::Claim { .. } | Stable::ImageText { .. } => Tolerance { rel: 0.0, abs: 0.0 },
        };
        match compare(la, lb, tol) {
            Comparison::Equal => {}
            Comparison::WithinTolerance { .. } => worst = Some(format!("line {}: {lb}", i + 1)),
            Comparison::Differs { why } => {
                return Comparison::Differs {
                    why: format!("line {}: {}", i + 1, why.trim_start_matches("line 1: ")),
                };
            }
        }
    }
    match worst {
        Some(worst) => Comparison::WithinTolerance { worst },
        None => Comparison::Differs {
            why: "numbers are spelt differently".into(),
        },
    }
}

/// Splits raw stdout into steps in order, taking the tolerance markers out of the text.
/// Text before the first marker goes under the empty step name.
pub fn split_steps(stdout: &str) -> Vec<StepOutput> {
    let new_step = |name: String| StepOutput {
        name,
        ..StepOutput::default()
    };
    let mut steps = vec![new_step(String::new())];
    for line in stdout.split_inclusive('\n') {
        let current = steps.last_mut().unwrap();
        if let Some(name) = line.strip_prefix(STEP_MARKER) {
            steps.push(new_step(name.trim().to_owned()));
        } else if let Some(secs) = line.strip_prefix(CLOCK_MARKER) {
            current.started_s = secs.trim().parse().ok();
        } else if let Some(why) = line.strip_prefix(CHAOTIC_MARKER) {
            current.chaotic = Some(why.trim().to_owned());
        } else if let Some(spec) = line.strip_prefix(CHAOTIC_IMAGE_MARKER) {
            let (file, why) = spec.trim().split_once(' ').unwrap_or((spec.trim(), ""));
            current
                .chaotic_images
                .push((file.to_owned(), why.trim().to_owned()));
        } else if let Some(spec) = line.strip_prefix(IMAGE_TEXT_MARKER) {
            let mut parts = spec.trim_end_matches(['\n', '\r']).split('\t');
            let image = parts.next().unwrap_or_default().trim().to_owned();
            let text: Vec<String> = parts.map(|t| t.trim().to_owned()).collect();
            if image.is_empty() || text.is_empty() {
                current.bad_markers.push(format!(
                    "`{}`: expected the image's file name and its text, separated by tabs",
                    line.trim()
                ));
            } else {
                current.stable.push(Stable::ImageText { image, text });
            }
        } else if let Some(spec) = line.strip_prefix(STABLE_MARKER) {
            match parse_stable(spec.trim()) {
                Ok(s) => current.stable.push(s),
                Err(e) => current.bad_markers.push(format!("`{}`: {e}", line.trim())),
            }
        } else if let Some(spec) = line.strip_prefix(CLAIM_MARKER) {
            match spec.trim().split_once(' ') {
                Some(("holds", text)) => current.stable.push(Stable::Claim {
                    holds: true,
                    text: text.trim().to_owned(),
                }),
                Some(("FAILS", text)) => current.stable.push(Stable::Claim {
                    holds: false,
                    text: text.trim().to_owned(),
                }),
                _ => current.bad_markers.push(format!(
                    "`{}`: expected `holds` or `FAILS` and the claim",
                    line.trim()
                )),
            }
        } else if let Some(spec) = line.strip_prefix(TOLERANCE_MARKER) {
            match Tolerance::parse(spec.trim()) {
                Ok(t) => current.tolerance = Some(t),
                Err(e) => current.bad_tolerance = Some(format!("`{}`: {e}", line.trim())),
            }
        } else {
            current.text.push_str(line);
        }
    }
    if steps[0].text.trim().is_empty() && steps[0].bad_tolerance.is_none() {
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

/// How a step's new output compares with its committed snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Equal,
    /// The same text; every number within tolerance, some not identical. The committed
    /// snapshot is kept (so float noise never churns git); `worst` says which number moved most.
    WithinTolerance {
        worst: String,
    },
    /// Different text, or a number beyond tolerance; `why` names the first difference.
    Differs {
        why: String,
    },
}

/// A number in printed output.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    text: String,
    value: f64,
    /// One unit of the last printed digit (0 for integers, which are compared as counts).
    quantum: f64,
}

/// Numbers in `text` and the text with each of them replaced by `#`. A digit run that
/// continues a word (`fp32`, `step_300`, `v1.2`) is text, not a number; a leading `-` is a
/// sign only where it does not join two words (`2026-11`).
fn numbers(text: &str) -> (String, Vec<Number>) {
    static NUM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?").unwrap());
    let mut masked = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut last = 0;
    for m in NUM.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let mut start = m.start();
        if before == Some('-') {
            let before_sign = text[..start - 1].chars().next_back();
            if !before_sign.is_some_and(|c| c.is_alphanumeric()) {
                start -= 1;
            }
        }
        let t = &text[start..m.end()];
        let Ok(value) = t.parse::<f64>() else {
            continue;
        };
        let mantissa = t.split(['e', 'E']).next().unwrap_or(t);
        let exponent: i32 = t
            .split_once(['e', 'E'])
            .and_then(|(_, e)| e.parse().ok())
            .unwrap_or(0);
        let decimals = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
        let quantum = if decimals == 0 && exponent == 0 {
            0.0
        } else {
            10f64.powi(exponent - decimals)
        };
        masked.push_str(&text[last..start]);
        masked.push('#');
        last = m.end();
        found.push(Number {
            text: t.to_owned(),
            value,
            quantum,
        });
    }
    masked.push_str(&text[last..]);
    (masked, found)
}

/// Compares two normalised outputs: the text with every number masked must be equal, and each
/// number within `tol`, that is `|a − b| ≤ abs + rel · max(|a|, |b|)` plus one unit of the
/// last printed digit for decimals (values within the tolerance can round to neighbouring
/// digits). Integers get no such unit: counts are compared as counts.
pub fn compare(committed: &str, new: &str, tol: Tolerance) -> Comparison {
    if committed == new {
        return Comparison::Equal;
    }
    let (mask_a, nums_a) = numbers(committed);
    let (mask_b, nums_b) = numbers(new);
    if mask_a != mask_b || nums_a.len() != nums_b.len() {
        let line = committed
            .lines()
            .zip(new.lines())
            .position(|(a, b)| numbers(a).0 != numbers(b).0)
            .unwrap_or_else(|| committed.lines().count().min(new.lines().count()));
        return Comparison::Differs {
            why: format!("the text changed (line {})", line + 1),
        };
    }
    let line_of = |text: &str, k: usize| -> usize {
        // The line of the k-th number: count numbers line by line.
        let mut seen = 0;
        for (i, l) in text.lines().enumerate() {
            seen += numbers(l).1.len();
            if seen > k {
                return i + 1;
            }
        }
        0
    };
    let mut worst: Option<(f64, usize)> = None;
    for (k, (a, b)) in nums_a.iter().zip(&nums_b).enumerate() {
        if a.text == b.text {
            continue;
        }
        let diff = (a.value - b.value).abs();
        let allowed =
            tol.abs + tol.rel * a.value.abs().max(b.value.abs()) + a.quantum.max(b.quantum);
        // A tiny margin for the decimal → binary conversion of the printed digits.
        if diff > allowed * (1.0 + 1e-9) + 1e-300 {
            return Comparison::Differs {
                why: format!(
                    "line {}: `{}` became `{}`, beyond the step's tolerance ({tol}{})",
                    line_of(new, k),
                    a.text,
                    b.text,
                    if a.quantum.max(b.quantum) > 0.0 {
                        " plus one unit of the last printed digit"
                    } else {
                        ""
                    }
                ),
            };
        }
        let share = if allowed > 0.0 { diff / allowed } else { 0.0 };
        if worst.is_none_or(|(w, _)| share > w) {
            worst = Some((share, k));
        }
    }
    match worst {
        Some((_, k)) => Comparison::WithinTolerance {
            worst: format!(
                "line {}: `{}` → `{}`",
                line_of(new, k),
                nums_a[k].text,
                nums_b[k].text
            ),
        },
        // Only number spellings that parse equal differ (`1.0` vs `1.00`).
        None => Comparison::Differs {
            why: "numbers are spelt differently".into(),
        },
    }
}

/// The body of a committed snapshot (insta's file format), or `None` if there is no file.
pub fn committed_text(path: &Path) -> Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let snap = insta::Snapshot::from_file(path)
        .map_err(|e| anyhow::anyhow!("cannot read the snapshot {}: {e}", path.display()))?;
    let text = snap
        .as_text()
        .with_context(|| format!("{} is a binary snapshot, not text", path.display()))?;
    Ok(Some(text.to_string()))
}

/// A line diff of two outputs, `-` committed and `+` new, for the report.
pub fn diff(committed: &str, new: &str) -> String {
    let (a, b) = (format!("{committed}\n"), format!("{new}\n"));
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header("committed", "this run")
        .to_string()
}

/// Writes `text` as `book/outputs/<example>/<step>.snap` through insta (`--update` only:
/// [`accept_new_snapshots`] must have run).
pub fn write_snapshot(project: &Project, example: &str, step: &str, text: &str) {
    write_insta(
        &project.outputs_dir().join(example),
        step,
        text,
        format!(
            "stdout of step `{step}` of {}, shown in the book; regenerate with `cargo xtask verify-docs --update`",
            super::chapters::example_file(project.root(), example)
        ),
    );
}

/// The stable record of a step: `book/outputs/<example>/stable/<step>.snap`.
pub fn stable_snapshot_path(project: &Project, example: &str, step: &str) -> std::path::PathBuf {
    project
        .outputs_dir()
        .join(example)
        .join("stable")
        .join(format!("{step}.snap"))
}

/// Writes a step's stable record ([`StepOutput::stable_text`]) (`--update` only).
pub fn write_stable_snapshot(project: &Project, example: &str, step: &str, text: &str) {
    write_insta(
        &project.outputs_dir().join(example).join("stable"),
        step,
        text,
        format!(
            "what step `{step}` of {} must reproduce on every machine (its stable values, each within its tolerance, and its claims); regenerate with `cargo xtask verify-docs --update`",
            super::chapters::example_file(project.root(), example)
        ),
    );
}

fn write_insta(dir: &Path, step: &str, text: &str, description: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    // insta panics after writing when the old file differed; the write is what we want.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(step.to_owned(), text));
    }));
}

/// Makes insta rewrite differing snapshots in place (`--update`). insta reads its mode from
/// `INSTA_UPDATE` once per process, so call this before the first write. In a check,
/// verify-docs never calls insta's assertions: it compares by itself ([`compare`]), so
/// `INSTA_FORCE_PASS` or `INSTA_UPDATE` in the environment cannot pass or rewrite anything.
pub fn accept_new_snapshots() {
    // SAFETY: called before any example runs or snapshot is written, while this is the only
    // thread of the xtask that touches the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("INSTA_UPDATE", "always");
        std::env::remove_var("INSTA_FORCE_PASS");
    };
}

/// `INSTA_*` variables set in the environment, which verify-docs does not obey.
pub fn insta_environment() -> Vec<String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("INSTA_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
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
    fn clock_markers_are_read_and_taken_out_of_the_text() {
        let out = format!(
            "{STEP_MARKER}load\n{CLOCK_MARKER}0.000\nloaded\n{STEP_MARKER}train\n{CLOCK_MARKER}1.250\nloss 0.5\n"
        );
        let steps = split_steps(&out);
        assert_eq!(steps.len(), 2);
        assert_eq!(
            (steps[0].text.as_str(), steps[0].started_s),
            ("loaded\n", Some(0.0))
        );
        assert_eq!(
            (steps[1].text.as_str(), steps[1].started_s),
            ("loss 0.5\n", Some(1.25))
        );
    }

    #[test]
    fn stdout_splits_at_markers() {
        let out = format!("{STEP_MARKER}one\na\nb\n{STEP_MARKER}two\n{STEP_MARKER}three\nc\n");
        let steps = split_steps(&out);
        let names: Vec<_> = steps
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str()))
            .collect();
        assert_eq!(names, [("one", "a\nb\n"), ("two", ""), ("three", "c\n")]);
        assert_eq!(split_steps("stray\n")[0].name, "");
    }

    #[test]
    fn tolerance_markers_are_read_and_taken_out_of_the_text() {
        let out = format!(
            "{STEP_MARKER}one\n{TOLERANCE_MARKER}rel=1e-2 abs=5e-1\na\n{STEP_MARKER}two\n{TOLERANCE_MARKER}rel=x\nb\n"
        );
        let steps = split_steps(&out);
        assert_eq!(steps[0].text, "a\n");
        assert_eq!(
            steps[0].tolerance,
            Some(Tolerance {
                rel: 0.01,
                abs: 0.5
            })
        );
        assert_eq!(steps[1].tolerance, None);
        assert!(
            steps[1]
                .bad_tolerance
                .as_deref()
                .unwrap()
                .contains("`x` is not a number"),
            "{:?}",
            steps[1]
        );
    }

    #[test]
    fn chaotic_stable_and_claim_markers_are_read_and_taken_out_of_the_text() {
        let out = format!(
            "{STEP_MARKER}train\n{CHAOTIC_MARKER}training is chaotic\nstep 20 loss 1.5\n\
             {CHAOTIC_IMAGE_MARKER}curves.png curves of chaotic runs\n\
             {IMAGE_TEXT_MARKER}curves.png\tloss\tstep 10\tbest, augmented\n\
             {IMAGE_TEXT_MARKER}curves.png\n\
             {STABLE_MARKER}rel=0e0 abs=5e0 augmented: wild top-1 % = 64.6154\n\
             {CLAIM_MARKER}holds augmentation buys robustness\n\
             {CLAIM_MARKER}FAILS augmentation costs clean accuracy\n\
             {STABLE_MARKER}rel=0e0 abs=5e0 no value here\n"
        );
        let steps = split_steps(&out);
        let s = &steps[0];
        assert_eq!(s.text, "step 20 loss 1.5\n");
        assert_eq!(s.chaotic.as_deref(), Some("training is chaotic"));
        assert_eq!(
            s.chaotic_images,
            [("curves.png".to_owned(), "curves of chaotic runs".to_owned())]
        );
        assert_eq!(
            s.stable_text(),
            "text of curves.png: loss | step 10 | best, augmented\n\
             augmented: wild top-1 % = 64.6154   (tolerance: absolute 5)\n\
             claim: augmentation buys robustness\n\
             claim: augmentation costs clean accuracy"
        );
        assert_eq!(s.failed_claims(), ["augmentation costs clean accuracy"]);
        assert_eq!(s.bad_markers.len(), 2, "{:?}", s.bad_markers);
        assert!(s.bad_markers[0].contains("its text, separated by tabs"));
        assert!(s.bad_markers[1].contains("expected `name = value`"));
    }

    #[test]
    fn the_notebook_crate_prints_what_the_xtask_reads() {
        // The marker format both sides agree on: `stable` formats, `split_steps` parses.
        let line = format!("{STABLE_MARKER}rel=1e-2 abs=5e-1 clean top-1 % = 93.1000\n");
        let steps = split_steps(&format!("{STEP_MARKER}s\n{line}"));
        assert_eq!(
            steps[0].stable,
            [Stable::Value {
                name: "clean top-1 %".into(),
                value: "93.1000".into(),
                tolerance: Tolerance {
                    rel: 0.01,
                    abs: 0.5
                },
            }]
        );
    }

    #[test]
    fn stable_records_compare_each_value_with_its_own_tolerance() {
        let record = |a: f64, b: f64| {
            vec![
                Stable::Value {
                    name: "wide".into(),
                    value: format!("{a:.4}"),
                    tolerance: Tolerance { rel: 0.0, abs: 5.0 },
                },
                Stable::Value {
                    name: "narrow".into(),
                    value: format!("{b:.4}"),
                    tolerance: Tolerance { rel: 0.0, abs: 0.5 },
                },
                Stable::Claim {
                    holds: true,
                    text: "a claim".into(),
                },
            ]
        };
        let text = |r: &[Stable]| r.iter().map(Stable::line).collect::<Vec<_>>().join("\n");
        let committed = text(&record(60.0, 10.0));
        let moved = record(64.0, 10.4);
        assert!(matches!(
            compare_stable(&committed, &text(&moved), &moved),
            Comparison::WithinTolerance { .. }
        ));
        let too_far = record(60.0, 11.0);
        let Comparison::Differs { why } = compare_stable(&committed, &text(&too_far), &too_far)
        else {
            panic!("10 → 11 is beyond ±0.5");
        };
        assert!(why.starts_with("line 2:"), "{why}");
        let mut other_claim = record(60.0, 10.0);
        other_claim[2] = Stable::Claim {
            holds: true,
            text: "another claim".into(),
        };
        assert!(matches!(
            compare_stable(&committed, &text(&other_claim), &other_claim),
            Comparison::Differs { .. }
        ));
        assert!(matches!(
            compare_stable(
                &committed,
                &text(&record(60.0, 10.0)[..2]),
                &record(60.0, 10.0)[..2]
            ),
            Comparison::Differs { .. }
        ));
    }

    #[test]
    fn an_image_s_text_must_match_exactly_even_where_a_number_may_move() {
        let record = |label: &str| {
            vec![
                Stable::ImageText {
                    image: "curves.png".into(),
                    text: vec!["loss".into(), label.into()],
                },
                Stable::Value {
                    name: "top-1 %".into(),
                    value: "93.1".into(),
                    tolerance: Tolerance::STRICT,
                },
            ]
        };
        let text = |r: &[Stable]| r.iter().map(Stable::line).collect::<Vec<_>>().join("\n");
        let committed = text(&record("best at 20.5"));
        assert_eq!(
            compare_stable(
                &committed,
                &text(&record("best at 20.5")),
                &record("best at 20.5")
            ),
            Comparison::Equal
        );
        // 20.5 → 20.4 is one unit of the last digit, which a value's strict tolerance allows;
        // a figure's text is not a measurement, so it does not.
        for renamed in ["best at 20.4", "best, augmented"] {
            let Comparison::Differs { why } =
                compare_stable(&committed, &text(&record(renamed)), &record(renamed))
            else {
                panic!("{renamed}: a changed label must fail");
            };
            assert!(why.contains("the text curves.png writes changed"), "{why}");
        }
    }

    fn differs(a: &str, b: &str, t: Tolerance) -> bool {
        matches!(compare(a, b, t), Comparison::Differs { .. })
    }

    #[test]
    fn numbers_are_compared_within_tolerance_and_text_exactly() {
        let s = Tolerance::STRICT;
        assert_eq!(compare("a 1.5", "a 1.5", s), Comparison::Equal);
        // One unit of the last printed digit: 30.25 and 30.24 print as 30.3 and 30.2.
        assert!(!differs("coat 30.3%", "coat 30.2%", s));
        assert!(!differs("rmse 0.0054", "rmse 0.0055", s));
        assert!(differs("coat 22.0%", "coat 30.2%", s));
        assert!(differs("rmse 0.0721", "rmse 0.0108", s));
        // Counts are counts.
        assert!(differs("kept 519 of 523", "kept 520 of 523", s));
        assert!(!differs(
            "kept 519 of 523",
            "kept 520 of 523",
            Tolerance { rel: 0.0, abs: 1.0 }
        ));
        // 9.5e-6 vs 1.1e-5: printed noise is not within a strict tolerance.
        assert!(differs("max 9.5e-6", "max 1.1e-5", s));
        assert!(!differs(
            "max 9.5e-6",
            "max 1.1e-5",
            Tolerance {
                rel: 0.0,
                abs: 1e-5
            }
        ));
        assert!(!differs(
            "loss 0.7645",
            "loss 0.7700",
            Tolerance::relative(0.01)
        ));
        // The text around the numbers is compared exactly.
        assert!(differs("coat 30.3%", "coat 30.3 %", s));
        assert!(differs("a 1\nb 2", "a 1\nb 2\nc 3", s));
        // Numbers inside words are text: fp32 vs fp16 is a text change.
        assert!(differs("fp32 1.0", "fp16 1.0", Tolerance::relative(1.0)));
        // A minus sign joining two words is text.
        let values: Vec<f64> = numbers("2026-11 and -3.5, x-1")
            .1
            .iter()
            .map(|n| n.value)
            .collect();
        assert_eq!(values, [2026.0, 11.0, -3.5, 1.0]);
        assert_eq!(numbers("-3.5").1[0].value, -3.5);
    }

    #[test]
    fn a_difference_names_its_line_and_values() {
        let Comparison::Differs { why } =
            compare("a\nx 1.5 y 2.0", "a\nx 1.5 y 2.5", Tolerance::STRICT)
        else {
            panic!("should differ")
        };
        assert!(
            why.contains("line 2") && why.contains("`2.0` became `2.5`"),
            "{why}"
        );
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
