//! ONNX Runtime inference for tinycats: the breed [`Classifier`], the TinyDiT
//! [`Generator`] (Euler/Heun flow-matching sampler with batched classifier-free guidance),
//! and [`ModelRepo`] resolution (local folder, Hugging Face cache, opt-in download).
//!
//! Everything model-specific (image size, mean/std, class names, null class) is read from
//! the graph's `metadata_props`, written by `tinycats export onnx`.
//!
//! ```no_run
//! use tinycats_runtime::{Classifier, ModelRepo, repo::CLASSIFIER_ONNX};
//! let repo = ModelRepo::resolve("assets", false)?;
//! let mut clf = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
//! let img = image::open("cat.jpg").expect("an image");
//! for p in clf.classify(&img, 3)? {
//!     println!("{:>5.1}% {}", 100.0 * p.probability, p.name);
//! }
//! # Ok::<(), tinycats_runtime::RuntimeError>(())
//! ```

pub mod classifier;
pub mod env;
mod error;
pub mod generator;
pub mod preprocess;
pub mod quality;
pub mod repo;
pub mod session;

pub use classifier::{BreedScore, Classifier};
pub use error::{Result, RuntimeError};
pub use generator::{GenerateOptions, Generator, Images, Step};
/// The array crate of this API (`ArrayView4` inputs, `Array4` outputs).
pub use ndarray;
pub use preprocess::Preprocess;
pub use repo::{HubOptions, ModelRepo};
pub use session::{Metadata, OptLevel, SessionOptions};
pub use tinycats_core::{Breed, SampleOptions, Solver};
