//! Fine-tune and ship: teach the bundled generator a new breed with LoRA, merge
//! the adapters, export to ONNX, quantize to int8, and package a Hugging Face
//! repository folder.
//!
//! `main` runs the steps in the chapter's order, each one function: the new
//! breed, the adapters and the samples before here, the fine-tuning run and its
//! result in `tuning.rs`, merging, export, quantization and packaging in
//! `ship.rs`, the exercises in `exercises.rs`, and the plotting helpers in
//! `figures.rs`.
//!
//! Run it with `cargo run --release --example 05_finetune_and_ship`.
// verify-docs: timeout_s = 420, budget_s = 60

mod exercises;
mod figures;
mod ship;
mod tuning;

use tuning::{After, Tuned};

// ANCHOR: uses
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use image::RgbImage;
use tch::{Device, Tensor};
use tinycats_core::{DitConfig, Provenance, SampleOptions, Solver};
use tinycats_data::augment::Augment;
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{
    BreedSpec, Loader, LoaderConfig, Source, SynthCats, SynthConfig,
};
use tinycats_models::flow::seeded_noise;
use tinycats_models::lora::{ADAPTER_WEIGHTS, FineTune};
use tinycats_models::runconfig::{self, FineTuneRun};
use tinycats_models::tasks::sample_breeds;
use tinycats_models::trainer::{Ema, FitSummary, Trainer};
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{
    Tolerance, display_path, out_dir, step, tolerance, workspace_root,
};
use tinycats_pipelines::eval::judge_samples;
use tinycats_pipelines::quantization::{pixel_rmse, time_ms, write_variants};
use tinycats_plot::save_png;
use tinycats_runtime::quality::rmse_and_max_abs;
use tinycats_runtime::repo::{CLASSIFIER_ONNX, GENERATOR_ONNX};
use tinycats_runtime::{Classifier, Generator, ModelRepo};

use ship::Merged;
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the new breed's images, the adapters' initialisation, the data
    /// order and the noise.
    seed: u64,
    /// The generator to fine-tune (`config.json` + `model.safetensors`),
    /// relative to the checkout.
    base: &'static str,
    /// The new breed: its name and coat colour (sRGB), a colour none of the 13
    /// classes has.
    new_breed: &'static str,
    new_coat: [u8; 3],
    /// Images of the new breed in the fine-tuning folder.
    new_breed_images: u64,
    /// Images of each base class trained on beside the new breed (0 = the new
    /// breed alone).
    replay_per_breed: u64,
    /// One image in this many (of the new breed and of the replay images) is
    /// held out for validation.
    val_every: usize,
    /// The fine-tuning run (`FineTuneRun`): the new class, the LoRA adapters,
    /// the trainer.
    finetune_toml: &'static str,
    /// Samples drawn to judge the new breed, before and after.
    judge_samples: i64,
    /// A pixel shows the new coat when its colour lies within this distance
    /// (Euclidean, 0–255 sRGB) of `new_coat`.
    coat_radius: f64,
    /// Samples per base breed drawn to check that fine-tuning kept the old
    /// breeds.
    old_breed_samples: i64,
    /// Calls averaged to time each ONNX graph.
    timing_reps: usize,
    /// Sampler settings of every sample in this chapter: Euler, 20 steps,
    /// guidance 4 at every step (the library default before the sampler
    /// sweep). The default now guides only from t = 0.3 on, after the coat
    /// colour is settled; a class learned from 83 images needs the
    /// push early too: at the default, the share of teal coat pixels after
    /// fine-tuning measured 14.9 % instead of the `after` step's figure,
    /// and the step's check failed.
    sampler: SampleOptions,
}

const CONFIG: Config = Config {
    seed: 0,
    base: "assets/generator",
    new_breed: "Teal",
    new_coat: [30, 150, 150],
    new_breed_images: 48,
    replay_per_breed: 4,
    val_every: 6,
    finetune_toml: r#"
new_classes = ["Teal"]
batch_size = 8

[lora]
rank = 8
alpha = 16.0
targets = ["qkv", "proj", "fc1", "fc2"]

[trainer]
max_steps = 200
lr = 4e-3
warmup_steps = 10
ema_decay = 0.95
eval_every = 50
patience = 0
checkpoint_every = 200
log_every = 50
## fp32, so this page's numbers hold on every CPU;
## drop it for bf16 on AMX or AVX-512 BF16
bf16 = false
"#,
    judge_samples: 8,
    coat_radius: 40.0,
    old_breed_samples: 2,
    timing_reps: 3,
    sampler: SampleOptions {
        steps: 20,
        shift: 1.0,
        solver: Solver::Euler,
        cfg_scale: 4.0,
        guidance_interval: [0.0, 1.0],
    },
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    // Training is chaotic: pin libtorch to the kernels every x86-64 CPU has, so
    // that this run prints the same numbers with and without AVX-512
    // (chapter "Train a generator").
    tinycats_models::device::pin_portable_cpu_kernels();
    let work = out_dir().join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?; // every run starts from nothing
    }
    let device = Device::cuda_if_available();
    let nb = new_breed(&work)?;
    let (ft_run, mut ft) = lora(&nb, device)?;
    let before = before(&ft, &nb)?;
    let tuned =
        tuning::finetune(&nb, &ft_run, &mut ft, &before, &work, device)?;
    let after = tuning::after(&ft, &tuned, &before)?;
    let merged =
        ship::merge(&work, &ft, &tuned, &after, before.new_class, device)?;
    let parity = ship::export(&merged)?;
    let table = ship::quantize(&merged, &work)?;
    let measured = ship::Measured {
        before: &before,
        after: &after,
        parity,
        table,
    };
    ship::package(&work, &merged, &ft_run, &tuned, &measured)?;
    exercises::rank(&nb, &ft_run)?;
    exercises::guidance(&merged)?;
    exercises::label_row(&merged)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: new_breed
/// The new breed's images, the replay images of the old breeds, and what
/// rendered them.
struct NewBreed {
    base_dir: PathBuf,
    base_cfg: DitConfig,
    synth: SynthCats,
    spec: BreedSpec,
    new_dir: PathBuf,
    replay_dir: PathBuf,
}

fn new_breed(work: &Path) -> Result<NewBreed> {
    step("new_breed");
    let base_dir = workspace_root().join(CONFIG.base);
    // The images are rendered at the base model's own size.
    let (base_cfg, _) = tinycats_core::ModelConfig::read(&base_dir)?;
    let tinycats_core::ModelConfig::TinyDit(base_cfg) = base_cfg else {
        anyhow::bail!("{} holds no TinyDiT", base_dir.display());
    };
    let spec = BreedSpec::base_cat(CONFIG.new_breed, CONFIG.new_coat);
    let synth = SynthCats::new(SynthConfig {
        size: base_cfg.input_size as u32,
        seed: CONFIG.seed,
        ..SynthConfig::default()
    })?;
    let new_dir = work.join("new-breed");
    let written = synth.write_specs(
        &new_dir,
        std::slice::from_ref(&spec),
        CONFIG.new_breed_images,
    )?;
    println!(
        "wrote {} images of {} (coat {:?}) to {}",
        written.images,
        CONFIG.new_breed,
        CONFIG.new_coat,
        display_path(&new_dir)
    );
    // A few images of the breeds the model already knows, trained on beside the
    // new one, keep the adapters from pulling every breed towards the new
    // coat.
    let replay_dir = work.join("replay");
    let replay = synth.write_dataset(&replay_dir, CONFIG.replay_per_breed)?;
    println!(
        "wrote {} images of the 13 base classes ({} each) to {}",
        replay.images,
        CONFIG.replay_per_breed,
        display_path(&replay_dir)
    );
    let sheet = figures::new_breed_sheet(&synth, &spec);
    let path = save_png(&sheet, out_dir().join("new_breed.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(NewBreed {
        base_dir,
        base_cfg,
        synth,
        spec,
        new_dir,
        replay_dir,
    })
}
// ANCHOR_END: new_breed

// ANCHOR: lora
fn lora(nb: &NewBreed, device: Device) -> Result<(FineTuneRun, FineTune)> {
    step("lora");
    let ft_run: FineTuneRun = runconfig::from_toml_str(CONFIG.finetune_toml)?;
    ft_run.validate()?;
    let lora = ft_run.lora.clone();
    // the adapters' A matrices start random
    tch::manual_seed(CONFIG.seed as i64);
    let ft = FineTune::from_pretrained(
        &nb.base_dir,
        &ft_run.new_classes,
        &lora,
        device,
    )?;
    let (trainable, base) = (ft.trainable_parameters(), ft.base_parameters());
    println!(
        "LoRA rank {}, alpha {}, on {:?}",
        lora.rank, lora.alpha, lora.targets
    );
    println!(
        "trainable {trainable} of {} parameters ({:.2}%): adapters + one label \
         row",
        trainable + base,
        100.0 * trainable as f64 / (trainable + base) as f64
    );
    Ok((ft_run, ft))
}
// ANCHOR_END: lora

// ANCHOR: before
/// The samples before fine-tuning and the measures they are compared by.
struct Before {
    new_class: i64,
    base_breeds: Vec<i64>,
    /// The new class's samples, and the share of their pixels in the new coat.
    samples: Vec<RgbImage>,
    share: f64,
    /// The same share in the training images, and those images.
    data_share: f64,
    reference: Vec<RgbImage>,
    /// Samples of the base breeds, for breed fidelity.
    old: Vec<RgbImage>,
}

/// `n` samples of each of `breeds`, with this chapter's sampler and noise.
fn judge(model: &TinyDit, breeds: &[i64], n: i64) -> Result<Vec<RgbImage>> {
    let x = sample_breeds(model, breeds, n, &CONFIG.sampler, CONFIG.seed)?;
    Ok(images::to_rgb8_all(&x)?)
}

fn before(ft: &FineTune, nb: &NewBreed) -> Result<Before> {
    step("before");
    let new_class = ft.new_class_labels()[0];
    let before = judge(&ft.model, &[new_class], CONFIG.judge_samples)?;
    let before_share = coat_share(&before, CONFIG.new_coat, CONFIG.coat_radius);
    let reference: Vec<RgbImage> = (0..CONFIG.judge_samples as u64)
        .map(|i| nb.synth.render_spec(&nb.spec, i))
        .collect();
    let data_share =
        coat_share(&reference, CONFIG.new_coat, CONFIG.coat_radius);
    println!(
        "new class {new_class} ({}), label row untrained",
        CONFIG.new_breed
    );
    println!(
        "pixels within {} of the coat colour {:?}:",
        CONFIG.coat_radius, CONFIG.new_coat
    );
    println!(
        "  the {} training images  {:>5.1}%",
        CONFIG.new_breed,
        100.0 * data_share
    );
    println!("  samples before          {:>5.1}%", 100.0 * before_share);
    let base_breeds: Vec<i64> = (0..new_class).collect();
    let old_before = judge(&ft.model, &base_breeds, CONFIG.old_breed_samples)?;
    Ok(Before {
        new_class,
        base_breeds,
        samples: before,
        share: before_share,
        data_share,
        reference,
        old: old_before,
    })
}
// ANCHOR_END: before

// ANCHOR: coat_share
/// The share of pixels, over all `images`, whose colour lies within `radius`
/// (Euclidean, 0–255 sRGB) of `coat`: the colour statistic that tells whether
/// samples show the new breed.
fn coat_share(images: &[RgbImage], coat: [u8; 3], radius: f64) -> f64 {
    let (mut near, mut all) = (0u64, 0u64);
    for px in images.iter().flat_map(|img| img.pixels()) {
        let d2: f64 = (0..3)
            .map(|c| (px[c] as f64 - coat[c] as f64).powi(2))
            .sum();
        near += u64::from(d2 <= radius * radius);
        all += 1;
    }
    near as f64 / all.max(1) as f64
}
// ANCHOR_END: coat_share

/// The largest difference of one channel of one pixel between two images of the
/// same size.
fn max_pixel_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}
