//! The chapter's figures: how the measurements are laid out as pictures, kept
//! out of the steps the chapter shows.

use anyhow::Result;
use image::RgbImage;
use tinycats_core::SampleOptions;
use tinycats_plot::{Corner, LineChart};

/// The breed fidelity of each guidance scale: the mean over breeds and the
/// weakest breed's, with the `sampler`'s own scale marked.
pub fn fidelity_against_guidance(
    scales: &[f64],
    mean: &[f64],
    weakest: &[f64],
    sampler: &SampleOptions,
) -> Result<RgbImage> {
    let points = |ys: &[f64]| -> Vec<(f64, f64)> {
        scales
            .iter()
            .zip(ys)
            .map(|(&w, &y)| (w, 100.0 * y))
            .collect()
    };
    let [from, to] = sampler.guidance_interval;
    let chart = LineChart::new(
        format!("breed fidelity against the guidance scale (guidance at t in [{from}, {to}])"),
        "guidance scale w",
        "the classifier agrees (%)",
    )
    .series("mean over the classes", points(mean))
    .series("the weakest class", points(weakest))
    .marker(sampler.cfg_scale, "default")
    .y_range(0.0, 100.0)
    .legend(Corner::LowerRight);
    Ok(chart.render(640, 360)?)
}
