//! [`LoraConfig`]: which linears get adapters and how large they are; and [`AdapterConfig`],
//! the `adapter_config.json` written beside the adapter weights.

use serde::{Deserialize, Serialize};

use crate::dit::Provenance;
use crate::error::{ModelError, Result};

/// The linears of a DiT block that LoRA can adapt: the name a config uses, and the weight's
/// path inside `blocks.{i}` (the reference's names).
pub const LORA_TARGETS: [(&str, &str); 4] = [
    ("qkv", "attn.qkv"),
    ("proj", "attn.proj"),
    ("fc1", "mlp.fc1"),
    ("fc2", "mlp.fc2"),
];

/// The shape of the LoRA adapters (the `[lora]` table of a fine-tuning run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank r of every adapter: A is `(r, in)`, B is `(out, r)`. At most the model's
    /// `hidden_size` (a larger rank adds parameters but no expressive power).
    pub rank: i64,
    /// The update `B·A` is scaled by `alpha / rank` (Hu et al., 2021, §4.1), so that a change
    /// of rank needs little change of learning rate.
    pub alpha: f64,
    /// The linears of every block that get an adapter: any of `"qkv"`, `"proj"` (attention)
    /// and `"fc1"`, `"fc2"` (MLP), each at most once.
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            targets: LORA_TARGETS.iter().map(|(t, _)| t.to_string()).collect(),
        }
    }
}

impl LoraConfig {
    /// The factor of the update, `alpha / rank`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.rank < 1 {
            return Err(ModelError::invalid("lora.rank", self.rank, "at least 1"));
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(ModelError::invalid(
                "lora.alpha",
                self.alpha,
                "a finite number greater than 0",
            ));
        }
        let names: Vec<&str> = LORA_TARGETS.iter().map(|(t, _)| *t).collect();
        if self.targets.is_empty() {
            return Err(ModelError::invalid(
                "lora.targets",
                "[]",
                &format!("at least one of {names:?}"),
            ));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if !names.contains(&t.as_str()) {
                return Err(ModelError::invalid(
                    "lora.targets",
                    format!("{t:?}"),
                    &format!("each one of {names:?}"),
                ));
            }
            if self.targets[..i].contains(t) {
                return Err(ModelError::invalid(
                    "lora.targets",
                    format!("{t:?}"),
                    "each target at most once",
                ));
            }
        }
        Ok(())
    }
}

/// `adapter_config.json`: with the base model folder, enough to rebuild a
/// [`FineTune`](super::FineTune) (see [`FineTune::load_adapter`](super::FineTune::load_adapter)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterConfig {
    /// Always `"lora"`.
    pub adapter_type: String,
    /// Rank, alpha and targets of the adapters.
    pub lora: LoraConfig,
    /// `preset` of the base model's `config.json`.
    pub base_preset: String,
    /// Number of classes of the base model; added class `i` has label `base_num_classes + i`.
    pub base_num_classes: i64,
    /// `provenance` of the base model's `config.json`, so that an adapter is not applied to
    /// another model of the same preset.
    pub base_provenance: Option<Provenance>,
    /// The added classes, in label order.
    pub new_class_names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lora_config_defaults_and_toml() {
        let cfg = LoraConfig::default();
        cfg.validate().unwrap();
        assert_eq!((cfg.rank, cfg.alpha, cfg.scale()), (8, 16.0, 2.0));
        assert_eq!(cfg.targets, ["qkv", "proj", "fc1", "fc2"]);
        let cfg: LoraConfig = toml::from_str("rank = 4\ntargets = [\"qkv\"]\n").unwrap();
        assert_eq!((cfg.rank, cfg.alpha, cfg.targets.len()), (4, 16.0, 1));
        let err = toml::from_str::<LoraConfig>("rnak = 4\n").unwrap_err();
        assert!(err.to_string().contains("rnak"), "{err}");
    }

    #[test]
    fn lora_config_errors_name_field_value_and_choices() {
        let bad = |f: fn(&mut LoraConfig)| {
            let mut cfg = LoraConfig::default();
            f(&mut cfg);
            cfg.validate().unwrap_err().to_string()
        };
        let msg = bad(|c| c.rank = 0);
        assert!(msg.contains("`lora.rank` = 0: at least 1"), "{msg}");
        let msg = bad(|c| c.alpha = f64::NAN);
        assert!(msg.contains("`lora.alpha` = NaN"), "{msg}");
        let msg = bad(|c| c.alpha = -1.0);
        assert!(msg.contains("`lora.alpha` = -1"), "{msg}");
        let msg = bad(|c| c.targets = vec!["qkv".into(), "fc3".into()]);
        assert!(
            msg.contains("`lora.targets` = \"fc3\"")
                && msg.contains(r#"["qkv", "proj", "fc1", "fc2"]"#),
            "{msg}"
        );
        let msg = bad(|c| c.targets.clear());
        assert!(
            msg.contains("`lora.targets` = []: at least one of"),
            "{msg}"
        );
        let msg = bad(|c| c.targets = vec!["fc1".into(), "fc1".into()]);
        assert!(msg.contains("at most once"), "{msg}");
    }
}
