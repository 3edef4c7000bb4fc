//! Model repositories in the Hugging Face layout:
//! `classifier/model.onnx`, `generator/model.onnx`, `*/model.safetensors`, `*/config.json`,
//! found in (1) a local folder such as `assets/`, (2) the Hugging Face cache
//! (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`:
//! `models--OWNER--NAME/snapshots/REV/…`), or (3) downloaded with `hf-hub` when the user
//! asks for it (cargo feature `download`).

use std::path::{Path, PathBuf};

use crate::error::{Result, RuntimeError};

pub const CLASSIFIER_ONNX: &str = "classifier/model.onnx";
pub const GENERATOR_ONNX: &str = "generator/model.onnx";
/// The generator's int8-dynamic graph (`tinycats export onnx --quantize int8-dynamic`).
pub const GENERATOR_INT8_ONNX: &str = "generator/model_int8.onnx";
pub const CLASSIFIER_DIR: &str = "classifier";
pub const GENERATOR_DIR: &str = "generator";

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
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            download: false,
            endpoint: None,
            cache_dir: None,
            retries: 3,
        }
    }
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
        let commit = if is_commit_hash(revision) {
            revision.to_string()
        } else {
            let r = base.join("refs").join(revision);
            let content = std::fs::read_to_string(&r).map_err(|_| {
                RuntimeError::Repo(format!(
                    "{repo_id}: revision {revision:?} is not in the cache ({} missing)",
                    r.display()
                ))
            })?;
            let commit = content.trim();
            // The ref names the snapshot folder: anything but a commit hash could point
            // outside the cache.
            if !is_commit_hash(commit) {
                return Err(RuntimeError::Repo(format!(
                    "{}: a ref file must hold a 40-digit commit hash, not {:?}; delete it and \
                     download {repo_id} again",
                    r.display(),
                    commit.chars().take(60).collect::<String>()
                )));
            }
            commit.to_string()
        };
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

    /// The local path of the repository file `rel` (e.g. [`CLASSIFIER_ONNX`]).
    pub fn file(&self, rel: &str) -> Result<PathBuf> {
        let inside = !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            return Err(RuntimeError::Repo(format!(
                "{rel:?} is not a file path inside a repository (no `..`, no leading `/`)"
            )));
        }
        let path = match &self.origin {
            Origin::Local(root) => root.join(rel),
            Origin::HfCache { snapshot, .. } => snapshot.join(rel),
            Origin::Hub { repo_id, revision } => {
                return download(repo_id, revision, rel, &self.hub);
            }
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(RuntimeError::MissingFile {
                what: "model repository file",
                path,
            })
        }
    }
}

/// Fetches `rel` through `hf-hub` (resuming an interrupted transfer up to
/// `options.retries` times), then checks the file against the checksum the Hub announced.
#[cfg(feature = "download")]
fn download(repo_id: &str, revision: &str, rel: &str, options: &HubOptions) -> Result<PathBuf> {
    use hf_hub::{Repo, RepoType, api::sync::ApiBuilder};
    let mut builder = ApiBuilder::from_env()
        .with_progress(false)
        .with_retries(options.retries);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    if let Some(cache) = options.cache_dir.clone().or_else(hf_cache_dir) {
        builder = builder.with_cache_dir(cache);
    }
    let api = builder
        .build()
        .map_err(|e| RuntimeError::Repo(format!("Hugging Face Hub client: {e}")))?;
    let path = api
        .repo(Repo::with_revision(
            repo_id.to_string(),
            RepoType::Model,
            revision.to_string(),
        ))
        .get(rel)
        .map_err(|e| {
            RuntimeError::Repo(format!(
                "downloading {rel} from {repo_id}@{revision}: {e} (run the command again to \
                 resume; the part already downloaded is kept in the cache)"
            ))
        })?;
    verify_blob(&path).map_err(|problem| {
        RuntimeError::Repo(format!(
            "downloading {rel} from {repo_id}@{revision}: {problem}; the file was deleted from \
             the cache, run the command again to download it anew"
        ))
    })?;
    Ok(path)
}

#[cfg(not(feature = "download"))]
fn download(repo_id: &str, _revision: &str, _rel: &str, _options: &HubOptions) -> Result<PathBuf> {
    Err(RuntimeError::Repo(format!(
        "{repo_id}: downloads need the `download` feature"
    )))
}

/// Checks a cached file against the name of the blob it points to, which is the checksum
/// the Hub announced (its ETag): SHA-256 of the content for LFS files (64 hex digits), git's
/// blob SHA-1 (`sha1("blob <len>\0" + content)`, 40 hex digits) for small ones. A mismatch — a
/// truncated, overlong or corrupted transfer — deletes the blob and its snapshot link.
/// Files that are not links into `blobs/` (a cache written by copying) are not checked.
#[cfg(feature = "download")]
fn verify_blob(pointer: &Path) -> std::result::Result<(), String> {
    use sha1::Digest;
    let Ok(target) = std::fs::read_link(pointer) else {
        return Ok(());
    };
    let blob = pointer.parent().unwrap_or(Path::new(".")).join(target);
    let etag = blob
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let content = std::fs::read(&blob).map_err(|e| format!("{}: {e}", blob.display()))?;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let actual = match etag.len() {
        64 => hex(&sha2::Sha256::digest(&content)),
        40 => {
            let mut h = sha1::Sha1::new();
            h.update(format!("blob {}\0", content.len()).as_bytes());
            h.update(&content);
            hex(&h.finalize())
        }
        _ => return Ok(()),
    };
    if actual == etag {
        return Ok(());
    }
    let _ = std::fs::remove_file(pointer);
    let _ = std::fs::remove_file(&blob);
    Err(format!(
        "the downloaded file ({} bytes) does not match the checksum the Hub announced \
         ({etag}; got {actual})",
        content.len()
    ))
}

/// `OWNER/NAME`, each part as the Hub allows it: ASCII letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit, no `--` or `..`, at most 96 characters.
fn split_repo_id(repo_id: &str) -> Result<(&str, &str)> {
    let part_ok = |p: &str| {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        !p.is_empty()
            && p.len() <= 96
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && edge(p.chars().next())
            && edge(p.chars().next_back())
            && !p.contains("--")
            && !p.contains("..")
    };
    match repo_id.split_once('/') {
        Some((o, n)) if part_ok(o) && part_ok(n) => Ok((o, n)),
        _ => Err(RuntimeError::Repo(format!(
            "{repo_id:?} is neither an existing folder nor a Hugging Face repo id OWNER/NAME \
             (letters, digits, `-`, `_`, `.`)"
        ))),
    }
}

fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A branch, tag or commit: what git allows in a ref name that stays inside `refs/`.
fn check_revision(revision: &str) -> Result<()> {
    let ok = !revision.is_empty()
        && revision.len() <= 255
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !revision.starts_with(['/', '-', '.'])
        && !revision.ends_with('/')
        && !revision.contains("..")
        && !revision.contains("//");
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::Repo(format!(
            "revision {revision:?} is not a branch, tag or commit name (letters, digits, `-`, \
             `_`, `.`, `/`; no `..`)"
        )))
    }
}

/// The Hugging Face hub cache folder from the environment.
pub fn hf_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    hf_cache_dir_from(
        var("HF_HUB_CACHE"),
        var("HF_HOME"),
        var("XDG_CACHE_HOME"),
        var("HOME"),
    )
}

/// The rule huggingface_hub uses: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn hf_cache_dir_from(
    hf_hub_cache: Option<PathBuf>,
    hf_home: Option<PathBuf>,
    xdg_cache_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    hf_hub_cache
        .or_else(|| hf_home.map(|h| h.join("hub")))
        .or_else(|| xdg_cache_home.map(|x| x.join("huggingface").join("hub")))
        .or_else(|| home.map(|h| h.join(".cache").join("huggingface").join("hub")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
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
    fn hf_cache_snapshot_via_ref_and_via_hash() {
        let cache = tempfile::tempdir().unwrap();
        let hash = "0123456789abcdef0123456789abcdef01234567";
        let base = cache.path().join("models--tinycats--tinycats");
        touch(&base.join("snapshots").join(hash).join(GENERATOR_ONNX));
        std::fs::create_dir_all(base.join("refs")).unwrap();
        std::fs::write(base.join("refs/main"), format!("{hash}\n")).unwrap();

        let by_ref = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", "main").unwrap();
        let by_hash = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", hash).unwrap();
        let want = base.join("snapshots").join(hash).join(GENERATOR_ONNX);
        assert_eq!(by_ref.file(GENERATOR_ONNX).unwrap(), want);
        assert_eq!(by_hash.file(GENERATOR_ONNX).unwrap(), want);

        let missing = ModelRepo::from_hf_cache(cache.path(), "tinycats/other", "main");
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("not in the Hugging Face cache")
        );
        let bad_rev = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", "v2");
        assert!(bad_rev.unwrap_err().to_string().contains("revision \"v2\""));
    }

    #[test]
    fn cache_dir_follows_hf_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            hf_cache_dir_from(p("/c"), p("/h"), p("/x"), p("/home")),
            p("/c")
        );
        assert_eq!(
            hf_cache_dir_from(None, p("/h"), p("/x"), p("/home")),
            p("/h/hub")
        );
        assert_eq!(
            hf_cache_dir_from(None, None, p("/x"), p("/home")),
            p("/x/huggingface/hub")
        );
        assert_eq!(
            hf_cache_dir_from(None, None, None, p("/home")),
            p("/home/.cache/huggingface/hub")
        );
    }

    #[test]
    fn names_that_could_leave_the_cache_are_refused() {
        let cache = tempfile::tempdir().unwrap();
        let base = cache.path().join("models--tinycats--cats");
        let hash = "0123456789abcdef0123456789abcdef01234567";
        touch(&base.join("snapshots").join(hash).join(GENERATOR_ONNX));
        std::fs::create_dir_all(base.join("refs")).unwrap();
        for (id, rev) in [
            ("../etc/x", "main"),
            ("tinycats/..", "main"),
            ("tinycats/cats--x", "main"),
            ("tinycats/-cats", "main"),
            ("tinycats/cats", "../../../etc"),
            ("tinycats/cats", "/etc/passwd"),
            ("tinycats/cats", ""),
        ] {
            let err = ModelRepo::from_hf_cache(cache.path(), id, rev)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("repo id") || err.contains("revision"),
                "{id}@{rev}: {err}"
            );
        }
        // A ref file is read as a commit hash, never as a path.
        std::fs::write(base.join("refs/evil"), "../../../../tmp\n").unwrap();
        let err = ModelRepo::from_hf_cache(cache.path(), "tinycats/cats", "evil")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must hold a 40-digit commit hash"), "{err}");
        // Files are looked up inside the snapshot only.
        let repo = ModelRepo::from_hf_cache(cache.path(), "tinycats/cats", hash).unwrap();
        assert!(repo.file(GENERATOR_ONNX).is_ok());
        for rel in ["../../../x", "/etc/passwd", ""] {
            let err = repo.file(rel).unwrap_err().to_string();
            assert!(
                err.contains("not a file path inside a repository"),
                "{rel}: {err}"
            );
        }
        // Hub names that are fine.
        assert!(split_repo_id("my-org/tiny.cats_v2").is_ok());
        assert!(check_revision("refs/pr/1").is_ok());
    }

    #[test]
    fn spec_that_is_neither_folder_nor_repo_id_is_an_error() {
        let err = ModelRepo::resolve("no/such/thing", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("neither an existing folder"), "{err}");
    }
}
