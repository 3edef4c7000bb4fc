//! Which back-end runs a generator: ONNX Runtime (the default: the faster one on a CPU) or
//! libtorch, at which precision, and how a model folder becomes an ONNX graph for the former.

use std::path::{Path, PathBuf};

use tinycats_onnx::Scheme;
use tinycats_onnx::metadata as keys;
use tinycats_runtime::Generator;
use tinycats_runtime::repo::{GENERATOR_DIR, GENERATOR_INT8_ONNX, GENERATOR_ONNX};

/// Which back-end runs the generator. The same seed gives the same image on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// ONNX Runtime on the CPU: the folder's `model.onnx` (exported on the fly when the
    /// folder has none exported from its current `config.json`).
    Ort,
    /// libtorch: the folder's `model.safetensors`, on `--device`.
    Tch,
}

/// The arithmetic of the ONNX Runtime generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    /// The fp32 graph: the same images as libtorch within 1e-4.
    Fp32,
    /// The int8-dynamic graph (7-bit weights, uint8 activations, the same integers on
    /// every x86 CPU): on the bundled generator 1.7× faster, with breed fidelity, Fréchet
    /// distance and recall within fp32's intervals at the default sampler (the model card
    /// has the measurement).
    Int8,
}

impl Precision {
    /// `chosen`, else the back-end's default (`ort_default` on ONNX Runtime, fp32 on
    /// libtorch); int8 on libtorch is refused.
    pub fn resolve(
        chosen: Option<Precision>,
        backend: Backend,
        ort_default: Precision,
    ) -> anyhow::Result<Precision> {
        match (chosen, backend) {
            (Some(Precision::Int8), Backend::Tch) => anyhow::bail!(
                "`--precision int8` runs on ONNX Runtime only: drop `--backend tch`, or use \
                 `--precision fp32`"
            ),
            (Some(p), _) => Ok(p),
            (None, Backend::Ort) => Ok(ort_default),
            (None, Backend::Tch) => Ok(Precision::Fp32),
        }
    }
}

/// What a loaded graph computes in, from its metadata: `fp32`, or its quantization scheme
/// (`int8-dynamic`, `int8-weight-only`). A `.onnx` file given by path is used as it is, so
/// messages name what it is, not what `--precision` asked for.
pub fn graph_precision(generator: &Generator) -> String {
    match generator.metadata().get(keys::QUANTIZATION) {
        Some(q) if q != "none" => q.to_string(),
        _ => "fp32".to_string(),
    }
}

/// The generator folder of `model`: a model repository's `generator/` (a folder with no
/// `config.json` of its own, like `assets`), else `model` itself.
pub fn generator_folder(model: &Path) -> PathBuf {
    let inside = model.join(GENERATOR_DIR);
    if !model.join("config.json").is_file() && inside.is_dir() {
        inside
    } else {
        model.to_path_buf()
    }
}

/// The ONNX generator for a `.onnx` file (used as it is, whatever `precision` says), a
/// repository folder (`generator/model.onnx`, or `generator/model_int8.onnx` for int8) or a
/// model folder (`model.onnx` / `model_int8.onnx`). A model folder's graph is used only
/// when it is [current](is_current) — exported from the folder's `config.json`, or the
/// folder has none — else the folder is exported (and quantized) into `scratch` first.
pub fn load_generator(
    model: &Path,
    scratch: &Path,
    precision: Precision,
) -> anyhow::Result<Generator> {
    if model.extension().is_some_and(|e| e == "onnx") {
        return Ok(Generator::load(model)?);
    }
    let (repo_file, folder_file, scheme) = match precision {
        Precision::Fp32 => (GENERATOR_ONNX, "model.onnx", None),
        Precision::Int8 => (
            GENERATOR_INT8_ONNX,
            "model_int8.onnx",
            Some(Scheme::Dynamic),
        ),
    };
    let repo_graph = model.join(repo_file);
    if repo_graph.is_file() {
        return Ok(Generator::load(repo_graph)?);
    }
    // A repository folder without an int8 graph: quantize its model folder.
    let model = &generator_folder(model);
    let graph = model.join(folder_file);
    if graph.is_file() {
        let generator = Generator::load(&graph)?;
        if is_current(generator.metadata().get(keys::CONFIG), model) {
            return Ok(generator);
        }
    }
    if !model.join("config.json").is_file() {
        let other = match precision {
            Precision::Fp32 => "int8",
            Precision::Int8 => "fp32",
        };
        anyhow::bail!(
            "{} has no {folder_file} and no config.json to export one from; pass \
             `--precision {other}` if it holds the other graph, or `--model` a folder with \
             config.json + model.safetensors",
            model.display()
        );
    }
    let out = scratch.join(folder_file);
    let quantize = match scheme {
        Some(_) => " --quantize int8-dynamic",
        None => "",
    };
    tinycats_onnx::export(model, &out, scheme).map_err(|e| {
        anyhow::anyhow!(
            "{}: no current {folder_file}, and exporting one failed: {e} (use `--backend tch`, \
             or `tinycats export onnx --model {} --out {}{quantize}`)",
            model.display(),
            model.display(),
            graph.display()
        )
    })?;
    eprintln!(
        "note: {} has no {folder_file} exported from its current config.json; exported one \
         for this run ({}); `tinycats export onnx --model {} --out {}{quantize}` saves the \
         time next run",
        model.display(),
        out.display(),
        model.display(),
        graph.display()
    );
    Ok(Generator::load(&out)?)
}

/// Whether a model folder's graph was exported from the folder's current `config.json`
/// (`exported_from`, the graph's `config` metadata): after more training, provenance and
/// step count differ. A folder without a `config.json` has only its graph, which is then
/// current.
pub fn is_current(exported_from: Option<&str>, folder: &Path) -> bool {
    let Ok(current) = read_config(folder) else {
        return true;
    };
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let exported_from = exported_from.and_then(json);
    exported_from.is_some() && exported_from == json(&current)
}

/// A folder's `config.json`, read only if it is a regular file of config size.
pub fn read_config(folder: &Path) -> std::io::Result<String> {
    let path = folder.join("config.json");
    tinycats_core::fs::read_text_bounded(&path, tinycats_core::fs::CONFIG_LIMIT)
}
