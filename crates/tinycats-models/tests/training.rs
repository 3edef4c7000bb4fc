//! End-to-end checks of the trainer on tiny models: each model overfits one batch, and a run
//! paused at a checkpoint and resumed logs exactly what an uninterrupted run logs.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tinycats_models::autoencoder::AutoencoderConfig;
use tinycats_models::classifier::ClassifierConfig;
use tinycats_models::dit::DitConfig;
use tinycats_models::flow::TimeSampling;
use tinycats_models::io;
use tinycats_models::tasks::{AutoencoderTask, ClassifierTask, GeneratorTask};
use tinycats_models::testing::{
    TORCH_RNG, fit, mean, metrics_column, quiet, resumable_run, short_run,
};
use tinycats_models::trainer::{TensorDataset, TrainTask, Trainer, TrainerConfig, read_metrics};

fn dataset(n: i64, size: i64, seed: i64, batch: usize) -> TensorDataset {
    tch::manual_seed(seed);
    let images = Tensor::rand([n, 3, size, size], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let labels = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(13);
    TensorDataset::new(images, labels, batch, true, seed as u64, true)
}

/// `train_loss` column of a metrics.csv.
fn train_losses(run: &Path) -> Vec<f64> {
    metrics_column(run, 2)
}

/// A one-stage, 8-channel classifier on 16 px images: the smallest model that trains.
fn tiny_classifier() -> ClassifierConfig {
    ClassifierConfig {
        image_size: 16,
        widths: vec![8],
        blocks_per_stage: vec![1],
        ..ClassifierConfig::tiny()
    }
}

#[test]
fn generator_overfits_a_single_batch() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Four images with distinct labels and no label dropout: an x-prediction model can
    // memorise x₁ from the label, after which the velocity loss only keeps the t > 1 − t_eps
    // tail. Criterion: the mean of the last 10 losses is below 10 % of the first 5.
    let cfg = DitConfig {
        class_dropout_prob: 0.0,
        hidden_size: 64,
        ..DitConfig::micro()
    };
    let mut task = GeneratorTask::new(&cfg, TimeSampling::default(), Device::Cpu).unwrap();
    let mut data = dataset(4, 16, 1, 4);
    let mut val = dataset(4, 16, 1, 4);
    let run = tempfile::tempdir().unwrap();
    let tc = TrainerConfig {
        min_lr: 1e-4,
        ..short_run(400, 3e-3, 20)
    };
    fit(tc, run.path(), &mut task, &mut data, &mut val);
    let losses = train_losses(run.path());
    let (start, end) = (mean(&losses[..5]), mean(&losses[losses.len() - 10..]));
    eprintln!("generator loss {start} -> {end}");
    assert!(end < 0.1 * start, "loss went from {start} to {end}");
}

#[test]
fn autoencoder_learns_to_redraw_smooth_images_and_records_its_latent_scale() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Smooth images (4 × 4 noise upsampled to 16 px) carry no more detail than a 4 × 4
    // latent grid of 4 channels can hold.
    tch::manual_seed(3);
    let coarse = Tensor::rand([16, 3, 4, 4], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let images = coarse.upsample_bilinear2d([16, 16], false, None, None);
    let labels = Tensor::zeros([16], (Kind::Int64, Device::Cpu));
    let mut data = TensorDataset::new(
        images.shallow_clone(),
        labels.shallow_clone(),
        8,
        true,
        0,
        true,
    );
    let mut val = TensorDataset::new(images, labels, 8, false, 0, false);
    let cfg = AutoencoderConfig {
        input_size: 16,
        widths: vec![16, 16, 16],
        ..AutoencoderConfig::default()
    };
    let mut task = AutoencoderTask::new(&cfg, 1.0, Device::Cpu).unwrap();
    let run = tempfile::tempdir().unwrap();
    fit(
        short_run(400, 3e-3, 10),
        run.path(),
        &mut task,
        &mut data,
        &mut val,
    );
    let losses = train_losses(run.path());
    let (start, end) = (losses[0], mean(&losses[losses.len() - 10..]));
    assert!(end < 0.25 * start, "loss went from {start} to {end}");
    let rows = read_metrics(&run.path().join("metrics.csv")).unwrap();
    let last = rows.last().unwrap();
    let (psnr, latent_std) = (last.val_metrics[0], last.val_metrics[1]);
    assert!(psnr > 25.0, "PSNR {psnr} dB");
    assert!(latent_std > 0.0, "{latent_std}");
    use tinycats_models::trainer::TrainTask;
    assert_eq!(
        task.config_measurements()["latent_std"].as_f64(),
        Some(latent_std)
    );
}

#[test]
fn classifier_overfits_a_single_batch() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = ClassifierConfig {
        image_size: 16,
        widths: vec![8, 16],
        blocks_per_stage: vec![1, 1],
        ..ClassifierConfig::tiny()
    };
    let mut task = ClassifierTask::new(&cfg, 0.0, Device::Cpu).unwrap();
    let mut data = dataset(8, 16, 2, 8);
    let mut val = dataset(8, 16, 2, 8);
    let run = tempfile::tempdir().unwrap();
    fit(
        short_run(60, 1e-2, 0),
        run.path(),
        &mut task,
        &mut data,
        &mut val,
    );
    let losses = train_losses(run.path());
    let (start, end) = (losses[0], mean(&losses[losses.len() - 5..]));
    assert!(end < 0.1 * start, "loss went from {start} to {end}");
    // Validation (eval-mode BatchNorm) on the memorised batch: top-1 = 1.
    let top1 = metrics_column(run.path(), 4);
    assert_eq!(*top1.last().unwrap(), 1.0);
    // Training accuracy, logged at every step: a fraction of the 8 images, from chance
    // at the start to all of them once the batch is memorised.
    let rows = read_metrics(&run.path().join("metrics.csv")).unwrap();
    let train_top1: Vec<f64> = rows.iter().map(|r| r.train_metrics[0]).collect();
    assert_eq!(train_top1.len(), 60);
    assert!(
        train_top1
            .iter()
            .all(|a| (a * 8.0).fract() == 0.0 && (0.0..=1.0).contains(a))
    );
    assert!(train_top1[0] < 0.5, "{train_top1:?}");
    assert_eq!(train_top1[55..], [1.0; 5]);
}

fn resume_config(stop_at_step: Option<u64>) -> TrainerConfig {
    resumable_run(8, stop_at_step)
}

fn run_generator(run: &Path, cfg: TrainerConfig, resume: bool) -> GeneratorTask {
    tch::manual_seed(0);
    let mut task =
        GeneratorTask::new(&DitConfig::micro(), TimeSampling::default(), Device::Cpu).unwrap();
    let mut data = dataset(10, 16, 3, 3); // 3 batches per epoch: steps cross epochs
    let mut val = dataset(6, 16, 4, 3);
    let (_, ema) = Trainer::new(cfg, run, Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, resume)
        .unwrap();
    io::save_tensors(&run.join("ema.safetensors"), ema.unwrap().tensors()).unwrap();
    task
}

#[test]
fn a_resumed_run_equals_the_uninterrupted_run() {
    resume_is_bit_exact(false);
}

/// The same in bf16 mixed precision, where this CPU has a bf16 unit (elsewhere the run is
/// fp32 and the check repeats the one above).
#[test]
fn a_resumed_bf16_run_equals_the_uninterrupted_run() {
    resume_is_bit_exact(true);
}

fn resume_is_bit_exact(bf16: bool) {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Bit-exact: the same ops run on the same data with the same seeds, and the checkpoint
    // restores weights, AdamW moments, EMA, data position and early-stopping state exactly.
    let config = |stop| TrainerConfig {
        bf16,
        ..resume_config(stop)
    };
    let whole = tempfile::tempdir().unwrap();
    let full = run_generator(whole.path(), config(None), false);

    let split = tempfile::tempdir().unwrap();
    drop(run_generator(split.path(), config(Some(5)), false));
    let resumed = run_generator(split.path(), config(None), true);

    for col in [0, 1, 2, 3, 4] {
        let (a, b) = (
            metrics_column(whole.path(), col),
            metrics_column(split.path(), col),
        );
        assert_eq!(a.len(), 8);
        let same = a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
        assert!(same && a.len() == b.len(), "column {col}: {a:?} vs {b:?}");
    }
    let (wa, wb) = (full.vs.variables(), resumed.vs.variables());
    for (name, t) in &wa {
        assert!(t.equal(&wb[name]), "weights `{name}` differ");
    }
    let ea = io::load_tensors(&whole.path().join("ema.safetensors")).unwrap();
    let eb = io::load_tensors(&split.path().join("ema.safetensors")).unwrap();
    for (name, t) in &ea {
        assert!(t.equal(&eb[name]), "EMA `{name}` differs");
    }
}

/// Wraps a task and turns the loss of call `nan_at` into NaN.
struct NanAt {
    inner: ClassifierTask,
    calls: usize,
    nan_at: usize,
}

impl TrainTask for NanAt {
    fn var_store(&self) -> &tch::nn::VarStore {
        &self.inner.vs
    }

    fn loss(&mut self, batch: &tinycats_models::trainer::DeviceBatch, train: bool) -> Tensor {
        let loss = self.inner.loss(batch, train);
        if train {
            self.calls += 1;
            if self.calls == self.nan_at {
                return loss * f64::NAN;
            }
        }
        loss
    }
}

#[test]
fn a_non_finite_loss_stops_the_run_and_names_the_last_good_checkpoint() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = tiny_classifier();
    let inner = ClassifierTask::new(&cfg, 0.0, Device::Cpu).unwrap();
    let mut task = NanAt {
        inner,
        calls: 0,
        nan_at: 4,
    };
    let (mut data, mut val) = (dataset(8, 16, 5, 4), dataset(4, 16, 6, 4));
    let run = tempfile::tempdir().unwrap();
    let tc = quiet(TrainerConfig {
        max_steps: 10,
        warmup_steps: 0,
        checkpoint_every: 2,
        eval_every: 10,
        ..Default::default()
    });
    let err = Trainer::new(tc, run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("became NaN at step 4") && err.contains("step-00000002"),
        "{err}"
    );
    assert!(
        run.path()
            .join("checkpoints/step-00000002/model.safetensors")
            .exists()
    );
    // The weights in memory were never touched by the NaN step.
    let finite = task
        .var_store()
        .variables()
        .values()
        .all(|t| t.isfinite().all().int64_value(&[]) == 1);
    assert!(finite);
}

/// Wraps a task and gives the loss of the calls in `at` a NaN gradient while the loss itself
/// stays finite: `sqrt(|w − w|)` is 0, and its derivative at 0 is `inf · 0`.
struct NanGradAt {
    inner: ClassifierTask,
    calls: usize,
    at: Vec<usize>,
}

impl TrainTask for NanGradAt {
    fn var_store(&self) -> &tch::nn::VarStore {
        &self.inner.vs
    }

    fn loss(&mut self, batch: &tinycats_models::trainer::DeviceBatch, train: bool) -> Tensor {
        let loss = self.inner.loss(batch, train);
        if train {
            self.calls += 1;
            if self.at.contains(&self.calls) {
                let w = self.inner.vs.trainable_variables()[0].shallow_clone();
                return loss + (&w - w.detach()).abs().sqrt().sum(Kind::Float);
            }
        }
        loss
    }
}

fn nan_grad_run(at: Vec<usize>) -> (NanGradAt, tempfile::TempDir, tinycats_models::Result<u64>) {
    let cfg = tiny_classifier();
    let inner = ClassifierTask::new(&cfg, 0.0, Device::Cpu).unwrap();
    let mut task = NanGradAt {
        inner,
        calls: 0,
        at,
    };
    let (mut data, mut val) = (dataset(8, 16, 5, 4), dataset(4, 16, 6, 4));
    let run = tempfile::tempdir().unwrap();
    let tc = quiet(TrainerConfig {
        max_steps: 8,
        warmup_steps: 0,
        checkpoint_every: 2,
        eval_every: 8,
        ..Default::default()
    });
    let result = Trainer::new(tc, run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, false)
        .map(|(summary, ema)| {
            let ema = ema.expect("the default config keeps an EMA");
            assert!(
                ema.tensors()
                    .values()
                    .all(|t| t.isfinite().all().int64_value(&[]) == 1)
            );
            summary.skipped_steps
        });
    (task, run, result)
}

fn weights_finite(task: &NanGradAt) -> bool {
    task.var_store()
        .variables()
        .values()
        .all(|t| t.isfinite().all().int64_value(&[]) == 1)
}

#[test]
fn a_non_finite_gradient_skips_its_step_and_the_run_goes_on() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let (task, run, result) = nan_grad_run(vec![3]);
    assert_eq!(result.unwrap(), 1, "one update skipped");
    assert!(weights_finite(&task));
    assert!(
        run.path()
            .join("checkpoints/step-00000008/model.safetensors")
            .exists()
    );
}

#[test]
fn non_finite_gradients_in_a_row_stop_the_run_at_the_last_good_checkpoint() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let (task, run, result) = nan_grad_run(vec![3, 4, 5]);
    let err = result.unwrap_err().to_string();
    // Steps 3 and 4 were skipped, so the checkpoint of step 4 holds step 2's weights.
    assert!(
        err.contains("for 3 steps in a row (up to step 5)") && err.contains("step-00000004"),
        "{err}"
    );
    assert!(
        weights_finite(&task),
        "no update was made from a NaN gradient"
    );
    let load = |step: &str| {
        io::load_tensors(
            &run.path()
                .join(format!("checkpoints/{step}/model.safetensors")),
        )
        .unwrap()
    };
    let (two, four) = (load("step-00000002"), load("step-00000004"));
    // (BatchNorm's running statistics move in every forward pass; they are not updates.)
    for (name, t) in two
        .iter()
        .filter(|(n, _)| !n.contains("running_") && !n.contains("num_batches"))
    {
        assert!(
            t.equal(&four[name]),
            "`{name}` changed during skipped steps"
        );
    }
    assert!(!run.path().join("checkpoints/step-00000006").exists());
}

/// A 4-step classifier run with `seed` into `run`, stopped at step 2; its step count.
fn fit_to_step_2(run: &Path, seed: u64, resume: bool) -> tinycats_models::Result<u64> {
    let mut task = ClassifierTask::new(&tiny_classifier(), 0.0, Device::Cpu).unwrap();
    let (mut data, mut val) = (dataset(8, 16, 5, 4), dataset(4, 16, 6, 4));
    let tc = quiet(TrainerConfig {
        max_steps: 4,
        stop_at_step: Some(2),
        warmup_steps: 0,
        eval_every: 4,
        seed,
        ..Default::default()
    });
    Trainer::new(tc, run, Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, resume)
        .map(|(s, _)| s.steps)
}

#[test]
fn a_resume_with_another_seed_is_refused() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let run = tempfile::tempdir().unwrap();
    let fit = |seed: u64, resume: bool| fit_to_step_2(run.path(), seed, resume);
    assert_eq!(fit(7, false).unwrap(), 2);
    let err = fit(8, true).unwrap_err().to_string();
    assert!(
        err.contains("`seed` = 8") && err.contains("7, the seed of the run being resumed"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_past_the_runs_end_is_refused_not_called_finished() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let run = tempfile::tempdir().unwrap();
    let fit = |resume: bool| fit_to_step_2(run.path(), 0, resume);
    assert_eq!(fit(false).unwrap(), 2);
    let state = run.path().join("checkpoints/step-00000002/state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    std::fs::write(
        &state,
        text.replace("\"step\": 2", "\"step\": 18446744073709551615"),
    )
    .unwrap();
    let err = fit(true).unwrap_err().to_string();
    assert!(
        err.contains("`max_steps` = 4") && err.contains("at least 18446744073709551615"),
        "{err}"
    );
}

#[test]
fn settings_that_would_break_a_run_later_are_refused_up_front() {
    let err = TrainerConfig {
        min_delta: f64::INFINITY,
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(err.contains("min_delta") && err.contains("finite"), "{err}");
    let err = TrainerConfig {
        eval_batches: Some(0),
        ..Default::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("eval_batches") && err.contains("at least 1"),
        "{err}"
    );
}

/// Wraps a task and asks the run to stop (as Ctrl-C does) during training call `stop_at`.
struct StopAt {
    inner: ClassifierTask,
    calls: usize,
    stop_at: usize,
}

impl TrainTask for StopAt {
    fn var_store(&self) -> &tch::nn::VarStore {
        &self.inner.vs
    }

    fn loss(&mut self, batch: &tinycats_models::trainer::DeviceBatch, train: bool) -> Tensor {
        if train {
            self.calls += 1;
            if self.calls == self.stop_at {
                tinycats_models::trainer::STOP_REQUESTED
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        self.inner.loss(batch, train)
    }
}

#[test]
fn a_stop_request_ends_the_step_with_a_checkpoint_and_resume_continues_the_same_run() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = tiny_classifier();
    let tc = quiet(TrainerConfig {
        max_steps: 6,
        warmup_steps: 0,
        eval_every: 3,
        checkpoint_every: 100,
        ..Default::default()
    });
    let fit = |run: &Path, stop_at: usize, resume: bool| {
        tch::manual_seed(0);
        let inner = ClassifierTask::new(&cfg, 0.0, Device::Cpu).unwrap();
        let mut task = StopAt {
            inner,
            calls: 0,
            stop_at,
        };
        let (mut data, mut val) = (dataset(8, 16, 5, 4), dataset(4, 16, 6, 4));
        Trainer::new(tc.clone(), run, Device::Cpu)
            .unwrap()
            .fit(&mut task, &mut data, &mut val, resume)
            .map(|(s, _)| s.steps)
    };
    let (whole, split) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(fit(whole.path(), usize::MAX, false).unwrap(), 6);
    let err = fit(split.path(), 2, false).unwrap_err().to_string();
    assert!(
        err.contains("stopped at step 2 as asked") && err.contains("step-00000002"),
        "{err}"
    );
    assert_eq!(fit(split.path(), usize::MAX, true).unwrap(), 6);
    assert_eq!(train_losses(whole.path()), train_losses(split.path()));
}

#[test]
fn restore_best_ends_the_run_with_the_weights_of_its_best_evaluation() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    // Random labels: the training images are memorised and the validation loss, after a
    // first dip, climbs; early stopping ends the run past its best evaluation.
    let cfg = tiny_classifier();
    tch::manual_seed(11);
    let mut task = ClassifierTask::new(&cfg, 0.0, Device::Cpu).unwrap();
    let (mut data, mut val) = (dataset(16, 16, 12, 8), dataset(16, 16, 13, 8));
    let run = tempfile::tempdir().unwrap();
    let tc = quiet(TrainerConfig {
        max_steps: 200,
        lr: 1e-2,
        warmup_steps: 0,
        ema_decay: None,
        eval_every: 4,
        patience: 3,
        restore_best: true,
        checkpoint_every: 1000,
        ..Default::default()
    });
    let trainer = Trainer::new(tc.clone(), run.path(), Device::Cpu).unwrap();
    let (summary, _) = trainer.fit(&mut task, &mut data, &mut val, false).unwrap();
    assert!(summary.stopped_early, "{summary:?}");
    let best = summary.best_step.expect("a best evaluation");
    assert_eq!(
        best + 3 * 4,
        summary.steps,
        "three evaluations without improvement"
    );
    assert!(summary.restored_best);
    // The best value is the val_loss that metrics.csv logged at the best step.
    let steps = metrics_column(run.path(), 0);
    let val_loss = metrics_column(run.path(), 3);
    let at = steps.iter().position(|&s| s == best as f64).unwrap();
    let logged = val_loss[at];
    assert!((logged - summary.best_val_loss.unwrap()).abs() < 1e-9 * logged.abs().max(1.0));
    // The weights in memory are the best ones, not the last step's (the final checkpoint).
    let kept = io::load_tensors(&trainer.best_path()).unwrap();
    let last = io::load_tensors(&run.path().join(format!(
        "checkpoints/step-{:08}/model.safetensors",
        summary.steps
    )))
    .unwrap();
    let vars = task.var_store().variables();
    assert!(kept.iter().all(|(k, t)| vars[k].equal(t)));
    assert!(last.iter().any(|(k, t)| !vars[k].equal(t)));
    // The EMA is exported instead of the evaluated weights, so the two are refused together.
    let err = Trainer::new(
        TrainerConfig {
            ema_decay: Some(0.999),
            ..tc
        },
        run.path(),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("restore_best") && err.contains("ema_decay"),
        "{err}"
    );
}

#[test]
fn train_only_trains_the_named_variables_and_leaves_the_rest_as_they_were() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(0);
    let cfg = DitConfig {
        final_conv: true,
        ..DitConfig::micro()
    };
    let mut task = GeneratorTask::new(&cfg, TimeSampling::default(), Device::Cpu).unwrap();
    let mut data = dataset(6, 16, 3, 3);
    let mut val = dataset(6, 16, 4, 3);
    // adaLN-Zero starts the output at zero, and a convolution of zeros gets no gradient for
    // its kernel: train everything for a few steps first, as the bundled weights were.
    let warm = quiet(TrainerConfig {
        max_steps: 4,
        lr: 1e-2,
        warmup_steps: 1,
        eval_every: 4,
        checkpoint_every: 4,
        ema_decay: None,
        ..Default::default()
    });
    let run = tempfile::tempdir().unwrap();
    Trainer::new(warm.clone(), run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, false)
        .unwrap();
    let before: Vec<(String, Tensor)> = task
        .var_store()
        .variables()
        .into_iter()
        .map(|(n, v)| (n, v.detach().copy()))
        .collect();
    let run = tempfile::tempdir().unwrap();
    let tc = TrainerConfig {
        train_only: vec!["final_conv.".into()],
        ..warm
    };
    Trainer::new(tc.clone(), run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, false)
        .unwrap();
    let after = task.var_store().variables();
    let mut changed = Vec::new();
    for (name, old) in &before {
        if !after[name].equal(old) {
            changed.push(name.as_str());
        }
    }
    changed.sort();
    assert_eq!(changed, ["final_conv.bias", "final_conv.weight"]);
    // Frozen for the run only: the variables that trained before train again afterwards.
    let trainable_after = after.values().filter(|v| v.requires_grad()).count();
    assert!(
        trainable_after > 2,
        "{trainable_after} trainable after the run"
    );

    // A prefix that names nothing is refused before any step, with the names there are.
    let bad = TrainerConfig {
        train_only: vec!["final_cnv.".into()],
        ..tc
    };
    let run = tempfile::tempdir().unwrap();
    let err = Trainer::new(bad, run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut task, &mut data, &mut val, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_only") && err.contains("final_cnv."),
        "{err}"
    );
    assert!(err.contains("final_conv"), "{err}");
}
