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
use tinycats_core::seed::{derive, name_id};

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
    let mut manifest = Manifest::create(dir.path())?;
    let mut counts = Vec::new();
    for (label, class) in ds.classes.iter().enumerate() {
        let mut files: Vec<&PathBuf> = ds
            .samples
            .iter()
            .filter(|s| s.label == label)
            .map(|s| &s.path)
            .collect();
        shuffle_class(&mut files, class, opts.seed);
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
                manifest.copy(dir.path(), split, class, src, &flat)?;
            }
        }
        counts.push((class.clone(), n - n_test - n_val, n_val, n_test));
    }
    manifest.finish()?;
    Ok(SplitSummary {
        out: dir.finish()?,
        counts,
    })
}

/// Sorts `files`, then shuffles them with a key made of `seed` and the class name, so that
/// a class's draw does not depend on which other classes exist.
pub(super) fn shuffle_class<T: Ord>(files: &mut [T], class: &str, seed: u64) {
    files.sort();
    let key = derive(seed, &[name_id(class)]);
    files.shuffle(&mut ChaCha8Rng::seed_from_u64(key));
}

/// The [`SPLIT_MANIFEST`] of a split folder being written; copies and lists each file.
pub(super) struct Manifest {
    path: PathBuf,
    csv: csv::Writer<std::fs::File>,
}

impl Manifest {
    /// Creates `dir/split.csv` with its header row.
    pub(super) fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(SPLIT_MANIFEST);
        let csv = csv::Writer::from_path(&path).map_err(|e| DataError::Csv {
            path: path.clone(),
            cause: e,
        })?;
        let mut manifest = Self { path, csv };
        manifest.record(["split", "class", "source", "dest"])?;
        Ok(manifest)
    }

    /// Copies `src` to `dir/<split>/<class>/<name>` and lists it.
    pub(super) fn copy(
        &mut self,
        dir: &Path,
        split: &str,
        class: &str,
        src: &Path,
        name: &str,
    ) -> Result<()> {
        let d = dir.join(split).join(class);
        std::fs::create_dir_all(&d).map_err(|e| DataError::io(&d, e))?;
        std::fs::copy(src, d.join(name)).map_err(|e| DataError::io(src, e))?;
        let dest = Path::new(split).join(class).join(name);
        self.record([
            split,
            class,
            &src.to_string_lossy(),
            &dest.to_string_lossy(),
        ])
    }

    fn record(&mut self, row: [&str; 4]) -> Result<()> {
        self.csv.write_record(row).map_err(|e| DataError::Csv {
            path: self.path.clone(),
            cause: e,
        })
    }

    pub(super) fn finish(mut self) -> Result<()> {
        self.csv.flush().map_err(|e| DataError::io(&self.path, e))
    }
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
