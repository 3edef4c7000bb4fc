//! LoRA inside TinyDiT (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language
//! Models"): a linear that may carry a low-rank update `(α/r)·B·A`, and the surgery that gives
//! a trained model adapters and new label rows, or folds them back into plain weights. The
//! fine-tuning workflow around it is [`crate::lora`].
//!
//! The adapters sit beside the weight they adapt, under PEFT's names:
//! `blocks.{i}.attn.qkv.lora_A.weight` `(r, in)` and `blocks.{i}.attn.qkv.lora_B.weight`
//! `(out, r)`; the added label rows are [`NEW_ROWS`] `(k, D)`.

use std::collections::BTreeMap;

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use super::TinyDit;
use super::linear::linear;
use crate::lora::{LORA_TARGETS, LoraConfig};

/// The name of the label rows added for fine-tuning.
pub const NEW_ROWS: &str = "y_embedder.new_rows.weight";

/// Whether `name` is a tensor that fine-tuning adds (an adapter or the new label rows).
pub fn is_adapter_tensor(name: &str) -> bool {
    name == NEW_ROWS || name.contains(".lora_A.") || name.contains(".lora_B.")
}

/// A Linear that may carry a LoRA adapter: `y = W·x + b + (α/r)·B·(A·x)`.
#[derive(Debug)]
pub struct LoraLinear {
    base: nn::Linear,
    adapter: Option<Adapter>,
}

#[derive(Debug)]
struct Adapter {
    /// `(r, in)`
    a: Tensor,
    /// `(out, r)`
    b: Tensor,
    /// `α / r`
    scale: f64,
}

impl LoraLinear {
    /// A plain linear, without an adapter.
    pub fn new(base: nn::Linear) -> Self {
        LoraLinear {
            base,
            adapter: None,
        }
    }

    /// Gives the linear an adapter of rank `rank` scaled by `scale = α/r`, with its tensors
    /// `lora_A.weight` and `lora_B.weight` under `vs`. A starts as PEFT's
    /// `kaiming_uniform_(a=√5)`, i.e. U(−1/√in, 1/√in), and B at zero, so a fresh adapter
    /// changes nothing and the first gradient steps move B.
    pub fn add_adapter(&mut self, vs: &nn::Path, rank: i64, scale: f64) {
        let (d_out, d_in) = self.base.ws.size2().expect("a linear weight is 2-D");
        let bound = 1.0 / (d_in as f64).sqrt();
        let a = (vs / "lora_A").var(
            "weight",
            &[rank, d_in],
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let b = (vs / "lora_B").var("weight", &[d_out, rank], Init::Const(0.0));
        self.adapter = Some(Adapter { a, b, scale });
    }

    /// Whether the linear carries an adapter.
    pub fn has_adapter(&self) -> bool {
        self.adapter.is_some()
    }

    /// Applies the linear and its adapter in the precision of `x` (see the blocks' `linear`).
    ///
    /// # Shapes
    /// `x`: `(…, in)` → `(…, out)`
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let y = linear(&self.base, x);
        match &self.adapter {
            None => y,
            Some(ad) => {
                let k = x.kind();
                let h = x.linear(&ad.a.to_kind(k), None::<Tensor>); // (…, r)
                y + h.linear(&ad.b.to_kind(k), None::<Tensor>) * ad.scale // (…, out)
            }
        }
    }

    /// The weight of the equivalent plain linear: `W + (α/r)·B·A`, or `W` without an adapter.
    ///
    /// # Shapes
    /// → `(out, in)`
    pub fn merged_weight(&self) -> Tensor {
        let _guard = tch::no_grad_guard();
        match &self.adapter {
            None => self.base.ws.copy(),
            Some(ad) => &self.base.ws + ad.b.matmul(&ad.a) * ad.scale, // (out, in)
        }
    }
}

impl TinyDit {
    /// Whether the model carries adapters or added classes.
    pub fn is_adapted(&self) -> bool {
        self.y_embedder.new_rows().is_some()
            || self.blocks.iter().any(|b| {
                LORA_TARGETS
                    .iter()
                    .any(|(name, _)| b.lora_target(name).is_some_and(LoraLinear::has_adapter))
            })
    }

    /// Adds a LoRA adapter to the `lora.targets` linears of every block, and one label row per
    /// name of `new_classes` (labels `num_classes..num_classes + k`; the null class moves to
    /// the new last index). The new tensors go under `vs`, the path the model was built under,
    /// and are trainable: freeze the store first to train only them.
    ///
    /// The config then lists every class, and its provenance is cleared: it described weights
    /// the model no longer has.
    pub(crate) fn add_adapters(
        &mut self,
        vs: &nn::Path,
        lora: &LoraConfig,
        new_classes: &[String],
    ) {
        assert!(!self.is_adapted(), "the model has adapters already");
        let scale = lora.scale();
        for (i, block) in self.blocks.iter_mut().enumerate() {
            for (name, path) in LORA_TARGETS {
                if lora.targets.iter().any(|t| t == name) {
                    let p = path.split('.').fold(vs / "blocks" / i, |p, seg| &p / seg);
                    block
                        .lora_target_mut(name)
                        .expect("every LoRA target names a linear of the block")
                        .add_adapter(&p, lora.rank, scale);
                }
            }
        }
        // Each new class starts at the mean of the base breed rows: a conditioning the adaLN
        // layers have seen the like of (so the first samples are generic cats, not the output
        // of an embedding far from anything trained), and one that differs from the null row,
        // so guidance pushes towards "a cat of some breed" from the first step.
        let k = new_classes.len() as i64;
        let init = tch::no_grad(|| {
            self.y_embedder
                .base_rows()
                .mean_dim(0, true, Kind::Float)
                .repeat([k, 1]) // (k, D)
        });
        let rows = (vs / "y_embedder" / "new_rows").var_copy("weight", &init);
        self.y_embedder.add_classes(rows);
        self.cfg.num_classes += k;
        self.cfg.class_names.extend(new_classes.iter().cloned());
        self.cfg.provenance = None;
    }

    /// The weights of the equivalent plain TinyDiT, under the reference names: each adapted
    /// weight becomes `W + (α/r)·B·A`, the label table is rebuilt as
    /// `[base breeds, new classes, null]`, and the adapter tensors are gone. `vs` is the store
    /// the model was built in.
    pub(crate) fn merged_tensors(&self, vs: &nn::VarStore) -> BTreeMap<String, Tensor> {
        let _guard = tch::no_grad_guard();
        let mut out: BTreeMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .filter(|(name, _)| !is_adapter_tensor(name))
            .map(|(name, t)| (name, t.copy()))
            .collect();
        for (i, block) in self.blocks.iter().enumerate() {
            for (name, path) in LORA_TARGETS {
                let lin = block
                    .lora_target(name)
                    .expect("every LoRA target names a linear of the block");
                if lin.has_adapter() {
                    out.insert(format!("blocks.{i}.{path}.weight"), lin.merged_weight());
                }
            }
        }
        out.insert(
            "y_embedder.embedding_table.weight".to_string(),
            self.y_embedder.table().copy(), // (K + k + 1, D)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn adapted(d_in: i64, d_out: i64) -> (nn::VarStore, LoraLinear) {
        let vs = nn::VarStore::new(Device::Cpu);
        let base = nn::linear(vs.root() / "lin", d_in, d_out, Default::default());
        let mut lin = LoraLinear::new(base);
        lin.add_adapter(&(vs.root() / "lin"), 4, 2.0);
        (vs, lin)
    }

    #[test]
    fn lora_adapter_names_shapes_and_init() {
        let (vs, lin) = adapted(16, 24);
        let vars = vs.variables();
        assert_eq!(vars["lin.lora_A.weight"].size(), [4, 16]);
        assert_eq!(vars["lin.lora_B.weight"].size(), [24, 4]);
        let a_max = vars["lin.lora_A.weight"].abs().max().double_value(&[]);
        assert!(
            a_max > 0.0 && a_max <= 0.25,
            "A ~ U(±1/√16): max |A| = {a_max}"
        );
        assert_eq!(vars["lin.lora_B.weight"].abs().max().double_value(&[]), 0.0);
        // B = 0: the adapted linear is the plain one, bit for bit.
        let x = Tensor::randn([3, 5, 16], (Kind::Float, Device::Cpu));
        assert!(lin.forward(&x).equal(&x.apply(&lin.base)));
    }

    #[test]
    fn lora_forward_equals_the_merged_weight_in_f32_and_bf16() {
        let (vs, lin) = adapted(16, 24);
        tch::no_grad(|| {
            let mut b = vs.variables()["lin.lora_B.weight"].shallow_clone();
            b.copy_(&(b.randn_like() * 0.3));
        });
        let x = Tensor::randn([3, 5, 16], (Kind::Float, Device::Cpu));
        let merged = x.linear(&lin.merged_weight(), lin.base.bs.as_ref());
        let err = (lin.forward(&x) - &merged).abs().max().double_value(&[]);
        assert!(err < 1e-5, "f32: max |Δ| = {err}");
        // bf16 activations (the CUDA mixed-precision path): 8 mantissa bits, tolerance 5e-2.
        let y16 = lin.forward(&x.to_kind(Kind::BFloat16));
        assert_eq!(y16.kind(), Kind::BFloat16);
        let err = (y16.to_kind(Kind::Float) - &merged)
            .abs()
            .max()
            .double_value(&[]);
        assert!(err < 5e-2, "bf16: max |Δ| = {err}");
    }
}
