//! LoRA fine-tuning of a trained TinyDiT, with new classes (Hu et al., 2021, "LoRA: Low-Rank
//! Adaptation of Large Language Models"; file layout and tensor names after Hugging Face
//! PEFT). The base weights stay frozen; each chosen linear of every block learns a low-rank
//! update `(α/r)·B·A`, and each new class learns one row of the label table.
//!
//! - [`LoraConfig`]: rank, alpha and the target linears (`qkv`, `proj`, `fc1`, `fc2`);
//! - [`FineTune`]: the adapted model built from a model folder; a
//!   [`TrainTask`](crate::trainer::TrainTask), so the [`Trainer`](crate::trainer::Trainer)
//!   trains, checkpoints and resumes it as it does [`GeneratorTask`](crate::tasks::GeneratorTask);
//! - on disk, either the adapter alone ([`ADAPTER_WEIGHTS`] + [`ADAPTER_CONFIG`], a few
//!   percent of the model) or the fine-tune merged into an ordinary model folder, which
//!   [`TinyDit::load`](crate::TinyDit::load) and the ONNX exporter read with no LoRA code.
//!
//! Label `num_classes + i` of the fine-tuned model is new class `i`; the null class moves
//! to the last index. The adapter file holds `blocks.{i}.{attn.qkv, attn.proj, mlp.fc1,
//! mlp.fc2}.lora_{A,B}.weight` and `y_embedder.new_rows.weight` (see [`crate::dit::LoraLinear`]).
//!
//! ```no_run
//! use tinycats_models::lora::{FineTune, LoraConfig};
//! # fn main() -> tinycats_models::Result<()> {
//! let names = ["savannah".to_string()];
//! let ft = FineTune::from_pretrained(
//!     "runs/generator".as_ref(),
//!     &names,
//!     &LoraConfig::default(),
//!     tch::Device::Cpu,
//! )?;
//! println!("{} trainable of {}", ft.trainable_parameters(), ft.base_parameters());
//! // Trainer::new(cfg, run_dir, device)?.fit(&mut ft, &mut train, &mut val, false)?;
//! ft.save_adapter("runs/savannah/adapter".as_ref())?;
//! ft.save_merged("runs/savannah/model".as_ref(), None)?;
//! # Ok(()) }
//! ```

mod config;
mod files;
mod finetune;
#[cfg(test)]
mod tests;

pub use config::{AdapterConfig, LORA_TARGETS, LoraConfig};
pub use files::{ADAPTER_CONFIG, ADAPTER_WEIGHTS};
pub use finetune::FineTune;
