//! The two models wired to the [`trainer`](crate::trainer): what a step computes, how a
//! model is validated, what a preview shows, and how a finished run is saved.

use std::collections::BTreeMap;
use std::path::Path;

use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::autoencoder::{self, Autoencoder, AutoencoderConfig};
use crate::classifier::{Classifier, ClassifierConfig, classification_loss};
use crate::dit::{DitConfig, Provenance, TinyDit};
use crate::error::{ModelError, Result};
use crate::flow::{self, TimeSampling};
use crate::metrics::ClassificationReport;
use crate::repa::{self, Repa, RepaConfig};
use crate::trainer::{DeviceBatch, Ema, Evaluation, TrainTask};
use crate::{images, io};
use tinycats_core::SampleOptions;

/// TinyDiT trained with rectified flow.
#[derive(Debug)]
pub struct GeneratorTask {
    pub vs: nn::VarStore,
    pub model: TinyDit,
    pub times: TimeSampling,
    /// Sampler settings of the preview grids.
    pub preview: SampleOptions,
    /// Seed of the preview noise (the same noise at every preview, so grids compare).
    pub preview_seed: u64,
    /// Representation alignment while training ([`crate::repa`]); `None`: the plain
    /// flow-matching loss.
    pub repa: Option<Repa>,
    /// Optimiser steps completed ([`TrainTask::begin_step`]).
    completed: u64,
    /// The alignment's cosine summed over the micro-batches since the last
    /// `take_train_metrics`, and their number.
    repa_cos: (f64, u32),
}

impl GeneratorTask {
    pub fn new(cfg: &DitConfig, times: TimeSampling, device: Device) -> Result<Self> {
        cfg.validate()?;
        crate::device::keep_freed_memory();
        let vs = nn::VarStore::new(device);
        let model = TinyDit::new(vs.root(), cfg);
        Ok(GeneratorTask {
            vs,
            model,
            times,
            preview: SampleOptions {
                steps: 20,
                ..Default::default()
            },
            preview_seed: 0,
            repa: None,
            completed: 0,
            repa_cos: (0.0, 0),
        })
    }

    /// Adds REPA to this run: loads the teacher and builds the projector under `repa` in
    /// the run's var store (after the starting weights were loaded, which lack it).
    pub fn enable_repa(&mut self, cfg: &RepaConfig) -> Result<()> {
        let root = self.vs.root();
        let repa = Repa::new(&root / "repa", cfg, self.model.config(), self.vs.device())?;
        self.repa = Some(repa);
        Ok(())
    }

    /// Two samples of every breed, one breed per column.
    pub fn sample_grid(&self, opts: &SampleOptions, seed: u64) -> Result<Tensor> {
        let cfg = self.model.config();
        let k = cfg.num_classes;
        let y = Tensor::arange(k, (Kind::Int64, self.vs.device())).repeat([2]); // (2K,)
        sample_labels(&self.model, &y, opts, seed)
    }
}

/// `per_breed` samples of each breed in `breeds`, breed-major (all of `breeds[0]` first),
/// from noise seeded with `seed` (image `i` of the batch draws stream `i`), as images in
/// [0, 1].
///
/// # Shapes
/// → `(breeds.len() · per_breed, C, H, W)`
pub fn sample_breeds(
    model: &TinyDit,
    breeds: &[i64],
    per_breed: i64,
    opts: &SampleOptions,
    seed: u64,
) -> Result<Tensor> {
    let cfg = model.config();
    if let Some(bad) = breeds.iter().find(|&&b| !(0..cfg.num_classes).contains(&b)) {
        return Err(ModelError::invalid(
            "breed",
            bad,
            &format!("a class index in 0..{}", cfg.num_classes),
        ));
    }
    if per_breed < 1 {
        return Err(ModelError::invalid("per_breed", per_breed, "at least 1"));
    }
    let device = model.device();
    let y = Tensor::from_slice(breeds)
        .repeat_interleave_self_int(per_breed, 0, None)
        .to_device(device); // (B·per_breed,)
    sample_labels(model, &y, opts, seed)
}

/// One sample per label in `y`, from the portable noise of `seed` (image `i` draws stream
/// `i`), as images in [0, 1].
///
/// # Shapes
/// `y`: `(N,)` int64 → `(N, C, H, W)`
pub fn sample_labels(
    model: &TinyDit,
    y: &Tensor,
    opts: &SampleOptions,
    seed: u64,
) -> Result<Tensor> {
    let cfg = model.config();
    let noise = flow::seeded_noise(
        seed,
        y.size()[0],
        [cfg.in_channels, cfg.input_size, cfg.input_size],
        y.device(),
    );
    let x = flow::sample(model, &noise, y, opts)?;
    Ok(flow::to_unit_range(&x, &cfg.normalize()?))
}

impl TrainTask for GeneratorTask {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn begin_step(&mut self, completed: u64) {
        self.completed = completed;
    }

    fn loss(&mut self, batch: &DeviceBatch, train: bool) -> Tensor {
        let (x1, y) = (&batch.images, &batch.labels);
        // Validation measures the flow-matching loss alone, so that runs with and without
        // REPA compare on it.
        match &self.repa {
            Some(repa) if train && repa.active_at(self.completed) => {
                let after = repa.config().after_blocks;
                let (flow, tokens) = flow::flow_matching_loss_with_tokens(
                    &self.model,
                    x1,
                    y,
                    self.times,
                    true,
                    after,
                );
                let targets = repa
                    .targets(x1)
                    .expect("the teacher's map was found when REPA was set up");
                let cos = repa.cosine(&tokens, &targets);
                self.repa_cos.0 += cos.double_value(&[]);
                self.repa_cos.1 += 1;
                flow + (1.0 - cos) * repa.config().weight
            }
            _ => flow::flow_matching_loss(&self.model, x1, y, self.times, train),
        }
    }

    fn train_metric_names(&self) -> Vec<String> {
        match self.repa {
            Some(_) => vec!["repa_cos".into()],
            None => Vec::new(),
        }
    }

    fn take_train_metrics(&mut self) -> Vec<f64> {
        let (sum, n) = std::mem::take(&mut self.repa_cos);
        // None (an empty cell in metrics.csv) once the alignment is switched off.
        if n == 0 {
            Vec::new()
        } else {
            vec![sum / f64::from(n)]
        }
    }

    fn preview(&mut self, step: u64, dir: &Path) -> Result<()> {
        let grid = self.sample_grid(&self.preview, self.preview_seed)?;
        images::save_grid(
            &grid,
            self.model.config().num_classes,
            &dir.join(format!("step-{step:08}.png")),
        )
    }

    fn has_bf16_path(&self) -> bool {
        true
    }

    fn set_compute_kind(&mut self, kind: Kind) {
        self.model.set_compute_kind(kind);
    }
}

/// The residual breed classifier with label smoothing (and soft targets from CutMix/MixUp).
#[derive(Debug)]
pub struct ClassifierTask {
    pub vs: nn::VarStore,
    pub model: Classifier,
    pub label_smoothing: f64,
    /// Training images since the last `take_train_metrics`, and how many of them the
    /// model got right.
    seen: i64,
    right: i64,
}

impl ClassifierTask {
    pub fn new(cfg: &ClassifierConfig, label_smoothing: f64, device: Device) -> Result<Self> {
        cfg.validate()?;
        if !(0.0..1.0).contains(&label_smoothing) {
            return Err(ModelError::invalid(
                "label_smoothing",
                label_smoothing,
                "in [0, 1)",
            ));
        }
        crate::device::keep_freed_memory();
        let vs = nn::VarStore::new(device);
        let model = Classifier::new(vs.root(), cfg);
        Ok(ClassifierTask {
            vs,
            model,
            label_smoothing,
            seen: 0,
            right: 0,
        })
    }

    /// Logits for a whole set of batches, and the labels, under `no_grad` in eval mode.
    pub fn predict(&self, batches: &[DeviceBatch]) -> (Tensor, Tensor) {
        let _guard = tch::no_grad_guard();
        let logits: Vec<Tensor> = batches
            .iter()
            .map(|b| self.model.forward_t(&b.images, false))
            .collect();
        let labels: Vec<Tensor> = batches.iter().map(|b| b.labels.shallow_clone()).collect();
        (Tensor::cat(&logits, 0), Tensor::cat(&labels, 0))
    }
}

impl TrainTask for ClassifierTask {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn loss(&mut self, batch: &DeviceBatch, train: bool) -> Tensor {
        let logits = self.model.forward_t(&batch.images, train);
        if train {
            // Right means the top logit is the label, or under CutMix/MixUp the larger share
            // of the mixed target.
            let target = match &batch.soft_targets {
                Some(soft) => soft.argmax(1, false),
                None => batch.labels.shallow_clone(),
            };
            let right = logits.argmax(1, false).eq_tensor(&target);
            self.right += right.sum(Kind::Int64).int64_value(&[]);
            self.seen += batch.len();
        }
        let smoothing = if train { self.label_smoothing } else { 0.0 };
        classification_loss(
            &logits,
            &batch.labels,
            batch.soft_targets.as_ref().filter(|_| train),
            smoothing,
        )
    }

    fn metric_names(&self) -> Vec<String> {
        vec!["top1".into(), "top5".into(), "macro_f1".into()]
    }

    fn train_metric_names(&self) -> Vec<String> {
        vec!["top1".into()]
    }

    fn take_train_metrics(&mut self) -> Vec<f64> {
        let top1 = self.right as f64 / self.seen.max(1) as f64;
        (self.seen, self.right) = (0, 0);
        vec![top1]
    }

    fn evaluate(&mut self, batches: &[DeviceBatch]) -> Result<Evaluation> {
        if batches.is_empty() {
            return Err(ModelError::Data(
                "the validation set is empty: the classifier needs labelled validation images"
                    .into(),
            ));
        }
        let (logits, labels) = self.predict(batches);
        let val_loss = classification_loss(&logits, &labels, None, 0.0).double_value(&[]);
        let r = ClassificationReport::from_logits(&logits, &labels, 5)?;
        Ok(Evaluation {
            val_loss,
            metrics: vec![r.top1, r.top_k, r.confusion.macro_f1()],
        })
    }
}

/// The autoencoder, trained to redraw its input.
#[derive(Debug)]
pub struct AutoencoderTask {
    pub vs: nn::VarStore,
    pub model: Autoencoder,
    /// Weight of the image-gradient term of [`autoencoder::reconstruction_loss`].
    pub edge_weight: f64,
    /// Up to 8 validation images the previews redraw (set from the first validation).
    preview_images: Option<Tensor>,
    /// The latents' standard deviation at the last validation.
    latent_std: Option<f64>,
}

impl AutoencoderTask {
    pub fn new(cfg: &AutoencoderConfig, edge_weight: f64, device: Device) -> Result<Self> {
        crate::device::keep_freed_memory();
        let vs = nn::VarStore::new(device);
        let model = Autoencoder::new(vs.root(), cfg)?;
        Ok(AutoencoderTask {
            vs,
            model,
            edge_weight,
            preview_images: None,
            latent_std: None,
        })
    }
}

impl TrainTask for AutoencoderTask {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn loss(&mut self, batch: &DeviceBatch, _train: bool) -> Tensor {
        let recon = self.model.reconstruct(&batch.images);
        autoencoder::reconstruction_loss(&recon, &batch.images, self.edge_weight)
    }

    fn metric_names(&self) -> Vec<String> {
        vec!["psnr".into(), "latent_std".into()]
    }

    /// The mean loss, the PSNR of the reconstructions in `[0, 1]` pixels, and the latents'
    /// standard deviation.
    fn evaluate(&mut self, batches: &[DeviceBatch]) -> Result<Evaluation> {
        if batches.is_empty() {
            return Err(ModelError::Data(
                "the validation set is empty: the autoencoder needs validation images".into(),
            ));
        }
        let _guard = tch::no_grad_guard();
        let norm = self.model.config().normalize();
        let (mut loss, mut n) = (0.0, 0);
        let (mut originals, mut recons, mut latents) = (Vec::new(), Vec::new(), Vec::new());
        for b in batches {
            let z = self.model.encode(&b.images);
            let recon = self.model.decode(&z);
            loss += autoencoder::reconstruction_loss(&recon, &b.images, self.edge_weight)
                .double_value(&[])
                * b.len() as f64;
            n += b.len();
            originals.push(flow::to_unit_range(&b.images, &norm));
            recons.push(flow::to_unit_range(&recon, &norm));
            latents.push(z.flatten(0, -1));
        }
        let (originals, recons) = (Tensor::cat(&originals, 0), Tensor::cat(&recons, 0));
        let psnr = autoencoder::psnr(&recons, &originals);
        let latent_std = Tensor::cat(&latents, 0).std(true).double_value(&[]);
        self.latent_std = Some(latent_std);
        if self.preview_images.is_none() {
            self.preview_images = Some(batches[0].images.narrow(0, 0, batches[0].len().min(8)));
        }
        Ok(Evaluation {
            val_loss: loss / n as f64,
            metrics: vec![psnr, latent_std],
        })
    }

    fn config_measurements(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        if let Some(s) = self.latent_std {
            out.insert("latent_std".into(), s.into());
        }
        out
    }

    /// Originals on the top row, reconstructions below.
    fn preview(&mut self, step: u64, dir: &Path) -> Result<()> {
        let Some(x) = &self.preview_images else {
            return Ok(());
        };
        let _guard = tch::no_grad_guard();
        let norm = self.model.config().normalize();
        let recon = self.model.reconstruct(x);
        let grid = Tensor::cat(&[x, &recon], 0);
        images::save_grid(
            &flow::to_unit_range(&grid, &norm),
            x.size()[0],
            &dir.join(format!("step-{step:08}.png")),
        )
    }
}

/// Writes the model folder's `config.json` and `model.safetensors` (the EMA weights when
/// given, else the trained ones), without the training-only variables under
/// [`repa::PREFIX`].
pub fn save_model_folder<C: serde::Serialize>(
    dir: &Path,
    config: &C,
    vs: &nn::VarStore,
    ema: Option<&Ema>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
    // Training-only modules (REPA's projector) stay out of the model.
    let keep = |name: &String| !name.starts_with(repa::PREFIX);
    let model: BTreeMap<String, Tensor> = match ema {
        Some(ema) => ema
            .tensors()
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, t)| (name.clone(), t.shallow_clone()))
            .collect(),
        None => vs
            .variables()
            .into_iter()
            .filter(|(name, _)| keep(name))
            .collect(),
    };
    io::save_tensors(&dir.join("model.safetensors"), &model)?;
    io::write_json(&dir.join("config.json"), config)
}

/// A `DitConfig` stamped with the provenance of a finished run (`started`: captured when
/// the run began).
pub fn with_provenance(cfg: &DitConfig, started: &Provenance, steps: u64) -> DitConfig {
    DitConfig {
        provenance: Some(started.finished(steps)),
        ..cfg.clone()
    }
}
