//! `cargo xtask verify-docs`: the book can be trusted because it runs.
//!
//! 1. Provenance ([`chapters`]): every Rust block is an include of an example's anchor, with
//!    prose before it; every anchor and example is shown; images exist.
//! 2. Execution ([`run`]): all examples built once (release) and run with a timeout.
//! 3. Outputs ([`outputs`]): each step's normalised stdout against its insta snapshot, shown
//!    under its code block; a mismatch is rerun once to tell a stale snapshot from
//!    nondeterministic output.
//! 4. Images ([`images`]): compared with the committed copies with a perceptual tolerance.
//! 5. The book built with mdbook + mdbook-katex, and every internal link checked ([`links`]).
//!
//! Examples whose inputs are unchanged since their last passing run are skipped ([`cache`]).

pub mod cache;
pub mod chapters;
pub mod images;
pub mod links;
pub mod outputs;
pub mod problems;
pub mod run;

use std::collections::{BTreeMap, BTreeSet};
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
    /// Skip building the book with mdbook and checking its links.
    #[arg(long)]
    pub no_book: bool,
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
    /// `path` relative to the root, for messages.
    pub fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    let project = match &args.root {
        Some(r) => Project::self_contained(
            r.canonicalize()
                .with_context(|| format!("--root {}", r.display()))?,
        ),
        None => Project::new(crate::paths::project_root()),
    };
    let mdbook = if args.root.is_none() {
        let setup = crate::setup::SetupArgs {
            no_book_tools: args.no_book,
            ..Default::default()
        };
        crate::setup::run(&setup)?.mdbook
    } else {
        None
    };
    let mut problems = Vec::new();
    verify(&project, args, &mut problems)?;
    if !args.no_book {
        match &mdbook {
            Some(mdbook) => build_book(&project, mdbook, &mut problems)?,
            None if args.root.is_some() => {}
            None => eprintln!("verify-docs: mdbook is not installed; skipping the book build"),
        }
    }
    problems::report(&problems)?;
    eprintln!("verify-docs: all good");
    Ok(())
}

/// Everything but the mdbook build: provenance, runs, outputs, images.
pub fn verify(project: &Project, args: &VerifyArgs, problems: &mut Vec<Problem>) -> Result<()> {
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
            "--example {wanted}: no examples/{wanted}.rs (known: {})",
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
    let shared = cache::shared_digest(project)?;
    let mut jobs = Vec::new();
    let mut digests = BTreeMap::new();
    let mut skipped = Vec::new();
    for ex in &selected {
        let source = std::fs::read_to_string(&ex.path)?;
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
        let digest = cache::example_digest(project, &shared, &ex.name, &ex.path)?;
        if !args.force && !args.update && cache.is_fresh(&ex.name, &digest) {
            skipped.push(ex.name.clone());
            continue;
        }
        digests.insert(ex.name.clone(), digest);
        let exe = match &args.prebuilt {
            Some(dir) => dir.join(&ex.name),
            None => project.target_dir().join("release/examples").join(&ex.name),
        };
        let out_dir = project.work_dir().join("out").join(&ex.name);
        jobs.push(run::Job {
            example: ex.name.clone(),
            exe,
            out_dir,
            limits,
        });
    }
    if !skipped.is_empty() {
        eprintln!(
            "verify-docs: unchanged since their last passing run (use --force to rerun): {}",
            skipped.join(", ")
        );
    }
    if jobs.is_empty() {
        return Ok(());
    }
    if args.prebuilt.is_none()
        && let Err(e) = run::build_examples(project.root(), args.features.as_deref())
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
        check_run(project, args, source, job, run, index, problems)?;
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

    // Every committed image is shown by some chapter.
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
    print_timings(&jobs, &runs);
    Ok(())
}

fn check_run(
    project: &Project,
    args: &VerifyArgs,
    source: &chapters::ExampleSource,
    job: &run::Job,
    first: &run::Run,
    index: &chapters::BookIndex,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let ex = &job.example;
    let failure = match &first.status {
        run::Status::Passed => None,
        run::Status::Failed(status) => Some(format!("exited with {status}")),
        run::Status::TimedOut => Some(format!(
            "did not finish within its {} s timeout and was killed",
            job.limits.timeout.as_secs()
        )),
        run::Status::CouldNotStart(e) => Some(format!("could not start: {e}")),
    };
    if let Some(failure) = failure {
        let step = outputs::split_steps(&first.stdout)
            .last()
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        let fix = match first.status {
            run::Status::TimedOut => format!(
                "make it faster, or raise its limit with `// verify-docs: timeout_s = N` in examples/{ex}.rs; rerun alone with `cargo run --release --example {ex}`"
            ),
            _ => format!("rerun it with `cargo run --release --example {ex}` and fix the error"),
        };
        let step = if step.is_empty() {
            "before its first step".to_owned()
        } else {
            format!("in step `{step}`")
        };
        problems.push(Problem::new(
            format!("examples/{ex}.rs"),
            format!(
                "{failure} ({step}); last lines of stderr:\n{}",
                run::tail(&first.stderr, 15)
            ),
            fix,
        ));
        return Ok(());
    }

    let ctx = outputs::PathContext {
        out_dir: job.out_dir.display().to_string(),
        root: project.root().display().to_string(),
        home: std::env::var("HOME").ok(),
    };
    let steps: Vec<(String, String)> = outputs::split_steps(&first.stdout)
        .into_iter()
        .map(|(name, text)| (name, outputs::normalise(&text, &ctx)))
        .collect();
    let mut seen = BTreeSet::new();
    let mut differing = Vec::new();
    for (step, text) in &steps {
        if step.is_empty() {
            problems.push(Problem::new(
                format!("examples/{ex}.rs"),
                "prints before its first step, so the book cannot show that output",
                "call `tinycats_notebook::step(\"name\")` before printing",
            ));
            continue;
        }
        if !seen.insert(step.clone()) {
            problems.push(Problem::new(
                format!("examples/{ex}.rs"),
                format!("step `{step}` is started twice"),
                "give each step its own name",
            ));
            continue;
        }
        if !source.anchors.contains_key(step) {
            problems.push(Problem::new(
                format!("examples/{ex}.rs"),
                format!("step `{step}` has no `// ANCHOR: {step}` in the source, so its output has no code to sit under"),
                format!("wrap the step's code in `// ANCHOR: {step}` … `// ANCHOR_END: {step}`"),
            ));
        }
        if text.is_empty() {
            continue;
        }
        if outputs::snapshot(project, ex, step, text) == outputs::SnapshotOutcome::Differs {
            differing.push(step.clone());
        }
        if !index
            .outputs_shown
            .contains_key(&(ex.clone(), step.clone()))
        {
            let snap = project.outputs_dir().join(ex).join(format!("{step}.snap"));
            let chapter_dir = index
                .includes
                .iter()
                .find(|i| &i.example == ex && &i.anchor == step)
                .and_then(|i| i.chapter.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| project.book_src());
            let target = outputs::include_target(&chapter_dir, &snap, project)
                .unwrap_or_else(|_| format!("{}:4:", outputs::pathdiff(&snap, &chapter_dir)));
            problems.push(Problem::new(
                format!("examples/{ex}.rs"),
                format!("step `{step}` prints output that no chapter shows"),
                format!("right below the code block of `{step}`, add\n        ```text\n        {{{{#include {target}}}}}\n        ```"),
            ));
        }
    }

    // Snapshots of steps that print nothing now.
    let committed = outputs::committed(project)?;
    for (step, path) in committed.get(ex).into_iter().flatten() {
        let printed = steps.iter().any(|(s, t)| s == step && !t.is_empty());
        if printed {
            continue;
        }
        if args.update {
            std::fs::remove_file(path)?;
            eprintln!("  removed {}", project.rel(path));
        } else {
            problems.push(Problem::new(
                project.rel(path),
                format!("orphan snapshot: `{ex}` step `{step}` no longer prints anything"),
                "run `cargo xtask verify-docs --update` to delete it, and drop its block from the chapter",
            ));
        }
    }

    if !differing.is_empty() {
        // Run again: if the two runs disagree, the output is nondeterministic, not stale.
        eprintln!(
            "  {ex}: output differs from the snapshot; running it again to tell stale from nondeterministic"
        );
        let again = run::run_one(
            &run::Job {
                out_dir: job.out_dir.with_extension("rerun"),
                ..job.clone()
            },
            project.root(),
        );
        let ctx2 = outputs::PathContext {
            out_dir: job.out_dir.with_extension("rerun").display().to_string(),
            ..ctx
        };
        let second: BTreeMap<String, String> = outputs::split_steps(&again.stdout)
            .into_iter()
            .map(|(n, t)| (n, outputs::normalise(&t, &ctx2)))
            .collect();
        for step in differing {
            let first_text = &steps.iter().find(|(s, _)| *s == step).unwrap().1;
            let loc = format!("book/outputs/{ex}/{step}.snap");
            if second.get(&step) != Some(first_text) {
                problems.push(Problem::new(
                    loc,
                    format!("nondeterministic output: step `{step}` printed different text in two runs (insta's diff is above)"),
                    "seed every random generator (tinycats uses fixed seeds), and print timings, thread counts and paths in the forms the normaliser redacts (see xtask/src/verify/outputs.rs)",
                ));
            } else {
                problems.push(Problem::new(
                    loc,
                    format!("stale snapshot: step `{step}` now prints something else (insta's diff is above)"),
                    "if the change is intended, run `cargo xtask verify-docs --update` (or `cargo insta review`) and commit the snapshot",
                ));
            }
        }
    }

    images::check_example(project, ex, &job.out_dir, args.update, problems)?;
    Ok(())
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
