//! The generation chapter's figures: how each step's images and numbers are
//! laid out as a picture, kept out of the steps the chapter shows. Tiles are
//! drawn `CONFIG.zoom` times larger than the model's 64 px.

use anyhow::Result;
use image::RgbImage;
use tinycats_core::{DitConfig, SampleOptions};
use tinycats_plot::{Corner, ImageGrid, LineChart};

use crate::CONFIG;

/// A column label for a breed: `British_Shorthair` → `British Shorthair` (17
/// characters fit a 128-pixel tile).
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

/// A grid of zoomed tiles, `cols` per row, with its labels and title.
fn grid(
    tiles: &[RgbImage],
    cols: usize,
    col_labels: Vec<String>,
    row_labels: Vec<String>,
    title: String,
) -> Result<RgbImage> {
    let mut grid = ImageGrid::new(cols).scale(CONFIG.zoom).title(title);
    if !col_labels.is_empty() {
        grid = grid.col_labels(col_labels);
    }
    if !row_labels.is_empty() {
        grid = grid.row_labels(row_labels);
    }
    Ok(grid.render(tiles)?)
}

/// The noisy images along the straight path, one per time in `ts`.
pub fn path(tiles: &[RgbImage], ts: &[f64]) -> Result<RgbImage> {
    grid(
        tiles,
        ts.len(),
        ts.iter().map(|t| format!("t = {t}")).collect(),
        vec![],
        "the straight path from noise (t = 0) to a SynthCats test image \
         (t = 1)"
            .into(),
    )
}

/// `per_breed` samples of every breed (breed-major), one breed per column.
pub fn all_breeds(
    tiles: &[RgbImage],
    names: &[String],
    per_breed: usize,
) -> Result<RgbImage> {
    let by_row: Vec<RgbImage> = (0..per_breed)
        .flat_map(|r| (0..names.len()).map(move |b| b * per_breed + r))
        .map(|i| tiles[i].clone())
        .collect();
    grid(
        &by_row,
        names.len(),
        names.iter().map(|n| label(n)).collect(),
        vec![],
        "two samples of every breed".into(),
    )
}

/// One row per breed, one column per guidance scale.
pub fn guidance(
    tiles: &[RgbImage],
    scales: &[f64],
    rows: Vec<String>,
) -> Result<RgbImage> {
    grid(
        tiles,
        scales.len(),
        scales.iter().map(|s| format!("w = {s}")).collect(),
        rows,
        "guidance scale w, same noise in every row".into(),
    )
}

/// One row per breed, one column per guidance interval.
pub fn intervals(
    tiles: &[RgbImage],
    intervals: &[[f64; 2]],
    rows: Vec<String>,
) -> Result<RgbImage> {
    grid(
        tiles,
        intervals.len(),
        intervals
            .iter()
            .map(|[a, b]| format!("[{a}, {b}]"))
            .collect(),
        rows,
        "guidance w = 4 only while t is in the column's [from, to]; same noise \
         in a row".into(),
    )
}

/// The guidance scale over t of two samplers: the scale each step starts with,
/// held over the step.
pub fn guidance_over_t(
    before: &SampleOptions,
    now: &SampleOptions,
) -> Result<RgbImage> {
    let scale_over_t = |o: &SampleOptions| -> Vec<(f64, f64)> {
        let times = o.times();
        let steps = times.windows(2);
        steps
            .flat_map(|w| {
                [(w[0], o.guidance_at(w[0])), (w[1], o.guidance_at(w[0]))]
            })
            .collect()
    };
    let chart = LineChart::new(
        "where in t guidance acts",
        "t (0 = noise, 1 = data)",
        "guidance scale",
    )
    .series(format!("before: {before}"), scale_over_t(before))
    .series(format!("default: {now}"), scale_over_t(now))
    .y_range(0.0, 5.0)
    .legend(Corner::LowerRight); // below both lines where guidance acts
    Ok(chart.render(640, 300)?)
}

/// Every breed with the old default (first row) and the new one (second row).
pub fn new_default(tiles: &[RgbImage], names: &[String]) -> Result<RgbImage> {
    grid(
        tiles,
        names.len(),
        names.iter().map(|n| label(n)).collect(),
        vec!["before".into(), "now".into()],
        "the old default (guidance 4 at every step) and the new one, same \
         noise"
            .into(),
    )
}

/// Euler's row and Heun's, one column per number of steps.
pub fn steps(tiles: &[RgbImage], steps: &[usize]) -> Result<RgbImage> {
    grid(
        tiles,
        steps.len(),
        steps
            .iter()
            .map(|&s| format!("{s} step{}", if s == 1 { "" } else { "s" }))
            .collect(),
        vec!["Euler".into(), "Heun".into()],
        "integration steps, same noise".into(),
    )
}

/// x_t (first row) and the guess of x₁ (second row) at each time in `ts`.
pub fn trajectory(tiles: &[RgbImage], ts: &[f64]) -> Result<RgbImage> {
    grid(
        tiles,
        ts.len(),
        ts.iter().map(|t| format!("t = {t:.3}")).collect(),
        vec!["x_t".into(), "guess of x1".into()],
        "denoising: where the sampler is, and where it thinks it is going"
            .into(),
    )
}

/// Samples of one breed in a row.
pub fn variations(tiles: &[RgbImage], breed: &str) -> Result<RgbImage> {
    grid(
        tiles,
        tiles.len(),
        vec![],
        vec![],
        format!("{} variations of {breed}", tiles.len()),
    )
}

/// Two breeds blended, one column per blend weight.
pub fn blend(tiles: &[RgbImage], from: &str) -> Result<RgbImage> {
    grid(
        tiles,
        tiles.len(),
        ["a = 0", "0.25", "0.5", "0.75", "1"]
            .map(String::from)
            .to_vec(),
        vec![],
        format!("from {from} (a = 0) to Bombay (a = 1), same noise"),
    )
}
