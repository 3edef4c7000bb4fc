//! The fine-tuning chapter's plotting helpers, kept out of the steps the
//! chapter shows.

use anyhow::Result;
use image::RgbImage;
use tch::Tensor;
use tinycats_data::{BreedSpec, SynthCats};
use tinycats_models::images;
use tinycats_plot::{ImageGrid, upscale_nearest};

/// The first eight images `synth` renders of `spec`, in one row labelled with
/// its name, magnified twice.
pub fn new_breed_sheet(synth: &SynthCats, spec: &BreedSpec) -> RgbImage {
    let sheet = synth.contact_sheet(std::slice::from_ref(spec), 8);
    upscale_nearest(&sheet, 2)
}

/// The first eight of each: samples of `breed` before and after fine-tuning,
/// and its training images, one row each, magnified twice.
pub fn before_after(
    breed: &str,
    before: &[RgbImage],
    after: &[RgbImage],
    data: &[RgbImage],
) -> Result<RgbImage> {
    let mut tiles = before[..8].to_vec();
    tiles.extend_from_slice(&after[..8]);
    tiles.extend_from_slice(&data[..8]);
    Ok(ImageGrid::new(8)
        .scale(2)
        .row_labels(vec![
            "before".into(),
            "after".into(),
            "training data".into(),
        ])
        .title(format!(
            "{breed}: samples before and after fine-tuning, same noise"
        ))
        .render(&tiles)?)
}

/// `samples` `(N, 3, H, W)`, in one row per name of `breeds` (the same number
/// of samples each), magnified twice.
pub fn sample_rows(breeds: &[&str], samples: &Tensor) -> Result<RgbImage> {
    let tiles = images::to_rgb8_all(samples)?;
    Ok(ImageGrid::new(tiles.len() / breeds.len())
        .scale(2)
        .row_labels(breeds.iter().map(|b| (*b).to_owned()).collect())
        .render(&tiles)?)
}
