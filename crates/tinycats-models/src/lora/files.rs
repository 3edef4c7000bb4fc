//! A fine-tune on disk: the adapter alone, under PEFT's file names, or merged into an
//! ordinary model folder (`config.json` + `model.safetensors`).

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Tensor, nn};

use super::config::AdapterConfig;
use super::finetune::FineTune;
use crate::dit::{DitConfig, Provenance, TinyDit};
use crate::error::{ModelError, Result};
use crate::io;

/// The adapter's weights: the `lora_A`/`lora_B` tensors and `y_embedder.new_rows.weight`.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";
/// The adapter's [`AdapterConfig`].
pub const ADAPTER_CONFIG: &str = "adapter_config.json";

impl FineTune {
    /// What `adapter_config.json` records.
    pub fn adapter_config(&self) -> AdapterConfig {
        let base = self.base_config();
        AdapterConfig {
            adapter_type: "lora".to_string(),
            lora: self.lora().clone(),
            base_preset: base.preset.clone(),
            base_num_classes: base.num_classes,
            base_provenance: base.provenance.clone(),
            new_class_names: self.new_class_names().to_vec(),
        }
    }

    /// The trained tensors, by name: the adapters and the new label rows.
    pub fn adapter_tensors(&self) -> BTreeMap<String, Tensor> {
        self.vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect()
    }

    /// Writes [`ADAPTER_WEIGHTS`] and [`ADAPTER_CONFIG`] into `dir` (created if needed), each
    /// atomically; the config goes last, so a folder with a config holds its weights.
    ///
    /// These are the current weights; for the trainer's EMA, call it as
    /// `ema.with_weights(&mut ft.vs.variables(), || ft.save_adapter(dir))`.
    pub fn save_adapter(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
        io::save_tensors(&dir.join(ADAPTER_WEIGHTS), &self.adapter_tensors())?;
        io::write_json(&dir.join(ADAPTER_CONFIG), &self.adapter_config())
    }

    /// Rebuilds a saved fine-tune: the base model folder `base_dir` with the adapter of
    /// `adapter_dir`, loaded strictly (every adapter tensor, every shape). Refuses a base whose
    /// preset, class count or provenance differ from the adapter's record.
    pub fn load_adapter(base_dir: &Path, adapter_dir: &Path, device: Device) -> Result<Self> {
        let cfg: AdapterConfig = io::read_json(&adapter_dir.join(ADAPTER_CONFIG))?;
        if cfg.adapter_type != "lora" {
            return Err(ModelError::invalid(
                "adapter_type",
                format!("{:?}", cfg.adapter_type),
                "\"lora\"",
            ));
        }
        let base: DitConfig = io::read_json(&base_dir.join("config.json"))?;
        let record = (&cfg.base_preset, cfg.base_num_classes, &cfg.base_provenance);
        if (&base.preset, base.num_classes, &base.provenance) != record {
            return Err(ModelError::invalid(
                "base model",
                format!(
                    "{} ({})",
                    base_dir.display(),
                    describe(&base.preset, base.num_classes, &base.provenance)
                ),
                &format!(
                    "the base that the adapter in {} was trained on: {}",
                    adapter_dir.display(),
                    describe(record.0, record.1, record.2)
                ),
            ));
        }
        let ft = FineTune::from_pretrained(base_dir, &cfg.new_class_names, &cfg.lora, device)?;
        let path = adapter_dir.join(ADAPTER_WEIGHTS);
        let tensors = io::load_tensors(&path)?;
        io::copy_into_variables(ft.adapter_tensors(), &tensors, &path)?;
        Ok(ft)
    }

    /// The config of the merged model: the base's, with every class, and `provenance`.
    pub fn merged_config(&self, provenance: Option<Provenance>) -> DitConfig {
        DitConfig {
            provenance,
            ..self.model.config().clone()
        }
    }

    /// The equivalent plain TinyDiT: each adapted weight becomes `W + (α/r)·B·A` and the
    /// label table `[base breeds, new classes, null]`, with no adapter left. Its outputs
    /// equal the fine-tune's up to f32 rounding.
    pub fn merge(&self) -> Result<(nn::VarStore, TinyDit)> {
        let cfg = self.merged_config(None);
        let vs = nn::VarStore::new(self.vs.device());
        let model = TinyDit::new(vs.root(), &cfg);
        let tensors = self.model.merged_tensors(&self.vs);
        io::copy_into_var_store(&vs, &tensors, Path::new("(merged fine-tune)"))?;
        Ok((vs, model))
    }

    /// Writes the merged model as an ordinary model folder: `config.json` (every class, and
    /// `provenance`, e.g. `Provenance::capture(steps)` of the fine-tuning run) and
    /// `model.safetensors`, atomically.
    pub fn save_merged(&self, dir: &Path, provenance: Option<Provenance>) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
        let tensors = self.model.merged_tensors(&self.vs);
        io::save_tensors(&dir.join("model.safetensors"), &tensors)?;
        io::write_json(&dir.join("config.json"), &self.merged_config(provenance))
    }
}

fn describe(preset: &str, num_classes: i64, provenance: &Option<Provenance>) -> String {
    let from = provenance.as_ref().map_or_else(
        || "no provenance".to_string(),
        |p| format!("{} steps at {} on {}", p.steps, p.git_revision, p.date),
    );
    format!("preset {preset}, {num_classes} classes, {from}")
}
