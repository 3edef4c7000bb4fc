//! `import_oxford`: Oxford-IIIT Pet in its official layout, copied into the split folders
//! that [`split`](super::split) writes (`train/`, `val/`, `test/` of the 13 classes and
//! `split.csv`). `test/` is the official test split; `val/` is a seeded, stratified draw
//! from the official `trainval`.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AtomicDir;
use super::split::{Manifest, SplitSummary, shuffle_class};
use crate::error::{DataError, Result};
use crate::loaders::{Dataset, FileProblem, OxfordOptions, oxford_pet};

/// Where the dataset comes from, for error messages.
const DOWNLOAD: &str = "download images.tar.gz and annotations.tar.gz from \
https://www.robots.ox.ac.uk/~vgg/data/pets/ and extract both into";

/// Options of [`import_oxford`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImportOxfordOptions {
    /// Fraction of each class of the official `trainval` held out as `val/`.
    pub val: f32,
    /// Keep the 25 dog breeds, as `Other`.
    pub include_dogs: bool,
    /// Cap the dogs of each split at `ratio ×` the mean size of a cat class (seeded
    /// choice); `None` keeps them all (see [`OxfordOptions::other_ratio`]).
    pub other_ratio: Option<f32>,
    /// Seed of the validation draw and of the choice of dogs.
    pub seed: u64,
}

impl Default for ImportOxfordOptions {
    fn default() -> Self {
        Self {
            val: 0.1,
            include_dogs: true,
            other_ratio: OxfordOptions::default().other_ratio,
            seed: 0,
        }
    }
}

/// What [`import_oxford`] copied, and what it left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Images per class and split, and the output folder.
    pub split: SplitSummary,
    /// Listed images that were missing or empty, so not copied.
    pub skipped: Vec<FileProblem>,
    /// Remarks for the user (dogs left out, classes without a validation image).
    pub notes: Vec<String>,
}

/// Copies Oxford-IIIT Pet from `root` (the folder holding `images/` and `annotations/`)
/// into `out/{train,val,test}/<class>/`, with the 13 class names of [`crate::BREEDS`] and
/// the manifest of [`split`](super::split). The source is never modified; `out` appears
/// complete or not at all. Every class with images keeps at least one for training.
pub fn import_oxford(root: &Path, out: &Path, opts: &ImportOxfordOptions) -> Result<ImportSummary> {
    if !(0.0..1.0).contains(&opts.val) {
        return Err(DataError::config(
            "val",
            opts.val,
            "use a fraction in [0, 1), e.g. --val 0.1",
        ));
    }
    if let Some(r) = opts.other_ratio
        && !(r >= 0.0 && r.is_finite())
    {
        return Err(DataError::config(
            "other_ratio",
            r,
            "use a ratio of at least 0, e.g. --other-ratio 1 (a large value keeps every dog)",
        ));
    }
    if !root.is_dir() {
        return Err(DataError::layout(
            root,
            "not a folder",
            format!("{DOWNLOAD} a folder and pass that folder"),
        ));
    }
    let needed = [
        PathBuf::from("images"),
        Path::new("annotations").join("list.txt"),
        Path::new("annotations").join("trainval.txt"),
        Path::new("annotations").join("test.txt"),
    ];
    for rel in &needed {
        let path = root.join(rel);
        if !path.exists() {
            return Err(DataError::layout(
                &path,
                "missing: Oxford-IIIT Pet needs images/*.jpg and annotations/{list,trainval,test}.txt",
                format!("{DOWNLOAD} {}", root.display()),
            ));
        }
    }
    let pet = oxford_pet(
        root,
        &OxfordOptions {
            include_dogs: opts.include_dogs,
            other_ratio: opts.other_ratio,
            seed: opts.seed,
        },
    )?;

    let dir = AtomicDir::new(out)?;
    let mut manifest = Manifest::create(dir.path())?;
    let mut counts = Vec::new();
    let mut no_val = Vec::new();
    for (label, class) in pet.trainval.classes.iter().enumerate() {
        let of_class = |ds: &Dataset| -> Vec<PathBuf> {
            ds.samples
                .iter()
                .filter(|s| s.label == label)
                .map(|s| s.path.clone())
                .collect()
        };
        let mut trainval = of_class(&pet.trainval);
        let mut test = of_class(&pet.test);
        shuffle_class(&mut trainval, class, opts.seed);
        test.sort();
        let n = trainval.len();
        let n_val = ((n as f32 * opts.val).round() as usize).min(n.saturating_sub(1));
        if n_val == 0 && n > 0 && opts.val > 0.0 {
            no_val.push(format!("{class} ({n})"));
        }
        let (val, train) = trainval.split_at(n_val);
        for (split, part) in [("train", train), ("val", val), ("test", &test[..])] {
            for src in part {
                let name = src
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                manifest.copy(dir.path(), split, class, src, &name)?;
            }
        }
        counts.push((class.clone(), train.len(), val.len(), test.len()));
    }
    manifest.finish()?;

    let mut notes: Vec<String> = [("trainval", &pet.trainval), ("test", &pet.test)]
        .iter()
        .flat_map(|(split, ds)| ds.notes.iter().map(move |n| format!("{split}: {n}")))
        .collect();
    if !no_val.is_empty() {
        notes.push(format!(
            "no validation image for {} (too few trainval images for val = {}); \
             raise the fraction or add images",
            no_val.join(", "),
            opts.val
        ));
    }
    let mut skipped = pet.trainval.skipped;
    skipped.extend(pet.test.skipped);
    Ok(ImportSummary {
        split: SplitSummary {
            out: dir.finish()?,
            counts,
        },
        skipped,
        notes,
    })
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.split)?;
        for n in &self.notes {
            write!(f, "\nnote: {n}")?;
        }
        if !self.skipped.is_empty() {
            write!(
                f,
                "\nskipped {} listed image(s), not copied:",
                self.skipped.len()
            )?;
            for p in &self.skipped {
                write!(f, "\n  {p}")?;
            }
        }
        Ok(())
    }
}
