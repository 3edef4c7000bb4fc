//! Downloads from the Hugging Face Hub (feature `download`): the endpoint's HTTPS policy,
//! the transfer through `hf-hub`, and the checksum check of what arrived.

#[cfg(feature = "download")]
use std::path::Path;
use std::path::PathBuf;

#[cfg(feature = "download")]
use super::{
    ALLOW_HTTP_ENV,
    cache::{cached_commit, hf_cache_dir, inside, is_commit_hash, split_repo_id},
};
use super::{Checksum, HubOptions};
use crate::error::{Result, RuntimeError};

/// Fetches `rel` through `hf-hub` (resuming an interrupted transfer up to
/// `options.retries` times), then checks the file against the checksum the Hub announced.
/// A file already in the snapshot is looked up here, not by `hf-hub`, whose lookup follows
/// `refs/<revision>` as a path without checking it.
#[cfg(feature = "download")]
pub(super) fn download(
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
pub(super) fn download(
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
pub(super) fn hub_endpoint(options: &HubOptions) -> Result<String> {
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
