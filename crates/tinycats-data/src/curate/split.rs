//! `split`: a seeded, stratified train/val/test split that copies files.
use std::fmt;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::AtomicDir;
use crate::error::{DataError, Result};
use crate::loaders::{ClassMapping, ImageFolderOptions, image_folder};
use crate::synth::mix64;

/// Split fractions; train gets the rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitOptions {
    pub val: f32,
    pub test: f32,
    pub seed: u64,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            val: 0.15,
            test: 0.15,
            seed: 0,
        }
    }
}

/// Images per class and split, and where they went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    pub out: PathBuf,
    /// `(class, train, val, test)`.
    pub counts: Vec<(String, usize, usize, usize)>,
}

/// Name of the CSV listing every copy (`split,class,source,dest`).
pub const SPLIT_MANIFEST: &str = "split.csv";

/// Copies the ImageFolder `root` into `out/{train,val,test}/<class>/`, stratified per
/// class and seeded. The source is never modified; `out` appears complete or not at all.
/// Every class keeps at least one training image.
pub fn split(root: &Path, out: &Path, opts: &SplitOptions) -> Result<SplitSummary> {
    let (v, t) = (opts.val, opts.test);
    if !(0.0..1.0).contains(&v) || !(0.0..1.0).contains(&t) || v + t >= 1.0 {
        return Err(DataError::config(
            "val/test",
            format!("{v}/{t}"),
            "use fractions in [0, 1) whose sum is below 1, e.g. --val 0.15 --test 0.15",
        ));
    }
    let ds = image_folder(
        root,
        &ImageFolderOptions {
            mapping: ClassMapping::Sorted,
            allow_empty_classes: false,
        },
    )?;
    let dir = AtomicDir::new(out)?;
    let mut counts = Vec::new();
    let manifest_path = dir.path().join(SPLIT_MANIFEST);
    let mut manifest = csv::Writer::from_path(&manifest_path).map_err(|e| DataError::Csv {
        path: manifest_path.clone(),
        cause: e,
    })?;
    manifest
        .write_record(["split", "class", "source", "dest"])
        .map_err(|e| DataError::Csv {
            path: manifest_path.clone(),
            cause: e,
        })?;
    for (label, class) in ds.classes.iter().enumerate() {
        let mut files: Vec<&PathBuf> = ds
            .samples
            .iter()
            .filter(|s| s.label == label)
            .map(|s| &s.path)
            .collect();
        files.sort();
        let key = class.bytes().fold(opts.seed, |h, b| mix64(h ^ b as u64));
        files.shuffle(&mut ChaCha8Rng::seed_from_u64(key));
        let n = files.len();
        let n_test = ((n as f32 * t).round() as usize).min(n.saturating_sub(1));
        let n_val = ((n as f32 * v).round() as usize).min(n - 1 - n_test);
        let parts = [
            ("test", &files[..n_test]),
            ("val", &files[n_test..n_test + n_val]),
            ("train", &files[n_test + n_val..]),
        ];
        for (split, part) in parts {
            let d = dir.path().join(split).join(class);
            std::fs::create_dir_all(&d).map_err(|e| DataError::io(&d, e))?;
            for src in part {
                let rel = src.strip_prefix(root.join(class)).unwrap_or(src);
                let flat = rel.to_string_lossy().replace(['/', '\\'], "_");
                let dest = d.join(&flat);
                std::fs::copy(src, &dest).map_err(|e| DataError::io(src.as_path(), e))?;
                let dest_rel = Path::new(split).join(class).join(&flat);
                manifest
                    .write_record([
                        split,
                        class.as_str(),
                        &src.to_string_lossy(),
                        &dest_rel.to_string_lossy(),
                    ])
                    .map_err(|e| DataError::Csv {
                        path: manifest_path.clone(),
                        cause: e,
                    })?;
            }
        }
        counts.push((class.clone(), n - n_test - n_val, n_val, n_test));
    }
    manifest
        .flush()
        .map_err(|e| DataError::io(&manifest_path, e))?;
    drop(manifest);
    Ok(SplitSummary {
        out: dir.finish()?,
        counts,
    })
}

impl fmt::Display for SplitSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .counts
            .iter()
            .map(|c| c.0.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<w$}  {:>6}  {:>6}  {:>6}",
            "class", "train", "val", "test"
        )?;
        for (c, tr, va, te) in &self.counts {
            writeln!(f, "{c:<w$}  {tr:>6}  {va:>6}  {te:>6}")?;
        }
        write!(f, "copied into {}", self.out.display())
    }
}
