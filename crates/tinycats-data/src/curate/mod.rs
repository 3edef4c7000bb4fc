//! Curation, as in the classification runbook's data preparation: `check` finds
//! unreadable files, exact and near duplicates and too-small images, and notes inputs
//! that need normalising; `clean` copies the usable, de-duplicated images as upright
//! RGB8 PNGs; `split` copies a stratified, seeded train/val/test split; `import_oxford`
//! copies Oxford-IIIT Pet into the same split layout. Nothing is moved or deleted in the
//! source folder.
mod check;
mod oxford;
mod split;

pub use check::{CheckOptions, CheckReport, ClassRow, DuplicateGroup, Normalised, check, clean};
pub use oxford::{ImportOxfordOptions, ImportSummary, import_oxford};
pub use split::{SPLIT_MANIFEST, SplitOptions, SplitSummary, split};

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// Creates a temporary sibling of `out` to write into; `finish` renames it into place,
/// so that `out` appears complete or not at all.
pub(crate) struct AtomicDir {
    tmp: tempfile::TempDir,
    out: PathBuf,
}

impl AtomicDir {
    pub fn new(out: &Path) -> Result<Self> {
        if let Ok(mut entries) = std::fs::read_dir(out)
            && entries.next().is_some()
        {
            return Err(DataError::layout(
                out,
                "output folder exists and is not empty",
                "choose a new --out folder or delete this one",
            ));
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| DataError::io(&parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tinycats-")
            .tempdir_in(&parent)
            .map_err(|e| DataError::io(&parent, e))?;
        Ok(Self {
            tmp,
            out: out.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn finish(self) -> Result<PathBuf> {
        if self.out.exists() {
            std::fs::remove_dir(&self.out).map_err(|e| DataError::io(&self.out, e))?;
        }
        let kept = self.tmp.keep();
        std::fs::rename(&kept, &self.out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            DataError::io(&self.out, e)
        })?;
        Ok(self.out)
    }
}
