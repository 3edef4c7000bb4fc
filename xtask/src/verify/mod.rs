//! `cargo xtask verify-docs`: the book can be trusted because it runs.
//!
//! 1. Provenance ([`chapters`]): every Rust block of a published chapter (at any depth, in any
//!    spelling, as HTML or as an mdBook directive) is an include of an example's anchor, with
//!    prose before it; every anchor and example is shown; images exist; the examples are
//!    numbered in the order `SUMMARY.md` reads them. Pages a program writes (the bench's
//!    "How fast is it?") are checked for structure ([`generated`]). Every measured figure
//!    of a chapter's prose is one its examples printed, or marked as coming from elsewhere
//!    ([`prose`]).
//! 2. Execution ([`run()`]): all examples built once (release) and run with a timeout, in their
//!    own process group (nothing they start may outlive them); `--kernels avx2` limits libtorch,
//!    MKL and oneDNN to AVX2 kernels, as on a CPU without AVX-512.
//! 3. Outputs ([`outputs`]): each step's normalised stdout against its insta snapshot, shown
//!    under its code block: the text exactly, the numbers within the step's tolerance. A
//!    difference is rerun once to tell a stale snapshot from nondeterministic output, and
//!    `--update` writes nothing that a second run does not reproduce. A step declared
//!    chaotic (`tinycats_notebook::chaotic`: a training run, whose digits and stopping step
//!    differ between CPU makers) is shown as committed and checked by what it declares
//!    stable: values within their own tolerances and claims, kept in
//!    `book/outputs/<example>/stable/<step>.snap`; `--kernels` runs the examples under other
//!    kernel settings to show that those hold.
//! 4. Images ([`images`]): compared with the committed copies by structure and by colour;
//!    images of chaotic runs (`tinycats_notebook::chaotic_image`) by structure only.
//! 5. The book built with mdbook + mdbook-katex, and every internal link checked ([`links`]).
//!
//! Examples whose inputs are unchanged since their last passing run are skipped ([`cache`]).
//! `INSTA_*` variables cannot turn a check off: verify-docs compares by itself.

pub mod cache;
pub mod chapters;
mod check;
pub mod generated;
pub mod images;
pub mod links;
pub mod markdown;
pub mod outputs;
pub mod permalinks;
pub mod problems;
pub mod prose;
pub mod run;
pub mod timings;
pub mod web;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use problems::Problem;

#[derive(Debug, Args, Default, Clone)]
pub struct VerifyArgs {
    /// Accept new outputs: rewrite changed snapshots, images beyond tolerance, add new ones
    /// and delete orphans.
    #[arg(long)]
    pub update: bool,
    /// Rerun every example, even those whose inputs are unchanged since they last passed.
    #[arg(long)]
    pub force: bool,
    /// Only these examples (by file stem, e.g. `00_setup_check`); repeatable.
    #[arg(long = "example", value_name = "NAME")]
    pub examples: Vec<String>,
    /// Examples run at once (default: half the cores, at least 1; each uses several threads).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Cargo features for the examples' build, e.g. `cuda`.
    #[arg(long)]
    pub features: Option<String>,
    /// The cargo profile the examples are built with (default `release`, as the chapters run
    /// them). `cargo xtask ci` builds them in `dev`, which shares every dependency with the
    /// test build; they print and draw the same (Rust does not reorder floating-point
    /// arithmetic at any optimisation level, and libtorch and ONNX Runtime are the same
    /// libraries), only the timings differ.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Build with `--workspace`: features resolved over every member, as `cargo test
    /// --workspace` resolves them, so that the examples' build reuses the test build's
    /// libraries (`cargo xtask ci`). Without it they resolve as a reader's `cargo run
    /// --example` does.
    #[arg(long, hide = true)]
    pub workspace: bool,
    /// Skip building the book with mdbook and checking its links (and the browser test).
    #[arg(long)]
    pub no_book: bool,
    /// Skip the in-browser demo's test in headless Chromium after the book build.
    #[arg(long)]
    pub no_browser: bool,
    /// Run the examples under other CPU kernels than this CPU's own, as another processor
    /// would: `avx2` (libtorch, MKL and oneDNN limited to AVX2, as on a CPU without AVX-512;
    /// what `cargo xtask ci` checks besides this CPU's own run), `sse41` (no AVX at all),
    /// `mkl-compatible` (MKL's processor-independent code path), `one-thread` (one thread,
    /// other reduction orders). Chaotic steps must keep their stable values and claims.
    #[arg(long = "kernels", alias = "isa", value_name = "NAME", value_parser = KERNELS.map(|(name, _)| name))]
    pub isa: Option<String>,
    /// Check another project tree (the engine's fixture tests use this).
    #[arg(long, hide = true)]
    pub root: Option<PathBuf>,
    /// Run already-built executables from this folder instead of building with cargo
    /// (the engine's fixture tests use this).
    #[arg(long, hide = true)]
    pub prebuilt: Option<PathBuf>,
}

/// The folders verify-docs reads and writes.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    target: PathBuf,
}

impl Project {
    /// A project whose build outputs go to `CARGO_TARGET_DIR` (made absolute) or `root/target`.
    pub fn new(root: PathBuf) -> Self {
        let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
            Some(t) if t.is_absolute() => t,
            Some(t) => std::env::current_dir().map(|d| d.join(&t)).unwrap_or(t),
            None => root.join("target"),
        };
        Project { root, target }
    }

    /// A project (such as a test fixture) whose scratch space is `root/target`.
    pub fn self_contained(root: PathBuf) -> Self {
        let target = root.join("target");
        Project { root, target }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Whether the project has the in-browser demo (`web/`), which the book build bundles.
    pub fn has_web_demo(&self) -> bool {
        self.root.join("web/package.json").exists()
    }

    pub fn book_src(&self) -> PathBuf {
        self.root.join("book/src")
    }
    /// Committed step outputs: `book/outputs/<example>/<step>.snap`.
    pub fn outputs_dir(&self) -> PathBuf {
        self.root.join("book/outputs")
    }
    /// Committed images: `book/src/images/<example>/<name>.png`.
    pub fn images_dir(&self) -> PathBuf {
        self.book_src().join("images")
    }
    pub fn examples_dir(&self) -> PathBuf {
        self.root.join("examples")
    }
    pub fn build_dir(&self) -> PathBuf {
        self.root.join("book/build")
    }
    pub fn target_dir(&self) -> PathBuf {
        self.target.clone()
    }
    /// Scratch space: run outputs and the cache.
    pub fn work_dir(&self) -> PathBuf {
        self.target_dir().join("tinycats-book")
    }
    /// Where an example writes its outputs under verify-docs (`TINYCATS_OUT_DIR`).
    pub fn example_out_dir(&self, example: &str) -> PathBuf {
        self.work_dir().join("out").join(example)
    }
    /// `path` relative to the root, for messages.
    pub fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// Checks the book with the book's tools at hand: `mdbook`, when the book is built (`None`
/// skips the build, saying so). Installs nothing: [`crate::verify_docs`] sets up first.
pub fn run(args: &VerifyArgs, mdbook: Option<&Path>) -> Result<()> {
    let project = match &args.root {
        Some(r) => Project::self_contained(
            r.canonicalize()
                .with_context(|| format!("--root {}", r.display()))?,
        ),
        None => Project::new(crate::paths::project_root()),
    };
    let mut problems = Vec::new();
    verify(&project, args, &mut problems)?;
    if !args.no_book {
        match mdbook {
            Some(mdbook) => {
                build_book(&project, mdbook, &mut problems)?;
                if !args.no_browser && problems.is_empty() && project.has_web_demo() {
                    let playground_expected = args.examples.is_empty()
                        || args.examples.iter().any(|e| e == web::PLAYGROUND_EXAMPLE);
                    web::browser_test(&project, args.update, playground_expected, &mut problems)?;
                }
            }
            None if args.root.is_some() => {}
            None => eprintln!("verify-docs: mdbook is not installed; skipping the book build"),
        }
    }
    problems::report(&problems)?;
    eprintln!("verify-docs: all good");
    Ok(())
}

/// The named kernel settings of `--kernels`: the environment each sets for the examples.
pub const KERNELS: [(&str, &[(&str, &str)]); 4] = [
    (
        "avx2",
        &[
            ("ATEN_CPU_CAPABILITY", "avx2"),
            ("MKL_ENABLE_INSTRUCTIONS", "AVX2"),
            ("ONEDNN_MAX_CPU_ISA", "AVX2"),
            ("DNNL_MAX_CPU_ISA", "AVX2"),
        ],
    ),
    (
        "sse41",
        &[
            ("ATEN_CPU_CAPABILITY", "default"),
            ("MKL_ENABLE_INSTRUCTIONS", "SSE4_2"),
            ("ONEDNN_MAX_CPU_ISA", "SSE41"),
            ("DNNL_MAX_CPU_ISA", "SSE41"),
        ],
    ),
    ("mkl-compatible", &[("MKL_CBWR", "COMPATIBLE")]),
    (
        "one-thread",
        &[("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1")],
    ),
];

/// The kernel setting that an example's `main` fixes for its own process by calling
/// `tinycats_models::device::pin_portable_cpu_kernels` (its `PORTABLE_KERNELS`, which a test
/// below holds equal to this setting's environment). Such an example computes the same under
/// this setting as without it, so a run under it is not repeated: CI's second pass reruns
/// only the examples whose kernels it changes.
pub const PINNED_IN_PROCESS: &str = "avx2";

/// Whether an example's `main.rs` pins its kernels (see [`PINNED_IN_PROCESS`]).
fn pins_its_kernels(main_rs: &str) -> bool {
    main_rs
        .lines()
        .any(|l| l.trim() == "tinycats_models::device::pin_portable_cpu_kernels();")
}

/// The environment of the kernel setting `name` (see [`KERNELS`]); none for `None`.
pub fn isa_env(name: Option<&str>) -> Vec<(String, String)> {
    KERNELS
        .iter()
        .find(|(k, _)| Some(*k) == name)
        .map(|(_, env)| {
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything but the mdbook build: provenance, runs, outputs, images.
pub fn verify(project: &Project, args: &VerifyArgs, problems: &mut Vec<Problem>) -> Result<()> {
    if let Some(profile) = args.profile.as_deref().filter(|p| *p != "release") {
        anyhow::ensure!(
            !args.update,
            "--update with --profile {profile}: the timing tables it writes are the ones the \
             chapters quote, and a reader runs the examples with `--release`; accept new \
             outputs without --profile (the outputs are the same in every profile)"
        );
    }
    let insta_env = outputs::insta_environment();
    if !insta_env.is_empty() {
        eprintln!(
            "verify-docs: ignoring {} from the environment: verify-docs compares the outputs itself (accept new ones with `--update`)",
            insta_env.join(", ")
        );
    }
    if args.update {
        outputs::accept_new_snapshots();
    }
    let examples = chapters::read_examples(project)?;
    let mut chapter_problems = Vec::new();
    let index = chapters::check(project, &examples, &mut chapter_problems)?;
    let result = run_examples(project, args, &examples, &index, problems);
    if args.update {
        // The runs have just written the outputs the chapters include: check them again.
        chapter_problems.clear();
        chapters::check(project, &examples, &mut chapter_problems)?;
    }
    problems.splice(0..0, chapter_problems);
    result
}

fn run_examples(
    project: &Project,
    args: &VerifyArgs,
    examples: &[chapters::ExampleSource],
    index: &chapters::BookIndex,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    for wanted in &args.examples {
        anyhow::ensure!(
            examples.iter().any(|e| &e.name == wanted),
            "--example {wanted}: no {} (known: {})",
            chapters::example_file(project.root(), wanted),
            examples
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let selected: Vec<&chapters::ExampleSource> = examples
        .iter()
        .filter(|e| args.examples.is_empty() || args.examples.contains(&e.name))
        .collect();

    let mut cache = cache::Cache::load(project);
    let env = isa_env(args.isa.as_deref());
    let shared = cache::shared_digest(project, args.features.as_deref(), &env)?;
    let profile = args.profile.as_deref().unwrap_or("release");
    let profile_dir = run::profile_dir(profile);
    let mut jobs = Vec::new();
    let mut digests = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut same_kernels = Vec::new();
    let mut without_libtorch = Vec::new();
    for ex in &selected {
        let source = std::fs::read_to_string(&ex.path)?;
        if args.isa.as_deref() == Some(PINNED_IN_PROCESS) && pins_its_kernels(&source) {
            same_kernels.push(ex.name.clone());
            continue;
        }
        let limits = match run::Limits::from_source(&source) {
            Ok(l) => l,
            Err(e) => {
                problems.push(Problem::new(
                    project.rel(&ex.path),
                    format!("bad `// verify-docs:` line: {e}"),
                    "write e.g. `// verify-docs: timeout_s = 600, budget_s = 120`",
                ));
                continue;
            }
        };
        if args.isa.is_some() && !limits.libtorch {
            without_libtorch.push(ex.name.clone());
            continue;
        }
        let source_path = ex
            .crate_dir
            .as_ref()
            .or(ex.module_dir.as_ref())
            .unwrap_or(&ex.path);
        let digest = cache::example_digest(project, &shared, &ex.name, source_path)?;
        if !args.force && !args.update && cache.is_fresh(&ex.name, &digest) {
            skipped.push(ex.name.clone());
            continue;
        }
        digests.insert(ex.name.clone(), digest);
        let exe = match (&args.prebuilt, &ex.crate_dir) {
            (Some(dir), _) => dir.join(&ex.name),
            (None, Some(_)) => project.target_dir().join(profile_dir).join(&ex.name),
            (None, None) => project
                .target_dir()
                .join(profile_dir)
                .join("examples")
                .join(&ex.name),
        };
        let out_dir = project.example_out_dir(&ex.name);
        jobs.push(run::Job {
            example: ex.name.clone(),
            exe,
            out_dir,
            limits,
            env: env.clone(),
        });
    }
    if !same_kernels.is_empty() {
        eprintln!(
            "verify-docs: not rerun under `--kernels {PINNED_IN_PROCESS}`, which they set for \
             themselves (`pin_portable_cpu_kernels` in `main`), so this run would compute what \
             every other run of theirs does: {}",
            same_kernels.join(", ")
        );
    }
    if !without_libtorch.is_empty() {
        eprintln!(
            "verify-docs: not rerun under `--kernels {}`, which reaches libtorch, MKL and \
             oneDNN only: they compute with ONNX Runtime alone (`libtorch = false` on their \
             `// verify-docs:` line): {}",
            args.isa.as_deref().unwrap_or_default(),
            without_libtorch.join(", ")
        );
    }
    if !skipped.is_empty() {
        eprintln!(
            "verify-docs: unchanged since their last passing run (use --force to rerun): {}",
            skipped.join(", ")
        );
    }
    if jobs.is_empty() {
        check_images_shown(project, index, problems);
        return Ok(());
    }
    if args.prebuilt.is_none()
        && let Err(e) = run::build_examples(
            project.root(),
            profile,
            args.workspace,
            args.features.as_deref(),
            &selected
                .iter()
                .filter(|e| e.crate_dir.is_some())
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
        )
    {
        problems.push(Problem::new(
            "examples",
            format!("{e:#}"),
            "fix the compile errors printed above",
        ));
        return Ok(());
    }
    let parallel = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() / 2)
            .unwrap_or(1)
            .max(1)
    });
    eprintln!(
        "verify-docs: running {} example(s), {parallel} at a time",
        jobs.len()
    );
    let runs = run::run_all(&jobs, parallel, project.root());

    for (job, run) in jobs.iter().zip(&runs) {
        let before = problems.len();
        let source = examples.iter().find(|e| e.name == job.example).unwrap();
        check::check_run(project, args, source, job, run, index, problems)?;
        if problems.len() == before {
            cache.record(
                &job.example,
                digests.remove(&job.example).unwrap_or_default(),
            );
        } else {
            cache.forget(&job.example);
        }
    }
    cache.save(project)?;
    check_images_shown(project, index, problems);
    print_timings(&jobs, &runs);
    Ok(())
}

/// Every committed image is shown by some published chapter.
fn check_images_shown(project: &Project, index: &chapters::BookIndex, problems: &mut Vec<Problem>) {
    for committed in walkdir::WalkDir::new(project.images_dir())
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let path = committed.path();
        if path.extension().is_some_and(|e| e == "png") && !index.images_shown.contains(path) {
            problems.push(Problem::new(
                project.rel(path),
                "an example's image that no chapter shows",
                format!(
                    "show it with `![what it shows](images/{})` in the chapter",
                    project.rel(path).trim_start_matches("book/src/images/")
                ),
            ));
        }
    }
}

fn print_timings(jobs: &[run::Job], runs: &[run::Run]) {
    eprintln!("\n{:<36} {:>9} {:>9}  status", "example", "wall", "budget");
    for (job, run) in jobs.iter().zip(runs) {
        let over = run.wall > job.limits.budget;
        let status = match run.status {
            run::Status::Passed if over => "OVER BUDGET",
            run::Status::Passed => "ok",
            run::Status::TimedOut => "timed out",
            _ => "failed",
        };
        eprintln!(
            "{:<36} {:>8.1}s {:>8}s  {status}",
            job.example,
            run.wall.as_secs_f64(),
            job.limits.budget.as_secs()
        );
    }
    let total: Duration = runs.iter().map(|r| r.wall).sum();
    eprintln!("{:<36} {:>8.1}s\n", "total", total.as_secs_f64());
}

/// `mdbook build`, then every internal link of the site.
pub fn build_book(project: &Project, mdbook: &Path, problems: &mut Vec<Problem>) -> Result<()> {
    if project.has_web_demo() {
        web::bundle(project)?;
    }
    let mut cmd = mdbook_command(mdbook, "build", project)?;
    if let Err(e) = crate::run_cmd(&mut cmd) {
        problems.push(Problem::new(
            "book.toml",
            format!("{e:#}"),
            "read mdbook's error above",
        ));
        return Ok(());
    }
    let checked = links::check(&project.build_dir(), problems)?;
    eprintln!(
        "verify-docs: built {} and checked {checked} internal links",
        project.rel(&project.build_dir())
    );
    Ok(())
}

/// `mdbook SUBCOMMAND <root>` with the tools folder first on `PATH`, so that mdbook finds the
/// pinned mdbook-katex installed beside it.
pub fn mdbook_command(mdbook: &Path, subcommand: &str, project: &Project) -> Result<Command> {
    let tools_bin = mdbook.parent().context("mdbook has no parent folder")?;
    let path = std::env::join_paths(std::iter::once(tools_bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let mut cmd = Command::new(mdbook);
    cmd.arg(subcommand).arg(project.root()).env("PATH", path);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables `pin_portable_cpu_kernels` sets are exactly the `avx2` setting's: if they
    /// drifted apart, CI's second pass would skip examples whose kernels it does change.
    #[test]
    fn the_pinned_kernels_are_the_avx2_setting() {
        let device = crate::paths::project_root().join("crates/tinycats-models/src/device.rs");
        let source = std::fs::read_to_string(&device).unwrap();
        let block = source
            .split_once("pub const PORTABLE_KERNELS")
            .and_then(|(_, rest)| rest.split_once("];"))
            .map(|(block, _)| block)
            .expect("PORTABLE_KERNELS in tinycats-models' device.rs");
        let pair = regex::Regex::new(r#"\("([A-Z_]+)",\s*"([^"]+)"\)"#).unwrap();
        let mut pinned: Vec<(String, String)> = pair
            .captures_iter(block)
            .map(|c| (c[1].to_owned(), c[2].to_owned()))
            .collect();
        let mut avx2 = isa_env(Some(PINNED_IN_PROCESS));
        pinned.sort();
        avx2.sort();
        assert!(!pinned.is_empty());
        assert_eq!(pinned, avx2);
    }

    #[test]
    fn an_example_pins_its_kernels_only_with_the_call() {
        assert!(pins_its_kernels(
            "fn main() {\n    tinycats_models::device::pin_portable_cpu_kernels();\n}"
        ));
        assert!(!pins_its_kernels("fn main() {}"));
        assert!(!pins_its_kernels(
            "// tinycats_models::device::pin_portable_cpu_kernels();"
        ));
    }
}
