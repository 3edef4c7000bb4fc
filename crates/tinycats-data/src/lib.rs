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
pub mod augment;
pub mod batch;

pub mod curate;
pub mod decode;
mod error;
pub mod loader;
pub mod loaders;
mod pixelops;
mod problem;
pub mod synth;

pub use batch::Batch;
pub use error::{DataError, Result};
pub use loader::{Loader, LoaderConfig, LoaderState, Source, SynthSplit};
pub use loaders::{Dataset, FileProblem, ProblemKind, Sample};
pub use synth::{BreedSpec, SynthCats, SynthConfig, WILD_SEVERITY};
pub use tinycats_core::Normalize;
pub use tinycats_core::classes::{
    BREEDS, BreedMatch, NUM_CLASSES, OTHER, breed_id, match_breed, normalize_class_name,
};
