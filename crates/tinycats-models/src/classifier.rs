//! The breed classifier: a compact residual CNN (He et al., 2016, "Deep Residual Learning";
//! torchvision's ResNet `BasicBlock` and naming), whose input size comes from its config.
//!
//! `stem` (3×3 conv, BN, ReLU) → stages of `BasicBlock`s (the first block of every stage
//! after the first halves the resolution) → global average pool → `fc` → logits.
//!
//! ```text
//! cargo run --release -p tinycats-cli -- train-classifier --preset tiny --data data/synthcats
//! ```

use std::path::Path;

use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::error::Result;
use crate::io;

pub use tinycats_core::ClassifierConfig;

fn conv(vs: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu").
    let init = nn::Init::Kaiming {
        dist: nn::init::NormalOrUniform::Normal,
        fan: nn::init::FanInOut::FanOut,
        non_linearity: nn::init::NonLinearity::ReLU,
    };
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ws_init: init,
        ..Default::default()
    };
    nn::conv2d(vs, c_in, c_out, k, cfg)
}

fn bn(vs: nn::Path, c: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(vs, c, cfg)
}

/// torchvision's `BasicBlock`: two 3×3 convs with BN, and a 1×1 conv + BN on the skip path
/// when the shape changes.
#[derive(Debug)]
pub struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl BasicBlock {
    pub fn new(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> Self {
        let downsample = (stride != 1 || c_in != c_out).then(|| {
            (
                conv(&vs / "downsample" / 0, c_in, c_out, 1, stride),
                bn(&vs / "downsample" / 1, c_out),
            )
        });
        BasicBlock {
            conv1: conv(&vs / "conv1", c_in, c_out, 3, stride),
            bn1: bn(&vs / "bn1", c_out),
            conv2: conv(&vs / "conv2", c_out, c_out, 3, 1),
            bn2: bn(&vs / "bn2", c_out),
            downsample,
        }
    }
}

impl ModuleT for BasicBlock {
    /// # Shapes
    /// `(N, C_in, H, W)` → `(N, C_out, H/s, W/s)`
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = x.apply(&self.conv1).apply_t(&self.bn1, train).relu(); // (N, C_out, H/s, W/s)
        let h = h.apply(&self.conv2).apply_t(&self.bn2, train);
        let skip = match &self.downsample {
            Some((c, b)) => x.apply(c).apply_t(b, train), // (N, C_out, H/s, W/s)
            None => x.shallow_clone(),
        };
        (h + skip).relu()
    }
}

/// `x` with the same shape and values, its channels stored last (strides of `(N, H, W, C)`)
/// on the CPU. oneDNN's convolutions work in that order there: given the default order,
/// libtorch reorders every activation and gradient into it and back around each
/// convolution; given this one, the convolutions, batch norms and ReLUs keep it and pass it
/// on, backward too. Elsewhere `x` as it is.
///
/// # Shapes
/// `(N, C, H, W)` → `(N, C, H, W)`
pub fn channels_last(x: &Tensor) -> Tensor {
    if x.device() != Device::Cpu || x.dim() != 4 {
        return x.shallow_clone();
    }
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// The residual breed classifier.
#[derive(Debug)]
pub struct Classifier {
    cfg: ClassifierConfig,
    stem_conv: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    layers: Vec<BasicBlock>,
    fc: nn::Linear,
}

impl Classifier {
    /// Builds the network under `vs`. Panics if `cfg` is invalid; call
    /// [`ClassifierConfig::validate`] first on untrusted configs.
    pub fn new(vs: nn::Path, cfg: &ClassifierConfig) -> Self {
        if let Err(e) = cfg.validate() {
            panic!("Classifier::new: {e}");
        }
        let w0 = cfg.widths[0];
        let mut layers = Vec::new();
        let mut c_in = w0;
        for (i, (&w, &n)) in cfg.widths.iter().zip(&cfg.blocks_per_stage).enumerate() {
            for j in 0..n {
                let stride = if i > 0 && j == 0 { 2 } else { 1 };
                layers.push(BasicBlock::new(&vs / "layers" / i / j, c_in, w, stride));
                c_in = w;
            }
        }
        Classifier {
            cfg: cfg.clone(),
            stem_conv: conv(&vs / "stem" / 0, cfg.in_channels, w0, 3, 1),
            stem_bn: bn(&vs / "stem" / 1, w0),
            layers,
            fc: nn::linear(&vs / "fc", c_in, cfg.num_classes, Default::default()),
        }
    }

    /// Builds the classifier from a folder with `config.json` and `model.safetensors`.
    pub fn load(dir: &Path, device: Device) -> Result<(nn::VarStore, Classifier)> {
        io::load_folder::<ClassifierConfig, _>(dir, device, Classifier::new)
    }

    /// The config this model was built from.
    pub fn config(&self) -> &ClassifierConfig {
        &self.cfg
    }
}

impl Classifier {
    /// The last residual block's activations: what the head pools, and what Grad-CAM
    /// ([`crate::gradcam`]) weighs.
    ///
    /// # Shapes
    /// `(N, C, S, S)` normalised images → `(N, w_last, S/2^(stages−1), S/2^(stages−1))`
    pub fn features_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = channels_last(x)
            .apply(&self.stem_conv)
            .apply_t(&self.stem_bn, train)
            .relu(); // (N, w0, S, S)
        for block in &self.layers {
            h = block.forward_t(&h, train);
        }
        h
    }

    /// Global average pool and the linear layer.
    ///
    /// # Shapes
    /// `(N, w_last, h, w)` → `(N, num_classes)` logits
    pub fn head(&self, features: &Tensor) -> Tensor {
        features
            .mean_dim(&[2i64, 3][..], false, Kind::Float)
            .apply(&self.fc) // (N, w_last) → (N, K)
    }
}

impl ModuleT for Classifier {
    /// # Shapes
    /// `(N, C, S, S)` normalised images → `(N, num_classes)` logits
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.head(&self.features_t(x, train))
    }
}

/// Cross-entropy against soft targets (from CutMix/MixUp) or hard labels, with label
/// smoothing `ε`: the target becomes `(1 − ε)·target + ε/K`.
///
/// # Shapes
/// `logits`: `(N, K)`, `labels`: `(N,)` int64, `soft`: `(N, K)` → scalar
pub fn classification_loss(
    logits: &Tensor,
    labels: &Tensor,
    soft: Option<&Tensor>,
    smoothing: f64,
) -> Tensor {
    let k = logits.size()[1];
    let target = match soft {
        Some(s) => s.to_kind(Kind::Float),
        None => labels.one_hot(k).to_kind(Kind::Float), // (N, K)
    };
    let target = target * (1.0 - smoothing) + smoothing / k as f64;
    -(target * logits.log_softmax(1, Kind::Float))
        .sum_dim_intlist(1, false, Kind::Float)
        .mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_last_keeps_shape_and_values_and_stores_channels_last() {
        let x = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).reshape([2, 3, 4, 5]);
        let y = channels_last(&x);
        assert_eq!(y.size(), x.size());
        assert_eq!(y.stride(), vec![60, 1, 15, 3], "(N, H, W, C) strides");
        assert!(y.equal(&x));
        // What is not an image batch is passed on as it is.
        let v = Tensor::arange(6, (Kind::Float, Device::Cpu)).reshape([2, 3]);
        assert_eq!(channels_last(&v).stride(), vec![3, 1]);
    }

    #[test]
    fn names_shapes_and_logits() {
        let cfg = ClassifierConfig {
            image_size: 32,
            ..ClassifierConfig::tiny()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Classifier::new(vs.root(), &cfg);
        let vars = vs.variables();
        for (name, shape) in [
            ("stem.0.weight", vec![32, 3, 3, 3]),
            ("stem.1.running_var", vec![32]),
            ("layers.0.0.conv1.weight", vec![32, 32, 3, 3]),
            ("layers.1.0.conv1.weight", vec![64, 32, 3, 3]),
            ("layers.1.0.downsample.0.weight", vec![64, 32, 1, 1]),
            ("layers.1.0.downsample.1.bias", vec![64]),
            ("layers.3.0.bn2.running_mean", vec![256]),
            ("fc.weight", vec![13, 256]),
            ("fc.bias", vec![13]),
        ] {
            assert_eq!(vars.get(name).map(|t| t.size()), Some(shape), "{name}");
        }
        assert!(
            !vars.contains_key("layers.0.0.downsample.0.weight"),
            "stage 0 keeps its shape"
        );
        assert!(!vars.keys().any(|k| k.contains("num_batches_tracked")));
        let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        assert_eq!(model.forward_t(&x, true).size(), [2, 13]);
        assert_eq!(model.forward_t(&x, false).size(), [2, 13]);
    }

    #[test]
    fn loss_equals_cross_entropy_without_smoothing() {
        let logits = Tensor::randn([4, 5], (Kind::Float, Device::Cpu));
        let labels = Tensor::from_slice(&[0i64, 3, 4, 1]);
        let ours = classification_loss(&logits, &labels, None, 0.0).double_value(&[]);
        let torch = logits.cross_entropy_for_logits(&labels).double_value(&[]);
        assert!((ours - torch).abs() < 1e-5, "{ours} vs {torch}");
        // A uniform soft target with any smoothing gives log K for zero logits.
        let zeros = Tensor::zeros([2, 5], (Kind::Float, Device::Cpu));
        let uniform = Tensor::full([2, 5], 0.2, (Kind::Float, Device::Cpu));
        let l = classification_loss(&zeros, &labels.narrow(0, 0, 2), Some(&uniform), 0.1)
            .double_value(&[]);
        assert!((l - 5f64.ln()).abs() < 1e-5);
    }
}
