//! `ModelRepo` downloads end to end against a Hub-compatible HTTP server on 127.0.0.1 that
//! the test starts: a complete download, an interrupted one (resumed), a transfer whose size
//! differs from what the Hub announced, a corrupted one, a missing file; and a cache or a Hub
//! answer that tries to lead outside the cache, and a plain-HTTP endpoint. Build with
//! `cargo test -p tinycats-runtime --features download --test hub_download`.
#![cfg(feature = "download")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::Digest;
use tinycats_runtime::repo::Checksum;
use tinycats_runtime::{HubOptions, ModelRepo};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// What the server does with the file's body.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Serves it whole.
    Whole,
    /// Cuts the first body transfer off halfway (the connection closes), then serves whole.
    InterruptOnce,
    /// Announces the real size and checksum but sends 10 bytes less, with a matching
    /// `Content-Length`, as a broken mirror would.
    Short,
    /// Serves the right length with its first byte flipped.
    Corrupt,
}

/// A minimal Hub: `GET /<owner>/<name>/resolve/<rev>/<file>` with `Range` headers, as
/// the downloader asks (a `bytes=0-0` probe for the ETag and commit, then `bytes=<from>-`).
/// Records the ranges it was asked for.
struct Hub {
    endpoint: String,
    ranges: Arc<Mutex<Vec<String>>>,
}

/// A Hub that announces the file's SHA-256 and [`COMMIT`].
fn start_hub(file: &'static str, content: Vec<u8>, mode: Mode) -> Hub {
    let etag = hex(&sha2::Sha256::digest(&content));
    start_hub_with(file, content, mode, etag, COMMIT.into())
}

/// A Hub that answers with the ETag and commit given.
fn start_hub_with(
    file: &'static str,
    content: Vec<u8>,
    mode: Mode,
    etag: String,
    commit: String,
) -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    std::thread::spawn(move || {
        let mut interrupted = false;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (path, range) = read_request(&stream);
            seen.lock().unwrap().push(range.clone());
            let mut out = stream;
            if !path.ends_with(&format!("/resolve/main/{file}")) {
                let _ = out.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let from: usize = range
                .trim_start_matches("bytes=")
                .split('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let to = if range.ends_with("-0") {
                0
            } else {
                content.len() - 1
            };
            let mut body = content[from..=to].to_vec();
            let mut declared = body.len();
            let probe = range == "bytes=0-0";
            if !probe {
                match mode {
                    Mode::InterruptOnce if !interrupted => {
                        interrupted = true;
                        body.truncate(body.len() / 2); // Content-Length still says all
                    }
                    Mode::Short => {
                        body.truncate(body.len() - 10);
                        declared = body.len();
                    }
                    Mode::Corrupt => body[0] ^= 0xff,
                    _ => {}
                }
            }
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {declared}\r\n\
                 Content-Range: bytes {from}-{to}/{}\r\nETag: \"{etag}\"\r\n\
                 X-Repo-Commit: {commit}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(&body);
            let _ = out.flush();
            let _ = out.shutdown(std::net::Shutdown::Both);
        }
    });
    Hub { endpoint, ranges }
}

/// The request path and its `Range` header.
fn read_request(stream: &TcpStream) -> (String, String) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut range = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = v.trim().to_string();
        }
    }
    (path, range)
}

fn options(hub: &Hub, cache: &std::path::Path, retries: usize) -> HubOptions {
    HubOptions {
        download: true,
        endpoint: Some(hub.endpoint.clone()),
        cache_dir: Some(cache.to_path_buf()),
        retries,
        allow_http: false,
    }
}

fn content() -> Vec<u8> {
    (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Git's blob id, the ETag the Hub gives small (non-LFS) files.
fn git_sha1(content: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex(&h.finalize())
}

/// Every entry under `dir` (links not followed): its path, and its content or link target.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
        if kind.is_dir() {
            out.extend(tree(&path));
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.push((path, target.into_os_string().into_encoded_bytes()));
        } else {
            let content = std::fs::read(&path).unwrap();
            out.push((path, content));
        }
    }
    out.sort();
    out
}

/// A temporary folder with the cache in `cache/` and a decoy model beside it in
/// `outside/generator/model.onnx`, where a poisoned cache could lead.
fn cache_and_decoy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::create_dir_all(outside.join("generator")).unwrap();
    std::fs::write(outside.join("generator/model.onnx"), b"decoy").unwrap();
    (root, cache, outside)
}

#[test]
fn a_file_downloads_into_the_cache_and_is_checked() {
    let hub = start_hub("generator/model.onnx", content(), Mode::Whole);
    let cache = tempfile::tempdir().unwrap();
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
    let path = repo.file("generator/model.onnx").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content());
    assert!(path.starts_with(cache.path()), "{}", path.display());
    // The layout huggingface_hub reads: a relative link into `blobs/`, and the branch's ref.
    let base = cache.path().join("models--tinycats--test-repo");
    let etag = hex(&sha2::Sha256::digest(content()));
    assert_eq!(
        std::fs::read_link(&path).unwrap(),
        Path::new("../../../blobs").join(&etag)
    );
    assert_eq!(
        std::fs::read_to_string(base.join("refs/main")).unwrap(),
        COMMIT
    );
    let blobs: Vec<_> = std::fs::read_dir(base.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        blobs,
        [std::ffi::OsString::from(&etag)],
        "no part files left"
    );
    // Downloaded once, the repository now resolves from the cache alone, offline.
    let cached = ModelRepo::resolve_with(
        "tinycats/test-repo",
        &HubOptions {
            download: false,
            ..options(&hub, cache.path(), 0)
        },
    )
    .unwrap();
    assert_eq!(cached.file("generator/model.onnx").unwrap(), path);
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let hub = start_hub("generator/model.onnx", content(), Mode::InterruptOnce);
    let cache = tempfile::tempdir().unwrap();
    // Without retries the interruption is an error that says how to go on…
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
    let err = repo.file("generator/model.onnx").unwrap_err().to_string();
    assert!(
        err.contains("generator/model.onnx") && err.contains("run the command again to resume"),
        "{err}"
    );
    // …and the next attempt asks only for the rest.
    let path = repo.file("generator/model.onnx").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content());
    let ranges = hub.ranges.lock().unwrap().clone();
    assert_eq!(ranges.last().unwrap(), "bytes=25000-", "{ranges:?}");
    let blobs = cache.path().join("models--tinycats--test-repo/blobs");
    assert_eq!(
        std::fs::read_dir(blobs).unwrap().count(),
        1,
        "no part files left"
    );

    // With retries (the default), one call resumes on its own.
    let hub = start_hub("generator/model.onnx", content(), Mode::InterruptOnce);
    let cache = tempfile::tempdir().unwrap();
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 3)).unwrap();
    let path = repo.file("generator/model.onnx").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content());
}

#[test]
fn a_transfer_of_the_wrong_size_is_refused_and_removed() {
    let hub = start_hub("generator/model.onnx", content(), Mode::Short);
    let cache = tempfile::tempdir().unwrap();
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
    let err = repo.file("generator/model.onnx").unwrap_err().to_string();
    assert!(
        err.contains("49990 bytes") && err.contains("does not match the checksum"),
        "{err}"
    );
    // Nothing usable is left behind: the repository does not resolve from the cache.
    let offline = ModelRepo::resolve_with(
        "tinycats/test-repo",
        &HubOptions {
            download: false,
            ..options(&hub, cache.path(), 0)
        },
    );
    assert!(
        offline.map_or(true, |r| r.file("generator/model.onnx").is_err()),
        "the short file must not be served from the cache"
    );
}

#[test]
fn a_missing_file_names_the_file_and_the_repository() {
    let hub = start_hub("generator/model.onnx", content(), Mode::Whole);
    let cache = tempfile::tempdir().unwrap();
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
    let err = repo.file("classifier/model.onnx").unwrap_err().to_string();
    assert!(
        err.contains("classifier/model.onnx") && err.contains("tinycats/test-repo@main"),
        "{err}"
    );
}

#[test]
fn the_checksum_the_hub_announces_is_checked_or_said_to_be_missing() {
    let file = "generator/model.onnx";
    // An LFS file (SHA-256) and a small one (git's SHA-1) are checked…
    let sha256 = hex(&sha2::Sha256::digest(content()));
    let sha1 = git_sha1(&content());
    for (etag, want) in [
        (sha256.clone(), Checksum::Sha256(sha256.clone())),
        (sha1.clone(), Checksum::GitSha1(sha1.clone())),
    ] {
        let hub = start_hub_with(file, content(), Mode::Whole, etag, COMMIT.into());
        let cache = tempfile::tempdir().unwrap();
        let repo =
            ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
        let (path, checksum) = repo.checked_file(file).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), content());
        assert_eq!(checksum, want);
    }
    // …and an ETag that is neither is served, but said to be unchecked.
    let etag = "5d41402abc4b2a76b9719d911017c592".to_string();
    let hub = start_hub_with(file, content(), Mode::Whole, etag, COMMIT.into());
    let cache = tempfile::tempdir().unwrap();
    let repo =
        ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
    let (_, checksum) = repo.checked_file(file).unwrap();
    let Checksum::Unchecked(why) = checksum else {
        panic!("an MD5-like ETag must not count as checked: {checksum:?}");
    };
    assert!(
        why.contains("neither a SHA-256") && why.contains("5d41402a"),
        "{why}"
    );
}

#[test]
fn a_corrupted_transfer_is_refused_and_removed() {
    let file = "generator/model.onnx";
    let sha256 = hex(&sha2::Sha256::digest(content()));
    for etag in [sha256, git_sha1(&content())] {
        let hub = start_hub_with(file, content(), Mode::Corrupt, etag.clone(), COMMIT.into());
        let cache = tempfile::tempdir().unwrap();
        let repo =
            ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, cache.path(), 0)).unwrap();
        let err = repo.file(file).unwrap_err().to_string();
        assert!(
            err.contains(file)
                && err.contains("does not match the checksum")
                && err.contains(&etag),
            "{err}"
        );
        let blob = cache
            .path()
            .join("models--tinycats--test-repo/blobs")
            .join(&etag);
        assert!(!blob.exists(), "the corrupted blob must be deleted");
    }
}

#[test]
fn a_poisoned_ref_is_refused_before_anything_is_read() {
    let (root, cache, outside) = cache_and_decoy();
    let base = cache.join("models--tinycats--test-repo");
    std::fs::create_dir_all(base.join("refs")).unwrap();
    std::fs::create_dir_all(base.join("snapshots")).unwrap();
    // Read as a path, the ref would lead `snapshots/<ref>/generator/model.onnx` to the decoy
    // for the first two, to /etc for the third.
    let depth = "../".repeat(root.path().components().count() + 4);
    for poison in [
        "../../../outside".to_string(),
        outside.display().to_string(),
        format!("{depth}etc"),
    ] {
        std::fs::write(base.join("refs/main"), &poison).unwrap();
        let before = tree(root.path());
        let hub = start_hub("generator/model.onnx", content(), Mode::Whole);
        let repo =
            ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, &cache, 0)).unwrap();
        let err = repo.file("generator/model.onnx").unwrap_err().to_string();
        assert!(
            err.contains("refs/main") && err.contains("must hold a 40-digit commit hash"),
            "{poison}: {err}"
        );
        assert!(
            hub.ranges.lock().unwrap().is_empty(),
            "nothing may be downloaded"
        );
        assert_eq!(tree(root.path()), before, "{poison}: nothing may change");
    }
    // A ref that is a link out of the cache is not read, even when it holds a hash.
    std::fs::write(outside.join("ref"), COMMIT).unwrap();
    std::fs::remove_file(base.join("refs/main")).unwrap();
    std::os::unix::fs::symlink(outside.join("ref"), base.join("refs/main")).unwrap();
    let hub = start_hub("generator/model.onnx", content(), Mode::Whole);
    let repo = ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, &cache, 0)).unwrap();
    let err = repo.file("generator/model.onnx").unwrap_err().to_string();
    assert!(
        err.contains("refs/main") && err.contains("outside the repository's cache folder"),
        "{err}"
    );
}

#[test]
fn a_snapshot_link_out_of_the_cache_is_refused_and_left_alone() {
    let (root, cache, outside) = cache_and_decoy();
    let hub = start_hub("generator/model.onnx", content(), Mode::Whole);
    let repo = ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, &cache, 0)).unwrap();
    repo.file("generator/model.onnx").unwrap();
    // A decoy named like a blob: hashing it and finding a mismatch would delete it.
    let decoy = outside.join(hex(&sha2::Sha256::digest(b"other")));
    std::fs::write(&decoy, b"decoy").unwrap();
    let snapshot = cache
        .join("models--tinycats--test-repo/snapshots")
        .join(COMMIT);
    let link = snapshot.join("classifier/model.onnx");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let asked = hub.ranges.lock().unwrap().len();
    let offline = HubOptions {
        download: false,
        ..options(&hub, &cache, 0)
    };
    let relative = Path::new("../../../../..").join(decoy.strip_prefix(root.path()).unwrap());
    for target in [decoy.clone(), relative] {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            std::fs::read(&link).unwrap(),
            b"decoy",
            "the link reaches the decoy"
        );
        let before = tree(root.path());
        // Through the download path and the cache.
        let cached = ModelRepo::resolve_with("tinycats/test-repo", &offline).unwrap();
        for repo in [&repo, &cached] {
            let err = repo.file("classifier/model.onnx").unwrap_err().to_string();
            assert!(
                err.contains("classifier/model.onnx")
                    && err.contains("outside the repository's cache folder"),
                "{}: {err}",
                target.display()
            );
        }
        assert_eq!(tree(root.path()), before, "nothing may change");
    }
    assert_eq!(
        hub.ranges.lock().unwrap().len(),
        asked,
        "nothing may be downloaded"
    );
}

#[test]
fn a_hub_answer_that_names_a_path_is_refused_before_anything_is_written() {
    let file = "generator/model.onnx";
    let sha256 = hex(&sha2::Sha256::digest(content()));
    for case in 0..6 {
        let (root, cache, _) = cache_and_decoy();
        let abs = root.path().join("escaped").display().to_string();
        let (etag, commit, want) = match case {
            0 => ("../../escaped".into(), COMMIT.into(), "(ETag)"),
            1 => (abs.clone(), COMMIT.into(), "(ETag)"),
            2 => (format!("{sha256}/../../x"), COMMIT.into(), "(ETag)"),
            3 => (sha256.clone(), "../../../escaped".into(), "(X-Repo-Commit)"),
            4 => (sha256.clone(), abs, "(X-Repo-Commit)"),
            _ => (sha256.clone(), format!("{COMMIT}/../x"), "(X-Repo-Commit)"),
        };
        let before = tree(root.path());
        let hub = start_hub_with(file, content(), Mode::Whole, etag.clone(), commit.clone());
        let repo =
            ModelRepo::resolve_with("tinycats/test-repo", &options(&hub, &cache, 0)).unwrap();
        let err = repo.file(file).unwrap_err().to_string();
        assert!(
            err.contains(file) && err.contains(want) && err.contains("refusing it"),
            "{etag} {commit}: {err}"
        );
        assert_eq!(
            tree(root.path()),
            before,
            "{etag} {commit}: nothing may change"
        );
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            0,
            "{etag} {commit}: not even a folder may be made in the cache"
        );
        assert_eq!(
            hub.ranges.lock().unwrap().as_slice(),
            ["bytes=0-0"],
            "only the probe may be asked"
        );
    }
}

#[test]
fn a_plain_http_endpoint_off_this_machine_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let with = |endpoint: &str, allow_http: bool| {
        let options = HubOptions {
            download: true,
            endpoint: Some(endpoint.into()),
            cache_dir: Some(cache.path().to_path_buf()),
            retries: 0,
            allow_http,
        };
        ModelRepo::resolve_with("tinycats/test-repo", &options).map_err(|e| e.to_string())
    };
    for endpoint in [
        "http://models.example.com/hub",
        "http://127.0.0.1.example.com",
        "http://127.0.0.1@example.com",
        "http://localhost.example.com:8080",
        "ftp://127.0.0.1",
    ] {
        let err = with(endpoint, false).unwrap_err();
        assert!(
            err.contains(endpoint) && err.contains("TINYCATS_ALLOW_HTTP=1"),
            "{endpoint}: {err}"
        );
    }
    assert!(with("http://models.example.com/hub", true).is_ok());
    for endpoint in [
        "https://models.example.com",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ] {
        assert!(with(endpoint, false).is_ok(), "{endpoint}");
    }
}
