//! Weights and configs on disk: safetensors (f32, never pickle) and JSON, written atomically.
//!
//! Loading is strict: a missing tensor, an unexpected tensor or a shape mismatch is an error
//! that names the tensor and both shapes, so a checkpoint never half-loads into a model.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tch::{Kind, Tensor, nn};

use crate::error::{ModelError, Result};

/// Writes `bytes` to `path` atomically ([`tinycats_core::fs::write_atomic`]): a reader never
/// sees a half-written file, and a symlink planted in the folder is never written through.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    tinycats_core::fs::write_atomic(path, bytes).map_err(ModelError::io(path))
}

/// Serialises `value` as pretty JSON to `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| ModelError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file into `T` (at most [`tinycats_core::fs::CONFIG_LIMIT`] bytes, a regular file).
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = tinycats_core::fs::read_text_bounded(path, tinycats_core::fs::CONFIG_LIMIT)
        .map_err(ModelError::io(path))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes named tensors as safetensors, atomically. Floating-point tensors are stored as f32.
pub fn save_tensors(path: &Path, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let named: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(name, t)| {
            let t = t.to_device(tch::Device::Cpu);
            let t = if t.is_floating_point() {
                t.to_kind(Kind::Float)
            } else {
                t
            };
            (name.as_str(), t.contiguous())
        })
        .collect();
    tinycats_core::fs::write_atomic_via_path(path, |tmp| {
        Tensor::write_safetensors(&named, tmp).map_err(std::io::Error::other)
    })
    .map_err(ModelError::io(path))
}

/// Reads every tensor of a safetensors file, on the CPU. Its header is read and checked
/// first ([`tinycats_core::fs::read_safetensors_header`]): a file that is not regular, or
/// whose length is not what its header promises, is refused before its data is read.
pub fn load_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>> {
    tinycats_core::fs::read_safetensors_header(path).map_err(ModelError::io(path))?;
    Ok(Tensor::read_safetensors(path)?.into_iter().collect())
}

/// A config that a model folder keeps beside its weights as `config.json`.
pub trait FolderConfig: DeserializeOwned {
    /// Every field in range.
    fn validate(&self) -> std::result::Result<(), tinycats_core::Invalid>;
    /// How many values `model.safetensors` must hold (`None`: more than an i64 counts).
    fn stored_values(&self) -> Option<i64>;
}

impl FolderConfig for tinycats_core::DitConfig {
    fn validate(&self) -> std::result::Result<(), tinycats_core::Invalid> {
        tinycats_core::DitConfig::validate(self)
    }
    fn stored_values(&self) -> Option<i64> {
        tinycats_core::DitConfig::stored_values(self)
    }
}

impl FolderConfig for tinycats_core::ClassifierConfig {
    fn validate(&self) -> std::result::Result<(), tinycats_core::Invalid> {
        tinycats_core::ClassifierConfig::validate(self)
    }
    fn stored_values(&self) -> Option<i64> {
        tinycats_core::ClassifierConfig::stored_values(self)
    }
}

/// Builds a model from a folder holding `config.json` and `model.safetensors`: reads and
/// validates the config, compares it with the weights' header before anything is allocated
/// ([`check_weights_fit_config`]), builds the model with `build` and loads the weights
/// strictly (every tensor, every shape).
pub fn load_folder<C: FolderConfig, M>(
    dir: &Path,
    device: tch::Device,
    build: impl FnOnce(nn::Path, &C) -> M,
) -> Result<(nn::VarStore, M)> {
    let path = dir.join("config.json");
    let cfg: C = read_json(&path)?;
    cfg.validate().map_err(|source| ModelError::ConfigFile {
        path: path.clone(),
        source,
    })?;
    let weights = dir.join("model.safetensors");
    check_weights_fit_config(&weights, &path, cfg.stored_values())?;
    crate::device::keep_freed_memory();
    let vs = nn::VarStore::new(device);
    let model = build(vs.root(), &cfg);
    load_var_store(&vs, &weights)?;
    Ok((vs, model))
}

/// Refuses a weights file whose header holds a different number of values than the model
/// that `config` describes, before the model is built: a crafted or mismatched
/// `config.json` then costs no memory. `stored_values` comes from the config
/// (`DitConfig::stored_values`, `ClassifierConfig::stored_values`).
pub fn check_weights_fit_config(
    weights: &Path,
    config: &Path,
    stored_values: Option<i64>,
) -> Result<()> {
    let header =
        tinycats_core::fs::read_safetensors_header(weights).map_err(ModelError::io(weights))?;
    let found = header
        .iter()
        .try_fold(0u64, |n, (_, t)| n.checked_add(t.values()?));
    let expected = stored_values.and_then(|n| u64::try_from(n).ok());
    if found.is_some() && found == expected {
        return Ok(());
    }
    Err(ModelError::WeightsDoNotFitConfig {
        weights: weights.to_path_buf(),
        config: config.to_path_buf(),
        found: found.map_or("more than 2⁶⁴".into(), |n| n.to_string()),
        expected: expected.map_or("more than 2⁶³".into(), |n| n.to_string()),
    })
}

/// Saves every variable of `vs` (trainable or not) to `path` as f32 safetensors.
pub fn save_var_store(vs: &nn::VarStore, path: &Path) -> Result<()> {
    save_tensors(path, &vs.variables().into_iter().collect())
}

/// Copies `tensors` into the variables of `vs`, refusing any missing, unexpected or
/// mis-shaped tensor. `path` only labels the errors.
pub fn copy_into_var_store(
    vs: &nn::VarStore,
    tensors: &BTreeMap<String, Tensor>,
    path: &Path,
) -> Result<()> {
    copy_into_variables(vs.variables().into_iter().collect(), tensors, path)
}

/// Copies `tensors` into `variables` (shallow clones of some of a store's variables, by
/// name), with the checks of [`copy_into_var_store`]. `path` only labels the errors.
pub fn copy_into_variables(
    mut variables: BTreeMap<String, Tensor>,
    tensors: &BTreeMap<String, Tensor>,
    path: &Path,
) -> Result<()> {
    for (name, t) in tensors {
        let Some(var) = variables.get(name) else {
            return Err(ModelError::UnexpectedTensor {
                path: path.to_path_buf(),
                name: name.clone(),
                found: t.size(),
            });
        };
        if var.size() != t.size() {
            return Err(ModelError::ShapeMismatch {
                path: path.to_path_buf(),
                name: name.clone(),
                found: t.size(),
                expected: var.size(),
            });
        }
    }
    if let Some((name, var)) = variables
        .iter()
        .find(|(name, _)| !tensors.contains_key(*name))
    {
        return Err(ModelError::MissingTensor {
            path: path.to_path_buf(),
            name: name.clone(),
            expected: var.size(),
        });
    }
    let _guard = tch::no_grad_guard();
    for (name, var) in variables.iter_mut() {
        let src = &tensors[name];
        var.f_copy_(&src.to_device(var.device()).to_kind(var.kind()))?;
    }
    Ok(())
}

/// Loads a model folder that holds a JSON `config.json` and `model.safetensors`: `build`
/// makes the network from the config, the weights load strictly, and the store is frozen
/// (the feature network and the autoencoder, which are used, not trained, once loaded).
pub fn load_frozen<C: DeserializeOwned, M>(
    dir: &Path,
    device: tch::Device,
    build: impl FnOnce(nn::Path, &C) -> Result<M>,
) -> Result<(nn::VarStore, M)> {
    let cfg: C = read_json(&dir.join("config.json"))?;
    crate::device::keep_freed_memory();
    let mut vs = nn::VarStore::new(device);
    let model = build(vs.root(), &cfg)?;
    load_var_store(&vs, &dir.join("model.safetensors"))?;
    vs.freeze();
    Ok((vs, model))
}

/// Loads `path` into `vs` (see [`copy_into_var_store`] for the checks).
pub fn load_var_store(vs: &nn::VarStore, path: &Path) -> Result<()> {
    let tensors = load_tensors(path)?;
    copy_into_var_store(vs, &tensors, path)
}

/// Loads `path` into `vs` as [`load_var_store`] does, except that the variables named in
/// `new_modules` may be missing from the file: they keep the values `vs` was built with.
/// This grows a trained model by a module that starts as the identity (such as TinyDiT's
/// zero-initialised `final_conv`). Returns the names that kept their initial values.
pub fn load_var_store_growing(
    vs: &nn::VarStore,
    path: &Path,
    new_modules: &[&str],
) -> Result<Vec<String>> {
    let tensors = load_tensors(path)?;
    let (kept, variables): (BTreeMap<_, _>, BTreeMap<_, _>) = vs
        .variables()
        .into_iter()
        .partition(|(name, _)| new_modules.contains(&name.as_str()) && !tensors.contains_key(name));
    copy_into_variables(variables, &tensors, path)?;
    Ok(kept.into_keys().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn store(dim: i64) -> nn::VarStore {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let _ = (&root / "a").randn_standard("weight", &[dim, 3]);
        let _ = (&root / "b").zeros_no_train("running_mean", &[dim]);
        vs
    }

    #[test]
    fn round_trip_is_bit_exact() -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let src = store(4);
        save_var_store(&src, &path)?;
        let dst = store(4);
        load_var_store(&dst, &path)?;
        let (a, b) = (src.variables(), dst.variables());
        for (name, t) in &a {
            assert!(t.equal(&b[name]), "{name} differs after the round trip");
        }
        Ok(())
    }

    #[test]
    fn wrong_shape_is_refused_naming_tensor_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        save_var_store(&store(4), &path).unwrap();
        let err = load_var_store(&store(5), &path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::ShapeMismatch { .. }), "{msg}");
        assert!(
            msg.contains("a.weight") || msg.contains("b.running_mean"),
            "{msg}"
        );
        assert!(msg.contains("[4, 3]") || msg.contains("[4]"), "{msg}");
        assert!(msg.contains("[5, 3]") || msg.contains("[5]"), "{msg}");
    }

    #[test]
    fn missing_tensor_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let mut tensors: BTreeMap<String, Tensor> = store(4).variables().into_iter().collect();
        tensors.remove("a.weight");
        save_tensors(&path, &tensors).unwrap();
        let err = load_var_store(&store(4), &path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ModelError::MissingTensor { .. }), "{msg}");
        assert!(
            msg.contains("`a.weight`") && msg.contains("[4, 3]"),
            "{msg}"
        );
    }
}
