//! The breed classifier's `config.json`: its architecture, presets and checks.

use serde::{Deserialize, Serialize};

use super::{
    MAX_CHANNELS, MAX_CLASSES, MAX_DEPTH, MAX_IMAGE_SIZE, MAX_STAGES, MAX_WIDTH, Provenance,
    breed_names, check_names, check_stored_values, too_large,
};
use crate::error::{Invalid, Result};
use crate::pixels::Normalize;

/// The breed classifier's architecture and input conventions.
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
    #[serde(default)]
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
            // torchvision's ImageNet constants ([`Normalize::IMAGENET`]), exact in JSON.
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
            other => Err(Invalid::new("preset", other, "one of tiny, resnet18")),
        }
    }

    /// The pixel convention of the model's input (an error names a bad `mean` or `std`).
    pub fn normalize(&self) -> Result<Normalize> {
        Normalize::from_config(&self.mean, &self.std)
    }

    /// How many values `model.safetensors` holds for this architecture: convolutions,
    /// batch norms (weight, bias, running mean and variance) and the head, as the libtorch
    /// model names them (a test in `tinycats-models` holds the two equal). `None` when the
    /// count overflows.
    pub fn stored_values(&self) -> Option<i64> {
        let conv = |i: i64, o: i64, k: i64| i.checked_mul(o)?.checked_mul(k * k);
        let bn = |c: i64| c.checked_mul(4);
        let w0 = *self.widths.first()?;
        let mut total = conv(self.in_channels, w0, 3)?.checked_add(bn(w0)?)?; // stem
        let mut c_in = w0;
        for (i, (&w, &n)) in self.widths.iter().zip(&self.blocks_per_stage).enumerate() {
            for j in 0..n {
                let stride = if i > 0 && j == 0 { 2 } else { 1 };
                let mut block = conv(c_in, w, 3)?
                    .checked_add(bn(w)?)?
                    .checked_add(conv(w, w, 3)?)?
                    .checked_add(bn(w)?)?;
                if stride != 1 || c_in != w {
                    block = block.checked_add(conv(c_in, w, 1)?)?.checked_add(bn(w)?)?;
                }
                total = total.checked_add(block)?;
                c_in = w;
            }
        }
        total.checked_add(
            c_in.checked_mul(self.num_classes)?
                .checked_add(self.num_classes)?,
        )
    }

    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.model_type != "classifier" {
            return Err(Invalid::new(
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
                return Err(Invalid::new(field, value, "at least 1"));
            }
        }
        for (field, value, max) in [
            ("image_size", self.image_size, MAX_IMAGE_SIZE),
            ("in_channels", self.in_channels, MAX_CHANNELS),
            ("num_classes", self.num_classes, MAX_CLASSES),
        ] {
            if value > max {
                return Err(too_large(field, value, max));
            }
        }
        if self.widths.is_empty()
            || self.widths.len() > MAX_STAGES
            || self.widths.iter().any(|w| !(1..=MAX_WIDTH).contains(w))
        {
            return Err(Invalid::new(
                "widths",
                format!("{:?}", self.widths),
                &format!(
                    "1 to {MAX_STAGES} channel counts, each from 1 to {MAX_WIDTH} \
                     (the sizes this project's code is built and tested for)"
                ),
            ));
        }
        if self.blocks_per_stage.len() != self.widths.len()
            || self
                .blocks_per_stage
                .iter()
                .any(|b| !(1..=MAX_DEPTH).contains(b))
        {
            return Err(Invalid::new(
                "blocks_per_stage",
                format!("{:?}", self.blocks_per_stage),
                &format!(
                    "{} counts from 1 to {MAX_DEPTH}, one per entry of widths",
                    self.widths.len()
                ),
            ));
        }
        check_stored_values("widths", format!("{:?}", self.widths), self.stored_values())?;
        check_names(&self.class_names, self.num_classes)?;
        Normalize::check(&self.mean, &self.std, self.in_channels)
    }
}
