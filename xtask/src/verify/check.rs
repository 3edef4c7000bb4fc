//! One example's run against the book: its steps' outputs, its images, and a second run
//! where they differ.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

use super::problems::Problem;
use super::{Project, VerifyArgs, chapters, images, outputs, run, timings};

pub(super) fn check_run(
    project: &Project,
    args: &VerifyArgs,
    source: &chapters::ExampleSource,
    job: &run::Job,
    first: &run::Run,
    index: &chapters::BookIndex,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let ex = &job.example;
    // The raw stdout, markers and all, beside the output folder: what a failing or chaotic
    // run printed, for a contributor to read (and for `bench/kernels/` to tabulate).
    let raw = job.out_dir.with_extension("stdout");
    if let Err(e) = std::fs::write(&raw, &first.stdout) {
        eprintln!("  {ex}: cannot keep its stdout in {}: {e}", raw.display());
    }
    if let Some(p) = failure(project, source, job, first, false) {
        problems.push(p);
        return Ok(());
    }
    report_lingering(project, source, first, problems);

    let ctx = outputs::PathContext {
        out_dir: job.out_dir.display().to_string(),
        root: project.root().display().to_string(),
        home: std::env::var("HOME").ok(),
    };
    let steps = normalised_steps(&first.stdout, &ctx);
    let mut seen = BTreeSet::new();
    // (step, committed text if any, why it differs)
    let mut differing: Vec<(String, Option<String>, String)> = Vec::new();
    for step in &steps {
        let name = &step.name;
        if name.is_empty() {
            problems.push(Problem::new(
                project.rel(&source.path),
                "prints before its first step, so the book cannot show that output",
                "call `tinycats_notebook::step(\"name\")` before printing",
            ));
            continue;
        }
        if let Some(bad) = &step.bad_tolerance {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` declares a tolerance verify-docs cannot read: {bad}"),
                "declare it with `tinycats_notebook::tolerance(Tolerance::relative(0.01))` (or `::absolute(..)`) right after `step(..)`",
            ));
        }
        for bad in &step.bad_markers {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` prints a marker verify-docs cannot read: {bad}"),
                "print markers only through tinycats_notebook's functions (`stable`, `claim`, `chaotic`, `chaotic_image`)",
            ));
        }
        for claim in step.failed_claims() {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}`: this run contradicts the chapter's claim \"{claim}\""),
                "find out why the result changed (the example's error names the numbers); fix the cause, or change the claim and the chapter's prose together",
            ));
        }
        if let Some(why) = &step.chaotic
            && step.stable.is_empty()
        {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` is declared chaotic ({why}) but declares nothing stable, so nothing of it is checked"),
                "declare what must hold on every machine with `tinycats_notebook::stable(..)` or `::claim(..)` in the step",
            ));
        }
        check_stable(project, args, ex, step, problems)?;
        if !seen.insert(name.clone()) {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` is started twice"),
                "give each step its own name",
            ));
            continue;
        }
        if !source.anchors.contains_key(name) {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` has no `// ANCHOR: {name}` in the source, so its output has no code to sit under"),
                format!("wrap the step's code in `// ANCHOR: {name}` … `// ANCHOR_END: {name}`"),
            ));
        }
        if step.text.is_empty() {
            continue;
        }
        let snap = project.outputs_dir().join(ex).join(format!("{name}.snap"));
        let committed = outputs::committed_text(&snap)?;
        let tol = step.tolerance.unwrap_or(outputs::Tolerance::STRICT);
        let outcome = match (&committed, &step.chaotic) {
            (None, _) => outputs::Comparison::Differs {
                why: "there is no committed snapshot".into(),
            },
            (Some(c), Some(_)) if c == &step.text => outputs::Comparison::Equal,
            // A chaotic step's text is rewritten only with `--update`, from this run.
            (Some(_), Some(_)) if args.update => outputs::Comparison::Differs {
                why: "the chaotic step's text changed".into(),
            },
            (Some(_), Some(why)) => {
                eprintln!(
                    "  {ex}/{name}: chaotic ({why}): the book shows the committed run's text; this run's stable values and claims are checked"
                );
                outputs::Comparison::Equal
            }
            (Some(c), None) => outputs::compare(c, &step.text, tol),
        };
        match outcome {
            outputs::Comparison::Equal => {}
            outputs::Comparison::WithinTolerance { worst } => eprintln!(
                "  {ex}/{name}: numbers moved within the step's tolerance ({tol}; most: {worst}); the snapshot is kept"
            ),
            outputs::Comparison::Differs { why } => differing.push((name.clone(), committed, why)),
        }
        if !index
            .outputs_shown
            .contains_key(&(ex.clone(), name.clone()))
        {
            let chapter_dir = index
                .includes
                .iter()
                .find(|i| &i.example == ex && &i.anchor == name)
                .and_then(|i| i.chapter.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| project.book_src());
            let target = outputs::include_target(&chapter_dir, &snap, project)
                .unwrap_or_else(|_| format!("{}:4:", outputs::pathdiff(&snap, &chapter_dir)));
            problems.push(Problem::new(
                project.rel(&source.path),
                format!("step `{name}` prints output that no chapter shows"),
                format!("right below the code block of `{name}`, add\n        ```text\n        {{{{#include {target}}}}}\n        ```"),
            ));
        }
    }

    // How long each step took: rewritten from this CPU's own run by `--update`, otherwise
    // only checked to exist and to list the steps the example has now.
    timings::check_or_write(
        project,
        ex,
        &steps,
        first.wall,
        args.update && args.isa.is_none(),
        problems,
    )?;

    // Snapshots of steps that print nothing now.
    let committed = outputs::committed(project)?;
    for (step, path) in committed.get(ex).into_iter().flatten() {
        let printed = steps.iter().any(|s| &s.name == step && !s.text.is_empty());
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

    // A second run tells a stale snapshot from nondeterministic output, and `--update` never
    // writes an output (text or image) that a second run would not reproduce.
    let images_to_write = args.update && images::pending(project, ex, &job.out_dir)?;
    let mut rerun_dir = None;
    if !differing.is_empty() || images_to_write {
        eprintln!(
            "  {ex}: output differs from the book; running it again to tell stale from nondeterministic"
        );
        let again_job = run::Job {
            out_dir: job.out_dir.with_extension("rerun"),
            ..job.clone()
        };
        let again = run::run_one(&again_job, project.root());
        if let Some(p) = failure(project, source, &again_job, &again, true) {
            problems.push(p);
            return Ok(());
        }
        let ctx2 = outputs::PathContext {
            out_dir: again_job.out_dir.display().to_string(),
            ..ctx
        };
        let second: BTreeMap<String, String> = normalised_steps(&again.stdout, &ctx2)
            .into_iter()
            .map(|s| (s.name, s.text))
            .collect();
        for (step, committed, why) in differing {
            let first_step = steps.iter().find(|s| s.name == step).unwrap();
            let tol = first_step.tolerance.unwrap_or(outputs::Tolerance::STRICT);
            let loc = format!("book/outputs/{ex}/{step}.snap");
            let second_text = second.get(&step).map(String::as_str).unwrap_or("");
            if let outputs::Comparison::Differs { why: why2 } =
                outputs::compare(&first_step.text, second_text, tol)
            {
                problems.push(Problem::new(
                    loc,
                    format!(
                        "nondeterministic output: step `{step}` printed different text in two runs ({why2}):\n{}",
                        outputs::diff(&first_step.text, second_text)
                    ),
                    "seed every random generator (tinycats uses fixed seeds), print timings, thread counts and paths in the forms the normaliser redacts (see xtask/src/verify/outputs.rs), and declare a tolerance with `tinycats_notebook::tolerance` where a number legitimately varies",
                ));
            } else if args.update {
                outputs::write_snapshot(project, ex, &step, &first_step.text);
                eprintln!("  updated {loc}");
            } else {
                let diff = outputs::diff(committed.as_deref().unwrap_or(""), &first_step.text);
                problems.push(Problem::new(
                    loc,
                    format!("stale snapshot: step `{step}` now prints something else ({why}):\n{diff}"),
                    "if the change is intended, run `cargo xtask verify-docs --update` and commit the snapshot; if the number legitimately varies between machines, declare a tolerance with `tinycats_notebook::tolerance` next to the code that prints it",
                ));
            }
        }
        rerun_dir = Some(again_job.out_dir);
    }

    // Stable records of steps that record nothing now.
    let stable_dir = project.outputs_dir().join(ex).join("stable");
    if stable_dir.is_dir() {
        for entry in std::fs::read_dir(&stable_dir)? {
            let path = entry?.path();
            let Some(step) = path
                .file_stem()
                .filter(|_| path.extension().is_some_and(|e| e == "snap"))
            else {
                continue;
            };
            let step = step.to_string_lossy();
            if steps.iter().any(|s| s.name == step && !s.stable.is_empty()) {
                continue;
            }
            if args.update {
                std::fs::remove_file(&path)?;
                eprintln!("  removed {}", project.rel(&path));
            } else {
                problems.push(Problem::new(
                    project.rel(&path),
                    format!("orphan stable record: `{ex}` step `{step}` no longer declares stable values or claims"),
                    "run `cargo xtask verify-docs --update` to delete it",
                ));
            }
        }
    }

    let chaotic_images: BTreeMap<String, String> = steps
        .iter()
        .flat_map(|s| s.chaotic_images.iter().cloned())
        .collect();
    for file in chaotic_images.keys() {
        if !job.out_dir.join(file).exists() {
            problems.push(Problem::new(
                project.rel(&source.path),
                format!(
                    "declares {file} a chaotic image but does not write it into its output folder"
                ),
                "pass `chaotic_image` the path the example saved the image to",
            ));
        }
    }
    images::check_example(
        project,
        ex,
        &job.out_dir,
        rerun_dir.as_deref(),
        args.update,
        &chaotic_images,
        problems,
    )?;
    Ok(())
}

/// A step's stable values and claims against `book/outputs/<example>/stable/<step>.snap`:
/// each value within the tolerance it declares, the claims as text; `--update` rewrites it.
fn check_stable(
    project: &Project,
    args: &VerifyArgs,
    ex: &str,
    step: &outputs::StepOutput,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    if step.stable.is_empty() || step.name.is_empty() {
        return Ok(());
    }
    let name = &step.name;
    let path = outputs::stable_snapshot_path(project, ex, name);
    let text = step.stable_text();
    let why = match outputs::committed_text(&path)? {
        None => "there is no committed stable record".to_owned(),
        Some(committed) => match outputs::compare_stable(&committed, &text, &step.stable) {
            outputs::Comparison::Equal => return Ok(()),
            outputs::Comparison::WithinTolerance { worst } => {
                eprintln!(
                    "  {ex}/{name}: stable values within their tolerances (most moved: {worst}); the record is kept"
                );
                return Ok(());
            }
            outputs::Comparison::Differs { why } => {
                format!("{why}:\n{}", outputs::diff(&committed, &text))
            }
        },
    };
    if args.update && args.isa.is_none() {
        outputs::write_stable_snapshot(project, ex, name, &text);
        eprintln!("  updated {}", project.rel(&path));
    } else {
        problems.push(Problem::new(
            project.rel(&path),
            format!("step `{name}`'s stable values or claims changed beyond their tolerances: {why}"),
            "if the change is intended, run `cargo xtask verify-docs --update` and commit the record (and the prose that quotes it); if a value legitimately varies more between CPUs, widen its tolerance in `tinycats_notebook::stable(..)` and say why",
        ));
    }
    Ok(())
}

/// Steps with their text normalised.
fn normalised_steps(stdout: &str, ctx: &outputs::PathContext) -> Vec<outputs::StepOutput> {
    outputs::split_steps(stdout)
        .into_iter()
        .map(|mut s| {
            s.text = outputs::normalise(&s.text, ctx);
            s
        })
        .collect()
}

/// The problem a run that did not pass is reported as; `rerun` for the second run that
/// verify-docs makes after a difference.
fn failure(
    project: &Project,
    source: &chapters::ExampleSource,
    job: &run::Job,
    run: &run::Run,
    rerun: bool,
) -> Option<Problem> {
    let ex = &job.example;
    let rerun_it = source.run_command();
    let failure = match &run.status {
        run::Status::Passed => return None,
        run::Status::Failed(status) => format!("exited with {status}"),
        run::Status::TimedOut => format!(
            "did not finish within its {} s timeout and was killed",
            job.limits.timeout.as_secs()
        ),
        run::Status::CouldNotStart(e) => format!("could not start: {e}"),
    };
    let step = outputs::split_steps(&run.stdout)
        .last()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let step = if step.is_empty() {
        "before its first step".to_owned()
    } else {
        format!("in step `{step}`")
    };
    let fix = match run.status {
        run::Status::TimedOut => format!(
            "make it faster, or raise its limit with `// verify-docs: timeout_s = N` in {}; rerun it alone with `cargo xtask verify-docs --force --example {ex}`",
            project.rel(&source.path)
        ),
        _ if rerun => format!(
            "a failure that comes and goes: run `{rerun_it}` several times and fix the cause (a race, an unseeded generator, a resource that runs out)"
        ),
        _ => format!("rerun it with `{rerun_it}` and fix the error"),
    };
    let when = if rerun {
        "passed once, then, run again to tell a stale snapshot from nondeterministic output, "
    } else {
        ""
    };
    Some(Problem::new(
        project.rel(&source.path),
        format!(
            "{when}{failure} ({step}); last lines of stderr:\n{}",
            run::tail(&run.stderr, 15)
        ),
        fix,
    ))
}

/// An example that exits while processes it started live on (holding its output open, or
/// writing into the next run) fails: they are killed, and the example must wait for them.
fn report_lingering(
    project: &Project,
    source: &chapters::ExampleSource,
    run: &run::Run,
    problems: &mut Vec<Problem>,
) {
    if let Some(what) = &run.lingering {
        problems.push(Problem::new(
            project.rel(&source.path),
            format!("exited while processes it started were still running ({what}); verify-docs killed them"),
            "wait for every child process the example starts (`Child::wait`) before `main` returns",
        ));
    }
}
