//! The checksum the Hub announces (its ETag): checked to be a blob name, hashed, and compared.

use std::io::Read;
use std::path::Path;

use super::Checksum;
use crate::repo::cache::inside;

/// The checksum in an ETag (`"…"`, maybe weak: `W/"…"`) as a blob name: hex digits only, so
/// that it cannot name a path.
pub(super) fn checked_etag(raw: &str) -> std::result::Result<String, String> {
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
pub(super) fn shorten(value: &str) -> String {
    value.chars().take(80).collect()
}

/// The hash a checksum of this kind needs.
pub(super) enum Hasher {
    Sha256(sha2::Sha256),
    GitSha1(sha1::Sha1),
    /// The ETag is no checksum we know; only the size is checked.
    None,
}

impl Hasher {
    pub(super) fn new(etag: &str, size: u64) -> Self {
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

    pub(super) fn update(&mut self, bytes: &[u8]) {
        use sha1::Digest;
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::GitSha1(h) => h.update(bytes),
            Hasher::None => {}
        }
    }

    /// What was hashed (hex), and what it is checked against.
    pub(super) fn finish(self, etag: &str) -> (Option<String>, Checksum) {
        use sha1::Digest;
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match self {
            Hasher::Sha256(h) => (Some(hex(&h.finalize())), Checksum::Sha256(etag.into())),
            Hasher::GitSha1(h) => (Some(hex(&h.finalize())), Checksum::GitSha1(etag.into())),
            Hasher::None => (None, Checksum::Unchecked(unknown_etag(etag))),
        }
    }
}

pub(super) fn unknown_etag(etag: &str) -> String {
    format!(
        "the Hub's ETag {etag:?} is neither a SHA-256 (64 hex digits) nor a git SHA-1 \
         (40 hex digits)"
    )
}

/// Checks a cached file against the name of the blob it links to, which is the checksum
/// the Hub announced (its ETag): SHA-256 of the content for LFS files (64 hex digits), git's
/// blob SHA-1 (`sha1("blob <len>\0" + content)`, 40 hex digits) for small ones. A mismatch —
/// a truncated, overlong or corrupted transfer — deletes the blob and its snapshot link. A
/// link that leaves the repository's cache folder is refused before anything is read. Any
/// other ETag, or a file that is not a link into `blobs/` (a cache written by copying),
/// comes back as [`Checksum::Unchecked`].
pub(super) fn verify_blob(base: &Path, pointer: &Path) -> std::result::Result<Checksum, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
