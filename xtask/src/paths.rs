//! Where things live in a tinycats checkout.

use std::path::{Path, PathBuf};

/// The checkout root (the folder of the workspace `Cargo.toml`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits one level below the workspace root")
        .to_path_buf()
}

/// Project-local native libraries and tools, git-ignored: `.tinycats/`.
pub fn native_dir(root: &Path) -> PathBuf {
    root.join(".tinycats")
}

/// The pip `--target` folder of the torch wheel; `LIBTORCH` is its `torch/` subfolder.
pub fn torch_dir(root: &Path) -> PathBuf {
    native_dir(root).join("torch")
}

/// `LIBTORCH` as `.cargo/config.toml` sets it.
pub fn libtorch(root: &Path) -> PathBuf {
    torch_dir(root).join("torch")
}

/// The pip `--target` folder of the onnxruntime wheel.
pub fn onnxruntime_dir(root: &Path) -> PathBuf {
    native_dir(root).join("onnxruntime")
}

/// `ORT_DYLIB_PATH` as `.cargo/config.toml` sets it.
pub fn onnxruntime_dylib(root: &Path) -> PathBuf {
    onnxruntime_dir(root).join(format!(
        "onnxruntime/capi/libonnxruntime.so.{}",
        crate::versions::ONNXRUNTIME_VERSION
    ))
}

/// `cargo install --root` folder of mdbook and mdbook-katex.
pub fn tools_dir(root: &Path) -> PathBuf {
    native_dir(root).join("tools")
}

pub fn mdbook(root: &Path) -> PathBuf {
    tools_dir(root).join("bin").join("mdbook")
}
