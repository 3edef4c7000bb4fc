//! Images: every PNG an example writes at the top of its output folder is shown by the book
//! from `book/src/images/<example>/`. The committed copy is compared with the new one by two
//! tests, so float noise never churns git while any visible change fails:
//! - structure: image-compare's hybrid score (SSIM on luma, RMS on chroma) ≥ [`MIN_SIMILARITY`];
//! - colour: the mean CIELAB colour of every 8×8 block may move at most [`MAX_BLOCK_DELTA_E`]
//!   (CIE76 ΔE; about 2.3 is a just-noticeable difference). The hybrid score alone passes an
//!   image turned grey or hue-rotated, since its luma is unchanged.
//!
//! An image an example declares chaotic (`tinycats_notebook::chaotic_image`: training
//! curves, whose wiggles differ between CPU makers) is held to its structure instead
//! ([`compare_structure`]): its size, its grey skeleton (frame, axes, ticks, labels, legend)
//! and the colours it draws in.
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

/// The outcome when the files settle it without decoding (no committed image, or the same
/// bytes); otherwise both images, decoded.
fn decode_unless_settled(
    new: &Path,
    committed: &Path,
) -> Result<std::result::Result<(image::RgbImage, image::RgbImage), ImageOutcome>> {
    if !committed.exists() {
        return Ok(Err(ImageOutcome::New));
    }
    if fs::read(new)? == fs::read(committed)? {
        return Ok(Err(ImageOutcome::Same));
    }
    let load = |p: &Path| -> Result<image::RgbImage> {
        Ok(image::open(p)
            .with_context(|| format!("cannot decode {}", p.display()))?
            .to_rgb8())
    };
    Ok(Ok((load(new)?, load(committed)?)))
}

pub fn compare(new: &Path, committed: &Path) -> Result<ImageOutcome> {
    let (a, b) = match decode_unless_settled(new, committed)? {
        Ok(pair) => pair,
        Err(settled) => return Ok(settled),
    };
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

/// The share of a chaotic image's skeleton (its grey and black pixels: frame, axes, ticks,
/// grid, labels, legend) that may differ from the committed one's, among the pixels no
/// curve covers in either image. A grey best-step marker that moves with the run (a 2-px
/// line across the plot) is most of what differs between kernel settings: measured 6.7 and
/// 6.8 % on the classifier-training chapter's curves; a moved frame or other axes differ by half or more.
pub const CHAOTIC_MAX_SKELETON_CHANGE: f64 = 0.12;

/// A grey pixel darker than this (mean of its channels) is skeleton ink.
const SKELETON_INK: u32 = 220;

/// A pixel whose channels lie within this many levels of each other is grey: skeleton, not
/// a curve.
const GREY_CHROMA: u8 = 24;

/// A colour (quantised to 4 bits a channel) that covers at least this share of a chaotic
/// image's pixels is one of the figure's own (background, grid, text, a curve): each must
/// still be drawn, on at least [`CHAOTIC_MIN_INK`] of its committed area, and no new one may
/// appear. A best-step marker, a thin line that another run's marker may cover, stays below
/// it: in the classifier-training chapter's curves a curve covers 0.39 to 0.68 % of the figure, a marker 0.10 to
/// 0.24 %.
pub const CHAOTIC_COLOUR_SHARE: f64 = 0.003;

/// The least share of a colour's committed area that a chaotic image must still draw in it.
pub const CHAOTIC_MIN_INK: f64 = 0.25;

/// Compares an image of chaotic numbers (training curves) by structure: the same size, the
/// same grey skeleton (frame, axes, ticks, labels, legend) and the same colours drawn in
/// similar amounts. A curve that wiggles elsewhere passes; a lost curve, a recoloured or
/// resized figure, or a broken layout does not.
pub fn compare_structure(new: &Path, committed: &Path) -> Result<ImageOutcome> {
    match decode_unless_settled(new, committed)? {
        Ok((a, b)) => compare_structure_images(&a, &b),
        Err(settled) => Ok(settled),
    }
}

/// [`compare_structure`] on decoded images.
pub fn compare_structure_images(
    new: &image::RgbImage,
    committed: &image::RgbImage,
) -> Result<ImageOutcome> {
    if new.dimensions() != committed.dimensions() {
        let ((w, h), (cw, ch)) = (new.dimensions(), committed.dimensions());
        return Ok(ImageOutcome::Changed(format!(
            "its size changed from {cw}×{ch} to {w}×{h} px"
        )));
    }
    let (w, h) = new.dimensions();
    let change = skeleton_change(new, committed);
    if change > CHAOTIC_MAX_SKELETON_CHANGE {
        return Ok(ImageOutcome::Changed(format!(
            "its layout changed: {:.1} % of its frame, axes, ticks and labels differ (at most {:.0} %)",
            100.0 * change,
            100.0 * CHAOTIC_MAX_SKELETON_CHANGE
        )));
    }
    let (ink_new, ink_old) = (palette_of(new), palette_of(committed));
    let total = f64::from(w * h);
    for (colour, &old) in &ink_old {
        if (old as f64) < CHAOTIC_COLOUR_SHARE * total {
            continue;
        }
        let now = ink_new.get(colour).copied().unwrap_or(0);
        if (now as f64) < CHAOTIC_MIN_INK * old as f64 {
            return Ok(ImageOutcome::Changed(format!(
                "the colour #{:02x}{:02x}{:02x} covered {old} px and now covers {now}: a curve or label is lost",
                colour[0], colour[1], colour[2]
            )));
        }
    }
    for (colour, &now) in &ink_new {
        let old = ink_old.get(colour).copied().unwrap_or(0);
        if (now as f64) >= CHAOTIC_COLOUR_SHARE * total && old == 0 {
            return Ok(ImageOutcome::Changed(format!(
                "a new colour #{:02x}{:02x}{:02x} covers {now} px",
                colour[0], colour[1], colour[2]
            )));
        }
    }
    Ok(ImageOutcome::WithinTolerance(1.0 - change))
}

/// The share of skeleton pixels (grey, not white) that one image has and the other has not,
/// among the pixels that are grey or white in both (no curve over them in either).
pub fn skeleton_change(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let grey = |p: &image::Rgb<u8>| {
        let (lo, hi) = (p.0.iter().min().unwrap(), p.0.iter().max().unwrap());
        hi - lo <= GREY_CHROMA
    };
    // Dark enough to be a line or a letter (the lightest grid lines and the pale tints of
    // curves seen through a legend's background are not).
    let ink =
        |p: &image::Rgb<u8>| p.0.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * SKELETON_INK;
    let (mut either, mut differ) = (0u64, 0u64);
    for (pa, pb) in a.pixels().zip(b.pixels()) {
        if !(grey(pa) && grey(pb)) {
            continue;
        }
        let (ia, ib) = (ink(pa), ink(pb));
        if ia || ib {
            either += 1;
            if ia != ib {
                differ += 1;
            }
        }
    }
    if either == 0 {
        0.0
    } else {
        differ as f64 / either as f64
    }
}

/// Pixel counts of an image's colours, quantised to 4 bits a channel (as `0xN0`).
fn palette_of(img: &image::RgbImage) -> std::collections::BTreeMap<[u8; 3], u64> {
    let mut counts = std::collections::BTreeMap::new();
    for p in img.pixels() {
        *counts.entry(p.0.map(|c| c & 0xf0)).or_insert(0) += 1;
    }
    counts
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
/// `chaotic` names the images declared with `tinycats_notebook::chaotic_image` (file name →
/// why): without `update` they are held to [`compare_structure`].
pub fn check_example(
    project: &Project,
    example: &str,
    out_dir: &Path,
    rerun: Option<&Path>,
    update: bool,
    chaotic: &std::collections::BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> Result<usize> {
    let committed_dir = project.images_dir().join(example);
    let new_images = produced(out_dir)?;
    let mut written = 0;
    for new in &new_images {
        let name = new.file_name().unwrap();
        let committed = committed_dir.join(name);
        let rel = project.rel(&committed);
        let chaotic_why = chaotic.get(name.to_string_lossy().as_ref());
        // `--update` rewrites a chaotic image with the run whose text it writes; a check
        // holds it to its structure only.
        let outcome = match chaotic_why {
            Some(why) if !update => {
                let outcome = compare_structure(new, &committed)?;
                if let ImageOutcome::WithinTolerance(same) = outcome {
                    eprintln!(
                        "  {example}/{}: chaotic ({why}); its structure matches the committed image ({:.1} % of its skeleton differs)",
                        name.to_string_lossy(),
                        100.0 * (1.0 - same)
                    );
                }
                outcome
            }
            _ => compare(new, &committed)?,
        };
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

/// Copies atomically ([`tinycats_core::fs::write_atomic`]); the images are a few hundred KB.
pub fn atomic_copy(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    tinycats_core::fs::write_atomic(to, &bytes)
        .with_context(|| format!("cannot write {}", to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinycats_plot::LineChart;

    /// Why a chaotic image's text is checked apart from its structure: a renamed curve in the
    /// legend changes too few skeleton pixels for [`compare_structure_images`] to notice.
    #[test]
    fn a_renamed_curve_passes_the_structure_test_alone() {
        let chart = |name: &str| {
            LineChart::new("accuracy", "step", "top-1")
                .y_range(0.0, 1.0)
                .series(format!("{name}: train"), vec![(0.0, 0.2), (100.0, 0.9)])
                .series(format!("{name}: val"), vec![(0.0, 0.2), (100.0, 0.8)])
                .render(480, 480)
                .unwrap()
        };
        let (before, after) = (chart("augmented"), chart("photo-ready"));
        let outcome = compare_structure_images(&after, &before).unwrap();
        eprintln!("renamed legend: {outcome:?}");
        assert!(
            matches!(outcome, ImageOutcome::WithinTolerance(_)),
            "{outcome:?}"
        );
        assert_ne!(
            chart("augmented").as_raw(),
            after.as_raw(),
            "the legends do differ"
        );
    }
}
