//! Rectified flow (Liu et al., 2022; Lipman et al., 2022): the training objective and the
//! samplers, as plain functions beside the model.
//!
//! Time runs from t = 0 (noise x₀ ~ N(0, I)) to t = 1 (data x₁):
//! `x_t = t·x₁ + (1 − t)·x₀`, and the velocity to learn is `v = x₁ − x₀`. The loss is always
//! the velocity MSE; with `prediction = "x"` the network's x̂₁ is first turned into a
//! velocity (JiT: Li & He, 2025). Sampling integrates `dx/dt = v(x, t)` from 0 to 1.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use tinycats_core::{Normalize, SampleOptions, timesteps};

pub use crate::dit::Tch;
use crate::dit::TinyDit;
use crate::error::Result;

/// How training draws t.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimeSampling {
    /// t ~ U(0, 1).
    Uniform,
    /// t = sigmoid(u), u ~ N(mean, std²) (Esser et al., 2024, SD3 §3.1): more steps in the
    /// middle of the path, where the velocity is hardest to predict.
    LogitNormal { mean: f64, std: f64 },
}

impl Default for TimeSampling {
    fn default() -> Self {
        TimeSampling::LogitNormal {
            mean: 0.0,
            std: 1.0,
        }
    }
}

impl TimeSampling {
    /// Draws `n` times on `device`.
    ///
    /// # Shapes
    /// → `(n,)`
    pub fn sample(&self, n: i64, device: tch::Device) -> Tensor {
        match *self {
            TimeSampling::Uniform => Tensor::rand([n], (Kind::Float, device)),
            TimeSampling::LogitNormal { mean, std } => {
                (Tensor::randn([n], (Kind::Float, device)) * std + mean).sigmoid()
            }
        }
    }
}

/// `x_t = t·x₁ + (1 − t)·x₀`, with t broadcast per image.
///
/// # Shapes
/// `x0`, `x1`: `(N, C, H, W)`, `t`: `(N,)` → `(N, C, H, W)`
pub fn interpolate(x0: &Tensor, x1: &Tensor, t: &Tensor) -> Tensor {
    let t = t.reshape([-1, 1, 1, 1]); // (N, 1, 1, 1)
    &t * x1 + (1.0 - &t) * x0
}

/// The flow-matching loss for a batch of clean images `x1` with labels `y`: draws noise and
/// times, and returns `mean ‖v̂(x_t, t, y) − (x₁ − x₀)‖²` (a scalar). Label dropout applies
/// when `train`.
pub fn flow_matching_loss(
    model: &TinyDit,
    x1: &Tensor,
    y: &Tensor,
    times: TimeSampling,
    train: bool,
) -> Tensor {
    flow_matching_loss_keeping(model, x1, y, times, train, None).0
}

/// [`flow_matching_loss`] (the same noise and times from the same seed), also returning the
/// residual stream after the first `after_blocks` blocks, for REPA ([`crate::repa`]).
///
/// # Shapes
/// `x1`: `(N, C, H, W)`, `y`: `(N,)` → `()`, `(N, T, D)`
pub fn flow_matching_loss_with_tokens(
    model: &TinyDit,
    x1: &Tensor,
    y: &Tensor,
    times: TimeSampling,
    train: bool,
    after_blocks: usize,
) -> (Tensor, Tensor) {
    let (loss, tokens) = flow_matching_loss_keeping(model, x1, y, times, train, Some(after_blocks));
    (loss, tokens.expect("kept"))
}

/// The flow-matching loss, and the residual stream after `keep_after` blocks when asked.
fn flow_matching_loss_keeping(
    model: &TinyDit,
    x1: &Tensor,
    y: &Tensor,
    times: TimeSampling,
    train: bool,
    keep_after: Option<usize>,
) -> (Tensor, Option<Tensor>) {
    let x0 = x1.randn_like(); // (N, C, H, W)
    let t = times.sample(x1.size()[0], x1.device()); // (N,)
    let x_t = interpolate(&x0, x1, &t);
    let target = x1 - &x0;
    let (out, tokens) = model.forward_net_keeping(&x_t, &t, y, train, keep_after);
    let v = model.velocity_from_output(&out, &x_t, &t);
    ((v - target).square().mean(Kind::Float), tokens)
}

/// Generates images of breeds `y` from the noise `noise`, in the model's normalised space
/// (see [`to_unit_range`]).
///
/// # Shapes
/// `noise`: `(N, C, H, W)`, `y`: `(N,)` int64 → `(N, C, H, W)`
pub fn sample(model: &TinyDit, noise: &Tensor, y: &Tensor, opts: &SampleOptions) -> Result<Tensor> {
    sample_with(model, noise, y, opts, |_| {})
}

/// [`sample`], calling `on_step` after every step (for trajectories and previews).
pub fn sample_with(
    model: &TinyDit,
    noise: &Tensor,
    y: &Tensor,
    opts: &SampleOptions,
    on_step: impl FnMut(&tinycats_core::Step<'_, Tch>),
) -> Result<Tensor> {
    opts.validate()?;
    let _guard = tch::no_grad_guard();
    let n = noise.size()[0];
    let velocity = |x: &Tch, t: f64| {
        let scale = opts.guidance_at(t);
        let t = Tensor::full([n], t, (Kind::Float, x.0.device())); // (N,)
        Ok::<_, crate::ModelError>(Tch(if scale != 1.0 {
            model.forward_with_cfg(&x.0, &t, y, scale)
        } else {
            model.forward(&x.0, &t, y)
        }))
    };
    let times = timesteps(opts.steps, opts.shift);
    let x = tinycats_core::integrate(
        Tch(noise.shallow_clone()),
        &times,
        opts.solver,
        velocity,
        on_step,
    )?;
    Ok(x.0)
}

/// Standard normal noise for `n` images of `shape` from the portable generator
/// ([`tinycats_core::noise`]): image `i` draws stream `i` of `seed`, so the same seed gives
/// the same noise here, on ONNX Runtime and in the browser.
///
/// # Shapes
/// → `(n, C, H, W)`
pub fn seeded_noise(seed: u64, n: i64, chw: [i64; 3], device: tch::Device) -> Tensor {
    let per_image = (chw[0] * chw[1] * chw[2]) as usize;
    let values = tinycats_core::noise::images(seed, n as usize, per_image);
    Tensor::from_slice(&values)
        .reshape([n, chw[0], chw[1], chw[2]])
        .to_device(device)
}

/// Maps images in [0, 1] into the model's space ([`Normalize::normalize`] on tensors).
///
/// # Shapes
/// `x`: `(N, C, H, W)` → `(N, C, H, W)`
pub fn from_unit_range(x: &Tensor, norm: &Normalize) -> Tensor {
    let dev = x.device();
    let m = Tensor::from_slice(&norm.mean)
        .to_device(dev)
        .reshape([1, -1, 1, 1]);
    let s = Tensor::from_slice(&norm.std)
        .to_device(dev)
        .reshape([1, -1, 1, 1]);
    (x.to_kind(Kind::Float) - m) / s
}

/// Maps images in the model's space back to [0, 1] ([`Normalize::denormalize`] on
/// tensors), clamped.
///
/// # Shapes
/// `x`: `(N, C, H, W)` → `(N, C, H, W)`
pub fn to_unit_range(x: &Tensor, norm: &Normalize) -> Tensor {
    let dev = x.device();
    let m = Tensor::from_slice(&norm.mean)
        .to_device(dev)
        .reshape([1, -1, 1, 1]);
    let s = Tensor::from_slice(&norm.std)
        .to_device(dev)
        .reshape([1, -1, 1, 1]);
    (x.to_kind(Kind::Float) * s + m).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn interpolation_endpoints() {
        let x0 = Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        let x1 = Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        let t = Tensor::from_slice(&[0.0f32, 1.0]);
        let x_t = interpolate(&x0, &x1, &t);
        assert!(x_t.get(0).equal(&x0.get(0)) && x_t.get(1).equal(&x1.get(1)));
    }

    #[test]
    fn logit_normal_times_lie_in_the_open_unit_interval() {
        tch::manual_seed(1);
        let t = TimeSampling::default().sample(10_000, Device::Cpu);
        let (lo, hi) = (t.min().double_value(&[]), t.max().double_value(&[]));
        assert!(lo > 0.0 && hi < 1.0);
        assert!((t.mean(Kind::Double).double_value(&[]) - 0.5).abs() < 0.01);
    }
}
