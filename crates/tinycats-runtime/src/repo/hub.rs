//! Downloads from the Hugging Face Hub (feature `download`): the endpoint's HTTPS policy, the
//! transfer, and the checksum check of what arrived.
//!
//! The transfer speaks what the Hub serves and `huggingface_hub` reads: the resolve URL
//! `{endpoint}/{repo_id}/resolve/{revision}/{file}` answers with the commit
//! (`X-Repo-Commit`) and the file's checksum (`X-Linked-Etag` or `ETag`), perhaps with a
//! redirect to a CDN. Both are checked to be hex digits before anything is written, since
//! they name the cache entries: the body streams into a fresh file in `blobs/`, is hashed on
//! the way, renamed to `blobs/<etag>` once it matches, and linked from
//! `snapshots/<commit>/<file>`; `refs/<revision>` records a branch's commit.

#[cfg(feature = "download")]
use std::io::{Read, Seek, Write};
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

/// Redirects followed before giving up.
#[cfg(feature = "download")]
const MAX_REDIRECTS: usize = 10;

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
    let client = Client::new(endpoint, options);
    let url = format!(
        "{}/{repo_id}/resolve/{}/{}",
        client.endpoint,
        url_encode(revision, false),
        url_encode(rel, true)
    );
    let answer = client.ask(&url).map_err(failed)?;
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
/// (`127.0.0.1`, `localhost`, `::1`) or the user opted in.
#[cfg(feature = "download")]
pub(super) fn hub_endpoint(options: &HubOptions) -> Result<String> {
    let endpoint = options
        .endpoint
        .clone()
        .or_else(|| std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()))
        .unwrap_or_else(|| "https://huggingface.co".into());
    let endpoint = endpoint.trim_end_matches('/').to_string();
    if url_allowed(&endpoint, http_opted_in(options)) {
        return Ok(endpoint);
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
fn url_allowed(url: &str, http_opted_in: bool) -> bool {
    let after = |scheme: &str| {
        url.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &url[scheme.len()..])
    };
    after("https://").is_some_and(|rest| !rest.is_empty())
        || after("http://").is_some_and(|rest| http_opted_in || is_loopback(rest))
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

/// `scheme://authority` of `url`, lowercased.
#[cfg(feature = "download")]
fn origin(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    url[..end].to_ascii_lowercase()
}

/// `location` (a redirect's target) read against the URL that answered with it.
#[cfg(feature = "download")]
fn join_url(base: &str, location: &str) -> String {
    let has_scheme = location.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
    });
    if has_scheme {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.split_once("://").map_or("https", |(s, _)| s);
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let path = base.split(['?', '#']).next().unwrap_or(base);
        let dir = path.rfind('/').map_or(path, |i| &path[..=i]);
        format!("{dir}{location}")
    }
}

/// `part` with every byte outside `A-Z a-z 0-9 - . _ ~` (and `/` when `keep_slash`)
/// percent-encoded, as a URL path segment.
#[cfg(feature = "download")]
fn url_encode(part: &str, keep_slash: bool) -> String {
    part.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b'/' if keep_slash => "/".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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

/// Why a request failed: worth resuming (the connection), or not (the answer).
#[cfg(feature = "download")]
enum Failure {
    Interrupted(String),
    Refused(String),
}

#[cfg(feature = "download")]
impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Interrupted(e) | Failure::Refused(e) => e,
        }
    }
}

/// The Hub's answer to a resolve URL, checked.
#[cfg(feature = "download")]
struct Answer {
    /// The commit the revision names (40 hex digits).
    commit: String,
    /// The checksum the Hub announces, lowercase hex digits: the blob's name.
    etag: String,
    /// Where the body is served (the resolve URL, or the CDN it redirects to).
    body_url: String,
}

/// HTTP with redirects followed by hand: every hop obeys the HTTPS policy, and the token goes
/// to the endpoint's own host only (not to the CDN).
#[cfg(feature = "download")]
struct Client {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
    http_opted_in: bool,
}

#[cfg(feature = "download")]
impl Client {
    fn new(endpoint: String, options: &HubOptions) -> Self {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .try_proxy_from_env(true)
            .timeout_connect(std::time::Duration::from_secs(30))
            .timeout_read(std::time::Duration::from_secs(60))
            .user_agent(concat!("tinycats/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent,
            endpoint,
            token: hub_token(),
            http_opted_in: http_opted_in(options),
        }
    }

    /// One request, no redirect followed.
    fn get(&self, url: &str, range: &str) -> std::result::Result<ureq::Response, Failure> {
        if !url_allowed(url, self.http_opted_in) {
            return Err(Failure::Refused(format!(
                "the Hub sent us to {url:?}, which is not an https:// address; refusing it \
                 (set {ALLOW_HTTP_ENV}=1 for a mirror you trust)"
            )));
        }
        let mut request = self
            .agent
            .get(url)
            .set("Range", range)
            .set("Accept-Encoding", "identity");
        if let Some(token) = &self.token
            && origin(url) == origin(&self.endpoint)
        {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match request.call() {
            Ok(response) => Ok(response),
            Err(ureq::Error::Status(code, _)) => {
                let hint = match code {
                    404 => ": no such file or revision",
                    401 | 403 => {
                        ": a private or gated repository needs a token (HF_TOKEN or \
                         `huggingface-cli login`) with access to it"
                    }
                    _ => "",
                };
                Err(Failure::Refused(format!(
                    "the Hub answered HTTP {code}{hint}"
                )))
            }
            Err(e) => Err(Failure::Interrupted(e.to_string())),
        }
    }

    /// The redirect target of `response`, if it is a redirect.
    fn redirect(url: &str, response: &ureq::Response) -> Option<String> {
        let moved = matches!(response.status(), 301 | 302 | 303 | 307 | 308);
        let location = response.header("Location").filter(|_| moved)?;
        Some(join_url(url, location))
    }

    /// The Hub's answer for `url`: redirects within the endpoint's host are followed, and the
    /// first response that is not one of those carries the commit and the checksum.
    fn ask(&self, url: &str) -> std::result::Result<Answer, String> {
        let mut url = url.to_string();
        for _ in 0..MAX_REDIRECTS {
            let response = self.get(&url, "bytes=0-0").map_err(Failure::into_message)?;
            let body_url = match Self::redirect(&url, &response) {
                Some(next) if origin(&next) == origin(&self.endpoint) => {
                    url = next;
                    continue;
                }
                Some(next) => next,
                None => url,
            };
            let header = |name: &str| response.header(name).unwrap_or_default();
            let etag = checked_etag(match response.header("X-Linked-Etag") {
                Some(linked) => linked,
                None => header("ETag"),
            })?;
            let commit = header("X-Repo-Commit");
            if !is_commit_hash(commit) {
                return Err(format!(
                    "the Hub answered the commit (X-Repo-Commit) {:?}, which is not a \
                     40-digit commit hash; refusing it",
                    shorten(commit)
                ));
            }
            return Ok(Answer {
                commit: commit.to_ascii_lowercase(),
                etag,
                body_url,
            });
        }
        Err(format!("more than {MAX_REDIRECTS} redirects from {url}"))
    }

    /// The body of `url` from byte `from` on, redirects followed.
    fn body(&self, url: &str, from: u64) -> std::result::Result<ureq::Response, Failure> {
        let mut url = url.to_string();
        for _ in 0..MAX_REDIRECTS {
            let response = self.get(&url, &format!("bytes={from}-"))?;
            match Self::redirect(&url, &response) {
                Some(next) => url = next,
                None => return Ok(response),
            }
        }
        Err(Failure::Refused(format!(
            "more than {MAX_REDIRECTS} redirects from {url}"
        )))
    }
}

/// The checksum in an ETag (`"…"`, maybe weak: `W/"…"`) as a blob name: hex digits only, so
/// that it cannot name a path.
#[cfg(feature = "download")]
fn checked_etag(raw: &str) -> std::result::Result<String, String> {
    let etag = raw.trim().trim_start_matches("W/").trim_matches('"');
    if !etag.is_empty() && etag.len() <= 128 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(etag.to_ascii_lowercase());
    }
    Err(format!(
        "the Hub answered the checksum (ETag) {:?}, which is not hex digits; refusing it",
        shorten(raw)
    ))
}

/// A server's value, cut to fit an error message.
#[cfg(feature = "download")]
fn shorten(value: &str) -> String {
    value.chars().take(80).collect()
}

/// The hash a checksum of this kind needs.
#[cfg(feature = "download")]
enum Hasher {
    Sha256(sha2::Sha256),
    GitSha1(sha1::Sha1),
    /// The ETag is no checksum we know; only the size is checked.
    None,
}

#[cfg(feature = "download")]
impl Hasher {
    fn new(etag: &str, size: u64) -> Self {
        use sha1::Digest;
        match etag.len() {
            64 => Hasher::Sha256(sha2::Sha256::new()),
            40 => {
                let mut h = sha1::Sha1::new();
                h.update(format!("blob {size}\0").as_bytes());
                Hasher::GitSha1(h)
            }
            _ => Hasher::None,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        use sha1::Digest;
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::GitSha1(h) => h.update(bytes),
            Hasher::None => {}
        }
    }

    /// What was hashed (hex), and what it is checked against.
    fn finish(self, etag: &str) -> (Option<String>, Checksum) {
        use sha1::Digest;
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Hasher::Sha256(h) => (Some(hex(&h.finalize())), Checksum::Sha256(etag.into())),
            Hasher::GitSha1(h) => (Some(hex(&h.finalize())), Checksum::GitSha1(etag.into())),
            Hasher::None => (None, Checksum::Unchecked(unknown_etag(etag))),
        }
    }
}

#[cfg(feature = "download")]
fn unknown_etag(etag: &str) -> String {
    format!(
        "the Hub's ETag {etag:?} is neither a SHA-256 (64 hex digits) nor a git SHA-1 \
         (40 hex digits)"
    )
}

/// The file being downloaded, hashed as it is written.
#[cfg(feature = "download")]
struct Sink {
    file: tempfile::NamedTempFile,
    hasher: Option<Hasher>,
    len: u64,
}

#[cfg(feature = "download")]
impl Sink {
    /// Readies the sink for a body that starts at byte `start` of `size`: from scratch when
    /// the server sends it all, else hashing what is already written.
    fn start(&mut self, start: u64, size: u64, etag: &str) -> std::io::Result<()> {
        let file = self.file.as_file_mut();
        if start == 0 {
            file.set_len(0)?;
            self.len = 0;
            self.hasher = None;
        }
        if self.hasher.is_none() {
            let mut hasher = Hasher::new(etag, size);
            file.rewind()?;
            let mut buf = vec![0; 1 << 16];
            let mut held = (&mut *file).take(self.len);
            loop {
                let n = held.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            self.hasher = Some(hasher);
        }
        file.seek(std::io::SeekFrom::Start(self.len))?;
        Ok(())
    }
}

#[cfg(feature = "download")]
impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Downloads the body into a new file in `blobs` (created exclusively), resuming from
/// `<etag>.incomplete`, the part an interrupted run left; checks it, then renames it to
/// `blobs/<etag>`. An interruption keeps the part as `<etag>.incomplete`.
#[cfg(feature = "download")]
fn fetch_blob(
    client: &Client,
    blobs: &Path,
    answer: &Answer,
    retries: usize,
) -> std::result::Result<Checksum, String> {
    let etag = &answer.etag;
    let file = tempfile::Builder::new()
        .prefix(&format!(".{etag}."))
        .suffix(".part")
        .tempfile_in(blobs)
        .map_err(io(blobs))?;
    let mut sink = Sink {
        file,
        hasher: None,
        len: 0,
    };
    let partial = blobs.join(format!("{etag}.incomplete"));
    // A link here is not ours to follow.
    if std::fs::symlink_metadata(&partial).is_ok_and(|m| m.is_file()) {
        let mut held = std::fs::File::open(&partial).map_err(io(&partial))?;
        sink.len = std::io::copy(&mut held, sink.file.as_file_mut()).map_err(io(&partial))?;
    }
    let mut tries = 0;
    let size = loop {
        match transfer(client, &answer.body_url, &mut sink, etag) {
            Ok(size) => break size,
            Err(Failure::Interrupted(_)) if tries < retries => {
                tries += 1;
                let wait = 300u64 << tries.min(5);
                std::thread::sleep(std::time::Duration::from_millis(wait));
            }
            Err(Failure::Interrupted(e)) => {
                let len = sink.len;
                sink.file
                    .persist(&partial)
                    .map_err(|e| io(&partial)(e.error))?;
                return Err(format!(
                    "the transfer stopped after {len} bytes ({e}); run the command again to \
                     resume (the part already downloaded is kept in the cache)"
                ));
            }
            Err(Failure::Refused(e)) => return Err(e),
        }
    };
    let _ = std::fs::remove_file(&partial);
    let len = sink.len;
    let (actual, checksum) = sink.hasher.take().map_or((None, None), |h| {
        let (actual, checksum) = h.finish(etag);
        (actual, Some(checksum))
    });
    let checksum = checksum.unwrap_or_else(|| Checksum::Unchecked(unknown_etag(etag)));
    let matches = match &actual {
        Some(actual) => actual == etag,
        None => len == size,
    };
    if !matches {
        return Err(format!(
            "the downloaded file ({len} bytes) does not match the checksum the Hub announced \
             ({etag}, {size} bytes; got {}); it was not kept, run the command again to \
             download it anew",
            actual.as_deref().unwrap_or("another size")
        ));
    }
    let blob = blobs.join(etag);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(sink.file.path(), readable).map_err(io(&blob))?;
    }
    sink.file.persist(&blob).map_err(|e| io(&blob)(e.error))?;
    Ok(checksum)
}

/// An I/O error that names the file.
#[cfg(feature = "download")]
fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// One request for the rest of the body, written into `sink`; the file's size.
#[cfg(feature = "download")]
fn transfer(
    client: &Client,
    url: &str,
    sink: &mut Sink,
    etag: &str,
) -> std::result::Result<u64, Failure> {
    let response = client.body(url, sink.len)?;
    let refused = |what: &str| Failure::Refused(format!("the Hub's answer has {what}"));
    let (start, size) = match response.status() {
        206 => {
            let range = response.header("Content-Range").unwrap_or_default();
            let parse = || {
                let (span, size) = range.strip_prefix("bytes ")?.split_once('/')?;
                Some((span.split('-').next()?.parse().ok()?, size.parse().ok()?))
            };
            parse().ok_or_else(|| refused(&format!("a bad Content-Range {range:?}")))?
        }
        200 => {
            let length = response.header("Content-Length").unwrap_or_default();
            let size = length.parse().map_err(|_| refused("no Content-Length"))?;
            (0, size)
        }
        code => return Err(refused(&format!("the unexpected status {code}"))),
    };
    if start != 0 && start != sink.len {
        return Err(refused(&format!("bytes from {start}, not {}", sink.len)));
    }
    let interrupted = |e: std::io::Error| Failure::Interrupted(e.to_string());
    sink.start(start, size, etag).map_err(interrupted)?;
    let rest = size.saturating_sub(start);
    std::io::copy(&mut response.into_reader().take(rest), sink).map_err(interrupted)?;
    Ok(size)
}

/// Links `snapshots/<commit>/<rel>` to `blobs/<etag>` (relatively, as `huggingface_hub`
/// does), replacing a dangling link.
#[cfg(feature = "download")]
fn link_snapshot(
    base: &Path,
    commit: &str,
    rel: &str,
    etag: &str,
) -> std::result::Result<PathBuf, String> {
    let pointer = base.join("snapshots").join(commit).join(rel);
    let folder = pointer.parent().unwrap_or(base);
    let io = |e: std::io::Error| format!("{}: {e}", pointer.display());
    std::fs::create_dir_all(folder).map_err(io)?;
    inside(base, folder)?;
    let up = "../".repeat(Path::new(rel).components().count() + 1);
    let target = PathBuf::from(format!("{up}blobs/{etag}"));
    if std::fs::symlink_metadata(&pointer).is_ok() {
        std::fs::remove_file(&pointer).map_err(io)?;
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &pointer).map_err(io)?;
    #[cfg(windows)]
    std::os::windows::fs::symlink_file(&target, &pointer).map_err(io)?;
    Ok(pointer)
}

/// Records that the branch or tag `revision` is at `commit` (`refs/<revision>`).
#[cfg(feature = "download")]
fn write_ref(base: &Path, revision: &str, commit: &str) -> std::result::Result<(), String> {
    let path = base.join("refs").join(revision);
    let folder = path.parent().unwrap_or(base);
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    std::fs::create_dir_all(folder).map_err(io)?;
    inside(base, folder)?;
    let mut file = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
    file.write_all(commit.as_bytes()).map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    Ok(())
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
        return Ok(Checksum::Unchecked(unknown_etag(&etag)));
    }
    let read = |e: std::io::Error| format!("{}: {e}", blob.display());
    let len = std::fs::metadata(&blob).map_err(read)?.len();
    let mut file = std::fs::File::open(&blob).map_err(read)?;
    let mut hasher = Hasher::new(&etag, len);
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let (actual, checksum) = hasher.finish(&etag);
    let actual = actual.unwrap_or_default();
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

#[cfg(all(test, feature = "download"))]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_read_against_the_url_that_sent_them() {
        let at = "https://hub.example/o/n/resolve/main/a/b.onnx?x=1";
        assert_eq!(
            join_url(at, "https://cdn.example/x"),
            "https://cdn.example/x"
        );
        assert_eq!(join_url(at, "//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(
            join_url(at, "/o2/n/resolve/main/a"),
            "https://hub.example/o2/n/resolve/main/a"
        );
        assert_eq!(
            join_url(at, "c.onnx"),
            "https://hub.example/o/n/resolve/main/a/c.onnx"
        );
        assert_eq!(
            origin("HTTP://Hub.example:8080/x?y"),
            "http://hub.example:8080"
        );
        assert_eq!(url_encode("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(url_encode("a b/c#d.onnx", true), "a%20b/c%23d.onnx");
    }

    #[test]
    fn an_etag_is_a_blob_name_only_when_it_is_hex() {
        let sha = "AB".repeat(32);
        assert_eq!(
            checked_etag(&format!("\"{sha}\"")).unwrap(),
            sha.to_lowercase()
        );
        assert_eq!(checked_etag("W/\"0a1b\"").unwrap(), "0a1b");
        for bad in [
            "",
            "\"\"",
            "../../x",
            "/abs",
            "0a/../b",
            "0a1b-2",
            &"a".repeat(129),
        ] {
            assert!(checked_etag(bad).unwrap_err().contains("refusing"), "{bad}");
        }
    }
}
