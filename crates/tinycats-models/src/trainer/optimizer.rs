//! AdamW (Loshchilov & Hutter, 2019) written out over tensors, with the same update as
//! `torch.optim.AdamW` (foreach = False). tch's built-in optimiser keeps its moments inside
//! libtorch where they cannot be saved, so resuming would restart them; this one's state
//! goes into the checkpoint and a resumed run continues exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn};

use crate::error::{ModelError, Result};

/// AdamW hyper-parameters (the learning rate comes from the schedule each step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled weight decay, applied to matrices and convolution kernels only (not to
    /// biases or norm parameters).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

#[derive(Debug)]
struct Param {
    name: String,
    value: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    decay: bool,
}

/// AdamW over the trainable variables of a `VarStore`.
#[derive(Debug)]
pub struct AdamW {
    cfg: AdamWConfig,
    params: Vec<Param>,
    steps: u64,
}

impl AdamW {
    pub fn new(vs: &nn::VarStore, cfg: AdamWConfig) -> Self {
        let vars: BTreeMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .filter(|(_, v)| v.requires_grad())
            .collect();
        let params = vars
            .into_iter()
            .map(|(name, value)| Param {
                exp_avg: value.zeros_like(),
                exp_avg_sq: value.zeros_like(),
                decay: value.dim() >= 2,
                name,
                value,
            })
            .collect();
        AdamW {
            cfg,
            params,
            steps: 0,
        }
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Clears the accumulated gradients.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.value.zero_grad();
        }
    }

    /// The global L2 norm of the gradients (NaN or infinite when any gradient is).
    pub fn grad_norm(&self) -> f64 {
        let _guard = tch::no_grad_guard();
        self.global_norm(&self.grads())
    }

    fn grads(&self) -> Vec<Tensor> {
        self.params
            .iter()
            .map(|p| p.value.grad())
            .filter(|g| g.defined())
            .collect()
    }

    fn global_norm(&self, grads: &[Tensor]) -> f64 {
        if grads.is_empty() {
            return 0.0;
        }
        let sq: Vec<Tensor> = grads.iter().map(|g| g.square().sum(Kind::Float)).collect();
        Tensor::stack(&sq, 0)
            .sum(Kind::Float)
            .sqrt()
            .double_value(&[])
    }

    /// Scales the gradients so that their global L2 norm is at most `max_norm`; returns the
    /// norm before clipping. A non-finite norm is returned as it is, with nothing scaled: the
    /// caller must not step on such gradients.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let grads = self.grads();
        let norm = self.global_norm(&grads);
        if !norm.is_finite() {
            return norm;
        }
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            for mut g in grads {
                let _ = g.g_mul_scalar_(coef);
            }
        }
        norm
    }

    /// One AdamW update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        self.steps += 1;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.cfg;
        let bc1 = 1.0 - beta1.powi(self.steps as i32);
        let bc2_sqrt = (1.0 - beta2.powi(self.steps as i32)).sqrt();
        for p in &mut self.params {
            let g = p.value.grad();
            if !g.defined() {
                continue;
            }
            if p.decay && weight_decay > 0.0 {
                let _ = p.value.g_mul_scalar_(1.0 - lr * weight_decay);
            }
            let _ = p.exp_avg.lerp_(&g, 1.0 - beta1);
            let _ = p.exp_avg_sq.g_mul_scalar_(beta2);
            let _ = p.exp_avg_sq.g_add_(&(g.square() * (1.0 - beta2)));
            let denom = p.exp_avg_sq.sqrt() / bc2_sqrt + eps;
            let _ = p.value.g_sub_(&(&p.exp_avg / denom * (lr / bc1)));
        }
    }

    /// The moments, as `exp_avg.<name>` and `exp_avg_sq.<name>`.
    pub fn state(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for p in &self.params {
            out.insert(format!("exp_avg.{}", p.name), p.exp_avg.shallow_clone());
            out.insert(
                format!("exp_avg_sq.{}", p.name),
                p.exp_avg_sq.shallow_clone(),
            );
        }
        out
    }

    /// Restores the moments written by [`AdamW::state`] and the step count.
    pub fn restore(
        &mut self,
        state: &BTreeMap<String, Tensor>,
        steps: u64,
        path: &std::path::Path,
    ) -> Result<()> {
        let _guard = tch::no_grad_guard();
        for p in &mut self.params {
            for (key, dst) in [
                ("exp_avg", &mut p.exp_avg),
                ("exp_avg_sq", &mut p.exp_avg_sq),
            ] {
                let name = format!("{key}.{}", p.name);
                let src = state.get(&name).ok_or_else(|| ModelError::MissingTensor {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    expected: dst.size(),
                })?;
                if src.size() != dst.size() {
                    return Err(ModelError::ShapeMismatch {
                        path: path.to_path_buf(),
                        name,
                        found: src.size(),
                        expected: dst.size(),
                    });
                }
                dst.copy_(&src.to_device(dst.device()));
            }
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn first_step_moves_each_weight_by_lr_against_its_gradient_sign() {
        // After one step m̂ = g and v̂ = g², so the update is lr · g / (|g| + eps).
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[3]);
        let mut opt = AdamW::new(&vs, AdamWConfig::default());
        let loss = (&w * Tensor::from_slice(&[2.0f32, -3.0, 0.5])).sum(Kind::Float);
        loss.backward();
        opt.step(0.1);
        let got = Vec::<f32>::try_from(&w).unwrap();
        for (g, want) in got.iter().zip([-0.1f32, 0.1, -0.1]) {
            assert!((g - want).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[2]);
        let mut opt = AdamW::new(&vs, AdamWConfig::default());
        (&w * Tensor::from_slice(&[3.0f32, 4.0]))
            .sum(Kind::Float)
            .backward();
        let norm = opt.clip_grad_norm(1.0);
        assert!((norm - 5.0).abs() < 1e-6);
        assert!((w.grad().norm().double_value(&[]) - 1.0).abs() < 1e-5);
    }
}
