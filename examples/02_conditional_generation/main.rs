//! Conditional generation: a cat of a chosen breed from the bundled TinyDiT
//! (EMA weights), sampled by integrating the flow-matching ODE with
//! classifier-free guidance.
//!
//! Generates one cat, all 13 breeds, sweeps of guidance, of its interval in t
//! and of steps, the old and new default side by side, a denoising trajectory
//! and variations. The next chapter's example, `03_measure_generator`, measures
//! the same model's samples.
//!
//! `main` runs the steps in the chapter's order, each one function: loading and
//! sampling here, the sweeps, the trajectory and the variations in `sweeps.rs`,
//! the exercises in `exercises.rs`, and the figure helpers in `figures.rs`.
//!
//! Run it with `cargo run --release --example 02_conditional_generation`
//! (`--features cuda` after `cargo xtask setup --cuda` to sample on a GPU).
// verify-docs: timeout_s = 180, budget_s = 60

mod exercises;
mod figures;
mod sweeps;

// ANCHOR: uses
use std::time::Instant;

use anyhow::Result;
use image::{DynamicImage, RgbImage};
use tch::{Device, Kind, Tensor};
use tinycats_core::permalink::{BOOK_URL, Permalink};
use tinycats_core::{
    Breed, DitConfig, Normalize, SampleOptions, Solver, class_index, timesteps,
};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::flow::{self, seeded_noise};
use tinycats_models::tasks::sample_breeds;
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{display_path, out_dir, step, workspace_root};
use tinycats_pipelines::eval::breed_fidelity;
use tinycats_plot::save_png;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{Classifier, ModelRepo};

use figures::row_labels;
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The generator's folder (`config.json` + `model.safetensors`), relative
    /// to the checkout.
    generator: &'static str,
    /// The model repository whose classifier judges the exercises' cats.
    repo: &'static str,
    /// The breed of the single cat, the sweeps and the variations.
    breed: &'static str,
    /// Seed of every starting noise.
    seed: u64,
    /// Sampler settings used wherever a step does not sweep them: the library
    /// default (Heun, 10 steps, guidance 3 at t in [0.3, 1]), with which
    /// the model card's figures were measured.
    sampler: SampleOptions,
    /// The library's default before the sampler sweep of
    /// `bench/sampler/sweep.md`: Euler, 20 steps, guidance 4 at every
    /// step. The "old and new default" step draws both.
    before: SampleOptions,
    /// Guidance scales of the guidance sweep (0 = unconditional, 1 = no
    /// guidance).
    guidance_sweep: [f64; 7],
    /// The guidance intervals `[from, to]` of the interval strip (t = 0 is the
    /// noise).
    intervals: [[f64; 2]; 6],
    /// Step counts of the steps sweep, each run with Euler and with Heun.
    steps_sweep: [usize; 6],
    /// Euler steps of the trajectory strip.
    trajectory_steps: usize,
    /// Samples in the variations grid.
    variations: i64,
    /// Tiles are drawn this many times larger than the model's 64 px.
    zoom: u32,
}

const CONFIG: Config = Config {
    generator: "assets/generator",
    repo: "assets",
    breed: "Siamese",
    seed: 0,
    sampler: SampleOptions::DEFAULT,
    before: SampleOptions {
        steps: 20,
        shift: 1.0,
        solver: Solver::Euler,
        cfg_scale: 4.0,
        guidance_interval: [0.0, 1.0],
    },
    guidance_sweep: [0.0, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0],
    intervals: [
        [0.0, 1.0],
        [0.0, 0.3],
        [0.3, 0.7],
        [0.7, 1.0],
        [0.2, 0.8],
        [0.3, 1.0],
    ],
    steps_sweep: [1, 2, 4, 8, 16, 32],
    trajectory_steps: 8,
    variations: 8,
    zoom: 2,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    let device = device();
    let mut g = load(device)?;
    let pair = path(&g)?;
    velocity(&g, &pair)?;
    one_cat(&g)?;
    let cats = all_breeds(&g)?;
    sweeps::guidance(&g)?;
    sweeps::interval(&g)?;
    sweeps::new_default(&g)?;
    sweeps::steps(&g)?;
    sweeps::trajectory(&g)?;
    sweeps::variations(&g)?;
    save(&g, &cats)?;
    gpu(&g)?;
    let mut judge = exercises::classifier()?;
    exercises::steps(&mut g, &mut judge)?;
    exercises::unconditional(&g, &mut judge)?;
    exercises::blend(&g, &mut judge)?;
    exercises::interval(&mut g, &mut judge)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: device
fn device() -> Device {
    step("device");
    let device = Device::cuda_if_available();
    println!(
        "device       {}",
        if device.is_cuda() { "CUDA" } else { "CPU" }
    );
    device
}
// ANCHOR_END: device

// ANCHOR: load
/// The generator and what every later step reads from it.
struct Loaded {
    device: Device,
    _vs: tch::nn::VarStore, // owns the weights
    model: TinyDit,
    cfg: DitConfig,
    /// The class index of `CONFIG.breed`.
    breed: i64,
    /// The model's pixel normalisation, into its space and back.
    norm: Normalize,
}

fn load(device: Device) -> Result<Loaded> {
    step("load");
    let (vs, model) =
        TinyDit::load(&workspace_root().join(CONFIG.generator), device)?;
    let cfg = model.config().clone();
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum();
    println!("preset       {} ({params} parameters)", cfg.preset);
    println!(
        "images       {} x {} px, patch {} → {} tokens of width {}",
        cfg.input_size,
        cfg.input_size,
        cfg.patch_size,
        cfg.num_patches(),
        cfg.hidden_size
    );
    println!("blocks       {} with {} heads", cfg.depth, cfg.num_heads);
    println!(
        "breeds       {} + the null class {} for guidance",
        cfg.num_classes,
        model.null_class()
    );
    if let Some(p) = &cfg.provenance {
        println!("trained      {} steps, {}", p.steps, p.date);
    }
    let breed = class_index(
        &cfg.class_names,
        &Breed::Name(CONFIG.breed.into()),
        false,
    )? as i64;
    // Images go into the model's space with its own mean and std, and back out
    // of it.
    let norm = cfg.normalize()?;
    Ok(Loaded {
        device,
        _vs: vs,
        model,
        cfg,
        breed,
        norm,
    })
}
// ANCHOR_END: load

// ANCHOR: path
/// A noise, a real image and the velocity between them.
struct Pair {
    x0: Tensor,
    x1: Tensor,
    target: Tensor,
}

fn path(g: &Loaded) -> Result<Pair> {
    step("path");
    let Loaded {
        cfg, breed, norm, ..
    } = g;
    let synth = SynthCats::new(SynthConfig {
        size: cfg.input_size as u32,
        ..SynthConfig::default()
    })?;
    let cat = synth.render(*breed as usize, SynthSplit::Test.index_offset())?;
    // x1: (1, 3, H, W)
    let x1 = flow::from_unit_range(&images::from_rgb8(&cat).unsqueeze(0), norm);
    let chw = [cfg.in_channels, cfg.input_size, cfg.input_size];
    // the portable noise of the seed
    let x0 = seeded_noise(CONFIG.seed, 1, chw, Device::Cpu);
    let ts = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut tiles = Vec::new();
    for &t in &ts {
        // x_t: (1, 3, H, W)
        let x_t = flow::interpolate(&x0, &x1, &Tensor::from_slice(&[t as f32]));
        let rgb = flow::to_unit_range(&x_t, norm);
        tiles.push(images::to_rgb8(&rgb.get(0))?);
    }
    // the velocity the model learns: the same at every t
    let target = &x1 - &x0;
    println!("x_t = t·x1 + (1 − t)·x0 at t = {ts:?}");
    println!(
        "velocity target x1 − x0: mean {:+.3}, std {:.3}",
        target.mean(Kind::Float).double_value(&[]),
        target.std(true).double_value(&[])
    );
    let path =
        save_png(&figures::path(&tiles, &ts)?, out_dir().join("path.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(Pair { x0, x1, target })
}
// ANCHOR_END: path

// ANCHOR: velocity
fn velocity(g: &Loaded, pair: &Pair) -> Result<()> {
    step("velocity");
    let (Loaded { device, breed, .. }, Pair { x0, x1, target }) = (g, pair);
    let t = Tensor::from_slice(&[0.5f32]).to_device(*device);
    let y = Tensor::from_slice(&[*breed]).to_device(*device);
    let x_half = flow::interpolate(x0, x1, &Tensor::from_slice(&[0.5f32]))
        .to_device(*device);
    let v = tch::no_grad(|| g.model.forward(&x_half, &t, &y)); // (1, 3, H, W)
    let err = (&v.to_device(Device::Cpu) - target)
        .square()
        .mean(Kind::Float)
        .double_value(&[]);
    let base = target.square().mean(Kind::Float).double_value(&[]);
    println!(
        "input x_t {:?}, t {:?}, breed {:?} → velocity {:?}",
        x_half.size(),
        t.size(),
        y.size(),
        v.size()
    );
    println!(
        "squared error vs the true velocity {err:.3} (predicting 0 would score \
         {base:.3})"
    );
    Ok(())
}
// ANCHOR_END: velocity

// ANCHOR: one_cat
fn one_cat(g: &Loaded) -> Result<()> {
    step("one_cat");
    let opts = CONFIG.sampler;
    let started = Instant::now();
    // x: (1, 3, H, W) in [0, 1]
    let x = sample_breeds(&g.model, &[g.breed], 1, &opts, CONFIG.seed)?;
    let took = started.elapsed().as_secs_f64();
    let one = images::to_rgb8(&x.get(0))?;
    let path = save_png(
        &tinycats_plot::upscale_nearest(&one, 4),
        out_dir().join("one_cat.png"),
    )?;
    println!("one {} in {:.0} ms: {opts}", CONFIG.breed, took * 1000.0);
    println!("saved        {}", display_path(&path));
    // The same cat in the book's in-browser page: the seed and settings name
    // it.
    println!("in the page  {}", link(CONFIG.breed, 0, &opts));
    Ok(())
}
// ANCHOR_END: one_cat

// ANCHOR: link
/// The book's in-browser page drawing image `image` of `CONFIG.seed`'s noise as
/// `breed` with `opts`, on the fp32 graph (what libtorch's weights were
/// exported to).
fn link(breed: &str, image: u64, opts: &SampleOptions) -> String {
    Permalink {
        breed: breed.into(),
        seed: CONFIG.seed,
        image,
        options: *opts,
        graph: "fp32".into(),
    }
    .url(BOOK_URL)
}
// ANCHOR_END: link

// ANCHOR: all_breeds
/// Two cats of every breed, breed-major.
fn all_breeds(g: &Loaded) -> Result<Vec<RgbImage>> {
    step("all_breeds");
    let (opts, cfg) = (CONFIG.sampler, &g.cfg);
    let mut tiles = Vec::new();
    for breed in 0..cfg.num_classes {
        // Images 0 and 1 of the seed: the same two noises for every breed.
        // x: (2, 3, H, W)
        let x = sample_breeds(&g.model, &[breed], 2, &opts, CONFIG.seed)?;
        tiles.extend(images::to_rgb8_all(&x)?);
    }
    // a breed per column
    let sheet = figures::all_breeds(&tiles, &cfg.class_names, 2)?;
    let path = save_png(&sheet, out_dir().join("all_breeds.png"))?;
    println!("{} samples, {} per breed", tiles.len(), 2);
    println!("saved        {}", display_path(&path));
    println!("each cat in the book's page (image 0, image 1):");
    for name in &cfg.class_names {
        println!("{name:<18} {}", link(name, 0, &opts));
        println!("{:<18} {}", "", link(name, 1, &opts));
    }
    Ok(tiles)
}
// ANCHOR_END: all_breeds

// ANCHOR: save
fn save(g: &Loaded, cats: &[RgbImage]) -> Result<()> {
    step("save");
    let folder = out_dir().join("cats");
    for (name, two) in g.cfg.class_names.iter().zip(cats.chunks(2)) {
        let file = folder
            .join(format!("{}.png", name.to_lowercase().replace(' ', "_")));
        save_png(&tinycats_plot::side_by_side(two, 2), &file)?;
    }
    println!(
        "saved {} PNGs (2 samples each) in {}",
        g.cfg.class_names.len(),
        display_path(&folder)
    );
    Ok(())
}
// ANCHOR_END: save

// ANCHOR: gpu
fn gpu(g: &Loaded) -> Result<()> {
    step("gpu");
    if tch::Cuda::is_available() {
        let generator = workspace_root().join(CONFIG.generator);
        let (_vs, gpu_model) = TinyDit::load(&generator, Device::Cuda(0))?;
        let all: Vec<i64> = (0..g.cfg.num_classes).collect();
        let started = Instant::now();
        let x =
            sample_breeds(&gpu_model, &all, 8, &CONFIG.sampler, CONFIG.seed)?;
        tch::Cuda::synchronize(0);
        println!(
            "CUDA: {} samples in {:.0} ms",
            x.size()[0],
            started.elapsed().as_secs_f64() * 1000.0
        );
    } else {
        println!("no CUDA device: everything above ran on the CPU");
    }
    Ok(())
}
// ANCHOR_END: gpu
