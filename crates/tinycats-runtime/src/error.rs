use std::path::PathBuf;

/// Why loading or running a model failed; each names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{what} not found at {path}")]
    MissingFile { what: &'static str, path: PathBuf },
    #[error(
        "ONNX model not found at {path}, but its folder holds the weights it is exported from \
         (model.safetensors): `cargo xtask setup` exports the bundled models' graphs; for a \
         model of your own run `tinycats export onnx --model {folder} --out {path}`"
    )]
    GraphNotExported { path: PathBuf, folder: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an ONNX file: {source}")]
    NotOnnx {
        path: PathBuf,
        source: prost::DecodeError,
    },
    #[error(
        "{path} does not match the tinycats {model} contract: expected {expected}, found {found}"
    )]
    Contract {
        path: PathBuf,
        model: &'static str,
        expected: String,
        found: String,
    },
    #[error("{path}: metadata `{key}` {problem}; was this file written by `tinycats export onnx`?")]
    Metadata {
        path: PathBuf,
        key: &'static str,
        problem: String,
    },
    #[error("{path}: {what} is {found}, expected {expected}; {fix}")]
    Mismatch {
        path: PathBuf,
        what: String,
        found: String,
        expected: String,
        fix: &'static str,
    },
    #[error(
        "{path}: tensor `{tensor}` keeps its data in an external file ({location:?}), expected \
         the data inside the graph file; tinycats loads only self-contained graphs, as \
         `tinycats export onnx` writes them: re-export the model, or save it with its external \
         data folded in (onnx: `save_model(model, path, save_as_external_data=False)`)"
    )]
    ExternalData {
        path: PathBuf,
        tensor: String,
        location: String,
    },
    #[error(
        "the ONNX Runtime library was not found at {path}; run `cargo xtask setup` or point ORT_DYLIB_PATH at libonnxruntime.so"
    )]
    OrtLibraryMissing { path: PathBuf },
    #[error("ONNX Runtime failed to start from {path}: {message}")]
    OrtInit { path: PathBuf, message: String },
    #[error("ONNX Runtime: {context}: {source}")]
    Ort { context: String, source: ort::Error },
    #[error("cannot read the image {path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("unknown breed {given:?}; the model knows: {known}")]
    UnknownBreed { given: String, known: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("model repository: {0}")]
    Repo(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Attaches what was being done to an `ort` error.
pub(crate) trait OrtContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, R> OrtContext<T> for std::result::Result<T, ort::Error<R>>
where
    ort::Error: From<ort::Error<R>>,
{
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| RuntimeError::Ort {
            context: context(),
            source: ort::Error::from(e),
        })
    }
}

impl RuntimeError {
    /// The error for a missing file `path` (`what` it is): when it is an ONNX graph whose
    /// folder holds the weights it is exported from, the error says how to export it.
    pub(crate) fn missing(what: &'static str, path: &std::path::Path) -> Self {
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        let is_graph = path.extension().is_some_and(|e| e == "onnx");
        if is_graph && folder.join("model.safetensors").is_file() {
            return RuntimeError::GraphNotExported {
                path: path.to_path_buf(),
                folder: folder.to_path_buf(),
            };
        }
        RuntimeError::MissingFile {
            what,
            path: path.to_path_buf(),
        }
    }
}
