//! The bundled models' ONNX graphs, exported by `cargo xtask setup` from the committed weights
//! instead of committed themselves: `assets/<model>/model.onnx` (and the generator's
//! `model_int8.onnx`) from `config.json` and `model.safetensors` beside them, by the project's
//! own exporter (`tinycats-onnx`), which writes the same bytes on every machine (the test
//! `bundled_int8_graph_is_current_and_close_to_fp32` holds the int8 graph to a fresh export).
//! Every new set of weights would otherwise add its graphs, 42 MB, to the repository's
//! history too.
//!
//! A graph is exported again when it is missing or when anything it is made from changed: a
//! stamp beside it (`model.onnx.inputs`, git-ignored) holds the digest of the config, the
//! weights and the exporter's sources.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use tinycats_onnx::Scheme;

use crate::verify::cache::{hash_path, hash_tree};

/// The graphs setup makes: (model folder under `assets/`, graph file, quantization).
pub const GRAPHS: &[(&str, &str, Option<Scheme>)] = &[
    ("classifier", "model.onnx", None),
    ("generator", "model.onnx", None),
    ("generator", "model_int8.onnx", Some(Scheme::Dynamic)),
];

/// Exports every graph of [`GRAPHS`] that is missing or stale.
pub fn ensure(root: &Path) -> Result<()> {
    let exporter = exporter_digest(root)?;
    let mut digests = BTreeMap::new(); // model folder → its inputs' digest, read once
    for &(folder, file, scheme) in GRAPHS {
        let dir = root.join("assets").join(folder);
        let out = dir.join(file);
        let stamp = stamp_path(&out);
        let digest = match digests.get(folder) {
            Some(d) => String::clone(d),
            None => {
                let d = input_digest(root, &dir, &exporter)?;
                digests.insert(folder, d.clone());
                d
            }
        };
        let current = out.exists() && fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == digest);
        if current {
            continue;
        }
        let started = Instant::now();
        let summary = tinycats_onnx::export(&dir, &out, scheme).with_context(|| {
            format!(
                "cannot export {} from {}/model.safetensors: is the checkout complete? (`git status assets/{folder}`)",
                out.display(),
                dir.display()
            )
        })?;
        crate::write_atomic(&stamp, &format!("{digest}\n"))?;
        eprintln!(
            "setup: exported assets/{folder}/{file} ({:.1} MB{}) from its weights in {:.1} s",
            summary.bytes as f64 / 1e6,
            scheme
                .map(|s| format!(", {}", s.name()))
                .unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn stamp_path(graph: &Path) -> PathBuf {
    let mut name = graph.file_name().expect("a file").to_os_string();
    name.push(".inputs");
    graph.with_file_name(name)
}

/// The digest of what a graph of `dir` is made from: its config, its weights, the exporter.
fn input_digest(root: &Path, dir: &Path, exporter: &str) -> Result<String> {
    let mut h = Sha256::new();
    for file in ["config.json", "model.safetensors"] {
        let path = dir.join(file);
        anyhow::ensure!(
            path.is_file(),
            "{} is missing: the bundled model's graphs are exported from it",
            path.display()
        );
        hash_path(&mut h, root, &path)?;
    }
    h.update(exporter.as_bytes());
    Ok(format!("{:x}", h.finalize()))
}

/// The digest of the exporter's sources (`crates/tinycats-onnx`: its code and the ONNX
/// schema it compiles), so that a change to the exporter exports the graphs again.
fn exporter_digest(root: &Path) -> Result<String> {
    let mut h = Sha256::new();
    hash_tree(&mut h, root, &root.join("crates/tinycats-onnx"))?;
    Ok(format!("{:x}", h.finalize()))
}
