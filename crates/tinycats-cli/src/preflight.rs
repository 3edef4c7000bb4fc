//! Checks a command makes before any work: that the folder of its output file exists, and
//! that `--model` holds the kind of model the command runs (read from `config.json`'s
//! `model_type`, or a graph's metadata), so a wrong path fails at once and names the fix,
//! not after exporting a graph of the wrong model.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tinycats_onnx::metadata as keys;
use tinycats_onnx::metadata_value;
use tinycats_runtime::repo::CLASSIFIER_ONNX;

use crate::backend::{Backend, generator_folder, is_current, read_config};

/// What `--model` takes where a generator is run.
const A_GENERATOR: &str = "--model takes a generator folder (config.json + model.safetensors \
    as `tinycats train-generator` writes them, or model.onnx / model_int8.onnx), a generator's \
    .onnx file, or a model repository with generator/ inside; `--model assets` is the bundled \
    one";

/// What a classifier flag takes.
const A_CLASSIFIER: &str = "a classifier's .onnx file, a classifier folder with model.onnx, \
    or a model repository with classifier/model.onnx inside";

/// Refuses an output file whose folder does not exist, naming the path as given and the fix.
pub fn out_folder(out: &Path, flag: &str) -> anyhow::Result<()> {
    let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let (out, folder) = (out.display(), dir.display());
    if dir.is_dir() {
        Ok(())
    } else if dir.exists() {
        bail!("{flag} {out}: {folder} is a file, not a folder; pick another {flag}")
    } else {
        bail!(
            "{flag} {out}: the output folder {folder} does not exist; create it \
             (`mkdir -p {folder}`) or pick another {flag}"
        )
    }
}

/// Refuses a `--model` that cannot hold a generator for `backend`: a path that is not
/// there, a folder with no model, another kind of model, or a graph for libtorch.
pub fn expect_generator(model: &Path, backend: Backend) -> anyhow::Result<()> {
    let path = model.display();
    if is_onnx(model) {
        if !model.is_file() {
            bail!("there is no ONNX file {path}: {A_GENERATOR}");
        }
        if backend == Backend::Tch {
            bail!(
                "`--backend tch` runs a model folder's model.safetensors, not a .onnx file \
                 ({path}): drop `--backend tch`, or pass the folder the graph was exported from"
            );
        }
    } else if !model.exists() {
        bail!("there is no model folder {path}: {A_GENERATOR}");
    } else if !model.is_dir() {
        bail!("{path} is a file, not a model folder: {A_GENERATOR}");
    }
    let folder = generator_folder(model);
    let model = folder.as_path();
    let path = model.display();
    match model_type(model)?.as_deref() {
        Some("tinydit") => Ok(()),
        Some("classifier") => bail!(
            "{path} holds a classifier, not a generator: classify photos with `tinycats \
             classify --model {path} PHOTO...`, or draw cats with --model assets/generator (the \
             bundled generator) or a folder of `tinycats train-generator`"
        ),
        Some(other) => match kind(other) {
            Some(kind) => bail!("{path} holds {kind}, not a generator: {A_GENERATOR}"),
            // A type this command line does not know: the loader names it.
            None => Ok(()),
        },
        None if model.is_dir()
            && !["config.json", "model.onnx", "model_int8.onnx"]
                .iter()
                .any(|f| model.join(f).is_file()) =>
        {
            bail!("{path} holds no model: {A_GENERATOR}")
        }
        None => Ok(()),
    }
}

/// The classifier graph `spec` names, for a command whose classifier comes from `flag`: a
/// `.onnx` file as given, a classifier folder's `model.onnx` (when exported from its current
/// `config.json`), or `None` for a model repository or a Hugging Face repo id (resolved by
/// the caller). Another kind of model is refused with the fix.
pub fn classifier_graph(spec: &str, flag: &str) -> anyhow::Result<Option<PathBuf>> {
    let model = Path::new(spec);
    if is_onnx(model) && !model.exists() {
        bail!(
            "there is no ONNX file {spec}: {flag} takes {A_CLASSIFIER}; `{flag} assets` is the \
             bundled classifier"
        );
    }
    if model.is_file() {
        return match model_type(model)?.as_deref() {
            Some(other) if other != "classifier" && kind(other).is_some() => {
                bail!("{}", not_a_classifier(spec, other, flag))
            }
            _ => Ok(Some(model.to_path_buf())),
        };
    }
    if !model.is_dir() || model.join(CLASSIFIER_ONNX).is_file() {
        return Ok(None);
    }
    match model_type(model)?.as_deref() {
        Some("classifier") => {
            let graph = model.join("model.onnx");
            let export = format!(
                "export one with `tinycats export onnx --model {spec} --out {}`",
                graph.display()
            );
            if !graph.is_file() {
                bail!("{spec} holds a classifier but no model.onnx; {export}");
            }
            let exported_from = tinycats_onnx::read_model(&graph)?;
            if !is_current(metadata_value(&exported_from, keys::CONFIG), model) {
                bail!(
                    "{} was exported from an older config.json than {spec}'s (the folder \
                     has trained on since); {export}",
                    graph.display()
                );
            }
            Ok(Some(graph))
        }
        Some(other) if kind(other).is_some() => bail!("{}", not_a_classifier(spec, other, flag)),
        _ => Ok(None),
    }
}

fn not_a_classifier(spec: &str, model_type: &str, flag: &str) -> String {
    let kind = kind(model_type).unwrap_or("another model");
    let hint = if model_type == "tinydit" {
        format!("draw cats with `tinycats sample --model {spec}`, or ")
    } else {
        String::new()
    };
    format!(
        "{spec} holds {kind}, not a classifier: {hint}pass {flag} assets (the bundled \
         classifier), {A_CLASSIFIER}"
    )
}

fn is_onnx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "onnx")
}

/// The `model_type` of a `.onnx` file (its metadata) or a model folder (its `config.json`);
/// `None` when there is none to read. A `config.json` that is there but is not a readable,
/// config-sized regular file (a link to a device, say) is an error naming it.
fn model_type(path: &Path) -> anyhow::Result<Option<String>> {
    if is_onnx(path) {
        let Ok(graph) = tinycats_onnx::read_model(path) else {
            return Ok(None);
        };
        return Ok(metadata_value(&graph, keys::MODEL_TYPE).map(str::to_string));
    }
    let config = path.join("config.json");
    if config.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = read_config(path).with_context(|| format!("cannot read {}", config.display()))?;
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(None);
    };
    Ok(json
        .get("model_type")
        .and_then(|t| t.as_str())
        .map(str::to_string))
}

/// How a message names a `model_type`; `None` for one this command line does not know.
fn kind(model_type: &str) -> Option<&'static str> {
    match model_type {
        "tinydit" => Some("a generator"),
        "classifier" => Some("a classifier"),
        tinycats_models::features::MODEL_TYPE => Some("the SynthCats feature network"),
        tinycats_models::autoencoder::MODEL_TYPE => Some("an autoencoder"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn an_output_folder_that_is_not_there_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nowhere/grid.png");
        let err = out_folder(&out, "--out").unwrap_err().to_string();
        let folder = dir.path().join("nowhere");
        assert!(
            err.contains(&format!(
                "output folder {} does not exist",
                folder.display()
            )) && err.contains("mkdir -p")
                && err.contains("another --out"),
            "{err}"
        );
        out_folder(&dir.path().join("grid.png"), "--out").unwrap();
        out_folder(Path::new("grid.png"), "--out").unwrap();
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let err = out_folder(&dir.path().join("file/grid.png"), "--out").unwrap_err();
        assert!(err.to_string().contains("is a file, not a folder"), "{err}");
    }

    #[test]
    fn the_bundled_models_are_told_apart() {
        let assets = root().join("assets");
        let generator = |path: &str| expect_generator(&assets.join(path), Backend::Ort);
        generator("").unwrap();
        generator("generator").unwrap();
        generator("generator/model.onnx").unwrap();
        expect_generator(&assets, Backend::Tch).unwrap();
        let err = expect_generator(&assets.join("generator/model.onnx"), Backend::Tch);
        assert!(err.unwrap_err().to_string().contains("not a .onnx file"));
        let err = generator("classifier").unwrap_err().to_string();
        assert!(err.contains("holds a classifier, not a generator"), "{err}");
        let err = generator("classifier/model.onnx").unwrap_err().to_string();
        assert!(err.contains("holds a classifier, not a generator"), "{err}");
        let err = generator("features").unwrap_err().to_string();
        assert!(err.contains("the SynthCats feature network"), "{err}");
        let err = generator("photos").unwrap_err().to_string();
        assert!(err.contains("holds no model"), "{err}");
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink("/dev/zero", dir.path().join("config.json")).unwrap();
            let err = expect_generator(dir.path(), Backend::Tch).unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains("config.json: not a regular file"), "{msg}");
        }
        let err = generator("nowhere").unwrap_err().to_string();
        assert!(err.contains("there is no model folder"), "{err}");

        let spec = assets.join("generator");
        let err = classifier_graph(spec.to_str().unwrap(), "--classifier").unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("holds a generator, not a classifier")
                && err.contains("--classifier assets"),
            "{err}"
        );
        let folder = assets.join("classifier");
        let graph = classifier_graph(folder.to_str().unwrap(), "--model").unwrap();
        assert_eq!(graph, Some(folder.join("model.onnx")));
        assert_eq!(
            classifier_graph(assets.to_str().unwrap(), "--model").unwrap(),
            None
        );
    }
}
