//! Typed errors. Every variant names the file or value at fault and says what to do about it.
use std::path::PathBuf;

/// Everything that can go wrong in `tinycats-data`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read or written.
    // The cause is part of the message (not a `#[source]`), so that it is printed once.
    #[error("{path}: {cause} (check that the path exists and is readable/writable)")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// An image file could not be decoded, or was refused by the safety limits.
    #[error("{path}: {reason} (fix: {fix})")]
    Image {
        path: PathBuf,
        kind: crate::problem::ProblemKind,
        reason: String,
        fix: String,
    },
    /// A dataset layout is wrong (missing folder, empty class, malformed annotation line).
    #[error("{path}: {reason} (fix: {fix})")]
    Layout {
        path: PathBuf,
        reason: String,
        fix: String,
    },
    /// A configuration value is out of range.
    #[error("invalid {name} = {value}: {fix}")]
    Config {
        name: &'static str,
        value: String,
        fix: String,
    },
    /// A manifest or report could not be written or read.
    #[error("{path}: {cause} (the file is CSV; re-create it with the command that wrote it)")]
    #[cfg(feature = "datasets")]
    Csv { path: PathBuf, cause: csv::Error },
    /// A saved loader state does not belong to this loader.
    #[error("cannot restore loader state: {reason} (fix: {fix})")]
    State { reason: String, fix: String },
    /// The background prefetch thread stopped unexpectedly.
    #[error("the prefetch worker stopped: {0} (this is a bug in tinycats-data; please report it)")]
    Worker(String),
}

#[cfg_attr(not(feature = "datasets"), allow(dead_code))] // the datasets' constructors
impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            cause: source,
        }
    }

    pub(crate) fn config(name: &'static str, value: impl ToString, fix: impl Into<String>) -> Self {
        Self::Config {
            name,
            value: value.to_string(),
            fix: fix.into(),
        }
    }

    pub(crate) fn layout(
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::Layout {
            path: path.into(),
            reason: reason.into(),
            fix: fix.into(),
        }
    }
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
