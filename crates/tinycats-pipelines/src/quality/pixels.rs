//! Statistics of the pixels themselves, no network: sharpness (the variance of the
//! Laplacian) and the patch-seam ratio.

use image::RgbImage;

/// The BT.601 luma of pixel `(x, y)` on the 0–255 scale.
fn luma(img: &RgbImage, x: u32, y: u32) -> f64 {
    let p = img.get_pixel(x, y).0;
    0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
}

/// Variance of the 4-neighbour Laplacian of the image's luma (interior pixels), on the
/// 0–255 scale: a measure of fine detail.
pub fn laplacian_variance(img: &RgbImage) -> f64 {
    let (w, h) = img.dimensions();
    let luma = |x: u32, y: u32| luma(img, x, y);
    let mut values = Vec::with_capacity((w.saturating_sub(2) * h.saturating_sub(2)) as usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            values.push(
                luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1)
                    - 4.0 * luma(x, y),
            );
        }
    }
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}

/// The patch-seam ratio of one image: the mean absolute luma difference between neighbours
/// on either side of a `patch`-pixel border (horizontal and vertical, the 0–255 scale) over
/// the mean between neighbours inside a patch. About 1 for an image without a grid.
pub fn seam_ratio(img: &RgbImage, patch: u32) -> f64 {
    let (w, h) = img.dimensions();
    let luma = |x: u32, y: u32| luma(img, x, y);
    let (mut border, mut inside) = ((0.0, 0u64), (0.0, 0u64));
    let mut add = |across: bool, step: f64| {
        let sum = if across { &mut border } else { &mut inside };
        sum.0 += step;
        sum.1 += 1;
    };
    for y in 0..h {
        for x in 0..w {
            if x + 1 < w {
                add((x + 1) % patch == 0, (luma(x + 1, y) - luma(x, y)).abs());
            }
            if y + 1 < h {
                add((y + 1) % patch == 0, (luma(x, y + 1) - luma(x, y)).abs());
            }
        }
    }
    let mean = |(s, n): (f64, u64)| s / n.max(1) as f64;
    mean(border) / mean(inside).max(1e-9)
}
