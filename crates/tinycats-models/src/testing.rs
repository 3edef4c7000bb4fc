//! Helpers for parity tests and benchmarks that need weights before any training, and for
//! the integration tests that train.

use std::path::Path;

use tch::{Tensor, nn};

use crate::trainer::{BatchSource, FitSummary, TrainTask, Trainer, TrainerConfig};

/// libtorch's RNG is process-wide and the trainer reseeds it every step: tests that train
/// take this lock so that parallel test threads do not interleave their draws.
pub static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `cfg` without progress lines or previews, and in fp32, so that checks of the trainer's
/// logic hold on every CPU (bf16 results differ between CPU makers; bf16 has its own tests).
pub fn quiet(cfg: TrainerConfig) -> TrainerConfig {
    TrainerConfig {
        log_every: u64::MAX,
        preview_every: None,
        bf16: false,
        ..cfg
    }
}

/// A run for tests that overfit: `steps` optimiser steps at `lr` after `warmup` steps,
/// validated and checkpointed at the end only, without an EMA; quiet and in fp32 ([`quiet`]).
pub fn short_run(steps: u64, lr: f64, warmup: u64) -> TrainerConfig {
    quiet(TrainerConfig {
        max_steps: steps,
        lr,
        warmup_steps: warmup,
        eval_every: steps,
        checkpoint_every: steps,
        ema_decay: None,
        ..Default::default()
    })
}

/// A run that exercises what a resume must restore: warm-up, gradient accumulation and
/// clipping, an EMA, evaluations every 2 steps and checkpoints every 3, seed 11; quiet and in
/// fp32. `stop_at_step` pauses it there.
pub fn resumable_run(max_steps: u64, stop_at_step: Option<u64>) -> TrainerConfig {
    quiet(TrainerConfig {
        max_steps,
        stop_at_step,
        lr: 1e-3,
        warmup_steps: 2,
        accumulate: 2,
        grad_clip: Some(0.5),
        ema_decay: Some(0.9),
        eval_every: 2,
        checkpoint_every: 3,
        seed: 11,
        ..Default::default()
    })
}

/// Trains `task` on the CPU with `cfg` into `run`, from scratch; panics on any error.
pub fn fit(
    cfg: TrainerConfig,
    run: &Path,
    task: &mut dyn TrainTask,
    train: &mut dyn BatchSource,
    val: &mut dyn BatchSource,
) -> FitSummary {
    Trainer::new(cfg, run, tch::Device::Cpu)
        .expect("a valid trainer config")
        .fit(task, train, val, false)
        .expect("the run trains")
        .0
}

/// Column `i` of a run's `metrics.csv` (2: `train_loss`); an empty cell reads as NaN.
pub fn metrics_column(run: &Path, i: usize) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).expect("the run's metrics.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(i)
                .expect("a metrics.csv row has the column")
                .parse()
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// The arithmetic mean.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Replaces every variable of `vs` with small random values (N(0, 0.05²); BatchNorm running
/// variances uniform in [0.5, 1.5) so they stay positive).
///
/// A freshly built TinyDiT outputs exactly zero (adaLN-Zero), so comparing two
/// implementations of it, or timing it, needs weights like these.
pub fn randomise(vs: &nn::VarStore) {
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let r = if name.ends_with("running_var") {
            Tensor::rand_like(&var) + 0.5
        } else {
            Tensor::randn_like(&var) * 0.05
        };
        var.copy_(&r);
    }
}
