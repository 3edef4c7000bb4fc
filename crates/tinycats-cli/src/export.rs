//! `tinycats export onnx --model DIR --out FILE [--quantize int8]`.
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use tinycats_onnx::Scheme;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export a model folder (config.json + model.safetensors) to ONNX, with no Python.
    #[command(
        after_help = "Examples:\n  tinycats export onnx --model runs/gen --out gen.onnx\n  tinycats export onnx --model assets/generator --out gen-int8.onnx --quantize int8-dynamic"
    )]
    Onnx(OnnxArgs),
}

#[derive(Debug, Args)]
pub struct OnnxArgs {
    /// Model folder written by the trainer: `config.json` + `model.safetensors`.
    #[arg(long)]
    model: PathBuf,
    /// The ONNX file to write.
    #[arg(long)]
    out: PathBuf,
    /// Quantize the weights to per-channel int8: `int8` keeps fp32 arithmetic (4× smaller,
    /// same outputs within ~0.3 % of the pixel range); `int8-dynamic` also quantizes the
    /// activations (faster TinyDiT on CPU, but samples drift; see the model card).
    #[arg(long, value_enum)]
    quantize: Option<Quantize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Quantize {
    Int8,
    Int8Dynamic,
}

pub fn run(cmd: ExportCommand) -> anyhow::Result<()> {
    match cmd {
        ExportCommand::Onnx(args) => {
            if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let scheme = args.quantize.map(|q| match q {
                Quantize::Int8 => Scheme::WeightOnly,
                Quantize::Int8Dynamic => Scheme::Dynamic,
            });
            let summary = tinycats_onnx::export(&args.model, &args.out, scheme)?;
            println!("{summary}");
            Ok(())
        }
    }
}
