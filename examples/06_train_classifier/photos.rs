//! Fine-tuning the bundled classifier on a folder of photos: the folder, the
//! run, and the photos before and after. These steps use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: photos
/// Stand-in photos in one folder per breed, checked and split as `tinycats
/// data` would.
pub fn photos() -> Result<PathBuf> {
    step("photos");
    // Stand-ins for your photos: renders of a seed the bundled classifier never
    // saw, under the wild shift, saved as image files in one folder per
    // breed.
    let (photos, split_dir) = (
        out_dir().join("my_photos"),
        out_dir().join("my_photos_split"),
    );
    let camera = SynthCats::new(SynthConfig {
        seed: CONFIG.seed + 1,
        size: CONFIG.photo_size,
        severity: CONFIG.photo_severity,
        ..SynthConfig::default()
    })?;
    for dir in [&photos, &split_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?; // fresh folders every run
        }
    }
    for (breed, name) in tinycats_core::BREEDS.iter().enumerate() {
        let dir = photos.join(name);
        std::fs::create_dir_all(&dir)?;
        for i in 0..CONFIG.photos_per_breed {
            camera
                .render(breed, i)?
                .save(dir.join(format!("{i:03}.png")))?;
        }
    }
    // `tinycats data check my_photos`: every file decoded, duplicates looked
    // for.
    let report = curate::check(&photos, &CheckOptions::default())?;
    println!(
        "check: {} usable images in {} classes, {} problems, {} duplicate \
         groups",
        report.usable.len(),
        report.classes.len(),
        report.problems.len(),
        report.duplicates.len()
    );
    // `tinycats data split my_photos --out my_photos_split --val 0.2 --test
    // 0.4`
    let split = curate::split(
        &photos,
        &split_dir,
        &SplitOptions {
            val: 0.2,
            test: 0.4,
            seed: CONFIG.seed,
        },
    )?;
    let total = |f: fn(&(String, usize, usize, usize)) -> usize| -> usize {
        split.counts.iter().map(f).sum()
    };
    println!(
        "split: {} train, {} val, {} test",
        total(|c| c.1),
        total(|c| c.2),
        total(|c| c.3)
    );
    Ok(split_dir)
}
// ANCHOR_END: photos

// ANCHOR: finetune
pub fn finetune(split_dir: &Path) -> Result<PathBuf> {
    step("finetune");
    chaotic("a training run: its losses differ between CPU kernels");
    // `tinycats train-classifier --data my_photos_split --init-from
    // assets/classifier  --steps 40 --lr 5e-4 --batch-size 32`: the same
    // run, through the same library call.
    let bundled = workspace_root().join("assets").join("classifier");
    let defaults = ClassifierRun::default();
    let run = ClassifierRun {
        batch_size: CONFIG.batch_size,
        trainer: TrainerConfig {
            max_steps: CONFIG.finetune_steps,
            lr: CONFIG.finetune_lr,
            warmup_steps: 5,
            eval_every: 10,
            checkpoint_every: CONFIG.finetune_steps,
            log_every: u64::MAX,
            seed: CONFIG.seed,
            ..defaults.trainer.clone()
        },
        ..defaults
    };
    let run_dir = out_dir().join("finetuned");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)?;
    }
    let training = pipeline::classifier(
        &run,
        &TrainData::Folder(split_dir.to_path_buf()),
        &run_dir,
        Device::Cpu,
        Some(&bundled),
    )?;
    let summary = training.fit(false)?;
    println!(
        "fine-tuned {} steps; best val_loss {:.3} at step {}",
        summary.steps,
        summary.best_val_loss.unwrap_or(f64::NAN),
        summary.best_step.unwrap_or(summary.steps)
    );
    let val_losses: Vec<f64> = read_metrics(&run_dir.join("metrics.csv"))?
        .iter()
        .filter_map(|r| r.val_loss)
        .collect();
    claim(
        "fine-tuning lowers the validation loss below its first validation's",
        summary.best_val_loss.is_some_and(|b| b < val_losses[0]),
        format!("validation losses {val_losses:.3?}"),
    )?;
    Ok(run_dir)
}
// ANCHOR_END: finetune

// ANCHOR: before_after
pub fn before_after(split_dir: &Path, run_dir: &Path) -> Result<()> {
    step("before_after");
    chaotic("the fine-tuned weights come from a chaotic training run");
    // The bundled weights and the fine-tuned ones on the photos neither trained
    // on.
    let bundled = workspace_root().join("assets").join("classifier");
    let test =
        image_folder(&split_dir.join("test"), &ImageFolderOptions::default())?;
    let mut test = Loader::new(
        Source::Files(test),
        LoaderConfig {
            batch_size: CONFIG.batch_size,
            // 64, as bundled
            image_size: ClassifierConfig::tiny().image_size as u32,
            normalize: ClassifierConfig::tiny().normalize()?,
            shuffle: false,
            drop_last: false,
            ..LoaderConfig::default()
        },
    )?;
    let batches = (0..test.batches_per_epoch())
        .map(|i| test.batch(0, i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut scores = Vec::new();
    for (name, dir) in [
        ("bundled", &bundled),
        ("fine-tuned", &run_dir.to_path_buf()),
    ] {
        let (_weights, model) = Classifier::load(dir, Device::Cpu)?;
        let _no_grad = tch::no_grad_guard();
        let logits: Vec<Tensor> = batches
            .iter()
            .map(|b| model.forward_t(&b.images, false))
            .collect();
        let labels: Vec<Tensor> =
            batches.iter().map(|b| b.labels.shallow_clone()).collect();
        let report = ClassificationReport::from_logits(
            &Tensor::cat(&logits, 0),
            &Tensor::cat(&labels, 0),
            3,
        )?;
        println!(
            "{name:<10}  top-1 {:.1} %  top-3 {:.1} %  on {} test photos",
            100.0 * report.top1,
            100.0 * report.top_k,
            batches.iter().map(|b| b.len()).sum::<i64>()
        );
        scores.push(report.top1);
    }
    // The bundled weights are the same everywhere: a photo may flip between
    // CPUs, no more.
    stable(
        "bundled: top-1 %",
        100.0 * scores[0],
        Tolerance::absolute(1.3),
    );
    stable(
        "fine-tuned: top-1 %",
        100.0 * scores[1],
        Tolerance::absolute(TOP1_POINTS[1]),
    );
    claim(
        "fine-tuning on the photos lifts top-1 on the held-out photos by at \
         least 3 points",
        scores[1] >= scores[0] + 0.03,
        format!("{:.1} % → {:.1} %", 100.0 * scores[0], 100.0 * scores[1]),
    )?;
    Ok(())
}
// ANCHOR_END: before_after
