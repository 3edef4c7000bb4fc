//! `tinycats train-features`: trains the SynthCats feature network that `tinycats eval
//! generator` measures the generator's quality in (`assets/features`).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use tinycats_core::Provenance;
use tinycats_models::device::parse_device;
use tinycats_models::trainer::{Progress, Row};
use tinycats_pipelines::quality::{FeatureTraining, train_feature_net};

#[derive(Debug, Args)]
pub struct TrainFeaturesArgs {
    /// Folder for `config.json` and `model.safetensors` (created; files replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// Optimiser steps.
    #[arg(long, default_value_t = FeatureTraining::default().steps)]
    steps: u64,
    /// Images per step (SynthCats rendered on the fly, half mirrored).
    #[arg(long, default_value_t = FeatureTraining::default().batch_size)]
    batch_size: usize,
    /// Peak learning rate (warm-up, then cosine to a hundredth).
    #[arg(long, default_value_t = FeatureTraining::default().lr)]
    lr: f64,
    /// Seed of the initialisation and of the renders.
    #[arg(long, default_value_t = FeatureTraining::default().seed)]
    seed: u64,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

pub fn run(args: TrainFeaturesArgs) -> anyhow::Result<()> {
    if args.steps == 0 || args.batch_size < 2 {
        anyhow::bail!(
            "`--steps` = {}, `--batch-size` = {}: expected at least 1 step of at least 2 images",
            args.steps,
            args.batch_size
        );
    }
    let device = parse_device(&args.device)?;
    let opts = FeatureTraining {
        steps: args.steps,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        ..FeatureTraining::default()
    };
    let provenance = Provenance::capture(0);
    let progress = Progress::new(opts.steps, 0, 100);
    let started = Instant::now();
    let (vs, mut net, held_out) = train_feature_net(&opts, device, |step, loss, lr| {
        progress.update(&Row {
            step,
            epoch: 0,
            train_loss: loss,
            val_loss: None,
            val_metrics: Vec::new(),
            lr,
            images_per_s: (step * opts.batch_size as u64) as f64 / started.elapsed().as_secs_f64(),
            train_metrics: Vec::new(),
        });
    })?;
    progress.finish();
    net.set_provenance(provenance.finished(opts.steps));
    net.save(&vs, &args.out)?;
    println!(
        "held out ({} SynthCats test images): {}",
        held_out.images,
        held_out
            .accuracy
            .iter()
            .map(|(n, a)| format!("{n} {:.1} %", 100.0 * a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "R²: {}",
        held_out
            .r2
            .iter()
            .map(|(n, r)| format!("{n} {r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{} steps in {:.0} s; saved to {}",
        opts.steps,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
