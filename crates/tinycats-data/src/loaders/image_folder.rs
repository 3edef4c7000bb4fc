//! ImageFolder: `root/<class>/*.{jpg,jpeg,png,webp}`.
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::walk::{class_images, is_symlink_loop, retain_distinct_classes};
use super::{Dataset, FileProblem, ProblemKind, Sample};
use crate::error::{DataError, Result};
use tinycats_core::classes::{BREEDS, BreedMatch, NUM_CLASSES, match_breed};

/// How folder names become labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassMapping {
    /// Breed folders get their [`BREEDS`] id whatever folders exist (so a 13-class model
    /// lines up); other folders get ids from 13 on, in sorted order (new classes for
    /// fine-tuning).
    #[default]
    Canonical,
    /// Sorted folder names get ids 0.. (torchvision's ImageFolder).
    Sorted,
}

/// Options of [`image_folder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFolderOptions {
    pub mapping: ClassMapping,
    /// Keep going when a class folder has no images (it is reported in `skipped`).
    pub allow_empty_classes: bool,
}

/// Scans an ImageFolder tree. Bad files are skipped and listed in `Dataset::skipped`;
/// a missing root, no class folders, an empty class (unless allowed) or two folders
/// naming the same breed stop the scan with an error.
pub fn image_folder(root: &Path, opts: &ImageFolderOptions) -> Result<Dataset> {
    let rd = std::fs::read_dir(root).map_err(|e| DataError::io(root, e))?;
    let mut skipped = Vec::new();
    let mut notes = Vec::new();
    let mut class_dirs = BTreeMap::new();
    for entry in rd.filter_map(|e| e.ok()) {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            skipped.push(FileProblem {
                path: path.clone(),
                kind: ProblemKind::NonUtf8Name,
                detail: "class folder name is not valid UTF-8".into(),
            });
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(md) if md.is_dir() => {
                class_dirs.insert(name, path);
            }
            Ok(_) => {}
            Err(e) => skipped.push(FileProblem {
                kind: if is_symlink_loop(&e) {
                    ProblemKind::SymlinkLoop
                } else {
                    ProblemKind::Unreadable
                },
                path,
                detail: e.to_string(),
            }),
        }
    }
    retain_distinct_classes(root, &mut class_dirs, &mut skipped);
    if class_dirs.is_empty() {
        return Err(DataError::layout(
            root,
            "no class folders found",
            "put images in one folder per class: ROOT/<class>/*.jpg (e.g. ROOT/Siamese/001.jpg)",
        ));
    }

    // Labels.
    let mut label_of = BTreeMap::new();
    let mut classes: Vec<String> = Vec::new();
    match opts.mapping {
        ClassMapping::Sorted => {
            for name in class_dirs.keys() {
                label_of.insert(name.clone(), classes.len());
                classes.push(name.clone());
            }
        }
        ClassMapping::Canonical => {
            classes.extend(BREEDS.iter().map(|s| s.to_string()));
            let mut seen: BTreeMap<usize, String> = BTreeMap::new();
            for name in class_dirs.keys() {
                let id = match match_breed(name) {
                    BreedMatch::Exact(id) => {
                        if let Some(other) = seen.insert(id, name.clone()) {
                            return Err(DataError::layout(
                                root,
                                format!(
                                    "folders `{other}` and `{name}` both name the breed {}",
                                    BREEDS[id]
                                ),
                                "merge them into one folder",
                            ));
                        }
                        id
                    }
                    m => {
                        if let BreedMatch::Near(id) = m {
                            notes.push(format!(
                                "class folder `{name}` matches no breed; did you mean `{}`? (treated as a new class)",
                                BREEDS[id]
                            ));
                        }
                        classes.push(name.clone());
                        classes.len() - 1
                    }
                };
                label_of.insert(name.clone(), id);
            }
            if classes.len() > NUM_CLASSES {
                notes.push(format!(
                    "{} class(es) beyond the 13 breeds: {}",
                    classes.len() - NUM_CLASSES,
                    classes[NUM_CLASSES..].join(", ")
                ));
            }
        }
    }

    let mut samples = Vec::new();
    let mut visited = HashSet::new();
    for (name, dir) in &class_dirs {
        let mut files = Vec::new();
        class_images(dir, &mut visited, &mut files, &mut skipped);
        if files.is_empty() {
            if !opts.allow_empty_classes {
                return Err(DataError::layout(
                    dir,
                    format!("class folder `{name}` has no images (.jpg, .jpeg, .png, .webp)"),
                    "add images to it or delete it",
                ));
            }
            skipped.push(FileProblem {
                path: dir.clone(),
                kind: ProblemKind::EmptyClass,
                detail: format!("class `{name}` has no images"),
            });
        }
        let label = label_of[name];
        samples.extend(files.into_iter().map(|path| Sample { path, label }));
    }
    Ok(Dataset {
        root: root.to_path_buf(),
        classes,
        samples,
        skipped,
        notes,
    })
}
