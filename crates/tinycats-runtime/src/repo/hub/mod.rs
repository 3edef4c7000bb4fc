//! Downloads from the Hugging Face Hub (feature `download`): the endpoint's HTTPS policy, the
//! resolve URL and the token; the transfer and the checksum check live beside it.
//!
//! The transfer speaks what the Hub serves and `huggingface_hub` reads: the resolve URL
//! `{endpoint}/{repo_id}/resolve/{revision}/{file}` answers with the commit
//! (`X-Repo-Commit`) and the file's checksum (`X-Linked-Etag` or `ETag`), perhaps with a
//! redirect to a CDN. Both are checked to be hex digits before anything is written, since
//! they name the cache entries: the body streams into a fresh file in `blobs/`, is hashed on
//! the way, renamed to `blobs/<etag>` once it matches, and linked from
//! `snapshots/<commit>/<file>`; `refs/<revision>` records a branch's commit.

#[cfg(feature = "download")]
mod checksum;
#[cfg(feature = "download")]
mod transfer;

use std::path::PathBuf;

#[cfg(feature = "download")]
use url::{Host, Url};

#[cfg(feature = "download")]
use super::{
    ALLOW_HTTP_ENV,
    cache::{cached_commit, hf_cache_dir, inside, is_commit_hash, split_repo_id},
};
use super::{Checksum, HubOptions};
use crate::error::{Result, RuntimeError};
#[cfg(feature = "download")]
use checksum::verify_blob;
#[cfg(feature = "download")]
use transfer::{Client, fetch_blob, link_snapshot, write_ref};

/// Fetches `rel` (resuming an interrupted transfer up to `options.retries` times), checking it
/// against the checksum the Hub announced. A file already in the snapshot is only checked.
#[cfg(feature = "download")]
pub(super) fn download(
    repo_id: &str,
    revision: &str,
    rel: &str,
    options: &HubOptions,
) -> Result<(PathBuf, Checksum)> {
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
    if let Some(pointer) = cached {
        let checksum = verify_blob(&base, &pointer).map_err(failed)?;
        return Ok((pointer, checksum));
    }
    let url = resolve_url(&endpoint, repo_id, revision, rel).map_err(failed)?;
    let client = Client::new(endpoint, options);
    let answer = client.ask(url).map_err(failed)?;
    if is_commit_hash(revision) && !answer.commit.eq_ignore_ascii_case(revision) {
        return Err(failed(format!(
            "the Hub answered commit {} for commit {revision}; refusing it",
            answer.commit
        )));
    }
    // Nothing was written until here: the names below are hex digits and `rel`'s parts.
    let blobs = base.join("blobs");
    let blob = blobs.join(&answer.etag);
    std::fs::create_dir_all(&blobs).map_err(|e| failed(format!("{}: {e}", blobs.display())))?;
    inside(&base, &blobs).map_err(failed)?;
    let known = std::fs::symlink_metadata(&blob).is_ok_and(|m| m.is_file());
    let fetched = if known {
        None
    } else {
        Some(fetch_blob(&client, &blobs, &answer, options.retries).map_err(failed)?)
    };
    let pointer = link_snapshot(&base, &answer.commit, rel, &answer.etag).map_err(failed)?;
    if !is_commit_hash(revision) {
        write_ref(&base, revision, &answer.commit).map_err(failed)?;
    }
    let checksum = match fetched {
        Some(checksum) => checksum,
        None => verify_blob(&base, &pointer).map_err(failed)?,
    };
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
/// (`127.0.0.0/8`, `localhost`, `::1`) or the user opted in.
#[cfg(feature = "download")]
pub(super) fn hub_endpoint(options: &HubOptions) -> Result<Url> {
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "https://huggingface.co".into());
    let endpoint = endpoint.trim_end_matches('/').to_string();
    let parsed = Url::parse(&endpoint).ok();
    if let Some(url) = parsed.filter(|url| url_allowed(url, http_opted_in(options))) {
        return Ok(url);
    }
    Err(RuntimeError::Repo(format!(
        "the Hub endpoint {endpoint:?} is not an https:// address: over plain HTTP anyone on \
         the way can swap the model files (and read your token). Use https://, or for a \
         mirror you trust set {ALLOW_HTTP_ENV}=1 (HubOptions::allow_http); loopback \
         addresses (127.0.0.1, localhost, ::1) need neither"
    )))
}

#[cfg(feature = "download")]
fn http_opted_in(options: &HubOptions) -> bool {
    options.allow_http || std::env::var(ALLOW_HTTP_ENV).is_ok_and(|v| v == "1")
}

/// Whether `url` may be fetched: `https://`, or `http://` to this machine or when opted in.
#[cfg(feature = "download")]
fn url_allowed(url: &Url, http_opted_in: bool) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => http_opted_in || is_loopback(url),
        _ => false,
    }
}

/// Whether `url`'s host is this machine: `localhost`, `127.0.0.0/8` or `::1`.
#[cfg(feature = "download")]
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `{endpoint}/{repo_id}/resolve/{revision}/{rel}`, each part percent-encoded as path
/// segments: the revision is one segment (`refs/pr/1` becomes `refs%2Fpr%2F1`), `rel`'s
/// `/` separate segments.
#[cfg(feature = "download")]
fn resolve_url(
    endpoint: &Url,
    repo_id: &str,
    revision: &str,
    rel: &str,
) -> std::result::Result<Url, String> {
    let mut url = endpoint.clone();
    url.path_segments_mut()
        .map_err(|()| format!("the Hub endpoint {endpoint} cannot hold a path"))?
        .pop_if_empty()
        .extend(repo_id.split('/'))
        .push("resolve")
        .push(revision)
        .extend(rel.split('/'));
    Ok(url)
}

/// The token `huggingface_hub` would send: `HF_TOKEN`, else the file `HF_TOKEN_PATH`, else
/// `token` in `HF_HOME` (default `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`).
#[cfg(feature = "download")]
fn hub_token() -> Option<String> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let trimmed = |t: String| Some(t.trim().to_string()).filter(|t| !t.is_empty());
    if let Some(token) = std::env::var("HF_TOKEN").ok().and_then(trimmed) {
        return Some(token);
    }
    let home = || {
        var("HF_HOME").map(PathBuf::from).or_else(|| {
            var("XDG_CACHE_HOME")
                .map(|x| PathBuf::from(x).join("huggingface"))
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface")))
        })
    };
    let path = var("HF_TOKEN_PATH")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join("token")))?;
    std::fs::read_to_string(path).ok().and_then(trimmed)
}

#[cfg(all(test, feature = "download"))]
mod tests {
    use super::*;

    #[test]
    fn the_resolve_url_encodes_the_revision_as_one_segment() {
        let at = |endpoint: &str, revision: &str, rel: &str| {
            let endpoint = Url::parse(endpoint).unwrap();
            resolve_url(&endpoint, "o/n", revision, rel)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            at("https://huggingface.co", "main", "classifier/model.onnx"),
            "https://huggingface.co/o/n/resolve/main/classifier/model.onnx"
        );
        assert_eq!(
            at("https://hub.example/mirror/", "refs/pr/1", "a b/c#d.onnx"),
            "https://hub.example/mirror/o/n/resolve/refs%2Fpr%2F1/a%20b/c%23d.onnx"
        );
    }

    #[test]
    fn only_https_or_this_machine_is_allowed() {
        let allowed = |url: &str| url_allowed(&Url::parse(url).unwrap(), false);
        for ok in [
            "https://hub.example",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://LocalHost:8080",
            "http://[::1]:8080",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for bad in [
            "http://hub.example",
            "http://127.0.0.1@evil.example",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
        ] {
            assert!(!allowed(bad), "{bad}");
        }
        assert!(url_allowed(
            &Url::parse("http://hub.example").unwrap(),
            true
        ));
    }
}
