//! Model repositories in the Hugging Face layout:
//! `classifier/model.onnx`, `generator/model.onnx`, `*/model.safetensors`, `*/config.json`,
//! found in (1) a local folder such as `assets/`, (2) the Hugging Face cache
//! (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`:
//! `models--OWNER--NAME/snapshots/REV/…`), or (3) downloaded with `hf-hub` when the user
//! asks for it (cargo feature `download`).
//!
//! A cache folder is not trusted: a ref must hold a commit hash, and every file, once its
//! links are followed, must lie inside its repository's cache folder
//! (`models--OWNER--NAME`). Downloads need HTTPS except on loopback or with
//! [`ALLOW_HTTP_ENV`], and are checked against the checksum the Hub announces
//! ([`Checksum`]).

use std::path::{Path, PathBuf};

use crate::error::{Result, RuntimeError};

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
        hub_endpoint(options)?;
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
                return download(repo_id, revision, rel, &self.hub);
            }
        };
        if !path.is_file() {
            return Err(RuntimeError::MissingFile {
                what: "model repository file",
                path,
            });
        }
        if let Origin::HfCache { snapshot, .. } = &self.origin {
            // `snapshots/COMMIT/` lies two levels below `models--OWNER--NAME`.
            let base = snapshot.ancestors().nth(2).unwrap_or(snapshot);
            inside(base, &path).map_err(RuntimeError::Repo)?;
        }
        Ok((path, Checksum::Unchecked(checksum.into())))
    }
}

/// Fetches `rel` through `hf-hub` (resuming an interrupted transfer up to
/// `options.retries` times), then checks the file against the checksum the Hub announced.
/// A file already in the snapshot is looked up here, not by `hf-hub`, whose lookup follows
/// `refs/<revision>` as a path without checking it.
#[cfg(feature = "download")]
fn download(
    repo_id: &str,
    revision: &str,
    rel: &str,
    options: &HubOptions,
) -> Result<(PathBuf, Checksum)> {
    use hf_hub::{Repo, RepoType, api::sync::ApiBuilder};
    let endpoint = hub_endpoint(options)?;
    let Some(cache) = options.cache_dir.clone().or_else(hf_cache_dir) else {
        return Err(RuntimeError::Repo(
            "no Hugging Face cache folder (HOME unset); set HF_HUB_CACHE".into(),
        ));
    };
    let (owner, name) = split_repo_id(repo_id)?;
    let base = cache.join(format!("models--{owner}--{name}"));
    let failed =
        |problem: String| RuntimeError::Repo(format!("{rel} from {repo_id}@{revision}: {problem}"));
    let cached = cached_commit(&base, revision)
        .map_err(failed)?
        .map(|commit| base.join("snapshots").join(commit).join(rel))
        .filter(|pointer| pointer.exists());
    let pointer = match cached {
        Some(pointer) => pointer,
        None => {
            let api = ApiBuilder::from_env()
                .with_progress(false)
                .with_retries(options.retries)
                .with_endpoint(endpoint)
                .with_cache_dir(cache)
                .build()
                .map_err(|e| RuntimeError::Repo(format!("Hugging Face Hub client: {e}")))?;
            let repo = api.repo(Repo::with_revision(
                repo_id.into(),
                RepoType::Model,
                revision.into(),
            ));
            // hf-hub asserts that the snapshot link it made resolves; a commit that names
            // another folder breaks that, and is the Hub's bad answer, not our bug.
            let stopped = "hf-hub stopped on the Hub's answer (its commit or ETag is a path, \
                           not a checksum); refusing it";
            let answer =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| repo.download(rel)))
                    .map_err(|_| failed(stopped.into()))?;
            let pointer = answer.map_err(|e| {
                RuntimeError::Repo(format!(
                    "downloading {rel} from {repo_id}@{revision}: {e} (run the command again \
                     to resume; the part already downloaded is kept in the cache)"
                ))
            })?;
            // hf-hub names the snapshot after the commit the server announced.
            if !in_snapshot(&base, &pointer, rel) {
                return Err(failed(format!(
                    "the Hub's answer put the file at {}, not in a snapshot folder \
                     {}/snapshots/<40-digit commit>/; refusing it",
                    pointer.display(),
                    base.display()
                )));
            }
            pointer
        }
    };
    let checksum = verify_blob(&base, &pointer).map_err(failed)?;
    Ok((pointer, checksum))
}

#[cfg(not(feature = "download"))]
fn download(
    repo_id: &str,
    _revision: &str,
    _rel: &str,
    _options: &HubOptions,
) -> Result<(PathBuf, Checksum)> {
    Err(RuntimeError::Repo(format!(
        "{repo_id}: downloads need the `download` feature"
    )))
}

/// The Hub's address: [`HubOptions::endpoint`], else `HF_ENDPOINT`, else
/// `https://huggingface.co`. Plain HTTP is refused unless the host is this machine
/// (`127.0.0.1`, `localhost`, `::1`) or the user opted in.
#[cfg(feature = "download")]
fn hub_endpoint(options: &HubOptions) -> Result<String> {
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "https://huggingface.co".into());
    let endpoint = endpoint.trim_end_matches('/').to_string();
    let after = |scheme: &str| {
        endpoint
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &endpoint[scheme.len()..])
    };
    if after("https://").is_some_and(|rest| !rest.is_empty()) {
        return Ok(endpoint);
    }
    let opted_in = options.allow_http || std::env::var(ALLOW_HTTP_ENV).is_ok_and(|v| v == "1");
    if after("http://").is_some_and(|rest| opted_in || is_loopback(rest)) {
        return Ok(endpoint);
    }
    Err(RuntimeError::Repo(format!(
        "the Hub endpoint {endpoint:?} is not an https:// address: over plain HTTP anyone on \
         the way can swap the model files (and read your token). Use https://, or for a \
         mirror you trust set {ALLOW_HTTP_ENV}=1 (HubOptions::allow_http); loopback \
         addresses (127.0.0.1, localhost, ::1) need neither"
    )))
}

/// Whether the URL part after `http://` names this machine.
#[cfg(feature = "download")]
fn is_loopback(authority_and_path: &str) -> bool {
    let authority = authority_and_path
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next(),
        None => host_port.split(':').next(),
    }
    .unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `pointer` is `base/snapshots/<commit hash>/<rel>`: huggingface_hub refuses any
/// pointer path that leaves `snapshots/`.
#[cfg(feature = "download")]
fn in_snapshot(base: &Path, pointer: &Path, rel: &str) -> bool {
    let Ok(sub) = pointer.strip_prefix(base.join("snapshots")) else {
        return false;
    };
    let mut parts = sub.components();
    let commit = parts.next().and_then(|c| c.as_os_str().to_str());
    commit.is_some_and(is_commit_hash) && parts.as_path() == Path::new(rel)
}

/// Checks a cached file against the name of the blob it links to, which is the checksum
/// the Hub announced (its ETag): SHA-256 of the content for LFS files (64 hex digits), git's
/// blob SHA-1 (`sha1("blob <len>\0" + content)`, 40 hex digits) for small ones. A mismatch —
/// a truncated, overlong or corrupted transfer — deletes the blob and its snapshot link. A
/// link that leaves the repository's cache folder is refused before anything is read. Any
/// other ETag, or a file that is not a link into `blobs/` (a cache written by copying),
/// comes back as [`Checksum::Unchecked`].
#[cfg(feature = "download")]
fn verify_blob(base: &Path, pointer: &Path) -> std::result::Result<Checksum, String> {
    use sha1::Digest;
    let blob = inside(base, pointer)?;
    let blobs = base
        .join("blobs")
        .canonicalize()
        .unwrap_or_else(|_| base.join("blobs"));
    if !blob.starts_with(&blobs) {
        return Ok(Checksum::Unchecked(format!(
            "it is not a link into {}, so the Hub's checksum is not known",
            blobs.display()
        )));
    }
    let etag = blob
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let hex_of = |n: usize| etag.len() == n && etag.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_of(64) && !hex_of(40) {
        return Ok(Checksum::Unchecked(format!(
            "the Hub's ETag {etag:?} is neither a SHA-256 (64 hex digits) nor a git SHA-1 \
             (40 hex digits)"
        )));
    }
    let read = |e: std::io::Error| format!("{}: {e}", blob.display());
    let len = std::fs::metadata(&blob).map_err(read)?.len();
    let mut file = std::fs::File::open(&blob).map_err(read)?;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (actual, checksum) = if etag.len() == 64 {
        let mut h = sha2::Sha256::new();
        std::io::copy(&mut file, &mut h).map_err(read)?;
        (hex(&h.finalize()), Checksum::Sha256(etag.clone()))
    } else {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {len}\0").as_bytes());
        std::io::copy(&mut file, &mut h).map_err(read)?;
        (hex(&h.finalize()), Checksum::GitSha1(etag.clone()))
    };
    if actual == etag {
        return Ok(checksum);
    }
    let _ = std::fs::remove_file(pointer);
    let _ = std::fs::remove_file(&blob);
    Err(format!(
        "the downloaded file ({len} bytes) does not match the checksum the Hub announced \
         ({etag}; got {actual}); the file was deleted from the cache, run the command again \
         to download it anew"
    ))
}

/// The commit `revision` names in the repository cache folder `base`
/// (`models--OWNER--NAME`): the revision itself when it is a commit hash, else what
/// `refs/<revision>` holds, which must be a commit hash, since it names a folder. `None`:
/// no such ref.
fn cached_commit(base: &Path, revision: &str) -> std::result::Result<Option<String>, String> {
    use std::io::Read;
    if is_commit_hash(revision) {
        return Ok(Some(revision.to_string()));
    }
    let r = base.join("refs").join(revision);
    if !r.exists() {
        return Ok(None);
    }
    let mut content = String::new();
    std::fs::File::open(inside(base, &r)?)
        .and_then(|f| f.take(256).read_to_string(&mut content))
        .map_err(|e| format!("{}: {e}", r.display()))?;
    let commit = content.trim();
    if !is_commit_hash(commit) {
        return Err(format!(
            "{}: a ref file must hold a 40-digit commit hash, not {:?}; delete it and \
             download the repository again",
            r.display(),
            commit.chars().take(60).collect::<String>()
        ));
    }
    Ok(Some(commit.to_string()))
}

/// `path` with its links followed, if that lies inside the repository cache folder `base`:
/// a snapshot file links to `../../blobs/…`, and a planted link that leads elsewhere must not
/// make us read, hash or delete what it points at.
fn inside(base: &Path, path: &Path) -> std::result::Result<PathBuf, String> {
    let canonical = |p: &Path| {
        p.canonicalize()
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (root, target) = (canonical(base)?, canonical(path)?);
    if target.starts_with(&root) {
        Ok(target)
    } else {
        Err(format!(
            "{} leads to {}, outside the repository's cache folder {}; delete it and \
             download the repository again",
            path.display(),
            target.display(),
            root.display()
        ))
    }
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
