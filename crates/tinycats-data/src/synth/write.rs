//! Writing SynthCats to disk: ImageFolder layout plus `manifest.csv`, atomically.
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{BreedSpec, SampleAttributes, SynthCats};
use crate::error::{DataError, Result};

/// Name of the manifest written at the dataset root.
pub const MANIFEST: &str = "manifest.csv";

/// What [`SynthCats::write_dataset`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSummary {
    pub root: PathBuf,
    pub manifest: PathBuf,
    pub images: usize,
    pub classes: usize,
}

impl SynthCats {
    /// Writes `per_class` images of each of the 13 presets to `out_dir` in ImageFolder
    /// layout (`out_dir/<Breed>/<Breed>_00000.png`) with a `manifest.csv` of what was
    /// drawn. See [`SynthCats::write_specs`].
    pub fn write_dataset(&self, out_dir: &Path, per_class: u64) -> Result<WriteSummary> {
        self.write_specs(out_dir, &self.presets, per_class)
    }

    /// Writes `per_class` images of each spec. The folder appears complete or not at all:
    /// everything is written into a temporary sibling folder that is renamed at the end.
    /// `out_dir` must not exist, or be empty.
    pub fn write_specs(
        &self,
        out_dir: &Path,
        specs: &[BreedSpec],
        per_class: u64,
    ) -> Result<WriteSummary> {
        if per_class == 0 {
            return Err(DataError::config(
                "per_class",
                0,
                "write at least one image per class",
            ));
        }
        if let Ok(mut entries) = std::fs::read_dir(out_dir)
            && entries.next().is_some()
        {
            return Err(DataError::layout(
                out_dir,
                "output folder exists and is not empty",
                "choose a new --out folder or delete this one",
            ));
        }
        let parent = match out_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| DataError::io(&parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".synthcats-")
            .tempdir_in(&parent)
            .map_err(|e| DataError::io(&parent, e))?;
        for spec in specs {
            let dir = tmp.path().join(&spec.name);
            std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        }
        let jobs: Vec<(usize, u64)> = (0..specs.len())
            .flat_map(|c| (0..per_class).map(move |i| (c, i)))
            .collect();
        let rows: Vec<SampleAttributes> = jobs
            .par_iter()
            .map(|&(c, i)| {
                let spec = &specs[c];
                let (img, mut attrs) = self.render_spec_with_attributes(spec, i);
                let rel = format!("{}/{}_{i:05}.png", spec.name, spec.name);
                let path = tmp.path().join(&rel);
                img.save(&path).map_err(|e| {
                    DataError::layout(
                        &path,
                        format!("cannot write PNG: {e}"),
                        "check free disk space and permissions",
                    )
                })?;
                attrs.file = rel;
                if attrs.class_id >= crate::NUM_CLASSES {
                    attrs.class_id = crate::NUM_CLASSES + c;
                }
                Ok(attrs)
            })
            .collect::<Result<_>>()?;
        let manifest_tmp = tmp.path().join(MANIFEST);
        let mut w = csv::Writer::from_path(&manifest_tmp).map_err(|e| DataError::Csv {
            path: manifest_tmp.clone(),
            cause: e,
        })?;
        for row in &rows {
            w.serialize(row).map_err(|e| DataError::Csv {
                path: manifest_tmp.clone(),
                cause: e,
            })?;
        }
        w.flush().map_err(|e| DataError::io(&manifest_tmp, e))?;
        drop(w);
        if out_dir.exists() {
            std::fs::remove_dir(out_dir).map_err(|e| DataError::io(out_dir, e))?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, out_dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            DataError::io(out_dir, e)
        })?;
        Ok(WriteSummary {
            root: out_dir.to_path_buf(),
            manifest: out_dir.join(MANIFEST),
            images: rows.len(),
            classes: specs.len(),
        })
    }
}

/// Reads a SynthCats manifest back.
pub fn read_manifest(path: &Path) -> Result<Vec<SampleAttributes>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| DataError::Csv {
        path: path.to_path_buf(),
        cause: e,
    })?;
    r.deserialize()
        .map(|row| {
            row.map_err(|e| DataError::Csv {
                path: path.to_path_buf(),
                cause: e,
            })
        })
        .collect()
}
