//! What can be wrong with one file of a dataset, and what to do about it: the vocabulary
//! that decoding, the loaders, `data check` and the errors share.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why a file or folder was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProblemKind {
    Unreadable,
    EmptyFile,
    NotAnImage,
    Corrupt,
    Truncated,
    TooLarge,
    TooSmall,
    SymlinkLoop,
    /// A link to a folder outside the class folder holding it, or a class folder linked
    /// to another class's folder: following it would relabel those images.
    LinkOutsideClass,
    NonUtf8Name,
    EmptyClass,
    MissingFile,
    ExactDuplicate,
    NearDuplicate,
}

impl ProblemKind {
    /// What the user should do about it.
    pub fn fix(self) -> &'static str {
        match self {
            Self::Unreadable => "check the file's permissions",
            Self::EmptyFile | Self::Corrupt | Self::Truncated => "re-download or delete the file",
            Self::NotAnImage => "remove it, or convert it to PNG/JPEG",
            Self::TooLarge => "downscale it below the size limit",
            Self::TooSmall => "drop it or find a larger copy",
            Self::SymlinkLoop => "remove the symbolic link that points back into the dataset",
            Self::LinkOutsideClass => {
                "move or copy those images into this class folder, or remove the link"
            }
            Self::NonUtf8Name => "rename the file with a UTF-8 name",
            Self::EmptyClass => "add images to the folder or delete it",
            Self::MissingFile => "restore the file, or remove its line from the annotation list",
            Self::ExactDuplicate | Self::NearDuplicate => {
                "keep one copy (`tinycats data clean` does)"
            }
        }
    }
}

/// A skipped file and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblem {
    pub path: PathBuf,
    pub kind: ProblemKind,
    pub detail: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {:?}: {} (fix: {})",
            self.path.display(),
            self.kind,
            self.detail,
            self.kind.fix()
        )
    }
}
