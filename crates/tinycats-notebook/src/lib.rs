//! Helpers that make a tinycats example read like a notebook.
//!
//! An example calls [`step`] at the start of each anchored section of its source. The
//! marker line it prints splits the example's stdout into one block per step, and
//! `cargo xtask verify-docs` snapshots each block and shows it under the code block of the
//! same anchor in the book. Images go to [`out_dir`], which the xtask sets through
//! `TINYCATS_OUT_DIR`; by hand they land in `target/tinycats-out/<example>/`.
//!
//! A step whose numbers legitimately move between machines declares how far ([`tolerance`]).
//! A step that trains is chaotic — another processor's kernels print other digits and may
//! stop it at another step — and says so ([`chaotic`], [`chaotic_image`]); then the xtask
//! checks only what it declares stable: values within their tolerance ([`stable`]) and the
//! claims the chapter makes ([`claim`]).
//!
//! ```no_run
//! tinycats_notebook::step("load");
//! println!("loaded 13 breeds");
//! let dir = tinycats_notebook::out_dir();
//! # let _ = dir;
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// The prefix of the marker line that [`step`] prints. The xtask splits on it.
pub const STEP_MARKER: &str = "@@tinycats-step ";

/// The prefix of the marker line that [`tolerance`] prints. The xtask reads and removes it.
pub const TOLERANCE_MARKER: &str = "@@tinycats-tolerance ";

/// The prefix of the marker line that [`step`] prints under the xtask: seconds since the
/// example's first step, read into the book's timing table and taken out of the text.
pub const CLOCK_MARKER: &str = "@@tinycats-clock ";

/// The environment variable through which the xtask chooses an example's output folder.
pub const OUT_DIR_ENV: &str = "TINYCATS_OUT_DIR";

/// Starts the step `name` (the name of the `// ANCHOR:` that holds its code).
///
/// Everything the example prints to stdout until the next call belongs to this step.
/// Names are lowercase ASCII letters, digits, `_` and `-`, as mdBook anchors are.
pub fn step(name: &str) {
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
        "step name {name:?}: use lowercase ASCII letters, digits, '_' or '-' (an mdBook anchor name)"
    );
    static FIRST_STEP: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    let since_first = FIRST_STEP.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    // Flush what the previous step printed so it cannot land after the marker.
    let _ = out.flush();
    let _ = writeln!(out, "{STEP_MARKER}{name}");
    // The clock only under the xtask (which sets the output folder): a reader running the
    // example by hand sees the timings in the book, not in every step's output.
    if std::env::var_os(OUT_DIR_ENV).is_some() {
        let _ = writeln!(out, "{CLOCK_MARKER}{since_first:.3}");
    }
    let _ = out.flush();
}

/// How far the numbers that a step prints may move between runs on different machines
/// before `cargo xtask verify-docs` calls the step's snapshot stale.
///
/// A number passes when `|new − committed| ≤ abs + rel · max(|new|, |committed|)`, plus one
/// unit of its last printed digit for decimals (two runs whose values lie within the
/// tolerance can round to neighbouring digits). Without a declared tolerance a step is held to
/// [`Tolerance::STRICT`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative part, e.g. `0.01` for 1 %.
    pub rel: f64,
    /// Absolute part, in the printed unit (e.g. `0.5` percentage points).
    pub abs: f64,
}

impl Tolerance {
    /// The default: 0.1 % of the value.
    pub const STRICT: Tolerance = Tolerance {
        rel: 1e-3,
        abs: 0.0,
    };

    /// A tolerance of `rel` times the value.
    pub const fn relative(rel: f64) -> Tolerance {
        Tolerance { rel, abs: 0.0 }
    }

    /// A tolerance of `abs` in the printed unit.
    pub const fn absolute(abs: f64) -> Tolerance {
        Tolerance { rel: 0.0, abs }
    }

    /// Reads a tolerance as [`tolerance`] prints it (`rel=0.01 abs=0.5`, either part may be
    /// left out); the error says what is wrong with `spec`.
    pub fn parse(spec: &str) -> std::result::Result<Tolerance, String> {
        let mut t = Tolerance { rel: 0.0, abs: 0.0 };
        for pair in spec.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}`: expected key=value"))?;
            let v: f64 = value
                .parse()
                .map_err(|_| format!("`{value}` is not a number"))?;
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("`{value}` must be finite and not negative"));
            }
            match key {
                "rel" => t.rel = v,
                "abs" => t.abs = v,
                other => return Err(format!("unknown key `{other}` (known: rel, abs)")),
            }
        }
        Ok(t)
    }
}

/// How a problem message names a tolerance.
impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.rel > 0.0, self.abs > 0.0) {
            (true, true) => write!(f, "relative {:e} + absolute {}", self.rel, self.abs),
            (true, false) => write!(f, "relative {:e}", self.rel),
            (false, true) => write!(f, "absolute {}", self.abs),
            (false, false) => write!(f, "exact"),
        }
    }
}

/// Declares how far the numbers of the current step (the last [`step`]) may move between
/// machines; call it right after [`step`], next to the code that prints them, with a comment
/// that says why they vary.
pub fn tolerance(t: Tolerance) {
    assert!(
        t.rel.is_finite() && t.abs.is_finite() && t.rel >= 0.0 && t.abs >= 0.0,
        "tolerance {t:?}: use finite, non-negative values"
    );
    let mut out = std::io::stdout().lock();
    let _ = out.flush();
    let _ = writeln!(out, "{TOLERANCE_MARKER}rel={:e} abs={:e}", t.rel, t.abs);
    let _ = out.flush();
}

/// The prefix of the marker line that [`chaotic`] prints.
pub const CHAOTIC_MARKER: &str = "@@tinycats-chaotic ";

/// The prefix of the marker line that [`chaotic_image`] prints.
pub const CHAOTIC_IMAGE_MARKER: &str = "@@tinycats-chaotic-image ";

/// The prefix of the marker line that [`chaotic_image`] prints with the image's text.
pub const IMAGE_TEXT_MARKER: &str = "@@tinycats-image-text ";

/// The prefix of the marker line that [`stable`] prints.
pub const STABLE_MARKER: &str = "@@tinycats-stable ";

/// The prefix of the marker line that [`claim`] prints.
pub const CLAIM_MARKER: &str = "@@tinycats-claim ";

fn marker(prefix: &str, rest: &str) {
    assert!(
        !rest.contains('\n'),
        "{prefix}{rest:?}: a marker's text must fit on one line"
    );
    let mut out = std::io::stdout().lock();
    let _ = out.flush();
    let _ = writeln!(out, "{prefix}{rest}");
    let _ = out.flush();
}

/// Declares that what the current step prints comes from a chaotic computation — a training
/// run, whose last-bit differences between CPU kernels grow step by step until an early stop
/// fires elsewhere — so that another processor prints other digits and even other lines.
///
/// `cargo xtask verify-docs` then shows the step's output as the committed run printed it,
/// and checks only what the step declares stable: its [`stable`] values within their
/// tolerances and its [`claim`]s. Say `why` in a few words; the xtask prints it.
pub fn chaotic(why: &str) {
    marker(CHAOTIC_MARKER, why.trim());
}

/// Declares that the image at `path` (a PNG the example writes into [`out_dir`]) draws
/// chaotic numbers, such as training curves: `cargo xtask verify-docs` compares it with the
/// committed one by structure (size, layout, colours of the figure), not pixel by pixel.
///
/// `text` is what the figure writes that does not depend on the run: its title, axis
/// labels, legend and row labels (`LineChart::texts`, `ImageGrid::texts` of tinycats-plot),
/// never tick values. verify-docs keeps it in the step's stable record and asks for it
/// exactly, so a renamed curve or a new title cannot hide in the structure's tolerance.
pub fn chaotic_image(path: &Path, why: &str, text: &[String]) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(!name.is_empty(), "chaotic_image({path:?}): not a file path");
    assert!(
        !text.is_empty(),
        "chaotic_image({path:?}): give the figure's fixed text (title, labels, legend)"
    );
    marker(CHAOTIC_IMAGE_MARKER, &format!("{name} {}", why.trim()));
    let text: Vec<String> = text
        .iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    marker(IMAGE_TEXT_MARKER, &format!("{name}\t{}", text.join("\t")));
}

/// A number of the current step that must hold on every machine, within `t`: the part of a
/// [`chaotic`] step's result that is not chaos (a test accuracy, a final loss). Returns
/// `value`, so it can wrap the expression that computes it.
///
/// `name` says what it is (`"augmented: wild top-1 %"`); `cargo xtask verify-docs` keeps the
/// values of a step in `book/outputs/<example>/stable/<step>.snap` and compares each with its
/// own tolerance.
pub fn stable(name: &str, value: f64, t: Tolerance) -> f64 {
    assert!(
        t.rel.is_finite() && t.abs.is_finite() && t.rel >= 0.0 && t.abs >= 0.0,
        "stable({name:?}): tolerance {t:?}: use finite, non-negative values"
    );
    assert!(
        !name.contains('='),
        "stable({name:?}): a name cannot contain `=`"
    );
    marker(
        STABLE_MARKER,
        &format!(
            "rel={:e} abs={:e} {} = {value:.4}",
            t.rel,
            t.abs,
            name.trim()
        ),
    );
    value
}

/// A claim that failed: what was claimed, and what the run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimFailed {
    pub claim: String,
    pub measured: String,
}

impl std::fmt::Display for ClaimFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "this run contradicts the chapter's claim \"{}\" ({})",
            self.claim, self.measured
        )
    }
}

impl std::error::Error for ClaimFailed {}

/// States what the chapter argues from this step's numbers (`"augmentation costs clean
/// accuracy"`), and whether this run bears it out. `measured` shows the numbers behind it
/// (only in the error, since they are chaotic).
///
/// The claim's text is checked by `cargo xtask verify-docs` like a [`stable`] value, and a
/// claim that does not hold fails the step on every machine: the error ends the example.
pub fn claim(
    claim: &str,
    holds: bool,
    measured: impl std::fmt::Display,
) -> Result<(), ClaimFailed> {
    let claim = claim.trim();
    marker(
        CLAIM_MARKER,
        &format!("{} {claim}", if holds { "holds" } else { "FAILS" }),
    );
    if holds {
        Ok(())
    } else {
        Err(ClaimFailed {
            claim: claim.to_owned(),
            measured: measured.to_string(),
        })
    }
}

/// The folder this example writes its images and files to, created if missing.
///
/// `TINYCATS_OUT_DIR` when set (the xtask sets it), else
/// `<workspace>/target/tinycats-out/<example name>/`.
pub fn out_dir() -> PathBuf {
    let dir = match std::env::var_os(OUT_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => default_out_dir(),
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create the output folder {}: {e}", dir.display());
    }
    dir
}

/// `path` relative to [`out_dir`] when it lies inside it, for printing a stable location.
pub fn display_path(path: &Path) -> String {
    let out = out_dir();
    match path.strip_prefix(&out) {
        Ok(rel) => format!("<out>/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

fn default_out_dir() -> PathBuf {
    let example = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "example".to_owned());
    workspace_root()
        .join("target")
        .join("tinycats-out")
        .join(example)
}

/// The tinycats checkout this crate was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/tinycats-notebook sits two levels below the workspace root")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tolerance_reads_back_as_its_marker_prints_it() {
        let t = Tolerance {
            rel: 0.01,
            abs: 0.5,
        };
        let printed = format!("rel={:e} abs={:e}", t.rel, t.abs);
        assert_eq!(Tolerance::parse(&printed), Ok(t));
        assert_eq!(Tolerance::parse("abs=2"), Ok(Tolerance::absolute(2.0)));
        assert!(
            Tolerance::parse("rel=-1")
                .unwrap_err()
                .contains("not negative")
        );
        assert!(
            Tolerance::parse("tol=1")
                .unwrap_err()
                .contains("unknown key")
        );
        assert_eq!(Tolerance::STRICT.to_string(), "relative 1e-3");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").exists());
        assert!(workspace_root().join("crates").is_dir());
    }

    #[test]
    fn a_claim_that_does_not_hold_is_an_error_naming_what_was_measured() {
        assert_eq!(claim("more is better", true, "2 > 1"), Ok(()));
        let err = claim("less is better", false, "2 > 1").unwrap_err();
        assert_eq!(err.claim, "less is better");
        assert!(
            err.to_string().contains("\"less is better\" (2 > 1)"),
            "{err}"
        );
    }

    #[test]
    fn a_stable_value_is_returned_as_it_is() {
        assert_eq!(stable("top-1 %", 93.1, Tolerance::absolute(5.0)), 93.1);
    }

    #[test]
    #[should_panic(expected = "cannot contain `=`")]
    fn a_stable_name_cannot_hold_the_separator() {
        stable("a = b", 1.0, Tolerance::STRICT);
    }

    #[test]
    #[should_panic(expected = "mdBook anchor name")]
    fn step_names_must_be_anchor_names() {
        step("Bad Name");
    }
}
