use std::path::PathBuf;

/// Why an export or quantization failed; each names the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] tinycats_core::ConfigError),
    #[error("{path} is not a safetensors file: {message}")]
    Safetensors { path: PathBuf, message: String },
    #[error(
        "weight `{name}` is missing from {path}; is this the model that config.json describes?"
    )]
    MissingWeight { path: PathBuf, name: String },
    #[error("weight `{name}` in {path} has shape {found:?}, but config.json implies {expected:?}")]
    Shape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("weight `{name}` in {path} is {dtype}; the exporter reads f32 checkpoints")]
    Dtype {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    #[error("{path} is not an ONNX model: {source}")]
    NotOnnx {
        path: PathBuf,
        source: prost::DecodeError,
    },
    #[error("cannot quantize: {0}")]
    Quantize(String),
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;
