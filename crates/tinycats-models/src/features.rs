//! The SynthCats feature network: the space in which the generator's quality metrics
//! (Fréchet distance, precision and recall, memorisation) compare generated with real cats.
//!
//! A plain convolutional network trained to read back what SynthCats drew: the breed, the
//! ear style, the background and the crop (classification heads), and pose, framing, eye
//! opening, light, camera effects and the coat, marking and eye colours (regression heads,
//! standardised). A network that must recover yaw and ear shape sees shape, not only colour,
//! which the breed classifier mostly checks. Its `feature_dim`-wide embedding, before the
//! heads, is the feature space (the role Inception's pool features play for FID).
//!
//! `stem` (3×3 conv, stride 2) → stages of two 3×3 convs (the first with stride 2), each
//! conv followed by GroupNorm and SiLU → global average pool → `embed` (Linear) → features;
//! `heads.<name>` (Linear) on SiLU(features).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};
use tinycats_core::{Normalize, Provenance};
use tinycats_data::synth::targets::{CATEGORIES, VALUES};

use crate::error::{ModelError, Result};
use crate::io;

/// The feature network's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureNetConfig {
    /// Always `synthcats-features`.
    pub model_type: String,
    /// Input side in pixels.
    pub input_size: i64,
    /// Channels of the stem and of each stage.
    pub widths: Vec<i64>,
    /// Width of the feature space.
    pub feature_dim: i64,
    /// Pixel normalisation of the input (from `[0, 1]`).
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Mean and standard deviation of each regression target over the training renders, in
    /// the order of `tinycats_data::synth::targets::VALUES`.
    pub value_mean: Vec<f32>,
    pub value_std: Vec<f32>,
    /// How the weights were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// Held-out results of the training run (accuracy per category, R² per value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<serde_json::Value>,
}

/// The model type string of [`FeatureNetConfig`].
pub const MODEL_TYPE: &str = "synthcats-features";

impl Default for FeatureNetConfig {
    fn default() -> Self {
        FeatureNetConfig {
            model_type: MODEL_TYPE.into(),
            input_size: 64,
            widths: vec![32, 64, 128, 256],
            feature_dim: 64,
            mean: [0.5; 3],
            std: [0.5; 3],
            value_mean: vec![0.0; VALUES.len()],
            value_std: vec![1.0; VALUES.len()],
            provenance: None,
            held_out: None,
        }
    }
}

impl FeatureNetConfig {
    /// Checks every field, naming the first one that is off.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != MODEL_TYPE {
            return Err(ModelError::invalid(
                "model_type",
                &self.model_type,
                &format!("`{MODEL_TYPE}` (this folder holds another kind of model)"),
            ));
        }
        if self.widths.len() < 2 || self.widths.iter().any(|&w| w < 8 || w % 8 != 0) {
            return Err(ModelError::invalid(
                "widths",
                format!("{:?}", self.widths),
                "at least two multiples of 8 (GroupNorm uses 8 groups)",
            ));
        }
        let stride = 1i64 << self.widths.len();
        if self.input_size < stride || self.input_size % stride != 0 {
            return Err(ModelError::invalid(
                "input_size",
                self.input_size,
                &format!("a multiple of {stride} (one halving per entry of `widths`)"),
            ));
        }
        if self.feature_dim < 2 {
            return Err(ModelError::invalid("feature_dim", self.feature_dim, ">= 2"));
        }
        if self.value_mean.len() != VALUES.len() || self.value_std.len() != VALUES.len() {
            return Err(ModelError::invalid(
                "value_mean/value_std",
                format!("{}/{}", self.value_mean.len(), self.value_std.len()),
                &format!("{} entries each, one per regression target", VALUES.len()),
            ));
        }
        Ok(())
    }

    /// The pixel normalisation.
    pub fn normalize(&self) -> Normalize {
        Normalize {
            mean: self.mean,
            std: self.std,
        }
    }

    /// 8-bit RGB images as the network's normalised input.
    ///
    /// # Shapes
    /// → `(N, 3, H, W)` on `device`
    pub fn input(&self, images: &[image::RgbImage], device: Device) -> Tensor {
        let x: Vec<Tensor> = images.iter().map(crate::images::from_rgb8).collect();
        crate::flow::from_unit_range(&Tensor::stack(&x, 0), &self.normalize()).to_device(device)
    }
}

fn conv_gn(
    vs: &nn::Path,
    name: &str,
    c_in: i64,
    c_out: i64,
    stride: i64,
) -> (nn::Conv2D, nn::GroupNorm) {
    let cfg = nn::ConvConfig {
        stride,
        padding: 1,
        bias: false,
        ..Default::default()
    };
    (
        nn::conv2d(vs / name, c_in, c_out, 3, cfg),
        nn::group_norm(vs / format!("{name}_norm"), 8, c_out, Default::default()),
    )
}

/// The network. See the module documentation.
#[derive(Debug)]
pub struct FeatureNet {
    cfg: FeatureNetConfig,
    convs: Vec<(nn::Conv2D, nn::GroupNorm)>,
    embed: nn::Linear,
    class_heads: Vec<nn::Linear>,
    value_head: nn::Linear,
}

impl FeatureNet {
    /// A freshly initialised network.
    pub fn new(vs: nn::Path, cfg: &FeatureNetConfig) -> Result<Self> {
        cfg.validate()?;
        let w = &cfg.widths;
        let mut convs = vec![conv_gn(&vs, "stem", 3, w[0], 2)];
        for (i, pair) in w.windows(2).enumerate() {
            let stage = &vs / "stages" / i;
            convs.push(conv_gn(&stage, "conv1", pair[0], pair[1], 2));
            convs.push(conv_gn(&stage, "conv2", pair[1], pair[1], 1));
        }
        let last = *w.last().expect("validated: at least two widths");
        let heads = &vs / "heads";
        Ok(FeatureNet {
            convs,
            embed: nn::linear(&vs / "embed", last, cfg.feature_dim, Default::default()),
            class_heads: CATEGORIES
                .iter()
                .map(|(name, k)| {
                    nn::linear(&heads / *name, cfg.feature_dim, *k, Default::default())
                })
                .collect(),
            value_head: nn::linear(
                &heads / "values",
                cfg.feature_dim,
                VALUES.len() as i64,
                Default::default(),
            ),
            cfg: cfg.clone(),
        })
    }

    /// Loads `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path, device: Device) -> Result<(nn::VarStore, FeatureNet)> {
        io::load_frozen(dir, device, FeatureNet::new)
    }

    /// The config the network was built from.
    pub fn config(&self) -> &FeatureNetConfig {
        &self.cfg
    }

    /// Records the training run's held-out results in the config (saved with the weights).
    pub fn set_held_out(&mut self, report: serde_json::Value) {
        self.cfg.held_out = Some(report);
    }

    /// Records how the weights were made.
    pub fn set_provenance(&mut self, provenance: Provenance) {
        self.cfg.provenance = Some(provenance);
    }

    /// Saves `config.json` and `model.safetensors` into `dir` (created if needed), each
    /// written atomically.
    pub fn save(&self, vs: &nn::VarStore, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
        io::save_var_store(vs, &dir.join("model.safetensors"))?;
        io::write_json(&dir.join("config.json"), &self.cfg)
    }

    /// Features of normalised images.
    ///
    /// # Shapes
    /// `x`: `(N, 3, S, S)` normalised with [`FeatureNetConfig::normalize`] → `(N, feature_dim)`
    pub fn features(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for (conv, norm) in &self.convs {
            h = h.apply(conv).apply(norm).silu();
        }
        h.mean_dim(&[2i64, 3][..], false, Kind::Float)
            .apply(&self.embed) // (N, feature_dim)
    }

    /// Which convolution ends the maps of `side` × `side` pixels, and their channels: the
    /// stem halves the input and each later stage halves it again, its second convolution
    /// ending it. `None` when no map has that side.
    fn map_at(&self, side: i64) -> Option<(usize, i64)> {
        let k = (0..self.cfg.widths.len()).find(|&k| self.cfg.input_size >> (k + 1) == side)?;
        Some((2 * k, self.cfg.widths[k]))
    }

    /// The channels of the feature map of `side` × `side` pixels, `None` when there is none.
    pub fn map_channels(&self, side: i64) -> Option<i64> {
        self.map_at(side).map(|(_, channels)| channels)
    }

    /// The feature map of the last convolution whose output is `side` × `side` pixels (the
    /// 8 × 8 map of a 64-pixel input matches TinyDiT's patch-8 token grid; REPA aligns the
    /// tokens to it, [`crate::repa`]). Only the convolutions up to it run.
    ///
    /// # Shapes
    /// `x`: `(N, 3, S, S)` normalised with [`FeatureNetConfig::normalize`] → `(N, C, side, side)`
    pub fn feature_map(&self, x: &Tensor, side: i64) -> Result<Tensor> {
        let (last, _) = self.map_at(side).ok_or_else(|| {
            let sides: Vec<i64> = (1..=self.cfg.widths.len())
                .map(|i| self.cfg.input_size >> i)
                .collect();
            ModelError::invalid(
                "side",
                side,
                &format!(
                    "the side of one of the feature maps ({sides:?} for a {0}×{0} input)",
                    self.cfg.input_size
                ),
            )
        })?;
        let mut h = x.shallow_clone();
        for (conv, norm) in &self.convs[..=last] {
            h = h.apply(conv).apply(norm).silu();
        }
        Ok(h)
    }

    /// The heads on top of the features: one logit tensor per entry of `CATEGORIES`, and
    /// the standardised regression values.
    ///
    /// # Shapes
    /// `features`: `(N, D)` → `[(N, K_c)]`, `(N, V)`
    pub fn heads(&self, features: &Tensor) -> (Vec<Tensor>, Tensor) {
        let h = features.silu();
        (
            self.class_heads.iter().map(|l| h.apply(l)).collect(),
            h.apply(&self.value_head),
        )
    }

    /// Features of 8-bit RGB images of the network's input size, `batch` at a time, on the
    /// network's device, under `no_grad`.
    ///
    /// # Shapes
    /// → `(N, feature_dim)` on the CPU
    pub fn embed_rgb8(
        &self,
        images: &[image::RgbImage],
        batch: usize,
        device: Device,
    ) -> Result<Tensor> {
        let s = self.cfg.input_size as u32;
        if let Some((i, img)) = images
            .iter()
            .enumerate()
            .find(|(_, im)| im.dimensions() != (s, s))
        {
            return Err(ModelError::invalid(
                "image size",
                format!("{:?} (image {i})", img.dimensions()),
                &format!("{s}×{s}, the feature network's input size: resize first"),
            ));
        }
        let _guard = tch::no_grad_guard();
        let mut out = Vec::new();
        for chunk in images.chunks(batch.max(1)) {
            let x = self.cfg.input(chunk, device); // (B, 3, S, S)
            out.push(self.features(&x).to_device(Device::Cpu));
        }
        if out.is_empty() {
            return Ok(Tensor::zeros(
                [0, self.cfg.feature_dim],
                (Kind::Float, Device::Cpu),
            ));
        }
        Ok(Tensor::cat(&out, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_validation() {
        let cfg = FeatureNetConfig::default();
        let vs = nn::VarStore::new(Device::Cpu);
        let net = FeatureNet::new(vs.root(), &cfg).unwrap();
        let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let f = net.features(&x);
        assert_eq!(f.size(), [2, 64]);
        let (logits, values) = net.heads(&f);
        let widths: Vec<i64> = logits.iter().map(|l| l.size()[1]).collect();
        assert_eq!(widths, [13, 3, 5, 2]);
        assert_eq!(values.size(), [2, VALUES.len() as i64]);

        let bad = FeatureNetConfig {
            input_size: 60,
            ..FeatureNetConfig::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("input_size") && err.contains("60"), "{err}");
        let other = FeatureNetConfig {
            model_type: "tinydit".into(),
            ..FeatureNetConfig::default()
        };
        assert!(
            other
                .validate()
                .unwrap_err()
                .to_string()
                .contains("tinydit")
        );
    }
}
