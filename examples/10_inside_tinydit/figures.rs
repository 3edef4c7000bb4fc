//! Inside TinyDiT's plotting helpers: the architecture diagram, the charts and
//! the maps, kept out of the steps the chapter shows.

use anyhow::Result;
use image::RgbImage;
use tch::Tensor;
use tinycats_models::dit::{DitConfig, unpatchify};
use tinycats_models::images;
use tinycats_plot::{
    BarChart, Diagram, ImageGrid, LineChart, Side, heatmap, upscale_nearest,
};

/// The architecture `cfg` describes as boxes and arrows: the image path on the
/// left, the conditioning on the right, and `output` (the lines that describe
/// the model's output) in the last box.
pub fn architecture(cfg: &DitConfig, output: &[String]) -> Result<RgbImage> {
    let (p, d, tokens, c_in) = (
        cfg.patch_size,
        cfg.hidden_size,
        cfg.num_patches(),
        cfg.in_channels,
    );
    let mut fig =
        Diagram::new("TinyDiT, as configured in assets/generator/config.json");
    let (w, h) = (300, 46);
    let image = format!("{c_in} × {} × {}", cfg.input_size, cfg.input_size);
    let x_in =
        fig.node(["noisy image x_t".into(), image], (30, 40, w, h), Some(0));
    let embed = fig.node(
        [
            "patch embedding".into(),
            format!("{p} × {p} patches → {tokens} tokens × {d}"),
        ],
        (30, 116, w, h),
        Some(0),
    );
    let pos = fig.node(
        ["+ position embedding", "fixed 2-D sin-cos"],
        (30, 192, w, h),
        Some(0),
    );
    let blocks = fig.node(
        [
            format!("DiT block × {}", cfg.depth),
            format!(
                "attention ({} heads) and MLP ({})",
                cfg.num_heads,
                cfg.mlp_hidden()
            ),
            "each with adaLN-Zero: shift, scale, gate".into(),
        ],
        (30, 268, w, 66),
        Some(2),
    );
    let last = fig.node(
        [
            "final layer".into(),
            format!("adaLN, linear → {tokens} × {}", p * p * c_in),
        ],
        (30, 364, w, h),
        Some(0),
    );
    let out = fig.node(
        std::iter::once("unpatchify".to_owned()).chain(output.iter().cloned()),
        (30, 440, w, 62),
        Some(0),
    );
    let t_in = fig.node(["time t"], (390, 40, 150, h), Some(1));
    let y_in = fig.node(["breed y"], (570, 40, 150, h), Some(1));
    let t_emb =
        fig.node(["sin-cos features", "→ MLP"], (390, 116, 150, h), Some(1));
    let y_emb = fig.node(
        [
            "label table".to_owned(),
            format!("{} rows (+ null)", cfg.num_classes),
        ],
        (570, 116, 150, h),
        Some(1),
    );
    let cond = fig.node(
        ["c = t_emb + y_emb".to_owned(), format!("{d} numbers")],
        (455, 200, 200, h),
        Some(1),
    );
    for (a, b) in [
        (x_in, embed),
        (embed, pos),
        (pos, blocks),
        (blocks, last),
        (last, out),
    ] {
        fig.arrow(a, Side::Bottom, b, Side::Top);
    }
    fig.arrow(t_in, Side::Bottom, t_emb, Side::Top);
    fig.arrow(y_in, Side::Bottom, y_emb, Side::Top);
    fig.arrow(t_emb, Side::Bottom, cond, Side::Top);
    fig.arrow(y_emb, Side::Bottom, cond, Side::Top);
    fig.arrow(cond, Side::Bottom, blocks, Side::Right);
    fig.arrow(cond, Side::Bottom, last, Side::Right);
    Ok(fig.render(760, 520)?)
}

/// A bar chart of the forward pass's MFLOP per image, by named part.
pub fn flops_by_part(parts: &[(&str, f64)]) -> Result<RgbImage> {
    let chart = BarChart::new(
        "forward FLOPs per image, by part (six blocks together)",
        parts.iter().map(|p| p.0.to_owned()).collect(),
        parts.iter().map(|p| p.1).collect(),
    )
    .value_label("MFLOP per image");
    Ok(chart.render(640, 360)?)
}

/// Each token of `patches` `(1, T, p·p·C)` as the picture of its patch,
/// magnified five times, `columns` to a row in reading order.
pub fn tokens(
    patches: &Tensor,
    p: i64,
    c_in: i64,
    columns: usize,
) -> Result<RgbImage> {
    let tiles: Vec<_> = (0..patches.size()[1])
        .map(|i| {
            // one: (1, 3, p, p)
            let one = unpatchify(&patches.narrow(1, i, 1), p, c_in);
            images::to_rgb8(&one.get(0)).map(|t| upscale_nearest(&t, 5))
        })
        .collect::<Result<_, _>>()?;
    Ok(ImageGrid::new(columns)
        .title("64 tokens of 8 × 8 pixels")
        .render(&tiles)?)
}

/// One map per chosen `(row, column)`: the cosine similarity of every position
/// on the `grid × grid` patch grid to it, from its lowest value to 1.
pub fn position_similarity(
    chosen: &[(i64, i64)],
    similarity: &[Vec<f32>],
    grid: usize,
) -> Result<RgbImage> {
    let maps = similarity
        .iter()
        .map(|values| {
            let low = values.iter().cloned().fold(1f32, f32::min);
            heatmap(values, grid, grid, 16, (low, 1.0))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ImageGrid::new(chosen.len())
        .col_labels(
            chosen
                .iter()
                .map(|(r, c)| format!("row {r}, col {c}"))
                .collect(),
        )
        .title("cosine similarity of each position to one (yellow = 1)")
        .render(&maps)?)
}

/// The time features, `rows` times `cols` values in [−1, 1], as a map of
/// 3-pixel cells.
pub fn time_features(
    values: &[f32],
    rows: usize,
    cols: usize,
) -> Result<RgbImage> {
    let img = heatmap(values, rows, cols, 3, (-1.0, 1.0))?;
    Ok(ImageGrid::new(1)
        .title("time features: rows t = 0 … 1 (top to bottom), columns cos | sin by frequency")
        .render(&[img])?)
}

/// One curve per block: its attention gate's mean |gate| over the width,
/// against t.
pub fn attention_gates(per_block: Vec<Vec<(f64, f64)>>) -> Result<RgbImage> {
    let mut chart = LineChart::new(
        "attention gate per block: mean |gate| over the width",
        "t",
        "mean |gate|",
    );
    for (b, points) in per_block.into_iter().enumerate() {
        chart = chart.series(format!("block {b}"), points);
    }
    Ok(chart.render(640, 340)?)
}

/// The cat with the query token (`query` = (row, column) of `p`-pixel patches)
/// framed in red, then one map per block of the query's attention weights over
/// the `grid × grid` tokens, from 0 to the block's largest weight; taken at
/// time `t`.
pub fn attention_maps(
    cat: &RgbImage,
    query: (i64, i64),
    p: i64,
    weights: &[Vec<f32>],
    grid: usize,
    t: f64,
) -> Result<RgbImage> {
    let (qr, qc) = query;
    let mut framed = upscale_nearest(cat, 2);
    let (x0p, y0p, side) =
        ((qc * p * 2) as u32, (qr * p * 2) as u32, (p * 2) as u32);
    for i in 0..side {
        for (x, y) in [
            (x0p + i, y0p),
            (x0p + i, y0p + side - 1),
            (x0p, y0p + i),
            (x0p + side - 1, y0p + i),
        ] {
            framed.put_pixel(x, y, image::Rgb([230, 20, 20]));
        }
    }
    let mut tiles = vec![framed];
    for w in weights {
        let max = w.iter().cloned().fold(0f32, f32::max);
        tiles.push(heatmap(w, grid, grid, 16, (0.0, max))?);
    }
    Ok(ImageGrid::new(tiles.len())
        .col_labels(
            std::iter::once("the token".to_owned())
                .chain((0..weights.len()).map(|b| format!("block {b}")))
                .collect(),
        )
        .title(format!(
            "where token (row {qr}, col {qc}) attends at t = {t}, heads \
             averaged (yellow = most)"
        ))
        .render(&tiles)?)
}
