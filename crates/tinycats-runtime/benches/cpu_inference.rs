//! CPU inference benchmark: ms per TinyDiT denoiser call at batch 1
//! and 26 (13 breeds × conditional/unconditional) and classifier images/s, for tch, ONNX
//! Runtime fp32 and ONNX Runtime int8 (both quantization schemes), same machine, same run;
//! plus the share of the measured fp32 matmul peak and the int8 drift against fp32.
//!
//! Models are the `tiny` presets with random weights (timings do not depend on training).
//!
//! ```text
//! cargo bench -p tinycats-runtime --bench cpu_inference
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use ndarray::Array4;
use tinycats_models::tch::{self, Device, Kind, Tensor, nn, nn::ModuleT};
use tinycats_models::{Classifier as TchClassifier, ClassifierConfig, DitConfig, TinyDit, io};
use tinycats_onnx::Scheme;
use tinycats_onnx::graph::{Dim, GraphBuilder};
use tinycats_onnx::proto::tensor_proto::DataType;
use tinycats_runtime::quality::rmse_and_max_abs;
use tinycats_runtime::{Classifier, Generator, SampleOptions};

/// Portable seeded noise ([`tinycats_core::noise`]) of any shape.
fn gaussian_noise(seed: u64, shape: (usize, usize, usize, usize)) -> Array4<f32> {
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let mut v = vec![0.0f32; n];
    tinycats_core::noise::fill(seed, 0, &mut v);
    Array4::from_shape_vec(shape, v).expect("length matches")
}

/// Median seconds per call of `f`, after two warm-up calls, over at least 5 calls or ~2 s.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < Duration::from_secs(2) && samples.len() < 200) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn to_tensor(a: &Array4<f32>) -> Tensor {
    let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
    Tensor::from_slice(a.as_slice().expect("standard layout")).reshape(&shape)
}

/// fp32 GFLOP/s of one large MatMul in ONNX Runtime and in tch; the larger is the peak.
fn matmul_peak(dir: &Path) -> Result<(f64, f64)> {
    let n = 1024usize;
    let mut b = GraphBuilder::new("matmul");
    let a = b.input(
        "noise",
        DataType::Float,
        &[Dim::Fixed(n as i64), Dim::Fixed(n as i64)],
    );
    let w: Vec<f32> = (0..n * n).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
    let w = b.init_f32("w", &[n as i64, n as i64], &w);
    b.op("MatMul", &[&a, &w], vec![]);
    b.rename_last_output("out");
    b.output(
        "out",
        DataType::Float,
        &[Dim::Fixed(n as i64), Dim::Fixed(n as i64)],
    );
    let path = dir.join("matmul.onnx");
    tinycats_onnx::write_model(&b.finish(Vec::new(), "matmul peak"), &path)?;
    let env = tinycats_runtime::env::environment()?;
    let mut session = ort::session::Session::builder(env)?.commit_from_file(&path)?;
    let x = ndarray::Array2::<f32>::from_elem((n, n), 0.5);
    let flops = 2.0 * (n as f64).powi(3);
    let ort_s = time(|| {
        let input = ort::value::TensorRef::from_array_view(&x).expect("tensor");
        session.run(ort::inputs!["noise" => input]).expect("run");
    });
    let xa = Tensor::ones([n as i64, n as i64], (Kind::Float, Device::Cpu));
    let wa = Tensor::ones([n as i64, n as i64], (Kind::Float, Device::Cpu));
    let tch_s = time(|| {
        let _ = xa.matmul(&wa);
    });
    Ok((flops / ort_s / 1e9, flops / tch_s / 1e9))
}

fn file_mb(p: &Path) -> f64 {
    std::fs::metadata(p)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<()> {
    let _guard = tch::no_grad_guard();
    tch::manual_seed(0);
    let dir = tempfile::tempdir()?;
    println!(
        "threads: tch {} | ORT default (one per physical core); cores visible: {}",
        tch::get_num_threads(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // One cat: 20 Euler steps with guidance 4, each step one call on a batch of 2 (with and
    // without the breed), the model already loaded, on the bundled generator's weights: the
    // loop `bench/dit_reference.py` times in PyTorch (the library default before the sampler
    // sweep; today's default, 10 Heun steps guided from t = 0.3, costs 33 network rows
    // instead of 40), pinned here so the two stay the same computation.
    // Measured first, before any other session or libtorch call: idle thread pools of the
    // sessions and libtorch left behind made these short calls up to twice as slow in trials.
    // ONNX Runtime before libtorch for the same reason.
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/generator");
    println!("| one cat, bundled generator: 20 Euler steps, guidance 4 | ms per image |");
    println!("|---|---|");
    let one = SampleOptions {
        steps: 20,
        shift: 1.0,
        solver: tinycats_core::Solver::Euler,
        cfg_scale: 4.0,
        guidance_interval: [0.0, 1.0],
    };
    for (name, file) in [
        ("ORT fp32", "model.onnx"),
        ("ORT int8 dynamic", "model_int8.onnx"),
    ] {
        let mut g = Generator::load(bundled.join(file))?;
        let ms = 1e3
            * time(|| {
                g.sample(g.noise(0, 1), 10, &one, |_| {}).expect("sample");
            });
        println!("| {name} | {ms:.1} |");
    }
    let (_vs, bundled_dit) = TinyDit::load(&bundled, Device::Cpu)?;
    let y = Tensor::full([1], 10, (Kind::Int64, Device::Cpu));
    let ms = 1e3
        * time(|| {
            let _ =
                tinycats_models::tasks::sample_labels(&bundled_dit, &y, &one, 0).expect("sample");
        });
    println!("| tch CPU | {ms:.1} |");

    let (ort_peak, tch_peak) = matmul_peak(dir.path())?;
    let peak = ort_peak.max(tch_peak);
    println!(
        "fp32 matmul 1024³: ORT {ort_peak:.1} GFLOP/s, tch {tch_peak:.1} GFLOP/s → peak {peak:.1}"
    );

    // --- generator -------------------------------------------------------------------
    let cfg = DitConfig::tiny();
    let gdir = dir.path().join("generator");
    std::fs::create_dir_all(&gdir)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let dit = TinyDit::new(vs.root(), &cfg);
    tinycats_models::testing::randomise(&vs);
    io::save_var_store(&vs, &gdir.join("model.safetensors"))?;
    io::write_json(&gdir.join("config.json"), &cfg)?;
    let variants: [(&str, Option<Scheme>); 3] = [
        ("ORT fp32", None),
        ("ORT int8 dynamic", Some(Scheme::Dynamic)),
        ("ORT int8 weight-only", Some(Scheme::WeightOnly)),
    ];
    let mut gens = Vec::new();
    for (name, scheme) in variants {
        let out = dir
            .path()
            .join(format!("g-{}.onnx", name.replace(' ', "_")));
        tinycats_onnx::export(&gdir, &out, scheme)?;
        gens.push((name, file_mb(&out), Generator::load(&out)?));
    }
    let s = cfg.input_size as usize;
    let flops = cfg.forward_macs().flops();
    println!(
        "\nTinyDiT `{}` ({} px, patch {}, D {}, depth {}): {:.1} MFLOP per image per call",
        cfg.preset,
        s,
        cfg.patch_size,
        cfg.hidden_size,
        cfg.depth,
        flops / 1e6
    );
    println!("| generator | file MB | ms/call b=1 | ms/call b=26 | GFLOP/s b=26 | share of peak |");
    println!("|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    {
        let mut ms = Vec::new();
        for batch in [1usize, 26] {
            let x = to_tensor(&gaussian_noise(1, (batch, 3, s, s)));
            let t = Tensor::full([batch as i64], 0.5, (Kind::Float, Device::Cpu));
            let y = Tensor::zeros([batch as i64], (Kind::Int64, Device::Cpu));
            ms.push(
                1e3 * time(|| {
                    let _ = dit.forward(&x, &t, &y);
                }),
            );
        }
        rows.push(("tch CPU".to_string(), f64::NAN, ms));
    }
    for (name, mb, g) in &mut gens {
        let mut ms = Vec::new();
        for batch in [1usize, 26] {
            let x = gaussian_noise(1, (batch, 3, s, s));
            let (t, y) = (vec![0.5f32; batch], vec![0i64; batch]);
            ms.push(
                1e3 * time(|| {
                    g.velocity(x.view(), &t, &y).expect("run");
                }),
            );
        }
        rows.push((name.to_string(), *mb, ms));
    }
    for (name, mb, ms) in &rows {
        let gflops = 26.0 * flops / (ms[1] / 1e3) / 1e9;
        let mb = if mb.is_nan() {
            "–".to_string()
        } else {
            format!("{mb:.2}")
        };
        println!(
            "| {name} | {mb} | {:.2} | {:.2} | {gflops:.1} | {:.0} % |",
            ms[0],
            ms[1],
            100.0 * gflops / peak
        );
    }

    // int8 drift against fp32: one call at batch 26, and a 10-step guided Euler run.
    let x = gaussian_noise(3, (26, 3, s, s));
    let (t, y): (Vec<f32>, Vec<i64>) = (
        (0..26).map(|i| i as f32 / 26.0).collect(),
        (0..26).map(|i| i % 14).collect(),
    );
    let (fp32, rest) = gens.split_first_mut().expect("three variants");
    let v32 = fp32.2.velocity(x.view(), &t, &y)?;
    let noise = gaussian_noise(4, (4, 3, s, s));
    let ten_steps = SampleOptions {
        steps: 10,
        cfg_scale: 2.0,
        ..SampleOptions::DEFAULT
    };
    let s32 = fp32.2.sample(noise.clone(), 3, &ten_steps, |_| {})?;
    println!(
        "\n| int8 vs fp32 (random weights) | velocity RMSE | velocity max-abs | 10-step sample RMSE | sample max-abs |"
    );
    println!("|---|---|---|---|---|");
    for (name, _, g) in rest {
        let v8 = g.velocity(x.view(), &t, &y)?;
        let (vr, vm) = rmse_and_max_abs(v8.view(), v32.view());
        let s8 = g.sample(noise.clone(), 3, &ten_steps, |_| {})?;
        let (sr, sm) = rmse_and_max_abs(s8.view(), s32.view());
        println!("| {name} | {vr:.4} | {vm:.4} | {sr:.4} | {sm:.4} |");
    }

    // --- classifier ------------------------------------------------------------------
    let ccfg = ClassifierConfig::tiny();
    let cdir = dir.path().join("classifier");
    std::fs::create_dir_all(&cdir)?;
    let vs = nn::VarStore::new(Device::Cpu);
    let clf = TchClassifier::new(vs.root(), &ccfg);
    tinycats_models::testing::randomise(&vs);
    io::save_var_store(&vs, &cdir.join("model.safetensors"))?;
    io::write_json(&cdir.join("config.json"), &ccfg)?;
    let batch = 64usize;
    let cs = ccfg.image_size as usize;
    let xc = gaussian_noise(5, (batch, 3, cs, cs));
    let xt = to_tensor(&xc);
    println!("\nclassifier `{}` ({} px), batch {batch}", ccfg.preset, cs);
    println!("| classifier | file MB | images/s | logits max-abs vs fp32 |");
    println!("|---|---|---|---|");
    let secs = time(|| {
        let _ = clf.forward_t(&xt, false);
    });
    println!("| tch CPU | – | {:.0} | – |", batch as f64 / secs);
    let mut ref_logits = None;
    for (name, scheme) in variants {
        let out = dir
            .path()
            .join(format!("c-{}.onnx", name.replace(' ', "_")));
        tinycats_onnx::export(&cdir, &out, scheme)?;
        let mut c = Classifier::load(&out)?;
        let secs = time(|| {
            c.logits(xc.view()).expect("run");
        });
        let logits = c.logits(xc.view())?;
        let drift = match &ref_logits {
            None => "–".to_string(),
            Some(r) => {
                let r: &ndarray::Array2<f32> = r;
                let d = logits
                    .iter()
                    .zip(r.iter())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                format!("{d:.4}")
            }
        };
        if ref_logits.is_none() {
            ref_logits = Some(logits);
        }
        println!(
            "| {name} | {:.2} | {:.0} | {drift} |",
            file_mb(&out),
            batch as f64 / secs
        );
    }
    Ok(())
}
