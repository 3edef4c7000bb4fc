//! TinyDiT on the CPU: training images/s and sampling ms/image for the preset shapes, in fp32
//! and (on a CPU with AMX or AVX-512 BF16) in bf16 mixed precision, side by side in one run,
//! and the share of the machine's measured matmul peak that each reaches.
//! `bench/dit_reference.py` runs the same shapes in PyTorch eager; see `bench/README.md`.
//!
//! ```text
//! cargo bench -p tinycats-models --bench train_step            # all shapes
//! TINYCATS_BENCH_STEPS=3 cargo bench -p tinycats-models --bench train_step -- tiny
//! ```

use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor, nn};
use tinycats_core::{SampleOptions, Solver};
use tinycats_models::device::Bf16Unit;
use tinycats_models::dit::{DitConfig, TinyDit};
use tinycats_models::flow::{self, TimeSampling};
use tinycats_models::trainer::{AdamW, AdamWConfig};

/// The shapes measured: (label, patch, width, depth, heads).
const SHAPES: &[(&str, i64, i64, i64, i64)] = &[
    ("p8-w256-d8", 8, 256, 8, 4),
    ("tiny: p8-w256-d6", 8, 256, 6, 4),
    ("p8-w192-d6", 8, 192, 6, 3),
    ("p4-w256-d8", 4, 256, 8, 4),
];
const BATCH: i64 = 32;
const SAMPLE_BATCH: i64 = 13;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Matmul throughput (GFLOP/s) of libtorch on 1024² matrices of `kind`, best of 10.
fn matmul_peak(kind: Kind) -> f64 {
    let n = 1024;
    let a = Tensor::randn([n, n], (kind, Device::Cpu));
    let b = Tensor::randn([n, n], (kind, Device::Cpu));
    let _ = a.matmul(&b);
    (0..10)
        .map(|_| {
            let t = Instant::now();
            let _ = a.matmul(&b);
            2.0 * (n * n * n) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let steps: usize = std::env::var("TINYCATS_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    tch::manual_seed(0);
    let unit = Bf16Unit::detect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                Some(
                    l.strip_prefix("model name")?
                        .split_once(':')?
                        .1
                        .trim()
                        .to_owned(),
                )
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mut precisions = vec![(Kind::Float, "fp32", matmul_peak(Kind::Float))];
    if unit.is_some() {
        precisions.push((Kind::BFloat16, "bf16", matmul_peak(Kind::BFloat16)));
    }
    println!(
        "{cpu}, {} threads, bf16 unit: {}",
        tch::get_num_threads(),
        unit.map_or(
            "none (bf16 rows skipped: emulated bf16 is slower than fp32)",
            |u| u.name()
        )
    );
    for (_, name, peak) in &precisions {
        println!("{name} matmul peak (1024², best of 10): {peak:.1} GFLOP/s");
    }
    println!(
        "| shape | precision | params | train s/step (B={BATCH}) | train img/s | % peak | sample ms/img/NFE (B={SAMPLE_BATCH}) | % peak |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut breakdown = Vec::new();
    for (&(label, patch, width, depth, heads), &(kind, precision, peak)) in SHAPES
        .iter()
        .flat_map(|s| precisions.iter().map(move |p| (s, p)))
    {
        if filter.as_ref().is_some_and(|f| !label.contains(f.as_str())) {
            continue;
        }
        let cfg = DitConfig {
            patch_size: patch,
            hidden_size: width,
            depth,
            num_heads: heads,
            ..DitConfig::tiny()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = TinyDit::new(vs.root(), &cfg);
        model.set_compute_kind(kind);
        let params: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        let mut opt = AdamW::new(&vs, AdamWConfig::default());
        let x1 = Tensor::randn([BATCH, 3, 64, 64], (Kind::Float, Device::Cpu));
        let y = Tensor::randint(cfg.num_classes, [BATCH], (Kind::Int64, Device::Cpu));
        let mut times = Vec::new();
        // Where a step goes: forward and loss, backward, gradient clipping, AdamW (ms).
        let mut phases: [Vec<f64>; 4] = Default::default();
        for i in 0..=steps {
            let t = Instant::now();
            opt.zero_grad();
            let loss = flow::flow_matching_loss(&model, &x1, &y, TimeSampling::default(), true);
            let forward = t.elapsed();
            loss.backward();
            let backward = t.elapsed();
            opt.clip_grad_norm(1.0);
            let clip = t.elapsed();
            opt.step(1e-4);
            let done = t.elapsed();
            if i > 0 {
                times.push(done.as_secs_f64());
                for (p, (a, b)) in phases.iter_mut().zip([
                    (Duration::ZERO, forward),
                    (forward, backward),
                    (backward, clip),
                    (clip, done),
                ]) {
                    p.push((b - a).as_secs_f64() * 1e3);
                }
            }
        }
        let step_s = median(times);
        let [fwd, bwd, clip, adamw] = phases.map(median);
        breakdown.push(format!(
            "{label}, {precision}: forward and loss {fwd:.0} ms, backward {bwd:.0} ms, gradient clipping \
             {clip:.0} ms, AdamW {adamw:.0} ms (medians)"
        ));
        let train_gflops = 3.0 * cfg.forward_macs().flops() * BATCH as f64 / step_s / 1e9;

        // Sampling: Euler without guidance, so each step is one network evaluation (NFE).
        let noise = Tensor::randn([SAMPLE_BATCH, 3, 64, 64], (Kind::Float, Device::Cpu));
        let ys = Tensor::arange(SAMPLE_BATCH, (Kind::Int64, Device::Cpu));
        let opts = SampleOptions {
            steps: 10,
            shift: 1.0,
            solver: Solver::Euler,
            cfg_scale: 1.0,
            guidance_interval: [0.0, 1.0],
        };
        let _ = flow::sample(&model, &noise, &ys, &SampleOptions { steps: 1, ..opts });
        let t = Instant::now();
        let _ = flow::sample(&model, &noise, &ys, &opts).unwrap();
        let nfe_ms = t.elapsed().as_secs_f64() * 1e3 / (opts.steps as f64 * SAMPLE_BATCH as f64);
        let sample_gflops = cfg.forward_macs().flops() / (nfe_ms / 1e3) / 1e9;
        println!(
            "| {label} | {precision} | {:.2} M | {step_s:.3} | {:.1} | {:.0} % | {nfe_ms:.2} | {:.0} % |",
            params as f64 / 1e6,
            BATCH as f64 / step_s,
            100.0 * train_gflops / peak,
            100.0 * sample_gflops / peak,
        );
    }
    for line in breakdown {
        println!("step phases, {line}");
    }
}
