//! Parity of the exported ONNX graphs (run by ONNX Runtime) with the tch models they came
//! from, on small presets with random weights N(0, 0.05²) (every weight non-zero, unlike the
//! adaLN-Zero initialisation, so that every path of the graph is exercised).
//!
//! - one denoiser evaluation / one classifier forward at batch 1, 3 and 8: max-abs ≤ 1e-4;
//! - a full 10-step Euler sampling run with guidance 2 from the same noise: max-abs ≤ 1e-4
//!   (measured ~1e-6 on 2 cores; per-step differences compound through the ODE, and the
//!   bound leaves room for thread-count-dependent summation order).

use std::path::Path;

use anyhow::Result;
use tinycats_models::dit::{DitConfig, Prediction};
use tinycats_models::flow::{self, SampleOptions, Solver};
use tinycats_models::tch::{Device, Kind, Tensor, nn, nn::ModuleT};
use tinycats_models::{Classifier as TchClassifier, ClassifierConfig, TinyDit, io};
use tinycats_runtime::ndarray::Array4;
use tinycats_runtime::{Classifier, Generator, Sampler};

const BATCHES: [i64; 3] = [1, 3, 8];

fn small_dit(prediction: Prediction) -> DitConfig {
    DitConfig {
        prediction,
        ..DitConfig::micro()
    }
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
    for prediction in [Prediction::V, Prediction::X] {
        let cfg = small_dit(prediction);
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

        let noise = Tensor::randn([4, 3, s, s], (Kind::Float, Device::Cpu));
        let breed = 6;
        let opts = SampleOptions {
            steps: 10,
            shift: 1.0,
            solver: Solver::Euler,
            cfg_scale: 2.0,
        };
        let y = Tensor::full([4], breed, (Kind::Int64, Device::Cpu));
        let want = to_array(&flow::sample(&model, &noise, &y, &opts)?);
        let got = ort.sample(
            to_array(&noise),
            breed as usize,
            10,
            2.0,
            Sampler::Euler,
            |_| {},
        )?;
        let d = max_abs(got.as_slice().unwrap(), want.as_slice().unwrap());
        println!("{prediction:?} 10-step Euler, guidance 2: sample max-abs {d:.2e}");
        assert!(d <= 1e-4, "{prediction:?} sampling run: max-abs {d}");
    }
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
