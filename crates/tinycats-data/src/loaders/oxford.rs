//! Oxford-IIIT Pet (Parkhi et al., 2012) in its official layout:
//! `images/<name>.jpg`, `annotations/list.txt` (six `#` header lines, then
//! `name class_id species breed_id`; species 1 = cat, 2 = dog), and the official split
//! in `annotations/trainval.txt` and `annotations/test.txt` (same columns, no header).
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Dataset, FileProblem, ProblemKind, Sample};
use crate::error::{DataError, Result};
use tinycats_core::classes::{BREEDS, OTHER};

/// The 25 dog breeds of Oxford-IIIT Pet (breed ids 1..=25 in this order); they map to `Other`.
pub const OXFORD_DOG_BREEDS: [&str; 25] = [
    "american_bulldog",
    "american_pit_bull_terrier",
    "basset_hound",
    "beagle",
    "boxer",
    "chihuahua",
    "english_cocker_spaniel",
    "english_setter",
    "german_shorthaired",
    "great_pyrenees",
    "havanese",
    "japanese_chin",
    "keeshond",
    "leonberger",
    "miniature_pinscher",
    "newfoundland",
    "pomeranian",
    "pug",
    "saint_bernard",
    "samoyed",
    "scottish_terrier",
    "shiba_inu",
    "staffordshire_bull_terrier",
    "wheaten_terrier",
    "yorkshire_terrier",
];

/// Options of [`oxford_pet`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OxfordOptions {
    /// Keep dogs (as `Other`).
    pub include_dogs: bool,
    /// Cap the dogs of each split at `ratio ×` the mean size of a cat class (seeded
    /// choice); `None` keeps all 25 breeds' worth (about twice the cats).
    pub other_ratio: Option<f32>,
    pub seed: u64,
}

impl Default for OxfordOptions {
    fn default() -> Self {
        Self {
            include_dogs: true,
            other_ratio: Some(1.0),
            seed: 0,
        }
    }
}

/// The official split, relabelled to the 13 classes.
#[derive(Debug, Clone, PartialEq)]
pub struct OxfordPet {
    pub trainval: Dataset,
    pub test: Dataset,
}

/// One parsed annotation line.
#[derive(Debug, Clone, Copy)]
struct Entry {
    label: usize,
}

fn parse_line(line: &str, file: &Path, lineno: usize) -> Result<Option<(String, Entry)>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let bad = |why: String| {
        DataError::layout(
            file,
            format!("line {lineno}: {why}: `{line}`"),
            "each line must read `NAME CLASS_ID SPECIES BREED_ID` (e.g. `Abyssinian_100 1 1 1`) as in the official annotations",
        )
    };
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 4 {
        return Err(bad(format!("expected 4 columns, found {}", fields.len())));
    }
    let num = |i: usize| {
        fields[i]
            .parse::<usize>()
            .map_err(|_| bad(format!("column {} is not a number", i + 1)))
    };
    let (class_id, species, breed) = (num(1)?, num(2)?, num(3)?);
    if !(1..=37).contains(&class_id) {
        return Err(bad(format!("class id {class_id} is outside 1..=37")));
    }
    let name = fields[0];
    let stem = name.rsplit_once('_').map_or(name, |(b, idx)| {
        if idx.chars().all(|c| c.is_ascii_digit()) {
            b
        } else {
            name
        }
    });
    let label = match species {
        1 => {
            let id = BREEDS[..OTHER]
                .iter()
                .position(|b| *b == stem)
                .ok_or_else(|| bad(format!("`{stem}` is not one of the 12 cat breeds")))?;
            if breed != id + 1 {
                return Err(bad(format!(
                    "breed id {breed} does not match {stem} (expected {})",
                    id + 1
                )));
            }
            id
        }
        2 => {
            let id = OXFORD_DOG_BREEDS
                .iter()
                .position(|b| *b == stem)
                .ok_or_else(|| bad(format!("`{stem}` is not one of the 25 dog breeds")))?;
            if breed != id + 1 {
                return Err(bad(format!(
                    "breed id {breed} does not match {stem} (expected {})",
                    id + 1
                )));
            }
            OTHER
        }
        s => return Err(bad(format!("species {s} is neither 1 (cat) nor 2 (dog)"))),
    };
    Ok(Some((name.to_string(), Entry { label })))
}

fn read_list(path: &Path) -> Result<Vec<(String, Entry)>> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(e) = parse_line(line, path, i + 1)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Loads Oxford-IIIT Pet from `root` (the folder holding `images/` and `annotations/`).
pub fn oxford_pet(root: &Path, opts: &OxfordOptions) -> Result<OxfordPet> {
    let ann = root.join("annotations");
    let images = root.join("images");
    if !images.is_dir() || !ann.is_dir() {
        return Err(DataError::layout(
            root,
            "not an Oxford-IIIT Pet folder (needs images/ and annotations/)",
            "extract images.tar.gz and annotations.tar.gz into the same folder and point at it",
        ));
    }
    let list: HashMap<String, Entry> = read_list(&ann.join("list.txt"))?.into_iter().collect();
    let split = |file: &str| -> Result<Dataset> {
        let path = ann.join(file);
        let mut samples = Vec::new();
        let mut skipped = Vec::new();
        let mut dogs = Vec::new();
        for (name, entry) in read_list(&path)? {
            if let Some(listed) = list.get(&name)
                && listed.label != entry.label
            {
                return Err(DataError::layout(
                    &path,
                    format!(
                        "{name} is labelled {} here but {} in list.txt",
                        BREEDS[entry.label], BREEDS[listed.label]
                    ),
                    "restore the official annotation files",
                ));
            }
            let img: PathBuf = images.join(format!("{name}.jpg"));
            match std::fs::metadata(&img) {
                Ok(md) if md.len() == 0 => skipped.push(FileProblem {
                    path: img,
                    kind: ProblemKind::EmptyFile,
                    detail: "file is 0 bytes".into(),
                }),
                Ok(_) if entry.label == OTHER => dogs.push(Sample {
                    path: img,
                    label: OTHER,
                }),
                Ok(_) => samples.push(Sample {
                    path: img,
                    label: entry.label,
                }),
                Err(e) => skipped.push(FileProblem {
                    path: img,
                    kind: ProblemKind::MissingFile,
                    detail: e.to_string(),
                }),
            }
        }
        let mut notes = Vec::new();
        if opts.include_dogs {
            if let Some(ratio) = opts.other_ratio {
                let cap = ((samples.len() as f32 / OTHER as f32) * ratio).round() as usize;
                if dogs.len() > cap {
                    notes.push(format!(
                        "kept {cap} of {} dog images as `Other` (other_ratio = {ratio})",
                        dogs.len()
                    ));
                    dogs.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed));
                    dogs.truncate(cap);
                    dogs.sort_by(|a, b| a.path.cmp(&b.path));
                }
            }
            samples.extend(dogs);
        }
        Ok(Dataset {
            root: root.to_path_buf(),
            classes: BREEDS.iter().map(|s| s.to_string()).collect(),
            samples,
            skipped,
            notes,
        })
    };
    Ok(OxfordPet {
        trainval: split("trainval.txt")?,
        test: split("test.txt")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_skipped_and_labels_follow_species() {
        let p = Path::new("list.txt");
        assert!(
            parse_line("#Image CLASS-ID SPECIES BREED ID", p, 1)
                .unwrap()
                .is_none()
        );
        let (name, e) = parse_line("British_Shorthair_101 10 1 5", p, 7)
            .unwrap()
            .unwrap();
        assert_eq!((name.as_str(), e.label), ("British_Shorthair_101", 4));
        let (_, e) = parse_line("yorkshire_terrier_1 37 2 25", p, 8)
            .unwrap()
            .unwrap();
        assert_eq!(e.label, OTHER);
    }

    #[test]
    fn malformed_lines_name_the_line_and_the_fix() {
        let p = Path::new("list.txt");
        let err = parse_line("Bengal_1 6 1", p, 12).unwrap_err().to_string();
        assert!(
            err.contains("line 12") && err.contains("4 columns") && err.contains("NAME CLASS_ID"),
            "{err}"
        );
        let err = parse_line("Bengal_1 6 1 3", p, 13).unwrap_err().to_string();
        assert!(err.contains("breed id 3"), "{err}");
        assert!(parse_line("Bengal_1 6 3 2", p, 14).is_err());
    }
}
