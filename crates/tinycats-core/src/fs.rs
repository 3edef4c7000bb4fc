//! The project's one home for writing and reading files that matter.
//!
//! - [`write_atomic`]: a file appears whole or not at all. The bytes go to a fresh temporary
//!   file in the target's folder (created with `O_EXCL` under a random name by `tempfile`, so
//!   a symlink planted at a predictable name is never followed), are flushed to disk, and the
//!   temporary is renamed over the target. A rename replaces a symlink at the target itself;
//!   it never writes through it.
//! - [`read_bounded`]: a file read whole only when it is a regular file no larger than a
//!   stated limit, so a `config.json` that is a link to `/dev/zero`, or a sparse file of
//!   gigabytes, costs an error instead of the machine's memory.

use std::io::{self, Read, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (see the module header). Creates the folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the contents written by `fill` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = temporary_beside(path, dir)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    tmp.as_file().sync_all()?;
    // `persist` renames; on failure the temporary is removed when `tmp` drops.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Like [`write_atomic`], for writers that only take a path (libtorch's safetensors writer):
/// `fill` writes to the fresh temporary's path, which is then flushed and renamed.
pub fn write_atomic_via_path(
    path: &Path,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let tmp = temporary_beside(path, dir)?;
    fill(tmp.path())?;
    std::fs::File::open(tmp.path())?.sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn temporary_beside(path: &Path, dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".partial")
        .tempfile_in(dir)
}

/// Reads `path` whole if it is a regular file of at most `limit` bytes; otherwise an
/// `InvalidData` error that names the size or the kind of file and the limit. Symlinks are
/// followed (a model folder may link its weights), but what they reach must be a regular file.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file (a device, pipe or folder); point at the file itself",
        ));
    }
    if meta.len() > limit {
        return Err(too_large(meta.len(), limit));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while it is read.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// [`read_bounded`] for UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")))
}

fn too_large(len: u64, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{len} bytes, more than the {limit} bytes a file of its kind may hold; \
             it is not a file this project wrote"
        ),
    )
}

/// One tensor as a safetensors header declares it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TensorHeader {
    /// `F32`, `BF16`, …
    pub dtype: String,
    pub shape: Vec<u64>,
    /// Start and end of the tensor's bytes after the header.
    pub data_offsets: [u64; 2],
}

impl TensorHeader {
    /// Its number of values; `None` if that overflows.
    pub fn values(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }
}

/// Bytes per value of a safetensors dtype; `None` for one this project does not know.
fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => 1,
        _ => return None,
    })
}

/// The largest header the safetensors format allows (the `safetensors` crate's limit).
const SAFETENSORS_HEADER_LIMIT: u64 = 100_000_000;

/// Reads only the header of a safetensors file — its tensors' names, dtypes and shapes — so
/// a loader can compare them with a config before allocating anything. Refuses files that
/// are not regular, whose header is malformed, or whose length is not the header's promise.
/// The full validation stays with the `safetensors` crate when the data is read.
pub fn read_safetensors_header(path: &Path) -> io::Result<Vec<(String, TensorHeader)>> {
    let bad = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a safetensors file: {why}"),
        )
    };
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| bad(format!("{} bytes is too short for a header", meta.len())))?;
    let n = u64::from_le_bytes(len);
    if n > SAFETENSORS_HEADER_LIMIT || n > meta.len() - 8 {
        return Err(bad(format!(
            "it declares a {n}-byte header in a {}-byte file",
            meta.len()
        )));
    }
    let mut text = Vec::with_capacity(n as usize);
    (&mut file).take(n).read_to_end(&mut text)?;
    let table: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&text).map_err(|e| bad(format!("its header: {e}")))?;
    let mut tensors = Vec::with_capacity(table.len());
    let mut end = 0;
    for (name, value) in table {
        if name == "__metadata__" {
            continue;
        }
        let t: TensorHeader =
            serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
        // libtorch takes sizes as i64 and aborts with a C++ trace on larger ones.
        if let Some(d) = t.shape.iter().find(|&&d| d > i64::MAX as u64) {
            return Err(bad(format!("tensor {name} has a dimension of {d}")));
        }
        let [start, stop] = t.data_offsets;
        let bytes = t
            .values()
            .and_then(|n| n.checked_mul(dtype_bytes(&t.dtype)?));
        if start > stop || bytes.is_some_and(|b| b != stop - start) {
            return Err(bad(format!(
                "tensor {name} ({} {:?}) is given bytes {start}..{stop}",
                t.dtype, t.shape
            )));
        }
        end = end.max(stop);
        tensors.push((name, t));
    }
    if end.checked_add(8 + n) != Some(meta.len()) {
        return Err(bad(format!(
            "its header promises {} bytes of data, the file holds {}",
            end,
            meta.len() - 8 - n
        )));
    }
    Ok(tensors)
}

/// Upper bound for an ONNX file: protobuf cannot encode a message past 2 GiB, so no valid
/// self-contained graph is larger.
pub const ONNX_LIMIT: u64 = 2 << 30;

/// Upper bound for a config or record file (`config.json`, `state.json`, `sampler.json`,
/// `run.json`, a run's TOML): the largest the project writes is a few kilobytes.
pub const CONFIG_LIMIT: u64 = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.json"]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        // A link at the target and links at the names older writers used for temporaries.
        let target = dir.path().join("model.onnx");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        for planted in [
            "model.onnx.partial",
            "model.onnx.tmp-1",
            ".model.onnx.partial",
        ] {
            std::os::unix::fs::symlink(&victim, dir.path().join(planted)).unwrap();
        }
        write_atomic(&target, b"new model").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new model");
    }

    #[test]
    fn safetensors_headers_are_read_without_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let header = br#"{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0; 24]);
        std::fs::write(&path, &bytes).unwrap();
        let tensors = read_safetensors_header(&path).unwrap();
        assert_eq!(tensors.len(), 1);
        assert_eq!(tensors[0].0, "w");
        assert_eq!(tensors[0].1.shape, [2, 3]);
        assert_eq!(tensors[0].1.values(), Some(6));
        // Truncated data, an absurd header length, junk.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = read_safetensors_header(&path).unwrap_err().to_string();
        assert!(
            err.contains("promises 24 bytes of data, the file holds 23"),
            "{err}"
        );
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        std::fs::write(&path, &huge).unwrap();
        let err = read_safetensors_header(&path).unwrap_err().to_string();
        assert!(err.contains("header in a 10-byte file"), "{err}");
        std::fs::write(&path, b"abc").unwrap();
        let err = read_safetensors_header(&path).unwrap_err().to_string();
        assert!(err.contains("too short"), "{err}");
        // A size libtorch cannot take, in a tensor of no values.
        let header =
            br#"{"w":{"dtype":"F32","shape":[0,9223372036854775813],"data_offsets":[0,0]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_safetensors_header(&path).unwrap_err().to_string();
        assert!(err.contains("a dimension of 9223372036854775813"), "{err}");
    }

    #[test]
    fn bounded_reads_refuse_large_and_irregular_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, vec![b' '; 100]).unwrap();
        assert_eq!(read_bounded(&path, 100).unwrap().len(), 100);
        let err = read_bounded(&path, 99).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().contains("100 bytes, more than the 99"),
            "{err}"
        );
        let err = read_bounded(dir.path(), 99).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        #[cfg(unix)]
        {
            let err = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
    }
}
