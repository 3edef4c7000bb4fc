//! `ModelRepo` downloads end to end against a Hub-compatible HTTP server on 127.0.0.1 that
//! the test starts: a complete download, an interrupted one (resumed), a transfer whose size
//! differs from what the Hub announced, and a missing file. Build with
//! `cargo test -p tinycats-runtime --features download --test hub_download`.
#![cfg(feature = "download")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use sha2::Digest;
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
}

/// A minimal Hub: `GET /<owner>/<name>/resolve/<rev>/<file>` with `Range` headers, as
/// hf-hub's sync client asks (a `bytes=0-0` probe for the size, ETag and commit, then
/// `bytes=<from>-`). Records the ranges it was asked for.
struct Hub {
    endpoint: String,
    ranges: Arc<Mutex<Vec<String>>>,
}

fn start_hub(file: &'static str, content: Vec<u8>, mode: Mode) -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    std::thread::spawn(move || {
        let etag = sha2::Sha256::digest(&content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
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
                    _ => {}
                }
            }
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {declared}\r\n\
                 Content-Range: bytes {from}-{to}/{}\r\nETag: \"{etag}\"\r\n\
                 X-Repo-Commit: {COMMIT}\r\nConnection: close\r\n\r\n",
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
    }
}

fn content() -> Vec<u8> {
    (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect()
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
