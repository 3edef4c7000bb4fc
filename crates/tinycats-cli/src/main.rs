//! `tinycats`: the project's command line.
//!
//! Basic flags on the command line, everything else in a TOML config file or a named
//! preset (`--preset`, `--config run.toml`). Every subcommand has `--help`.

mod classify;
mod data;
mod eval;
mod export;
mod runfolder;
mod sample;
mod train;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tinycats",
    version,
    about = "Classify, generate, train and export tiny cat models"
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
    TrainGenerator(train::GeneratorArgs),
    /// Train the breed classifier.
    TrainClassifier(train::ClassifierArgs),
    /// Generate cats of chosen breeds with a trained generator.
    Sample(sample::SampleArgs),
    /// Classify images with a trained classifier.
    Classify(classify::ClassifyArgs),
    /// Measure a model's quality: classifier top-1, generator breed fidelity.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Export trained models.
    #[command(subcommand)]
    Export(export::ExportCommand),
}

/// Exit codes: 0 done, 1 an error (printed), 2 a usage error (clap), 130 a training run
/// stopped by Ctrl-C after writing a checkpoint.
fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::TrainGenerator(args) => train::run_generator(args),
        Command::TrainClassifier(args) => train::run_classifier(args),
        Command::Sample(args) => sample::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Eval(cmd) => eval::run(cmd),
        Command::Export(cmd) => export::run(cmd),
    }
}
