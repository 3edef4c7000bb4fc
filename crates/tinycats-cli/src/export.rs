//! `tinycats export …` (owned by the ONNX export work).
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {}

pub fn run(cmd: ExportCommand) -> anyhow::Result<()> {
    match cmd {}
}
