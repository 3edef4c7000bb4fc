//! Train a generator: your dataset and its curation, the run config, a short
//! TinyDiT training run that is interrupted and resumed, its curves, previews
//! and EMA.
//!
//! `main` runs the steps in the chapter's order, each one function: the data
//! and the config here, training and what it produced in `training.rs`, the
//! bundled generator continued on this data in `warm.rs`, the exercises in
//! `exercises.rs`, and the plotting helpers in `figures.rs`.
//!
//! Run it with `cargo run --release --example 04_train_generator`.
// verify-docs: timeout_s = 420, budget_s = 60

mod exercises;
mod figures;
mod training;
mod warm;

// ANCHOR: uses
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tch::{Device, Kind};
use tinycats_core::{DitConfig, ModelConfig, SampleOptions};
use tinycats_data::augment::Augment;
use tinycats_data::curate::{self, CheckOptions, SplitOptions};
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{Loader, LoaderConfig, Source, SynthCats, SynthConfig};
use tinycats_models::runconfig::{self, GeneratorRun};
use tinycats_models::tasks::{GeneratorTask, sample_breeds};
use tinycats_models::trainer::{
    Ema, FitSummary, TrainTask, Trainer, TrainerConfig, checkpoint,
    read_metrics,
};
use tinycats_models::{TinyDit, io};
use tinycats_notebook::{
    Tolerance, chaotic, chaotic_image, display_path, out_dir, stable, step,
    workspace_root,
};
use tinycats_plot::save_png;

use training::Trained;
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the dataset, the splits, the initialisation, the data order and
    /// the noise.
    seed: u64,
    /// SynthCats images written per breed for the training run.
    per_class: u64,
    /// Side of the written images, in pixels.
    image_size: u32,
    /// Validation and test fractions of the split.
    val_fraction: f32,
    test_fraction: f32,
    /// The run config of the training run, in the TOML a `tinycats
    /// train-generator --config` file would hold: a small model so that it
    /// trains in a minute on a laptop.
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
## the newest four: step 150's survives for the early-stopping step
keep_checkpoints = 4
log_every = 50
preview_every = 100
## fp32, so this page's numbers hold on every CPU;
## drop it for bf16 on AMX or AVX-512 BF16
bf16 = false
"#,
    interrupt_at: 150,
    sampler: SampleOptions::DEFAULT,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    // Training is chaotic: pin libtorch to the kernels every x86-64 CPU has, so
    // that this run prints the same numbers with and without AVX-512 (this
    // chapter says why).
    tinycats_models::device::pin_portable_cpu_kernels();
    let work = out_dir().join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?; // every run starts from nothing
    }
    let raw = dataset(&work)?;
    curate(&raw)?;
    let split_dir = clean_split(&work, &raw)?;
    your_data(&split_dir)?;
    let (run, cfg) = run_config()?;
    presets()?;
    bad_config();
    let device = Device::cuda_if_available();
    let setup = Setup {
        work,
        split_dir,
        run,
        cfg,
        device,
    };
    let first = training::train(&setup)?;
    let trained = training::resume(&setup, first)?;
    training::curves(&trained)?;
    training::previews(&trained)?;
    training::ema(&trained)?;
    training::early_stop(&setup)?;
    warm::warm_start(&setup)?;
    exercises::ema(&trained);
    exercises::bad_heads();
    exercises::new_breed(&setup)?;
    Ok(())
}

/// What the training steps share: the work folder, the split dataset, the run
/// config and its model, and the device.
struct Setup {
    work: PathBuf,
    split_dir: PathBuf,
    run: GeneratorRun,
    cfg: DitConfig,
    device: Device,
}
// ANCHOR_END: main

// ANCHOR: dataset
/// SynthCats written as an ImageFolder: one folder per breed.
fn dataset(work: &Path) -> Result<PathBuf> {
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
    Ok(raw)
}
// ANCHOR_END: dataset

// ANCHOR: curate
fn curate(raw: &Path) -> Result<()> {
    step("curate");
    // What real folders contain: a copy of an image, a file cut off
    // mid-download, a thumbnail.
    let bengal = raw.join("Bengal");
    let first = bengal.join(&list_dir(&bengal)?[0]);
    std::fs::copy(&first, bengal.join("copy_of_first.png"))?;
    let bytes = std::fs::read(&first)?;
    std::fs::write(bengal.join("truncated.png"), &bytes[..bytes.len() / 3])?;
    image::RgbImage::from_pixel(20, 20, image::Rgb([90, 60, 40]))
        .save(bengal.join("thumbnail.png"))?;
    let report = curate::check(raw, &CheckOptions::default())?;
    print!("{report}");
    Ok(())
}
// ANCHOR_END: curate

// ANCHOR: clean_split
fn clean_split(work: &Path, raw: &Path) -> Result<PathBuf> {
    step("clean_split");
    let clean = work.join("synthcats-clean");
    let cleaned = curate::clean(raw, &clean, &CheckOptions::default())?;
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
    println!(
        "split: {tr} train, {va} val, {te} test images in train/, val/, test/"
    );
    Ok(split_dir)
}
// ANCHOR_END: clean_split

// ANCHOR: your_data
fn your_data(split_dir: &Path) -> Result<()> {
    step("your_data");
    // The same loader reads any ImageFolder tree: Oxford-IIIT Pet after
    // `tinycats data split`, or your own photos in one folder per breed.
    let train_set =
        image_folder(&split_dir.join("train"), &ImageFolderOptions::default())?;
    println!(
        "{} training images in {} classes",
        train_set.len(),
        train_set.classes.len()
    );
    println!("classes: {}", train_set.classes.join(", "));
    Ok(())
}
// ANCHOR_END: your_data

// ANCHOR: run_config
fn run_config() -> Result<(GeneratorRun, DitConfig)> {
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
        "trainer: {} steps, lr {}, batch {}, EMA {}, early stopping after {} \
         evaluations without improvement",
        run.trainer.max_steps,
        run.trainer.lr,
        run.batch_size,
        run.trainer
            .ema_decay
            .map_or("off".to_string(), |d| d.to_string()),
        run.trainer.patience
    );
    Ok((run, cfg))
}
// ANCHOR_END: run_config

// ANCHOR: presets
fn presets() -> Result<()> {
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
    Ok(())
}
// ANCHOR_END: presets

// ANCHOR: bad_config
fn bad_config() {
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
}
// ANCHOR_END: bad_config

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
