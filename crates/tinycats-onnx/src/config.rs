//! Serde mirrors of the `config.json` files that the trainer writes beside
//! `model.safetensors` (tolerant of extra fields, so the trainer may add more).

use serde::{Deserialize, Serialize};

/// What the generator's network predicts; the exported graph always outputs the velocity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prediction {
    /// The velocity `x₁ − x₀` itself.
    #[serde(rename = "v")]
    Velocity,
    /// The clean image `x̂₁`; velocity = `(x̂₁ − x_t) / max(1 − t, t_eps)`.
    #[serde(rename = "x")]
    Data,
}

impl Prediction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Velocity => "v",
            Self::Data => "x",
        }
    }
}

/// Where the weights came from (absent for untrained or hand-made models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub steps: u64,
    pub git_revision: String,
    pub date: String,
    #[serde(default)]
    pub command: String,
}

/// The TinyDiT generator's `config.json` (`model_type = "tinydit"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DitConfig {
    pub preset: String,
    pub input_size: usize,
    pub patch_size: usize,
    pub in_channels: usize,
    pub hidden_size: usize,
    pub depth: usize,
    pub num_heads: usize,
    pub mlp_ratio: f64,
    pub num_classes: usize,
    #[serde(default)]
    pub class_dropout_prob: f64,
    pub prediction: Prediction,
    pub t_scale: f64,
    pub t_eps: f64,
    pub class_names: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

impl DitConfig {
    /// Tokens per image: `(input_size / patch_size)²`.
    pub fn num_tokens(&self) -> usize {
        (self.input_size / self.patch_size).pow(2)
    }

    pub fn mlp_hidden(&self) -> usize {
        (self.hidden_size as f64 * self.mlp_ratio).round() as usize
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.patch_size == 0 || !self.input_size.is_multiple_of(self.patch_size) {
            return Err(format!(
                "input_size {} is not a multiple of patch_size {}",
                self.input_size, self.patch_size
            ));
        }
        if self.num_heads == 0 || !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_heads {}",
                self.hidden_size, self.num_heads
            ));
        }
        check_names(&self.class_names, self.num_classes)?;
        check_norm(&self.mean, &self.std, self.in_channels)
    }
}

/// The breed classifier's `config.json` (`model_type = "classifier"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    pub preset: String,
    pub image_size: usize,
    pub in_channels: usize,
    pub num_classes: usize,
    pub widths: Vec<usize>,
    pub blocks_per_stage: Vec<usize>,
    pub class_names: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    #[serde(default)]
    pub provenance: Option<Provenance>,
}

impl ClassifierConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.widths.is_empty() || self.widths.len() != self.blocks_per_stage.len() {
            return Err(format!(
                "widths {:?} and blocks_per_stage {:?} must be non-empty and of equal length",
                self.widths, self.blocks_per_stage
            ));
        }
        check_names(&self.class_names, self.num_classes)?;
        check_norm(&self.mean, &self.std, self.in_channels)
    }
}

/// Either model, told apart by the `model_type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model_type")]
pub enum ModelConfig {
    #[serde(rename = "tinydit")]
    TinyDit(DitConfig),
    #[serde(rename = "classifier")]
    Classifier(ClassifierConfig),
}

fn check_names(names: &[String], n: usize) -> Result<(), String> {
    if names.len() != n {
        return Err(format!(
            "class_names has {} entries but num_classes is {n}",
            names.len()
        ));
    }
    Ok(())
}

fn check_norm(mean: &[f32], std: &[f32], c: usize) -> Result<(), String> {
    if mean.len() != c || std.len() != c || std.iter().any(|&s| s <= 0.0) {
        return Err(format!(
            "mean {mean:?} / std {std:?} must have {c} entries and std must be positive"
        ));
    }
    Ok(())
}
