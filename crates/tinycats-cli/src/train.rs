//! `tinycats train-generator`, `tinycats train-classifier` and `tinycats train-autoencoder`.
//!
//! Basic flags here; everything else in a TOML run config (`--config run.toml`, see
//! `tinycats_models::runconfig`) over a named preset. Every value is validated before any
//! work starts. A run writes `runs/<name>/{config.json, metrics.csv, checkpoints/, samples/,
//! model.safetensors}`.

use std::path::PathBuf;

use clap::Args;
use tinycats_models::device::parse_device;
use tinycats_models::runconfig::{self, AutoencoderRun, ClassifierRun, GeneratorRun};
use tinycats_models::trainer::{FitSummary, TrainerConfig};
use tinycats_pipelines::train::{self, TrainData};

use crate::runfolder;

/// Flags shared by both training commands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Dataset folder with `train/` and `val/` splits (`tinycats data split`), or `synth`
    /// to render SynthCats on the fly.
    #[arg(long)]
    pub data: PathBuf,
    /// With `--data synth`: training images per breed (validation gets a tenth).
    #[arg(long, default_value_t = 200)]
    pub synth_per_class: u64,
    /// Named preset (overrides the config's `preset`; `tiny` when neither names one).
    #[arg(long)]
    pub preset: Option<String>,
    /// TOML run config; its values override the preset, flags override both.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run name: the run folder is `<runs-dir>/<name>`.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Where run folders live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Optimiser steps (overrides `trainer.max_steps`).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Images per batch (overrides `batch_size`).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate (overrides `trainer.lr`).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of initialisation, data order and noise (overrides `trainer.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Continue from the newest checkpoint of the run folder (with the settings it was
    /// started with: `run.json` in the folder records them).
    #[arg(long)]
    pub resume: bool,
    /// With `--resume`: continue although settings differ from the recorded ones (the
    /// differences are listed).
    #[arg(long, requires = "resume")]
    pub force_resume: bool,
    /// Start a new run in a folder that holds one, deleting its checkpoints, metrics and
    /// samples.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Start from the weights of this model folder (`config.json` + `model.safetensors`,
    /// e.g. `assets/generator`) instead of a fresh initialisation, to train a model further
    /// in a new run. The run's model config must have the same shapes.
    #[arg(long, conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
}

impl CommonArgs {
    fn apply(&self, preset: &mut String, trainer: &mut TrainerConfig, batch_size: &mut usize) {
        if let Some(p) = &self.preset {
            preset.clone_from(p);
        }
        if let Some(s) = self.steps {
            trainer.max_steps = s;
            trainer.warmup_steps = trainer.warmup_steps.min(s);
        }
        if let Some(lr) = self.lr {
            trainer.lr = lr;
            trainer.min_lr = trainer.min_lr.min(lr);
        }
        if let Some(seed) = self.seed {
            trainer.seed = seed;
        }
        if let Some(b) = self.batch_size {
            *batch_size = b;
        }
    }

    /// What is about to train, on which device, into which folder (and from which weights).
    fn announce(&self, what: &str, device: tinycats_models::tch::Device) {
        println!(
            "training {what} on {device:?} into {}",
            self.run_dir().display()
        );
        if let Some(dir) = &self.init_from {
            println!(
                "starting from the weights in {}",
                dir.join("model.safetensors").display()
            );
        }
    }

    fn run_dir(&self) -> PathBuf {
        self.runs_dir.join(&self.name)
    }

    /// Checks the run folder against this run and records it ([`runfolder::prepare`]).
    fn prepare_run_dir(
        &self,
        kind: &str,
        run: &impl serde::Serialize,
        model: &impl serde::Serialize,
    ) -> anyhow::Result<()> {
        let record = serde_json::json!({
            "kind": kind,
            "run": serde_json::to_value(run)?,
            "model": serde_json::to_value(model)?,
            "data": runfolder::data_identity(&self.data, self.synth_per_class)?,
            "init_from": self.init_from.as_ref().map(|p| p.display().to_string()),
        });
        let intent = runfolder::Intent {
            resume: self.resume,
            overwrite: self.overwrite,
            force_resume: self.force_resume,
        };
        runfolder::prepare(&self.run_dir(), &record, intent)
    }
}

#[derive(Debug, Args)]
pub struct GeneratorArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ClassifierArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct AutoencoderArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_generator(args: GeneratorArgs) -> anyhow::Result<()> {
    let a = &args.common;
    let mut run: GeneratorRun = match &a.config {
        Some(path) => runconfig::read_toml(path)?,
        None => GeneratorRun::default(),
    };
    a.apply(&mut run.preset, &mut run.trainer, &mut run.batch_size);
    run.validate()?;
    let cfg = run.dit_config()?;
    let device = parse_device(&a.device)?;
    a.prepare_run_dir("generator", &run, &cfg)?;
    let data = TrainData::from_arg(&a.data, a.synth_per_class);
    let training = train::generator(&run, &data, &a.run_dir(), device, a.init_from.as_deref())?;
    a.announce(
        &format!("{} ({} parameters)", cfg.preset, training.parameters()),
        device,
    );
    if let Some(repa) = &training.task.repa {
        println!("{}", repa.describe());
    }
    if !training.kept_initial.is_empty() {
        println!(
            "new in this model, kept at zero (it starts as the model it grows from): {}",
            training.kept_initial.join(", ")
        );
    }
    stop_on_ctrl_c();
    let summary = training.fit(a.resume)?;
    println!(
        "done after {} steps ({}{}); EMA weights in {}",
        summary.steps,
        best_val_loss(&summary),
        skipped(summary.skipped_steps),
        a.run_dir().join("model.safetensors").display()
    );
    Ok(())
}

pub fn run_classifier(args: ClassifierArgs) -> anyhow::Result<()> {
    let a = &args.common;
    let mut run: ClassifierRun = match &a.config {
        Some(path) => runconfig::read_toml(path)?,
        None => ClassifierRun::default(),
    };
    a.apply(&mut run.preset, &mut run.trainer, &mut run.batch_size);
    run.validate()?;
    let cfg = run.classifier_config()?;
    let device = parse_device(&a.device)?;
    a.prepare_run_dir("classifier", &run, &cfg)?;
    let data = TrainData::from_arg(&a.data, a.synth_per_class);
    let training = train::classifier(&run, &data, &a.run_dir(), device, a.init_from.as_deref())?;
    a.announce(
        &format!(
            "classifier {} ({} parameters)",
            cfg.preset,
            training.parameters()
        ),
        device,
    );
    stop_on_ctrl_c();
    let summary = training.fit(a.resume)?;
    println!(
        "done after {} steps ({}{})",
        summary.steps,
        best_val_loss(&summary),
        skipped(summary.skipped_steps)
    );
    Ok(())
}

pub fn run_autoencoder(args: AutoencoderArgs) -> anyhow::Result<()> {
    let a = &args.common;
    if let Some(p) = &a.preset {
        anyhow::bail!(
            "--preset {p}: the autoencoder has no presets; set its sizes under [model] in \
             --config (widths, latent_channels)"
        );
    }
    let mut run: AutoencoderRun = match &a.config {
        Some(path) => runconfig::read_toml(path)?,
        None => AutoencoderRun::default(),
    };
    a.apply(&mut String::new(), &mut run.trainer, &mut run.batch_size);
    run.validate()?;
    let cfg = run.autoencoder_config()?;
    let device = parse_device(&a.device)?;
    a.prepare_run_dir("autoencoder", &run, &cfg)?;
    let data = TrainData::from_arg(&a.data, a.synth_per_class);
    let training = train::autoencoder(&run, &data, &a.run_dir(), device, a.init_from.as_deref())?;
    a.announce(
        &format!(
            "autoencoder {:?} → {} latent channels at 1/{} ({} parameters)",
            cfg.widths,
            cfg.latent_channels,
            cfg.downsample(),
            training.parameters()
        ),
        device,
    );
    stop_on_ctrl_c();
    let summary = training.fit(a.resume)?;
    println!(
        "done after {} steps ({}{}); weights in {}",
        summary.steps,
        best_val_loss(&summary),
        skipped(summary.skipped_steps),
        a.run_dir().join("model.safetensors").display()
    );
    Ok(())
}

/// The first Ctrl-C asks the run to stop after its current step, with a checkpoint; a second
/// one quits at once.
fn stop_on_ctrl_c() {
    use std::sync::atomic::Ordering;
    use tinycats_models::trainer::STOP_REQUESTED;
    let installed = ctrlc::set_handler(|| {
        if STOP_REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping after this step with a checkpoint (Ctrl-C again to quit without one)"
        );
    });
    if let Err(e) = installed {
        eprintln!("note: Ctrl-C will end the run without a checkpoint ({e})");
    }
}

/// `; N updates skipped for NaN or infinite gradients`, or nothing.
fn skipped(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 update skipped for a NaN or infinite gradient".into(),
        n => format!("; {n} updates skipped for NaN or infinite gradients"),
    }
}

/// The run's best validation loss as a reader wants it (with its step, and whether the
/// model folder holds its weights), or why there is none.
fn best_val_loss(summary: &FitSummary) -> String {
    match (summary.best_val_loss, summary.best_step) {
        (Some(loss), Some(step)) if summary.restored_best => {
            format!("best val_loss {loss:.4} at step {step}, whose weights the model keeps")
        }
        (Some(loss), Some(step)) => format!("best val_loss {loss:.4} at step {step}"),
        (Some(loss), None) => format!("best val_loss {loss:.4}"),
        (None, _) => "no validation ran".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn applied(args: &[&str], config: &str) -> GeneratorRun {
        let cli = Cli::try_parse_from(["train"].iter().chain(args)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, config).unwrap();
        let mut run: GeneratorRun = runconfig::read_toml(&path).unwrap();
        let c = &cli.common;
        c.apply(&mut run.preset, &mut run.trainer, &mut run.batch_size);
        run
    }

    /// The help says flags win over the config, and the config over the preset.
    #[test]
    fn flags_override_the_config_which_overrides_the_defaults() {
        let config = "preset = \"small\"\nbatch_size = 16\n[trainer]\nlr = 0.001\n";
        let run = applied(&["--data", "synth"], config);
        assert_eq!((run.preset.as_str(), run.batch_size), ("small", 16));
        assert_eq!(run.trainer.lr, 0.001);
        let run = applied(
            &[
                "--data",
                "synth",
                "--preset",
                "tiny",
                "--batch-size",
                "8",
                "--lr",
                "0.0005",
            ],
            config,
        );
        assert_eq!((run.preset.as_str(), run.batch_size), ("tiny", 8));
        assert_eq!(run.trainer.lr, 0.0005);
        assert_eq!(applied(&["--data", "synth"], "").preset, "tiny");
    }
}
