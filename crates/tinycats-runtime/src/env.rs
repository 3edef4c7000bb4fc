//! The one ONNX Runtime environment of the process (ORT allows only one, ever), created on
//! first use from the shared library found at `ORT_DYLIB_PATH`.

use std::path::PathBuf;
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::{Result, RuntimeError};

/// Where the library is looked for: `ORT_DYLIB_PATH` at run time, else the path that was
/// set when this crate was compiled (`.cargo/config.toml` points it at `cargo xtask setup`'s
/// install), so binaries run outside cargo still find it.
pub fn ort_library_path() -> Option<PathBuf> {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .or_else(|| option_env!("ORT_DYLIB_PATH").map(PathBuf::from))
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, RuntimeError>> = OnceLock::new();

/// The process-wide environment; safe to call from parallel tests and threads.
///
/// Checks that the library file exists before handing it to `ort` (whose lazy loader
/// panics on a missing library).
pub fn environment() -> Result<&'static Environment> {
    ENVIRONMENT.get_or_init(init).as_ref().map_err(|e| match e {
        RuntimeError::OrtLibraryMissing { path } => {
            RuntimeError::OrtLibraryMissing { path: path.clone() }
        }
        RuntimeError::OrtInit { path, message } => RuntimeError::OrtInit {
            path: path.clone(),
            message: message.clone(),
        },
        other => RuntimeError::Invalid(other.to_string()),
    })
}

/// The library file, checked to exist (ort's own loader would panic instead).
pub(crate) fn check_library(path: Option<PathBuf>) -> Result<PathBuf> {
    let path = path.unwrap_or_else(|| PathBuf::from("libonnxruntime.so"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(RuntimeError::OrtLibraryMissing { path })
    }
}

fn init() -> Result<Environment> {
    let path = check_library(ort_library_path())?;
    let builder = ort::init_from(&path).map_err(|e| RuntimeError::OrtInit {
        path: path.clone(),
        message: e.to_string(),
    })?;
    builder
        .with_name("tinycats")
        .with_telemetry(false)
        .build()
        .map_err(|e| RuntimeError::OrtInit {
            path,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_is_an_error_that_says_how_to_fix_it() {
        let err = check_library(Some("/nonexistent/libonnxruntime.so".into())).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cargo xtask setup"), "{msg}");
        assert!(msg.contains("/nonexistent/libonnxruntime.so"), "{msg}");
    }
}
