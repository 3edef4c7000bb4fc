//! Model repositories in the Hugging Face layout:
//! `classifier/model.onnx`, `generator/model.onnx`, `*/model.safetensors`, `*/config.json`,
//! found in (1) a local folder such as `assets/`, (2) the Hugging Face cache
//! (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`:
//! `models--OWNER--NAME/snapshots/REV/…`), or (3) downloaded from the Hub when the user
//! asks for it (cargo feature `download`).
//!
//! A cache folder is not trusted: a ref must hold a commit hash, and every file, once its
//! links are followed, must lie inside its repository's cache folder
//! (`models--OWNER--NAME`). Downloads need HTTPS except on loopback or with
//! [`ALLOW_HTTP_ENV`], and are checked against the checksum the Hub announces
//! ([`Checksum`]).

mod cache;
mod hub;

use std::path::{Path, PathBuf};

use crate::error::{Result, RuntimeError};
use cache::{cached_commit, check_revision, inside, split_repo_id};
pub use cache::{hf_cache_dir, hf_cache_dir_from};

pub const CLASSIFIER_ONNX: &str = "classifier/model.onnx";
pub const GENERATOR_ONNX: &str = "generator/model.onnx";
/// The generator's int8-dynamic graph (`tinycats export onnx --quantize int8-dynamic`).
pub const GENERATOR_INT8_ONNX: &str = "generator/model_int8.onnx";
pub const CLASSIFIER_DIR: &str = "classifier";
pub const GENERATOR_DIR: &str = "generator";
/// Set to `1` to download from a plain-HTTP endpoint that is not on this machine.
pub const ALLOW_HTTP_ENV: &str = "TINYCATS_ALLOW_HTTP";

/// Where a repository's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A folder on disk in the repository layout.
    Local(PathBuf),
    /// A snapshot folder in the Hugging Face cache.
    HfCache { repo_id: String, snapshot: PathBuf },
    /// Fetched file by file from the Hub (feature `download`).
    Hub { repo_id: String, revision: String },
}

/// Where [`ModelRepo::resolve_with`] looks for a repository and whether it may download it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOptions {
    /// Download what the cache lacks (needs the `download` feature).
    pub download: bool,
    /// The Hub's address; `None`: `HF_ENDPOINT`, else `https://huggingface.co`.
    pub endpoint: Option<String>,
    /// The cache folder (the `hub` folder itself); `None`: [`hf_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// How often an interrupted transfer is resumed where it stopped before giving up.
    pub retries: usize,
    /// Accept an `http://` endpoint that is not loopback (as [`ALLOW_HTTP_ENV`]`=1` does).
    pub allow_http: bool,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            download: false,
            endpoint: None,
            cache_dir: None,
            retries: 3,
            allow_http: false,
        }
    }
}

/// What a file was checked against before [`ModelRepo::checked_file`] returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// The SHA-256 of the content (hex), as the Hub announces for LFS files.
    Sha256(String),
    /// Git's blob SHA-1 (hex), as the Hub announces for small files.
    GitSha1(String),
    /// Not checked, and why: a local folder, the cache, or a Hub answer without a checksum.
    Unchecked(String),
}

/// A resolved model repository.
#[derive(Debug, Clone)]
pub struct ModelRepo {
    origin: Origin,
    /// How Hub files are fetched (used only when `origin` is [`Origin::Hub`]).
    hub: HubOptions,
}

impl ModelRepo {
    /// A local folder in the repository layout (e.g. `assets/`).
    pub fn local(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(RuntimeError::MissingFile {
                what: "model repository folder",
                path: dir.to_path_buf(),
            });
        }
        Ok(Self {
            origin: Origin::Local(dir.to_path_buf()),
            hub: HubOptions::default(),
        })
    }

    /// `repo_id` (`OWNER/NAME`) at `revision` (a branch, tag or commit hash) in the cache
    /// folder `cache` (the `hub` folder itself).
    pub fn from_hf_cache(cache: &Path, repo_id: &str, revision: &str) -> Result<Self> {
        let (owner, name) = split_repo_id(repo_id)?;
        let base = cache.join(format!("models--{owner}--{name}"));
        if !base.is_dir() {
            return Err(RuntimeError::Repo(format!(
                "{repo_id} is not in the Hugging Face cache ({} does not exist); download it \
                 with `--download` or `huggingface-cli download {repo_id}`",
                base.display()
            )));
        }
        check_revision(revision)?;
        let commit = cached_commit(&base, revision)
            .map_err(RuntimeError::Repo)?
            .ok_or_else(|| {
                RuntimeError::Repo(format!(
                    "{repo_id}: revision {revision:?} is not in the cache ({} missing)",
                    base.join("refs").join(revision).display()
                ))
            })?;
        let snapshot = base.join("snapshots").join(&commit);
        if !snapshot.is_dir() {
            return Err(RuntimeError::Repo(format!(
                "{repo_id}: snapshot {} is missing from the cache",
                snapshot.display()
            )));
        }
        Ok(Self {
            origin: Origin::HfCache {
                repo_id: repo_id.to_string(),
                snapshot,
            },
            hub: HubOptions::default(),
        })
    }

    /// Resolves `spec`: an existing folder, else `OWNER/NAME[@REVISION]` in the Hugging Face
    /// cache, else (only when `download` is true and the `download` feature is built) the Hub.
    pub fn resolve(spec: &str, download: bool) -> Result<Self> {
        Self::resolve_with(
            spec,
            &HubOptions {
                download,
                ..HubOptions::default()
            },
        )
    }

    /// [`ModelRepo::resolve`] with an explicit endpoint, cache folder and retry count.
    pub fn resolve_with(spec: &str, options: &HubOptions) -> Result<Self> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Self::local(path);
        }
        let (repo_id, revision) = spec.split_once('@').unwrap_or((spec, "main"));
        split_repo_id(repo_id)?;
        check_revision(revision)?;
        let cached = match options.cache_dir.clone().or_else(hf_cache_dir) {
            Some(cache) => Self::from_hf_cache(&cache, repo_id, revision),
            None => Err(RuntimeError::Repo(
                "no Hugging Face cache folder (HOME unset)".into(),
            )),
        };
        match cached {
            Ok(repo) => Ok(repo),
            Err(_) if options.download => Self::hub(repo_id, revision, options),
            Err(e) => Err(e),
        }
    }

    #[cfg(feature = "download")]
    fn hub(repo_id: &str, revision: &str, options: &HubOptions) -> Result<Self> {
        hub::hub_endpoint(options)?;
        Ok(Self {
            origin: Origin::Hub {
                repo_id: repo_id.to_string(),
                revision: revision.to_string(),
            },
            hub: options.clone(),
        })
    }

    #[cfg(not(feature = "download"))]
    fn hub(repo_id: &str, _revision: &str, _options: &HubOptions) -> Result<Self> {
        Err(RuntimeError::Repo(format!(
            "{repo_id} is not cached and this build cannot download: rebuild with the \
             `download` feature (tinycats-runtime/download)"
        )))
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The local path of the repository file `rel` (e.g. [`CLASSIFIER_ONNX`]). A downloaded
    /// file that could not be checked against a checksum is served with a warning on stderr.
    pub fn file(&self, rel: &str) -> Result<PathBuf> {
        let (path, checksum) = self.checked_file(rel)?;
        if let (Origin::Hub { .. }, Checksum::Unchecked(why)) = (&self.origin, &checksum) {
            eprintln!(
                "warning: {} was not checked against a checksum: {why}",
                path.display()
            );
        }
        Ok(path)
    }

    /// [`ModelRepo::file`] and what the file was checked against.
    pub fn checked_file(&self, rel: &str) -> Result<(PathBuf, Checksum)> {
        let inside_repo = !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside_repo {
            return Err(RuntimeError::Repo(format!(
                "{rel:?} is not a file path inside a repository (no `..`, no leading `/`)"
            )));
        }
        let (path, checksum) = match &self.origin {
            Origin::Local(root) => (root.join(rel), "read from a local folder"),
            Origin::HfCache { snapshot, .. } => {
                (snapshot.join(rel), "read from the cache, not hashed again")
            }
            Origin::Hub { repo_id, revision } => {
                return hub::download(repo_id, revision, rel, &self.hub);
            }
        };
        if !path.is_file() {
            return Err(RuntimeError::missing("model repository file", &path));
        }
        if let Origin::HfCache { snapshot, .. } = &self.origin {
            // `snapshots/COMMIT/` lies two levels below `models--OWNER--NAME`.
            let base = snapshot.ancestors().nth(2).unwrap_or(snapshot);
            inside(base, &path).map_err(RuntimeError::Repo)?;
        }
        Ok((path, Checksum::Unchecked(checksum.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn local_folder_resolves_files_and_names_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join(CLASSIFIER_ONNX));
        let repo = ModelRepo::resolve(dir.path().to_str().unwrap(), false).unwrap();
        assert_eq!(
            repo.file(CLASSIFIER_ONNX).unwrap(),
            dir.path().join(CLASSIFIER_ONNX)
        );
        let err = repo.file(GENERATOR_ONNX).unwrap_err().to_string();
        assert!(err.contains("generator/model.onnx"), "{err}");
    }

    #[test]
    fn spec_that_is_neither_folder_nor_repo_id_is_an_error() {
        let err = ModelRepo::resolve("no/such/thing", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("neither an existing folder"), "{err}");
    }
}
