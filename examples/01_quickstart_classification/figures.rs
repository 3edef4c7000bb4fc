//! The quickstart's printing and plotting helpers, kept out of the steps the
//! chapter shows.

use anyhow::Result;
use image::{DynamicImage, RgbImage};
use tinycats_plot::{
    BarChart, ImageGrid, heatmap, side_by_side, upscale_nearest,
};
use tinycats_runtime::BreedScore;
use tinycats_runtime::ndarray::{Array3, Axis};

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

/// The image as opened beside what the model sees (`seen`), enlarged three
/// times.
pub fn model_input(image: &DynamicImage, seen: &RgbImage) -> RgbImage {
    side_by_side(&[image.to_rgb8(), upscale_nearest(seen, 3)], 12)
}

/// The three normalised channels of `x` (3, S, S) as colour maps, on one scale
/// from −2.5 to +2.5.
pub fn normalised_channels(x: &Array3<f32>) -> Result<RgbImage> {
    let (_, rows, cols) = x.dim();
    let channels = (0..3)
        .map(|c| {
            let values: Vec<f32> =
                x.index_axis(Axis(0), c).iter().copied().collect();
            Ok(heatmap(&values, rows, cols, 3, (-2.5, 2.5))?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ImageGrid::new(3)
        .col_labels(vec!["R".into(), "G".into(), "B".into()])
        .title("normalised channels: -2.5 purple, 0 teal, +2.5 yellow")
        .render(&channels)?)
}

/// A bar per breed: the logits of one image of `breed`.
pub fn logits_chart(
    breed: &str,
    names: &[String],
    logits: &[f32],
) -> Result<RgbImage> {
    let chart = BarChart::new(
        format!("logits of the held-out {breed}"),
        names.to_vec(),
        logits.iter().map(|&v| f64::from(v)).collect(),
    )
    .value_label("logit (higher: more likely)");
    Ok(chart.render(560, 380)?)
}

/// A bar per breed: its top-1 in percent on the wild test split.
pub fn wild_per_breed_chart(
    names: &[String],
    top1: Vec<f64>,
) -> Result<RgbImage> {
    let chart = BarChart::new(
        "top-1 per breed under photo-like conditions (the wild test split)",
        names.to_vec(),
        top1,
    )
    .value_label("top-1 (%)")
    .range(0.0, 100.0);
    Ok(chart.render(640, 400)?)
}

/// The test images at `shown` in one row (at most 13 a row), each captioned
/// with its top-1 probability.
pub fn gallery(
    title: &str,
    shown: &[usize],
    images: &[DynamicImage],
    ranked: &[Vec<BreedScore>],
) -> Result<RgbImage> {
    Ok(ImageGrid::new(shown.len().min(13))
        .scale(2)
        .col_labels(
            shown
                .iter()
                .map(|&i| format!("{:.0}%", 100.0 * ranked[i][0].probability))
                .collect(),
        )
        .title(format!("{title} (top-1 probability)"))
        .render(
            &shown
                .iter()
                .map(|&i| images[i].to_rgb8())
                .collect::<Vec<_>>(),
        )?)
}
