//! `tinycats train-generator` and `tinycats train-classifier`.
//!
//! Basic flags here; everything else in a TOML run config (`--config run.toml`, see
//! `tinycats_models::runconfig`) over a named preset. Every value is validated before any
//! work starts. A run writes `runs/<name>/{config.json, metrics.csv, checkpoints/, samples/,
//! model.safetensors}`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tinycats_data::augment::Augment;
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Normalize, Source, SynthCats, SynthConfig, SynthSplit};
use tinycats_models::device::parse_device;
use tinycats_models::runconfig::{self, ClassifierRun, GeneratorRun};
use tinycats_models::tasks::{self, ClassifierTask, GeneratorTask};
use tinycats_models::trainer::{Trainer, TrainerConfig};
use tinycats_models::{ClassifierConfig, Provenance};

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

    /// Loads `--init-from` weights into `vs` (strictly: every tensor, every shape).
    fn init_weights(&self, vs: &tinycats_models::tch::nn::VarStore) -> anyhow::Result<()> {
        if let Some(dir) = &self.init_from {
            let path = dir.join("model.safetensors");
            tinycats_models::io::load_var_store(vs, &path).with_context(|| {
                format!(
                    "--init-from {}: its weights do not fit this run's model; use the same \
                     preset and [model] overrides as the run that wrote it",
                    dir.display()
                )
            })?;
            println!("starting from the weights in {}", path.display());
        }
        Ok(())
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
    let run_dir = a.run_dir();
    a.prepare_run_dir("generator", &run, &cfg)?;
    let spec = DataSpec {
        image_size: cfg.input_size,
        normalize: cfg.normalize()?,
        augment: Augment::generator_train(),
        batch_size: run.batch_size,
        seed: run.trainer.seed,
    };
    let (mut train, mut val) = load_splits(&a.data, &spec, a.synth_per_class)?;

    tinycats_models::tch::manual_seed(run.trainer.seed as i64);
    let mut task = GeneratorTask::new(&cfg, run.time_sampling, device)?;
    a.init_weights(&task.vs)?;
    task.preview = run.preview;
    task.preview_seed = run.trainer.seed;
    std::fs::create_dir_all(&run_dir)?;
    tinycats_models::io::write_json(&run_dir.join("config.json"), &cfg)?;
    let trainer = Trainer::new(run.trainer.clone(), &run_dir, device)?;
    println!(
        "training {} ({} parameters) on {device:?} into {}",
        cfg.preset,
        count(&task.vs),
        run_dir.display()
    );
    let started = Provenance::capture(0);
    stop_on_ctrl_c();
    let (summary, ema) = trainer.fit(&mut task, &mut train, &mut val, a.resume)?;
    let cfg = tasks::with_provenance(&cfg, &started, summary.steps);
    tasks::save_model_folder(&run_dir, &cfg, &task.vs, ema.as_ref())?;
    println!(
        "done after {} steps ({}{}); EMA weights in {}",
        summary.steps,
        best_val_loss(summary.best_val_loss),
        skipped(summary.skipped_steps),
        run_dir.join("model.safetensors").display()
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
    let run_dir = a.run_dir();
    a.prepare_run_dir("classifier", &run, &cfg)?;
    let spec = DataSpec {
        image_size: cfg.image_size,
        normalize: cfg.normalize()?,
        augment: Augment::classifier_train(),
        batch_size: run.batch_size,
        seed: run.trainer.seed,
    };
    let (mut train, mut val) = load_splits(&a.data, &spec, a.synth_per_class)?;

    tinycats_models::tch::manual_seed(run.trainer.seed as i64);
    let mut task = ClassifierTask::new(&cfg, run.label_smoothing, device)?;
    a.init_weights(&task.vs)?;
    std::fs::create_dir_all(&run_dir)?;
    tinycats_models::io::write_json(&run_dir.join("config.json"), &cfg)?;
    let trainer = Trainer::new(run.trainer.clone(), &run_dir, device)?;
    println!(
        "training classifier {} ({} parameters) on {device:?} into {}",
        cfg.preset,
        count(&task.vs),
        run_dir.display()
    );
    let started = Provenance::capture(0);
    stop_on_ctrl_c();
    let (summary, ema) = trainer.fit(&mut task, &mut train, &mut val, a.resume)?;
    let cfg = ClassifierConfig {
        provenance: Some(started.finished(summary.steps)),
        ..cfg
    };
    tasks::save_model_folder(&run_dir, &cfg, &task.vs, ema.as_ref())?;
    println!(
        "done after {} steps ({}{})",
        summary.steps,
        best_val_loss(summary.best_val_loss),
        skipped(summary.skipped_steps)
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

fn count(vs: &tinycats_models::tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// The training and validation loaders: `--data synth` renders SynthCats on the fly
/// (disjoint render indices for the two splits), any other value is a folder with `train/`
/// and `val/` ImageFolder splits (as `tinycats data split` writes them).
fn load_splits(
    data: &Path,
    spec: &DataSpec,
    synth_per_class: u64,
) -> anyhow::Result<(Loader, Loader)> {
    let train_cfg = LoaderConfig {
        batch_size: spec.batch_size,
        image_size: spec.image_size as u32,
        normalize: spec.normalize,
        augment: spec.augment,
        shuffle: true,
        drop_last: true,
        seed: spec.seed,
        ..LoaderConfig::default()
    };
    let val_cfg = LoaderConfig {
        augment: Augment::eval(),
        shuffle: false,
        drop_last: false,
        ..train_cfg
    };
    let (train, val) = if data == Path::new("synth") {
        let synth = SynthCats::new(SynthConfig {
            size: spec.image_size as u32,
            seed: spec.seed,
            ..SynthConfig::default()
        })?;
        (
            Source::synth_split(synth.clone(), SynthSplit::Train, synth_per_class),
            Source::synth_split(synth, SynthSplit::Val, (synth_per_class / 10).max(2)),
        )
    } else {
        let opts = ImageFolderOptions::default();
        let load = |split: &str| {
            let dir = data.join(split);
            image_folder(&dir, &opts).with_context(|| {
                format!(
                    "reading the `{split}` split in {} (run `tinycats data split` first)",
                    data.display()
                )
            })
        };
        (Source::Files(load("train")?), Source::Files(load("val")?))
    };
    Ok((Loader::new(train, train_cfg)?, Loader::new(val, val_cfg)?))
}

/// What the loaders need to know about the model and the run.
#[derive(Debug)]
struct DataSpec {
    image_size: i64,
    normalize: Normalize,
    augment: Augment,
    batch_size: usize,
    seed: u64,
}

/// The run's best validation loss as a reader wants it, or why there is none.
/// `; N updates skipped for NaN or infinite gradients`, or nothing.
fn skipped(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 update skipped for a NaN or infinite gradient".into(),
        n => format!("; {n} updates skipped for NaN or infinite gradients"),
    }
}

fn best_val_loss(best: Option<f64>) -> String {
    match best {
        Some(loss) => format!("best val_loss {loss:.4}"),
        None => "no validation ran".to_owned(),
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
