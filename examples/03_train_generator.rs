//! Train a generator: your dataset and its curation, the run config, a short TinyDiT
//! training run that is interrupted and resumed, its curves, previews and EMA.
//!
//! Run it with `cargo run --release --example 03_train_generator`.
// verify-docs: timeout_s = 420, budget_s = 300

// ANCHOR: uses
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use tch::{Device, Kind};
use tinycats_core::{DitConfig, SampleOptions};
use tinycats_data::augment::Augment;
use tinycats_data::curate::{self, CheckOptions, SplitOptions};
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Source, SynthCats, SynthConfig};
use tinycats_models::runconfig::{self, GeneratorRun};
use tinycats_models::tasks::{GeneratorTask, sample_breeds};
use tinycats_models::trainer::{Ema, Trainer, TrainerConfig, read_metrics};
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{display_path, out_dir, step};
use tinycats_plot::{ImageGrid, LineChart, save_png};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the dataset, the splits, the initialisation, the data order and the noise.
    seed: u64,
    /// SynthCats images written per breed for the training run.
    per_class: u64,
    /// Side of the written images, in pixels.
    image_size: u32,
    /// Validation and test fractions of the split.
    val_fraction: f32,
    test_fraction: f32,
    /// The run config of the training run, in the TOML a `tinycats train-generator
    /// --config` file would hold: a small model so that it trains in a minute on a laptop.
    run_toml: &'static str,
    /// The run is "interrupted" after this step and resumed, to show resuming.
    interrupt_at: u64,
    /// Sampler settings of the previews and the EMA comparison.
    sampler: SampleOptions,
}

const CONFIG: Config = Config {
    seed: 0,
    per_class: 40,
    image_size: 64,
    val_fraction: 0.1,
    test_fraction: 0.1,
    run_toml: r#"
preset = "tiny"
batch_size = 32

[model]
input_size = 32
patch_size = 4
hidden_size = 128
depth = 3
num_heads = 4

[trainer]
max_steps = 300
lr = 1e-3
warmup_steps = 30
ema_decay = 0.99
eval_every = 25
patience = 4
checkpoint_every = 50
log_every = 50
preview_every = 100
# fp32, so this page's numbers hold on every CPU; drop it for bf16 on AMX or AVX-512 BF16
bf16 = false
"#,
    interrupt_at: 150,
    sampler: SampleOptions::DEFAULT,
};
// ANCHOR_END: config

fn main() -> Result<()> {
    let work = out_dir().join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?; // every run starts from nothing
    }
    let device = Device::cuda_if_available();

    // ANCHOR: dataset
    step("dataset");
    let synth = SynthCats::new(SynthConfig {
        size: CONFIG.image_size,
        seed: CONFIG.seed,
        ..SynthConfig::default()
    })?;
    let raw = work.join("synthcats");
    let written = synth.write_dataset(&raw, CONFIG.per_class)?;
    println!(
        "wrote {} images, {} classes × {}, {} px",
        written.images, written.classes, CONFIG.per_class, CONFIG.image_size
    );
    for entry in list_dir(&raw)?.iter().take(4) {
        let n = list_dir(&raw.join(entry))?.len();
        println!("  synthcats/{entry}/  {n} files");
    }
    println!("  …");
    // ANCHOR_END: dataset

    // ANCHOR: curate
    step("curate");
    // What real folders contain: a copy of an image, a file cut off mid-download, a thumbnail.
    let bengal = raw.join("Bengal");
    let first = bengal.join(&list_dir(&bengal)?[0]);
    std::fs::copy(&first, bengal.join("copy_of_first.png"))?;
    let bytes = std::fs::read(&first)?;
    std::fs::write(bengal.join("truncated.png"), &bytes[..bytes.len() / 3])?;
    image::RgbImage::from_pixel(20, 20, image::Rgb([90, 60, 40]))
        .save(bengal.join("thumbnail.png"))?;
    let report = curate::check(&raw, &CheckOptions::default())?;
    print!("{report}");
    // ANCHOR_END: curate

    // ANCHOR: clean_split
    step("clean_split");
    let clean = work.join("synthcats-clean");
    let cleaned = curate::clean(&raw, &clean, &CheckOptions::default())?;
    println!(
        "kept {} of {} files",
        cleaned.usable.len(),
        cleaned.total_files()
    );
    let split_dir = work.join("synthcats-split");
    let split = curate::split(
        &clean,
        &split_dir,
        &SplitOptions {
            val: CONFIG.val_fraction,
            test: CONFIG.test_fraction,
            seed: CONFIG.seed,
        },
    )?;
    let (tr, va, te) = split
        .counts
        .iter()
        .fold((0, 0, 0), |(a, b, c), (_, x, y, z)| (a + x, b + y, c + z));
    println!("split: {tr} train, {va} val, {te} test images in train/, val/, test/");
    // ANCHOR_END: clean_split

    // ANCHOR: your_data
    step("your_data");
    // The same loader reads any ImageFolder tree: Oxford-IIIT Pet after
    // `tinycats data split`, or your own photos in one folder per breed.
    let train_set = image_folder(&split_dir.join("train"), &ImageFolderOptions::default())?;
    println!(
        "{} training images in {} classes",
        train_set.len(),
        train_set.classes.len()
    );
    println!("classes: {}", train_set.classes.join(", "));
    // ANCHOR_END: your_data

    // ANCHOR: run_config
    step("run_config");
    let run: GeneratorRun = runconfig::from_toml_str(CONFIG.run_toml)?;
    run.validate()?;
    let cfg = run.dit_config()?;
    println!(
        "model: {} px, patch {}, width {}, depth {}, {} heads → {} tokens",
        cfg.input_size,
        cfg.patch_size,
        cfg.hidden_size,
        cfg.depth,
        cfg.num_heads,
        cfg.num_patches()
    );
    println!(
        "trainer: {} steps, lr {}, batch {}, EMA {}, early stopping after {} evaluations without improvement",
        run.trainer.max_steps,
        run.trainer.lr,
        run.batch_size,
        run.trainer
            .ema_decay
            .map_or("off".to_string(), |d| d.to_string()),
        run.trainer.patience
    );
    // ANCHOR_END: run_config

    // ANCHOR: presets
    step("presets");
    println!("preset        px  patch  tokens  width  depth  parameters");
    for name in ["tiny", "small", "tinydit_128"] {
        let p = DitConfig::from_preset(name)?;
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let _model = TinyDit::new(vs.root(), &p);
        let params: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        println!(
            "{name:<12} {:>3}  {:>5}  {:>6}  {:>5}  {:>5}  {params:>10}",
            p.input_size,
            p.patch_size,
            p.num_patches(),
            p.hidden_size,
            p.depth
        );
    }
    // ANCHOR_END: presets

    // ANCHOR: bad_config
    step("bad_config");
    let bad = [
        "preset = \"huge\"",
        "[trainer]\nlr = -0.001",
        "[model]\ninput_size = 30",
        "batch_size = 0",
        "[trainer]\nlearning_rate = 0.001",
    ];
    for toml in bad {
        let err = runconfig::from_toml_str::<GeneratorRun>(toml)
            .and_then(|run| run.validate().map(|_| run))
            .expect_err("a bad config must be refused");
        println!("{:<32} → {err}", toml.replace('\n', " "));
    }
    // ANCHOR_END: bad_config

    // ANCHOR: train
    step("train");
    let loader = |split: &str, shuffle: bool| -> Result<Loader> {
        let data = image_folder(&split_dir.join(split), &ImageFolderOptions::default())?;
        Ok(Loader::new(
            Source::Files(data),
            LoaderConfig {
                batch_size: run.batch_size,
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
    };
    let run_dir = work.join("runs/first");
    let (mut train, mut val) = (loader("train", true)?, loader("val", false)?);
    tch::manual_seed(CONFIG.seed as i64);
    let mut task = GeneratorTask::new(&cfg, run.time_sampling, device)?;
    task.preview = CONFIG.sampler;
    task.preview_seed = CONFIG.seed;
    // Stop early, at `interrupt_at`, as a crash or a closed laptop would.
    let interrupted = TrainerConfig {
        stop_at_step: Some(CONFIG.interrupt_at),
        ..run.trainer.clone()
    };
    let started = Instant::now();
    let (first, _) =
        Trainer::new(interrupted, &run_dir, device)?.fit(&mut task, &mut train, &mut val, false)?;
    println!(
        "stopped at step {} after {:.1} s",
        first.steps,
        started.elapsed().as_secs_f64()
    );
    // ANCHOR_END: train

    // ANCHOR: resume
    step("resume");
    // A fresh process would rebuild the task the same way; the trainer restores weights,
    // optimiser moments, EMA, data order and the early-stopping state from the checkpoint.
    tch::manual_seed(CONFIG.seed as i64);
    let mut task = GeneratorTask::new(&cfg, run.time_sampling, device)?;
    task.preview = CONFIG.sampler;
    task.preview_seed = CONFIG.seed;
    let started = Instant::now();
    let (summary, ema) = Trainer::new(run.trainer.clone(), &run_dir, device)?
        .fit(&mut task, &mut train, &mut val, true)?;
    println!(
        "resumed at step {} and finished at step {} in {:.1} s; best val_loss {:.4}{}",
        first.steps,
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
    // ANCHOR_END: resume

    // ANCHOR: curves
    step("curves");
    let metrics = read_metrics(&run_dir.join("metrics.csv"))?;
    let train_loss: Vec<(f64, f64)> = smooth(
        &metrics
            .iter()
            .map(|m| (m.step as f64, m.train_loss))
            .collect::<Vec<_>>(),
        10,
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
    let mut chart = LineChart::new("training the small TinyDiT", "step", "flow-matching loss")
        .series("train (mean of 10 steps)", train_loss)
        .series("validation", val_loss.clone())
        .marker(CONFIG.interrupt_at as f64, "interrupted and resumed")
        .marker(best_step, "best val_loss");
    if summary.stopped_early {
        chart = chart.marker(summary.steps as f64, "early stop");
    }
    let loss_png = save_png(&chart.render(720, 400)?, out_dir().join("loss.png"))?;
    let lr = LineChart::new("learning rate: warm-up, then cosine", "step", "lr").series(
        "lr",
        metrics.iter().map(|m| (m.step as f64, m.lr)).collect(),
    );
    let lr_png = save_png(&lr.render(720, 260)?, out_dir().join("lr.png"))?;
    println!(
        "{} logged steps, {} validations",
        metrics.len(),
        val_loss.len()
    );
    println!("best val_loss {best:.4} at step {best_step}");
    println!("saved        {}", display_path(&loss_png));
    println!("saved        {}", display_path(&lr_png));
    // ANCHOR_END: curves

    // ANCHOR: previews
    step("previews");
    let preview_dir = run_dir.join("samples");
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for file in list_dir(&preview_dir)? {
        rows.push(image::open(preview_dir.join(&file))?.to_rgb8());
        let step: u64 = file
            .trim_start_matches("step-")
            .trim_end_matches(".png")
            .parse()?;
        labels.push(format!("step {step}"));
    }
    let grid = ImageGrid::new(1)
        .scale(2)
        .row_labels(labels)
        .title("preview samples during training (EMA weights, same noise)")
        .render(&rows)?;
    let path = save_png(&grid, out_dir().join("previews.png"))?;
    println!("{} preview grids", rows.len());
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: previews

    // ANCHOR: ema
    step("ema");
    let breeds: Vec<i64> = (0..cfg.num_classes).collect();
    let raw_samples = sample_breeds(&task.model, &breeds, 1, &CONFIG.sampler, CONFIG.seed)?;
    let mut vars = task.vs.variables();
    let ema_samples = ema.with_weights(&mut vars, || {
        sample_breeds(&task.model, &breeds, 1, &CONFIG.sampler, CONFIG.seed)
    })?;
    let mut tiles = images::to_rgb8_all(&raw_samples)?;
    tiles.extend(images::to_rgb8_all(&ema_samples)?);
    let grid = ImageGrid::new(breeds.len())
        .scale(2)
        .row_labels(vec!["raw".into(), "EMA".into()])
        .title("the last step's weights against their moving average, same noise")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("ema.png"))?;
    let diff = (&raw_samples - &ema_samples)
        .abs()
        .mean(Kind::Float)
        .double_value(&[]);
    println!("mean |raw − EMA| per pixel: {diff:.4}");
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: ema

    // ANCHOR: early_stop
    step("early_stop");
    // The same run from scratch, but an evaluation counts as an improvement only when it
    // beats the best validation loss by at least 0.005, and two evaluations without one
    // end the run.
    let strict = TrainerConfig {
        patience: 2,
        min_delta: 0.005,
        preview_every: None,
        ..run.trainer.clone()
    };
    let (mut train, mut val) = (loader("train", true)?, loader("val", false)?);
    tch::manual_seed(CONFIG.seed as i64);
    let mut strict_task = GeneratorTask::new(&cfg, run.time_sampling, device)?;
    let (stopped, _) = Trainer::new(strict, &work.join("runs/strict"), device)?.fit(
        &mut strict_task,
        &mut train,
        &mut val,
        false,
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
    // ANCHOR_END: early_stop

    // ANCHOR: exercise_ema
    step("exercise_ema");
    // The share of the average held by the last m updates: update k enters with weight
    // 1 − d_k and is multiplied by every later d, so the updates before the last m keep
    // the product of the last m decays. The decay warms up as min(decay, (1 + k)/(10 + k)).
    println!("decay  at step  decay in use  share from the last 10 / 50 / 100 / 150 steps");
    for (decay, at) in [
        (0.99, summary.steps),
        (0.999, summary.steps),
        (0.999, 8_000),
    ] {
        let ema = Ema::new(&task.vs, decay); // only its decay schedule is used
        let share = |m: u64| {
            let before: f64 = (at - m..at).map(|k| ema.decay_at(k)).product();
            100.0 * (1.0 - before)
        };
        println!(
            "{decay:<5}  {at:>7}  {:>12.4}  {:>5.1} % {:>5.1} % {:>5.1} % {:>5.1} %",
            ema.decay_at(at - 1),
            share(10),
            share(50),
            share(100),
            share(150)
        );
    }
    // ANCHOR_END: exercise_ema

    // ANCHOR: exercise_bad_heads
    step("exercise_bad_heads");
    // Five heads cannot split a width of 128 evenly.
    let five_heads = CONFIG.run_toml.replace("num_heads = 4", "num_heads = 5");
    let err = runconfig::from_toml_str::<GeneratorRun>(&five_heads)
        .and_then(|run| run.validate().map(|_| run))
        .expect_err("5 heads of a width of 128 must be refused");
    println!("{err}");
    // ANCHOR_END: exercise_bad_heads

    // ANCHOR: exercise_new_breed
    step("exercise_new_breed");
    // Four Bengals, and the same four tinted teal in a folder of a breed SynthCats lacks.
    let mine = work.join("my-breeds");
    let bengals = split_dir.join("train/Bengal");
    for folder in ["Bengal", "Teal_Bengal"] {
        std::fs::create_dir_all(mine.join(folder))?;
    }
    for name in list_dir(&bengals)?.iter().take(4) {
        let img = image::open(bengals.join(name))?.to_rgb8();
        img.save(mine.join("Bengal").join(name))?;
        let mut teal = img.clone();
        for p in teal.pixels_mut() {
            let [r, g, b] = p.0;
            p.0 = [r / 4, g, b.saturating_add(60)];
        }
        teal.save(mine.join("Teal_Bengal").join(name))?;
    }
    let set = image_folder(&mine, &ImageFolderOptions::default())?;
    for (label, class) in set.classes.iter().enumerate() {
        let n = set.samples.iter().filter(|s| s.label == label).count();
        if n > 0 {
            println!("label {label:>2}  {class:<12} {n} images");
        }
    }
    print!("{}", curate::check(&mine, &CheckOptions::default())?);
    // ANCHOR_END: exercise_new_breed

    Ok(())
}

/// Entries of a folder, sorted by name.
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    names.sort();
    Ok(names)
}

/// A moving average over the last `window` points, to read a noisy loss curve.
fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let window = window.clamp(1, points.len().max(1));
    points
        .windows(window)
        .map(|w| {
            (
                w[w.len() - 1].0,
                w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64,
            )
        })
        .collect()
}
