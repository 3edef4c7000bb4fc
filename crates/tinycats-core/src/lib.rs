//! # tinycats-core
//!
//! Everything that crosses the libtorch / ONNX Runtime seam, defined once, with neither
//! library as a dependency (so a browser page can follow it too):
//!
//! - [`config`]: the model folder's `config.json` ([`DitConfig`], [`ClassifierConfig`],
//!   [`Provenance`], [`Prediction`]), its presets and its one `validate`;
//! - [`classes`]: the 13 canonical classes, folder-name matching, and a breed's label in a
//!   model's own class table (with the generator's null class);
//! - [`pixels`]: the pixel convention, `(pixel/255 − mean) / std` from the model folder;
//! - [`sampling`]: [`SampleOptions`], the time grid, guidance and the sampling loop;
//! - [`metrics`]: classification metrics (confusion matrix, precision/recall/F1, top-k,
//!   calibration and temperature scaling) on either back-end's outputs;
//! - [`fs`]: the one atomic write and the one bounded read for files that matter;
//! - [`seed`]: SplitMix64, the one seed mixer, and [`seed::derive`], the one way a run's seed
//!   becomes the seed of each thing it draws;
//! - [`noise`]: portable seeded Gaussian noise (Philox4x32-10 + Box–Muller with portable
//!   `ln`, `cos`, `sin`): the same seed, the same noise, on every back-end and CPU.
//! - [`permalink`]: a cat as a link to the book's in-browser page (breed, seed and sampler
//!   settings in the URL's fragment).

pub mod classes;
pub mod config;
mod error;
pub mod fs;
pub mod metrics;
pub mod noise;
pub mod permalink;
pub mod pixels;
pub mod sampling;
pub mod seed;

pub use classes::{
    BREEDS, Breed, BreedMatch, NUM_CLASSES, OTHER, UnknownBreed, breed_id, check_class_names,
    class_index, match_breed, normalize_class_name,
};
pub use config::{
    ClassifierConfig, ConfigError, DitConfig, ForwardMacs, ModelConfig, Prediction, Provenance,
    breed_names,
};
pub use error::{Invalid, Result};
pub use pixels::Normalize;
pub use sampling::{
    RecordedSampler, SAMPLER_FILE, SampleOptions, Solver, State, Step, guide, integrate, timesteps,
};
