//! `tinycats`: the project's command line.
//!
//! Basic flags on the command line, everything else in a TOML config file or a named
//! preset (`--preset`, `--config run.toml`). Every subcommand has `--help`.
//!
//! Exit codes: 0 done, 1 an error, 2 a usage error, 3 problems found by `data check`, 130 a
//! training run stopped by Ctrl-C (after writing a checkpoint).

mod backend;
mod classify;
mod data;
mod eval;
mod export;
mod features;
mod preflight;
mod runfolder;
mod sample;
mod train;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tinycats",
    version,
    about = "Classify, generate, train and export tiny cat models",
    after_help = "Exit codes: 0 done, 1 an error, 2 a usage error, 3 problems found by \
                  `data check`, 130 a training run stopped by Ctrl-C (with a checkpoint)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Datasets: write SynthCats, check, clean and split image folders, import Oxford-IIIT Pet.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train the TinyDiT generator with flow matching.
    #[command(
        after_help = "Examples:\n  tinycats train-generator --data synth --synth-per-class 200 --steps 2000 --name gen\n  tinycats train-generator --data my_split --config run.toml --name gen --resume"
    )]
    TrainGenerator(train::GeneratorArgs),
    /// Train the breed classifier.
    #[command(
        after_help = "Examples:\n  tinycats train-classifier --data synth --synth-per-class 1000 --steps 800 --name clf\n  tinycats train-classifier --data my_split --preset tiny --lr 0.001 --name clf"
    )]
    TrainClassifier(train::ClassifierArgs),
    /// Train an autoencoder whose latent grid a latent TinyDiT can work on.
    #[command(
        after_help = "Examples:\n  tinycats train-autoencoder --data synth --synth-per-class 2000 --steps 4000 --name ae"
    )]
    TrainAutoencoder(train::AutoencoderArgs),
    /// Train the SynthCats feature network that the generator's quality report measures in.
    #[command(after_help = "Examples:\n  tinycats train-features --out assets/features")]
    TrainFeatures(features::TrainFeaturesArgs),
    /// Generate cats of chosen breeds with a trained generator.
    #[command(
        after_help = "Examples:\n  tinycats sample --model assets/generator --breed Siamese,Bengal --per-breed 4 --out cats.png\n  tinycats sample --model runs/gen --steps 50 --solver heun --cfg-scale 2"
    )]
    Sample(sample::SampleArgs),
    /// Classify images with a trained classifier.
    #[command(
        after_help = "Examples:\n  tinycats classify assets/photos/chelsea.png\n  tinycats classify --model runs/clf/model.onnx --top-k 5 my_cats/*.jpg"
    )]
    Classify(classify::ClassifyArgs),
    /// Measure a model's quality: classifier top-1, generator breed fidelity.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Export trained models.
    #[command(subcommand)]
    Export(export::ExportCommand),
}

/// Exit codes: 0 done, 1 an error (printed), 2 a usage error (clap), 3 problems found by
/// `data check`, 130 a training run stopped by Ctrl-C after writing a checkpoint.
fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // libtorch reports failures (CUDA out of memory, a missing CUDA library) by panicking in
    // tch: catch them and report them as errors with a fix, not as a crash.
    let message = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = message.clone();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{text}{at}"));
    }));
    let result = std::panic::catch_unwind(|| run(cli)).unwrap_or_else(|_| {
        let text = message.lock().unwrap_or_else(|e| e.into_inner()).take();
        Err(panic_error(&text.unwrap_or_default()))
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<data::ProblemsFound>() => {
            eprintln!("{e}");
            std::process::ExitCode::from(data::ProblemsFound::EXIT_CODE)
        }
        Err(e) => {
            eprintln!("Error: {e:?}");
            let interrupted = matches!(
                e.downcast_ref::<tinycats_models::ModelError>(),
                Some(tinycats_models::ModelError::Interrupted { .. })
            );
            std::process::ExitCode::from(if interrupted { 130 } else { 1 })
        }
    }
}

/// The error a panic becomes: libtorch's out-of-memory and CUDA failures with their fixes,
/// anything else as the bug it is.
fn panic_error(message: &str) -> anyhow::Error {
    let first = message.lines().next().unwrap_or("").trim();
    if message.contains("out of memory") {
        anyhow::anyhow!(
            "the device ran out of memory ({first}); lower --batch-size (or the preset's size), \
             or run on the CPU with --device cpu"
        )
    } else if message.contains("CUDA") || message.contains("cuda") {
        anyhow::anyhow!(
            "libtorch failed on CUDA ({first}); check `nvidia-smi`, that this build has the \
             `cuda` feature and libtorch has its CUDA libraries (`cargo xtask setup --cuda`), \
             or run with --device cpu"
        )
    } else if message.contains("Torch") || message.contains("libtorch") || message.contains("c10") {
        anyhow::anyhow!("libtorch failed: {first}")
    } else {
        anyhow::anyhow!("internal error, a bug in tinycats (please report it): {first}")
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::TrainGenerator(args) => train::run_generator(args),
        Command::TrainClassifier(args) => train::run_classifier(args),
        Command::TrainAutoencoder(args) => train::run_autoencoder(args),
        Command::TrainFeatures(args) => features::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Eval(cmd) => eval::run(cmd),
        Command::Export(cmd) => export::run(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn libtorch_panics_become_errors_with_a_fix() {
        let oom = panic_error(
            "called `Result::unwrap()` on an `Err` value: Torch(\"CUDA out of memory. Tried to allocate 2.00 GiB\")",
        )
        .to_string();
        assert!(
            oom.contains("ran out of memory") && oom.contains("--batch-size"),
            "{oom}"
        );
        let cuda = panic_error("Torch(\"CUDA error: no kernel image is available\")").to_string();
        assert!(
            cuda.contains("--device cpu") && cuda.contains("setup --cuda"),
            "{cuda}"
        );
        let bug = panic_error("index out of bounds (src/x.rs:1:1)").to_string();
        assert!(bug.contains("a bug in tinycats"), "{bug}");
    }

    /// Every command's `--help` ends with examples, and every example parses.
    #[test]
    fn every_command_has_examples_that_parse() {
        fn leaves(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(String, String)>) {
            let subs: Vec<_> = cmd.get_subcommands().collect();
            if subs.is_empty() {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                out.push((path.join(" "), help));
            }
            for sub in subs {
                let mut p = path.clone();
                p.push(sub.get_name().to_owned());
                leaves(sub, p, out);
            }
        }
        let mut all = Vec::new();
        leaves(&Cli::command(), Vec::new(), &mut all);
        assert!(all.len() >= 12, "{all:?}");
        for (name, help) in all {
            let examples: Vec<&str> = help
                .lines()
                .skip_while(|l| !l.starts_with("Examples:"))
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            assert!(
                !examples.is_empty(),
                "`tinycats {name} --help` has no examples"
            );
            for example in examples {
                // What a shell would do with redirections and globs is not clap's business.
                let words: Vec<&str> = example
                    .split_whitespace()
                    .take_while(|w| !w.starts_with('>'))
                    .collect();
                assert_eq!(words[0], "tinycats", "{example}");
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("`{example}` does not parse:\n{e}");
                }
            }
        }
    }
}
