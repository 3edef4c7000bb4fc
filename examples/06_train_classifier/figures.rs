//! The classifier-training chapter's figures, kept out of the steps the chapter
//! shows.

use anyhow::Result;
use image::RgbImage;
use tch::Tensor;
use tinycats_core::Normalize;
use tinycats_models::images::to_rgb8_all;
use tinycats_models::trainer::Row;
use tinycats_plot::{Corner, ImageGrid, LineChart, side_by_side};

/// The first eight images of each batch in `rows` (normalised as `norm` says)
/// as a row of pictures: as rendered, augmented, for photos, and two mixed
/// batches.
pub fn augmentation(rows: &[Tensor], norm: &Normalize) -> Result<RgbImage> {
    let mean = Tensor::from_slice(&norm.mean).view([1, 3, 1, 1]);
    let std = Tensor::from_slice(&norm.std).view([1, 3, 1, 1]);
    let mut tiles = Vec::new();
    for images in rows {
        let pixels = (images.narrow(0, 0, 8) * &std + &mean).clamp(0.0, 1.0);
        tiles.extend(to_rgb8_all(&pixels)?);
    }
    Ok(ImageGrid::new(8)
        .scale(3)
        .row_labels(
            [
                "as rendered",
                "augmented",
                "for photos",
                "mixed batch A",
                "mixed batch B",
            ]
            .map(String::from)
            .to_vec(),
        )
        .col_labels((1..=8).map(|i| i.to_string()).collect())
        .title("training images: crop, flip, jitter; photo conditions; CutMix or MixUp")
        .render(&tiles)?)
}

/// Loss and top-1 of every run, train and validation, side by side, on fixed
/// axes (every run draws the same frame, whatever its losses), with each run's
/// best step marked. `runs`: each run's name, its `metrics.csv` rows and its
/// best step; training values are averaged over each validation interval of
/// `eval_every` steps, so they line up with val. Returns the figure and its
/// text (titles, axes, legends), which does not depend on the runs' numbers.
pub fn training_curves(
    runs: &[(&str, &[Row], Option<u64>)],
    eval_every: u64,
) -> Result<(RgbImage, Vec<String>)> {
    let evals =
        |m: &[Row], f: &dyn Fn(&Row) -> Option<f64>| -> Vec<(f64, f64)> {
            m.iter()
                .filter_map(|r| f(r).map(|v| (r.step as f64, v)))
                .collect()
        };
    let mut loss =
        LineChart::new("loss", "step", "cross-entropy").y_range(0.0, 3.2);
    let mut accuracy = LineChart::new("accuracy", "step", "top-1")
        .legend(Corner::LowerRight)
        .y_range(0.0, 1.0);
    for &(name, metrics, best_step) in runs {
        let per_interval = |f: &dyn Fn(&Row) -> f64| -> Vec<(f64, f64)> {
            metrics
                .chunks(eval_every as usize)
                .map(|c| {
                    let mean = c.iter().map(f).sum::<f64>() / c.len() as f64;
                    (c[c.len() - 1].step as f64, mean)
                })
                .collect()
        };
        loss = loss
            .series(format!("{name}: train"), per_interval(&|r| r.train_loss))
            .series(format!("{name}: val"), evals(metrics, &|r| r.val_loss));
        let top1 =
            evals(metrics, &|r| r.val_loss.and(r.val_metrics.first().copied()));
        // The trainer logs each step's training top-1 (`train_top1` in
        // metrics.csv).
        let train_top1 = per_interval(&|r| {
            r.train_metrics.first().copied().unwrap_or(f64::NAN)
        });
        accuracy = accuracy
            .series(format!("{name}: train"), train_top1)
            .series(format!("{name}: val"), top1);
        if let Some(best) = best_step {
            accuracy = accuracy.marker(best as f64, format!("best, {name}"));
        }
    }
    let figure =
        side_by_side(&[loss.render(480, 480)?, accuracy.render(480, 480)?], 8);
    Ok((figure, [loss.texts(), accuracy.texts()].concat()))
}
