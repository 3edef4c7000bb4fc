//! The evaluation chapter's printing and plotting helpers, kept out of the
//! steps the chapter shows.

use anyhow::Result;
use image::{DynamicImage, RgbImage};
use tinycats_core::metrics::ReliabilityBin;
use tinycats_plot::{ImageGrid, LineChart, confusion_figure};

/// A name's first four letters: the short labels of the tables and pictures.
pub fn short(name: &str) -> String {
    name.chars().take(4).collect()
}

/// One row of renders per breed in `breeds`, one column per severity in
/// `severities`.
pub fn wild_grid(
    tiles: &[RgbImage],
    severities: &[f32],
    breeds: &[&str],
) -> Result<RgbImage> {
    Ok(ImageGrid::new(severities.len())
        .scale(2)
        .col_labels(
            severities.iter().map(|s| format!("severity {s}")).collect(),
        )
        .row_labels(breeds.iter().map(|b| b.replace('_', " ")).collect())
        .title("one held-out render per row, shifted harder from left to right")
        .render(tiles)?)
}

/// Top-1 and top-3 accuracy (%) against the severity of the shift.
pub fn robustness_chart(
    top1: Vec<(f64, f64)>,
    top3: Vec<(f64, f64)>,
) -> Result<RgbImage> {
    let chart = LineChart::new(
        "the bundled classifier under the wild shift",
        "severity",
        "accuracy (%)",
    )
    .series("top-1", top1)
    .series("top-3", top3);
    Ok(chart.render(640, 360)?)
}

/// The confusion matrix `counts` as a table: a row per true class, a column per
/// prediction (first four letters), empty cells as dots.
pub fn print_confusion(counts: &[Vec<u64>], names: &[String]) {
    let heads: Vec<String> =
        names.iter().map(|n| format!("{:>4}", short(n))).collect();
    println!("{:<17}  {}", "truth \\ predicted", heads.join(" "));
    for (name, row) in names.iter().zip(counts) {
        let cells: Vec<String> = row
            .iter()
            .map(|&c| {
                if c == 0 {
                    "   .".into()
                } else {
                    format!("{c:>4}")
                }
            })
            .collect();
        println!("{name:<17}  {}", cells.join(" "));
    }
}

/// The confusion matrix `counts` at `severity` as a heatmap.
pub fn confusion(
    counts: &[Vec<u64>],
    names: &[String],
    severity: f32,
) -> Result<RgbImage> {
    let title = format!("confusion at severity {severity}");
    Ok(confusion_figure(counts, names, &title)?)
}

/// A reliability diagram at `severity`: accuracy against confidence, a line per
/// named set of confidence bins, beside the diagonal of a perfectly calibrated
/// model. Bins with fewer than 10 images are left out: they make a jagged line
/// of noise.
pub fn reliability_diagram(
    severity: f32,
    curves: &[(String, Vec<ReliabilityBin>)],
) -> Result<RgbImage> {
    let mut chart =
        LineChart::reliability(format!("reliability at severity {severity}"));
    for (name, bins) in curves {
        let bins = bins.iter().map(|b| (b.confidence, b.accuracy, b.count));
        chart = chart.calibration_curve(name, bins);
    }
    Ok(chart.render(640, 400)?)
}

/// The `mistakes` (image, true class, predicted class) in one row, captioned
/// `true → predicted` in the classes' first four letters.
pub fn mistakes_grid(
    mistakes: &[(&DynamicImage, usize, usize)],
    names: &[String],
    severity: f32,
) -> Result<RgbImage> {
    let tiles: Vec<RgbImage> =
        mistakes.iter().map(|(image, ..)| image.to_rgb8()).collect();
    let captions = mistakes
        .iter()
        .map(|&(_, truth, guess)| {
            format!("{} → {}", short(&names[truth]), short(&names[guess]))
        })
        .collect();
    Ok(ImageGrid::new(tiles.len().max(1))
        .scale(2)
        .col_labels(captions)
        .title(format!(
            "the surest mistakes at severity {severity}: true → predicted"
        ))
        .render(&tiles)?)
}

/// Grad-CAM on the confusions: a row per confusion (`rows`, "true → predicted")
/// of five panels, the right answer and its breed's map, the mistake and the
/// maps of the predicted and of the true breed.
pub fn gradcam_confusions(
    tiles: &[RgbImage],
    rows: Vec<String>,
) -> Result<RgbImage> {
    Ok(ImageGrid::new(5)
        .scale(2)
        .col_labels(
            ["right", "its breed", "mistake", "predicted", "true breed"]
                .map(String::from)
                .to_vec(),
        )
        .row_labels(rows)
        .title("Grad-CAM: where the evidence for a breed lies (yellow: most)")
        .render(tiles)?)
}

/// Grad-CAM on photos: a row per photo (labelled with its file name) of the
/// photo as the model sees it and the maps of the first and second guess.
pub fn gradcam_photos(tiles: &[RgbImage], photos: &[&str]) -> Result<RgbImage> {
    let file_name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    Ok(ImageGrid::new(3)
        .scale(2)
        .col_labels(
            ["as the model sees it", "first guess", "second guess"]
                .map(String::from)
                .to_vec(),
        )
        .row_labels(photos.iter().map(|p| file_name(p)).collect())
        .title("Grad-CAM on the two photos")
        .render(tiles)?)
}
