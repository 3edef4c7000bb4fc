//! Images: every PNG an example writes at the top of its output folder is shown by the book
//! from `book/src/images/<example>/`. The committed copy is compared with the new one by a
//! perceptual score, so float noise never churns git; `--update` rewrites only images beyond
//! tolerance, adds new ones and deletes orphans.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Project;
use super::problems::Problem;

/// Hybrid (SSIM on luma, RMS on chroma) similarity that a committed image must reach.
pub const MIN_SIMILARITY: f64 = 0.98;

#[derive(Debug, Clone, PartialEq)]
pub enum ImageOutcome {
    Same,
    /// Within tolerance but not identical: the committed copy is kept.
    WithinTolerance(f64),
    Changed(f64),
    New,
}

/// PNGs directly in `dir`, by file name.
pub fn produced(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    out.sort();
    Ok(out)
}

pub fn compare(new: &Path, committed: &Path) -> Result<ImageOutcome> {
    if !committed.exists() {
        return Ok(ImageOutcome::New);
    }
    if fs::read(new)? == fs::read(committed)? {
        return Ok(ImageOutcome::Same);
    }
    let load = |p: &Path| -> Result<image::RgbImage> {
        Ok(image::open(p)
            .with_context(|| format!("cannot decode {}", p.display()))?
            .to_rgb8())
    };
    let (a, b) = (load(new)?, load(committed)?);
    if a.dimensions() != b.dimensions() {
        return Ok(ImageOutcome::Changed(0.0));
    }
    let score = image_compare::rgb_hybrid_compare(&a, &b)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot compare {} with {}: {e}",
                new.display(),
                committed.display()
            )
        })?
        .score;
    Ok(if score >= MIN_SIMILARITY {
        ImageOutcome::WithinTolerance(score)
    } else {
        ImageOutcome::Changed(score)
    })
}

/// Compares (or with `update`, refreshes) one example's images. Returns the number of files
/// written or deleted.
pub fn check_example(
    project: &Project,
    example: &str,
    out_dir: &Path,
    update: bool,
    problems: &mut Vec<Problem>,
) -> Result<usize> {
    let committed_dir = project.images_dir().join(example);
    let new_images = produced(out_dir)?;
    let mut written = 0;
    for new in &new_images {
        let name = new.file_name().unwrap();
        let committed = committed_dir.join(name);
        let rel = project.rel(&committed);
        let outcome = compare(new, &committed)?;
        let needs_write = matches!(outcome, ImageOutcome::Changed(_) | ImageOutcome::New);
        if needs_write && update {
            fs::create_dir_all(&committed_dir)?;
            atomic_copy(new, &committed)?;
            written += 1;
            eprintln!("  updated {rel}");
            continue;
        }
        match outcome {
            ImageOutcome::Changed(score) => problems.push(Problem::new(
                format!("{example}/{}", name.to_string_lossy()),
                format!("the image differs from {rel} beyond tolerance (similarity {score:.4} < {MIN_SIMILARITY})"),
                format!("look at both (new: {}); if the change is intended run `cargo xtask verify-docs --update`", new.display()),
            )),
            ImageOutcome::New => problems.push(Problem::new(
                format!("{example}/{}", name.to_string_lossy()),
                format!("the example writes an image that the book does not have ({rel} is missing)"),
                "run `cargo xtask verify-docs --update` to add it, and show it in the chapter",
            )),
            ImageOutcome::Same | ImageOutcome::WithinTolerance(_) => {}
        }
    }
    for committed in produced(&committed_dir)? {
        let name = committed.file_name().unwrap();
        if new_images.iter().any(|n| n.file_name() == Some(name)) {
            continue;
        }
        if update {
            fs::remove_file(&committed)?;
            written += 1;
            eprintln!("  removed {}", project.rel(&committed));
        } else {
            problems.push(Problem::new(
                project.rel(&committed),
                format!(
                    "orphan image: `{example}` no longer writes {}",
                    name.to_string_lossy()
                ),
                "run `cargo xtask verify-docs --update` to delete it, and drop it from the chapter",
            ));
        }
    }
    Ok(written)
}

/// Copies through a temporary file in the same folder, then renames.
pub fn atomic_copy(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("png.tmp");
    fs::copy(from, &tmp)
        .with_context(|| format!("cannot copy {} to {}", from.display(), tmp.display()))?;
    fs::rename(&tmp, to)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), to.display()))?;
    Ok(())
}
