//! Skips an example whose inputs are unchanged since its last passing run.
//!
//! Inputs: the example's source, every file of the project's crates, the workspace
//! manifests and `Cargo.lock`, `.cargo/config.toml`, `assets/`, and the committed outputs the
//! run is compared with (its snapshots and images).

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
        let path = Self::path(project);
        fs::create_dir_all(path.parent().unwrap())?;
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        fs::rename(tmp, path)?;
        Ok(())
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
pub fn shared_digest(project: &Project) -> Result<String> {
    let root = project.root();
    let mut h = Sha256::new();
    for f in ["Cargo.toml", "Cargo.lock", "build.rs", ".cargo/config.toml"] {
        hash_path(&mut h, root, &root.join(f))?;
    }
    for dir in ["crates", "assets"] {
        hash_tree(&mut h, root, &root.join(dir))?;
    }
    Ok(hex(h.finalize().as_slice()))
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
    hash_path(&mut h, root, source)?;
    hash_tree(&mut h, root, &project.outputs_dir().join(example))?;
    hash_tree(&mut h, root, &project.images_dir().join(example))?;
    Ok(hex(h.finalize().as_slice()))
}

fn hash_tree(h: &mut Sha256, root: &Path, dir: &Path) -> Result<()> {
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

fn hash_path(h: &mut Sha256, root: &Path, path: &Path) -> Result<()> {
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
