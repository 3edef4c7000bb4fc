//! How long each step of an example takes, as a table the chapters show under "How long it
//! takes": `book/outputs/<example>/timings.txt`.
//!
//! The times come from the clock markers that `tinycats_notebook::step` prints under the
//! xtask, and depend on the machine, so the table is not compared with the committed one:
//! `--update` rewrites it from the run on this machine (not from a run limited to another
//! instruction set), labelled with the CPU and its thread count. A check only asks that the
//! table exists and lists the steps the example has now.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::Project;
use super::outputs::StepOutput;
use super::problems::Problem;

/// The committed table of `example`.
pub fn path(project: &Project, example: &str) -> PathBuf {
    project.outputs_dir().join(example).join("timings.txt")
}

/// `(step, seconds)` for every step with a clock, the last one ending at `wall` (the whole
/// run, so it also counts the process's start and exit, a few milliseconds).
pub fn durations(steps: &[StepOutput], wall: Duration) -> Vec<(String, f64)> {
    let clocked: Vec<(&str, f64)> = steps
        .iter()
        .filter_map(|s| s.started_s.map(|t| (s.name.as_str(), t)))
        .collect();
    let end = wall.as_secs_f64();
    clocked
        .iter()
        .enumerate()
        .map(|(i, &(name, start))| {
            let next = clocked.get(i + 1).map_or(end, |n| n.1);
            (name.to_owned(), (next - start).max(0.0))
        })
        .collect()
}

/// The CPU's model name and the threads this process may use, e.g.
/// `AMD EPYC 9B14, 2 threads`.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{model}, {threads} thread{}",
        if threads == 1 { "" } else { "s" }
    )
}

/// The table as text.
pub fn table(root: &Path, example: &str, rows: &[(String, f64)], machine: &str) -> String {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(5);
    let mut out = format!("{:<width$}  {:>9}\n", "step", "seconds");
    for (name, secs) in rows {
        out.push_str(&format!("{name:<width$}  {secs:>9.1}\n"));
    }
    let total: f64 = rows.iter().map(|r| r.1).sum();
    out.push_str(&format!("{:<width$}  {total:>9.1}\n", "total"));
    out.push_str(&format!(
        "\n{}, release build, on {machine};\nwritten by `cargo xtask verify-docs --update`, not compared between machines\n",
        super::chapters::example_file(root, example)
    ));
    out
}

/// The step names a committed table lists.
fn listed_steps(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "total")
        .map(str::to_owned)
        .collect()
}

/// Writes the table (`update` on this CPU's own run), or checks that the committed one
/// exists and lists the steps of this run.
pub fn check_or_write(
    project: &Project,
    example: &str,
    steps: &[StepOutput],
    wall: Duration,
    write: bool,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let rows = durations(steps, wall);
    if rows.is_empty() {
        return Ok(()); // an example run without the clock (a fixture's prebuilt binary)
    }
    let file = path(project, example);
    if write {
        return crate::write_atomic(&file, &table(project.root(), example, &rows, &machine()));
    }
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let fix = "run `cargo xtask verify-docs --update` on the book's reference machine (or yours) and commit the table";
    match std::fs::read_to_string(&file) {
        Err(_) => problems.push(Problem::new(
            project.rel(&file),
            format!("`{example}` has no timing table, which its chapter shows"),
            fix,
        )),
        Ok(text) if listed_steps(&text) != names => problems.push(Problem::new(
            project.rel(&file),
            format!(
                "the timing table lists the steps {:?}, but `{example}` now runs {names:?}",
                listed_steps(&text)
            ),
            fix,
        )),
        Ok(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, started_s: Option<f64>) -> StepOutput {
        StepOutput {
            name: name.into(),
            started_s,
            ..StepOutput::default()
        }
    }

    #[test]
    fn each_step_lasts_until_the_next_and_the_last_until_the_end_of_the_run() {
        let steps = [
            step("load", Some(0.0)),
            step("train", Some(1.5)),
            step("save", Some(9.0)),
        ];
        let rows = durations(&steps, Duration::from_secs_f64(9.25));
        assert_eq!(
            rows,
            vec![
                ("load".into(), 1.5),
                ("train".into(), 7.5),
                ("save".into(), 0.25)
            ]
        );
        let text = table(
            Path::new("/nowhere"),
            "05_toy",
            &rows,
            "Test CPU, 2 threads",
        );
        assert!(text.starts_with("step     seconds\nload         1.5\ntrain        7.5\nsave         0.2\ntotal        9.2\n"), "{text}");
        assert!(text.contains("on Test CPU, 2 threads"), "{text}");
        assert_eq!(listed_steps(&text), vec!["load", "train", "save"]);
    }

    #[test]
    fn a_missing_or_outdated_table_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::self_contained(dir.path().to_path_buf());
        let steps = [step("load", Some(0.0)), step("train", Some(1.0))];
        let wall = Duration::from_secs(2);
        let mut problems = Vec::new();
        check_or_write(&project, "ex", &steps, wall, false, &mut problems).unwrap();
        assert_eq!(problems.len(), 1, "missing");
        check_or_write(&project, "ex", &steps, wall, true, &mut problems).unwrap();
        check_or_write(&project, "ex", &steps, wall, false, &mut problems).unwrap();
        assert_eq!(problems.len(), 1, "written, then found");
        let more = [
            step("load", Some(0.0)),
            step("train", Some(1.0)),
            step("eval", Some(1.5)),
        ];
        check_or_write(&project, "ex", &more, wall, false, &mut problems).unwrap();
        assert_eq!(problems.len(), 2, "a new step makes it outdated");
    }
}
