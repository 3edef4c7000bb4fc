//! The model folder's `config.json`, once for every back-end: [`DitConfig`] (TinyDiT, in
//! [`dit`], with the generator's [`Prediction`] type), [`ClassifierConfig`] (in
//! [`classifier`]), the [`ModelConfig`] that reads either, the [`Provenance`] a trained model
//! records (in [`provenance`]) and a TinyDiT's multiply-add count (in [`macs`]).
//!
//! The trainer writes these files beside `model.safetensors`; libtorch rebuilds the model from
//! them, the ONNX exporter builds its graph from them and copies them into the graph's
//! metadata. Unknown fields are ignored, so a newer trainer may add more. This file holds what
//! both configs share: the size limits a crafted config is checked against and the checks of
//! the fields both have.

use std::path::Path;

use serde::Serialize;

use crate::classes::BREEDS;
use crate::error::{Invalid, Result};

pub mod classifier;
pub mod dit;
pub mod macs;
pub mod provenance;

pub use classifier::ClassifierConfig;
pub use dit::{DitConfig, Prediction, TIME_FREQUENCIES};
pub use macs::ForwardMacs;
pub use provenance::Provenance;

/// Upper limits on a config's sizes. A `config.json` may come from anyone; these keep a
/// crafted one from asking for more memory than any machine has before a weights file is
/// even opened. Each is far above what this project trains (its largest presets: a 128 px
/// TinyDiT of width 384 and depth 12, a classifier of 512 channels) and far below what would exhaust a workstation.
pub const MAX_IMAGE_SIZE: i64 = 1024;
/// See [`MAX_IMAGE_SIZE`].
pub const MAX_CHANNELS: i64 = 16;
/// See [`MAX_IMAGE_SIZE`]: a TinyDiT's token width, or a classifier stage's channels.
pub const MAX_WIDTH: i64 = 4096;
/// See [`MAX_IMAGE_SIZE`]: transformer blocks, or residual blocks per stage.
pub const MAX_DEPTH: i64 = 64;
/// See [`MAX_IMAGE_SIZE`].
pub const MAX_CLASSES: i64 = 10_000;
/// See [`MAX_IMAGE_SIZE`]: a classifier's stages.
pub const MAX_STAGES: usize = 8;
/// See [`MAX_IMAGE_SIZE`]: DiT uses 4.
pub const MAX_MLP_RATIO: f64 = 16.0;
/// See [`MAX_IMAGE_SIZE`]: stored values of a whole model, 2³⁰ (4 GiB of f32).
pub const MAX_STORED_VALUES: i64 = 1 << 30;

fn too_large(field: &str, value: i64, max: i64) -> Invalid {
    Invalid::new(
        field,
        value,
        &format!("at most {max} (the sizes this project's code is built and tested for)"),
    )
}

fn check_stored_values(field: &str, value: impl std::fmt::Display, n: Option<i64>) -> Result<()> {
    match n {
        Some(n) if n <= MAX_STORED_VALUES => Ok(()),
        _ => Err(Invalid::new(
            field,
            value,
            &format!(
                "a model of at most {MAX_STORED_VALUES} stored values (4 GiB of f32); \
                 this config describes {}",
                n.map_or("more than 2⁶³".to_string(), |n| n.to_string())
            ),
        )),
    }
}

/// The breed names in label order ([`BREEDS`]), as a config stores them.
pub fn breed_names() -> Vec<String> {
    BREEDS.iter().map(|s| s.to_string()).collect()
}

/// Either model's `config.json`, told apart by its `model_type` field (read it with
/// [`ModelConfig::from_json`]; each struct serialises its own `model_type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelConfig {
    TinyDit(DitConfig),
    Classifier(ClassifierConfig),
}

/// Why a `config.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is not a tinycats config.json (model_type \"tinydit\" or \"classifier\"): {message}; \
         compare it with the `config.json` a fresh run writes",
        path.display()
    )]
    Parse {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Invalid {
        path: std::path::PathBuf,
        source: Invalid,
    },
}

impl ModelConfig {
    /// Parses and validates a `config.json` text (`path` names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let parse = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| parse(e.to_string()))?;
        let cfg = match value.get("model_type").and_then(|t| t.as_str()) {
            Some("tinydit") => ModelConfig::TinyDit(
                serde_json::from_value(value).map_err(|e| parse(e.to_string()))?,
            ),
            Some("classifier") => ModelConfig::Classifier(
                serde_json::from_value(value).map_err(|e| parse(e.to_string()))?,
            ),
            Some(other) => return Err(parse(format!("unknown model_type \"{other}\""))),
            None => return Err(parse("no model_type field".into())),
        };
        cfg.validate().map_err(|source| ConfigError::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(cfg)
    }

    /// Reads and validates `dir/config.json`; also returns its text.
    pub fn read(dir: &Path) -> Result<(Self, String), ConfigError> {
        let path = dir.join("config.json");
        let text =
            crate::fs::read_text_bounded(&path, crate::fs::CONFIG_LIMIT).map_err(|source| {
                ConfigError::Read {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok((Self::from_json(&text, &path)?, text))
    }

    /// Checks every field of either model.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelConfig::TinyDit(c) => c.validate(),
            ModelConfig::Classifier(c) => c.validate(),
        }
    }

    /// `"tinydit"` or `"classifier"`.
    pub fn model_type(&self) -> &str {
        match self {
            ModelConfig::TinyDit(c) => &c.model_type,
            ModelConfig::Classifier(c) => &c.model_type,
        }
    }
}

fn check_names(names: &[String], n: i64) -> Result<()> {
    if names.len() as i64 != n {
        return Err(Invalid::new(
            "class_names",
            format!("{} names", names.len()),
            &format!("exactly num_classes = {n} names"),
        ));
    }
    crate::classes::check_class_names(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crafted_sizes_are_refused_before_anything_is_built() {
        let deep = DitConfig {
            depth: 1_000_000,
            ..DitConfig::tiny()
        };
        let err = deep.validate().unwrap_err().to_string();
        assert!(err.contains("depth") && err.contains("1000000"), "{err}");
        assert!(err.contains("at most 64"), "{err}");
        let wide = DitConfig {
            mlp_ratio: 1000.0,
            ..DitConfig::tiny()
        };
        let err = wide.validate().unwrap_err().to_string();
        assert!(err.contains("mlp_ratio") && err.contains("1000"), "{err}");
        // Every size within its own limit, the whole still too large.
        let big = DitConfig {
            hidden_size: 4096,
            num_heads: 32,
            depth: 64,
            ..DitConfig::tiny()
        };
        let err = big.validate().unwrap_err().to_string();
        assert!(err.contains("stored values"), "{err}");
        let classifier = ClassifierConfig {
            widths: vec![32, 1 << 40],
            blocks_per_stage: vec![1, 1],
            ..ClassifierConfig::tiny()
        };
        let err = classifier.validate().unwrap_err().to_string();
        assert!(
            err.contains("widths") && err.contains("1099511627776"),
            "{err}"
        );
        let unvalidated = DitConfig {
            hidden_size: i64::MAX,
            ..DitConfig::tiny()
        };
        assert_eq!(unvalidated.stored_values(), None);
    }

    #[test]
    fn presets_are_valid_and_round_trip_through_json() {
        for cfg in [
            DitConfig::tiny(),
            DitConfig::small(),
            DitConfig::tinydit_128(),
            DitConfig::micro(),
        ] {
            cfg.validate().unwrap();
            let json = serde_json::to_string(&cfg).unwrap();
            assert!(json.contains("\"prediction\":\"x\""), "{json}");
            let back = ModelConfig::from_json(&json, Path::new("config.json")).unwrap();
            assert_eq!(back, ModelConfig::TinyDit(cfg));
        }
        for cfg in [ClassifierConfig::tiny(), ClassifierConfig::resnet18()] {
            let json = serde_json::to_string(&cfg).unwrap();
            let back = ModelConfig::from_json(&json, Path::new("config.json")).unwrap();
            assert_eq!(back, ModelConfig::Classifier(cfg));
        }
    }

    #[test]
    fn forward_macs_count_the_tiny_preset_by_hand() {
        // tiny: 64 tokens of 8·8·3 = 192 values, D = 256, MLP 1024, depth 6.
        let m = DitConfig::tiny().forward_macs();
        assert_eq!(m.patch_embedding, 64 * 192 * 256);
        assert_eq!(m.time_embedding, 256 * 256 + 256 * 256);
        assert_eq!(m.adaln, 256 * 1536);
        assert_eq!(m.qkv_proj, 64 * (768 + 256) * 256);
        assert_eq!(m.attention, 2 * 64 * 64 * 256);
        assert_eq!(m.mlp, 64 * 2 * 256 * 1024);
        assert_eq!(m.final_layer, 256 * 512 + 64 * 256 * 192);
        assert_eq!(m.total(), 323_485_696);
        // Four times the tokens: linear parts ×4, the T × T products ×16.
        let p4 = DitConfig {
            patch_size: 4,
            ..DitConfig::tiny()
        }
        .forward_macs();
        assert_eq!(p4.mlp, 4 * m.mlp);
        assert_eq!(p4.attention, 16 * m.attention);
    }

    #[test]
    fn invalid_values_name_the_field() {
        let mut cfg = DitConfig::tiny();
        cfg.patch_size = 7;
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(
            msg.contains("`patch_size` = 7") && msg.contains("input_size = 64"),
            "{msg}"
        );
        let mut cfg = ClassifierConfig::tiny();
        cfg.std[1] = 0.0;
        let msg = cfg.validate().unwrap_err().to_string();
        assert!(msg.contains("`std`"), "{msg}");
    }

    #[test]
    fn config_files_name_the_file_and_the_problem() {
        let path = Path::new("runs/x/config.json");
        let err = ModelConfig::from_json(r#"{"model_type": "vae"}"#, path).unwrap_err();
        assert!(
            err.to_string().contains("runs/x/config.json") && err.to_string().contains("vae"),
            "{err}"
        );
        let mut cfg = DitConfig::tiny();
        cfg.num_heads = 3;
        let err = ModelConfig::from_json(&serde_json::to_string(&cfg).unwrap(), path).unwrap_err();
        assert!(err.to_string().contains("`num_heads` = 3"), "{err}");
    }

    #[test]
    fn mlp_width_truncates_like_the_reference_code() {
        let mut cfg = DitConfig::micro();
        cfg.mlp_ratio = 2.99;
        assert_eq!(cfg.mlp_hidden(), 95); // 32 · 2.99 = 95.68
        cfg.mlp_ratio = 0.01;
        assert!(cfg.validate().is_err());
    }
}
