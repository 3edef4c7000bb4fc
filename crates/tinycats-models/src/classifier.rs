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

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::dit::{Provenance, breed_names, check_norm};
use crate::error::{ModelError, Result};
use crate::io;

/// The classifier's architecture and input conventions, saved as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Always `"classifier"`.
    pub model_type: String,
    /// The preset this config started from.
    pub preset: String,
    /// Input side in pixels (square images).
    pub image_size: i64,
    /// Input channels.
    pub in_channels: i64,
    /// Number of breeds (logits).
    pub num_classes: i64,
    /// Channels of each stage.
    pub widths: Vec<i64>,
    /// Residual blocks in each stage.
    pub blocks_per_stage: Vec<i64>,
    /// Breed names in label order.
    pub class_names: Vec<String>,
    /// Per-channel normalisation mean.
    pub mean: Vec<f64>,
    /// Per-channel normalisation standard deviation.
    pub std: Vec<f64>,
    /// Where the trained weights came from.
    pub provenance: Option<Provenance>,
}

impl ClassifierConfig {
    /// The bundled model: 64 px, four stages of one block (32, 64, 128, 256 channels),
    /// ResNet-10-like; ~1.2 M parameters, ImageNet normalisation (torchvision's constants).
    pub fn tiny() -> Self {
        let class_names = breed_names();
        ClassifierConfig {
            model_type: "classifier".to_string(),
            preset: "tiny".to_string(),
            image_size: 64,
            in_channels: 3,
            num_classes: class_names.len() as i64,
            widths: vec![32, 64, 128, 256],
            blocks_per_stage: vec![1, 1, 1, 1],
            class_names,
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
            provenance: None,
        }
    }

    /// ResNet-18's stage layout (He et al., 2016, Table 1: widths 64–512, two blocks per
    /// stage) with a 3×3 stride-1 stem for small images.
    pub fn resnet18() -> Self {
        ClassifierConfig {
            preset: "resnet18".to_string(),
            widths: vec![64, 128, 256, 512],
            blocks_per_stage: vec![2, 2, 2, 2],
            ..Self::tiny()
        }
    }

    /// The preset called `name` (`tiny` or `resnet18`).
    pub fn from_preset(name: &str) -> Result<Self> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "resnet18" => Ok(Self::resnet18()),
            other => Err(ModelError::invalid(
                "preset",
                other,
                "one of tiny, resnet18",
            )),
        }
    }

    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != "classifier" {
            return Err(ModelError::invalid(
                "model_type",
                &self.model_type,
                "\"classifier\"",
            ));
        }
        for (field, value) in [
            ("image_size", self.image_size),
            ("in_channels", self.in_channels),
            ("num_classes", self.num_classes),
        ] {
            if value < 1 {
                return Err(ModelError::invalid(field, value, "at least 1"));
            }
        }
        if self.widths.is_empty() || self.widths.iter().any(|w| *w < 1) {
            return Err(ModelError::invalid(
                "widths",
                format!("{:?}", self.widths),
                "one or more positive channel counts",
            ));
        }
        if self.blocks_per_stage.len() != self.widths.len()
            || self.blocks_per_stage.iter().any(|b| *b < 1)
        {
            return Err(ModelError::invalid(
                "blocks_per_stage",
                format!("{:?}", self.blocks_per_stage),
                &format!(
                    "{} positive counts, one per entry of widths",
                    self.widths.len()
                ),
            ));
        }
        if self.class_names.len() as i64 != self.num_classes {
            return Err(ModelError::invalid(
                "class_names",
                format!("{} names", self.class_names.len()),
                &format!("exactly num_classes = {} names", self.num_classes),
            ));
        }
        check_norm(&self.mean, &self.std, self.in_channels)
    }
}

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
        let cfg: ClassifierConfig = io::read_json(&dir.join("config.json"))?;
        cfg.validate()?;
        let vs = nn::VarStore::new(device);
        let model = Classifier::new(vs.root(), &cfg);
        io::load_var_store(&vs, &dir.join("model.safetensors"))?;
        Ok((vs, model))
    }

    /// The config this model was built from.
    pub fn config(&self) -> &ClassifierConfig {
        &self.cfg
    }
}

impl ModuleT for Classifier {
    /// # Shapes
    /// `(N, C, S, S)` normalised images → `(N, num_classes)` logits
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x
            .apply(&self.stem_conv)
            .apply_t(&self.stem_bn, train)
            .relu(); // (N, w0, S, S)
        for block in &self.layers {
            h = block.forward_t(&h, train);
        }
        h.mean_dim(&[2i64, 3][..], false, Kind::Float)
            .apply(&self.fc) // (N, w_last) → (N, K)
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
