//! `cargo xtask bench`: runs the project's speed benchmarks, and PyTorch's eager reference
//! beside them when PyTorch can be imported, and writes the results into the book's
//! "How fast is it?" chapter (`book/src/how-fast.md`), labelled with the machine.
//!
//! The chapter is generated, never compared: speed depends on the machine. Rerun this
//! command on the book's reference machine to refresh it. Its structure is checked
//! ([`crate::verify::generated`]): here before it is written, and by verify-docs after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::verify::timings::machine;

#[derive(Debug, Args, Default)]
pub struct BenchArgs {
    /// Timed training steps per shape (the median is reported).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Skip PyTorch's reference even when it can be imported.
    #[arg(long)]
    pub no_pytorch: bool,
    /// Write the chapter here instead of `book/src/how-fast.md`.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One benchmark's captured report.
struct Report {
    command: String,
    stdout: String,
    seconds: f64,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let native = crate::setup::run(&crate::setup::SetupArgs {
        no_book_tools: true,
        ..Default::default()
    })?;
    let root = crate::paths::project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let steps = args.steps.max(1).to_string();

    let mut train = Command::new(&cargo);
    train
        .current_dir(&root)
        .args([
            "bench",
            "-p",
            "tinycats-models",
            "--bench",
            "train_step",
            "--",
            "tiny",
        ])
        .env("TINYCATS_BENCH_STEPS", &steps);
    let train = capture(&mut train, &format!("TINYCATS_BENCH_STEPS={steps} "))?;

    // PyTorch from the same PyPI wheel that `setup` unpacked libtorch from.
    let site = native
        .libtorch
        .parent()
        .context("libtorch lives in a site-packages folder")?
        .to_path_buf();
    // The full wheel with its CUDA libraries when installed; else setup's, which imports
    // only on a machine that has those libraries already.
    let full = root.join(PYTORCH_FULL);
    let (site, shown) = if python_has_torch(&full) {
        (full, PYTORCH_FULL.to_owned())
    } else {
        (site, ".tinycats/torch".to_owned())
    };
    let pytorch = if args.no_pytorch {
        None
    } else if python_has_torch(&site) {
        let mut py = Command::new("python3");
        py.current_dir(&root)
            .args(["bench/dit_reference.py", "tiny"])
            .env("PYTHONPATH", &site)
            .env("TINYCATS_BENCH_STEPS", &steps);
        Some(capture(
            &mut py,
            &format!("PYTHONPATH={shown} TINYCATS_BENCH_STEPS={steps} "),
        )?)
    } else {
        eprintln!(
            "bench: python3 cannot import torch from {}; the chapter will say so \
             (`{PYTORCH_INSTALL}` installs one that imports)",
            site.display()
        );
        None
    };

    let mut inference = Command::new(&cargo);
    inference
        .current_dir(&root)
        .args([
            "bench",
            "-p",
            "tinycats-runtime",
            "--bench",
            "cpu_inference",
        ])
        .env("ORT_DYLIB_PATH", &native.onnxruntime_dylib);
    let inference = capture(&mut inference, "")?;

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("book/src/how-fast.md"));
    let page = chapter(&machine(), &train, pytorch.as_ref(), &inference);
    let rel = out
        .strip_prefix(&root)
        .unwrap_or(&out)
        .display()
        .to_string();
    let problems = crate::verify::generated::check_page(&rel, &page);
    if !problems.is_empty() {
        // Keep the committed page; leave the measured one where it can be read.
        let rejected = root.join("target/xtask/how-fast.rejected.md");
        crate::write_atomic(&rejected, &page)?;
        for p in &problems {
            eprintln!("{p}\n");
        }
        anyhow::bail!(
            "bench: the page it wrote has {} structural problem(s) (listed above, lines of {}); {} is unchanged",
            problems.len(),
            rejected.display(),
            out.display()
        );
    }
    let figure = out
        .parent()
        .context("the chapter's path has a folder")?
        .join(FIGURE);
    match speed_figure(&train, pytorch.as_ref(), &inference)? {
        Some(png) => {
            tinycats_plot::save_png(&png, &figure)?; // atomic, as the page
            eprintln!("bench: wrote {}", figure.display());
        }
        None => eprintln!("bench: the reports had no rows to chart; no figure"),
    }
    crate::write_atomic(&out, &page)?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}

/// The page's figure, relative to the page.
const FIGURE: &str = "images/how-fast/speed.png";

/// The page's figure: training images per second in each program and precision, and whole
/// cats per second on each back-end, both "higher is faster"; `None` when the reports hold
/// no row of either.
fn speed_figure(
    train: &Report,
    pytorch: Option<&Report>,
    inference: &Report,
) -> Result<Option<image::RgbImage>> {
    let mut training = (Vec::new(), Vec::new());
    for precision in ["fp32", "bf16"] {
        for (name, report) in [("tinycats", Some(train)), ("PyTorch", pytorch)] {
            if let Some((step_s, _)) = report.and_then(|r| tiny_row(r, precision)) {
                training.0.push(format!("{name} {precision}"));
                training.1.push(32.0 / step_s); // batch 32
            }
        }
    }
    let mut cats: (Vec<String>, Vec<f64>) = one_cat_rows(inference)
        .into_iter()
        .map(|(name, ms)| (name, 1000.0 / ms))
        .unzip();
    if let Some(ms) = pytorch.and_then(pytorch_one_cat) {
        cats.0.push("PyTorch eager".into());
        cats.1.push(1000.0 / ms);
    }
    let mut panels = Vec::new();
    if !training.0.is_empty() {
        let chart =
            tinycats_plot::BarChart::new("training, tiny at batch 32", training.0, training.1)
                .value_label("images per second (higher is faster)");
        panels.push(chart.render(460, 260)?);
    }
    if !cats.0.is_empty() {
        let chart =
            tinycats_plot::BarChart::new("one cat, 20 Euler steps with guidance 4", cats.0, cats.1)
                .value_label("cats per second (higher is faster)");
        panels.push(chart.render(460, 260)?);
    }
    Ok((!panels.is_empty()).then(|| tinycats_plot::side_by_side(&panels, 12)))
}

/// Where `bench/dit_reference.py`'s PyTorch is installed, with what it needs to import.
const PYTORCH_FULL: &str = ".tinycats/pytorch-full";
const PYTORCH_INSTALL: &str = "pip install --target .tinycats/pytorch-full torch==2.11.0";

fn python_has_torch(site: &Path) -> bool {
    Command::new("python3")
        .args(["-c", "import torch"])
        .env("PYTHONPATH", site)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd`, echoing its stderr, and keeps its stdout (the benchmark's report).
fn capture(cmd: &mut Command, env_shown: &str) -> Result<Report> {
    // As a reader types it: `cargo`, not the toolchain's full path.
    let program = Path::new(cmd.get_program())
        .file_name()
        .map_or_else(|| cmd.get_program().to_owned(), |n| n.to_owned());
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let command = format!(
        "{env_shown}{} {}",
        program.to_string_lossy(),
        args.join(" ")
    );
    eprintln!("$ {command}");
    let started = Instant::now();
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start `{command}`"))?;
    anyhow::ensure!(
        output.status.success(),
        "`{command}` failed ({})",
        output.status
    );
    Ok(Report {
        command,
        stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A benchmark's report as Markdown: its tables as tables, and each of its other lines (the
/// machine, the peaks it measured, per-phase times) as an item of a list, as printed, so that
/// they are neither joined into one paragraph nor taken for the page's own prose.
fn as_markdown(report: &Report) -> String {
    let mut out = String::new();
    let mut last: Option<bool> = None; // was the last line written a table row?
    for line in report.stdout.lines() {
        if line.trim().is_empty() {
            // A blank line ends a table (two tables in a row stay two) or a list.
            if last.take().is_some() {
                out.push('\n');
            }
            continue;
        }
        let is_row = line.trim_start().starts_with('|');
        if last.is_some_and(|was_row| was_row != is_row) {
            out.push('\n');
        }
        if !is_row {
            out.push_str("- ");
        }
        out.push_str(line.trim());
        out.push('\n');
        last = Some(is_row);
    }
    if last.is_some() {
        out.push('\n');
    }
    out
}

/// `(train s/step, sample ms/img/NFE)` of the `tiny` row in `precision` (`fp32` or
/// `bf16`) of a training report (both programs print the same columns: shape, precision,
/// params, s/step, img/s, % peak, ms/img/NFE, % peak).
fn tiny_row(report: &Report, precision: &str) -> Option<(f64, f64)> {
    report.stdout.lines().find_map(|row| {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if !cells.get(1)?.starts_with("tiny") || *cells.get(2)? != precision {
            return None;
        }
        Some((cells.get(4)?.parse().ok()?, cells.get(7)?.parse().ok()?))
    })
}

/// The sentences that divide the two programs' times, when both have the `tiny` rows: fp32,
/// then bf16 where the CPU had a unit for it.
fn ratios(train: &Report, pytorch: &Report) -> Option<String> {
    let mut text = fp32_ratios(train, pytorch)?;
    if let (Some((ours, _)), Some((theirs, _)), Some((ours_fp32, _))) = (
        tiny_row(train, "bf16"),
        tiny_row(pytorch, "bf16"),
        tiny_row(train, "fp32"),
    ) {
        text.push_str(&format!(
            "\nIn bf16 mixed precision (the bf16 rows: matrix products and attention in bf16, \
             weights, norms, residual stream and loss in f32, PyTorch under `torch.autocast`), \
             tinycats trained at **{:.2}×** PyTorch's speed ({ours:.3} s against {theirs:.3} s \
             per step) and at **{:.2}×** its own fp32 speed.\n",
            theirs / ours,
            ours_fp32 / ours
        ));
    }
    Some(text)
}

fn fp32_ratios(train: &Report, pytorch: &Report) -> Option<String> {
    let ((ours_step, ours_nfe), (ref_step, ref_nfe)) =
        (tiny_row(train, "fp32")?, tiny_row(pytorch, "fp32")?);
    Some(format!(
        "In this run tinycats trained at **{:.2}×** PyTorch's speed ({ours_step:.3} s against \
         {ref_step:.3} s per step) and sampled at **{:.2}×** ({ours_nfe:.2} ms against {ref_nfe:.2} ms per \
         image per evaluation); above 1 is faster. Both programs call the same libtorch \
         kernels, and on a shared machine the same command varies by about ten per cent from \
         run to run, so differences of that size are noise.{}\n",
        ref_step / ours_step,
        ref_nfe / ours_nfe,
        if ref_step / ours_step < 0.9 {
            " A training step well below PyTorch's speed on a quiet machine would show in the \
             `step phases` lines under the two tables, which split each step into forward, \
             backward, clipping and AdamW."
        } else {
            ""
        }
    ))
}

/// The one-cat table of the inference report: `(sampler, ms per image)` rows.
fn one_cat_rows(inference: &Report) -> Vec<(String, f64)> {
    inference
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("| one cat"))
        .skip(2) // the header and its rule
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            Some((cells.get(1)?.to_string(), cells.get(2)?.parse().ok()?))
        })
        .collect()
}

/// PyTorch eager's one-cat time for the `tiny` shape: the number before "ms per image".
fn pytorch_one_cat(pytorch: &Report) -> Option<f64> {
    let line = pytorch
        .stdout
        .lines()
        .find(|l| l.starts_with("one cat (tiny"))?;
    line.split(':')
        .next_back()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The paragraph on sampling one cat: each back-end's time and, when PyTorch ran, the
/// speed of each against PyTorch eager (the issue's target: int8 at least 1.5×).
fn one_cat(inference: &Report, pytorch: Option<&Report>) -> String {
    let rows = one_cat_rows(inference);
    if rows.is_empty() {
        return String::new();
    }
    let times: Vec<String> = rows
        .iter()
        .map(|(name, ms)| format!("{name} {ms:.1} ms"))
        .collect();
    let mut text = format!(
        "One whole cat with the bundled generator's weights, the model already loaded: 20 \
         Euler steps with guidance 4, one call on a batch of two per step, the loop the PyTorch \
         reference runs too (`tinycats sample`'s default before the sampler was tuned; today's \
         default, 10 Heun steps guided from t = 0.3, evaluates the network on 33 images per cat \
         instead of 40): {}.",
        times.join(", ")
    );
    if let Some(reference) = pytorch.and_then(pytorch_one_cat) {
        let speeds: Vec<String> = rows
            .iter()
            .map(|(name, ms)| format!("{name} **{:.2}×**", reference / ms))
            .collect();
        text.push_str(&format!(
            " PyTorch eager took {reference:.1} ms for the same loop with the same weights in \
             the same run (`bench/dit_reference.py`), so against it: {}; above 1 is faster. At \
             batch 2 a call is short, and PyTorch's per-operation overhead weighs more than at \
             batch 13.",
            speeds.join(", ")
        ));
    }
    text.push('\n');
    text
}

/// The generated chapter.
fn chapter(machine: &str, train: &Report, pytorch: Option<&Report>, inference: &Report) -> String {
    let reference = match pytorch {
        Some(r) => format!(
            "The same architecture written in PyTorch eager (`bench/dit_reference.py`: DiT's \
             `models.py` structure, `torch.optim.AdamW`, `F.scaled_dot_product_attention`), run \
             right after it on the same machine with the same libtorch:\n\n```console\n{}\n```\n\n{}\n{}",
            r.command,
            as_markdown(r),
            ratios(train, r).unwrap_or_default()
        ),
        None => format!(
            "PyTorch could not be imported on the machine that wrote this page, so the \
             reference run is missing. The `torch` wheel that `cargo xtask setup` unpacks for \
             its libtorch cannot be imported from Python without the libraries of CUDA (NVIDIA's \
             GPU toolkit) that it links, about 4.6 GB, which setup does not fetch; `{PYTORCH_INSTALL}` installs them, and \
             `cargo xtask bench` then adds the reference run.\n"
        ),
    };
    format!(
        r#"{mark} on {machine}: the numbers are that machine's; verify-docs checks the page's structure, never its timings -->
# How fast is it?

How long training and sampling take on a CPU, measured with the project's benchmarks,
and beside the same model written in PyTorch. The chapters' "How long it takes" tables
time each example's steps; this page times the pieces underneath them.

Everything on this page was measured on **{machine}** by

```console
cargo xtask bench
```

which writes this page. Speed depends on the machine, so verify-docs never compares it;
run the command on yours to see your own numbers. (The GPU figures of the training chapter
come from a separate run on a rented H100: `bench/results/`.)

![Two bar charts from this page's tables: training images per second of tinycats and PyTorch in fp32 and bf16, and whole cats per second on each back-end](images/how-fast/speed.png)

## Training steps: tinycats against PyTorch

The library's own `TinyDit`, flow-matching loss and AdamW with gradient clipping, for the
`tiny` preset (patch 8, width 256, depth 6) at batch 32, and its sampler: the median of
the timed steps after a warm-up step, and the time per image per network evaluation of a
10-step sampler, each in fp32 and, on a CPU with a bf16 unit (AMX or AVX-512 BF16), in
bf16 mixed precision (what `bf16 = true` in a run's config gives; see the training chapter).
`% peak` divides the model's matmul and attention FLOPs (floating-point operations) by the
matmul throughput in the row's precision that each program measures first, in GFLOP/s
(billions of them per second); "[NFE](glossary.md#nfe)" is one network function
evaluation, one call of the model. The `step phases` lines under each table split a step
into forward and loss, backward, gradient clipping and AdamW.

```console
{train_cmd}
```

{train_md}
{reference}
## Inference: libtorch against ONNX Runtime

One TinyDiT denoiser call at batch 1 and at batch 26 (13 breeds, each with and without the
breed, as guided sampling calls it), one whole cat (20 guided Euler steps), and the
classifier's images per second, on libtorch and on [ONNX](glossary.md#onnx) Runtime (ORT in
the tables) in fp32 and int8. The calls and the classifier use the `tiny` presets with random weights: one call's speed does
not depend on what the weights learned. The whole cat uses the bundled generator's weights,
the ones `tinycats sample` loads, and is timed first, before the other sessions exist. The int8 table is how far the int8 graphs drift from fp32 on the same
inputs: the RMSE (root-mean-square error) and the largest absolute difference of one call's
velocity and of a 10-step sample's pixels. The share of peak is measured against the fp32
matmul peak, so the int8 graphs, whose products run on 8-bit integers, can pass 100 %.

```console
{inf_cmd}
```

{inf_md}
{one_cat}
The three benchmarks took {total:.0} s in all.
"#,
        mark = crate::verify::generated::MARK,
        train_cmd = train.command,
        train_md = as_markdown(train),
        inf_cmd = inference.command,
        inf_md = as_markdown(inference),
        one_cat = one_cat(inference, pytorch),
        total = train.seconds + pytorch.map_or(0.0, |r| r.seconds) + inference.seconds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stdout: &str) -> Report {
        Report {
            command: "cargo bench".into(),
            stdout: stdout.into(),
            seconds: 1.0,
        }
    }

    #[test]
    fn tables_are_set_apart_from_the_lines_around_them() {
        let md = as_markdown(&report(
            "peak 178 GFLOP/s\n| a | b |\n|---|---|\n| 1 | 2 |\nnote",
        ));
        assert_eq!(
            md,
            "- peak 178 GFLOP/s\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- note\n\n"
        );
        // Two tables printed one after the other stay two tables.
        let md = as_markdown(&report(
            "| a |\n|---|\n| 1 |\n\n| b | c |\n|---|---|\n| 2 | 3 |",
        ));
        assert_eq!(
            md,
            "| a |\n|---|\n| 1 |\n\n| b | c |\n|---|---|\n| 2 | 3 |\n\n"
        );
    }

    #[test]
    fn the_page_names_the_machine_and_says_when_pytorch_is_missing() {
        let page = chapter(
            "Test CPU, 2 threads",
            &report("| t |\n|---|"),
            None,
            &report("x"),
        );
        assert!(crate::verify::generated::is_generated(&page));
        assert!(page.contains("\n# How fast is it?\n"));
        assert!(page.contains("**Test CPU, 2 threads**"));
        assert!(page.contains("PyTorch could not be imported"));
        let with = chapter(
            "m",
            &report("a"),
            Some(&report("| p |\n|---|")),
            &report("x"),
        );
        assert!(with.contains("| p |") && !with.contains("could not be imported"));
    }

    #[test]
    fn the_page_passes_its_own_structure_check() {
        // Reports shaped like the three programs' real ones (abridged).
        let head = "| shape | precision | params | train s/step (B=32) | train img/s | % peak | sample ms/img/NFE (B=13) | % peak |\n|---|---|---|---|---|---|---|---|\n";
        let train = report(&format!(
            "Test CPU, 2 threads, bf16 unit: AMX\nfp32 matmul peak (1024², best of 10): 324.0 GFLOP/s\n\n{head}| tiny: p8-w256-d6 | fp32 | 7.47 M | 0.411 | 77.9 | 47 % | 3.69 | 54 % |\n\nstep phases, tiny: forward and loss 148 ms, backward 235 ms"
        ));
        let pytorch = report(&format!(
            "torch 2.11.0, threads 2\n{head}| tiny: p8-w256-d6 | fp32 | 7.47 M | 0.379 | 84.4 | 50 % | 3.84 | 51 % |\none cat (tiny: p8-w256-d6, bundled weights): 20 Euler steps, guidance 4, batch 2 per call: 243.0 ms per image (median of 5)"
        ));
        let inference = report(
            "threads: tch 2 | ORT default (one per physical core); cores visible: 2\n\n\
             | one cat, bundled generator: 20 Euler steps, guidance 4 | ms per image |\n|---|---|\n\
             | ORT fp32 | 175.7 |\n| tch CPU | 213.0 |\n\nfp32 matmul 1024³: ORT 304.9 GFLOP/s\n\n\
             | int8 vs fp32 (random weights) | velocity RMSE | velocity max-abs |\n|---|---|---|\n\
             | ORT int8 dynamic | 0.1053 | 1.6199 |",
        );
        for pytorch in [Some(&pytorch), None] {
            let page = chapter("Test CPU, 2 threads", &train, pytorch, &inference);
            let problems = crate::verify::generated::check_page("how-fast.md", &page);
            assert!(problems.is_empty(), "{problems:#?}\n{page}");
        }
        // The report's own lines are shown as printed, not joined into the prose.
        let page = chapter("m", &train, Some(&pytorch), &inference);
        assert!(page.contains("\n- threads: tch 2 | ORT default"), "{page}");
    }

    #[test]
    fn the_speed_ratio_divides_pytorchs_time_by_ours() {
        let head = "| shape | precision | params | train s/step (B=32) | train img/s | % peak | sample ms/img/NFE (B=13) | % peak |\n|---|---|---|---|---|---|---|---|\n";
        let ours = report(&format!(
            "{head}| tiny: p8-w256-d6 | fp32 | 7.47 M | 0.500 | 64.0 | 60 % | 4.00 | 70 % |"
        ));
        let theirs = report(&format!(
            "{head}| tiny: p8-w256-d6 | fp32 | 7.47 M | 0.550 | 58.2 | 58 % | 5.00 | 66 % |"
        ));
        assert_eq!(tiny_row(&ours, "fp32"), Some((0.5, 4.0)));
        let text = ratios(&ours, &theirs).unwrap();
        assert!(
            text.contains("**1.10×**") && text.contains("**1.25×**"),
            "{text}"
        );
        assert!(!text.contains("bf16"), "{text}");
        assert_eq!(ratios(&ours, &report("no table")), None);
        // With bf16 rows on both sides, a second sentence.
        let ours = report(&format!(
            "{}\n| tiny: p8-w256-d6 | bf16 | 7.47 M | 0.250 | 128.0 | 20 % | 2.00 | 25 % |",
            ours.stdout
        ));
        let theirs = report(&format!(
            "{}\n| tiny: p8-w256-d6 | bf16 | 7.47 M | 0.300 | 106.7 | 18 % | 2.10 | 24 % |",
            theirs.stdout
        ));
        let text = ratios(&ours, &theirs).unwrap();
        assert!(
            text.contains("**1.20×** PyTorch's speed") && text.contains("**2.00×** its own fp32"),
            "{text}"
        );
    }

    #[test]
    fn the_figure_charts_what_the_reports_hold() {
        let head = "| shape | precision | params | train s/step (B=32) | train img/s | % peak | sample ms/img/NFE (B=13) | % peak |\n|---|---|---|---|---|---|---|---|\n";
        let train = report(&format!(
            "{head}| tiny: p8-w256-d6 | fp32 | 7.47 M | 0.500 | 64.0 | 60 % | 4.00 | 70 % |"
        ));
        let inference = report(
            "| one cat: 20 Euler steps, guidance 4 | ms per image |\n|---|---|\n| tch CPU | 300.0 |",
        );
        // Two panels side by side (460 px each and a 12 px gap), one panel, or none.
        let both = speed_figure(&train, None, &inference).unwrap().unwrap();
        assert_eq!((both.width(), both.height()), (932, 260));
        let one = speed_figure(&report("x"), None, &inference)
            .unwrap()
            .unwrap();
        assert_eq!(one.width(), 460);
        assert!(
            speed_figure(&report("x"), None, &report("y"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn one_cat_is_compared_with_pytorch_eager() {
        let inference = report(
            "| generator | ms |\n|---|---|\n| tch CPU | 9 |\n\n\
             | one cat: 20 Euler steps, guidance 4 | ms per image |\n|---|---|\n\
             | tch CPU | 300.0 |\n| ORT int8 dynamic | 100.0 |\nnext",
        );
        assert_eq!(
            one_cat_rows(&inference),
            vec![
                ("tch CPU".to_string(), 300.0),
                ("ORT int8 dynamic".to_string(), 100.0)
            ]
        );
        let pytorch = report(
            "| t |\none cat (tiny: p8-w256-d6): 20 Euler steps, guidance 4, batch 2 per call: \
             250.0 ms per image (median of 5)",
        );
        assert_eq!(pytorch_one_cat(&pytorch), Some(250.0));
        let text = one_cat(&inference, Some(&pytorch));
        assert!(
            text.contains("ORT int8 dynamic **2.50×**") && text.contains("tch CPU **0.83×**"),
            "{text}"
        );
        let alone = one_cat(&inference, None);
        assert!(
            alone.contains("ORT int8 dynamic 100.0 ms") && !alone.contains("PyTorch eager took")
        );
        assert_eq!(one_cat(&report("no table"), None), "");
    }
}
