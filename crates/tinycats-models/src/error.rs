//! The library's error type: every message names the file or field, the value, and the fix.

use std::path::PathBuf;

/// A `Result` whose error is [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Everything that can go wrong while building, loading, training or sampling a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON or TOML file did not parse into the expected structure.
    #[error("{}: cannot parse: {message}; compare it with the `config.json` a fresh run writes", path.display())]
    Parse { path: PathBuf, message: String },
    /// A weights file lacks a tensor that the model has.
    #[error(
        "{}: tensor `{name}` is missing (the model expects shape {expected:?}); the file was \
         written for a different model: rebuild the model from the `config.json` saved beside it",
        path.display()
    )]
    MissingTensor {
        path: PathBuf,
        name: String,
        expected: Vec<i64>,
    },
    /// A weights file holds a tensor whose shape differs from the model's.
    #[error(
        "{}: tensor `{name}` has shape {found:?} but the model expects {expected:?}; rebuild \
         the model from the `config.json` saved beside the weights",
        path.display()
    )]
    ShapeMismatch {
        path: PathBuf,
        name: String,
        found: Vec<i64>,
        expected: Vec<i64>,
    },
    /// A weights file holds a tensor that the model does not have.
    #[error(
        "{}: tensor `{name}` (shape {found:?}) is not part of the model; the file was written \
         for a different model or config",
        path.display()
    )]
    UnexpectedTensor {
        path: PathBuf,
        name: String,
        found: Vec<i64>,
    },
    /// A weights file's header does not describe the model its `config.json` describes.
    #[error(
        "{} holds {found} values, but {} describes a model of {expected}: the two files are \
         not one model's. Put the `config.json` the run wrote beside its weights (or re-export \
         the model folder)",
        weights.display(),
        config.display()
    )]
    WeightsDoNotFitConfig {
        weights: PathBuf,
        config: PathBuf,
        found: String,
        expected: String,
    },
    /// A model folder's `config.json` parsed but holds a value out of range.
    #[error("{}: {source}", path.display())]
    ConfigFile {
        path: PathBuf,
        #[source]
        source: tinycats_core::Invalid,
    },
    /// A configuration value is outside its allowed range.
    #[error("invalid config: `{field}` = {value}: {expected}")]
    InvalidConfig {
        field: String,
        value: String,
        expected: String,
    },
    /// The loss became NaN or infinite; the run stopped.
    #[error(
        "the training loss became {value} at step {step}; the run stopped. The last good \
         checkpoint is {checkpoint}. Lower the learning rate, raise the warm-up or set \
         `grad_clip`, then resume with `--resume`"
    )]
    NonFiniteLoss {
        step: u64,
        value: f64,
        checkpoint: String,
    },
    /// Gradients were NaN or infinite for several steps in a row; the run stopped.
    #[error(
        "the gradients were NaN or infinite for {in_a_row} steps in a row (up to step {step}); \
         their updates were skipped and the run stopped. The last good checkpoint is \
         {checkpoint}. Lower the learning rate, raise the warm-up or set `grad_clip`, then \
         resume with `--resume`"
    )]
    NonFiniteGradient {
        step: u64,
        in_a_row: u32,
        checkpoint: String,
    },
    /// The weights became NaN or infinite; no checkpoint was written from them.
    #[error(
        "the weights became NaN or infinite by step {step}, so no checkpoint was written from \
         them. The last good checkpoint is {checkpoint}. Lower the learning rate, then resume \
         with `--resume`"
    )]
    NonFiniteWeights { step: u64, checkpoint: String },
    /// The run was asked to stop (Ctrl-C) and did, after a step, with a checkpoint.
    #[error(
        "stopped at step {step} as asked, with a checkpoint in {checkpoint}; continue the run \
         with the same command and `--resume`"
    )]
    Interrupted { step: u64, checkpoint: String },
    /// A checkpoint holds NaN or infinite weights (the trainer never writes such a one).
    #[error(
        "{}: tensor `{tensor}` holds NaN or infinite values, so this checkpoint cannot be \
         resumed (tinycats never writes one: the file was damaged or made elsewhere). Delete \
         its folder to resume from the checkpoint before it, or start the run again",
        path.display()
    )]
    NonFiniteCheckpoint { path: PathBuf, tensor: String },
    /// `--resume` found nothing to resume from.
    #[error("{}: no complete checkpoint to resume from; start the run without `--resume`", path.display())]
    NoCheckpoint { path: PathBuf },
    /// The data source failed to produce a batch.
    #[error("data: {0}")]
    Data(String),
    /// The tinycats-data loader failed.
    #[error(transparent)]
    Loader(#[from] tinycats_data::DataError),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl ModelError {
    /// An [`ModelError::InvalidConfig`] for `field` = `value`, which should satisfy `expected`.
    pub fn invalid(field: &str, value: impl std::fmt::Display, expected: &str) -> Self {
        ModelError::InvalidConfig {
            field: field.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ModelError::Io { path, source }
    }
}

impl From<tinycats_core::Invalid> for ModelError {
    fn from(e: tinycats_core::Invalid) -> Self {
        ModelError::InvalidConfig {
            field: e.field,
            value: e.value,
            expected: e.expected,
        }
    }
}
