//! Flow matching from scratch: a two-dimensional toy where every quantity can
//! be drawn and the exact answer is known.
//!
//! The data are points on a line drawing of a cat's face, in two classes (the
//! outline, and the eyes, nose and whiskers). A small MLP learns the velocity
//! field that carries Gaussian noise onto them; the example compares what it
//! learned with the exact marginal field, samples with the same integration
//! loop that samples cats, and measures Euler against Heun, uniform against
//! logit-normal times, and classifier-free guidance.
//!
//! `main` runs the steps in the chapter's order, each one function: the data,
//! the network and its training here, what it learned and its samples in
//! `learned.rs`, the solver, time-sampling, ablation and guidance studies in
//! `study.rs`, the export of the network for the chapter's in-page playground
//! in `playground.rs`, the exercises in `exercises.rs`; the network and its
//! training in `network.rs`, the toy data and small measures in `toy.rs`, and
//! the drawing of every figure in `figures.rs`.
//!
//! Run it with `cargo run --release --example 09_flow_matching_from_scratch`.
// verify-docs: timeout_s = 300, budget_s = 60

mod exercises;
mod figures;
mod learned;
mod network;
mod playground;
mod study;
mod toy;

use network::{
    CLASS_DIM, EvalBatch, Measured, Prediction, VelocityMlp, XFREQS,
    exact_velocity, field_error, retrain, train_velocity, velocity,
};
use toy::{
    Toy, chord, grid_points, nearest_class, normal, null, off_shape,
    path_length, point, rms, spread_indices, sq_norm_mean,
};

// ANCHOR: uses
use std::f64::consts::PI;
use std::time::Instant;

use anyhow::{Result, ensure};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};
use tinycats_core::noise::{fill, philox4x32_10};
use tinycats_core::{SampleOptions, Solver, guide, integrate, timesteps};
use tinycats_models::flow::{Tch, TimeSampling};
use tinycats_models::trainer::Ema;
use tinycats_notebook::{display_path, out_dir, step};
use tinycats_plot::save_png;
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the toy data, the evaluation noise and the network's initial
    /// weights.
    seed: u64,
    /// Training points per class (a second, held-out set of the same size is
    /// drawn too).
    points_per_class: usize,
    /// How far points scatter around the drawing (standard deviation, in plane
    /// units).
    jitter: f64,
    /// Width of the MLP's three hidden layers.
    hidden: i64,
    /// Training steps, batch size, and the AdamW learning rate (decayed
    /// linearly to 0).
    steps: usize,
    batch: i64,
    lr: f64,
    /// Decay of the moving average of the weights (as TinyDiT's trainer keeps
    /// one).
    ema_decay: f64,
    /// Probability that a training example's class is replaced by the null
    /// class, so that one network learns the conditional and the
    /// unconditional field (for guidance).
    label_dropout: f64,
    /// Samples per picture and per measurement.
    samples: usize,
    /// Euler steps of the sample and trajectory pictures.
    sample_steps: usize,
    /// Step counts of the Euler-against-Heun sweep.
    steps_sweep: [usize; 6],
    /// Guidance scales of the guidance sweep (0 = unconditional, 1 = no
    /// guidance).
    guidance_sweep: [f64; 4],
}

const CONFIG: Config = Config {
    seed: 0,
    points_per_class: 2000,
    jitter: 0.03,
    hidden: 256,
    steps: 5000,
    batch: 256,
    lr: 3e-3,
    ema_decay: 0.999,
    label_dropout: 0.2,
    samples: 2000,
    sample_steps: 32,
    steps_sweep: [1, 2, 4, 8, 16, 32],
    guidance_sweep: [0.0, 1.0, 2.0, 4.0],
};
// ANCHOR_END: config

/// The classes: 0 and 1 are the two parts of the drawing, 2 is "no class" for
/// guidance.
const CLASSES: [&str; 2] = ["outline", "features"];
const NULL_CLASS: i64 = 2;
/// Frequencies of the time features: π, 2π, 4π, …
const FREQS: i64 = 6;
/// The plane drawn in every picture: [-EXTENT, EXTENT]².
const EXTENT: f64 = 3.0;
const FLOAT: (Kind, Device) = (Kind::Float, Device::Cpu);

// ANCHOR: main
fn main() -> Result<()> {
    // Training is chaotic: pin libtorch to the kernels every x86-64 CPU has, so
    // that this run prints the same numbers with and without AVX-512
    // (chapter "Train a generator").
    tinycats_models::device::pin_portable_cpu_kernels();
    let data = data()?;
    paths(&data)?;
    let (mut vs, model) = model();
    let trained = train(&mut vs, &model, &data.train)?;
    learned::marginal(&model, &data.train)?;
    learned::field(&model, &data.train)?;
    learned::sample(&model, &data)?;
    study::solvers(&model, &data.train)?;
    let logit_normal =
        study::time_sampling(&model, &data.train, &trained.eval)?;
    study::ablations(&vs, &model, &data.train, &trained, logit_normal)?;
    study::guidance(&model, &data.train)?;
    playground::playground(&vs, &model, &data.train)?;
    exercises::exact(&data)?;
    exercises::pairing(&data.train)?;
    exercises::shift(&model, &data.train)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: data
/// The toy data: the points the network learns from, a held-out set of the same
/// drawing, and a noise sample.
struct Data {
    train: Toy,
    held_out: Toy,
    noise: Tensor,
}

fn data() -> Result<Data> {
    step("data");
    let train = Toy::draw(CONFIG.seed, 0)?; // what the network learns from
    // the same drawing, other points: a yardstick
    let held_out = Toy::draw(CONFIG.seed, 1)?;
    let noise = normal(CONFIG.seed + 1, 0, CONFIG.samples as i64);
    println!(
        "{} training points: {} on the {}, {} on the {}",
        train.len(),
        CONFIG.points_per_class,
        CLASSES[0],
        CONFIG.points_per_class,
        CLASSES[1]
    );
    println!(
        "data mean ({:+.2}, {:+.2}), std ({:.2}, {:.2}); noise N(0, I)",
        train
            .points
            .mean_dim(0, false, Kind::Float)
            .double_value(&[0]),
        train
            .points
            .mean_dim(0, false, Kind::Float)
            .double_value(&[1]),
        train.points.std_dim(0, true, false).double_value(&[0]),
        train.points.std_dim(0, true, false).double_value(&[1]),
    );
    let picture =
        figures::noise_and_data(&noise, [&train.class(0), &train.class(1)])?;
    let path = save_png(&picture, out_dir().join("data.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(Data {
        train,
        held_out,
        noise,
    })
}
// ANCHOR_END: data

// ANCHOR: paths
fn paths(data: &Data) -> Result<()> {
    step("paths");
    // Pair noise with data at random, and draw the straight line x_t = t·x1 +
    // Data: (1 − t)·x0.
    let Data { train, noise, .. } = data;
    let pairs = 32;
    let x0 = noise.narrow(0, 0, pairs); // (32, 2)
    let x1 = train
        .points
        .index_select(0, &spread_indices(train.len(), pairs));
    let half = (&x0 + &x1) * 0.5; // every x_t at t = 0.5
    let picture = figures::straight_paths(&train.points, &x0, &half, &x1)?;
    let path = save_png(&picture, out_dir().join("paths.png"))?;
    println!("{pairs} random pairs, velocity x1 − x0 constant along each line");
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: paths

// ANCHOR: model
fn model() -> (nn::VarStore, VelocityMlp) {
    step("model");
    tch::manual_seed(CONFIG.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let model =
        VelocityMlp::new(&vs.root(), CONFIG.hidden, Prediction::Velocity);
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|v| v.numel() as i64)
        .sum();
    println!(
        "MLP: (x, y) + {} time features + a {}-wide class embedding → 3 × {} → \
         (vx, vy)",
        2 * FREQS,
        CLASS_DIM,
        CONFIG.hidden
    );
    println!("{params} parameters");
    (vs, model)
}
// ANCHOR_END: model

// ANCHOR: train
/// What the training leaves besides the weights: the fixed batch its loss was
/// followed on, and the moving average of its weights.
struct Trained {
    eval: EvalBatch,
    ema: Ema,
}

fn train(
    vs: &mut nn::VarStore,
    model: &VelocityMlp,
    train: &Toy,
) -> Result<Trained> {
    step("train");
    // How the time is drawn decides where along the paths the network
    // practises; the default is logit-normal (more often near t = 0.5), as
    // in SD3 and TinyDiT's trainer.
    let times = TimeSampling::default();
    let eval = EvalBatch::new(train, times);
    let started = Instant::now();
    // a moving average of the weights
    let mut ema = Ema::new(vs, CONFIG.ema_decay);
    let curve = train_velocity(vs, model, train, times, &eval, Some(&mut ema))?;
    let took = started.elapsed().as_secs_f64();
    for &(s, loss) in curve.iter().step_by(3) {
        println!("step {s:>5}  loss {loss:.4}");
    }
    let (_, final_loss) = *curve.last().expect("a curve");
    println!(
        "{} steps in {took:.1} s; final loss {final_loss:.4}, the exact field \
         scores {:.4}",
        CONFIG.steps, eval.exact_loss
    );
    let chart = figures::loss(&curve, eval.exact_loss, CONFIG.steps)?;
    let path = save_png(&chart, out_dir().join("loss.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(Trained { eval, ema })
}
// ANCHOR_END: train
