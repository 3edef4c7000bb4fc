//! The Hub transfer: redirects followed by hand, a resumable hashed download, the cache links.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use url::Url;

use super::checksum::{Hasher, checked_etag, shorten, unknown_etag};
use super::{ALLOW_HTTP_ENV, Checksum, HubOptions, http_opted_in, hub_token, url_allowed};
use crate::repo::cache::{inside, is_commit_hash};

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// Why a request failed: worth resuming (the connection), or not (the answer).
enum Failure {
    Interrupted(String),
    Refused(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Interrupted(e) | Failure::Refused(e) => e,
        }
    }
}

/// The Hub's answer to a resolve URL, checked.
pub(super) struct Answer {
    /// The commit the revision names (40 hex digits).
    pub(super) commit: String,
    /// The checksum the Hub announces, lowercase hex digits: the blob's name.
    pub(super) etag: String,
    /// Where the body is served (the resolve URL, or the CDN it redirects to).
    body_url: Url,
}

/// HTTP with redirects followed by hand: every hop obeys the HTTPS policy, and the token goes
/// to the endpoint's own host only (not to the CDN).
pub(super) struct Client {
    agent: ureq::Agent,
    endpoint: Url,
    token: Option<String>,
    http_opted_in: bool,
}

impl Client {
    pub(super) fn new(endpoint: Url, options: &HubOptions) -> Self {
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
    fn get(&self, url: &Url, range: &str) -> std::result::Result<ureq::Response, Failure> {
        if !url_allowed(url, self.http_opted_in) {
            return Err(Failure::Refused(format!(
                "the Hub sent us to {:?}, which is not an https:// address; refusing it \
                 (set {ALLOW_HTTP_ENV}=1 for a mirror you trust)",
                url.as_str()
            )));
        }
        let mut request = self
            .agent
            .get(url.as_str())
            .set("Range", range)
            .set("Accept-Encoding", "identity");
        if let Some(token) = &self.token
            && url.origin() == self.endpoint.origin()
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

    /// The redirect target of `response` (its `Location` read against `url`), if it is a
    /// redirect.
    fn redirect(url: &Url, response: &ureq::Response) -> std::result::Result<Option<Url>, Failure> {
        let moved = matches!(response.status(), 301 | 302 | 303 | 307 | 308);
        let Some(location) = response.header("Location").filter(|_| moved) else {
            return Ok(None);
        };
        url.join(location).map(Some).map_err(|e| {
            Failure::Refused(format!(
                "the Hub redirected to {:?}, which is not a URL ({e})",
                shorten(location)
            ))
        })
    }

    /// The Hub's answer for `url`: redirects within the endpoint's host are followed, and the
    /// first response that is not one of those carries the commit and the checksum.
    pub(super) fn ask(&self, mut url: Url) -> std::result::Result<Answer, String> {
        for _ in 0..MAX_REDIRECTS {
            let response = self.get(&url, "bytes=0-0").map_err(Failure::into_message)?;
            let next = Self::redirect(&url, &response).map_err(Failure::into_message)?;
            let body_url = match next {
                Some(next) if next.origin() == self.endpoint.origin() => {
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
    fn body(&self, url: &Url, from: u64) -> std::result::Result<ureq::Response, Failure> {
        let mut url = url.clone();
        for _ in 0..MAX_REDIRECTS {
            let response = self.get(&url, &format!("bytes={from}-"))?;
            match Self::redirect(&url, &response)? {
                Some(next) => url = next,
                None => return Ok(response),
            }
        }
        Err(Failure::Refused(format!(
            "more than {MAX_REDIRECTS} redirects from {url}"
        )))
    }
}

/// The file being downloaded, hashed as it is written.
struct Sink {
    file: tempfile::NamedTempFile,
    hasher: Option<Hasher>,
    len: u64,
}

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
pub(super) fn fetch_blob(
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
fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// One request for the rest of the body, written into `sink`; the file's size.
fn transfer(
    client: &Client,
    url: &Url,
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
pub(super) fn link_snapshot(
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
pub(super) fn write_ref(
    base: &Path,
    revision: &str,
    commit: &str,
) -> std::result::Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(location: &str) -> ureq::Response {
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n")
            .parse()
            .unwrap()
    }

    #[test]
    fn redirects_are_read_against_the_url_that_sent_them() {
        let at = Url::parse("https://hub.example/o/n/resolve/main/a/b.onnx?x=1").unwrap();
        let next = |location: &str| match Client::redirect(&at, &moved(location)) {
            Ok(Some(url)) => url.to_string(),
            _ => panic!("{location}: no redirect"),
        };
        assert_eq!(next("https://cdn.example/x"), "https://cdn.example/x");
        assert_eq!(next("//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(
            next("/o2/n/resolve/main/a"),
            "https://hub.example/o2/n/resolve/main/a"
        );
        assert_eq!(
            next("c.onnx"),
            "https://hub.example/o/n/resolve/main/a/c.onnx"
        );
        assert!(Client::redirect(&at, &moved("https://[::1")).is_err());
        let ok: ureq::Response = "HTTP/1.1 200 OK\r\n\r\n".parse().unwrap();
        assert!(matches!(Client::redirect(&at, &ok), Ok(None)));
        let origin = |url: &str| Url::parse(url).unwrap().origin();
        assert_eq!(
            origin("HTTP://Hub.example:8080/x?y"),
            origin("http://hub.example:8080/")
        );
        assert_eq!(
            origin("https://hub.example"),
            origin("https://hub.example:443/a")
        );
        assert_ne!(
            origin("https://hub.example"),
            origin("https://cdn.hub.example")
        );
    }
}
