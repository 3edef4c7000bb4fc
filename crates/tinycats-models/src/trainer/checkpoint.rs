//! Checkpoints: `checkpoints/step-XXXXXXXX/{model, ema, optimizer}.safetensors` plus
//! `state.json` (step, data position, optimiser and EMA counters, early-stopping state).
//! A checkpoint is written into a temporary folder and renamed into place, so a crash
//! mid-write never leaves a checkpoint that looks complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::early_stopping::EarlyStopping;
use crate::error::{ModelError, Result};
use crate::io;

/// The counters a resumed run needs besides the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser steps completed.
    pub step: u64,
    /// Epoch of the next training batch.
    pub epoch: u64,
    /// Index within the epoch of the next training batch.
    pub batch_index: usize,
    /// The run's seed (each step reseeds the RNG from it and the step number).
    pub seed: u64,
    /// EMA updates applied (`None` when the run keeps no EMA).
    pub ema_updates: Option<u64>,
    pub early_stopping: EarlyStopping,
    /// Steps whose update was skipped because a gradient was NaN or infinite.
    #[serde(default)]
    pub skipped_steps: u64,
}

/// Everything in one checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    pub state: TrainState,
    pub model: BTreeMap<String, Tensor>,
    pub ema: Option<BTreeMap<String, Tensor>>,
    pub optimizer: BTreeMap<String, Tensor>,
    pub dir: PathBuf,
}

fn step_dir(root: &Path, step: u64) -> PathBuf {
    root.join(format!("step-{step:08}"))
}

/// Writes a checkpoint under `root` and keeps only the newest `keep`; returns its folder.
pub fn save(
    root: &Path,
    state: &TrainState,
    model: &BTreeMap<String, Tensor>,
    ema: Option<&BTreeMap<String, Tensor>>,
    optimizer: &BTreeMap<String, Tensor>,
    keep: usize,
) -> Result<PathBuf> {
    std::fs::create_dir_all(root).map_err(ModelError::io(root))?;
    let dir = step_dir(root, state.step);
    let tmp = root.join(format!(".partial-step-{:08}", state.step));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(ModelError::io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(ModelError::io(&tmp))?;
    io::save_tensors(&tmp.join("model.safetensors"), model)?;
    if let Some(ema) = ema {
        io::save_tensors(&tmp.join("ema.safetensors"), ema)?;
    }
    io::save_tensors(&tmp.join("optimizer.safetensors"), optimizer)?;
    io::write_json(&tmp.join("state.json"), state)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(ModelError::io(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(ModelError::io(&dir))?;
    let all = list(root)?;
    for (_, old) in all.iter().take(all.len().saturating_sub(keep.max(1))) {
        std::fs::remove_dir_all(old).map_err(ModelError::io(old))?;
    }
    Ok(dir)
}

/// Complete checkpoints under `root`, oldest first.
pub fn list(root: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(out);
    };
    for entry in entries {
        let entry = entry.map_err(ModelError::io(root))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(step) = name.strip_prefix("step-").and_then(|s| s.parse().ok())
            && entry.path().join("state.json").exists()
        {
            out.push((step, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Loads the newest complete checkpoint under `root`.
pub fn load_latest(root: &Path) -> Result<Checkpoint> {
    let (_, dir) = list(root)?.pop().ok_or_else(|| ModelError::NoCheckpoint {
        path: root.to_path_buf(),
    })?;
    load(&dir)
}

/// Loads the checkpoint in `dir`. Weights that are not all finite are refused: the trainer
/// never writes them, so such a file was damaged or made elsewhere, and resuming from it
/// would fail at the first step with a loss that blames the learning rate.
pub fn load(dir: &Path) -> Result<Checkpoint> {
    let state: TrainState = io::read_json(&dir.join("state.json"))?;
    let read = |name: &str| -> Result<BTreeMap<String, Tensor>> {
        let path = dir.join(name);
        let tensors = io::load_tensors(&path)?;
        if let Some((tensor, _)) = tensors
            .iter()
            .find(|(_, t)| t.is_floating_point() && t.isfinite().all().int64_value(&[]) == 0)
        {
            return Err(ModelError::NonFiniteCheckpoint {
                path,
                tensor: tensor.clone(),
            });
        }
        Ok(tensors)
    };
    Ok(Checkpoint {
        model: read("model.safetensors")?,
        ema: if dir.join("ema.safetensors").exists() {
            Some(read("ema.safetensors")?)
        } else {
            None
        },
        optimizer: read("optimizer.safetensors")?,
        state,
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn round_trip_is_bit_exact_and_old_checkpoints_are_pruned() -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let t = |seed: i64| {
            tch::manual_seed(seed);
            Tensor::randn([3, 4], (Kind::Float, Device::Cpu))
        };
        let model: BTreeMap<String, Tensor> = [("w".to_string(), t(1))].into();
        let ema: BTreeMap<String, Tensor> = [("w".to_string(), t(2))].into();
        let opt: BTreeMap<String, Tensor> = [("exp_avg.w".to_string(), t(3))].into();
        let mut state = TrainState {
            step: 0,
            epoch: 1,
            batch_index: 7,
            seed: 42,
            ema_updates: Some(9),
            early_stopping: EarlyStopping {
                patience: 10,
                min_delta: 0.0,
                best: Some(0.123456789),
                bad_evals: 2,
                best_step: Some(8),
            },
            skipped_steps: 1,
        };
        for step in [10, 20, 30] {
            state.step = step;
            save(dir.path(), &state, &model, Some(&ema), &opt, 2)?;
        }
        let steps: Vec<u64> = list(dir.path())?.into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, [20, 30]);
        let ck = load_latest(dir.path())?;
        assert_eq!(ck.state, state);
        assert!(ck.model["w"].equal(&model["w"]));
        assert!(ck.ema.unwrap()["w"].equal(&ema["w"]));
        assert!(ck.optimizer["exp_avg.w"].equal(&opt["exp_avg.w"]));
        Ok(())
    }

    #[test]
    fn a_checkpoint_with_nan_weights_is_refused_naming_the_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let w = Tensor::from_slice(&[1.0f32, f32::NAN, 3.0]);
        let model: BTreeMap<String, Tensor> = [("blocks.0.w".to_string(), w)].into();
        let state = TrainState {
            step: 5,
            epoch: 0,
            batch_index: 5,
            seed: 0,
            ema_updates: None,
            early_stopping: EarlyStopping::new(0, 0.0),
            skipped_steps: 0,
        };
        save(dir.path(), &state, &model, None, &BTreeMap::new(), 1).unwrap();
        let err = load_latest(dir.path()).unwrap_err();
        assert!(
            matches!(err, ModelError::NonFiniteCheckpoint { .. }),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("step-00000005/model.safetensors"), "{msg}");
        assert!(msg.contains("blocks.0.w"), "{msg}");
    }
}
