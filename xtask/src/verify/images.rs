//! Images: every PNG an example writes at the top of its output folder is shown by the book
//! from `book/src/images/<example>/`. The committed copy is compared with the new one by two
//! tests, so float noise never churns git while any visible change fails:
//! - structure: image-compare's hybrid score (SSIM on luma, RMS on chroma) ≥ [`MIN_SIMILARITY`];
//! - colour: the mean CIELAB colour of every 8×8 block may move at most [`MAX_BLOCK_DELTA_E`]
//!   (CIE76 ΔE; about 2.3 is a just-noticeable difference). The hybrid score alone passes an
//!   image turned grey or hue-rotated, since its luma is unchanged.
//!
//! `--update` rewrites only images beyond tolerance, adds new ones and deletes orphans.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Project;
use super::problems::Problem;

/// Hybrid (SSIM on luma, RMS on chroma) similarity that a committed image must reach.
pub const MIN_SIMILARITY: f64 = 0.95;

/// Side of the blocks whose mean colours are compared.
pub const BLOCK: u32 = 8;

/// Largest CIE76 ΔE allowed between the mean colours of two corresponding blocks.
pub const MAX_BLOCK_DELTA_E: f64 = 3.0;

#[derive(Debug, Clone, PartialEq)]
pub enum ImageOutcome {
    Same,
    /// Within tolerance but not identical: the committed copy is kept.
    WithinTolerance(f64),
    /// Beyond tolerance; says how.
    Changed(String),
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
    compare_images(&a, &b).with_context(|| {
        format!(
            "cannot compare {} with {}",
            new.display(),
            committed.display()
        )
    })
}

/// The two tests of the module header on decoded images.
pub fn compare_images(new: &image::RgbImage, committed: &image::RgbImage) -> Result<ImageOutcome> {
    if new.dimensions() != committed.dimensions() {
        let ((w, h), (cw, ch)) = (new.dimensions(), committed.dimensions());
        return Ok(ImageOutcome::Changed(format!(
            "its size changed from {cw}×{ch} to {w}×{h} px"
        )));
    }
    let score = image_compare::rgb_hybrid_compare(new, committed)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .score;
    if score < MIN_SIMILARITY {
        return Ok(ImageOutcome::Changed(format!(
            "similarity {score:.4} < {MIN_SIMILARITY}"
        )));
    }
    let (delta, x, y) = max_block_delta_e(new, committed);
    if delta > MAX_BLOCK_DELTA_E {
        return Ok(ImageOutcome::Changed(format!(
            "its colours changed: the {BLOCK}×{BLOCK} block at ({x}, {y}) px moved by ΔE {delta:.1} > {MAX_BLOCK_DELTA_E} (CIELAB), although the structure is similar ({score:.4})"
        )));
    }
    Ok(ImageOutcome::WithinTolerance(score))
}

/// The largest CIE76 ΔE between the mean CIELAB colours of corresponding `BLOCK`×`BLOCK`
/// blocks, and the top-left corner of that block.
pub fn max_block_delta_e(a: &image::RgbImage, b: &image::RgbImage) -> (f64, u32, u32) {
    let (w, h) = a.dimensions();
    let mut worst = (0.0, 0, 0);
    for by in (0..h).step_by(BLOCK as usize) {
        for bx in (0..w).step_by(BLOCK as usize) {
            let mean = |img: &image::RgbImage| {
                let mut sum = [0.0f64; 3];
                let mut n = 0.0;
                for y in by..(by + BLOCK).min(h) {
                    for x in bx..(bx + BLOCK).min(w) {
                        let lab = to_lab(img.get_pixel(x, y).0);
                        for c in 0..3 {
                            sum[c] += lab[c] as f64;
                        }
                        n += 1.0;
                    }
                }
                sum.map(|v| v / n)
            };
            let (ma, mb) = (mean(a), mean(b));
            let d = ma
                .iter()
                .zip(&mb)
                .map(|(p, q)| (p - q).powi(2))
                .sum::<f64>()
                .sqrt();
            if d > worst.0 {
                worst = (d, bx, by);
            }
        }
    }
    worst
}

fn to_lab(rgb: [u8; 3]) -> [f32; 3] {
    use palette::{IntoColor, Lab, Srgb};
    let lab: Lab = Srgb::new(rgb[0], rgb[1], rgb[2])
        .into_format::<f32>()
        .into_linear()
        .into_color();
    [lab.l, lab.a, lab.b]
}

/// Whether `--update` would write any image of this example (one beyond tolerance or new).
pub fn pending(project: &Project, example: &str, out_dir: &Path) -> Result<bool> {
    let committed_dir = project.images_dir().join(example);
    for new in produced(out_dir)? {
        let committed = committed_dir.join(new.file_name().unwrap());
        if matches!(
            compare(&new, &committed)?,
            ImageOutcome::Changed(_) | ImageOutcome::New
        ) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Compares (or with `update`, refreshes) one example's images. `rerun` is the output folder
/// of a second run: with `update`, an image is written only if the second run drew it alike.
/// Returns the number of files written or deleted.
pub fn check_example(
    project: &Project,
    example: &str,
    out_dir: &Path,
    rerun: Option<&Path>,
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
            let again = rerun.map(|d| d.join(name));
            let drawn_alike = match &again {
                Some(a) if a.exists() => matches!(
                    compare(new, a)?,
                    ImageOutcome::Same | ImageOutcome::WithinTolerance(_)
                ),
                _ => false,
            };
            if !drawn_alike {
                problems.push(Problem::new(
                    format!("{example}/{}", name.to_string_lossy()),
                    format!("nondeterministic image: two runs drew it differently, so {rel} is not updated"),
                    format!("seed every random generator the image depends on; compare {} with {}", new.display(), again.map(|a| a.display().to_string()).unwrap_or_else(|| "a second run".into())),
                ));
                continue;
            }
            fs::create_dir_all(&committed_dir)?;
            atomic_copy(new, &committed)?;
            written += 1;
            eprintln!("  updated {rel}");
            continue;
        }
        match outcome {
            ImageOutcome::Changed(how) => problems.push(Problem::new(
                format!("{example}/{}", name.to_string_lossy()),
                format!("the image differs from {rel} beyond tolerance: {how}"),
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
