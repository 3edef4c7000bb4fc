//! Real-data loaders: Oxford-IIIT Pet in its official layout, and ImageFolder.
//!
//! Scanning checks names and sizes but does not decode: `tinycats data check` decodes
//! every file, and the [`crate::Loader`] reports a file that fails to decode by name.
mod image_folder;
mod oxford;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::problem::{FileProblem, ProblemKind};
pub use image_folder::{ClassMapping, ImageFolderOptions, image_folder};
pub use oxford::{OXFORD_DOG_BREEDS, OxfordOptions, OxfordPet, oxford_pet};

use crate::decode::has_image_extension;

/// One labelled image file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub path: PathBuf,
    pub label: usize,
}

/// A labelled list of image files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub root: PathBuf,
    /// Class names, index = label.
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// Files and folders that were left out, each with its reason.
    pub skipped: Vec<FileProblem>,
    /// Remarks for the user, e.g. "did you mean" suggestions.
    pub notes: Vec<String>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Images per class, indexed by label.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in &self.samples {
            counts[s.label] += 1;
        }
        counts
    }
}

pub(crate) fn is_symlink_loop(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ELOOP: i32 = 40;
    #[cfg(not(target_os = "linux"))]
    const ELOOP: i32 = 62;
    e.raw_os_error() == Some(ELOOP)
}

/// Collects image files under `dir` recursively (sorted, symlinks followed once),
/// reporting non-UTF-8 names, empty files, unreadable entries and symlink loops.
pub(crate) fn collect_images(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<FileProblem>,
) {
    let problem = |path: &Path, kind, detail: String| FileProblem {
        path: path.to_path_buf(),
        kind,
        detail,
    };
    match std::fs::canonicalize(dir) {
        Ok(canon) => {
            if !visited.insert(canon) {
                problems.push(problem(
                    dir,
                    ProblemKind::SymlinkLoop,
                    "folder was already visited through another path".into(),
                ));
                return;
            }
        }
        Err(e) => {
            let kind = if is_symlink_loop(&e) {
                ProblemKind::SymlinkLoop
            } else {
                ProblemKind::Unreadable
            };
            problems.push(problem(dir, kind, e.to_string()));
            return;
        }
    }
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) => {
            problems.push(problem(dir, ProblemKind::Unreadable, e.to_string()));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name() else {
            continue;
        };
        if name.to_str().is_none() {
            problems.push(problem(
                &path,
                ProblemKind::NonUtf8Name,
                format!("name {} is not valid UTF-8", name.to_string_lossy()),
            ));
            continue;
        }
        match std::fs::metadata(&path) {
            Err(e) if is_symlink_loop(&e) => {
                problems.push(problem(&path, ProblemKind::SymlinkLoop, e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(problem(
                &path,
                ProblemKind::MissingFile,
                "dangling symbolic link".into(),
            )),
            Err(e) => problems.push(problem(&path, ProblemKind::Unreadable, e.to_string())),
            Ok(md) if md.is_dir() => collect_images(&path, visited, files, problems),
            Ok(md) if has_image_extension(&path) => {
                if md.len() == 0 {
                    problems.push(problem(
                        &path,
                        ProblemKind::EmptyFile,
                        "file is 0 bytes".into(),
                    ));
                } else {
                    files.push(path);
                }
            }
            Ok(_) => {}
        }
    }
}
