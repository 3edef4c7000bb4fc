//! TinyDiT as an ONNX graph: ONE denoiser evaluation, `(noise, timestep, breed) → velocity`.
//!
//! Mirrors facebookresearch/DiT `models.py` (Peebles & Xie, "Scalable Diffusion Models with
//! Transformers", 2023) with `learn_sigma = false`: patch embedding + fixed sin-cos position
//! embedding, timestep and label embedders, adaLN-Zero blocks, final layer, unpatchify,
//! and the optional residual output convolution (`DitConfig::final_conv`).
//! Classifier-free guidance is deliberately NOT in the graph: the caller batches the
//! conditional and unconditional rows (breed = `num_classes`) and mixes the velocities.

use crate::error::Result;
use crate::graph::{Dim, GraphBuilder, attr_i, attr_ints};
use crate::layers::{conv2d, gelu_tanh, layer_norm, linear, silu};
use crate::metadata;
use crate::proto::{ModelProto, tensor_proto::DataType};
use crate::weights::Weights;
use tinycats_core::config::{DitConfig, Prediction};

/// Size of the sinusoidal timestep embedding (DiT's `frequency_embedding_size`).
const FREQ_DIM: usize = tinycats_core::config::TIME_FREQUENCIES as usize;
const LN_EPS: f32 = 1e-6;

/// Builds the generator graph from a checked config and its weights.
pub fn build(cfg: &DitConfig, w: &Weights, config_json: &str) -> Result<ModelProto> {
    // The config is validated (sizes ≥ 1); the graph builder counts in `usize`.
    let (c, s, p, d) = (
        cfg.in_channels as usize,
        cfg.input_size as usize,
        cfg.patch_size as usize,
        cfg.hidden_size as usize,
    );
    let num_classes = cfg.num_classes as usize;
    let (g, t_len) = (s / p, cfg.num_patches() as usize);
    let (ci, si, pi, di) = (c as i64, s as i64, p as i64, d as i64);
    let batch = Dim::Named("batch");
    let image = [batch, Dim::Fixed(ci), Dim::Fixed(si), Dim::Fixed(si)];

    let mut b = GraphBuilder::new("tinydit");
    let noise = b.input("noise", DataType::Float, &image); // (B, C, S, S)
    let timestep = b.input("timestep", DataType::Float, &[batch]); // (B)
    let breed = b.input("breed", DataType::Int64, &[batch]); // (B)

    // Patch embedding + fixed position embedding.
    b.set_scope("x_embedder");
    let x = conv2d(&mut b, w, "x_embedder.proj", &noise, c, d, p, (pi, 0))?; // (B, D, g, g)
    let shape = b.ints(&[0, di, t_len as i64]);
    let x = b.op("Reshape", &[&x, &shape], vec![]); // (B, D, T)
    let x = b.op("Transpose", &[&x], vec![attr_ints("perm", &[0, 2, 1])]); // (B, T, D)
    let pos = w.get("pos_embed", &[1, t_len, d])?;
    let pos = b.init_f32("pos_embed", &[1, t_len as i64, di], &pos.data);
    let mut x = b.op("Add", &[&x, &pos], vec![]); // (B, T, D)

    // Timestep embedding of t·t_scale: [cos, sin] of 128 geometric frequencies → MLP.
    b.set_scope("t_embedder");
    let half = FREQ_DIM / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|k| (-(10_000f64.ln()) * k as f64 / half as f64).exp() as f32)
        .collect();
    let freqs = b.init_f32("t_embedder.freqs", &[1, half as i64], &freqs);
    let t_scale = b.scalar(cfg.t_scale as f32);
    let t = b.op("Mul", &[&timestep, &t_scale], vec![]); // (B)
    let axes = b.ints(&[1]);
    let t = b.op("Unsqueeze", &[&t, &axes], vec![]); // (B, 1)
    let args = b.op("Mul", &[&t, &freqs], vec![]); // (B, 128)
    let cos = b.op("Cos", &[&args], vec![]);
    let sin = b.op("Sin", &[&args], vec![]);
    let emb = b.op("Concat", &[&cos, &sin], vec![attr_i("axis", 1)]); // (B, 256)
    let h = linear(&mut b, w, "t_embedder.mlp.0", &emb, FREQ_DIM, d)?;
    let h = silu(&mut b, &h);
    let t_emb = linear(&mut b, w, "t_embedder.mlp.2", &h, d, d)?; // (B, D)

    // Label embedding; the last row is the null class used for guidance.
    b.set_scope("y_embedder");
    let table = w.get("y_embedder.embedding_table.weight", &[num_classes + 1, d])?;
    let table = b.init_f32(
        "y_embedder.embedding_table.weight",
        &[cfg.num_classes + 1, di],
        &table.data,
    );
    let y_emb = b.op("Gather", &[&table, &breed], vec![attr_i("axis", 0)]); // (B, D)
    let cond = b.op("Add", &[&t_emb, &y_emb], vec![]); // (B, D)
    let cond = silu(&mut b, &cond); // SiLU(c), the input of every adaLN_modulation

    b.set_scope("");
    let ones = b.init_f32("layer_norm.ones", &[di], &vec![1.0; d]);
    let zeros = b.init_f32("layer_norm.zeros", &[di], &vec![0.0; d]);
    let one = b.scalar(1.0);
    let norm = Norm {
        ones: &ones,
        zeros: &zeros,
        one: &one,
    };

    for i in 0..cfg.depth {
        x = block(&mut b, w, cfg, &norm, &format!("blocks.{i}"), &x, &cond)?;
    }

    // Final layer: adaLN (shift, scale) → LayerNorm → modulate → Linear to patch pixels.
    b.set_scope("final_layer");
    let m = linear(&mut b, w, "final_layer.adaLN_modulation.1", &cond, d, 2 * d)?; // (B, 2D)
    let chunks = chunks(&mut b, &m, 2, d); // 2 × (B, 1, D)
    let xn = layer_norm(&mut b, &x, norm.ones, norm.zeros, LN_EPS);
    let xm = modulate(&mut b, &xn, &chunks[0], &chunks[1], norm.one);
    let out = linear(&mut b, w, "final_layer.linear", &xm, d, p * p * c)?; // (B, T, p·p·C)

    // Unpatchify: (B, g, g, p, p, C) → (B, C, g, p, g, p) → (B, C, S, S).
    b.set_scope("unpatchify");
    let shape = b.ints(&[0, g as i64, g as i64, pi, pi, ci]);
    let out = b.op("Reshape", &[&out, &shape], vec![]); // (B, g, g, p, p, C)
    let perm = attr_ints("perm", &[0, 5, 1, 3, 2, 4]);
    let out = b.op("Transpose", &[&out], vec![perm]); // (B, C, g, p, g, p)
    let shape = b.ints(&[0, ci, si, si]);
    let mut out = b.op("Reshape", &[&out, &shape], vec![]); // (B, C, S, S)

    if cfg.final_conv {
        // out + Conv3×3(out): the residual output convolution (`DitConfig::final_conv`).
        b.set_scope("final_conv");
        let conv = conv2d(&mut b, w, "final_conv", &out, c, c, 3, (1, 1))?; // (B, C, S, S)
        out = b.op("Add", &[&out, &conv], vec![]); // (B, C, S, S)
    }

    if cfg.prediction == Prediction::X {
        // velocity = (x̂₁ − x_t) / max(1 − t, t_eps)
        b.set_scope("velocity");
        let shape = b.ints(&[-1, 1, 1, 1]);
        let t4 = b.op("Reshape", &[&timestep, &shape], vec![]); // (B, 1, 1, 1)
        let one = b.scalar(1.0);
        let eps = b.scalar(cfg.t_eps as f32);
        let rem = b.op("Sub", &[&one, &t4], vec![]);
        let den = b.op("Max", &[&rem, &eps], vec![]);
        let diff = b.op("Sub", &[&out, &noise], vec![]); // (B, C, S, S)
        b.op("Div", &[&diff, &den], vec![]); // (B, C, S, S)
    }
    b.rename_last_output("velocity");
    b.output(
        "velocity",
        DataType::Float,
        &[
            Dim::Named("batch"),
            Dim::Fixed(ci),
            Dim::Fixed(si),
            Dim::Fixed(si),
        ],
    );

    let doc = format!(
        "TinyDiT ({} preset) one denoiser evaluation: noise=x_t [B,{c},{s},{s}], timestep=t [B], \
         breed [B] (null class {}) -> velocity [B,{c},{s},{s}]",
        cfg.preset, cfg.num_classes
    );
    Ok(b.finish(metadata::dit(cfg, config_json), &doc))
}

/// Shared constants of every block.
struct Norm<'a> {
    ones: &'a str,
    zeros: &'a str,
    one: &'a str,
}

/// One adaLN-Zero DiT block on `x` `(B, T, D)` conditioned on `SiLU(c)` `(B, D)`.
fn block(
    b: &mut GraphBuilder,
    w: &Weights,
    cfg: &DitConfig,
    norm: &Norm<'_>,
    prefix: &str,
    x: &str,
    cond: &str,
) -> Result<String> {
    let (d, heads) = (cfg.hidden_size as usize, cfg.num_heads as usize);
    let (hd, t_len) = (d / heads, cfg.num_patches());
    b.set_scope(&format!("{prefix}.adaLN_modulation"));
    let m = linear(
        b,
        w,
        &format!("{prefix}.adaLN_modulation.1"),
        cond,
        d,
        6 * d,
    )?; // (B, 6D)
    // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
    let ch = chunks(b, &m, 6, d); // 6 × (B, 1, D)

    b.set_scope(&format!("{prefix}.attn"));
    let xn = layer_norm(b, x, norm.ones, norm.zeros, LN_EPS);
    let xm = modulate(b, &xn, &ch[0], &ch[1], norm.one);
    let qkv = linear(b, w, &format!("{prefix}.attn.qkv"), &xm, d, 3 * d)?; // (B, T, 3D)
    let shape = b.ints(&[0, t_len, 3, heads as i64, hd as i64]);
    let qkv = b.op("Reshape", &[&qkv, &shape], vec![]); // (B, T, 3, H, hd)
    let mut head = |i: i64, perm: &[i64]| {
        let idx = b.scalar_i64(i);
        let part = b.op("Gather", &[&qkv, &idx], vec![attr_i("axis", 2)]); // (B, T, H, hd)
        b.op("Transpose", &[&part], vec![attr_ints("perm", perm)])
    };
    let q = head(0, &[0, 2, 1, 3]); // (B, H, T, hd)
    let k = head(1, &[0, 2, 3, 1]); // (B, H, hd, T)
    let v = head(2, &[0, 2, 1, 3]); // (B, H, T, hd)
    let scale = b.scalar((hd as f32).powf(-0.5));
    let q = b.op("Mul", &[&q, &scale], vec![]);
    let scores = b.op("MatMul", &[&q, &k], vec![]); // (B, H, T, T)
    let probs = b.op("Softmax", &[&scores], vec![attr_i("axis", -1)]);
    let o = b.op("MatMul", &[&probs, &v], vec![]); // (B, H, T, hd)
    let o = b.op("Transpose", &[&o], vec![attr_ints("perm", &[0, 2, 1, 3])]); // (B, T, H, hd)
    let shape = b.ints(&[0, t_len, d as i64]);
    let o = b.op("Reshape", &[&o, &shape], vec![]); // (B, T, D)
    let o = linear(b, w, &format!("{prefix}.attn.proj"), &o, d, d)?;
    let o = b.op("Mul", &[&ch[2], &o], vec![]);
    let x = b.op("Add", &[x, &o], vec![]); // (B, T, D)

    b.set_scope(&format!("{prefix}.mlp"));
    let hidden = cfg.mlp_hidden() as usize;
    let xn = layer_norm(b, &x, norm.ones, norm.zeros, LN_EPS);
    let xm = modulate(b, &xn, &ch[3], &ch[4], norm.one);
    let h = linear(b, w, &format!("{prefix}.mlp.fc1"), &xm, d, hidden)?; // (B, T, 4D)
    let h = gelu_tanh(b, &h);
    let h = linear(b, w, &format!("{prefix}.mlp.fc2"), &h, hidden, d)?; // (B, T, D)
    let h = b.op("Mul", &[&ch[5], &h], vec![]);
    Ok(b.op("Add", &[&x, &h], vec![])) // (B, T, D)
}

/// `(B, n·D)` → n × `(B, 1, D)`, in PyTorch `chunk(n, dim=1)` order, ready to broadcast
/// over tokens.
fn chunks(b: &mut GraphBuilder, m: &str, n: usize, d: usize) -> Vec<String> {
    let shape = b.ints(&[0, n as i64, d as i64]);
    let m = b.op("Reshape", &[m, &shape], vec![]); // (B, n, D)
    b.op_n("Split", &[&m], n, vec![attr_i("axis", 1)])
}

/// `x·(1 + scale) + shift`.
fn modulate(b: &mut GraphBuilder, x: &str, shift: &str, scale: &str, one: &str) -> String {
    let s1 = b.op("Add", &[scale, one], vec![]);
    let y = b.op("Mul", &[x, &s1], vec![]);
    b.op("Add", &[&y, shift], vec![])
}
