//! Inside TinyDiT: the bundled generator taken apart, module by module, on its
//! own weights.
//!
//! Counts parameters and FLOPs, cuts an image into the tokens the transformer
//! sees, draws the position and time embeddings, measures how the adaLN-Zero
//! modulation of every block changes with t, and shows where the attention of
//! each block looks.
//!
//! `main` runs the steps in the chapter's order, each one function: the
//! architecture and its cost in `parts.rs`, tokens and embeddings here, the
//! conditioning's gates and the attention in `conditioning.rs`, the exercises
//! in `exercises.rs`, and the code that draws the diagram, the charts and the
//! maps in `figures.rs`.
//!
//! Run it with `cargo run --release --example 10_inside_tinydit`.
// verify-docs: timeout_s = 120, budget_s = 60

mod conditioning;
mod exercises;
mod figures;
mod parts;

use conditioning::Halfway;

// ANCHOR: uses
use anyhow::Result;
use image::RgbImage;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tinycats_core::{Breed, class_index};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::dit::{
    DitConfig, Prediction, patchify, sincos_pos_embed_2d, timestep_frequencies,
    unpatchify,
};
use tinycats_models::flow::{self, seeded_noise};
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{display_path, out_dir, step, workspace_root};
use tinycats_plot::save_png;
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
    /// The token whose attention is drawn: (row, column) on the 8 × 8 patch
    /// grid.
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

// ANCHOR: main
fn main() -> Result<()> {
    let g = load()?;
    parts::architecture(&g)?;
    parts::modules(&g)?;
    let cat = patches(&g)?;
    positions(&g)?;
    time(&g)?;
    conditioning::adaln(&g)?;
    let halfway = conditioning::attention(&g, &cat)?;
    exercises::breeds(&g)?;
    exercises::local(&g, &halfway)?;
    exercises::patch4(&g)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: load
/// The bundled generator, and the sizes every later step reads from its
/// configuration.
struct Loaded {
    vs: VarStore,
    model: TinyDit,
    cfg: DitConfig,
    /// Patch side, width, patches per side, tokens, and image channels.
    p: i64,
    d: i64,
    grid: i64,
    tokens: i64,
    c_in: i64,
    /// The class index of `CONFIG.breed`.
    breed: i64,
}

fn load() -> Result<Loaded> {
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
    let breed = class_index(
        &cfg.class_names,
        &Breed::Name(CONFIG.breed.into()),
        false,
    )? as i64;
    let c_in = cfg.in_channels;
    Ok(Loaded {
        vs,
        model,
        cfg,
        p,
        d,
        grid,
        tokens,
        c_in,
        breed,
    })
}
// ANCHOR_END: load

// ANCHOR: patches
/// A held-out cat of the breed, cut into tokens and put back together; returns
/// the cat.
fn patches(g: &Loaded) -> Result<RgbImage> {
    let Loaded {
        p,
        grid,
        c_in,
        breed,
        ..
    } = *g;
    let cfg = &g.cfg;
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
    let tiles = figures::tokens(&patches, p, c_in, grid as usize)?;
    let path = save_png(&tiles, out_dir().join("patches.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(cat)
}
// ANCHOR_END: patches

// ANCHOR: positions
fn positions(g: &Loaded) -> Result<()> {
    let Loaded {
        d, grid, tokens, ..
    } = *g;
    step("positions");
    // The fixed 2-D sin-cos embedding added to every token: how similar is each
    // position's vector to that of a few chosen positions?
    // pos: (T, D)
    let pos = sincos_pos_embed_2d(d, grid, Device::Cpu).squeeze_dim(0);
    let unit = &pos / pos.norm_scalaropt_dim(2, [1], true);
    let chosen = [(0, 0), (3, 3), (3, 7), (7, 2)];
    let mut maps = Vec::new();
    for &(r, c) in &chosen {
        // sim: (T,) cosine similarities
        let sim = unit.matmul(&unit.get(r * grid + c));
        maps.push(Vec::<f32>::try_from(&sim)?);
        let neighbour = sim.double_value(&[
            r * grid + if c + 1 < grid { c + 1 } else { c - 1 }
        ]);
        let far: Vec<f64> = (0..tokens)
            .filter(|k| (k / grid - r).abs().max((k % grid - c).abs()) >= 4)
            .map(|k| sim.double_value(&[k]))
            .collect();
        let far = far.iter().sum::<f64>() / far.len() as f64;
        println!(
            "token ({r}, {c}): similarity to a neighbour {neighbour:+.2}, to \
             tokens 4 or more steps away {far:+.2} on average"
        );
    }
    let img = figures::position_similarity(&chosen, &maps, grid as usize)?;
    let path = save_png(&img, out_dir().join("positions.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: positions

// ANCHOR: time
fn time(g: &Loaded) -> Result<()> {
    step("time");
    // The time features before the timestep MLP: cos and sin of t at 128
    // frequencies each.
    let ts = Tensor::linspace(0.0, 1.0, 64, (Kind::Float, Device::Cpu));
    let cfg = &g.cfg;
    let features = timestep_frequencies(&ts, 256, cfg.t_scale); // (64, 256)
    let values = Vec::<f32>::try_from(&features.reshape([-1]))?;
    let img = figures::time_features(&values, 64, 256)?;
    let path = save_png(&img, out_dir().join("time.png"))?;
    println!(
        "t scaled by {} before the features; {} features per t",
        cfg.t_scale,
        features.size()[1]
    );
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: time

/// An 8-bit picture as a `(1, 3, H, W)` tensor in [0, 1].
fn x_of(img: &image::RgbImage) -> Tensor {
    images::from_rgb8(img).unsqueeze(0)
}
