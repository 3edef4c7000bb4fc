//! tinycats-models: the models that the tinycats book teaches, on tch (libtorch 2.11).
//!
//! - [`dit`]: TinyDiT, a class-conditional diffusion transformer with adaLN-Zero;
//! - [`flow`]: rectified-flow training loss and the Euler/Heun samplers with guidance;
//! - [`classifier`]: the residual breed classifier, [`metrics`] to judge it, and
//!   [`gradcam`] to see where it looks;
//! - [`trainer`]: the training loop both share (EMA, early stopping, checkpoints, resume);
//! - [`tasks`]: the two models wired to the trainer;
//! - [`lora`]: LoRA fine-tuning of a trained TinyDiT, with new classes;
//! - [`io`]: safetensors and JSON on disk, strict loading, atomic writes.
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
