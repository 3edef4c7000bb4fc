//! Getting started: checks that libtorch, ONNX Runtime and the plotting stack
//! work on this machine, and shows where an example's pictures go.
//!
//! `main` runs the steps in the chapter's order, each one function below.
//!
//! Run it with `cargo run --release --example 00_setup_check` after `cargo
//! xtask setup`.
// verify-docs: timeout_s = 120, budget_s = 60

// ANCHOR: uses
use anyhow::Result;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};
use tinycats_models::device::libtorch_version;
use tinycats_models::images::to_rgb8;
use tinycats_models::{Classifier, ClassifierConfig, io};
use tinycats_notebook::{display_path, out_dir, step};
use tinycats_plot::{LineChart, save_png};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of libtorch's random generator, so every run prints the same
    /// numbers.
    seed: i64,
    /// Side of the square matrices multiplied in the tensor check.
    matmul_size: i64,
    /// Side of the picture drawn in the image check, in pixels.
    image_size: i64,
    /// Images sent through libtorch and ONNX Runtime in the ONNX check.
    onnx_batch: i64,
}

const CONFIG: Config = Config {
    seed: 0,
    matmul_size: 256,
    image_size: 96,
    onnx_batch: 4,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    versions();
    let device = device();
    let n = tensor(device);
    autograd()?;
    image()?;
    onnx()?;
    exercise_seed(device, n);
    exercise_threads(device, n);
    exercise_tanh();
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: versions
/// The versions in play.
fn versions() {
    step("versions");
    println!("tinycats       {}", env!("CARGO_PKG_VERSION"));
    println!(
        "libtorch       {}",
        libtorch_version().unwrap_or_else(|| "unknown".into())
    );
}
// ANCHOR_END: versions

// ANCHOR: device
/// Where the tensors will live: a GPU if libtorch sees one, else the CPU.
fn device() -> Device {
    step("device");
    let device = Device::cuda_if_available();
    println!(
        "device         {}",
        if device.is_cuda() { "CUDA" } else { "CPU" }
    );
    println!("cuda devices   {}", tch::Cuda::device_count());
    println!("libtorch uses  {} threads", tch::get_num_threads());
    device
}
// ANCHOR_END: device

// ANCHOR: tensor
/// A seeded matrix product, and one of its entries by hand; returns the
/// matrices' side.
fn tensor(device: Device) -> i64 {
    step("tensor");
    tch::manual_seed(CONFIG.seed);
    let n = CONFIG.matmul_size;
    let a = Tensor::randn([n, n], (Kind::Float, device));
    let b = Tensor::randn([n, n], (Kind::Float, device));
    let c = a.matmul(&b); // (n, n)
    // The same product, one entry, by hand: row 0 of a times column 0 of b.
    let by_hand: f64 = (0..n)
        .map(|k| a.double_value(&[0, k]) * b.double_value(&[k, 0]))
        .sum();
    println!("c = a @ b      shape {:?}", c.size());
    println!(
        "c[0, 0]        {:.4} (libtorch) vs {by_hand:.4} (by hand)",
        c.double_value(&[0, 0])
    );
    println!(
        "mean |c|       {:.4}",
        c.abs().mean(Kind::Float).double_value(&[])
    );
    n
}
// ANCHOR_END: tensor

// ANCHOR: autograd
/// The sigmoid and its gradient by autograd, drawn.
fn autograd() -> Result<()> {
    step("autograd");
    let x = Tensor::linspace(-6.0, 6.0, 121, (Kind::Float, Device::Cpu))
        .set_requires_grad(true);
    let y = x.sigmoid();
    let grad = Tensor::run_backward(&[y.sum(Kind::Float)], &[&x], false, false)
        .remove(0);
    let points = |t: &Tensor| -> Vec<(f64, f64)> {
        (0..121)
            .map(|i| (x.double_value(&[i]), t.double_value(&[i])))
            .collect()
    };
    let chart =
        LineChart::new("sigmoid and its gradient, by autograd", "x", "value")
            .series("sigmoid(x)", points(&y.detach()))
            .series("d sigmoid / dx", points(&grad));
    let path =
        save_png(&chart.render(640, 360)?, out_dir().join("sigmoid.png"))?;
    println!(
        "max gradient   {:.4} at x = 0 (exact: 0.25)",
        grad.max().double_value(&[])
    );
    println!("saved          {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: autograd

// ANCHOR: image
/// A picture computed as a tensor and saved as a PNG.
fn image() -> Result<()> {
    step("image");
    let s = CONFIG.image_size;
    let coords = Tensor::linspace(-1.0, 1.0, s, (Kind::Float, Device::Cpu));
    let yy = coords.view([s, 1]).expand([s, s], false); // (S, S)
    let xx = coords.view([1, s]).expand([s, s], false); // (S, S)
    let radius = (&xx * &xx + &yy * &yy).sqrt();
    let disc = radius.le(0.8).to_kind(Kind::Float);
    let rgb = Tensor::stack(
        &[
            (&xx + 1.0) / 2.0 * &disc,
            (&yy + 1.0) / 2.0 * &disc,
            disc.shallow_clone(),
        ],
        0,
    ); // (3, S, S)
    let img = to_rgb8(&rgb)?;
    let path = save_png(&img, out_dir().join("disc.png"))?;
    println!("image          {}x{} RGB", img.width(), img.height());
    println!("saved          {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: image

// ANCHOR: onnx
/// The book's classifier exported to ONNX and run on ONNX Runtime beside
/// libtorch.
fn onnx() -> Result<()> {
    step("onnx");
    // The book's breed classifier, untrained: right architecture, random
    // weights.
    tch::manual_seed(CONFIG.seed);
    let cfg = ClassifierConfig::tiny();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Classifier::new(vs.root(), &cfg);
    let dir = out_dir().join("untrained-classifier");
    std::fs::create_dir_all(&dir)?;
    io::save_var_store(&vs, &dir.join("model.safetensors"))?;
    io::write_json(&dir.join("config.json"), &cfg)?;
    // Export it to ONNX in Rust, then open it in ONNX Runtime.
    let onnx_path = dir.join("model.onnx");
    let export = tinycats_onnx::export(&dir, &onnx_path, None)?;
    let mut session = tinycats_runtime::Classifier::load(&onnx_path)?;
    // The same batch through both: the logits must agree.
    let s = cfg.image_size;
    let x =
        // (B, 3, S, S)
        Tensor::randn([CONFIG.onnx_batch, 3, s, s], (Kind::Float, Device::Cpu));
    let tch_logits = tch::no_grad(|| model.forward_t(&x, false)); // (B, 13)
    let pixels = Vec::<f32>::try_from(x.flatten(0, -1))?;
    let view = tinycats_runtime::ndarray::ArrayView4::from_shape(
        (CONFIG.onnx_batch as usize, 3, s as usize, s as usize),
        &pixels,
    )?;
    let ort_logits = session.logits(view)?; // (B, 13)
    let ort_logits =
        Tensor::from_slice(ort_logits.as_slice().expect("contiguous"))
            .view([CONFIG.onnx_batch, -1]);
    let max_diff = (&tch_logits - &ort_logits).abs().max().double_value(&[]);
    println!(
        "ONNX Runtime   {}",
        tinycats_runtime::env::ort_library_path()
            .and_then(|p| p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    );
    println!(
        "exported       {} graph nodes, {:.1} MB",
        export.nodes,
        export.bytes as f64 / 1e6
    );
    println!("logits         {:?} from both", ort_logits.size());
    println!("tch vs ORT     agree within 1e-4: {}", max_diff < 1e-4);
    Ok(())
}
// ANCHOR_END: onnx

// ANCHOR: exercise_seed
fn exercise_seed(device: Device, n: i64) {
    step("exercise_seed");
    // The tensor step's first entry for seeds 0, 0 again and 1.
    for seed in [CONFIG.seed, CONFIG.seed, CONFIG.seed + 1] {
        tch::manual_seed(seed);
        let a = Tensor::randn([n, n], (Kind::Float, device));
        let b = Tensor::randn([n, n], (Kind::Float, device));
        let c = a.matmul(&b);
        println!(
            "seed {seed}: c[0, 0] = {:.4}, shape {:?}",
            c.double_value(&[0, 0]),
            c.size()
        );
    }
}
// ANCHOR_END: exercise_seed

// ANCHOR: exercise_threads
fn exercise_threads(device: Device, n: i64) {
    step("exercise_threads");
    // The same product on one thread, against the default pool.
    tch::manual_seed(CONFIG.seed);
    let a = Tensor::randn([n, n], (Kind::Float, device));
    let b = Tensor::randn([n, n], (Kind::Float, device));
    let pool = tch::get_num_threads();
    let many = a.matmul(&b);
    tch::set_num_threads(1);
    let one = a.matmul(&b);
    // back to the default for the rest of the example
    tch::set_num_threads(pool);
    let max_diff = (&many - &one).abs().max().double_value(&[]);
    let scale = many.abs().max().double_value(&[]);
    println!("largest entry            {scale:.1}");
    println!(
        "one thread vs the pool   agree within 1e-4: {}",
        max_diff < 1e-4
    );
}
// ANCHOR_END: exercise_threads

// ANCHOR: exercise_tanh
fn exercise_tanh() {
    step("exercise_tanh");
    // Autograd's derivative of tanh against the formula 1 − tanh²(x).
    let x = Tensor::from_slice(&[-2.0f32, -0.5, 0.0, 0.5, 2.0])
        .set_requires_grad(true);
    let y = x.tanh();
    let grad = Tensor::run_backward(&[y.sum(Kind::Float)], &[&x], false, false)
        .remove(0);
    let formula = y.detach().square().neg() + 1.0;
    println!("    x   tanh(x)  autograd  1 − tanh²");
    for i in 0..5 {
        println!(
            "{:>5.1}  {:>8.4}  {:>8.4}  {:>9.4}",
            x.double_value(&[i]),
            y.double_value(&[i]),
            grad.double_value(&[i]),
            formula.double_value(&[i])
        );
    }
}
// ANCHOR_END: exercise_tanh
