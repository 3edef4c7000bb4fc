//! Exponential moving average of the weights (Polyak & Juditsky, 1992), with the warm-up of
//! the decay used by TensorFlow's `ExponentialMovingAverage(num_updates=…)` and timm:
//! `decay_k = min(decay, (1 + k) / (10 + k))`, so early averages forget the random init.
//! Sampling and export use the EMA weights.

use std::collections::{BTreeMap, HashMap};

use tch::{Tensor, nn};

/// A shadow copy of every variable of a `VarStore`.
#[derive(Debug)]
pub struct Ema {
    decay: f64,
    updates: u64,
    shadow: BTreeMap<String, Tensor>,
}

impl Ema {
    /// Starts the average at the current weights of `vs`.
    pub fn new(vs: &nn::VarStore, decay: f64) -> Self {
        let _guard = tch::no_grad_guard();
        let shadow = vs
            .variables()
            .into_iter()
            .map(|(k, v)| (k, v.detach().copy()))
            .collect();
        Ema {
            decay,
            updates: 0,
            shadow,
        }
    }

    /// The decay applied by update number `k` (0-based).
    pub fn decay_at(&self, k: u64) -> f64 {
        self.decay.min((1.0 + k as f64) / (10.0 + k as f64))
    }

    /// `shadow ← d·shadow + (1 − d)·weights`. Non-float variables are copied.
    pub fn update(&mut self, vs: &nn::VarStore) {
        let _guard = tch::no_grad_guard();
        let d = self.decay_at(self.updates);
        for (name, v) in vs.variables() {
            let s = self
                .shadow
                .get_mut(&name)
                .expect("the VarStore gained a variable after Ema::new");
            if v.is_floating_point() {
                let _ = s.lerp_(&v, 1.0 - d);
            } else {
                s.copy_(&v);
            }
        }
        self.updates += 1;
    }

    /// Updates applied so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The averaged tensors, by variable name.
    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.shadow
    }

    /// Replaces the average and its update count (when resuming).
    pub fn restore(&mut self, tensors: &BTreeMap<String, Tensor>, updates: u64) {
        let _guard = tch::no_grad_guard();
        for (name, s) in self.shadow.iter_mut() {
            s.copy_(&tensors[name].to_device(s.device()).to_kind(s.kind()));
        }
        self.updates = updates;
    }

    /// Runs `f` with the EMA weights loaded into `vars` (from `VarStore::variables`, which
    /// share storage with the model), then puts the trained weights back.
    pub fn with_weights<T>(&self, vars: &mut HashMap<String, Tensor>, f: impl FnOnce() -> T) -> T {
        let _guard = tch::no_grad_guard();
        let backup: BTreeMap<String, Tensor> = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.detach().copy()))
            .collect();
        for (name, v) in vars.iter_mut() {
            v.copy_(&self.shadow[name]);
        }
        let out = f();
        for (name, v) in vars.iter_mut() {
            v.copy_(&backup[name]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn ema_arithmetic() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut w = vs.root().zeros("w", &[2]);
        let mut ema = Ema::new(&vs, 0.9);
        assert!((ema.decay_at(0) - 0.1).abs() < 1e-12); // (1 + 0) / (10 + 0)
        assert!((ema.decay_at(1000) - 0.9).abs() < 1e-12); // capped at `decay`
        tch::no_grad(|| w.copy_(&Tensor::from_slice(&[1.0f32, 2.0])));
        ema.update(&vs); // d = 0.1: 0.1·0 + 0.9·w
        let got = Vec::<f32>::try_from(&ema.tensors()["w"]).unwrap();
        assert!(
            (got[0] - 0.9).abs() < 1e-6 && (got[1] - 1.8).abs() < 1e-6,
            "{got:?}"
        );
        ema.update(&vs); // d = 2/11: 2/11·0.9 + 9/11·1
        let want = 2.0 / 11.0 * 0.9 + 9.0 / 11.0;
        assert!((ema.tensors()["w"].double_value(&[0]) - want).abs() < 1e-6);
        assert_eq!(ema.updates(), 2);
    }

    #[test]
    fn with_weights_swaps_and_restores() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut w = vs.root().ones("w", &[3]);
        let ema = Ema::new(&vs, 0.99);
        tch::no_grad(|| w.copy_(&Tensor::full([3], 5.0, (Kind::Float, Device::Cpu))));
        let inside = ema.with_weights(&mut vs.variables(), || w.sum(Kind::Float).double_value(&[]));
        assert_eq!(inside, 3.0);
        assert_eq!(w.sum(Kind::Float).double_value(&[]), 15.0);
    }
}
