//! The fine-tuning run and what it changed: the new coat learned, the old
//! breeds kept. These steps use the example's imports (`super::*`).

use super::*;

// ANCHOR: finetune
/// The fine-tuning run: how it went, the moving average of its weights, where
/// it came from.
pub struct Tuned {
    pub summary: FitSummary,
    pub ema: Ema,
    pub provenance: Provenance,
}

pub fn finetune(
    nb: &NewBreed,
    ft_run: &FineTuneRun,
    ft: &mut FineTune,
    before: &Before,
    work: &Path,
    device: Device,
) -> Result<Tuned> {
    step("finetune");
    let NewBreed {
        base_cfg,
        new_dir,
        replay_dir,
        ..
    } = nb;
    let new_class = before.new_class;
    let mut data = image_folder(new_dir, &ImageFolderOptions::default())?;
    // A folder name that is no base breed gets the next free label: the new
    // class.
    ensure!(
        data.samples.iter().all(|s| s.label as i64 == new_class),
        "the new breed's images must carry the new class label {new_class}"
    );
    println!(
        "{} images of {:?} → label {new_class}",
        data.len(),
        data.classes[new_class as usize]
    );
    let old = image_folder(replay_dir, &ImageFolderOptions::default())?;
    println!(
        "{} images of the base classes → labels 0..{}",
        old.len(),
        new_class - 1
    );
    data.samples.extend(old.samples);
    // One image in `val_every` is held out: the validation loss is measured on
    // images the adapters never train on.
    let mut val_data = data.clone();
    let (train_samples, val_samples): (Vec<_>, Vec<_>) =
        std::mem::take(&mut data.samples)
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % CONFIG.val_every != 0);
    data.samples = train_samples.into_iter().map(|(_, s)| s).collect();
    val_data.samples = val_samples.into_iter().map(|(_, s)| s).collect();
    println!(
        "{} images to train on, {} held out for validation",
        data.len(),
        val_data.len()
    );
    let cfg = LoaderConfig {
        batch_size: ft_run.batch_size,
        image_size: base_cfg.input_size as u32,
        normalize: base_cfg.normalize()?, // the model folder's own mean and std
        augment: Augment::generator_train(),
        seed: CONFIG.seed,
        ..LoaderConfig::default()
    };
    let mut train = Loader::new(Source::Files(data), cfg)?;
    let mut val = Loader::new(
        Source::Files(val_data),
        LoaderConfig {
            augment: Augment::eval(),
            shuffle: false,
            drop_last: false,
            ..cfg
        },
    )?;
    let ft_dir = work.join("runs/teal-lora");
    let provenance = Provenance::capture(0);
    let started = Instant::now();
    let (summary, ft_ema) =
        Trainer::new(ft_run.trainer.clone(), &ft_dir, device)?
            .fit(ft, &mut train, &mut val, false)?;
    println!(
        "{} steps in {:.1} s; best val_loss {:.4}",
        summary.steps,
        started.elapsed().as_secs_f64(),
        summary.best_val_loss.unwrap_or(f64::NAN)
    );
    let ema = ft_ema.context("the fine-tune keeps an EMA")?;
    Ok(Tuned {
        summary,
        ema,
        provenance,
    })
}
// ANCHOR_END: finetune

// ANCHOR: after
/// The samples after fine-tuning and the measures of what it learned and kept.
pub struct After {
    pub samples: Vec<RgbImage>,
    pub share: f64,
    pub fid_before: f64,
    pub fid_after: f64,
}

pub fn after(ft: &FineTune, tuned: &Tuned, before: &Before) -> Result<After> {
    let before_share = before.share;
    step("after");
    // Sample with the moving average of the fine-tuned weights, as the saved
    // model will.
    let Before {
        new_class,
        base_breeds,
        samples: before,
        data_share,
        reference,
        old: old_before,
        ..
    } = before;
    let mut vars = ft.vs.variables();
    let (after, old_after) =
        tuned.ema.with_weights(&mut vars, || -> Result<_> {
            Ok((
                judge(&ft.model, &[*new_class], CONFIG.judge_samples)?,
                judge(&ft.model, base_breeds, CONFIG.old_breed_samples)?,
            ))
        })?;
    let after_share = coat_share(&after, CONFIG.new_coat, CONFIG.coat_radius);
    println!("  samples after           {:>5.1}%", 100.0 * after_share);
    // The bundled classifier knows only the 13 base classes: it judges those.
    let mut classifier = Classifier::load(
        workspace_root().join("assets").join(CLASSIFIER_ONNX),
    )?;
    let truth: Vec<usize> = base_breeds
        .iter()
        .flat_map(|&b| {
            std::iter::repeat_n(b as usize, CONFIG.old_breed_samples as usize)
        })
        .collect();
    let fidelity = |imgs: &[RgbImage], c: &mut Classifier| -> Result<f64> {
        Ok(judge_samples(c, imgs, &truth)?.mean_per_breed())
    };
    let (fid_before, fid_after) = (
        fidelity(old_before, &mut classifier)?,
        fidelity(&old_after, &mut classifier)?,
    );
    println!(
        "breed fidelity of the 13 base classes ({} samples each): before \
         {:.1}%, after {:.1}%",
        CONFIG.old_breed_samples,
        100.0 * fid_before,
        100.0 * fid_after
    );
    let grid =
        figures::before_after(CONFIG.new_breed, before, &after, reference)?;
    let path = save_png(&grid, out_dir().join("before_after.png"))?;
    println!("saved        {}", display_path(&path));
    ensure!(
        after_share >= 0.5 * data_share && after_share >= 4.0 * before_share,
        "fine-tuning did not learn the new coat: {:.3} of the pixels after, \
         {:.3} in the data",
        after_share,
        data_share
    );
    Ok(After {
        samples: after,
        share: after_share,
        fid_before,
        fid_after,
    })
}
// ANCHOR_END: after
