//! The generation chapter's figure helpers.

use image::RgbImage;
use tinycats_core::DitConfig;

/// A column label for a breed: `British_Shorthair` → `British Shorthair` (17 characters fit
/// a 128-pixel tile).
pub fn label(name: &str) -> String {
    name.replace('_', " ")
}

/// The row labels of a sweep over `breeds`: their names, spaced.
pub fn row_labels(cfg: &DitConfig, breeds: &[i64]) -> Vec<String> {
    breeds
        .iter()
        .map(|&b| label(&cfg.class_names[b as usize]))
        .collect()
}

/// The first four samples of breed `b` (breed-major, `per_breed` each) side by side.
pub fn tiles_of(samples: &[RgbImage], b: usize, per_breed: usize) -> RgbImage {
    tinycats_plot::side_by_side(&samples[b * per_breed..][..4.min(per_breed)], 2)
}
