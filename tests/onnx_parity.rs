//! Parity of the exported ONNX graphs (run by ONNX Runtime) with the tch models they came
//! from, on small presets with random weights N(0, 0.05²) (every weight non-zero, unlike the
//! adaLN-Zero initialisation, so that every path of the graph is exercised).
//!
//! - one denoiser evaluation / one classifier forward at batch 1, 3 and 8: max-abs ≤ 1e-4;
//! - a full 10-step sampling run (Euler and Heun) with guidance 2 from the same seed, each
//!   back-end drawing its own noise: max-abs ≤ 1e-4 (measured ~1e-6 on 2 cores; per-step
//!   differences compound through the ODE, and the bound leaves room for
//!   thread-count-dependent summation order);
//! - the bundled generator, the book's defaults (20 Euler steps, guidance 4) and Heun, same
//!   seed and breed through `tinycats_models` and `tinycats_runtime`: the same image within
//!   1e-4 in pixel units (max-abs on [0, 1]);
//! - the bundled int8 graph is the int8-dynamic quantization of the bundled weights, byte
//!   for byte, and its images stay within 0.03 RMSE of fp32's from the same seed.

use std::path::Path;

use anyhow::Result;
use tinycats_core::{SampleOptions, Solver};
use tinycats_models::dit::{DitConfig, Prediction};
use tinycats_models::flow;
use tinycats_models::tch::{Device, Kind, Tensor, nn, nn::ModuleT};
use tinycats_models::{Classifier as TchClassifier, ClassifierConfig, TinyDit, io};
use tinycats_runtime::ndarray::Array4;
use tinycats_runtime::{Classifier, Generator};

const BATCHES: [i64; 3] = [1, 3, 8];

fn small_dit(prediction: Prediction) -> DitConfig {
    DitConfig {
        prediction,
        ..DitConfig::micro()
    }
}

/// The three graphs the exporter writes: v and x prediction, and x with the output
/// convolution.
fn small_dits() -> [DitConfig; 3] {
    let with_conv = DitConfig {
        final_conv: true,
        ..small_dit(Prediction::X)
    };
    [
        small_dit(Prediction::V),
        small_dit(Prediction::X),
        with_conv,
    ]
}

fn small_classifier() -> ClassifierConfig {
    let mut cfg = ClassifierConfig::tiny();
    cfg.image_size = 16;
    cfg.widths = vec![8, 16, 32];
    cfg.blocks_per_stage = vec![1, 2, 1];
    cfg
}

fn to_array(t: &Tensor) -> Array4<f32> {
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().flatten(0, -1)).unwrap();
    Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), v).unwrap()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn export(dir: &Path) -> Result<std::path::PathBuf> {
    let out = dir.join("model.onnx");
    tinycats_onnx::export(dir, &out, None)?;
    Ok(out)
}

#[test]
fn generator_graph_matches_tch_per_call_and_over_a_sampling_run() -> Result<()> {
    tinycats_models::tch::manual_seed(5);
    for cfg in small_dits() {
        let prediction = (cfg.prediction, cfg.final_conv);
        let dir = tempfile::tempdir()?;
        let vs = nn::VarStore::new(Device::Cpu);
        let model = TinyDit::new(vs.root(), &cfg);
        tinycats_models::testing::randomise(&vs);
        io::save_var_store(&vs, &dir.path().join("model.safetensors"))?;
        io::write_json(&dir.path().join("config.json"), &cfg)?;
        let mut ort = Generator::load(export(dir.path())?)?;

        let _guard = tinycats_models::tch::no_grad_guard();
        let s = cfg.input_size;
        for n in BATCHES {
            let x = Tensor::randn([n, 3, s, s], (Kind::Float, Device::Cpu));
            let t = Tensor::rand([n], (Kind::Float, Device::Cpu));
            // Include the null class.
            let y = Tensor::randint(cfg.num_classes + 1, [n], (Kind::Int64, Device::Cpu));
            let want = to_array(&model.forward(&x, &t, &y));
            let tv = Vec::<f32>::try_from(&t)?;
            let yv = Vec::<i64>::try_from(&y)?;
            let got = ort.velocity(to_array(&x).view(), &tv, &yv)?;
            let d = max_abs(got.as_slice().unwrap(), want.as_slice().unwrap());
            let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            println!("{prediction:?} batch {n}: velocity max-abs {d:.2e} (max |v| {scale:.2})");
            assert!(d <= 1e-4, "{prediction:?} batch {n}: max-abs {d}");
        }

        let breed = 6;
        for solver in [Solver::Euler, Solver::Heun] {
            let opts = SampleOptions {
                steps: 10,
                shift: 1.0,
                solver,
                cfg_scale: 2.0,
                // Guided in the middle of t only: both back-ends switch at the same steps.
                guidance_interval: [0.2, 0.7],
            };
            // The same seed, drawn by each back-end's own entry point.
            let noise = flow::seeded_noise(11, 4, [3, s, s], Device::Cpu);
            let ort_noise = ort.noise(11, 4);
            assert_eq!(to_array(&noise), ort_noise, "same seed, same noise");
            let y = Tensor::full([4], breed, (Kind::Int64, Device::Cpu));
            let want = to_array(&flow::sample(&model, &noise, &y, &opts)?);
            let got = ort.sample(ort_noise, breed as usize, &opts, |_| {})?;
            let d = max_abs(got.as_slice().unwrap(), want.as_slice().unwrap());
            println!("{prediction:?} {opts}: sample max-abs {d:.2e}");
            assert!(
                d <= 1e-4,
                "{prediction:?} {solver} sampling run: max-abs {d}"
            );
        }
    }
    Ok(())
}

/// The bundled generator, sampled through libtorch and through ONNX Runtime from the same
/// seed: the same image, within 1e-4 on the [0, 1] pixel scale.
#[test]
fn same_seed_same_cat_on_libtorch_and_onnx_runtime() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/generator");
    let (_vs, model) = TinyDit::load(&root, Device::Cpu)?;
    let mut ort = Generator::load(root.join("model.onnx"))?;
    let norm = model.config().normalize()?;
    let (seed, n, breed) = (3, 2, 5);
    for opts in [
        SampleOptions::DEFAULT,
        SampleOptions {
            solver: Solver::Heun,
            steps: 8,
            ..SampleOptions::DEFAULT
        },
    ] {
        let y = Tensor::full([n], breed, (Kind::Int64, Device::Cpu));
        let want = to_array(&tinycats_models::tasks::sample_labels(
            &model, &y, &opts, seed,
        )?);
        let got = ort.sample(ort.noise(seed, n as usize), breed as usize, &opts, |_| {})?;
        let (mut d, mut spread) = (0.0f32, 0.0f32);
        for ((idx, &g), &w) in got.indexed_iter().zip(want.iter()) {
            let pixel = norm.denormalize(idx.1, g).clamp(0.0, 1.0);
            d = d.max((pixel - w).abs());
            spread = spread.max((w - 0.5).abs());
        }
        println!(
            "{} {} steps, guidance {}: max |Δpixel| {d:.2e}",
            opts.solver, opts.steps, opts.cfg_scale
        );
        assert!(spread > 0.3, "the samples are images, not a flat field");
        assert!(
            d <= 1e-4,
            "{opts:?}: libtorch and ONNX Runtime differ by {d}"
        );
    }
    Ok(())
}

/// `assets/generator/model_int8.onnx` is what `tinycats export onnx --quantize
/// int8-dynamic` makes of the bundled weights now (so it cannot go stale), and samples
/// close to the fp32 graph.
#[test]
fn bundled_int8_graph_is_current_and_close_to_fp32() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/generator");
    let fresh = tinycats_onnx::quantize::quantize(
        &tinycats_onnx::export_dir(&root)?,
        tinycats_onnx::Scheme::Dynamic,
    )?;
    let dir = tempfile::tempdir()?;
    tinycats_onnx::write_model(&fresh, &dir.path().join("int8.onnx"))?;
    assert!(
        std::fs::read(dir.path().join("int8.onnx"))?
            == std::fs::read(root.join("model_int8.onnx"))?,
        "assets/generator/model_int8.onnx is stale: run `tinycats export onnx --model \
         assets/generator --out assets/generator/model_int8.onnx --quantize int8-dynamic`"
    );
    let mut fp32 = Generator::load(root.join("model.onnx"))?;
    let mut int8 = Generator::load(root.join("model_int8.onnx"))?;
    let (seed, n, breed) = (3, 4, 10);
    let opts = SampleOptions::DEFAULT;
    let a = fp32.sample(fp32.noise(seed, n), breed, &opts, |_| {})?;
    let b = int8.sample(int8.noise(seed, n), breed, &opts, |_| {})?;
    let norm = fp32.preprocess().norm;
    let mut sq = 0.0f64;
    for ((idx, &x), &y) in a.indexed_iter().zip(b.iter()) {
        let (x, y) = (norm.denormalize(idx.1, x), norm.denormalize(idx.1, y));
        sq += f64::from(x.clamp(0.0, 1.0) - y.clamp(0.0, 1.0)).powi(2);
    }
    let rmse = (sq / a.len() as f64).sqrt();
    println!("int8 vs fp32, {opts}: RMSE {rmse:.4} on [0, 1] pixels");
    assert!(
        rmse > 0.0 && rmse < 0.03,
        "int8 drifts from fp32: RMSE {rmse}"
    );
    Ok(())
}

#[test]
fn classifier_graph_matches_tch() -> Result<()> {
    tinycats_models::tch::manual_seed(9);
    let cfg = small_classifier();
    let dir = tempfile::tempdir()?;
    let vs = nn::VarStore::new(Device::Cpu);
    let model = TchClassifier::new(vs.root(), &cfg);
    tinycats_models::testing::randomise(&vs);
    io::save_var_store(&vs, &dir.path().join("model.safetensors"))?;
    io::write_json(&dir.path().join("config.json"), &cfg)?;
    let mut ort = Classifier::load(export(dir.path())?)?;

    let _guard = tinycats_models::tch::no_grad_guard();
    let s = cfg.image_size;
    for n in BATCHES {
        let x = Tensor::randn([n, 3, s, s], (Kind::Float, Device::Cpu));
        let want = Vec::<f32>::try_from(model.forward_t(&x, false).flatten(0, -1))?;
        let got = ort.logits(to_array(&x).view())?;
        let d = max_abs(got.as_slice().unwrap(), &want);
        println!("classifier batch {n}: logits max-abs {d:.2e}");
        assert!(d <= 1e-4, "batch {n}: max-abs {d}");
    }
    Ok(())
}
