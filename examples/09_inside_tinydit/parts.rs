//! Inside TinyDiT's first steps: the architecture drawn from the configuration, and its
//! parameters and FLOPs by module. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: architecture
pub fn architecture(g: &Loaded) -> Result<()> {
    step("architecture");
    // The figure is drawn from the configuration, so it always shows the bundled model.
    let (fig, output) = diagram(g);
    let path = save_png(&fig.render(760, 520)?, out_dir().join("architecture.png"))?;
    println!("output: {}", output.join("; "));
    println!("saved        {}", display_path(&path));
    Ok(())
}

/// The architecture as boxes and arrows, and the lines that describe the model's output.
fn diagram(g: &Loaded) -> (Diagram, Vec<String>) {
    let Loaded {
        p, d, tokens, c_in, ..
    } = *g;
    let cfg = &g.cfg;
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
    (fig, output)
}
// ANCHOR_END: architecture

// ANCHOR: modules
pub fn modules(g: &Loaded) -> Result<()> {
    step("modules");
    // Parameters by module, from the weights' own names (the names of DiT's `models.py`).
    let (cfg, vars) = (&g.cfg, g.vs.variables());
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
    Ok(())
}
// ANCHOR_END: modules
