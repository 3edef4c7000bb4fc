//! Measuring a generator: the bundled TinyDiT's samples judged by the bundled
//! classifier (breed fidelity, and how much of it guidance buys), then compared
//! with real SynthCats renders in the space of the SynthCats feature network
//! (Fréchet distance, precision and recall) and on their pixels (sharpness,
//! patch seams).
//!
//! `main` runs the steps in the chapter's order, each one function: loading
//! here, the measurements in `measure.rs`, the exercise in `exercises.rs`, and
//! the figure in `figures.rs`.
//!
//! Run it with `cargo run --release --example 03_measure_generator`
//! (`--features cuda` after `cargo xtask setup --cuda` to sample on a GPU).
// verify-docs: timeout_s = 180, budget_s = 60

mod exercises;
mod figures;
mod measure;

// ANCHOR: uses
use std::time::Instant;

use anyhow::{Result, ensure};
use image::DynamicImage;
use tch::Device;
use tinycats_core::{Breed, SampleOptions, class_index};
use tinycats_models::features::FeatureNet;
use tinycats_models::tasks::sample_breeds;
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{
    Tolerance, display_path, out_dir, step, tolerance, workspace_root,
};
use tinycats_pipelines::eval::{Fidelity, breed_fidelity};
use tinycats_pipelines::quality::{self, QualityOptions};
use tinycats_plot::save_png;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{Classifier, ModelRepo};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The generator's folder (`config.json` + `model.safetensors`), relative
    /// to the checkout.
    generator: &'static str,
    /// The model repository whose classifier judges breed fidelity.
    repo: &'static str,
    /// The breed of the first cat, the one the classifier judges alone.
    breed: &'static str,
    /// Seed of every starting noise.
    seed: u64,
    /// Sampler settings of every measurement: the library default (Heun, 10
    /// steps, guidance 3 at t in [0.3, 1]), with which the model card's
    /// figures were measured.
    sampler: SampleOptions,
    /// Samples per breed for the breed-fidelity measurement. The model card's
    /// figure uses 50 (`tinycats eval generator --per-breed 50`, about 2½
    /// minutes on 2 cores); the book's run uses fewer to stay within its
    /// time budget.
    fidelity_per_breed: usize,
    /// Guidance scales of the fidelity-against-guidance step (at the sampler's
    /// interval).
    fidelity_scales: [f64; 5],
    /// Samples per breed at each of those scales.
    guidance_per_breed: usize,
    /// Fidelity below which this example fails: the bundled model's promise.
    min_fidelity: f64,
    /// The SynthCats feature network the quality step measures in.
    features: &'static str,
}

const CONFIG: Config = Config {
    generator: "assets/generator",
    repo: "assets",
    breed: "Siamese",
    seed: 0,
    sampler: SampleOptions::DEFAULT,
    fidelity_per_breed: 8,
    fidelity_scales: [0.0, 1.0, 2.0, 3.0, 4.0],
    guidance_per_breed: 2,
    min_fidelity: 0.80,
    features: "assets/features",
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    let mut g = load()?;
    let mut judge = measure::judge(&g)?;
    let fidelity = measure::fidelity(&mut g, &mut judge)?;
    measure::fidelity_guidance(&mut g, &mut judge)?;
    measure::quality(&fidelity)?;
    exercises::sample_size(&fidelity)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: load
/// The generator, as the generation chapter loaded it.
struct Loaded {
    _vs: tch::nn::VarStore, // owns the weights
    model: TinyDit,
    /// The class index of `CONFIG.breed`.
    breed: i64,
}

fn load() -> Result<Loaded> {
    step("load");
    let device = Device::cuda_if_available();
    let (vs, model) =
        TinyDit::load(&workspace_root().join(CONFIG.generator), device)?;
    let cfg = model.config().clone();
    let breed = class_index(
        &cfg.class_names,
        &Breed::Name(CONFIG.breed.into()),
        false,
    )? as i64;
    println!(
        "{}: {} classes, on the {}",
        CONFIG.generator,
        cfg.num_classes,
        if device.is_cuda() { "GPU" } else { "CPU" }
    );
    println!("sampler      {}", CONFIG.sampler);
    Ok(Loaded {
        _vs: vs,
        model,
        breed,
    })
}
// ANCHOR_END: load
