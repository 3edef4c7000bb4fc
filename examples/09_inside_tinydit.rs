//! Inside TinyDiT: the bundled generator taken apart, module by module, on its own weights.
//!
//! Counts parameters and FLOPs, cuts an image into the tokens the transformer sees, draws the
//! position and time embeddings, measures how the adaLN-Zero modulation of every block
//! changes with t, and shows where the attention of each block looks.
//!
//! Run it with `cargo run --release --example 09_inside_tinydit`.
// verify-docs: timeout_s = 120, budget_s = 60

// ANCHOR: uses
use anyhow::Result;
use tch::{Device, Kind, Tensor};
use tinycats_core::{Breed, class_index};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::dit::{
    DitConfig, Prediction, patchify, sincos_pos_embed_2d, timestep_frequencies, unpatchify,
};
use tinycats_models::flow::{self, seeded_noise};
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{display_path, out_dir, step, workspace_root};
use tinycats_plot::{
    BarChart, Diagram, ImageGrid, LineChart, Side, heatmap, save_png, upscale_nearest,
};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The generator's folder, relative to the checkout.
    generator: &'static str,
    /// The breed whose image and conditioning the steps use.
    breed: &'static str,
    /// Seed of the noise in the attention step.
    seed: u64,
    /// The time at which the attention maps are taken.
    attention_t: f64,
    /// The token whose attention is drawn: (row, column) on the 8 × 8 patch grid.
    query: (i64, i64),
}

const CONFIG: Config = Config {
    generator: "assets/generator",
    breed: "Siamese",
    seed: 0,
    attention_t: 0.5,
    query: (3, 2),
};
// ANCHOR_END: config

fn main() -> Result<()> {
    // ANCHOR: load
    step("load");
    let root = workspace_root();
    let (vs, model) = TinyDit::load(&root.join(CONFIG.generator), Device::Cpu)?;
    let cfg = model.config().clone();
    let (p, d, grid) = (
        cfg.patch_size,
        cfg.hidden_size,
        cfg.input_size / cfg.patch_size,
    );
    let tokens = cfg.num_patches();
    println!(
        "{} px images in {p} × {p} patches → {tokens} tokens of width {d}",
        cfg.input_size
    );
    println!(
        "{} blocks, {} heads of width {}, MLP width {}",
        cfg.depth,
        cfg.num_heads,
        d / cfg.num_heads,
        cfg.mlp_hidden()
    );
    let breed = class_index(&cfg.class_names, &Breed::Name(CONFIG.breed.into()), false)? as i64;
    // ANCHOR_END: load

    // ANCHOR: architecture
    step("architecture");
    // The figure is drawn from the configuration, so it always shows the bundled model.
    let c_in = cfg.in_channels;
    let mut fig = Diagram::new("TinyDiT, as configured in assets/generator/config.json");
    let (w, h) = (300, 46);
    let image = format!("{c_in} × {} × {}", cfg.input_size, cfg.input_size);
    let x_in = fig.node(
        ["noisy image x_t".into(), image.clone()],
        (30, 40, w, h),
        Some(0),
    );
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
    let output = match cfg.prediction {
        Prediction::X => vec![
            format!("the predicted clean image x1, {image}"),
            "velocity v = (x1 − x_t) / (1 − t)".to_owned(),
        ],
        Prediction::V => vec![format!("the velocity v, {image}")],
    };
    let out = fig.node(
        std::iter::once("unpatchify".to_owned()).chain(output.iter().cloned()),
        (30, 440, w, 62),
        Some(0),
    );
    let t_in = fig.node(["time t"], (390, 40, 150, h), Some(1));
    let y_in = fig.node(["breed y"], (570, 40, 150, h), Some(1));
    let t_emb = fig.node(["sin-cos features", "→ MLP"], (390, 116, 150, h), Some(1));
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
    let path = save_png(&fig.render(760, 520)?, out_dir().join("architecture.png"))?;
    println!("output: {}", output.join("; "));
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: architecture

    // ANCHOR: modules
    step("modules");
    // Parameters by module, from the weights' own names (the names of DiT's `models.py`).
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let group = |name: &str| -> String {
        match name.split('.').collect::<Vec<_>>().as_slice() {
            ["blocks", i, ..] => format!("blocks.{i}"),
            [first, ..] => first.to_string(),
            [] => String::new(),
        }
    };
    // Forward multiply-adds per image: every linear layer applied to every token (or once,
    // for the conditioning), and attention's two T × T products.
    let m = cfg.forward_macs();
    let macs = |module: &str| -> i64 {
        match module {
            "x_embedder" => m.patch_embedding,
            "t_embedder" => m.time_embedding,
            "final_layer" => m.final_layer,
            b if b.starts_with("blocks.") => m.block(),
            _ => 0, // table lookups and the fixed position embedding
        }
    };
    let mut modules: Vec<String> = names.iter().map(|n| group(n)).collect();
    modules.dedup();
    let mflop = |macs: i64| 2.0 * macs as f64 / 1e6;
    println!("module          parameters  MFLOP/image");
    for module in &modules {
        let params: i64 = names
            .iter()
            .filter(|n| group(n) == *module && vars[n.as_str()].requires_grad()) // not the fixed pos_embed
            .map(|n| vars[*n].numel() as i64)
            .sum();
        println!("{module:<14}  {params:>10}  {:>11.1}", mflop(macs(module)));
    }
    println!(
        "total forward pass: {:.1} MFLOP per image and network call",
        m.flops() / 1e6
    );
    println!("tensor names, as in DiT's models.py:");
    for n in names
        .iter()
        .filter(|n| n.starts_with("blocks.0.") || !n.starts_with("blocks."))
    {
        println!("  {n:<38} {:?}", vars[*n].size());
    }
    // Where the blocks' FLOPs go, all blocks together.
    let parts: Vec<(&str, f64)> = vec![
        ("patch embedding", mflop(m.patch_embedding)),
        ("blocks: adaLN", mflop(m.depth * m.adaln)),
        ("blocks: qkv + proj", mflop(m.depth * m.qkv_proj)),
        ("blocks: attention T×T", mflop(m.depth * m.attention)),
        ("blocks: MLP", mflop(m.depth * m.mlp)),
        ("final layer", mflop(m.final_layer)),
    ];
    let chart = BarChart::new(
        "forward FLOPs per image, by part (six blocks together)",
        parts.iter().map(|p| p.0.to_owned()).collect(),
        parts.iter().map(|p| p.1).collect(),
    )
    .value_label("MFLOP per image");
    let path = save_png(&chart.render(640, 360)?, out_dir().join("flops.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: modules

    // ANCHOR: patches
    step("patches");
    let synth = SynthCats::new(SynthConfig {
        size: cfg.input_size as u32,
        ..SynthConfig::default()
    })?;
    let cat = synth.render(breed as usize, SynthSplit::Test.index_offset())?;
    let x = images::from_rgb8(&cat).unsqueeze(0); // (1, 3, 64, 64) in [0, 1]
    let patches = patchify(&x, p); // (1, 64, p·p·3): one row per token
    let back = unpatchify(&patches, p, c_in);
    println!(
        "image {:?} → tokens {:?} → image {:?}, max |Δ| = {}",
        x.size(),
        patches.size(),
        back.size(),
        (&back - &x).abs().max().double_value(&[])
    );
    // Each token's patch as a small picture, in reading order.
    let tiles: Vec<_> = (0..tokens)
        .map(|i| {
            let one = unpatchify(&patches.narrow(1, i, 1), p, c_in); // (1, 3, p, p)
            images::to_rgb8(&one.get(0)).map(|t| upscale_nearest(&t, 5))
        })
        .collect::<Result<_, _>>()?;
    let grid_img = ImageGrid::new(grid as usize)
        .title("64 tokens of 8 × 8 pixels")
        .render(&tiles)?;
    let path = save_png(&grid_img, out_dir().join("patches.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: patches

    // ANCHOR: positions
    step("positions");
    // The fixed 2-D sin-cos embedding added to every token: how similar is each position's
    // vector to that of a few chosen positions?
    let pos = sincos_pos_embed_2d(d, grid, Device::Cpu).squeeze_dim(0); // (T, D)
    let unit = &pos / pos.norm_scalaropt_dim(2, [1], true);
    let chosen = [(0, 0), (3, 3), (3, 7), (7, 2)];
    let mut maps = Vec::new();
    for &(r, c) in &chosen {
        let sim = unit.matmul(&unit.get(r * grid + c)); // (T,) cosine similarities
        let values = Vec::<f32>::try_from(&sim)?;
        let low = values.iter().cloned().fold(1f32, f32::min);
        maps.push(heatmap(
            &values,
            grid as usize,
            grid as usize,
            16,
            (low, 1.0),
        )?);
        let neighbour = sim.double_value(&[r * grid + if c + 1 < grid { c + 1 } else { c - 1 }]);
        let far: Vec<f64> = (0..tokens)
            .filter(|k| (k / grid - r).abs().max((k % grid - c).abs()) >= 4)
            .map(|k| sim.double_value(&[k]))
            .collect();
        let far = far.iter().sum::<f64>() / far.len() as f64;
        println!(
            "token ({r}, {c}): similarity to a neighbour {neighbour:+.2}, to tokens 4 or more steps away {far:+.2} on average"
        );
    }
    let img = ImageGrid::new(chosen.len())
        .col_labels(
            chosen
                .iter()
                .map(|(r, c)| format!("row {r}, col {c}"))
                .collect(),
        )
        .title("cosine similarity of each position to one (yellow = 1)")
        .render(&maps)?;
    let path = save_png(&img, out_dir().join("positions.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: positions

    // ANCHOR: time
    step("time");
    // The time features before the timestep MLP: cos and sin of t at 128 frequencies each.
    let ts = Tensor::linspace(0.0, 1.0, 64, (Kind::Float, Device::Cpu));
    let features = timestep_frequencies(&ts, 256, cfg.t_scale); // (64, 256)
    let values = Vec::<f32>::try_from(&features.reshape([-1]))?;
    let img = heatmap(&values, 64, 256, 3, (-1.0, 1.0))?;
    let img = ImageGrid::new(1)
        .title("time features: rows t = 0 … 1 (top to bottom), columns cos | sin by frequency")
        .render(&[img])?;
    let path = save_png(&img, out_dir().join("time.png"))?;
    println!(
        "t scaled by {} before the features; {} features per t",
        cfg.t_scale,
        features.size()[1]
    );
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: time

    // ANCHOR: adaln
    step("adaln");
    // The conditioning c = t_embed(t) + y_embed(breed) sets, per block, a shift, a scale and
    // a gate for the attention and for the MLP. The gates start at zero in training
    // (adaLN-Zero); here is how large the trained ones are at each t.
    let ts: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    let n = ts.len() as i64;
    let x = Tensor::zeros(
        [n, c_in, cfg.input_size, cfg.input_size],
        (Kind::Float, Device::Cpu),
    );
    let t = Tensor::from_slice(&ts.iter().map(|&t| t as f32).collect::<Vec<_>>());
    let y = Tensor::full([n], breed, (Kind::Int64, Device::Cpu));
    let inside = tch::no_grad(|| model.inspect(&x, &t, &y));
    let mut chart = LineChart::new(
        "attention gate per block: mean |gate| over the width",
        "t",
        "mean |gate|",
    );
    println!("block  |attention gate| at t = 0, 0.5, 1   |MLP gate| at t = 0, 0.5, 1");
    for (b, m) in inside.modulation.iter().enumerate() {
        let mean_abs = |k: i64| m.select(1, k).abs().mean_dim(1, false, Kind::Float); // (n,)
        let (attn_gate, mlp_gate) = (mean_abs(2), mean_abs(5));
        let at = |v: &Tensor, i: i64| v.double_value(&[i]);
        println!(
            "{b:>5}  {:>8.3} {:>6.3} {:>6.3}              {:>8.3} {:>6.3} {:>6.3}",
            at(&attn_gate, 0),
            at(&attn_gate, 5),
            at(&attn_gate, 10),
            at(&mlp_gate, 0),
            at(&mlp_gate, 5),
            at(&mlp_gate, 10)
        );
        let points = ts
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, at(&attn_gate, i as i64)))
            .collect();
        chart = chart.series(format!("block {b}"), points);
    }
    let path = save_png(&chart.render(640, 340)?, out_dir().join("adaln.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: adaln

    // ANCHOR: attention
    step("attention");
    // Half-way from noise to the cat above, where does one token look in each block?
    let norm = cfg.normalize()?;
    let x1 = flow::from_unit_range(&x_of(&cat), &norm);
    let x0 = seeded_noise(
        CONFIG.seed,
        1,
        [c_in, cfg.input_size, cfg.input_size],
        Device::Cpu,
    );
    let t = Tensor::from_slice(&[CONFIG.attention_t as f32]);
    let x_t = flow::interpolate(&x0, &x1, &t);
    let y = Tensor::from_slice(&[breed]);
    let inside = tch::no_grad(|| model.inspect(&x_t, &t, &y));
    let (qr, qc) = CONFIG.query;
    let query = qr * grid + qc;
    let mut maps = Vec::new();
    println!("block  own token  3 × 3 around it  farthest half  most weight on (row, col)");
    for (b, a) in inside.attention.iter().enumerate() {
        let row = a.get(0).mean_dim(0, false, Kind::Float).get(query); // (T,), heads averaged
        let w = Vec::<f32>::try_from(&row)?;
        let dist = |k: i64| ((k / grid - qr).abs()).max((k % grid - qc).abs());
        let share = |f: &dyn Fn(i64) -> bool| {
            (0..tokens)
                .filter(|&k| f(k))
                .map(|k| w[k as usize])
                .sum::<f32>()
        };
        let mut by_distance: Vec<i64> = (0..tokens).collect();
        by_distance.sort_by_key(|&k| std::cmp::Reverse(dist(k)));
        let far: f32 = by_distance[..(tokens / 2) as usize]
            .iter()
            .map(|&k| w[k as usize])
            .sum();
        let mut ranked: Vec<i64> = (0..tokens).collect();
        ranked.sort_by(|&i, &j| w[j as usize].total_cmp(&w[i as usize]));
        let top: Vec<(i64, i64)> = ranked[..3].iter().map(|&k| (k / grid, k % grid)).collect();
        println!(
            "{b:>5}  {:>9.3}  {:>15.3}  {far:>13.3}  {top:?}",
            w[query as usize],
            share(&|k| dist(k) <= 1)
        );
        let max = w.iter().cloned().fold(0f32, f32::max);
        maps.push(heatmap(&w, grid as usize, grid as usize, 16, (0.0, max))?);
    }
    // The cat, with the query token framed in red.
    let mut framed = upscale_nearest(&cat, 2);
    let (x0p, y0p, side) = ((qc * p * 2) as u32, (qr * p * 2) as u32, (p * 2) as u32);
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
    tiles.extend(maps);
    let img = ImageGrid::new(tiles.len())
        .col_labels(
            std::iter::once("the token".to_owned())
                .chain((0..cfg.depth).map(|b| format!("block {b}")))
                .collect(),
        )
        .title(format!(
            "where token (row {qr}, col {qc}) attends at t = {}, heads averaged (yellow = most)",
            CONFIG.attention_t
        ))
        .render(&tiles)?;
    let path = save_png(&img, out_dir().join("attention.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: attention

    // ANCHOR: exercise_breeds
    step("exercise_breeds");
    // The attention gates of every block at t = 0.5 for four breeds, against their spread
    // over time (t = 0.1 against t = 0.9) for the chosen breed.
    let breeds = ["Siamese", "Bombay", "Sphynx", "Persian"];
    let ys: Vec<i64> = breeds
        .iter()
        .map(|b| class_index(&cfg.class_names, &Breed::Name((*b).into()), false).map(|i| i as i64))
        .collect::<Result<_, _>>()?;
    let n = ys.len() as i64;
    let x = Tensor::zeros(
        [n, c_in, cfg.input_size, cfg.input_size],
        (Kind::Float, Device::Cpu),
    );
    let gates = |t: f64, ys: &[i64]| -> Vec<Vec<f64>> {
        let m = ys.len() as i64;
        let inside = tch::no_grad(|| {
            model.inspect(
                &x.narrow(0, 0, m),
                &Tensor::full([m], t, (Kind::Float, Device::Cpu)),
                &Tensor::from_slice(ys),
            )
        });
        inside
            .modulation
            .iter()
            .map(|mb| {
                let g = mb.select(1, 2).abs().mean_dim(1, false, Kind::Float); // (m,)
                (0..m).map(|i| g.double_value(&[i])).collect()
            })
            .collect()
    };
    let by_breed = gates(0.5, &ys);
    let (early, late) = (gates(0.1, &ys[..1]), gates(0.9, &ys[..1]));
    println!(
        "block  {}  t = 0.1 / 0.9 ({})",
        breeds.map(|b| format!("{b:>8}")).join(""),
        breeds[0]
    );
    for (b, row) in by_breed.iter().enumerate() {
        let cells: String = row.iter().map(|g| format!("{g:>8.3}")).collect();
        println!("{b:>5}  {cells}  {:.3} / {:.3}", early[b][0], late[b][0]);
    }
    // ANCHOR_END: exercise_breeds

    // ANCHOR: exercise_local
    step("exercise_local");
    // The eye token's share of attention in its 3 × 3 neighbourhood, per block, at three times.
    println!(
        "t     share in the 3 × 3 neighbourhood, blocks 0 … {}",
        cfg.depth - 1
    );
    for t_val in [0.1, 0.5, 0.9] {
        let t = Tensor::from_slice(&[t_val as f32]);
        let x_t = flow::interpolate(&x0, &x1, &t);
        let inside = tch::no_grad(|| model.inspect(&x_t, &t, &Tensor::from_slice(&[breed])));
        let shares: Vec<String> = inside
            .attention
            .iter()
            .map(|a| {
                let row = a.get(0).mean_dim(0, false, Kind::Float).get(query); // (T,)
                let near: f64 = (0..tokens)
                    .filter(|k| (k / grid - qr).abs().max((k % grid - qc).abs()) <= 1)
                    .map(|k| row.double_value(&[k]))
                    .sum();
                format!("{near:.2}")
            })
            .collect();
        println!("{t_val:<4}  {}", shares.join("  "));
    }
    // ANCHOR_END: exercise_local

    // ANCHOR: exercise_patch4
    step("exercise_patch4");
    // What the same width and depth would cost with 4 × 4 patches (256 tokens).
    println!(
        "patch  tokens  MFLOP/image: projections  MLP  attention T×T  total (blocks)  × patch 8"
    );
    let mut patch8_total = None;
    for patch in [8, 4] {
        let config = DitConfig {
            patch_size: patch,
            ..cfg.clone()
        };
        let m = config.forward_macs();
        let all_blocks = |macs: i64| 2.0 * (m.depth * macs) as f64 / 1e6;
        let (proj, mlp, attn) = (
            all_blocks(m.qkv_proj),
            all_blocks(m.mlp),
            all_blocks(m.attention),
        );
        let total = proj + mlp + attn;
        let base = *patch8_total.get_or_insert(total);
        println!(
            "{patch:>5}  {:>6}  {proj:>24.0}  {mlp:>4.0}  {attn:>13.0}  {total:>14.0}  {:>9.2}",
            config.num_patches(),
            total / base
        );
    }
    // ANCHOR_END: exercise_patch4

    Ok(())
}

/// An 8-bit picture as a `(1, 3, H, W)` tensor in [0, 1].
fn x_of(img: &image::RgbImage) -> Tensor {
    images::from_rgb8(img).unsqueeze(0)
}
