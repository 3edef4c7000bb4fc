//! The quickstart's printing and plotting helpers, kept out of the steps the chapter shows.

use anyhow::Result;
use image::DynamicImage;
use tinycats_plot::{BarChart, side_by_side};
use tinycats_runtime::BreedScore;

/// `top` as aligned lines `name  probability%`.
pub fn print_ranking(top: &[BreedScore]) {
    for (rank, p) in top.iter().enumerate() {
        println!(
            "  {}. {:<18} {:>5.1}%",
            rank + 1,
            p.name,
            100.0 * p.probability
        );
    }
}

/// The image (scaled to 256 px high) beside a bar chart of its top breeds.
pub fn prediction_figure(
    image: &DynamicImage,
    top: &[BreedScore],
    title: &str,
) -> Result<image::RgbImage> {
    let rgb = image.to_rgb8();
    let shown = image::imageops::resize(
        &rgb,
        (rgb.width() * 256).div_ceil(rgb.height()),
        256,
        image::imageops::FilterType::Triangle,
    );
    let chart = BarChart::new(
        title,
        top.iter().map(|p| p.name.clone()).collect(),
        top.iter()
            .map(|p| 100.0 * f64::from(p.probability))
            .collect(),
    )
    .value_label("probability (%)")
    .range(0.0, 100.0)
    .render(420, 256)?;
    Ok(side_by_side(&[shown, chart], 12))
}
