//! The training chapter's plotting helpers, kept out of the steps the chapter
//! shows.

use std::path::Path;

use anyhow::Result;
use image::RgbImage;
use tch::Tensor;
use tinycats_models::images;
use tinycats_plot::{ImageGrid, LineChart};

use super::list_dir;

/// The smoothed training loss (a moving average of `window` steps) and the
/// validation loss over the steps, marked where the run was interrupted, where
/// validation was best, and where early stopping ended it (if it did).
pub fn loss_curves(
    train_loss: Vec<(f64, f64)>,
    window: usize,
    val_loss: Vec<(f64, f64)>,
    interrupted_at: u64,
    best_step: f64,
    early_stop: Option<u64>,
) -> Result<RgbImage> {
    let mut chart = LineChart::new(
        "training the small TinyDiT",
        "step",
        "flow-matching loss",
    )
    .series(format!("train (mean of {window} steps)"), train_loss)
    .series("validation", val_loss)
    .marker(interrupted_at as f64, "interrupted and resumed")
    .marker(best_step, "best val_loss");
    if let Some(step) = early_stop {
        chart = chart.marker(step as f64, "early stop");
    }
    Ok(chart.render(720, 400)?)
}

/// The learning rate over the steps: `(step, lr)` points.
pub fn lr_schedule(lr: Vec<(f64, f64)>) -> Result<RgbImage> {
    let chart =
        LineChart::new("learning rate: warm-up, then cosine", "step", "lr")
            .series("lr", lr);
    Ok(chart.render(720, 260)?)
}

/// The preview grids the trainer wrote into `dir` (`step-00000100.png`…), one
/// row each, labelled with their step, magnified `scale` times; how many there
/// are, and the picture's text (title and row labels).
pub fn preview_grids(
    dir: &Path,
    title: &str,
    scale: u32,
) -> Result<(usize, RgbImage, Vec<String>)> {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for file in list_dir(dir)? {
        rows.push(image::open(dir.join(&file))?.to_rgb8());
        let step: u64 = file
            .trim_start_matches("step-")
            .trim_end_matches(".png")
            .parse()?;
        labels.push(format!("step {step}"));
    }
    let grid = ImageGrid::new(1)
        .scale(scale)
        .row_labels(labels)
        .title(title);
    Ok((rows.len(), grid.render(&rows)?, grid.texts()))
}

/// Three rows of `columns` samples, `(N, 3, H, W)` each: the raw weights', the
/// EMA's, and their magnified difference.
pub fn raw_against_ema(
    columns: usize,
    raw: &Tensor,
    ema: &Tensor,
    magnified: &Tensor,
) -> Result<RgbImage> {
    let mut tiles = images::to_rgb8_all(raw)?;
    tiles.extend(images::to_rgb8_all(ema)?);
    tiles.extend(images::to_rgb8_all(magnified)?);
    Ok(ImageGrid::new(columns)
        .scale(2)
        .row_labels(vec!["raw".into(), "EMA".into(), "|raw − EMA| × 20".into()])
        .title(
            "the last step's weights against their moving average, same noise",
        )
        .render(&tiles)?)
}
