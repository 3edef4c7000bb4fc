//! Skips an example whose inputs are unchanged since its last passing run.
//!
//! Inputs: the example's source, every file of the project's crates, the workspace
//! manifests and `Cargo.lock`, `.cargo/config.toml`, `assets/`, the chapters and `book.toml`,
//! the xtask itself, the cargo features and extra environment of the run (e.g. forced AVX2),
//! the native libraries the examples load (libtorch's version, ONNX Runtime's file), the Rust
//! compiler, and the committed outputs the run is compared with (its snapshots and images).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use super::Project;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Cache {
    /// example → digest of its inputs at its last passing run
    passed: BTreeMap<String, String>,
}

impl Cache {
    pub fn path(project: &Project) -> PathBuf {
        project.work_dir().join("cache.json")
    }

    pub fn load(project: &Project) -> Cache {
        fs::read_to_string(Self::path(project))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, project: &Project) -> Result<()> {
        crate::write_atomic(&Self::path(project), &serde_json::to_string_pretty(self)?)
    }

    pub fn is_fresh(&self, example: &str, digest: &str) -> bool {
        self.passed.get(example).is_some_and(|d| d == digest)
    }

    pub fn record(&mut self, example: &str, digest: String) {
        self.passed.insert(example.to_owned(), digest);
    }

    pub fn forget(&mut self, example: &str) {
        self.passed.remove(example);
    }
}

/// Digest of the inputs every example shares.
pub fn shared_digest(
    project: &Project,
    features: Option<&str>,
    env: &[(String, String)],
) -> Result<String> {
    let root = project.root();
    let mut h = Sha256::new();
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        ".cargo/config.toml",
        "book.toml",
    ] {
        hash_path(&mut h, root, &root.join(f))?;
    }
    for dir in ["crates", "assets", "xtask/src", "book/theme"] {
        hash_tree(&mut h, root, &root.join(dir))?;
    }
    // The chapters; their images are each example's own input (see `example_digest`).
    let mut chapters: Vec<PathBuf> = walkdir::WalkDir::new(project.book_src())
        .into_iter()
        .filter_entry(|e| e.path() != project.images_dir())
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    chapters.sort();
    for f in chapters {
        hash_path(&mut h, root, &f)?;
    }
    hash_path(&mut h, root, &root.join("xtask/Cargo.toml"))?;
    h.update(format!("features={features:?}\n").as_bytes());
    for (k, v) in env {
        h.update(format!("env {k}={v}\n").as_bytes());
    }
    h.update(native_identity(root).as_bytes());
    Ok(hex(h.finalize().as_slice()))
}

/// What identifies the native libraries and compiler the examples are built and run with.
fn native_identity(root: &Path) -> String {
    let libtorch = std::env::var_os("LIBTORCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::paths::libtorch(root));
    let torch = crate::versions::torch_version(&libtorch).unwrap_or_else(|e| e.to_string());
    let ort = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::paths::onnxruntime_dylib(root));
    let ort_file = fs::metadata(&ort)
        .map(|m| format!("{} bytes, modified {:?}", m.len(), m.modified().ok()))
        .unwrap_or_else(|e| e.to_string());
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("-vV")
            .current_dir(root)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
    format!(
        "libtorch {} {torch}\nonnxruntime {} {ort_file}\n{rustc}",
        libtorch.display(),
        ort.display()
    )
}

/// Digest of one example's inputs on top of the shared digest.
pub fn example_digest(
    project: &Project,
    shared: &str,
    example: &str,
    source: &Path,
) -> Result<String> {
    let root = project.root();
    let mut h = Sha256::new();
    h.update(shared.as_bytes());
    if source.is_dir() {
        hash_tree(&mut h, root, source)?; // a crate example: its manifest and sources
    } else {
        hash_path(&mut h, root, source)?;
    }
    hash_tree(&mut h, root, &project.outputs_dir().join(example))?;
    hash_tree(&mut h, root, &project.images_dir().join(example))?;
    Ok(hex(h.finalize().as_slice()))
}

/// Hashes every file under `dir` (its path from `root`, then its bytes), in path order,
/// skipping `target` folders.
pub(crate) fn hash_tree(h: &mut Sha256, root: &Path, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.file_name() != "target")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    for f in files {
        hash_path(h, root, &f)?;
    }
    Ok(())
}

/// Hashes one file: its path from `root`, then its bytes (`<missing>` if there is none).
pub(crate) fn hash_path(h: &mut Sha256, root: &Path, path: &Path) -> Result<()> {
    h.update(
        path.strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .as_bytes(),
    );
    match fs::read(path) {
        Ok(bytes) => h.update(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.update(b"<missing>"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
