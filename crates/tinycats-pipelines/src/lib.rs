//! # tinycats-pipelines
//!
//! The loops that `tinycats eval` and the book's chapters share, written once, where both
//! back-ends meet: a libtorch or ONNX Runtime generator judged by the ONNX classifier.
//!
//! - [`eval`]: the held-out SynthCats test split, breed fidelity of either generator
//!   ([`eval::BreedSampler`]), and the per-breed report
//!   ([`tinycats_runtime::quality::PerBreedAccuracy::table`]);
//! - [`quantization`]: the int8 variants of a graph, timed and compared with fp32 on the
//!   same inputs;
//! - [`quality`]: the generator's quality in the SynthCats feature network's space
//!   (Fréchet distance, precision/recall, sharpness, memorisation) and that network's training;
//! - [`train`]: a training run from a run config, from data to the saved model folder.
//!
//! Where a chapter *teaches* one of these loops, the chapter writes it out instead.

pub mod eval;
pub mod quality;
pub mod quantization;
pub mod train;

use std::path::PathBuf;

/// What can go wrong in a pipeline: the error of the stage that failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Model(#[from] tinycats_models::ModelError),
    #[error(transparent)]
    Runtime(#[from] tinycats_runtime::RuntimeError),
    #[error(transparent)]
    Data(#[from] tinycats_data::DataError),
    #[error(transparent)]
    Export(#[from] tinycats_onnx::ExportError),
    #[error(transparent)]
    Invalid(#[from] tinycats_core::Invalid),
    #[error("reading the `{split}` split in {} (run `tinycats data split` first): {source}", dir.display())]
    Split {
        split: String,
        dir: PathBuf,
        source: Box<tinycats_data::DataError>,
    },
    #[error(
        "--init-from {}: cannot start from its weights ({source}); it must be a model folder \
         written by a run with the same preset and [model] overrides",
        dir.display()
    )]
    InitFrom {
        dir: PathBuf,
        source: Box<tinycats_models::ModelError>,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A `Result` whose error is [`PipelineError`].
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
