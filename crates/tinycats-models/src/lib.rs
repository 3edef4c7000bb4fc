//! tinycats-models: the models that the tinycats book teaches, on tch (libtorch 2.11).
//!
//! The generator:
//! - [`dit`]: TinyDiT, a class-conditional diffusion transformer with adaLN-Zero (its blocks,
//!   its linears, and the LoRA adapters that fine-tuning adds to them);
//! - [`flow`]: rectified-flow training loss, seeded noise and the samplers with guidance;
//! - [`images`]: tensors to pictures (preview grids, `tinycats sample`).
//!
//! The classifier:
//! - [`classifier`]: the residual breed classifier;
//! - [`metrics`]: its logits as a classification report (computed by `tinycats-core`);
//! - [`gradcam`]: where it looks.
//!
//! Training and fine-tuning:
//! - [`trainer`]: the training loop both models share (EMA, early stopping, checkpoints,
//!   resume, bf16 on CUDA and on CPUs with bf16 units);
//! - [`tasks`]: the two models wired to the trainer;
//! - [`runconfig`]: run configs in TOML (a preset plus what a `run.toml` overrides);
//! - [`lora`]: LoRA fine-tuning of a trained TinyDiT, with new classes.
//!
//! Measuring and encoding images:
//! - [`features`]: the SynthCats feature network in which the quality metrics compare cats;
//! - [`autoencoder`]: a small convolutional autoencoder whose latent grid a latent-space
//!   TinyDiT can learn (`tinycats train-autoencoder`).
//!
//! Underneath:
//! - [`device`]: CPU or CUDA (`auto`);
//! - [`io`]: safetensors and JSON on disk, strict loading, atomic writes;
//! - [`error`]: [`ModelError`], which names the file and the fix;
//! - `testing` (feature `testing`): weights for parity tests and benchmarks before any
//!   training.
//!
//! A model folder holds `config.json` (enough to rebuild the model) and `model.safetensors`
//! (f32 weights with the PyTorch reference names).

pub mod autoencoder;
pub mod classifier;
pub mod device;
pub mod dit;
pub mod error;
pub mod features;
pub mod flow;
pub mod gradcam;
pub mod images;
pub mod io;
pub mod lora;
pub mod metrics;
pub mod repa;
pub mod runconfig;
pub mod tasks;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trainer;

pub use classifier::{Classifier, ClassifierConfig};
pub use dit::{DitConfig, Prediction, Provenance, TinyDit};
pub use error::{ModelError, Result};
pub use lora::{FineTune, LoraConfig};
/// The tch version this crate is built on, re-exported so that dependants agree with it.
pub use tch;
