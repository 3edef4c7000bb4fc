//! Flow matching from scratch: a two-dimensional toy where every quantity can be drawn and
//! the exact answer is known.
//!
//! The data are points on a line drawing of a cat's face, in two classes (the outline, and
//! the eyes, nose and whiskers). A small MLP learns the velocity field that carries Gaussian
//! noise onto them; the example compares what it learned with the exact marginal field,
//! samples with the same integration loop that samples cats, and measures Euler against
//! Heun, uniform against logit-normal times, and classifier-free guidance.
//!
//! Run it with `cargo run --release --example 08_flow_matching_from_scratch`.
// verify-docs: timeout_s = 300, budget_s = 120

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
use tinycats_plot::{LineChart, Plane, save_png, side_by_side};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the toy data, the evaluation noise and the network's initial weights.
    seed: u64,
    /// Training points per class (a second, held-out set of the same size is drawn too).
    points_per_class: usize,
    /// How far points scatter around the drawing (standard deviation, in plane units).
    jitter: f64,
    /// Width of the MLP's three hidden layers.
    hidden: i64,
    /// Training steps, batch size, and the AdamW learning rate (decayed linearly to 0).
    steps: usize,
    batch: i64,
    lr: f64,
    /// Decay of the moving average of the weights (as TinyDiT's trainer keeps one).
    ema_decay: f64,
    /// Probability that a training example's class is replaced by the null class, so that
    /// one network learns the conditional and the unconditional field (for guidance).
    label_dropout: f64,
    /// Samples per picture and per measurement.
    samples: usize,
    /// Euler steps of the sample and trajectory pictures.
    sample_steps: usize,
    /// Step counts of the Euler-against-Heun sweep.
    steps_sweep: [usize; 6],
    /// Guidance scales of the guidance sweep (0 = unconditional, 1 = no guidance).
    guidance_sweep: [f64; 4],
}

const CONFIG: Config = Config {
    seed: 0,
    points_per_class: 2000,
    jitter: 0.03,
    hidden: 256,
    steps: 4000,
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

/// The classes: 0 and 1 are the two parts of the drawing, 2 is "no class" for guidance.
const CLASSES: [&str; 2] = ["outline", "features"];
const NULL_CLASS: i64 = 2;
/// Frequencies of the time features: π, 2π, 4π, …
const FREQS: i64 = 6;
/// The plane drawn in every picture: [-EXTENT, EXTENT]².
const EXTENT: f64 = 3.0;
const FLOAT: (Kind, Device) = (Kind::Float, Device::Cpu);

fn main() -> Result<()> {
    // ANCHOR: data
    step("data");
    let train = Toy::draw(CONFIG.seed, 0)?; // what the network learns from
    let held_out = Toy::draw(CONFIG.seed, 1)?; // the same drawing, other points: a yardstick
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
    let picture = Plane::new("noise x0 (grey) and the data x1, by class", EXTENT)
        .points("noise", xy(&noise))
        .grey()
        .opacity(0.5)
        .points(CLASSES[0], xy(&train.class(0)))
        .width(1)
        .points(CLASSES[1], xy(&train.class(1)))
        .width(1)
        .render(420)?;
    let path = save_png(&picture, out_dir().join("data.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: data

    // ANCHOR: paths
    step("paths");
    // Pair noise with data at random, and draw the straight line x_t = t·x1 + (1 − t)·x0.
    let pairs = 32;
    let x0 = noise.narrow(0, 0, pairs); // (32, 2)
    let x1 = train
        .points
        .index_select(0, &spread_indices(train.len(), pairs));
    let lines: Vec<Vec<(f64, f64)>> = (0..pairs)
        .map(|i| vec![point(&x0, i), point(&x1, i)])
        .collect();
    let half = (&x0 + &x1) * 0.5; // every x_t at t = 0.5
    let picture = Plane::new(
        "straight paths from noise to data, and x_t at t = 0.5",
        EXTENT,
    )
    .points("", xy(&train.points))
    .grey()
    .width(1)
    .paths("x0 → x1", lines)
    .points("noise x0", xy(&x0))
    .width(3)
    .points("x_t, t = 0.5", xy(&half))
    .width(3)
    .points("data x1", xy(&x1))
    .width(3)
    .render(420)?;
    let path = save_png(&picture, out_dir().join("paths.png"))?;
    println!("{pairs} random pairs, velocity x1 − x0 constant along each line");
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: paths

    // ANCHOR: model
    step("model");
    tch::manual_seed(CONFIG.seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = VelocityMlp::new(&vs.root(), CONFIG.hidden, Prediction::Velocity);
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|v| v.numel() as i64)
        .sum();
    println!(
        "MLP: (x, y) + {} time features + a {}-wide class embedding → 3 × {} → (vx, vy)",
        2 * FREQS,
        CLASS_DIM,
        CONFIG.hidden
    );
    println!("{params} parameters");
    // ANCHOR_END: model

    // ANCHOR: train
    step("train");
    // How the time is drawn decides where along the paths the network practises; the
    // default is logit-normal (more often near t = 0.5), as in SD3 and TinyDiT's trainer.
    let times = TimeSampling::default();
    let eval = EvalBatch::new(&train, times);
    let started = Instant::now();
    let mut ema = Ema::new(&vs, CONFIG.ema_decay); // a moving average of the weights
    let curve = train_velocity(&mut vs, &model, &train, times, &eval, Some(&mut ema))?;
    let took = started.elapsed().as_secs_f64();
    for &(s, loss) in curve.iter().step_by(3) {
        println!("step {s:>5}  loss {loss:.4}");
    }
    let (_, final_loss) = *curve.last().expect("a curve");
    println!(
        "{} steps in {took:.1} s; final loss {final_loss:.4}, the exact field scores {:.4}",
        CONFIG.steps, eval.exact_loss
    );
    let chart = LineChart::new(
        "flow-matching loss on a fixed batch",
        "step",
        "mean ‖v − (x1 − x0)‖²",
    )
    .series("the MLP", curve[1..].to_vec()) // from step 250: step 0 would flatten the rest
    .series(
        "the exact marginal field",
        vec![
            (0.0, eval.exact_loss),
            (CONFIG.steps as f64, eval.exact_loss),
        ],
    )
    .render(640, 320)?;
    let path = save_png(&chart, out_dir().join("loss.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: train

    // ANCHOR: marginal
    step("marginal");
    // At one point x and time t, gather the training pairs whose path passes near x:
    // their velocities x1 − x0 disagree; the network can only learn their average.
    let (at, t) = ((1.0, 0.8), 0.5);
    let (many, radius) = (400_000, 0.1);
    let x1 = train.points.index_select(
        0,
        &Tensor::randint(train.len(), [many], (Kind::Int64, Device::Cpu)),
    );
    let x0 = x1.randn_like();
    let x_t = &x1 * t + &x0 * (1.0 - t);
    let near = (&x_t - Tensor::from_slice(&[at.0 as f32, at.1 as f32]))
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .lt(radius * radius)
        .nonzero()
        .squeeze_dim(1);
    let targets = (&x1 - &x0).index_select(0, &near); // the per-pair velocities near x
    let average = targets.mean_dim(0, false, Kind::Float);
    let x = Tensor::from_slice(&[at.0 as f32, at.1 as f32]).view([1, 2]);
    let tt = Tensor::from_slice(&[t as f32]);
    let learned = tch::no_grad(|| model.forward(&x, &tt, &null(1))).get(0);
    let exact = exact_velocity(&train.points, &x, &tt).get(0);
    let show = |v: &Tensor| {
        format!(
            "({:+.2}, {:+.2})",
            v.double_value(&[0]),
            v.double_value(&[1])
        )
    };
    println!(
        "x = {at:?}, t = {t}: {} of {many} pairs pass within {radius}",
        targets.size()[0]
    );
    println!(
        "their velocities x1 − x0 spread with std ({:.2}, {:.2})",
        targets.std_dim(0, true, false).double_value(&[0]),
        targets.std_dim(0, true, false).double_value(&[1])
    );
    println!("their average      {}", show(&average));
    println!("the exact field    {}", show(&exact));
    println!("the trained MLP    {}", show(&learned));
    let scale = 0.5; // arrows drawn at half their length
    let origin = (at.0, at.1);
    let arrow = |v: &Tensor| {
        (
            origin,
            (scale * v.double_value(&[0]), scale * v.double_value(&[1])),
        )
    };
    let per_pair: Vec<_> = (0..targets.size()[0].min(150))
        .map(|i| arrow(&targets.get(i)))
        .collect();
    let picture = Plane::new(
        format!("velocities through x = {at:?} at t = {t} (zoomed)"),
        1.2,
    )
    .center(at.0, at.1)
    .points("", xy(&train.points))
    .grey()
    .width(1)
    .arrows("per-pair x1 − x0", per_pair)
    .opacity(0.25)
    .arrows("their average", vec![arrow(&average)])
    .width(3)
    .arrows("exact field", vec![arrow(&exact)])
    .width(3)
    .arrows("trained MLP", vec![arrow(&learned)])
    .width(2)
    .render(420)?;
    let path = save_png(&picture, out_dir().join("marginal.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: marginal

    // ANCHOR: field
    step("field");
    let ts = [0.1, 0.5, 0.9];
    let grid = grid_points(15, 2.4); // (225, 2)
    let mut panels = Vec::new();
    for &t in &ts {
        let tt = Tensor::full([grid.size()[0]], t, FLOAT);
        let v = tch::no_grad(|| model.forward(&grid, &tt, &null(grid.size()[0])));
        // The field grows like 1 / (1 − t) near the data: arrows are scaled per panel,
        // the longest drawn 0.45 long.
        let longest = v
            .square()
            .sum_dim_intlist(1, false, Kind::Float)
            .max()
            .sqrt();
        let scale = 0.45 / longest.double_value(&[]);
        let arrows: Vec<_> = (0..grid.size()[0])
            .map(|i| {
                let (p, v) = (point(&grid, i), point(&v, i));
                (p, (scale * v.0, scale * v.1))
            })
            .collect();
        panels.push(
            Plane::new(format!("learned v(x, t = {t})"), EXTENT)
                .points("", xy(&train.points))
                .grey()
                .width(1)
                .arrows("", arrows)
                .render(300)?,
        );
    }
    let path = save_png(&side_by_side(&panels, 8), out_dir().join("field.png"))?;
    println!("t      relative error of the learned field against the exact one");
    for &t in &ts {
        println!("{t:<5}  {:.3}", field_error(&model, &train, t));
    }
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: field

    // ANCHOR: sample
    step("sample");
    // The same integration loop that samples cats in every other chapter, on a 2-D state.
    let start = normal(CONFIG.seed + 2, 0, CONFIG.samples as i64); // (2000, 2)
    let mut trace = vec![start.shallow_clone()];
    let x = integrate(
        Tch(start),
        &timesteps(CONFIG.sample_steps, 1.0),
        Solver::Euler,
        |x: &Tch, t| velocity(&model, x, t, NULL_CLASS, 1.0),
        |s| trace.push(s.x.0.shallow_clone()),
    )?
    .0;
    let traces: Vec<Vec<(f64, f64)>> = (0..40)
        .map(|i| trace.iter().map(|x| point(x, i)).collect())
        .collect();
    let bend = traces.iter().map(|p| path_length(p)).sum::<f64>()
        / traces.iter().map(|p| chord(p)).sum::<f64>();
    let (off, gap) = (off_shape(&x, &train.points), off_shape(&train.points, &x));
    let (off_ref, gap_ref) = (
        off_shape(&held_out.points, &train.points),
        off_shape(&train.points, &held_out.points),
    );
    println!(
        "{} samples, {} Euler steps",
        CONFIG.samples, CONFIG.sample_steps
    );
    println!("                            samples   held-out data");
    println!("distance to the data         {off:.4}        {off_ref:.4}");
    println!("data's distance to the set   {gap:.4}        {gap_ref:.4}");
    println!("40 trajectories: total length / total straight-line distance {bend:.3}");
    let left = Plane::new("40 sampling trajectories", EXTENT)
        .points("", xy(&train.points))
        .grey()
        .width(1)
        .paths("trajectory", traces.clone())
        .points("start (noise)", traces.iter().map(|p| p[0]).collect())
        .width(3)
        .points(
            "end (sample)",
            traces.iter().map(|p| *p.last().expect("points")).collect(),
        )
        .width(3)
        .render(360)?;
    let right = Plane::new(format!("{} samples", CONFIG.samples), EXTENT)
        .points("", xy(&x))
        .color(0)
        .width(1)
        .render(360)?;
    let path = save_png(
        &side_by_side(&[left, right], 8),
        out_dir().join("sample.png"),
    )?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: sample

    // ANCHOR: solvers
    step("solvers");
    // Integration error against a fine Heun solution from the same noise, and the samples'
    // distance to the data, as the number of network evaluations grows.
    let start = normal(CONFIG.seed + 2, 0, CONFIG.samples as i64);
    let solve = |solver, steps| -> Result<Tensor> {
        let grid = timesteps(steps, 1.0);
        Ok(integrate(
            Tch(start.shallow_clone()),
            &grid,
            solver,
            |x: &Tch, t| velocity(&model, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0)
    };
    let reference = solve(Solver::Heun, 256)?;
    println!("solver  steps  evaluations  error vs Heun-256  distance to data");
    let mut series = Vec::new();
    for solver in [Solver::Euler, Solver::Heun] {
        let mut points = Vec::new();
        for &steps in &CONFIG.steps_sweep {
            let x = solve(solver, steps)?;
            let evals = SampleOptions {
                steps,
                solver,
                ..SampleOptions::DEFAULT
            }
            .velocity_evaluations();
            let err = rms(&(&x - &reference));
            println!(
                "{solver:<6}  {steps:>5}  {evals:>11}  {err:>17.4}  {:>16.4}",
                off_shape(&x, &train.points)
            );
            points.push((evals as f64, err));
        }
        series.push((solver, points));
    }
    let mut chart = LineChart::new(
        "integration error against network evaluations",
        "velocity evaluations per sample",
        "RMS distance to Heun-256",
    )
    .log_x(true)
    .log_y(true);
    for (solver, points) in series {
        chart = chart.series(solver.to_string(), points);
    }
    let path = save_png(&chart.render(640, 320)?, out_dir().join("solvers.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: solvers

    // ANCHOR: time_sampling
    step("time_sampling");
    // The same network, seed and steps, trained with t ~ U(0, 1) instead.
    let (_vs_uniform, uniform) =
        retrain(&train, &eval, TimeSampling::Uniform, Prediction::Velocity)?;
    println!("time sampling   field error, mean over t   distance to data   data's distance");
    let mut chart = LineChart::new(
        "where along the path each network learned the field",
        "t",
        "relative error against the exact field",
    )
    .log_y(true);
    let logit_normal = Measured::of(&model, &train)?; // the network of the `train` step
    for (name, m) in [
        ("logit-normal", &logit_normal),
        ("uniform", &Measured::of(&uniform, &train)?),
    ] {
        println!(
            "{name:<14}  {:>24.3}   {:>16.4}   {:>15.4}",
            m.mean_error(),
            m.off_shape,
            m.coverage_gap
        );
        chart = chart.series(name, m.field_errors.clone());
    }
    let path = save_png(
        &chart.render(640, 320)?,
        out_dir().join("time_sampling.png"),
    )?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: time_sampling

    // ANCHOR: ablations
    step("ablations");
    // Two more of the trainer's choices, each against the network of the `train` step
    // (velocity output, logit-normal times, last weights): the moving average of its
    // weights, and a network whose last layer predicts the clean point x̂1.
    let (_vs_x, x_pred) = retrain(&train, &eval, TimeSampling::default(), Prediction::Data)?;
    let last = logit_normal; // measured in the previous step
    let averaged = ema.with_weights(&mut vs.variables(), || Measured::of(&model, &train))?;
    let predicts_x = Measured::of(&x_pred, &train)?;
    println!(
        "network                 field error: mean   at t = 0.9   distance to data   data's distance"
    );
    let mut chart = LineChart::new(
        "field error of three variants of the trainer",
        "t",
        "relative error against the exact field",
    )
    .log_y(true);
    for (name, m) in [
        ("velocity, last weights", last),
        ("velocity, EMA weights", averaged),
        ("predicting x1", predicts_x),
    ] {
        println!(
            "{name:<22}  {:>17.3}   {:>10.3}   {:>16.4}   {:>15.4}",
            m.mean_error(),
            m.error_at(0.9),
            m.off_shape,
            m.coverage_gap
        );
        chart = chart.series(name, m.field_errors);
    }
    let path = save_png(&chart.render(640, 320)?, out_dir().join("ablations.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: ablations

    // ANCHOR: guidance
    step("guidance");
    // Ask for the features (class 1) with more and more guidance, from the same noise.
    let wanted = 1;
    let start = normal(CONFIG.seed + 3, 0, CONFIG.samples as i64);
    let mut panels = Vec::new();
    println!("guidance  on the features  distance to data  features' distance to the samples");
    for &w in &CONFIG.guidance_sweep {
        let x = integrate(
            Tch(start.shallow_clone()),
            &timesteps(CONFIG.sample_steps, 1.0),
            Solver::Euler,
            |x: &Tch, t| velocity(&model, x, t, wanted, w),
            |_| {},
        )?
        .0;
        let share = nearest_class(&x, &train)
            .eq(wanted)
            .to_kind(Kind::Float)
            .mean(Kind::Float);
        println!(
            "w = {w:<4}  {:>14.1}%  {:>16.4}  {:>33.4}",
            100.0 * share.double_value(&[]),
            off_shape(&x, &train.points),
            off_shape(&train.class(wanted), &x)
        );
        panels.push(
            Plane::new(format!("w = {w}"), EXTENT)
                .points("", xy(&train.points))
                .grey()
                .width(1)
                .points("", xy(&x))
                .color(1)
                .width(1)
                .render(260)?,
        );
    }
    let path = save_png(&side_by_side(&panels, 8), out_dir().join("guidance.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: guidance

    // ANCHOR: exercise_exact
    step("exercise_exact");
    // Integrate the exact field of the training points instead of the network
    // (500 samples: the exact field weighs every training point at every step).
    let start = normal(CONFIG.seed + 2, 0, 500);
    let exact = integrate(
        Tch(start),
        &timesteps(64, 1.0),
        Solver::Euler,
        |x: &Tch, t| -> Result<Tch> {
            let tt = Tensor::full([x.0.size()[0]], t.min(0.999), FLOAT); // v* is 0/0 at t = 1
            Ok(Tch(exact_velocity(&train.points, &x.0, &tt)))
        },
        |_| {},
    )?
    .0;
    println!(
        "distance of the exact-field samples to the nearest training point {:.4}",
        off_shape(&exact, &train.points)
    );
    println!(
        "distance of held-out data to the nearest training point           {:.4}",
        off_shape(&held_out.points, &train.points)
    );
    // ANCHOR_END: exercise_exact

    // ANCHOR: exercise_pairing
    step("exercise_pairing");
    // Pair 512 noise points with 512 data points at random, then greedily: each noise point
    // (in a fixed order) takes the nearest data point still free.
    let n = 512;
    let x0 = normal(CONFIG.seed + 6, 0, n);
    let x1 = train
        .points
        .index_select(0, &spread_indices(train.len(), n));
    let random = (&x1 - &x0)
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .sqrt();
    let mut free = vec![true; n as usize];
    let d = Tensor::cdist(&x0, &x1, 2.0, None); // (n, n)
    let d = Vec::<f32>::try_from(d.reshape([-1]))?;
    let mut greedy = Vec::new();
    for i in 0..n as usize {
        let row = &d[i * n as usize..(i + 1) * n as usize];
        let j = (0..n as usize)
            .filter(|&j| free[j])
            .min_by(|&a, &b| row[a].total_cmp(&row[b]))
            .expect("as many data points as noise points");
        free[j] = false;
        greedy.push(row[j]);
    }
    let greedy_mean = greedy.iter().sum::<f32>() / n as f32;
    println!(
        "mean path length: random pairs {:.3}, greedy nearest pairs {greedy_mean:.3}",
        random.mean(Kind::Float).double_value(&[])
    );
    // ANCHOR_END: exercise_pairing

    // ANCHOR: exercise_shift
    step("exercise_shift");
    // Eight Euler steps on three time grids: shift > 1 puts the steps near the noise,
    // shift < 1 near the data.
    println!("shift  first steps at t =              distance to data");
    for shift in [1.0 / 3.0, 1.0, 3.0] {
        let grid = timesteps(8, shift);
        let x = integrate(
            Tch(normal(CONFIG.seed + 2, 0, CONFIG.samples as i64)),
            &grid,
            Solver::Euler,
            |x: &Tch, t| velocity(&model, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0;
        let head: Vec<String> = grid[..4]
            .iter()
            .map(|t| format!("{:.3}", if t.abs() < 1e-9 { 0.0 } else { *t }))
            .collect();
        println!(
            "{shift:<5.2}  {:<30}  {:.4}",
            head.join(", "),
            off_shape(&x, &train.points)
        );
    }
    // ANCHOR_END: exercise_shift

    Ok(())
}

// ANCHOR: velocity_mlp
/// Width of the class embedding.
const CLASS_DIM: i64 = 16;

/// What the network's last layer outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Prediction {
    /// The velocity itself.
    Velocity,
    /// The clean point x̂1, turned into the velocity (x̂1 − x_t) / max(1 − t, 0.05), as
    /// TinyDiT's `"prediction": "x"` does.
    Data,
}

/// The velocity network v(x, t, class): an MLP on the point, sin/cos features of the
/// time, and a learned embedding of the class (row 2 = no class).
#[derive(Debug)]
struct VelocityMlp {
    class_embedding: nn::Embedding,
    layers: nn::Sequential,
    prediction: Prediction,
}

impl VelocityMlp {
    fn new(vs: &nn::Path, hidden: i64, prediction: Prediction) -> Self {
        let linear = |name: &str, i, o| nn::linear(vs / name, i, o, Default::default());
        VelocityMlp {
            class_embedding: nn::embedding(
                vs / "class",
                NULL_CLASS + 1,
                CLASS_DIM,
                Default::default(),
            ),
            layers: nn::seq()
                .add(linear("in", 2 + 2 * FREQS + CLASS_DIM, hidden))
                .add_fn(Tensor::silu)
                .add(linear("hidden1", hidden, hidden))
                .add_fn(Tensor::silu)
                .add(linear("hidden2", hidden, hidden))
                .add_fn(Tensor::silu)
                .add(linear("out", hidden, 2)),
            prediction,
        }
    }

    /// `x`: (N, 2), `t`: (N,), `class`: (N,) int64 → the velocity, (N, 2)
    fn forward(&self, x: &Tensor, t: &Tensor, class: &Tensor) -> Tensor {
        let freqs = Tensor::arange(FREQS, FLOAT).exp2() * PI; // (FREQS,)
        let angles = t.unsqueeze(1) * freqs.unsqueeze(0); // (N, FREQS)
        let input = Tensor::cat(
            &[
                x.shallow_clone(),
                angles.sin(),
                angles.cos(),
                self.class_embedding.forward(class),
            ],
            1,
        );
        let out = self.layers.forward(&input);
        match self.prediction {
            Prediction::Velocity => out,
            Prediction::Data => (out - x) / (-t.unsqueeze(1) + 1.0).clamp_min(0.05),
        }
    }
}
// ANCHOR_END: velocity_mlp

// ANCHOR: train_fn
/// Flow matching: at a random time t on the straight path from noise x0 to a data point
/// x1, regress the network on that pair's velocity x1 − x0. Keeps `ema` (if any) up to
/// date and returns the loss on `eval` every 250 steps.
fn train_velocity(
    vs: &mut nn::VarStore,
    model: &VelocityMlp,
    data: &Toy,
    times: TimeSampling,
    eval: &EvalBatch,
    mut ema: Option<&mut Ema>,
) -> Result<Vec<(f64, f64)>> {
    let mut opt = nn::AdamW::default().build(vs, CONFIG.lr)?;
    let mut curve = vec![(0.0, eval.loss(model))];
    for step in 1..=CONFIG.steps {
        let pick = Tensor::randint(data.len(), [CONFIG.batch], (Kind::Int64, Device::Cpu));
        let x1 = data.points.index_select(0, &pick); // (B, 2) data
        let keep = Tensor::rand([CONFIG.batch], FLOAT).ge(CONFIG.label_dropout);
        let class = data
            .labels
            .index_select(0, &pick)
            .where_self(&keep, &null(CONFIG.batch));
        let x0 = x1.randn_like(); // (B, 2) noise
        let t = times.sample(CONFIG.batch, Device::Cpu).unsqueeze(1); // (B, 1)
        let x_t = &t * &x1 + (1.0 - &t) * &x0;
        let v = model.forward(&x_t, &t.squeeze_dim(1), &class);
        let loss = (v - (&x1 - &x0))
            .square()
            .sum_dim_intlist(1, false, Kind::Float)
            .mean(Kind::Float);
        opt.set_lr(CONFIG.lr * (1.0 - (step - 1) as f64 / CONFIG.steps as f64));
        opt.backward_step(&loss);
        if let Some(ema) = ema.as_deref_mut() {
            ema.update(vs);
        }
        if step % 250 == 0 {
            curve.push((step as f64, eval.loss(model)));
        }
    }
    Ok(curve)
}
// ANCHOR_END: train_fn

// ANCHOR: exact
/// The exact marginal velocity of the training points:
/// v*(x, t) = (E[x1 | x_t = x] − x) / (1 − t), where the expectation weighs every point x1
/// by how likely the path from it is to pass through x (x_t ~ N(t·x1, (1 − t)²·I)).
///
/// `points`: (M, 2), `x`: (N, 2), `t`: (N,) → (N, 2)
fn exact_velocity(points: &Tensor, x: &Tensor, t: &Tensor) -> Tensor {
    let points = points.to_kind(Kind::Double);
    let parts: Vec<Tensor> = x
        .to_kind(Kind::Double)
        .split(512, 0)
        .iter()
        .zip(t.to_kind(Kind::Double).split(512, 0))
        .map(|(x, t)| {
            let t = t.unsqueeze(1); // (n, 1)
            let s: Tensor = 1.0 - &t; // x_t = t·x1 + s·x0
            let d2 = (x.unsqueeze(1) - t.unsqueeze(2) * points.unsqueeze(0)) // (n, M, 2)
                .square()
                .sum_dim_intlist(2, false, Kind::Double); // (n, M)
            let weights = (-d2 / (s.square() * 2.0)).softmax(1, Kind::Double); // (n, M)
            (weights.matmul(&points) - x) / s // (E[x1 | x] − x) / (1 − t)
        })
        .collect();
    Tensor::cat(&parts, 0).to_kind(Kind::Float)
}
// ANCHOR_END: exact

// ANCHOR: guided_velocity
/// The velocity the sampler follows: the network's, with classifier-free guidance
/// `v_u + w·(v_c − v_u)` when a class is asked for (w = 1: plain conditional).
fn velocity(model: &VelocityMlp, x: &Tch, t: f64, class: i64, w: f64) -> Result<Tch> {
    let n = x.0.size()[0];
    let tt = Tensor::full([n], t, FLOAT);
    tch::no_grad(|| {
        let cond = Tch(model.forward(
            &x.0,
            &tt,
            &Tensor::full([n], class, (Kind::Int64, Device::Cpu)),
        ));
        if class == NULL_CLASS || w == 1.0 {
            return Ok(cond);
        }
        let uncond = Tch(model.forward(&x.0, &tt, &null(n)));
        Ok(guide(&cond, &uncond, w))
    })
}
// ANCHOR_END: guided_velocity

/// A network trained like the one of the `train` step (same seed, data and steps) with
/// other settings: its weights and the network.
fn retrain(
    train: &Toy,
    eval: &EvalBatch,
    times: TimeSampling,
    prediction: Prediction,
) -> Result<(nn::VarStore, VelocityMlp)> {
    tch::manual_seed(CONFIG.seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = VelocityMlp::new(&vs.root(), CONFIG.hidden, prediction);
    train_velocity(&mut vs, &model, train, times, eval, None)?;
    Ok((vs, model))
}

/// How close a network's unconditional field is to the exact one, and how close its
/// samples (the `sample` step's noise and steps) are to the data.
struct Measured {
    /// (t, relative error) at t = 0.05, 0.10, …, 0.95.
    field_errors: Vec<(f64, f64)>,
    /// Mean distance from a sample to the nearest training point.
    off_shape: f64,
    /// Mean distance from a training point to the nearest sample.
    coverage_gap: f64,
}

impl Measured {
    fn of(net: &VelocityMlp, data: &Toy) -> Result<Self> {
        let field_errors = (1..20)
            .map(|i| i as f64 * 0.05)
            .map(|t| (t, field_error(net, data, t)))
            .collect();
        let x = integrate(
            Tch(normal(CONFIG.seed + 2, 0, CONFIG.samples as i64)),
            &timesteps(CONFIG.sample_steps, 1.0),
            Solver::Euler,
            |x: &Tch, t| velocity(net, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0;
        Ok(Measured {
            field_errors,
            off_shape: off_shape(&x, &data.points),
            coverage_gap: off_shape(&data.points, &x),
        })
    }

    fn mean_error(&self) -> f64 {
        self.field_errors.iter().map(|e| e.1).sum::<f64>() / self.field_errors.len() as f64
    }

    fn error_at(&self, t: f64) -> f64 {
        self.field_errors
            .iter()
            .find(|e| (e.0 - t).abs() < 1e-9)
            .map_or(f64::NAN, |e| e.1)
    }
}

/// A fixed batch of (x0, x1, t, class) on which the loss is followed, and the loss the
/// exact conditional field scores on it (the floor no network can go under).
struct EvalBatch {
    x_t: Tensor,
    t: Tensor,
    class: Tensor,
    target: Tensor,
    exact_loss: f64,
}

impl EvalBatch {
    fn new(data: &Toy, times: TimeSampling) -> Self {
        let n = 4096;
        let x1 = data.points.index_select(0, &spread_indices(data.len(), n));
        let class = data.labels.index_select(0, &spread_indices(data.len(), n));
        let x0 = normal(CONFIG.seed + 4, 0, n);
        // Times from the training distribution, by inverting its CDF on an even grid.
        let u: Vec<f32> = (0..n)
            .map(|i| ((i as f64 + 0.5) / n as f64) as f32)
            .collect();
        let u = Tensor::from_slice(&u);
        let t = match times {
            TimeSampling::Uniform => u,
            TimeSampling::LogitNormal { mean, std } => {
                ((u * 2.0 - 1.0).erfinv() * (std * 2f64.sqrt()) + mean).sigmoid()
            }
        };
        let tc = t.unsqueeze(1);
        let x_t: Tensor = &tc * &x1 + (1.0 - &tc) * &x0;
        let target = &x1 - &x0;
        // Per class, the exact field of that class's points.
        let mut exact = Tensor::zeros([n, 2], FLOAT);
        for c in 0..2 {
            let rows = class.eq(c).nonzero().squeeze_dim(1);
            let v = exact_velocity(
                &data.class(c),
                &x_t.index_select(0, &rows),
                &t.index_select(0, &rows),
            );
            exact = exact.index_copy(0, &rows, &v);
        }
        let exact_loss = sq_norm_mean(&(exact - &target));
        EvalBatch {
            x_t,
            t,
            class,
            target,
            exact_loss,
        }
    }

    fn loss(&self, model: &VelocityMlp) -> f64 {
        let v = tch::no_grad(|| model.forward(&self.x_t, &self.t, &self.class));
        sq_norm_mean(&(v - &self.target))
    }
}

/// Relative squared error of the network's unconditional field against the exact one,
/// over points x_t of the path distribution at time t.
fn field_error(model: &VelocityMlp, data: &Toy, t: f64) -> f64 {
    // The probe points and their exact field depend only on the data and t: computed once
    // per t, and shared by every network measured.
    thread_local! {
        static PROBES: std::cell::RefCell<Vec<(u64, i64, [Tensor; 3])>> = Default::default();
    }
    let n = 2048;
    let [x_t, tt, exact] = PROBES.with_borrow_mut(|probes| {
        let key = (t.to_bits(), data.len());
        if let Some((_, _, p)) = probes.iter().find(|p| (p.0, p.1) == key) {
            return p.each_ref().map(Tensor::shallow_clone);
        }
        let x1 = data.points.index_select(0, &spread_indices(data.len(), n));
        let x0 = normal(CONFIG.seed + 5, 0, n);
        let x_t = &x1 * t + &x0 * (1.0 - t);
        let tt = Tensor::full([n], t, FLOAT);
        let exact = exact_velocity(&data.points, &x_t, &tt);
        let probe = [x_t, tt, exact];
        let shared = probe.each_ref().map(Tensor::shallow_clone);
        probes.push((key.0, key.1, probe));
        shared
    });
    let learned = tch::no_grad(|| model.forward(&x_t, &tt, &null(n)));
    sq_norm_mean(&(learned - &exact)) / sq_norm_mean(&exact)
}

/// The toy data: points on a line drawing of a cat's face, with their class.
struct Toy {
    points: Tensor,
    labels: Tensor,
}

impl Toy {
    /// `CONFIG.points_per_class` points per class from stream `stream` of `seed`: each point
    /// at a uniformly chosen place along its class's lines, plus Gaussian jitter.
    fn draw(seed: u64, stream: u64) -> Result<Self> {
        let n = CONFIG.points_per_class;
        let mut points = Vec::with_capacity(4 * n);
        let mut labels = Vec::with_capacity(2 * n);
        for (c, lines) in drawing().iter().enumerate() {
            let stream = 4 * stream + c as u64;
            let places = uniforms(seed, stream, n);
            let mut jitter = vec![0f32; 2 * n];
            fill(seed, stream + 1000, &mut jitter);
            for (u, j) in places.iter().zip(jitter.chunks(2)) {
                let (x, y) = along(lines, *u);
                points.push(x as f32 + CONFIG.jitter as f32 * j[0]);
                points.push(y as f32 + CONFIG.jitter as f32 * j[1]);
                labels.push(c as i64);
            }
        }
        ensure!(
            points.iter().all(|v| v.is_finite()),
            "toy data: a non-finite point"
        );
        Ok(Toy {
            points: Tensor::from_slice(&points).view([-1, 2]),
            labels: Tensor::from_slice(&labels),
        })
    }

    fn len(&self) -> i64 {
        self.labels.size()[0]
    }

    /// The points of class `c`, (n, 2).
    fn class(&self, c: i64) -> Tensor {
        self.points
            .index_select(0, &self.labels.eq(c).nonzero().squeeze_dim(1))
    }
}

/// The drawing, as polylines per class: 0 = head and ears, 1 = eyes, nose and whiskers.
fn drawing() -> [Vec<Vec<(f64, f64)>>; 2] {
    let circle = |cx: f64, cy: f64, r: f64| -> Vec<(f64, f64)> {
        (0..=64)
            .map(|i| {
                let a = 2.0 * PI * i as f64 / 64.0;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect()
    };
    let (head_y, r) = (-0.3, 1.3);
    let on_head = |deg: f64| {
        let a = deg.to_radians();
        (r * a.cos(), head_y + r * a.sin())
    };
    // An ear: two sides from the head circle up to a tip (s = −1 left, +1 right).
    let ear = |s: f64| {
        vec![
            on_head(90.0 - s * 60.0),
            (s * 1.0, 1.65),
            on_head(90.0 - s * 20.0),
        ]
    };
    let outline = vec![circle(0.0, head_y, r), ear(1.0), ear(-1.0)];
    let mut features = vec![
        circle(-0.5, 0.05, 0.2),
        circle(0.5, 0.05, 0.2),
        vec![(-0.15, -0.35), (0.15, -0.35), (0.0, -0.52), (-0.15, -0.35)],
    ];
    for side in [-1.0, 1.0] {
        for dy in [-0.15, 0.0, 0.15] {
            features.push(vec![
                (side * 0.3, -0.6 + dy * 0.3),
                (side * 1.05, -0.6 + dy * 1.6),
            ]);
        }
    }
    [outline, features]
}

/// The point at fraction `u` ∈ [0, 1) of the total length of `lines`.
fn along(lines: &[Vec<(f64, f64)>], u: f64) -> (f64, f64) {
    let segments: Vec<((f64, f64), (f64, f64))> = lines
        .iter()
        .flat_map(|l| l.windows(2).map(|w| (w[0], w[1])))
        .collect();
    let length = |(a, b): &((f64, f64), (f64, f64))| (b.0 - a.0).hypot(b.1 - a.1);
    let mut left = u * segments.iter().map(length).sum::<f64>();
    for s in &segments {
        let l = length(s);
        if left <= l {
            let f = left / l;
            return (s.0.0 + f * (s.1.0 - s.0.0), s.0.1 + f * (s.1.1 - s.0.1));
        }
        left -= l;
    }
    segments.last().expect("a drawing has segments").1
}

/// `n` uniforms in [0, 1) from the portable counter-based generator.
fn uniforms(seed: u64, stream: u64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let r = philox4x32_10(
                [i as u32, 0, stream as u32, 0x7041],
                [seed as u32, (seed >> 32) as u32],
            );
            f64::from(r[0]) / 4_294_967_296.0
        })
        .collect()
}

/// `n` standard normal points, (n, 2), from the portable generator (the same on every CPU).
fn normal(seed: u64, stream: u64, n: i64) -> Tensor {
    let mut v = vec![0f32; 2 * n as usize];
    fill(seed, stream, &mut v);
    Tensor::from_slice(&v).view([n, 2])
}

/// `n` indices spread evenly over `0..len` (every class represented in turn).
fn spread_indices(len: i64, n: i64) -> Tensor {
    let idx: Vec<i64> = (0..n).map(|i| (i * 7919 + i / len) % len).collect();
    Tensor::from_slice(&idx)
}

fn null(n: i64) -> Tensor {
    Tensor::full([n], NULL_CLASS, (Kind::Int64, Device::Cpu))
}

/// Mean over rows of the squared norm.
fn sq_norm_mean(d: &Tensor) -> f64 {
    d.square()
        .sum_dim_intlist(1, false, Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Root mean squared distance, per point.
fn rms(d: &Tensor) -> f64 {
    sq_norm_mean(d).sqrt()
}

/// Mean distance from each point of `a` to its nearest point of `b`.
fn off_shape(a: &Tensor, b: &Tensor) -> f64 {
    nearest(a, b).0.mean(Kind::Double).double_value(&[])
}

/// For each point of `a`: the distance to its nearest point of `b`, and that point's index.
fn nearest(a: &Tensor, b: &Tensor) -> (Tensor, Tensor) {
    let parts: Vec<(Tensor, Tensor)> = a
        .split(1024, 0)
        .iter()
        .map(|chunk| Tensor::cdist(chunk, b, 2.0, None).min_dim(1, false))
        .collect();
    let (d, i): (Vec<Tensor>, Vec<Tensor>) = parts.into_iter().unzip();
    (Tensor::cat(&d, 0), Tensor::cat(&i, 0))
}

/// The class of each point's nearest training point.
fn nearest_class(x: &Tensor, data: &Toy) -> Tensor {
    data.labels.index_select(0, &nearest(x, &data.points).1)
}

/// An even grid of `k × k` points over `[-half, half]²`, (k², 2).
fn grid_points(k: i64, half: f64) -> Tensor {
    let mut v = Vec::new();
    for i in 0..k {
        for j in 0..k {
            let f = |a: i64| (-half + 2.0 * half * a as f64 / (k - 1) as f64) as f32;
            v.extend([f(j), f(i)]);
        }
    }
    Tensor::from_slice(&v).view([-1, 2])
}

fn point(x: &Tensor, i: i64) -> (f64, f64) {
    (x.double_value(&[i, 0]), x.double_value(&[i, 1]))
}

fn xy(x: &Tensor) -> Vec<(f64, f64)> {
    let v = Vec::<f32>::try_from(x.contiguous().view([-1])).expect("f32 points");
    v.chunks(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect()
}

fn path_length(p: &[(f64, f64)]) -> f64 {
    p.windows(2)
        .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
        .sum()
}

fn chord(p: &[(f64, f64)]) -> f64 {
    let (a, b) = (p[0], p[p.len() - 1]);
    (b.0 - a.0).hypot(b.1 - a.1)
}
