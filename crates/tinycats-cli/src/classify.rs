//! `tinycats classify` (owned by the ONNX Runtime work).
use clap::Args;

#[derive(Debug, Args)]
pub struct ClassifyArgs {}

pub fn run(_args: ClassifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("classify is not implemented yet")
}
