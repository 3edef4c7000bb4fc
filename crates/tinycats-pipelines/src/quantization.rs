//! The int8 comparison: write the quantized variants of an fp32 graph, time each on the same
//! inputs, and measure how far its samples move from fp32's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tinycats_onnx::Scheme;
use tinycats_runtime::Preprocess;
use tinycats_runtime::ndarray::{ArrayView4, Axis};

use crate::{PipelineError, Result};

/// One graph of the comparison: the fp32 original or an int8 variant of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// `fp32`, `int8-weight-only` or `int8-dynamic` ([`Scheme::name`]).
    pub name: &'static str,
    pub scheme: Option<Scheme>,
    pub path: PathBuf,
    /// File size in MB (10⁶ bytes).
    pub megabytes: f64,
}

/// The fp32 graph at `fp32` and its two int8 variants, written to `out_dir` as
/// `<stem>-<scheme>.onnx`.
pub fn write_variants(fp32: &Path, out_dir: &Path, stem: &str) -> Result<Vec<Variant>> {
    std::fs::create_dir_all(out_dir).map_err(|source| PipelineError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let model = tinycats_onnx::read_model(fp32)?;
    let mut variants = Vec::new();
    for scheme in [None, Some(Scheme::WeightOnly), Some(Scheme::Dynamic)] {
        let path = match scheme {
            None => fp32.to_path_buf(),
            Some(s) => {
                let path = out_dir.join(format!("{stem}-{}.onnx", s.name()));
                tinycats_onnx::write_model(&tinycats_onnx::quantize(&model, s)?, &path)?;
                path
            }
        };
        let megabytes = std::fs::metadata(&path)
            .map_err(|source| PipelineError::Io {
                path: path.clone(),
                source,
            })?
            .len() as f64
            / 1e6;
        variants.push(Variant {
            name: scheme.map_or("fp32", |s| s.name()),
            scheme,
            path,
            megabytes,
        });
    }
    Ok(variants)
}

/// Milliseconds per call of `f`: the mean of `reps` calls after one warm-up call.
pub fn time_ms<E>(reps: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    f()?;
    let started = Instant::now();
    for _ in 0..reps.max(1) {
        f()?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / reps.max(1) as f64)
}

/// RMSE between two batches of samples on the 8-bit pixels a reader sees, scaled to [0, 1].
///
/// # Shapes
/// `a`, `b`: `(N, 3, S, S)` in the model's space
pub fn pixel_rmse(a: ArrayView4<f32>, b: ArrayView4<f32>, pixels: &Preprocess) -> f64 {
    let (mut sq, mut n) = (0.0f64, 0usize);
    for (ia, ib) in a.axis_iter(Axis(0)).zip(b.axis_iter(Axis(0))) {
        let (pa, pb) = (pixels.to_image(ia), pixels.to_image(ib));
        for (x, y) in pa.as_raw().iter().zip(pb.as_raw()) {
            let d = (f64::from(*x) - f64::from(*y)) / 255.0;
            sq += d * d;
            n += 1;
        }
    }
    (sq / n.max(1) as f64).sqrt()
}
