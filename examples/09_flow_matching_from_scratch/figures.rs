//! The chapter's figures, kept out of the steps it shows. Point clouds are (n,
//! 2) tensors; every plane is drawn over [-EXTENT, EXTENT]², the training data
//! in grey behind it.

use anyhow::Result;
use image::RgbImage;
use tch::{Kind, Tensor};
use tinycats_core::Solver;
use tinycats_plot::{Corner, LineChart, Plane, side_by_side};

use super::toy::{point, xy};
use super::{CLASSES, EXTENT};

/// The noise in grey, and the data of each class (`classes[c]`, named
/// `CLASSES[c]`).
pub fn noise_and_data(
    noise: &Tensor,
    classes: [&Tensor; 2],
) -> Result<RgbImage> {
    Ok(
        Plane::new("noise x0 (grey) and the data x1, by class", EXTENT)
            .points("noise", xy(noise))
            .grey()
            .opacity(0.5)
            .points(CLASSES[0], xy(classes[0]))
            .width(1)
            .points(CLASSES[1], xy(classes[1]))
            .width(1)
            .render(420)?,
    )
}

/// A line from each noise point `x0[i]` to its data point `x1[i]`, and
/// `half[i]`, the point halfway along it, over the `data`.
pub fn straight_paths(
    data: &Tensor,
    x0: &Tensor,
    half: &Tensor,
    x1: &Tensor,
) -> Result<RgbImage> {
    let lines: Vec<Vec<(f64, f64)>> = (0..x0.size()[0])
        .map(|i| vec![point(x0, i), point(x1, i)])
        .collect();
    Ok(Plane::new(
        "straight paths from noise to data, and x_t at t = 0.5",
        EXTENT,
    )
    .points("", xy(data))
    .grey()
    .width(1)
    .paths("x0 → x1", lines)
    .points("noise x0", xy(x0))
    .width(3)
    .points("x_t, t = 0.5", xy(half))
    .width(3)
    .points("data x1", xy(x1))
    .width(3)
    .render(420)?)
}

/// The loss curve (step, loss) from its second point on (the first, at step 0,
/// would flatten the rest), and the exact field's loss as a level line over
/// `steps`.
pub fn loss(
    curve: &[(f64, f64)],
    exact_loss: f64,
    steps: usize,
) -> Result<RgbImage> {
    Ok(LineChart::new(
        "flow-matching loss on a fixed batch",
        "step",
        "mean ‖v − (x1 − x0)‖²",
    )
    .series("the MLP", curve[1..].to_vec())
    .series(
        "the exact marginal field",
        vec![(0.0, exact_loss), (steps as f64, exact_loss)],
    )
    .render(640, 320)?)
}

/// Zoomed on the point `at`: the per-pair velocities through it at time `t`
/// (the first 150 rows of `per_pair`), and the three estimates of their average
/// (`average`, the exact field, the trained MLP), each a 2-vector. Arrows are
/// drawn at half their length.
pub fn velocities_through(
    data: &Tensor,
    at: (f64, f64),
    t: f64,
    per_pair: &Tensor,
    [average, exact, learned]: [&Tensor; 3],
) -> Result<RgbImage> {
    let scale = 0.5;
    let arrow = |v: &Tensor| {
        (
            at,
            (scale * v.double_value(&[0]), scale * v.double_value(&[1])),
        )
    };
    let fan: Vec<_> = (0..per_pair.size()[0].min(150))
        .map(|i| arrow(&per_pair.get(i)))
        .collect();
    Ok(Plane::new(
        format!("velocities through x = {at:?} at t = {t} (zoomed)"),
        1.2,
    )
    .center(at.0, at.1)
    .points("", xy(data))
    .grey()
    .width(1)
    .arrows("per-pair x1 − x0", fan)
    .opacity(0.25)
    .arrows("their average", vec![arrow(average)])
    .width(3)
    .arrows("exact field", vec![arrow(exact)])
    .width(3)
    .arrows("trained MLP", vec![arrow(learned)])
    .width(2)
    .render(420)?)
}

/// One panel per time `ts[k]`: the velocities `fields[k]` at the `grid` points,
/// as arrows. The field grows like 1 / (1 − t) near the data, so arrows are
/// scaled per panel, the longest drawn 0.45 long.
pub fn learned_field(
    data: &Tensor,
    grid: &Tensor,
    ts: &[f64],
    fields: &[Tensor],
) -> Result<RgbImage> {
    let mut panels = Vec::new();
    for (t, v) in ts.iter().zip(fields) {
        let longest = v
            .square()
            .sum_dim_intlist(1, false, Kind::Float)
            .max()
            .sqrt();
        let scale = 0.45 / longest.double_value(&[]);
        let arrows: Vec<_> = (0..grid.size()[0])
            .map(|i| {
                let (p, v) = (point(grid, i), point(v, i));
                (p, (scale * v.0, scale * v.1))
            })
            .collect();
        panels.push(
            Plane::new(format!("learned v(x, t = {t})"), EXTENT)
                .points("", xy(data))
                .grey()
                .width(1)
                .arrows("", arrows)
                .render(300)?,
        );
    }
    Ok(side_by_side(&panels, 8))
}

/// Left, the `traces` (points from noise to sample) with their starts and ends;
/// right, the `samples`.
pub fn trajectories_and_samples(
    data: &Tensor,
    traces: &[Vec<(f64, f64)>],
    samples: &Tensor,
) -> Result<RgbImage> {
    let left =
        Plane::new(format!("{} sampling trajectories", traces.len()), EXTENT)
            .points("", xy(data))
            .grey()
            .width(1)
            .paths("trajectory", traces.to_vec())
            .points("start (noise)", traces.iter().map(|p| p[0]).collect())
            .width(3)
            .points(
                "end (sample)",
                traces.iter().map(|p| *p.last().expect("points")).collect(),
            )
            .width(3)
            .render(360)?;
    let right = Plane::new(format!("{} samples", samples.size()[0]), EXTENT)
        .points("", xy(samples))
        .color(0)
        .width(1)
        .render(360)?;
    Ok(side_by_side(&[left, right], 8))
}

/// Per solver, its (velocity evaluations, error) points, on log–log axes.
pub fn solver_errors(series: &[(Solver, Vec<(f64, f64)>)]) -> Result<RgbImage> {
    let mut chart = LineChart::new(
        "integration error against network evaluations",
        "velocity evaluations per sample",
        "RMS distance to Heun-256",
    )
    .log_x(true)
    .log_y(true);
    for (solver, points) in series {
        chart = chart.series(solver.to_string(), points.clone());
    }
    Ok(chart.render(640, 320)?)
}

/// Per network, named, its (t, relative error against the exact field) points.
pub fn field_errors(
    title: &str,
    series: Vec<(&str, Vec<(f64, f64)>)>,
) -> Result<RgbImage> {
    let mut chart =
        LineChart::new(title, "t", "relative error against the exact field")
            .log_y(true)
            // the errors rise to the right: the upper left stays empty
            .legend(Corner::UpperLeft);
    for (name, points) in series {
        chart = chart.series(name, points);
    }
    Ok(chart.render(640, 320)?)
}

/// One panel per guidance scale `w`: its samples over the data.
pub fn guided_samples(
    data: &Tensor,
    samples: &[(f64, Tensor)],
) -> Result<RgbImage> {
    let mut panels = Vec::new();
    for (w, x) in samples {
        panels.push(
            Plane::new(format!("w = {w}"), EXTENT)
                .points("", xy(data))
                .grey()
                .width(1)
                .points("", xy(x))
                .color(1)
                .width(1)
                .render(260)?,
        );
    }
    Ok(side_by_side(&panels, 8))
}
