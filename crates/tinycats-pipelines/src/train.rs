//! Training from a run config: the data (an ImageFolder split or SynthCats rendered on the
//! fly), the task, optional starting weights, the trainer, and the finished model folder
//! with its provenance. `tinycats train-generator` and `train-classifier` are this plus
//! flags; the training chapter writes the same steps out, to teach them.

use std::path::{Path, PathBuf};

use tinycats_core::{ClassifierConfig, DitConfig, Normalize, Provenance};
use tinycats_data::augment::Augment;
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Source, SynthCats, SynthConfig, SynthSplit};
use tinycats_models::autoencoder::AutoencoderConfig;
use tinycats_models::dit::TinyDit;
use tinycats_models::runconfig::{AutoencoderRun, ClassifierRun, GeneratorRun};
use tinycats_models::tasks::{self, AutoencoderTask, ClassifierTask, GeneratorTask};
use tinycats_models::tch::{Device, nn::VarStore};
use tinycats_models::trainer::{FitSummary, TrainTask, Trainer, TrainerConfig};

use crate::{PipelineError, Result};

/// Where the training and validation images come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainData {
    /// A folder with `train/` and `val/` ImageFolder splits (`tinycats data split`).
    Folder(PathBuf),
    /// SynthCats rendered on the fly: `per_class` training images per class, a tenth as
    /// many (at least 2) for validation, from disjoint render indices.
    Synth { per_class: u64 },
}

impl TrainData {
    /// `synth` means [`TrainData::Synth`]; anything else is a folder.
    pub fn from_arg(data: &Path, synth_per_class: u64) -> Self {
        if data == Path::new("synth") {
            TrainData::Synth {
                per_class: synth_per_class,
            }
        } else {
            TrainData::Folder(data.to_path_buf())
        }
    }
}

/// What the loaders need to know about the model and the run.
#[derive(Debug, Clone, Copy)]
pub struct LoaderSpec {
    pub image_size: u32,
    pub normalize: Normalize,
    pub augment: Augment,
    pub batch_size: usize,
    pub seed: u64,
}

/// The training loader (shuffled, augmented, whole batches) and the validation loader (in
/// order, no augmentation, every image).
pub fn loaders(data: &TrainData, spec: &LoaderSpec) -> Result<(Loader, Loader)> {
    let train_cfg = LoaderConfig {
        batch_size: spec.batch_size,
        image_size: spec.image_size,
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
    let (train, val) = match data {
        TrainData::Synth { per_class } => {
            let synth = SynthCats::new(SynthConfig {
                size: spec.image_size,
                seed: spec.seed,
                ..SynthConfig::default()
            })?;
            (
                Source::synth_split(synth.clone(), SynthSplit::Train, *per_class),
                Source::synth_split(synth, SynthSplit::Val, (per_class / 10).max(2)),
            )
        }
        TrainData::Folder(dir) => {
            let opts = ImageFolderOptions::default();
            let load = |split: &str| {
                image_folder(&dir.join(split), &opts).map_err(|source| PipelineError::Split {
                    split: split.to_string(),
                    dir: dir.clone(),
                    source: Box::new(source),
                })
            };
            (Source::Files(load("train")?), Source::Files(load("val")?))
        }
    };
    Ok((Loader::new(train, train_cfg)?, Loader::new(val, val_cfg)?))
}

/// A run ready to train: its task, loaders and trainer, built from a run config.
#[derive(Debug)]
pub struct Training<T> {
    pub task: T,
    pub train: Loader,
    pub val: Loader,
    pub trainer: Trainer,
    pub run_dir: PathBuf,
    /// The model's `config.json`, as written into the run folder.
    pub config: ModelFolderConfig,
    /// Variables of a new module that the `init_from` weights lack, left at their
    /// identity-preserving initialisation (TinyDiT's `final_conv`); empty otherwise.
    pub kept_initial: Vec<String>,
}

/// The config that a finished run stamps with its provenance and saves.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelFolderConfig {
    Generator(DitConfig),
    Classifier(ClassifierConfig),
    Autoencoder(AutoencoderConfig),
}

/// Builds a generator run: loaders, a freshly initialised (seeded) TinyDiT, or the weights
/// of `init_from`, and the trainer writing into `run_dir` (with `config.json`).
pub fn generator(
    run: &GeneratorRun,
    data: &TrainData,
    run_dir: &Path,
    device: Device,
    init_from: Option<&Path>,
) -> Result<Training<GeneratorTask>> {
    run.validate()?;
    let cfg = run.dit_config()?;
    let spec = LoaderSpec {
        image_size: cfg.input_size as u32,
        normalize: cfg.normalize()?,
        augment: Augment::generator_train(),
        batch_size: run.batch_size,
        seed: run.trainer.seed,
    };
    let place = Place {
        data,
        run_dir,
        device,
        init_from,
        new_modules: &TinyDit::NEW_MODULES,
    };
    let config = ModelFolderConfig::Generator(cfg.clone());
    let mut training = build(&place, &spec, &run.trainer, config, || {
        let mut task = GeneratorTask::new(&cfg, run.time_sampling, device)?;
        task.preview = run.preview;
        task.preview_seed = run.trainer.seed;
        Ok(task)
    })?;
    // After the starting weights: they are a model's, without the projector.
    if let Some(repa) = &run.repa {
        training.task.enable_repa(repa)?;
    }
    Ok(training)
}

/// Builds an autoencoder run, as [`generator`] does: the images are the generator's
/// (flips only), and the finished `config.json` records the latents' standard deviation.
pub fn autoencoder(
    run: &AutoencoderRun,
    data: &TrainData,
    run_dir: &Path,
    device: Device,
    init_from: Option<&Path>,
) -> Result<Training<AutoencoderTask>> {
    run.validate()?;
    let cfg = run.autoencoder_config()?;
    let spec = LoaderSpec {
        image_size: cfg.input_size as u32,
        normalize: cfg.normalize(),
        augment: Augment::generator_train(),
        batch_size: run.batch_size,
        seed: run.trainer.seed,
    };
    let place = Place {
        data,
        run_dir,
        device,
        init_from,
        new_modules: &[],
    };
    let config = ModelFolderConfig::Autoencoder(cfg.clone());
    build(&place, &spec, &run.trainer, config, || {
        Ok(AutoencoderTask::new(&cfg, run.edge_weight, device)?)
    })
}

/// Builds a classifier run, as [`generator`] does.
pub fn classifier(
    run: &ClassifierRun,
    data: &TrainData,
    run_dir: &Path,
    device: Device,
    init_from: Option<&Path>,
) -> Result<Training<ClassifierTask>> {
    run.validate()?;
    let cfg = run.classifier_config()?;
    let spec = LoaderSpec {
        image_size: cfg.image_size as u32,
        normalize: cfg.normalize()?,
        augment: run.augment,
        batch_size: run.batch_size,
        seed: run.trainer.seed,
    };
    let place = Place {
        data,
        run_dir,
        device,
        init_from,
        new_modules: &[],
    };
    let config = ModelFolderConfig::Classifier(cfg.clone());
    build(&place, &spec, &run.trainer, config, || {
        Ok(ClassifierTask::new(&cfg, run.label_smoothing, device)?)
    })
}

/// Where a run trains, on what, and from which weights.
struct Place<'a> {
    data: &'a TrainData,
    run_dir: &'a Path,
    device: Device,
    init_from: Option<&'a Path>,
    /// Variables the `init_from` weights may lack ([`TinyDit::NEW_MODULES`]).
    new_modules: &'a [&'a str],
}

/// What every run does before training: the loaders, the seed, the task (`make_task`,
/// called after seeding so that its initialisation is the seed's), the starting weights,
/// and the run folder with its `config.json`.
fn build<T: TrainTask>(
    place: &Place<'_>,
    spec: &LoaderSpec,
    trainer: &TrainerConfig,
    config: ModelFolderConfig,
    make_task: impl FnOnce() -> Result<T>,
) -> Result<Training<T>> {
    let (train, val) = loaders(place.data, spec)?;
    tinycats_models::tch::manual_seed(trainer.seed as i64);
    let task = make_task()?;
    let kept_initial = init_weights(task.var_store(), place)?;
    let run_dir = place.run_dir;
    std::fs::create_dir_all(run_dir).map_err(|source| PipelineError::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let path = run_dir.join("config.json");
    match &config {
        ModelFolderConfig::Generator(c) => tinycats_models::io::write_json(&path, c)?,
        ModelFolderConfig::Classifier(c) => tinycats_models::io::write_json(&path, c)?,
        ModelFolderConfig::Autoencoder(c) => tinycats_models::io::write_json(&path, c)?,
    }
    Ok(Training {
        task,
        train,
        val,
        trainer: Trainer::new(trainer.clone(), run_dir, place.device)?,
        run_dir: run_dir.to_path_buf(),
        config,
        kept_initial,
    })
}

/// Loads `init_from/model.safetensors` into `vs`, strictly (every tensor, every shape)
/// except for the place's new modules, which may be missing. Returns those that were.
fn init_weights(vs: &VarStore, place: &Place<'_>) -> Result<Vec<String>> {
    let Some(dir) = place.init_from else {
        return Ok(Vec::new());
    };
    let path = dir.join("model.safetensors");
    tinycats_models::io::load_var_store_growing(vs, &path, place.new_modules).map_err(|source| {
        PipelineError::InitFrom {
            dir: dir.to_path_buf(),
            source: Box::new(source),
        }
    })
}

impl<T: TrainTask> Training<T> {
    /// Trainable parameters of the model (not those of training-only modules such as
    /// REPA's projector, which the model folder leaves out).
    pub fn parameters(&self) -> i64 {
        self.task
            .var_store()
            .variables()
            .iter()
            .filter(|(name, t)| {
                t.requires_grad() && !name.starts_with(tinycats_models::repa::PREFIX)
            })
            .map(|(_, t)| t.numel() as i64)
            .sum()
    }

    /// Trains (from the newest checkpoint when `resume`), then writes the model folder —
    /// `config.json` stamped with the run's provenance and `model.safetensors` (the EMA
    /// weights when the run keeps an average) — into the run folder.
    pub fn fit(mut self, resume: bool) -> Result<FitSummary> {
        let started = Provenance::capture(0);
        let (summary, ema) =
            self.trainer
                .fit(&mut self.task, &mut self.train, &mut self.val, resume)?;
        let provenance = Some(started.finished(summary.steps));
        let vs = self.task.var_store();
        match self.config {
            ModelFolderConfig::Generator(c) => {
                let c = DitConfig { provenance, ..c };
                tasks::save_model_folder(&self.run_dir, &c, vs, ema.as_ref())?
            }
            ModelFolderConfig::Classifier(c) => {
                let c = ClassifierConfig { provenance, ..c };
                tasks::save_model_folder(&self.run_dir, &c, vs, ema.as_ref())?
            }
            ModelFolderConfig::Autoencoder(c) => {
                let latent_std = self
                    .task
                    .config_measurements()
                    .get("latent_std")
                    .and_then(|v| v.as_f64());
                let c = AutoencoderConfig {
                    provenance,
                    latent_std,
                    ..c
                };
                tasks::save_model_folder(&self.run_dir, &c, vs, ema.as_ref())?
            }
        }
        Ok(summary)
    }
}
