//! `tinycats train-generator` and `tinycats train-classifier` (owned by the models work).
use clap::Args;

#[derive(Debug, Args)]
pub struct GeneratorArgs {}

#[derive(Debug, Args)]
pub struct ClassifierArgs {}

pub fn run_generator(_args: GeneratorArgs) -> anyhow::Result<()> {
    anyhow::bail!("train-generator is not implemented yet")
}

pub fn run_classifier(_args: ClassifierArgs) -> anyhow::Result<()> {
    anyhow::bail!("train-classifier is not implemented yet")
}
