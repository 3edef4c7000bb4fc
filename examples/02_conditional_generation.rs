//! Conditional generation: a cat of a chosen breed from the bundled TinyDiT (EMA weights),
//! sampled by integrating the flow-matching ODE with classifier-free guidance.
//!
//! Generates one cat, all 13 breeds, sweeps of guidance, of its interval in t and of steps,
//! the old and new default side by side, a denoising trajectory and variations, then measures
//! breed fidelity and quality with the bundled classifier and feature network.
//!
//! Run it with `cargo run --release --example 02_conditional_generation`
//! (`--features cuda` after `cargo xtask setup --cuda` to sample on a GPU).
// verify-docs: timeout_s = 180, budget_s = 120

// ANCHOR: uses
use std::time::Instant;

use anyhow::{Result, ensure};
use image::{DynamicImage, RgbImage};
use tch::{Device, Kind, Tensor};
use tinycats_core::{Breed, SampleOptions, Solver, class_index, timesteps};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::features::FeatureNet;
use tinycats_models::flow::{self, seeded_noise};
use tinycats_models::tasks::sample_breeds;
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{Tolerance, display_path, out_dir, step, tolerance, workspace_root};
use tinycats_pipelines::eval::breed_fidelity;
use tinycats_pipelines::quality::{self, QualityOptions};
use tinycats_plot::{BarChart, Corner, ImageGrid, LineChart, save_png};
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{Classifier, ModelRepo};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The generator's folder (`config.json` + `model.safetensors`), relative to the checkout.
    generator: &'static str,
    /// The model repository whose classifier judges breed fidelity.
    repo: &'static str,
    /// The breed of the single cat, the sweeps and the variations.
    breed: &'static str,
    /// Seed of every starting noise.
    seed: u64,
    /// Sampler settings used wherever a step does not sweep them: the library default
    /// (Heun, 10 steps, guidance 3 at t in [0.3, 1]), with which the model card's figures
    /// were measured.
    sampler: SampleOptions,
    /// The library's default before the sampler sweep of `bench/sampler/sweep.md`: Euler,
    /// 20 steps, guidance 4 at every step. The "old and new default" step draws both.
    before: SampleOptions,
    /// Guidance scales of the guidance sweep (0 = unconditional, 1 = no guidance).
    guidance_sweep: [f64; 7],
    /// The guidance intervals `[from, to]` of the interval strip (t = 0 is the noise).
    intervals: [[f64; 2]; 6],
    /// Step counts of the steps sweep, each run with Euler and with Heun.
    steps_sweep: [usize; 6],
    /// Euler steps of the trajectory strip.
    trajectory_steps: usize,
    /// Samples in the variations grid.
    variations: i64,
    /// Samples per breed for the breed-fidelity measurement. The model card's figure uses 50
    /// (`tinycats eval generator --per-breed 50`, about 2½ minutes on 2 cores); the book's
    /// run uses fewer to stay within its time budget.
    fidelity_per_breed: usize,
    /// Fidelity below which this example fails: the bundled model's promise.
    min_fidelity: f64,
    /// The SynthCats feature network the quality step measures in.
    features: &'static str,
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
    fidelity_per_breed: 16,
    min_fidelity: 0.80,
    features: "assets/features",
    zoom: 2,
};
// ANCHOR_END: config

fn main() -> Result<()> {
    // ANCHOR: device
    step("device");
    let device = Device::cuda_if_available();
    println!(
        "device       {}",
        if device.is_cuda() { "CUDA" } else { "CPU" }
    );
    // ANCHOR_END: device

    // ANCHOR: load
    step("load");
    let root = workspace_root();
    let (vs, model) = TinyDit::load(&root.join(CONFIG.generator), device)?;
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
    let breed = class_index(&cfg.class_names, &Breed::Name(CONFIG.breed.into()), false)? as i64;
    // Images go into the model's space with its own mean and std, and back out of it.
    let norm = cfg.normalize()?;
    // ANCHOR_END: load

    // ANCHOR: path
    step("path");
    let synth = SynthCats::new(SynthConfig {
        size: cfg.input_size as u32,
        ..SynthConfig::default()
    })?;
    let cat = synth.render(breed as usize, SynthSplit::Test.index_offset())?;
    let x1 = flow::from_unit_range(&images::from_rgb8(&cat).unsqueeze(0), &norm); // (1, 3, H, W)
    let chw = [cfg.in_channels, cfg.input_size, cfg.input_size];
    let x0 = seeded_noise(CONFIG.seed, 1, chw, Device::Cpu); // the portable noise of the seed
    let ts = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut tiles = Vec::new();
    for &t in &ts {
        let x_t = flow::interpolate(&x0, &x1, &Tensor::from_slice(&[t as f32])); // (1, 3, H, W)
        let rgb = flow::to_unit_range(&x_t, &norm);
        tiles.push(images::to_rgb8(&rgb.get(0))?);
    }
    let target = &x1 - &x0; // the velocity the model learns: the same at every t
    println!("x_t = t·x1 + (1 − t)·x0 at t = {ts:?}");
    println!(
        "velocity target x1 − x0: mean {:+.3}, std {:.3}",
        target.mean(Kind::Float).double_value(&[]),
        target.std(true).double_value(&[])
    );
    let grid = ImageGrid::new(ts.len())
        .scale(CONFIG.zoom)
        .col_labels(ts.iter().map(|t| format!("t = {t}")).collect())
        .title("the straight path from noise (t = 0) to a SynthCats test image (t = 1)")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("path.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: path

    // ANCHOR: velocity
    step("velocity");
    let t = Tensor::from_slice(&[0.5f32]).to_device(device);
    let y = Tensor::from_slice(&[breed]).to_device(device);
    let x_half = flow::interpolate(&x0, &x1, &Tensor::from_slice(&[0.5f32])).to_device(device);
    let v = tch::no_grad(|| model.forward(&x_half, &t, &y)); // (1, 3, H, W)
    let err = (&v.to_device(Device::Cpu) - &target)
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
    println!("squared error vs the true velocity {err:.3} (predicting 0 would score {base:.3})");
    // ANCHOR_END: velocity

    // ANCHOR: one_cat
    step("one_cat");
    let opts = CONFIG.sampler;
    let started = Instant::now();
    let x = sample_breeds(&model, &[breed], 1, &opts, CONFIG.seed)?; // (1, 3, H, W) in [0, 1]
    let took = started.elapsed().as_secs_f64();
    let one = images::to_rgb8(&x.get(0))?;
    let path = save_png(
        &tinycats_plot::upscale_nearest(&one, 4),
        out_dir().join("one_cat.png"),
    )?;
    println!("one {} in {:.0} ms: {opts}", CONFIG.breed, took * 1000.0);
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: one_cat

    // ANCHOR: all_breeds
    step("all_breeds");
    let all: Vec<i64> = (0..cfg.num_classes).collect();
    let x = sample_breeds(&model, &all, 2, &opts, CONFIG.seed)?; // (2·13, 3, H, W), breed-major
    let tiles = images::to_rgb8_all(&x)?;
    // Breed-major to one breed per column, two rows.
    let by_row: Vec<RgbImage> = (0..2)
        .flat_map(|r| (0..all.len()).map(move |b| b * 2 + r))
        .map(|i| tiles[i].clone())
        .collect();
    let grid = ImageGrid::new(all.len())
        .scale(CONFIG.zoom)
        .col_labels(cfg.class_names.iter().map(|n| label(n)).collect())
        .title("two samples of every breed")
        .render(&by_row)?;
    let path = save_png(&grid, out_dir().join("all_breeds.png"))?;
    println!("{} samples, {} per breed", tiles.len(), 2);
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: all_breeds

    // ANCHOR: guidance
    step("guidance");
    let breeds = [breed, 0, 3]; // the chosen breed, Abyssinian and Bombay
    let breed_names: Vec<String> = breeds
        .iter()
        .map(|&b| cfg.class_names[b as usize].replace('_', " "))
        .collect();
    let mut tiles = Vec::new();
    for &b in &breeds {
        for &scale in &CONFIG.guidance_sweep {
            // Guidance at every step (the old default's sampler), so only the scale moves.
            let o = SampleOptions {
                cfg_scale: scale,
                ..CONFIG.before
            };
            let x = sample_breeds(&model, &[b], 1, &o, CONFIG.seed)?;
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    let grid = ImageGrid::new(CONFIG.guidance_sweep.len())
        .scale(CONFIG.zoom)
        .col_labels(
            CONFIG
                .guidance_sweep
                .iter()
                .map(|s| format!("w = {s}"))
                .collect(),
        )
        .row_labels(breed_names.clone())
        .title("guidance scale w, same noise in every row")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("guidance.png"))?;
    println!("scales       {:?}", CONFIG.guidance_sweep);
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: guidance

    // ANCHOR: interval
    step("interval");
    // Guidance w = 4 only while t is in [from, to]; the other steps follow the breed's own
    // velocity and cost one network evaluation instead of two.
    let guided_in = |interval: [f64; 2]| SampleOptions {
        guidance_interval: interval,
        ..CONFIG.before
    };
    let mut tiles = Vec::new();
    for &b in &breeds {
        for &interval in &CONFIG.intervals {
            let x = sample_breeds(&model, &[b], 1, &guided_in(interval), CONFIG.seed)?;
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    println!("interval     network evaluations per image");
    for &[from, to] in &CONFIG.intervals {
        let evaluations = guided_in([from, to]).network_evaluations();
        println!("[{from}, {to}]   {evaluations:>3}");
    }
    let grid = ImageGrid::new(CONFIG.intervals.len())
        .scale(CONFIG.zoom)
        .col_labels(
            CONFIG
                .intervals
                .iter()
                .map(|[a, b]| format!("[{a}, {b}]"))
                .collect(),
        )
        .row_labels(breed_names.clone())
        .title("guidance w = 4 only while t is in the column's [from, to]; same noise in a row")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("interval.png"))?;
    println!("saved        {}", display_path(&path));
    // Where each default guides: the scale each step starts with, held over the step.
    let scale_over_t = |o: &SampleOptions| -> Vec<(f64, f64)> {
        let times = o.times();
        let steps = times.windows(2);
        steps
            .flat_map(|w| [(w[0], o.guidance_at(w[0])), (w[1], o.guidance_at(w[0]))])
            .collect()
    };
    let chart = LineChart::new(
        "where in t guidance acts",
        "t (0 = noise, 1 = data)",
        "guidance scale",
    )
    .series(
        format!("before: {}", CONFIG.before),
        scale_over_t(&CONFIG.before),
    )
    .series(format!("default: {opts}"), scale_over_t(&opts))
    .y_range(0.0, 5.0)
    .legend(Corner::LowerRight); // below both lines where guidance acts

    let path = save_png(&chart.render(640, 300)?, out_dir().join("interval_t.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: interval

    // ANCHOR: new_default
    step("new_default");
    // Every breed from the same noise, with the old default and with the new one.
    let mut tiles = Vec::new();
    for o in [&CONFIG.before, &opts] {
        let x = sample_breeds(&model, &all, 1, o, CONFIG.seed + 7)?; // one per breed
        tiles.extend(images::to_rgb8_all(&x)?);
        println!(
            "{o}: {} network evaluations per image",
            o.network_evaluations()
        );
    }
    let grid = ImageGrid::new(all.len())
        .scale(CONFIG.zoom)
        .col_labels(cfg.class_names.iter().map(|n| label(n)).collect())
        .row_labels(vec!["before".into(), "now".into()])
        .title("the old default (guidance 4 at every step) and the new one, same noise")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("new_default.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: new_default

    // ANCHOR: steps
    step("steps");
    let reference = sample_breeds(
        &model,
        &[breed],
        1,
        &SampleOptions {
            steps: 64,
            solver: Solver::Heun,
            ..opts
        },
        CONFIG.seed,
    )?;
    let mut tiles = Vec::new();
    println!("solver  steps  evaluations  RMSE vs Heun-64  time/image");
    for solver in [Solver::Euler, Solver::Heun] {
        for &steps in &CONFIG.steps_sweep {
            let o = SampleOptions {
                steps,
                solver,
                ..opts
            };
            let started = Instant::now();
            let x = sample_breeds(&model, &[breed], 1, &o, CONFIG.seed)?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let rmse = (&x - &reference)
                .square()
                .mean(Kind::Float)
                .sqrt()
                .double_value(&[]);
            let evals = o.velocity_evaluations(); // Heun's last step is an Euler step
            println!("{solver:<6}  {steps:>5}  {evals:>11}  {rmse:>15.4}  {ms:.1} ms");
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    let grid = ImageGrid::new(CONFIG.steps_sweep.len())
        .scale(CONFIG.zoom)
        .col_labels(
            CONFIG
                .steps_sweep
                .iter()
                .map(|&s| format!("{s} step{}", if s == 1 { "" } else { "s" }))
                .collect(),
        )
        .row_labels(vec!["Euler".into(), "Heun".into()])
        .title("integration steps, same noise")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("steps.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: steps

    // ANCHOR: trajectory
    step("trajectory");
    // Euler by hand — the loop that `flow::sample` runs, written out on purpose —
    // keeping x_t and the model's guess of the final image, x̂₁ = x_t + (1 − t)·v̂.
    let noise = seeded_noise(CONFIG.seed, 1, chw, device);
    let y = Tensor::from_slice(&[breed]).to_device(device);
    let mut seen = Vec::new(); // (t, x_t, x̂₁)
    let mut x = noise;
    for w in timesteps(CONFIG.trajectory_steps, opts.shift).windows(2) {
        let (t, dt) = (w[0], w[1] - w[0]);
        let tt = Tensor::full([1], t, (Kind::Float, device));
        let w = opts.guidance_at(t); // the guidance scale, 1 outside the interval
        let v = tch::no_grad(|| model.forward_with_cfg(&x, &tt, &y, w));
        seen.push((t, x.shallow_clone(), &x + &v * (1.0 - t)));
        x = &x + &v * dt;
    }
    seen.push((1.0, x.shallow_clone(), x)); // the sample itself, at t = 1
    let to_tile = |x: &Tensor| images::to_rgb8(&flow::to_unit_range(x, &norm).get(0));
    let mut tiles = Vec::new();
    for row in 0..2 {
        for (_, x_t, x1_hat) in &seen {
            tiles.push(to_tile(if row == 0 { x_t } else { x1_hat })?);
        }
    }
    let grid = ImageGrid::new(seen.len())
        .scale(CONFIG.zoom)
        .col_labels(seen.iter().map(|(t, _, _)| format!("t = {t:.3}")).collect())
        .row_labels(vec!["x_t".into(), "guess of x1".into()])
        .title("denoising: where the sampler is, and where it thinks it is going")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("trajectory.png"))?;
    println!(
        "{} Euler steps; x_t at t = {:?}",
        seen.len() - 1,
        seen.iter()
            .map(|(t, _, _)| (t * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: trajectory

    // ANCHOR: variations
    step("variations");
    let x = sample_breeds(&model, &[breed], CONFIG.variations, &opts, CONFIG.seed + 1)?;
    let spread = x
        .std_dim(0, true, false)
        .mean(Kind::Float)
        .double_value(&[]);
    let grid = ImageGrid::new(CONFIG.variations as usize)
        .scale(CONFIG.zoom)
        .title(format!(
            "{} variations of {}",
            CONFIG.variations, CONFIG.breed
        ))
        .render(&images::to_rgb8_all(&x)?)?;
    let path = save_png(&grid, out_dir().join("variations.png"))?;
    println!(
        "per-pixel std across the {} samples: {spread:.3}",
        CONFIG.variations
    );
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: variations

    // ANCHOR: judge
    step("judge");
    let repo = ModelRepo::resolve(&root.join(CONFIG.repo).to_string_lossy(), false)?;
    let mut judge = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    let verdict = judge.classify(&DynamicImage::ImageRgb8(one), 3)?;
    println!("the one {} above, as the classifier sees it:", CONFIG.breed);
    for p in &verdict {
        println!("  {:<18} {:>5.1}%", p.name, 100.0 * p.probability);
    }
    // ANCHOR_END: judge

    // ANCHOR: fidelity
    step("fidelity");
    let started = Instant::now();
    // Every breed from its own seed (`seed + 100 + breed`), judged by the classifier.
    let mut generator = model; // `breed_fidelity` takes either back-end's generator
    let fidelity = breed_fidelity(
        &mut generator,
        &mut judge,
        CONFIG.fidelity_per_breed,
        &opts,
        CONFIG.seed + 100,
    )?;
    let report = &fidelity.report;
    println!(
        "{} samples in {:.1} s",
        fidelity.samples.len(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", report.table("breed fidelity"));
    let chart = BarChart::new(
        "breed fidelity: the classifier agrees with the requested breed",
        report.class_names.clone(),
        (0..all.len())
            .map(|i| 100.0 * report.of(i).unwrap_or(0.0))
            .collect(),
    )
    .value_label("agreement (%)")
    .range(0.0, 100.0);
    let path = save_png(&chart.render(640, 400)?, out_dir().join("fidelity.png"))?;
    println!("saved        {}", display_path(&path));
    ensure!(
        report.mean_per_breed() >= CONFIG.min_fidelity,
        "breed fidelity {:.3} is below the promised {}",
        report.mean_per_breed(),
        CONFIG.min_fidelity
    );
    // ANCHOR_END: fidelity

    // ANCHOR: quality
    step("quality");
    // The same samples in the SynthCats feature network's space, against real test renders.
    // Features are sums over thousands of pixels: on another CPU they move in the last digits.
    tolerance(Tolerance::relative(0.02));
    let started = Instant::now();
    let (_fvs, features) = FeatureNet::load(&workspace_root().join(CONFIG.features), Device::Cpu)?;
    let q = quality::measure(&features, &fidelity.samples, &QualityOptions::default())?;
    println!(
        "{} generated vs {} real images in {:.1} s",
        q.images,
        q.images,
        started.elapsed().as_secs_f64()
    );
    println!(
        "Fréchet distance  {:.2}  (real vs real: {:.2}, ratio {:.1}×)",
        q.fd, q.fd_real_real, q.fd_ratio
    );
    println!("precision         {:.3}", q.precision);
    println!("recall            {:.3}", q.recall);
    println!("sharpness         {:.3}  (generated / real)", q.sharpness);
    println!(
        "patch seams       {:.3}  (real: {:.3})",
        q.seams, q.seams_real
    );
    // ANCHOR_END: quality

    // ANCHOR: save
    step("save");
    let folder = out_dir().join("cats");
    for (i, name) in cfg.class_names.iter().enumerate() {
        let file = folder.join(format!("{}.png", name.to_lowercase().replace(' ', "_")));
        save_png(
            &tiles_of(&fidelity.samples, i, CONFIG.fidelity_per_breed),
            &file,
        )?;
    }
    println!(
        "saved {} PNGs (4 samples each) in {}",
        cfg.class_names.len(),
        display_path(&folder)
    );
    // ANCHOR_END: save

    // ANCHOR: gpu
    step("gpu");
    if tch::Cuda::is_available() {
        let (_vs, gpu_model) = TinyDit::load(&root.join(CONFIG.generator), Device::Cuda(0))?;
        let started = Instant::now();
        let x = sample_breeds(&gpu_model, &all, 8, &opts, CONFIG.seed)?;
        tch::Cuda::synchronize(0);
        println!(
            "CUDA: {} samples in {:.0} ms",
            x.size()[0],
            started.elapsed().as_secs_f64() * 1000.0
        );
    } else {
        println!("no CUDA device: everything above ran on the CPU");
    }
    // ANCHOR_END: gpu

    // ANCHOR: exercise_steps
    step("exercise_steps");
    // One cat per breed at 1, 2, 4 and 8 Euler steps, each judged by the classifier.
    println!("steps  breed fidelity (13 cats)");
    for steps in [1, 2, 4, 8] {
        let o = SampleOptions {
            steps,
            solver: Solver::Euler,
            ..opts
        };
        let f = breed_fidelity(&mut generator, &mut judge, 1, &o, CONFIG.seed + 200)?;
        println!("{steps:>5}  {:>5.1}%", 100.0 * f.report.overall());
    }
    // ANCHOR_END: exercise_steps

    // ANCHOR: exercise_unconditional
    step("exercise_unconditional");
    // Guidance 0 at every step follows the null class only: what does the model draw with
    // no breed? (Outside a guidance interval the breed's own velocity would steer.)
    let o = SampleOptions {
        cfg_scale: 0.0,
        guidance_interval: [0.0, 1.0],
        ..opts
    };
    let x = sample_breeds(&generator, &[0], 26, &o, CONFIG.seed + 300)?; // the breed is ignored
    let mut counts = std::collections::BTreeMap::new();
    for img in images::to_rgb8_all(&x)? {
        let top = judge.classify(&DynamicImage::ImageRgb8(img), 1)?;
        *counts.entry(top[0].name.clone()).or_insert(0) += 1;
    }
    println!("26 unconditional samples, as the classifier names them:");
    for (name, n) in &counts {
        println!("  {name:<18} {n}");
    }
    // ANCHOR_END: exercise_unconditional

    // ANCHOR: exercise_blend
    step("exercise_blend");
    // Follow a blend of two breeds' guided velocities, (1 − a)·v(Siamese) + a·v(Bombay),
    // from the same noise.
    let (from, to) = (breed, 3); // the chosen breed and Bombay
    let noise = seeded_noise(CONFIG.seed, 1, chw, device);
    let mut tiles = Vec::new();
    println!("a     the classifier's top breed");
    for a in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = tinycats_core::integrate(
            flow::Tch(noise.shallow_clone()),
            &timesteps(opts.steps, opts.shift),
            opts.solver,
            |x: &flow::Tch, t| -> Result<flow::Tch> {
                let tt = Tensor::full([1], t, (Kind::Float, device));
                let v = |b: i64| {
                    let y = Tensor::from_slice(&[b]).to_device(device);
                    let w = opts.guidance_at(t); // 1 outside the guidance interval
                    tch::no_grad(|| generator.forward_with_cfg(&x.0, &tt, &y, w))
                };
                Ok(flow::Tch(v(from) * (1.0 - a) + v(to) * a))
            },
            |_| {},
        )?
        .0;
        let img = images::to_rgb8(&flow::to_unit_range(&x, &norm).get(0))?;
        let top = judge.classify(&DynamicImage::ImageRgb8(img.clone()), 1)?;
        println!(
            "{a:<4}  {} ({:.0}%)",
            top[0].name,
            100.0 * top[0].probability
        );
        tiles.push(img);
    }
    let grid = ImageGrid::new(tiles.len())
        .scale(CONFIG.zoom)
        .col_labels(
            ["a = 0", "0.25", "0.5", "0.75", "1"]
                .map(String::from)
                .to_vec(),
        )
        .title(format!(
            "from {} (a = 0) to Bombay (a = 1), same noise",
            CONFIG.breed
        ))
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("blend.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: exercise_blend

    // ANCHOR: exercise_interval
    step("exercise_interval");
    // Guidance 4 only early, only in the middle, only late: which part buys the breed?
    println!("interval     breed fidelity (13 cats)  network evaluations");
    for interval in [[0.0, 0.3], [0.3, 0.7], [0.7, 1.0]] {
        let o = SampleOptions {
            guidance_interval: interval,
            ..CONFIG.before
        };
        let f = breed_fidelity(&mut generator, &mut judge, 1, &o, CONFIG.seed + 400)?;
        println!(
            "{:<12} {:>5.1}%  {:>27}",
            format!("{interval:?}"),
            100.0 * f.report.overall(),
            o.network_evaluations()
        );
    }
    // ANCHOR_END: exercise_interval
    Ok(())
}

/// A column label for a breed: `British_Shorthair` → `British Shorthair` (17 characters fit
/// a 128-pixel tile).
fn label(name: &str) -> String {
    name.replace('_', " ")
}

/// The first four samples of breed `b` (breed-major, `per_breed` each) side by side.
fn tiles_of(samples: &[RgbImage], b: usize, per_breed: usize) -> RgbImage {
    tinycats_plot::side_by_side(&samples[b * per_breed..][..4.min(per_breed)], 2)
}
