//! Inside TinyDiT's first steps: the architecture drawn from the configuration,
//! and its parameters and FLOPs by module. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: architecture
pub fn architecture(g: &Loaded) -> Result<()> {
    step("architecture");
    let cfg = &g.cfg;
    let image = format!("{} × {} × {}", g.c_in, cfg.input_size, cfg.input_size);
    // What the network returns: a model that predicts the clean image turns it
    // into the velocity the sampler follows.
    let output = match cfg.prediction {
        Prediction::X => vec![
            format!("the predicted clean image x1, {image}"),
            "velocity v = (x1 − x_t) / (1 − t)".to_owned(),
        ],
        Prediction::V => vec![format!("the velocity v, {image}")],
    };
    // The figure is drawn from the configuration, so it always shows the
    // bundled model.
    let fig = figures::architecture(cfg, &output)?;
    let path = save_png(&fig, out_dir().join("architecture.png"))?;
    println!("output: {}", output.join("; "));
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: architecture

// ANCHOR: modules
pub fn modules(g: &Loaded) -> Result<()> {
    step("modules");
    // Parameters by module, from the weights' own names (the names of DiT's
    // `models.py`).
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
    // Forward multiply-adds per image: every linear layer applied to every
    // token (or once, for the conditioning), and attention's two T × T
    // products.
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
            // not the fixed pos_embed
            .filter(|n| group(n) == *module && vars[n.as_str()].requires_grad())
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
    let chart = figures::flops_by_part(&parts)?;
    let path = save_png(&chart, out_dir().join("flops.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: modules
