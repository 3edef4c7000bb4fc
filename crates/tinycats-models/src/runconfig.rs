//! Run configs in TOML, for progressive disclosure: a preset names the model, and a
//! `run.toml` overrides only what it mentions.
//!
//! ```toml
//! preset = "tiny"
//! batch_size = 32
//! [model]            # any DitConfig / ClassifierConfig field, over the preset
//! depth = 4
//! [trainer]          # any TrainerConfig field
//! max_steps = 3000
//! lr = 3e-4
//! ```

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::autoencoder::AutoencoderConfig;
use crate::classifier::ClassifierConfig;
use crate::dit::DitConfig;
use crate::error::{ModelError, Result};
use crate::flow::TimeSampling;
use crate::lora::LoraConfig;
use crate::repa::RepaConfig;
use crate::trainer::TrainerConfig;
use tinycats_core::SampleOptions;
use tinycats_data::augment::Augment;

/// A generator training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorRun {
    /// `tiny`, `small` or `tinydit_128`.
    pub preset: String,
    /// Overrides of the preset's `DitConfig` fields.
    pub model: toml::Table,
    pub trainer: TrainerConfig,
    /// How training draws t.
    pub time_sampling: TimeSampling,
    /// Images per micro-batch.
    pub batch_size: usize,
    /// Sampler settings of the preview grids.
    pub preview: SampleOptions,
    /// REPA, representation alignment to a frozen teacher ([`crate::repa`]); absent: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repa: Option<RepaConfig>,
}

impl Default for GeneratorRun {
    fn default() -> Self {
        GeneratorRun {
            preset: "tiny".into(),
            model: toml::Table::new(),
            trainer: TrainerConfig::default(),
            time_sampling: TimeSampling::default(),
            batch_size: 32,
            preview: SampleOptions {
                steps: 20,
                ..Default::default()
            },
            repa: None,
        }
    }
}

impl GeneratorRun {
    /// The preset with the `[model]` overrides applied, validated.
    pub fn dit_config(&self) -> Result<DitConfig> {
        let cfg: DitConfig = apply_overrides(&DitConfig::from_preset(&self.preset)?, &self.model)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value before any work starts.
    pub fn validate(&self) -> Result<()> {
        let dit = self.dit_config()?;
        if let Some(repa) = &self.repa {
            repa.validate(&dit)?;
        }
        self.trainer.validate()?;
        self.preview.validate()?;
        check_batch_size(self.batch_size)
    }
}

/// An autoencoder training run (the latent space of a latent TinyDiT).
///
/// ```toml
/// edge_weight = 1.0
/// [model]
/// widths = [32, 64, 64]
/// latent_channels = 4
/// [trainer]
/// max_steps = 4000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoencoderRun {
    /// Overrides of the default `AutoencoderConfig` fields.
    pub model: toml::Table,
    pub trainer: TrainerConfig,
    /// Weight of the image-gradient term of the loss (0: pixels only).
    pub edge_weight: f64,
    /// Images per micro-batch.
    pub batch_size: usize,
}

impl Default for AutoencoderRun {
    fn default() -> Self {
        AutoencoderRun {
            model: toml::Table::new(),
            trainer: TrainerConfig {
                lr: 2e-3,
                warmup_steps: 100,
                ema_decay: None,
                ..Default::default()
            },
            edge_weight: 1.0,
            batch_size: 32,
        }
    }
}

impl AutoencoderRun {
    /// The default config with the `[model]` overrides applied, validated.
    pub fn autoencoder_config(&self) -> Result<AutoencoderConfig> {
        let cfg: AutoencoderConfig = apply_overrides(&AutoencoderConfig::default(), &self.model)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value before any work starts.
    pub fn validate(&self) -> Result<()> {
        self.autoencoder_config()?;
        self.trainer.validate()?;
        if !(self.edge_weight >= 0.0 && self.edge_weight.is_finite()) {
            return Err(ModelError::invalid(
                "edge_weight",
                self.edge_weight,
                "0 or more (1.0 weighs edges as much as pixels)",
            ));
        }
        check_batch_size(self.batch_size)
    }
}

/// A classifier training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierRun {
    /// `tiny` or `resnet18`.
    pub preset: String,
    /// Overrides of the preset's `ClassifierConfig` fields.
    pub model: toml::Table,
    pub trainer: TrainerConfig,
    /// Label smoothing ε.
    pub label_smoothing: f64,
    /// Images per micro-batch.
    pub batch_size: usize,
    /// The training images' augmentation (validation images get none):
    /// `Augment::classifier_train()` unless the config sets `[augment]`.
    pub augment: Augment,
}

impl Default for ClassifierRun {
    fn default() -> Self {
        ClassifierRun {
            preset: "tiny".into(),
            model: toml::Table::new(),
            trainer: TrainerConfig {
                lr: 2e-3,
                warmup_steps: 100,
                ema_decay: None,
                restore_best: true,
                preview_every: None,
                optimizer: crate::trainer::AdamWConfig {
                    weight_decay: 0.05,
                    ..Default::default()
                },
                ..Default::default()
            },
            label_smoothing: 0.1,
            batch_size: 64,
            augment: Augment::classifier_train(),
        }
    }
}

impl ClassifierRun {
    /// The preset with the `[model]` overrides applied, validated.
    pub fn classifier_config(&self) -> Result<ClassifierConfig> {
        let cfg: ClassifierConfig =
            apply_overrides(&ClassifierConfig::from_preset(&self.preset)?, &self.model)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value before any work starts.
    pub fn validate(&self) -> Result<()> {
        self.classifier_config()?;
        self.trainer.validate()?;
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(ModelError::invalid(
                "label_smoothing",
                self.label_smoothing,
                "in [0, 1)",
            ));
        }
        self.augment.validate()?;
        check_batch_size(self.batch_size)
    }
}

/// A LoRA fine-tuning run of a trained generator, with new classes (see [`crate::lora`]);
/// the base model folder is named on the command line.
///
/// ```toml
/// new_classes = ["savannah"]
/// [lora]
/// rank = 8
/// [trainer]
/// max_steps = 500
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneRun {
    /// Names of the classes to add, in label order (labels `num_classes`, … of the base).
    pub new_classes: Vec<String>,
    /// Rank, alpha and target linears of the adapters.
    pub lora: LoraConfig,
    /// The training loop (defaults for a short fine-tune; see [`FineTuneRun::default`]).
    pub trainer: TrainerConfig,
    /// How training draws t.
    pub time_sampling: TimeSampling,
    /// Images per micro-batch.
    pub batch_size: usize,
    /// Sampler settings of the preview grids.
    pub preview: SampleOptions,
}

impl Default for FineTuneRun {
    fn default() -> Self {
        // A fine-tune trains ~3 % of the values on a few images: a higher learning rate and
        // a shorter run than pre-training, and an EMA short enough to follow it.
        FineTuneRun {
            new_classes: Vec::new(),
            lora: LoraConfig::default(),
            trainer: TrainerConfig {
                max_steps: 1000,
                lr: 1e-3,
                warmup_steps: 50,
                ema_decay: Some(0.995),
                eval_every: 100,
                checkpoint_every: 250,
                preview_every: Some(250),
                ..Default::default()
            },
            time_sampling: TimeSampling::default(),
            batch_size: 16,
            preview: SampleOptions {
                steps: 20,
                ..Default::default()
            },
        }
    }
}

impl FineTuneRun {
    /// Checks every value before any work starts (the class names are checked against the
    /// base model when it is loaded).
    pub fn validate(&self) -> Result<()> {
        if self.new_classes.is_empty() {
            return Err(ModelError::invalid(
                "new_classes",
                "[]",
                "at least one name of a class to add",
            ));
        }
        self.lora.validate()?;
        self.trainer.validate()?;
        self.preview.validate()?;
        check_batch_size(self.batch_size)
    }
}

fn check_batch_size(b: usize) -> Result<()> {
    if !(1..=4096).contains(&b) {
        return Err(ModelError::invalid("batch_size", b, "in 1..=4096"));
    }
    Ok(())
}

/// Parses a run config from TOML text (what a `run.toml` holds). Unknown fields are
/// refused by name.
pub fn from_toml_str<T: DeserializeOwned>(text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| ModelError::Parse {
        path: "<run config>".into(),
        message: e.to_string(),
    })
}

/// Reads a run config from a TOML file.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = tinycats_core::fs::read_text_bounded(path, tinycats_core::fs::CONFIG_LIMIT)
        .map_err(ModelError::io(path))?;
    toml::from_str(&text).map_err(|e| ModelError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `base` with the fields named in `overrides` replaced; an unknown field is an error.
/// Unknown means what the config type does not read (`serde_ignored`), so a field that is
/// left out of a written config when off (TinyDiT's `final_conv`) can still be set.
fn apply_overrides<T: Serialize + DeserializeOwned>(
    base: &T,
    overrides: &toml::Table,
) -> Result<T> {
    let mut table = toml::Table::try_from(base)
        .map_err(|e| ModelError::invalid("model", "?", &e.to_string()))?;
    let known: Vec<String> = table.keys().cloned().collect();
    table.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut ignored = Vec::new();
    let cfg = serde_ignored::deserialize(toml::Value::Table(table), |path| {
        ignored.push(path.to_string());
    })
    .map_err(|e: toml::de::Error| ModelError::invalid("model", "(overrides)", &e.to_string()))?;
    if let Some(path) = ignored.first() {
        let key = path.split('.').next().unwrap_or(path);
        let value = overrides
            .get(key)
            .map_or("?".to_string(), |v| v.to_string());
        return Err(ModelError::invalid(
            &format!("model.{path}"),
            value,
            &format!("a model field: one of {known:?}"),
        ));
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_over_the_preset() {
        let run: GeneratorRun = toml::from_str(
            "preset = \"tiny\"\n[model]\ndepth = 2\n[trainer]\nmax_steps = 10\nwarmup_steps = 2\n",
        )
        .unwrap();
        run.validate().unwrap();
        let cfg = run.dit_config().unwrap();
        assert_eq!(
            (cfg.depth, cfg.hidden_size),
            (2, DitConfig::tiny().hidden_size)
        );
        assert_eq!(run.trainer.max_steps, 10);
    }

    #[test]
    fn errors_name_the_field() {
        let run: GeneratorRun = toml::from_str("[model]\ndepht = 2\n").unwrap();
        let msg = run.validate().unwrap_err().to_string();
        assert!(msg.contains("`model.depht` = 2"), "{msg}");
        let run: GeneratorRun = toml::from_str("[trainer]\nlr = 5.0\n").unwrap();
        assert!(run.validate().unwrap_err().to_string().contains("`lr` = 5"));
        assert!(toml::from_str::<GeneratorRun>("[trainer]\nmax_step = 5\n").is_err());
    }

    #[test]
    fn a_field_left_out_of_written_configs_can_still_be_set() {
        // `final_conv` is not written when off, so it is not in the preset's table.
        for on in [true, false] {
            let run: GeneratorRun =
                toml::from_str(&format!("[model]\nfinal_conv = {on}\n")).unwrap();
            assert_eq!(run.dit_config().unwrap().final_conv, on);
        }
        let run: GeneratorRun = toml::from_str("[model]\nfinal_cnov = true\n").unwrap();
        let msg = run.dit_config().unwrap_err().to_string();
        assert!(msg.contains("`model.final_cnov` = true"), "{msg}");
    }

    #[test]
    fn lora_fine_tune_run_reads_its_tables() {
        let run: FineTuneRun =
            toml::from_str("new_classes = [\"savannah\"]\n[lora]\nrank = 4\n").unwrap();
        run.validate().unwrap();
        assert_eq!((run.lora.rank, run.lora.alpha), (4, 16.0));
        let msg = FineTuneRun::default().validate().unwrap_err().to_string();
        assert!(msg.contains("`new_classes` = []"), "{msg}");
        let run: FineTuneRun =
            toml::from_str("new_classes = [\"x\"]\n[lora]\ntargets = [\"fc3\"]\n").unwrap();
        let msg = run.validate().unwrap_err().to_string();
        assert!(msg.contains("`lora.targets` = \"fc3\""), "{msg}");
        assert!(toml::from_str::<FineTuneRun>("[lora]\nrnak = 4\n").is_err());
    }
}
