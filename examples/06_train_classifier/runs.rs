//! The three training runs (as rendered, augmented, for photos), their curves
//! and their test accuracies. These steps use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: train
/// One training run: its recipe's name, the trained model, how the run went,
/// its log.
pub struct Run {
    name: &'static str,
    task: ClassifierTask,
    summary: FitSummary,
    metrics: Vec<Row>,
}

pub fn train_runs(synth: &SynthCats) -> Result<Vec<Run>> {
    step("train");
    // Training is chaotic: the last-bit differences between CPUs' kernels grow
    // step by step, so another processor prints other losses and may stop
    // at another step. What must hold everywhere is declared below with
    // `claim` and `stable`.
    chaotic(
        "training runs: their losses and stopping steps differ between CPU \
         kernels",
    );
    let mut runs = Vec::new();
    for (name, augment) in [
        ("as rendered", Augment::eval()),
        ("augmented", Augment::classifier_train()),
        ("for photos", Augment::classifier_photo()),
    ] {
        let run_dir = out_dir().join(name.replace(' ', "_"));
        let (task, summary) = train(synth, augment, &run_dir)?;
        let best = summary.best_step.unwrap_or(summary.steps);
        println!(
            "{name:<12} stopped at step {:>3} (early: {}); best val_loss {:.3} \
             at step {best}, restored: {}",
            summary.steps,
            summary.stopped_early,
            summary.best_val_loss.unwrap_or(f64::NAN),
            summary.restored_best
        );
        let metrics = read_metrics(&run_dir.join("metrics.csv"))?;
        runs.push(Run {
            name,
            task,
            summary,
            metrics,
        });
    }
    let stopped: Vec<u64> = runs.iter().map(|r| r.summary.steps).collect();
    claim(
        "every run ends with the weights of its best validation",
        // (restored, or its best validation was its last step)
        runs.iter()
            .map(|r| &r.summary)
            .all(|s| s.restored_best || s.best_step == Some(s.steps)),
        "a run ended with other weights than its best validation's",
    )?;
    claim(
        "no run is stopped early before step 200",
        stopped.iter().all(|&s| s >= 200),
        format!("stopped at steps {stopped:?}"),
    )?;
    claim(
        "the run as rendered stops early, before its last step",
        runs[0].summary.stopped_early,
        format!("it ran all {} steps", runs[0].summary.steps),
    )?;
    Ok(runs)
}
// ANCHOR_END: train

// ANCHOR: curves
pub fn curves(runs: &[Run]) -> Result<()> {
    step("curves");
    chaotic("the curves of the chaotic training runs");
    // Each run's log (metrics.csv) and best step, drawn as loss and accuracy
    // curves.
    let logs: Vec<(&str, &[Row], Option<u64>)> = runs
        .iter()
        .map(|r| (r.name, r.metrics.as_slice(), r.summary.best_step))
        .collect();
    let (figure, text) = figures::training_curves(&logs, CONFIG.eval_every)?;
    let path = save_png(&figure, out_dir().join("curves.png"))?;
    chaotic_image(&path, "curves of chaotic training runs", &text);
    let mut train_loss_at_best = Vec::new();
    for Run {
        name,
        summary,
        metrics,
        ..
    } in runs
    {
        let at = |step: u64| {
            metrics
                .iter()
                .find(|r| r.step == step && r.val_loss.is_some())
        };
        // The training loss of the steps since the previous validation, as the
        // curve draws it: one step's loss depends on its batch (a mixed
        // batch's is far higher).
        let mean_train_loss = |step: u64| {
            let since: Vec<f64> = metrics
                .iter()
                .filter(|r| r.step <= step && r.step + CONFIG.eval_every > step)
                .map(|r| r.train_loss)
                .collect();
            since.iter().sum::<f64>() / since.len().max(1) as f64
        };
        if let Some(best) = summary.best_step.and_then(at) {
            let train_loss = mean_train_loss(best.step);
            train_loss_at_best.push(train_loss);
            println!(
                "{name:<12} at its best step {}: train loss {train_loss:.3} \
                 (its last {} steps), \
                 val loss {:.3}, val top-1 {:.3}",
                best.step,
                CONFIG.eval_every,
                best.val_loss.unwrap_or(f64::NAN),
                best.val_metrics.first().copied().unwrap_or(f64::NAN)
            );
        }
    }
    println!("saved        {}", display_path(&path));
    // Augmentation makes the training images harder: the training loss at the
    // best step rises from one recipe to the next.
    claim(
        "the training loss at the best step is lowest as rendered and highest \
         for photos",
        train_loss_at_best.len() == 3 && train_loss_at_best.is_sorted(),
        format!("{train_loss_at_best:.3?}"),
    )?;
    Ok(())
}
// ANCHOR_END: curves

// ANCHOR: compare
pub fn compare(
    synth: &SynthCats,
    runs: &[Run],
) -> Result<Vec<(&'static str, ClassificationReport)>> {
    step("compare");
    chaotic(
        "test accuracies of the chaotic training runs: a few points apart \
         between CPUs",
    );
    // Both runs, with their restored best weights, on held-out renders: clean,
    // and shifted.
    let hard = SynthCats::new(SynthConfig {
        severity: CONFIG.hard_severity,
        ..*synth.config()
    })?;
    println!(
        "run            clean top-1   wild {} top-1",
        CONFIG.hard_severity
    );
    // reports: for the exercises
    let (mut scores, mut reports) = (Vec::new(), Vec::new());
    for Run { name, task, .. } in runs {
        let mut top1 = Vec::new();
        for source in [synth, &hard] {
            let mut test = loader(
                source,
                SynthSplit::Test,
                CONFIG.test_per_breed,
                Augment::eval(),
            )?;
            let batches = (0..test.batches_per_epoch())
                .map(|i| test.batch(0, i))
                .collect::<Result<Vec<_>, _>>()?;
            let (logits, labels) = task.predict(&batches);
            let report =
                ClassificationReport::from_logits(&logits, &labels, 3)?;
            top1.push(report.top1);
            reports.push((*name, report));
        }
        println!(
            "{name:<12}   {:>9.1} %   {:>12.1} %",
            100.0 * top1[0],
            100.0 * top1[1]
        );
        // How far a test accuracy may move between CPUs: `TOP1_POINTS`,
        // measured across kernel settings
        // (bench/kernels/06_train_classifier.md), with room to spare.
        for ((split, v), points) in
            ["clean", "wild"].iter().zip(&top1).zip(TOP1_POINTS)
        {
            stable(
                &format!("{name}: {split} top-1 %"),
                100.0 * v,
                Tolerance::absolute(points),
            );
        }
        scores.push(top1);
    }
    // The chapter's argument, in points of top-1 (as rendered, augmented, for
    // photos).
    let points = |run: usize, split: usize| 100.0 * scores[run][split];
    claim(
        "augmentation buys accuracy on the wild split",
        points(1, 1) > points(0, 1),
        format!(
            "wild: {:.1} augmented, {:.1} as rendered",
            points(1, 1),
            points(0, 1)
        ),
    )?;
    claim(
        "photo conditions beat both other runs on the wild split by at least 3 \
         points",
        points(2, 1) >= points(0, 1).max(points(1, 1)) + 3.0,
        format!("wild: {:.1} for photos", points(2, 1)),
    )?;
    claim(
        "photo conditions cost clean accuracy: the run for photos is last on \
         the clean split",
        points(2, 0) < points(0, 0).min(points(1, 0)),
        format!("clean: {:.1} for photos", points(2, 0)),
    )?;
    let (clean, wild) = (scores[1][0], scores[1][1]);
    ensure!(
        clean >= CONFIG.min_top1_clean && wild >= CONFIG.min_top1_hard,
        "the augmented run scored {clean:.3} clean and {wild:.3} wild, below \
         the {} and {} \
         this example promises",
        CONFIG.min_top1_clean,
        CONFIG.min_top1_hard
    );
    Ok(reports)
}
// ANCHOR_END: compare

// ANCHOR: train_fn
/// Trains one classifier from scratch into `run_dir`, stopping early on the
/// validation split and ending with the weights of its best validation.
fn train(
    synth: &SynthCats,
    augment: Augment,
    run_dir: &Path,
) -> Result<(ClassifierTask, FitSummary)> {
    let model = ClassifierConfig {
        image_size: i64::from(CONFIG.image_size),
        widths: CONFIG.widths.to_vec(),
        ..ClassifierConfig::tiny()
    };
    let mut train =
        loader(synth, SynthSplit::Train, CONFIG.train_per_breed, augment)?;
    let mut val = loader(
        synth,
        SynthSplit::Val,
        CONFIG.val_per_breed,
        Augment::eval(),
    )?;
    tch::manual_seed(CONFIG.seed as i64);
    // label smoothing 0.1
    let mut task = ClassifierTask::new(&model, 0.1, Device::Cpu)?;
    let trainer = TrainerConfig {
        max_steps: CONFIG.max_steps,
        lr: CONFIG.lr,
        warmup_steps: CONFIG.warmup_steps,
        optimizer: AdamWConfig {
            weight_decay: 0.05,
            ..Default::default()
        },
        ema_decay: None,
        eval_every: CONFIG.eval_every,
        patience: CONFIG.patience,
        restore_best: true,
        checkpoint_every: CONFIG.max_steps,
        log_every: u64::MAX,
        preview_every: None,
        seed: CONFIG.seed,
        ..TrainerConfig::default()
    };
    if run_dir.exists() {
        std::fs::remove_dir_all(run_dir)?; // a fresh run every time
    }
    let (summary, _) = Trainer::new(trainer, run_dir, Device::Cpu)?
        .fit(&mut task, &mut train, &mut val, false)?;
    Ok((task, summary))
}
// ANCHOR_END: train_fn
