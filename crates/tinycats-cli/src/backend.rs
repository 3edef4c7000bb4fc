//! Which back-end runs a generator: ONNX Runtime (the default: the faster one on a CPU) or
//! libtorch, and how a model folder becomes an ONNX graph for the former.

use std::path::Path;

use tinycats_onnx::metadata as keys;
use tinycats_runtime::Generator;
use tinycats_runtime::repo::GENERATOR_ONNX;

/// Which back-end runs the generator. The same seed gives the same image on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// ONNX Runtime on the CPU: the folder's `model.onnx` (exported on the fly when the
    /// folder has none exported from its current `config.json`).
    Ort,
    /// libtorch: the folder's `model.safetensors`, on `--device`.
    Tch,
}

/// The ONNX generator for a `.onnx` file, a repository folder (`generator/model.onnx`) or
/// a model folder. A model folder's `model.onnx` is used only when the `config.json` it was
/// exported from (kept in its metadata) is the folder's current one — after more training,
/// provenance and step count differ — else the folder is exported into `scratch` first.
pub fn load_generator(model: &Path, scratch: &Path) -> anyhow::Result<Generator> {
    if model.extension().is_some_and(|e| e == "onnx") {
        return Ok(Generator::load(model)?);
    }
    let repo_graph = model.join(GENERATOR_ONNX);
    if repo_graph.is_file() {
        return Ok(Generator::load(repo_graph)?);
    }
    let graph = model.join("model.onnx");
    if graph.is_file() {
        let generator = Generator::load(&graph)?;
        let current = std::fs::read_to_string(model.join("config.json")).ok();
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        let exported_from = generator.metadata().get(keys::CONFIG).and_then(json);
        if exported_from.is_some() && exported_from == current.as_deref().and_then(json) {
            return Ok(generator);
        }
    }
    let out = scratch.join("model.onnx");
    tinycats_onnx::export(model, &out, None).map_err(|e| {
        anyhow::anyhow!(
            "{}: no current model.onnx, and exporting one failed: {e} (use `--backend tch`, or \
             `tinycats export onnx --model {} --out {}`)",
            model.display(),
            model.display(),
            graph.display()
        )
    })?;
    eprintln!(
        "note: {} has no model.onnx exported from its current config.json; exported one for \
         this run ({})",
        model.display(),
        out.display()
    );
    Ok(Generator::load(&out)?)
}
