//! A run folder holds one run. `run.json` records what makes it that run (its run config,
//! model config and data); a fresh run refuses a folder that holds another one, and
//! `--resume` refuses to continue with other settings unless told to.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

/// The record of a run, beside its checkpoints.
pub const RUN_RECORD: &str = "run.json";

/// Settings a resumed session may change: they decide when the run pauses, logs, previews,
/// checkpoints or stops early, not what it computes.
const MAY_CHANGE: [&str; 8] = [
    "run.trainer.stop_at_step",
    "run.trainer.log_every",
    "run.trainer.keep_checkpoints",
    "run.trainer.checkpoint_every",
    "run.trainer.preview_every",
    "run.trainer.patience",
    "run.trainer.min_delta",
    "init_from",
];

/// What the data of a run is: `synth` with its size, or a folder with a fingerprint of its
/// files (relative paths and sizes of `train/` and `val/`).
pub fn data_identity(data: &Path, synth_per_class: u64) -> anyhow::Result<Value> {
    if data == Path::new("synth") {
        return Ok(serde_json::json!({ "source": "synth", "synth_per_class": synth_per_class }));
    }
    let root = data
        .canonicalize()
        .with_context(|| format!("--data {}", data.display()))?;
    let mut files = Vec::new();
    for split in ["train", "val"] {
        let dir = root.join(split);
        if dir.is_dir() {
            collect(&root, &dir, &mut files)?;
        }
    }
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325u64; // FNV-1a over "path\tsize\n" lines
    let mut bytes = 0u64;
    for (path, size) in &files {
        bytes += size;
        for b in format!("{path}\t{size}\n").bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(serde_json::json!({
        "source": root.display().to_string(),
        "files": files.len(),
        "bytes": bytes,
        "fingerprint": format!("{hash:016x}"),
    }))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((rel.to_string_lossy().into_owned(), meta.len()));
        }
    }
    Ok(())
}

/// What the user asked for the run folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Intent {
    pub resume: bool,
    pub overwrite: bool,
    pub force_resume: bool,
}

/// Makes `run_dir` ready for the run described by `record`, or refuses: a fresh run into a
/// folder that holds one (unless `overwrite`, which deletes that run's outputs), or a resume
/// whose settings differ from the recorded ones beyond [`MAY_CHANGE`] (unless `force_resume`).
pub fn prepare(run_dir: &Path, record: &Value, intent: Intent) -> anyhow::Result<()> {
    let record_path = run_dir.join(RUN_RECORD);
    let checkpoints = run_dir.join("checkpoints");
    // A run is what can be resumed: its checkpoints. A `run.json` alone is the record of a
    // start that failed or was stopped before its first checkpoint; a fresh start replaces it
    // rather than asking for `--overwrite`.
    let holds_run = std::fs::read_dir(&checkpoints).is_ok_and(|mut d| d.next().is_some());
    if !intent.resume && !holds_run && record_path.exists() && !intent.overwrite {
        println!(
            "note: {} holds the {RUN_RECORD} of a start that left no checkpoint; starting afresh",
            run_dir.display()
        );
    }
    if !intent.resume {
        if holds_run && !intent.overwrite {
            bail!(
                "{} already holds a run (checkpoints or {RUN_RECORD}); continue it with \
                 `--resume`, start a new one with another `--name`, or replace it with \
                 `--overwrite` (deletes its checkpoints, metrics and samples)",
                run_dir.display()
            );
        }
        if intent.overwrite {
            for dir in ["checkpoints", "samples"] {
                remove(&run_dir.join(dir), true)?;
            }
            for file in [RUN_RECORD, "metrics.csv"] {
                remove(&run_dir.join(file), false)?;
            }
        }
    } else if let Ok(text) =
        tinycats_core::fs::read_text_bounded(&record_path, tinycats_core::fs::CONFIG_LIMIT)
    {
        let stored: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", record_path.display()))?;
        let differs = differences(&stored, record);
        if !differs.is_empty() && !intent.force_resume {
            bail!(
                "--resume: this is not the run in {}; these settings differ from its {RUN_RECORD}:\n{}\n\
                 Start a new run with another `--name`, or pass `--force-resume` to continue \
                 this one with the new settings deliberately",
                run_dir.display(),
                differs.join("\n")
            );
        }
        for d in &differs {
            println!("--force-resume: continuing with {d}");
        }
    } else {
        println!(
            "note: {} has no {RUN_RECORD} (a run from an older tinycats): its settings cannot be \
             checked; recording the current ones",
            run_dir.display()
        );
    }
    std::fs::create_dir_all(run_dir)?;
    tinycats_models::io::write_json(&record_path, record)?;
    Ok(())
}

fn remove(path: &Path, dir: bool) -> anyhow::Result<()> {
    let result = if dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `  field: stored → current` for every leaf that differs, except those that may change.
fn differences(stored: &Value, current: &Value) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", stored, &mut a);
    flatten("", current, &mut b);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            !MAY_CHANGE
                .iter()
                .any(|m| k == m || k.starts_with(&format!("{m}.")))
        })
        .filter_map(|k| {
            let (x, y) = (a.get(k), b.get(k));
            (x != y).then(|| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
                format!("  {k}: {} → {}", show(x), show(y))
            })
        })
        .collect()
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(seed: u64, lr: f64, stop: Option<u64>) -> Value {
        json!({
            "kind": "generator",
            "run": { "trainer": { "seed": seed, "lr": lr, "stop_at_step": stop } },
            "data": { "source": "synth", "synth_per_class": 200 },
        })
    }

    fn fresh() -> Intent {
        Intent::default()
    }

    fn resume() -> Intent {
        Intent {
            resume: true,
            ..Intent::default()
        }
    }

    #[test]
    fn a_fresh_run_refuses_a_folder_that_holds_one() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("r");
        prepare(&run, &record(1, 1e-3, None), fresh()).unwrap();
        std::fs::create_dir_all(run.join("checkpoints/step-00000900")).unwrap();
        let err = prepare(&run, &record(1, 1e-3, None), fresh())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already holds a run") && err.contains("--overwrite"),
            "{err}"
        );
        // `--overwrite` deletes the old run's checkpoints, so they cannot outlive it.
        let overwrite = Intent {
            overwrite: true,
            ..fresh()
        };
        prepare(&run, &record(2, 1e-3, None), overwrite).unwrap();
        assert!(!run.join("checkpoints").exists());
    }

    #[test]
    fn a_start_that_left_no_checkpoint_does_not_block_the_retry() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("r");
        prepare(&run, &record(1, 1e-3, None), fresh()).unwrap();
        // The first start failed before any checkpoint: retrying with other settings works.
        prepare(&run, &record(2, 1e-3, None), fresh()).unwrap();
        let text = std::fs::read_to_string(run.join(RUN_RECORD)).unwrap();
        let stored: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(stored, record(2, 1e-3, None));
    }

    #[test]
    fn resume_refuses_other_settings_and_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("r");
        prepare(&run, &record(1, 1e-3, Some(100)), fresh()).unwrap();
        // Pausing elsewhere is fine; another seed or learning rate is another run.
        prepare(&run, &record(1, 1e-3, None), resume()).unwrap();
        let err = prepare(&run, &record(2, 5e-4, None), resume())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("run.trainer.seed: 1 → 2")
                && err.contains("run.trainer.lr: 0.001 → 0.0005")
                && err.contains("--force-resume"),
            "{err}"
        );
        let force = Intent {
            force_resume: true,
            ..resume()
        };
        prepare(&run, &record(2, 5e-4, None), force).unwrap();
        // The record now holds what the run continues with.
        prepare(&run, &record(2, 5e-4, None), resume()).unwrap();
    }

    #[test]
    fn a_data_folder_is_fingerprinted_by_its_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("train/Bengal")).unwrap();
        std::fs::write(dir.path().join("train/Bengal/a.png"), b"12345").unwrap();
        let before = data_identity(dir.path(), 0).unwrap();
        std::fs::write(dir.path().join("train/Bengal/b.png"), b"1").unwrap();
        let after = data_identity(dir.path(), 0).unwrap();
        assert_eq!(before["files"], 1);
        assert_ne!(before["fingerprint"], after["fingerprint"]);
        assert_eq!(
            data_identity(Path::new("synth"), 200).unwrap()["synth_per_class"],
            200
        );
    }
}
