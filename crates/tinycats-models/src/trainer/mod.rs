//! The trainer shared by the generator and the classifier: the habits of a Lightning
//! `Trainer` in Rust. A step-based loop with gradient accumulation and clipping, warm-up +
//! cosine learning rate, an EMA of the weights, validation every `eval_every` steps with
//! early stopping on `val_loss`, `metrics.csv`, a progress bar, and atomic checkpoints from
//! which `resume` continues bit for bit.
//!
//! Reproducibility: every optimiser step reseeds libtorch from `(seed, step)`, and batches are
//! addressed by `(epoch, index)`, so the RNG "state" of a checkpoint is just its step.

pub mod checkpoint;
pub mod data;
pub mod early_stopping;
pub mod ema;
pub mod logger;
pub mod optimizer;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};
use tinycats_core::seed::derive;

pub use checkpoint::TrainState;
pub use data::{BatchSource, DeviceBatch, TensorDataset};
pub use early_stopping::EarlyStopping;
pub use ema::Ema;
pub use logger::{CsvLogger, Progress, Row, read_metrics};
pub use optimizer::{AdamW, AdamWConfig};
pub use schedule::WarmupCosine;

use crate::error::{ModelError, Result};

/// Set (e.g. by a Ctrl-C handler) to stop a run after its current step, with a checkpoint.
/// [`Trainer::fit`] clears it when it starts.
pub static STOP_REQUESTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Updates skipped in a row for NaN or infinite gradients before the run stops.
pub const MAX_SKIPPED_IN_A_ROW: u32 = 3;

/// Whether every value of every tensor is finite.
fn all_finite<'a>(tensors: impl IntoIterator<Item = &'a Tensor>) -> bool {
    let _guard = tch::no_grad_guard();
    tensors
        .into_iter()
        .all(|t| t.isfinite().all().int64_value(&[]) == 1)
}

/// Settings of a training run (the `[trainer]` table of a run's TOML config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainerConfig {
    /// Optimiser steps of the whole run (the cosine schedule ends here).
    pub max_steps: u64,
    /// Stop after this step with a checkpoint, without changing the schedule (to split a
    /// run across sessions; continue it with `resume`).
    pub stop_at_step: Option<u64>,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine.
    pub min_lr: f64,
    /// Linear warm-up steps.
    pub warmup_steps: u64,
    pub optimizer: AdamWConfig,
    /// Clip the global gradient norm to this value.
    pub grad_clip: Option<f64>,
    /// Micro-batches per optimiser step.
    pub accumulate: u32,
    /// EMA decay (`None`: no EMA).
    pub ema_decay: Option<f64>,
    /// Validate every this many steps (and at the end).
    pub eval_every: u64,
    /// Validation batches per evaluation (`None`: the whole validation set).
    pub eval_batches: Option<usize>,
    /// Early-stopping patience in evaluations (0 disables it).
    pub patience: u32,
    /// Smallest `val_loss` decrease that counts as an improvement.
    pub min_delta: f64,
    /// Keep the weights of the best evaluation (the lowest `val_loss` that counted as an
    /// improvement) in `best/model.safetensors` of the run folder, and end the run with
    /// them rather than with the last step's. Needs `ema_decay = None`: it is the trained
    /// weights that are evaluated.
    pub restore_best: bool,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Checkpoints kept on disk.
    pub keep_checkpoints: usize,
    /// Plain progress lines every this many steps (when not on a terminal).
    pub log_every: u64,
    /// Previews every this many steps and at the end, drawn with the EMA weights when the
    /// run keeps an average (generator samples, autoencoder reconstructions; `None`: never).
    pub preview_every: Option<u64>,
    /// The run's seed.
    pub seed: u64,
    /// bf16 mixed precision where the hardware computes bf16: CUDA, or a CPU with AMX or
    /// AVX-512 BF16 ([`crate::device::training_precision`]); elsewhere the run stays fp32
    /// and says so. bf16 results differ between CPU makers: runs that must match everywhere
    /// (the book's) set it to `false`.
    pub bf16: bool,
    /// Train only the variables whose names start with one of these prefixes (for example
    /// `["final_conv."]`); the others keep their values and the optimiser never sees them.
    /// Empty (the default): every trainable variable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub train_only: Vec<String>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            max_steps: 2000,
            stop_at_step: None,
            lr: 3e-4,
            min_lr: 1e-5,
            warmup_steps: 100,
            optimizer: AdamWConfig::default(),
            grad_clip: Some(1.0),
            accumulate: 1,
            ema_decay: Some(0.999),
            eval_every: 200,
            eval_batches: None,
            patience: 10,
            min_delta: 0.0,
            restore_best: false,
            checkpoint_every: 500,
            keep_checkpoints: 2,
            log_every: 50,
            preview_every: Some(500),
            seed: 0,
            bf16: true,
            train_only: Vec::new(),
        }
    }
}

impl TrainerConfig {
    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let positive = |field: &str, v: u64| {
            if v == 0 {
                Err(ModelError::invalid(field, v, "at least 1"))
            } else {
                Ok(())
            }
        };
        positive("max_steps", self.max_steps)?;
        positive("eval_every", self.eval_every)?;
        positive("checkpoint_every", self.checkpoint_every)?;
        positive("accumulate", u64::from(self.accumulate))?;
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(ModelError::invalid("lr", self.lr, "in (0, 1)"));
        }
        if !(self.min_lr >= 0.0 && self.min_lr <= self.lr) {
            return Err(ModelError::invalid(
                "min_lr",
                self.min_lr,
                &format!("in [0, lr = {}]", self.lr),
            ));
        }
        if self.warmup_steps > self.max_steps {
            return Err(ModelError::invalid(
                "warmup_steps",
                self.warmup_steps,
                &format!("at most max_steps = {}", self.max_steps),
            ));
        }
        if let Some(d) = self.ema_decay
            && !(0.0..1.0).contains(&d)
        {
            return Err(ModelError::invalid("ema_decay", d, "in [0, 1)"));
        }
        if self.restore_best && self.ema_decay.is_some() {
            return Err(ModelError::invalid(
                "restore_best",
                true,
                "false while ema_decay is set (the run ends with the EMA weights, which are \
                 not the ones evaluated); drop ema_decay or set restore_best = false",
            ));
        }
        if let Some(c) = self.grad_clip
            && (c.is_nan() || c <= 0.0)
        {
            return Err(ModelError::invalid("grad_clip", c, "greater than 0"));
        }
        let o = &self.optimizer;
        for (field, v) in [("optimizer.beta1", o.beta1), ("optimizer.beta2", o.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(ModelError::invalid(field, v, "in [0, 1)"));
            }
        }
        if !(o.weight_decay >= 0.0 && o.weight_decay < 1.0) {
            return Err(ModelError::invalid(
                "optimizer.weight_decay",
                o.weight_decay,
                "in [0, 1)",
            ));
        }
        // An infinite min_delta would make every evaluation "no improvement" and be written
        // into the checkpoints' state.json as a value JSON cannot hold.
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(ModelError::invalid(
                "min_delta",
                self.min_delta,
                "a finite number, at least 0",
            ));
        }
        if let Some(p) = self.train_only.iter().find(|p| p.is_empty()) {
            return Err(ModelError::invalid(
                "train_only",
                format!("{p:?}"),
                "prefixes of variable names, none empty (leave train_only out to train all)",
            ));
        }
        if self.eval_batches == Some(0) {
            return Err(ModelError::invalid(
                "eval_batches",
                0,
                "at least 1 (leave it out to validate on the whole validation set)",
            ));
        }
        Ok(())
    }
}

/// Validation results: the monitored loss and the task's extra metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub val_loss: f64,
    /// In the order of [`TrainTask::metric_names`].
    pub metrics: Vec<f64>,
}

/// What the trainer needs from a model.
pub trait TrainTask {
    /// The weights being trained.
    fn var_store(&self) -> &nn::VarStore;
    /// Called before each optimiser step with the number of steps completed (for losses that
    /// change over a run, such as REPA's `until_step`).
    fn begin_step(&mut self, _completed: u64) {}
    /// The scalar training loss of one micro-batch (`train = true`: dropout, label dropout,
    /// BatchNorm statistics updates).
    fn loss(&mut self, batch: &DeviceBatch, train: bool) -> Tensor;
    /// Names of the extra validation metrics (columns `val_<name>` of `metrics.csv`).
    fn metric_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Names of metrics measured on the training batches as they pass (columns
    /// `train_<name>` of `metrics.csv`).
    fn train_metric_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The training metrics of the batches since the last call (one optimiser step's), in
    /// the order of [`TrainTask::train_metric_names`].
    fn take_train_metrics(&mut self) -> Vec<f64> {
        Vec::new()
    }
    /// Validates on `batches`; the default is the mean loss with `train = false`.
    fn evaluate(&mut self, batches: &[DeviceBatch]) -> Result<Evaluation> {
        let _guard = tch::no_grad_guard();
        let mut total = 0.0;
        let mut count = 0;
        for b in batches {
            total += self.loss(b, false).double_value(&[]) * b.len() as f64;
            count += b.len();
        }
        Ok(Evaluation {
            val_loss: total / count.max(1) as f64,
            metrics: Vec::new(),
        })
    }
    /// Values measured at the last evaluation that belong in the finished model's
    /// `config.json` (the autoencoder's `latent_std`); merged into it when the run is saved.
    fn config_measurements(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Writes preview samples for `step` into `dir` (called with the EMA weights loaded when
    /// the run keeps an average).
    fn preview(&mut self, _step: u64, _dir: &Path) -> Result<()> {
        Ok(())
    }
    /// Whether the model can compute in bf16 ([`TrainTask::set_compute_kind`]); the
    /// default is f32 only.
    fn has_bf16_path(&self) -> bool {
        false
    }
    /// Sets the activation precision (`Kind::BFloat16` under mixed precision).
    fn set_compute_kind(&mut self, _kind: Kind) {}
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSummary {
    /// Optimiser steps completed.
    pub steps: u64,
    /// The early-stopping reference: the lowest `val_loss` that counted as an improvement
    /// (with `min_delta` > 0, a later, slightly lower one may not have).
    pub best_val_loss: Option<f64>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The step whose evaluation set `best_val_loss`.
    pub best_step: Option<u64>,
    /// Whether the run ended with the best evaluation's weights (`restore_best`) rather
    /// than the last step's.
    pub restored_best: bool,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
    /// Steps whose update was skipped because a gradient was NaN or infinite.
    pub skipped_steps: u64,
    /// The precision the run computed in.
    pub precision: crate::device::Precision,
}

/// Runs training for a task, writing into a run folder.
#[derive(Debug)]
pub struct Trainer {
    cfg: TrainerConfig,
    run_dir: PathBuf,
    device: Device,
}

const STEP_SEED_STREAM: u64 = 0x7E57_5EED;
const VAL_SEED_STREAM: u64 = 0x0000_0FA1;

impl Trainer {
    /// A trainer writing into `run_dir` (created if needed).
    pub fn new(cfg: TrainerConfig, run_dir: &Path, device: Device) -> Result<Self> {
        cfg.validate()?;
        std::fs::create_dir_all(run_dir).map_err(ModelError::io(run_dir))?;
        crate::device::keep_freed_memory();
        Ok(Trainer {
            cfg,
            run_dir: run_dir.to_path_buf(),
            device,
        })
    }

    pub fn config(&self) -> &TrainerConfig {
        &self.cfg
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    fn checkpoint_dir(&self) -> PathBuf {
        self.run_dir.join("checkpoints")
    }

    /// Trains `task` on `train`, validating on `val`. With `resume`, continues from the
    /// newest checkpoint of the run folder. Returns the EMA (when kept) for the final export.
    pub fn fit(
        &self,
        task: &mut dyn TrainTask,
        train: &mut dyn BatchSource,
        val: &mut dyn BatchSource,
        resume: bool,
    ) -> Result<(FitSummary, Option<Ema>)> {
        let cfg = &self.cfg;
        if train.batches_per_epoch() == 0 {
            return Err(ModelError::Data(
                "the training set yields no batch: lower batch_size or add images".into(),
            ));
        }
        let precision = if task.has_bf16_path() {
            crate::device::training_precision(self.device, cfg.bf16)
        } else {
            crate::device::Precision {
                bf16: false,
                reason: "fp32 (this model has no bf16 path)".into(),
            }
        };
        if precision.bf16 {
            task.set_compute_kind(Kind::BFloat16);
        }
        let vs_vars: BTreeMap<String, Tensor> = task.var_store().variables().into_iter().collect();
        let frozen = Frozen::only(&vs_vars, &cfg.train_only)?;
        let mut opt = AdamW::new(task.var_store(), cfg.optimizer);
        let mut ema = cfg.ema_decay.map(|d| Ema::new(task.var_store(), d));
        let mut state = TrainState {
            step: 0,
            epoch: 0,
            batch_index: 0,
            seed: cfg.seed,
            ema_updates: ema.as_ref().map(|_| 0),
            early_stopping: EarlyStopping::new(cfg.patience, cfg.min_delta),
            skipped_steps: 0,
        };
        let mut last_checkpoint = None;
        if resume {
            let ck = checkpoint::load_latest(&self.checkpoint_dir())?;
            if ck.state.step > cfg.max_steps {
                return Err(ModelError::invalid(
                    "max_steps",
                    cfg.max_steps,
                    &format!(
                        "at least {}, the step of the checkpoint being resumed ({}); raise \
                         max_steps to train it further",
                        ck.state.step,
                        ck.dir.display()
                    ),
                ));
            }
            let model_path = ck.dir.join("model.safetensors");
            crate::io::copy_into_var_store(task.var_store(), &ck.model, &model_path)?;
            opt.restore(
                &ck.optimizer,
                ck.state.step,
                &ck.dir.join("optimizer.safetensors"),
            )?;
            if let (Some(ema), Some(tensors)) = (ema.as_mut(), ck.ema.as_ref()) {
                check_same_names(&vs_vars, tensors, &ck.dir.join("ema.safetensors"))?;
                ema.restore(tensors, ck.state.ema_updates.unwrap_or(ck.state.step));
            }
            // The seed decides the data order and every random draw of the run: a resume with
            // another one would silently continue a different run.
            if ck.state.seed != cfg.seed {
                return Err(ModelError::invalid(
                    "seed",
                    cfg.seed,
                    &format!(
                        "{}, the seed of the run being resumed ({}); resume with that seed, \
                         or start a new run",
                        ck.state.seed,
                        ck.dir.display()
                    ),
                ));
            }
            state = ck.state;
            // Patience and min_delta may change on resume; the best value carries over.
            state.early_stopping.patience = cfg.patience;
            state.early_stopping.min_delta = cfg.min_delta;
            last_checkpoint = Some(ck.dir);
        }
        let val_batches = self.validation_batches(val)?;
        let mut logger = CsvLogger::open(
            &self.run_dir.join("metrics.csv"),
            &task.metric_names(),
            &task.train_metric_names(),
            resume.then_some(state.step),
        )?;
        let schedule = WarmupCosine {
            lr: cfg.lr,
            min_lr: cfg.min_lr,
            warmup_steps: cfg.warmup_steps,
            total_steps: cfg.max_steps,
        };
        let end = cfg
            .stop_at_step
            .map_or(cfg.max_steps, |s| s.min(cfg.max_steps));
        let progress = Progress::new(cfg.max_steps, state.step, cfg.log_every);
        // Said only when bf16 was asked for a model that has it: whether the hardware gives
        // it is news.
        if cfg.bf16 && task.has_bf16_path() {
            progress.println(&format!("precision: {}", precision.reason));
        }
        if !cfg.train_only.is_empty() {
            let numel = |v: &Tensor| v.numel() as u64;
            let trained: u64 = vs_vars
                .values()
                .filter(|v| v.requires_grad())
                .map(numel)
                .sum();
            progress.println(&format!(
                "training only {}: {trained} parameters; {} kept as they are",
                cfg.train_only.join(", "),
                frozen.parameters()
            ));
        }
        let mut stopped_early = false;
        let mut skipped_in_a_row = 0u32;
        STOP_REQUESTED.store(false, std::sync::atomic::Ordering::SeqCst);
        let last_good = |c: &Option<PathBuf>| {
            c.as_ref().map_or_else(
                || "none (no checkpoint was written yet)".to_string(),
                |p| p.display().to_string(),
            )
        };

        while state.step < end {
            let started = Instant::now();
            tch::manual_seed(derive(state.seed ^ STEP_SEED_STREAM, &[state.step]) as i64);
            task.begin_step(state.step);
            opt.zero_grad();
            let mut loss_sum = 0.0;
            let mut images = 0;
            for _ in 0..cfg.accumulate {
                let batch = train
                    .batch(state.epoch, state.batch_index)?
                    .to_device(self.device);
                state.batch_index += 1;
                if state.batch_index >= train.batches_per_epoch() {
                    state.batch_index = 0;
                    state.epoch += 1;
                }
                let loss = task.loss(&batch, true);
                let value = loss.double_value(&[]);
                if !value.is_finite() {
                    progress.finish();
                    return Err(ModelError::NonFiniteLoss {
                        step: state.step + 1,
                        value,
                        checkpoint: last_good(&last_checkpoint),
                    });
                }
                (loss / f64::from(cfg.accumulate)).backward();
                loss_sum += value;
                images += batch.len();
            }
            let norm = match cfg.grad_clip {
                Some(max) => opt.clip_grad_norm(max),
                None => opt.grad_norm(),
            };
            let lr = schedule.lr_at(state.step);
            if norm.is_finite() {
                skipped_in_a_row = 0;
                opt.step(lr);
                if let Some(ema) = ema.as_mut() {
                    ema.update(task.var_store());
                    state.ema_updates = Some(ema.updates());
                }
            } else {
                // A finite loss can still have a NaN or infinite gradient; stepping on it
                // would poison the weights, the moments and the EMA.
                skipped_in_a_row += 1;
                state.skipped_steps += 1;
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW {
                    progress.finish();
                    return Err(ModelError::NonFiniteGradient {
                        step: state.step + 1,
                        in_a_row: skipped_in_a_row,
                        checkpoint: last_good(&last_checkpoint),
                    });
                }
                progress.println(&format!(
                    "step {}: the gradient norm is {norm}; this update is skipped ({skipped_in_a_row} in a row; {MAX_SKIPPED_IN_A_ROW} stop the run)",
                    state.step + 1
                ));
            }
            state.step += 1;
            let mut row = Row {
                step: state.step,
                epoch: state.epoch,
                train_loss: loss_sum / f64::from(cfg.accumulate),
                lr,
                images_per_s: images as f64 / started.elapsed().as_secs_f64(),
                train_metrics: task.take_train_metrics(),
                ..Default::default()
            };
            // The true end validates and previews; a pause (`stop_at_step`) only checkpoints,
            // so that a paused-and-resumed run logs exactly what an uninterrupted one does.
            let last = state.step == cfg.max_steps;
            let interrupted = STOP_REQUESTED.load(std::sync::atomic::Ordering::SeqCst);
            let pause = state.step == end || interrupted;
            if state.step.is_multiple_of(cfg.eval_every) || last {
                tch::manual_seed(derive(state.seed ^ VAL_SEED_STREAM, &[]) as i64);
                let eval = task.evaluate(&val_batches)?;
                row.val_loss = Some(eval.val_loss);
                row.val_metrics = eval.metrics;
                let best_before = state.early_stopping.best;
                stopped_early = state.early_stopping.observe(eval.val_loss);
                if state.early_stopping.best != best_before {
                    state.early_stopping.best_step = Some(state.step);
                    if cfg.restore_best {
                        let path = self.best_path();
                        let dir = path.parent().unwrap_or(&self.run_dir);
                        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
                        let model = task.var_store().variables().into_iter().collect();
                        crate::io::save_tensors(&path, &model)?;
                    }
                }
            }
            logger.log(&row)?;
            progress.update(&row);
            if let Some(every) = cfg.preview_every
                && (state.step.is_multiple_of(every) || last)
            {
                let dir = self.run_dir.join("samples");
                std::fs::create_dir_all(&dir).map_err(ModelError::io(&dir))?;
                match ema.as_ref() {
                    Some(ema) => {
                        let mut vars = task.var_store().variables();
                        ema.with_weights(&mut vars, || task.preview(state.step, &dir))?;
                    }
                    None => task.preview(state.step, &dir)?,
                }
            }
            if state.step.is_multiple_of(cfg.checkpoint_every) || pause || stopped_early {
                let model: BTreeMap<String, Tensor> =
                    task.var_store().variables().into_iter().collect();
                if !all_finite(model.values()) {
                    progress.finish();
                    return Err(ModelError::NonFiniteWeights {
                        step: state.step,
                        checkpoint: last_good(&last_checkpoint),
                    });
                }
                last_checkpoint = Some(checkpoint::save(
                    &self.checkpoint_dir(),
                    &state,
                    &model,
                    ema.as_ref().map(|e| e.tensors()),
                    &opt.state(),
                    cfg.keep_checkpoints,
                )?);
            }
            if interrupted && !last && !stopped_early {
                progress.finish();
                return Err(ModelError::Interrupted {
                    step: state.step,
                    checkpoint: last_good(&last_checkpoint),
                });
            }
            if stopped_early {
                progress.println(&format!(
                    "early stopping at step {}: val_loss has not improved on {:.5} for {} evaluations",
                    state.step,
                    state.early_stopping.best.unwrap_or(f64::NAN),
                    cfg.patience
                ));
                break;
            }
        }
        let best_step = state.early_stopping.best_step;
        let mut restored_best = false;
        if cfg.restore_best
            && let Some(best) = best_step
            && best != state.step
        {
            crate::io::load_var_store(task.var_store(), &self.best_path())?;
            restored_best = true;
            progress.println(&format!(
                "restored the weights of step {best} (val_loss {:.5}) from {}",
                state.early_stopping.best.unwrap_or(f64::NAN),
                self.best_path().display()
            ));
        }
        progress.finish();
        let summary = FitSummary {
            steps: state.step,
            best_val_loss: state.early_stopping.best,
            stopped_early,
            best_step,
            restored_best,
            checkpoint: last_checkpoint,
            skipped_steps: state.skipped_steps,
            precision,
        };
        Ok((summary, ema))
    }

    /// Where `restore_best` keeps the best evaluation's weights.
    pub fn best_path(&self) -> PathBuf {
        self.run_dir.join("best").join("model.safetensors")
    }

    fn validation_batches(&self, val: &mut dyn BatchSource) -> Result<Vec<DeviceBatch>> {
        let n = self
            .cfg
            .eval_batches
            .map_or(val.batches_per_epoch(), |k| k.min(val.batches_per_epoch()));
        (0..n)
            .map(|i| Ok(val.batch(0, i)?.to_device(self.device)))
            .collect()
    }
}

fn check_same_names(
    vars: &BTreeMap<String, Tensor>,
    tensors: &BTreeMap<String, Tensor>,
    path: &Path,
) -> Result<()> {
    for (name, v) in vars {
        match tensors.get(name) {
            None => {
                return Err(ModelError::MissingTensor {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    expected: v.size(),
                });
            }
            Some(t) if t.size() != v.size() => {
                return Err(ModelError::ShapeMismatch {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    found: t.size(),
                    expected: v.size(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The variables [`TrainerConfig::train_only`] froze for one run; they are trainable again
/// when it ends (however it ends), so a later run on the same model trains them.
struct Frozen(Vec<Tensor>);

impl Frozen {
    /// Freezes every trainable variable whose name starts with none of `prefixes` (nothing
    /// when `prefixes` is empty). A prefix that matches no trainable variable is an error
    /// that lists the model's top-level names.
    fn only(vars: &BTreeMap<String, Tensor>, prefixes: &[String]) -> Result<Frozen> {
        if prefixes.is_empty() {
            return Ok(Frozen(Vec::new()));
        }
        let trainable = |name: &str| prefixes.iter().any(|p| name.starts_with(p.as_str()));
        for p in prefixes {
            if !vars
                .iter()
                .any(|(n, v)| n.starts_with(p.as_str()) && v.requires_grad())
            {
                let mut tops: Vec<&str> = vars
                    .keys()
                    .map(|n| n.split('.').next().unwrap_or(n))
                    .collect();
                tops.dedup();
                return Err(ModelError::invalid(
                    "train_only",
                    format!("{p:?}"),
                    &format!(
                        "a prefix of the model's trainable variable names (it has: {}.)",
                        tops.join(", ")
                    ),
                ));
            }
        }
        let mut frozen = Vec::new();
        for (name, v) in vars {
            if v.requires_grad() && !trainable(name) {
                let _ = v.shallow_clone().set_requires_grad(false);
                frozen.push(v.shallow_clone());
            }
        }
        Ok(Frozen(frozen))
    }

    /// How many numbers the frozen variables hold.
    fn parameters(&self) -> u64 {
        self.0.iter().map(|v| v.numel() as u64).sum()
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for v in &self.0 {
            let _ = v.shallow_clone().set_requires_grad(true);
        }
    }
}
