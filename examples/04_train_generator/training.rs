//! The training steps: a run interrupted and resumed, its curves, previews and
//! EMA, and early stopping. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: train
/// A loader of one split of the dataset for the model `cfg` describes: its
/// image size and its own normalisation.
pub fn loader(
    setup: &Setup,
    cfg: &DitConfig,
    split: &str,
    shuffle: bool,
) -> Result<Loader> {
    let data = image_folder(
        &setup.split_dir.join(split),
        &ImageFolderOptions::default(),
    )?;
    Ok(Loader::new(
        Source::Files(data),
        LoaderConfig {
            batch_size: setup.run.batch_size,
            image_size: cfg.input_size as u32,
            normalize: cfg.normalize()?, // the model folder's own mean and std
            augment: if shuffle {
                Augment::generator_train()
            } else {
                Augment::eval()
            },
            shuffle,
            drop_last: shuffle,
            seed: CONFIG.seed,
            ..LoaderConfig::default()
        },
    )?)
}

/// The interrupted run: its folder, the step it stopped at, and the loaders it
/// continues with.
pub struct Interrupted {
    run_dir: PathBuf,
    train: Loader,
    val: Loader,
    steps: u64,
}

pub fn train(setup: &Setup) -> Result<Interrupted> {
    step("train");
    let Setup {
        work, run, device, ..
    } = setup;
    let device = *device;

    let run_dir = work.join("runs/first");
    let (mut train, mut val) = (
        loader(setup, &setup.cfg, "train", true)?,
        loader(setup, &setup.cfg, "val", false)?,
    );
    tch::manual_seed(CONFIG.seed as i64);
    let mut task = GeneratorTask::new(&setup.cfg, run.time_sampling, device)?;
    task.preview = CONFIG.sampler;
    task.preview_seed = CONFIG.seed;
    // Stop early, at `interrupt_at`, as a crash or a closed laptop would.
    let interrupted = TrainerConfig {
        stop_at_step: Some(CONFIG.interrupt_at),
        ..run.trainer.clone()
    };
    let started = Instant::now();
    let (first, _) = Trainer::new(interrupted, &run_dir, device)?
        .fit(&mut task, &mut train, &mut val, false)?;
    println!(
        "stopped at step {} after {:.1} s",
        first.steps,
        started.elapsed().as_secs_f64()
    );
    Ok(Interrupted {
        run_dir,
        train,
        val,
        steps: first.steps,
    })
}
// ANCHOR_END: train

// ANCHOR: resume
/// A finished run: its folder, the trained task, how the run went, and its EMA.
pub struct Trained {
    pub run_dir: PathBuf,
    pub task: GeneratorTask,
    pub summary: FitSummary,
    pub ema: Ema,
}

pub fn resume(setup: &Setup, first: Interrupted) -> Result<Trained> {
    step("resume");
    // A fresh process would rebuild the task the same way; the trainer restores
    // weights, optimiser moments, EMA, data order and the early-stopping
    // state from the checkpoint.
    let (run, device) = (&setup.run, setup.device);
    let Interrupted {
        run_dir,
        mut train,
        mut val,
        steps,
    } = first;
    tch::manual_seed(CONFIG.seed as i64);
    let mut task = GeneratorTask::new(&setup.cfg, run.time_sampling, device)?;
    task.preview = CONFIG.sampler;
    task.preview_seed = CONFIG.seed;
    let started = Instant::now();
    let (summary, ema) = Trainer::new(run.trainer.clone(), &run_dir, device)?
        .fit(&mut task, &mut train, &mut val, true)?;
    println!(
        "resumed at step {} and finished at step {} in {:.1} s; best val_loss \
         {:.4}{}",
        steps,
        summary.steps,
        started.elapsed().as_secs_f64(),
        summary.best_val_loss.unwrap_or(f64::NAN),
        if summary.stopped_early {
            " (stopped early)"
        } else {
            ""
        }
    );
    let ema = ema.context("the run config keeps an EMA")?;
    Ok(Trained {
        run_dir,
        task,
        summary,
        ema,
    })
}
// ANCHOR_END: resume

// ANCHOR: curves
/// Steps averaged to read the noisy training loss.
const SMOOTHING: usize = 10;

pub fn curves(trained: &Trained) -> Result<()> {
    step("curves");
    let Trained {
        run_dir, summary, ..
    } = trained;
    let metrics = read_metrics(&run_dir.join("metrics.csv"))?;
    let train_loss: Vec<(f64, f64)> = smooth(
        &metrics
            .iter()
            .map(|m| (m.step as f64, m.train_loss))
            .collect::<Vec<_>>(),
        SMOOTHING,
    );
    let val_loss: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| Some((m.step as f64, m.val_loss?)))
        .collect();
    let (best_step, best) = val_loss
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .context("no validation in metrics.csv")?;
    let early_stop = summary.stopped_early.then_some(summary.steps);
    let loss = figures::loss_curves(
        train_loss,
        SMOOTHING,
        val_loss.clone(),
        CONFIG.interrupt_at,
        best_step,
        early_stop,
    )?;
    let loss_png = save_png(&loss, out_dir().join("loss.png"))?;
    let lr = metrics.iter().map(|m| (m.step as f64, m.lr)).collect();
    let lr_png =
        save_png(&figures::lr_schedule(lr)?, out_dir().join("lr.png"))?;
    println!(
        "{} logged steps, {} validations",
        metrics.len(),
        val_loss.len()
    );
    println!("best val_loss {best:.4} at step {best_step}");
    println!("saved        {}", display_path(&loss_png));
    println!("saved        {}", display_path(&lr_png));
    Ok(())
}
// ANCHOR_END: curves

// ANCHOR: previews
pub fn previews(trained: &Trained) -> Result<()> {
    step("previews");
    let title = "preview samples during training (EMA weights, same noise)";
    let samples = trained.run_dir.join("samples");
    let (grids, picture, _) = figures::preview_grids(&samples, title, 2)?;
    let path = save_png(&picture, out_dir().join("previews.png"))?;
    println!("{grids} preview grids");
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: previews

// ANCHOR: ema
pub fn ema(trained: &Trained) -> Result<()> {
    step("ema");
    let Trained { task, ema, .. } = trained;
    let breeds: Vec<i64> = (0..task.model.config().num_classes).collect();
    let raw_samples =
        sample_breeds(&task.model, &breeds, 1, &CONFIG.sampler, CONFIG.seed)?;
    let mut vars = task.vs.variables();
    let ema_samples = ema.with_weights(&mut vars, || {
        sample_breeds(&task.model, &breeds, 1, &CONFIG.sampler, CONFIG.seed)
    })?;
    // Their difference, magnified twenty times, where the eye cannot see it in
    // the two rows.
    let magnified =
        ((&raw_samples - &ema_samples).abs() * 20.0).clamp(0.0, 1.0);
    let grid = figures::raw_against_ema(
        breeds.len(),
        &raw_samples,
        &ema_samples,
        &magnified,
    )?;
    let path = save_png(&grid, out_dir().join("ema.png"))?;
    let diff = (&raw_samples - &ema_samples)
        .abs()
        .mean(Kind::Float)
        .double_value(&[]);
    println!("mean |raw − EMA| per pixel: {diff:.4}");
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: ema

// ANCHOR: early_stop
pub fn early_stop(setup: &Setup) -> Result<()> {
    step("early_stop");
    // The same run, but an evaluation counts as an improvement only when it
    // beats the best validation loss by at least 0.005, and two evaluations
    // without one end the run. Up to the interruption every evaluation beat
    // the last by more than that, so the stricter run would stand exactly
    // where the first one stood at that step: it resumes from there instead
    // of training those steps again (patience and min_delta may change on
    // resume).
    let Setup { work, run, cfg, .. } = setup;
    let strict = TrainerConfig {
        patience: 2,
        min_delta: 0.005,
        preview_every: None,
        ..run.trainer.clone()
    };
    let strict_dir = work.join("runs/strict");
    let first = work.join("runs/first/checkpoints");
    let (_, from) = checkpoint::list(&first)?
        .into_iter()
        .find(|&(step, _)| step == CONFIG.interrupt_at)
        .with_context(|| {
            format!(
                "no checkpoint of step {} in {}",
                CONFIG.interrupt_at,
                first.display()
            )
        })?;
    let to = strict_dir
        .join("checkpoints")
        .join(from.file_name().context("a folder name")?);
    std::fs::create_dir_all(&to)?;
    for file in std::fs::read_dir(&from)
        .with_context(|| format!("{}", from.display()))?
    {
        let file = file?.path();
        std::fs::copy(
            &file,
            to.join(file.file_name().context("a file name")?),
        )?;
    }
    let (mut train, mut val) = (
        loader(setup, cfg, "train", true)?,
        loader(setup, cfg, "val", false)?,
    );
    tch::manual_seed(CONFIG.seed as i64);
    let mut strict_task =
        GeneratorTask::new(cfg, run.time_sampling, setup.device)?;
    let (stopped, _) = Trainer::new(strict, &strict_dir, setup.device)?.fit(
        &mut strict_task,
        &mut train,
        &mut val,
        true,
    )?;
    println!(
        "{} at step {} of {}; best val_loss {:.4}",
        if stopped.stopped_early {
            "stopped early"
        } else {
            "ran to the end"
        },
        stopped.steps,
        run.trainer.max_steps,
        stopped.best_val_loss.unwrap_or(f64::NAN)
    );
    Ok(())
}
// ANCHOR_END: early_stop
