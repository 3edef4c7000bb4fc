//! The book's in-browser demo (`web/`): its npm packages, its bundle in the book, and its
//! test in headless Chromium.
//!
//! - [`bundle`]: `node web/build.mjs` (esbuild) into `book/src/demo/`, plus the models the
//!   page loads, copied from `assets/`, and `models/manifest.json`, which tells the page
//!   which graph files there are and the sampler's defaults; and the flow-matching
//!   playground's network and data, from the last run of its chapter's example. mdbook then
//!   copies the folder into the built book like any other file of `book/src/`.
//! - [`browser_test`]: `node web/test/browser.mjs` against the built book, and its
//!   screenshots compared with the committed ones like every other image of the book.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::Project;
use super::images::ImageOutcome;
use super::problems::Problem;
use crate::remove_dir;
use crate::setup::{chromium, ensure_packages, web_dir};

/// The committed screenshot of the working demo page.
pub const SCREENSHOT: &str = "book/src/images/browser/demo.png";
/// The committed screenshot of the demo page opened by a permalink.
pub const PERMALINK_SCREENSHOT: &str = "book/src/images/browser/permalink.png";
/// The committed screenshot of the flow-matching playground.
pub const PLAYGROUND_SCREENSHOT: &str = "book/src/images/browser/playground.png";
/// The example whose step `playground` writes the playground's files into
/// `<its output folder>/playground/`.
pub const PLAYGROUND_EXAMPLE: &str = "09_flow_matching_from_scratch";
/// The bundle's folder inside the book's sources (git-ignored, rebuilt by every book build).
pub const DEMO_DIR: &str = "book/src/demo";

/// The graphs the page can load, by model folder: (file in `assets/`, precision).
const GRAPHS: &[(&str, &[(&str, &str)])] = &[
    (
        "generator",
        &[("model_int8.onnx", "int8-dynamic"), ("model.onnx", "fp32")],
    ),
    ("classifier", &[("model.onnx", "fp32")]),
];

/// Builds the demo into `book/src/demo/` (atomically: a half-built folder never replaces the
/// last good one).
pub fn bundle(project: &Project) -> Result<()> {
    let root = project.root();
    ensure_packages(root)?;
    let dest = root.join(DEMO_DIR);
    let partial = dest.with_extension("partial");
    remove_dir(&partial)?;
    crate::run_cmd(
        Command::new("node")
            .arg(web_dir(root).join("build.mjs"))
            .arg(&partial),
    )
    .context("bundling the in-browser demo failed (esbuild's message is above)")?;
    let mut manifest = serde_json::Map::new();
    for (folder, graphs) in GRAPHS {
        let from = root.join("assets").join(folder);
        let to = partial.join("models").join(folder);
        fs::create_dir_all(&to)?;
        copy(&from.join("config.json"), &to.join("config.json"))?;
        let mut listed = Vec::new();
        for (file, precision) in *graphs {
            let bytes = copy(&from.join(file), &to.join(file))?;
            listed.push(json!({ "file": format!("{folder}/{file}"), "precision": precision, "bytes": bytes }));
        }
        manifest.insert(
            (*folder).to_owned(),
            json!({ "config": format!("{folder}/config.json"), "graphs": listed }),
        );
    }
    // The settings recorded with the bundled generator (its sampler.json), as the CLI uses.
    let generator = root.join("assets/generator");
    let sampler = tinycats_core::SampleOptions::recorded(&generator)?
        .unwrap_or(tinycats_core::SampleOptions::DEFAULT);
    manifest.insert("sampler".into(), serde_json::to_value(sampler)?);
    crate::write_atomic(
        &partial.join("models/manifest.json"),
        &serde_json::to_string_pretty(&manifest)?,
    )?;
    bundle_playground(project, &partial.join("playground"))?;
    remove_dir(&dest)?;
    fs::rename(&partial, &dest)
        .with_context(|| format!("cannot move {} to {}", partial.display(), dest.display()))?;
    Ok(())
}

/// The playground's files from the example's last run (every file of its `playground/`
/// folder), or a notice that the book goes without it until that example has run here.
fn bundle_playground(project: &Project, to: &Path) -> Result<()> {
    let from = project
        .example_out_dir(PLAYGROUND_EXAMPLE)
        .join("playground");
    let Ok(entries) = fs::read_dir(&from) else {
        eprintln!(
            "verify-docs: the flow-matching playground is not bundled: {PLAYGROUND_EXAMPLE} has \
             not run on this machine (`cargo xtask verify-docs --example {PLAYGROUND_EXAMPLE}` runs it)"
        );
        return Ok(());
    };
    fs::create_dir_all(to)?;
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            copy(&path, &to.join(path.file_name().expect("a file name")))?;
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<u64> {
    fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

/// Runs the demo's test in headless Chromium against the built book, then compares its
/// screenshots with the committed ones (`update` accepts a changed screenshot).
/// `playground_expected`: the run included the playground's example, so the book must have
/// the playground (otherwise the test checks it only if an earlier run left its files).
pub fn browser_test(
    project: &Project,
    update: bool,
    playground_expected: bool,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let root = project.root();
    let browser = match chromium()? {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_some() => bail!("the browser test cannot run: {why}"),
        Err(why) => {
            eprintln!("verify-docs: skipping the browser test: {why}");
            return Ok(());
        }
    };
    let out = project.target_dir().join("browser-test");
    remove_dir(&out)?;
    let started = std::time::Instant::now();
    let status = Command::new("node")
        .arg(web_dir(root).join("test/browser.mjs"))
        .arg(project.build_dir())
        .arg(&out)
        .env("TINYCATS_CHROMIUM", &browser)
        .env(
            "TINYCATS_PLAYGROUND_REQUIRED",
            if playground_expected { "1" } else { "0" },
        )
        .status()
        .context("cannot start node for the browser test")?;
    eprintln!(
        "verify-docs: browser test ran in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        problems.push(Problem::new(
            "web/test/browser.mjs",
            "the in-browser demo failed its test (the failed checks are listed above)",
            "run `node web/test/browser.mjs book/build target/browser-test` after `cargo xtask verify-docs` to reproduce it",
        ));
        return Ok(());
    }
    let mut shots = vec![
        ("demo.png", SCREENSHOT),
        ("permalink.png", PERMALINK_SCREENSHOT),
    ];
    if out.join("playground.png").exists() {
        shots.push(("playground.png", PLAYGROUND_SCREENSHOT));
    }
    for (name, committed) in shots {
        compare_screenshot(project, &out.join(name), committed, update, problems)?;
    }
    Ok(())
}

/// Compares one screenshot of the browser test with its committed copy.
fn compare_screenshot(
    project: &Project,
    shot: &Path,
    rel: &str,
    update: bool,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let committed = project.root().join(rel);
    let why = match super::images::compare(shot, &committed)? {
        ImageOutcome::Same | ImageOutcome::WithinTolerance(_) => return Ok(()),
        ImageOutcome::New => format!("the screenshot {rel} is not committed"),
        ImageOutcome::Changed(how) => format!(
            "the page no longer looks like its committed screenshot: {how}; the new one is {}",
            project.rel(shot)
        ),
    };
    if update {
        fs::create_dir_all(committed.parent().expect("a file in a folder"))?;
        super::images::atomic_copy(shot, &committed)?;
        eprintln!("verify-docs: wrote {rel} ({why})");
    } else {
        problems.push(Problem::new(
            rel,
            why,
            "look at both; if the change is intended, `cargo xtask verify-docs --update` and commit it",
        ));
    }
    Ok(())
}
