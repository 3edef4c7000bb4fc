//! [`FineTune`]: a trained TinyDiT with frozen weights, LoRA adapters and new classes, and
//! what the trainer needs from it.

use std::path::Path;

use tch::{Device, Kind, Tensor, nn};

use super::config::LoraConfig;
use crate::dit::{DitConfig, TinyDit};
use crate::error::{ModelError, Result};
use crate::flow::{self, TimeSampling};
use crate::images;
use crate::tasks::sample_labels;
use crate::trainer::{DeviceBatch, TrainTask};
use tinycats_core::SampleOptions;

/// Base breeds shown beside the new classes in previews, to catch forgetting early.
const PREVIEW_BASE_CLASSES: i64 = 4;

/// A TinyDiT fine-tuned with LoRA adapters and new classes.
///
/// Every base weight is frozen (`requires_grad = false`, so the trainer's AdamW never sees
/// it); the adapters and the new label rows are the only trainable tensors. The model is an
/// ordinary [`TinyDit`] whose config lists every class, so [`flow::sample`] and the
/// trainer use it as they use any other.
///
/// The adapters act on every class: trained on images of the new classes alone, they pull
/// the base breeds towards them too (`tests/lora_finetune.rs` prints how far). Mixing images
/// of base breeds into the data limits that, as DreamBooth's prior preservation does (Ruiz
/// et al., 2023).
#[derive(Debug)]
pub struct FineTune {
    /// The base weights (frozen) and the adapters (trainable), under their checkpoint names.
    pub vs: nn::VarStore,
    /// The adapted model: labels `0..K` are the base breeds, `K..K + k` the new classes,
    /// and `K + k` the null class.
    pub model: TinyDit,
    /// How training draws t.
    pub times: TimeSampling,
    /// Sampler settings of the preview grids.
    pub preview: SampleOptions,
    /// Seed of the preview noise (the same noise at every preview, so grids compare).
    pub preview_seed: u64,
    lora: LoraConfig,
    base: DitConfig,
}

impl FineTune {
    /// Loads the model folder `base_dir` (`config.json` + `model.safetensors`, strictly),
    /// freezes it, and adds adapters and one label row per name of `new_class_names`.
    pub fn from_pretrained(
        base_dir: &Path,
        new_class_names: &[String],
        lora: &LoraConfig,
        device: Device,
    ) -> Result<Self> {
        lora.validate()?;
        let (vs, model) = TinyDit::load(base_dir, device)?;
        Self::from_model(vs, model, new_class_names, lora)
    }

    /// [`FineTune::from_pretrained`] for a model already in memory; `model` must have been
    /// built under `vs.root()` and carry no adapters.
    pub fn from_model(
        mut vs: nn::VarStore,
        mut model: TinyDit,
        new_class_names: &[String],
        lora: &LoraConfig,
    ) -> Result<Self> {
        lora.validate()?;
        if model.is_adapted() {
            return Err(ModelError::invalid(
                "model",
                "a TinyDit with adapters",
                "a plain TinyDit (from TinyDit::load or TinyDit::new); to go on training an \
                 adapter, use FineTune::load_adapter",
            ));
        }
        let base = model.config().clone();
        if lora.rank > base.hidden_size {
            return Err(ModelError::invalid(
                "lora.rank",
                lora.rank,
                &format!(
                    "at most the model's hidden_size = {} (a larger rank adds parameters but \
                     no expressive power)",
                    base.hidden_size
                ),
            ));
        }
        check_new_class_names(&base.class_names, new_class_names)?;
        vs.freeze();
        model.add_adapters(&vs.root(), lora, new_class_names);
        Ok(FineTune {
            vs,
            model,
            times: TimeSampling::default(),
            preview: SampleOptions {
                steps: 20,
                ..Default::default()
            },
            preview_seed: 0,
            lora: lora.clone(),
            base,
        })
    }

    /// The adapters' shape.
    pub fn lora(&self) -> &LoraConfig {
        &self.lora
    }

    /// The config of the base model, as loaded.
    pub fn base_config(&self) -> &DitConfig {
        &self.base
    }

    /// The names of the added classes, in label order.
    pub fn new_class_names(&self) -> &[String] {
        &self.model.config().class_names[self.base.num_classes as usize..]
    }

    /// The labels of the added classes: `K..K + k` (label the fine-tuning images with these).
    pub fn new_class_labels(&self) -> Vec<i64> {
        (self.base.num_classes..self.model.config().num_classes).collect()
    }

    /// Number of trained values: the adapters and the new label rows.
    pub fn trainable_parameters(&self) -> i64 {
        self.count(true)
    }

    /// Number of frozen parameters: the base model's weights, held fixed. The sin-cos
    /// `pos_embed` is stored in the checkpoint but is not a parameter (no model ever trains
    /// it), so it is not counted, as the trainer's parameter count does not count it.
    pub fn base_parameters(&self) -> i64 {
        self.count(false)
    }

    fn count(&self, trainable: bool) -> i64 {
        self.vs
            .variables()
            .iter()
            .filter(|(name, t)| t.requires_grad() == trainable && name.as_str() != "pos_embed")
            .map(|(_, t)| t.size().iter().product::<i64>())
            .sum()
    }

    /// The classes a preview shows: every new class, then the first base breeds.
    pub fn preview_classes(&self) -> Vec<i64> {
        let base = 0..self.base.num_classes.min(PREVIEW_BASE_CLASSES);
        self.new_class_labels().into_iter().chain(base).collect()
    }

    /// Two samples of each of [`FineTune::preview_classes`], one class per column, as
    /// images in [0, 1].
    ///
    /// # Shapes
    /// → `(2·classes, C, H, W)`
    pub fn sample_grid(&self, opts: &SampleOptions, seed: u64) -> Result<Tensor> {
        let classes = self.preview_classes();
        let y = Tensor::from_slice(&classes)
            .to_device(self.vs.device())
            .repeat([2]); // (2n,)
        sample_labels(&self.model, &y, opts, seed)
    }
}

/// Refuses an empty list, a blank name, a name given twice, and a name the base model has
/// (compared without case, as people type breed names).
fn check_new_class_names(base: &[String], new: &[String]) -> Result<()> {
    if new.is_empty() {
        return Err(ModelError::invalid(
            "new_class_names",
            "[]",
            "at least one name of a class to add",
        ));
    }
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    for (i, name) in new.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(ModelError::invalid(
                "new_class_names",
                format!("{name:?}"),
                "names with at least one visible character",
            ));
        }
        if let Some(j) = base.iter().position(|b| same(b, name)) {
            return Err(ModelError::invalid(
                "new_class_names",
                format!("{name:?}"),
                &format!(
                    "names the base model does not have: it is class {j} ({:?}) of the base \
                     already",
                    base[j]
                ),
            ));
        }
        if new[..i].iter().any(|n| same(n, name)) {
            return Err(ModelError::invalid(
                "new_class_names",
                format!("{name:?}"),
                "each name at most once",
            ));
        }
    }
    Ok(())
}

impl TrainTask for FineTune {
    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The flow-matching loss of [`GeneratorTask`](crate::tasks::GeneratorTask); label
    /// dropout sends labels to the fine-tuned model's null class, `K + k`.
    fn loss(&mut self, batch: &DeviceBatch, train: bool) -> Tensor {
        flow::flow_matching_loss(&self.model, &batch.images, &batch.labels, self.times, train)
    }

    fn preview(&mut self, step: u64, dir: &Path) -> Result<()> {
        let grid = self.sample_grid(&self.preview, self.preview_seed)?;
        images::save_grid(
            &grid,
            self.preview_classes().len() as i64,
            &dir.join(format!("step-{step:08}.png")),
        )
    }

    fn has_bf16_path(&self) -> bool {
        true
    }

    fn set_compute_kind(&mut self, kind: Kind) {
        self.model.set_compute_kind(kind);
    }
}
