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

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Data(cmd) => data::run(cmd),
        Command::TrainGenerator(args) => train::run_generator(args),
        Command::TrainClassifier(args) => train::run_classifier(args),
        Command::Sample(args) => sample::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Eval(cmd) => eval::run(cmd),
        Command::Export(cmd) => export::run(cmd),
    }
}
