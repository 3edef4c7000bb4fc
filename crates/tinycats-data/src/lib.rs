//! # tinycats-data
//!
//! Cats to train on and to classify, without downloading anything:
//!
//! - [`synth`]: SynthCats, a procedural dataset of 13-class cat portraits (12 breeds and
//!   `Other`), deterministic from a seed, with custom breed specs for fine-tuning.
//! - [`loaders`]: Oxford-IIIT Pet (the official layout) and ImageFolder for your photos.
//! - [`curate`]: `check`, `clean` and `split` — corrupt files, duplicates, odd formats.
//! - [`augment`] and [`loader`]: resize, crops, flips, colour jitter, CutMix/MixUp, and a
//!   seeded, resumable, prefetching loader yielding contiguous NCHW [`Batch`]es.
//!
//! This crate needs neither libtorch nor ONNX Runtime.
#[cfg(feature = "datasets")]
pub mod augment;
#[cfg(feature = "datasets")]
pub mod batch;

#[cfg(feature = "datasets")]
pub mod curate;
pub mod decode;
mod error;
#[cfg(feature = "datasets")]
pub mod loader;
#[cfg(feature = "datasets")]
pub mod loaders;
#[cfg(feature = "datasets")]
mod pixelops;
mod problem;
#[cfg(feature = "datasets")]
pub mod synth;

#[cfg(feature = "datasets")]
pub use batch::Batch;
pub use error::{DataError, Result};
#[cfg(feature = "datasets")]
pub use loader::{Loader, LoaderConfig, LoaderState, Source, SynthSplit};
#[cfg(feature = "datasets")]
pub use loaders::{Dataset, Sample};
pub use problem::{FileProblem, ProblemKind};
#[cfg(feature = "datasets")]
pub use synth::{BreedSpec, SynthCats, SynthConfig, WILD_SEVERITY};
pub use tinycats_core::Normalize;
pub use tinycats_core::classes::{
    BREEDS, BreedMatch, NUM_CLASSES, OTHER, breed_id, match_breed, normalize_class_name,
};
