//! `tinycats sample` (owned by the models work).
use clap::Args;

#[derive(Debug, Args)]
pub struct SampleArgs {}

pub fn run(_args: SampleArgs) -> anyhow::Result<()> {
    anyhow::bail!("sample is not implemented yet")
}
