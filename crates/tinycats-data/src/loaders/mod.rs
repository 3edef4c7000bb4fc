//! Real-data loaders: Oxford-IIIT Pet in its official layout, and ImageFolder.
//!
//! Scanning checks names and sizes but does not decode: `tinycats data check` decodes
//! every file, and the [`crate::Loader`] reports a file that fails to decode by name.
//! Which files a folder scan reads, and as which class, is decided once, in `walk`.
mod image_folder;
mod oxford;
mod walk;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::problem::{FileProblem, ProblemKind};
pub use image_folder::{ClassMapping, ImageFolderOptions, image_folder};
pub use oxford::{OXFORD_DOG_BREEDS, OxfordOptions, OxfordPet, oxford_pet};

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
