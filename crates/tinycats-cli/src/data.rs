//! `tinycats data …` (owned by the data crate's work).
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DataCommand {}

pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {}
}
