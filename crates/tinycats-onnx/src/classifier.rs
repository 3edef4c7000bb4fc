//! The breed classifier (a small ResNet, torchvision naming) as an ONNX graph:
//! `input` `(B, C, S, S)` normalised → `output` `(B, num_classes)` logits.
//!
//! BatchNorm (inference statistics, eps 1e-5) is folded into the preceding convolution:
//! `W' = W·γ/√(σ²+ε)`, `b' = β − μ·γ/√(σ²+ε)`; the parity test against tch bounds the error.

use crate::error::Result;
use crate::graph::{Dim, GraphBuilder, attr_i, attr_ints};
use crate::layers::linear;
use crate::metadata;
use crate::proto::{ModelProto, tensor_proto::DataType};
use crate::weights::Weights;
use tinycats_core::config::ClassifierConfig;

const BN_EPS: f32 = 1e-5;

pub fn build(cfg: &ClassifierConfig, w: &Weights, config_json: &str) -> Result<ModelProto> {
    let (c, s) = (cfg.in_channels, cfg.image_size);
    let mut b = GraphBuilder::new("classifier");
    let batch = Dim::Named("batch");
    let input = b.input(
        "input",
        DataType::Float,
        &[batch, Dim::Fixed(c), Dim::Fixed(s), Dim::Fixed(s)],
    ); // (B, C, S, S)

    b.set_scope("stem");
    // The config is validated (sizes ≥ 1); the graph builder counts in `usize`.
    let widths: Vec<usize> = cfg.widths.iter().map(|&w| w as usize).collect();
    let blocks: Vec<usize> = cfg.blocks_per_stage.iter().map(|&n| n as usize).collect();
    let num_classes = cfg.num_classes as usize;
    let w0 = widths[0];
    let x = conv_bn(
        &mut b,
        w,
        "stem.0",
        "stem.1",
        &input,
        cfg.in_channels as usize,
        w0,
        3,
        1,
    )?;
    let mut x = b.op("Relu", &[&x], vec![]); // (B, w0, S, S)

    let mut in_ch = w0;
    for (i, (&width, &n)) in widths.iter().zip(&blocks).enumerate() {
        for j in 0..n {
            let stride = if i > 0 && j == 0 { 2 } else { 1 };
            let p = format!("layers.{i}.{j}");
            b.set_scope(&p);
            let h = conv_bn(
                &mut b,
                w,
                &format!("{p}.conv1"),
                &format!("{p}.bn1"),
                &x,
                in_ch,
                width,
                3,
                stride,
            )?;
            let h = b.op("Relu", &[&h], vec![]);
            let h = conv_bn(
                &mut b,
                w,
                &format!("{p}.conv2"),
                &format!("{p}.bn2"),
                &h,
                width,
                width,
                3,
                1,
            )?;
            let skip = if w.contains(&format!("{p}.downsample.0.weight")) {
                let ds = format!("{p}.downsample");
                conv_bn(
                    &mut b,
                    w,
                    &format!("{ds}.0"),
                    &format!("{ds}.1"),
                    &x,
                    in_ch,
                    width,
                    1,
                    stride,
                )?
            } else {
                x.clone()
            };
            let sum = b.op("Add", &[&h, &skip], vec![]);
            x = b.op("Relu", &[&sum], vec![]); // (B, width, S/2^i, S/2^i)
            in_ch = width;
        }
    }

    b.set_scope("head");
    let pooled = b.op("GlobalAveragePool", &[&x], vec![]); // (B, w, 1, 1)
    let pooled = b.op("Flatten", &[&pooled], vec![attr_i("axis", 1)]); // (B, w)
    linear(&mut b, w, "fc", &pooled, in_ch, num_classes)?; // (B, classes)
    b.rename_last_output("output");
    b.output(
        "output",
        DataType::Float,
        &[batch, Dim::Fixed(cfg.num_classes)],
    );
    let doc = format!(
        "tinycats breed classifier ({} preset): input [B,{c},{s},{s}] normalised -> output [B,{}] logits",
        cfg.preset, cfg.num_classes
    );
    Ok(b.finish(metadata::classifier(cfg, config_json), &doc))
}

/// A bias-free `k×k` convolution (`pad = k/2`) followed by BatchNorm, folded into one `Conv`.
#[allow(clippy::too_many_arguments)]
fn conv_bn(
    b: &mut GraphBuilder,
    w: &Weights,
    conv: &str,
    bn: &str,
    x: &str,
    in_ch: usize,
    out_ch: usize,
    k: usize,
    stride: usize,
) -> Result<String> {
    let weight = w.get(&format!("{conv}.weight"), &[out_ch, in_ch, k, k])?;
    let gamma = &w.get(&format!("{bn}.weight"), &[out_ch])?.data;
    let beta = &w.get(&format!("{bn}.bias"), &[out_ch])?.data;
    let mean = &w.get(&format!("{bn}.running_mean"), &[out_ch])?.data;
    let var = &w.get(&format!("{bn}.running_var"), &[out_ch])?.data;
    let per_out = in_ch * k * k;
    let mut folded = weight.data.clone();
    let mut bias = vec![0.0f32; out_ch];
    for o in 0..out_ch {
        // Fold in f64 so the folding itself adds no visible rounding.
        let scale = gamma[o] as f64 / (var[o] as f64 + BN_EPS as f64).sqrt();
        for v in &mut folded[o * per_out..(o + 1) * per_out] {
            *v = (*v as f64 * scale) as f32;
        }
        bias[o] = (beta[o] as f64 - mean[o] as f64 * scale) as f32;
    }
    let (o, i, k, st) = (out_ch as i64, in_ch as i64, k as i64, stride as i64);
    let wn = b.init_f32(&format!("{conv}.weight"), &[o, i, k, k], &folded);
    let bn_ = b.init_f32(&format!("{conv}.bias"), &[o], &bias);
    let pad = k / 2;
    Ok(b.op(
        "Conv",
        &[x, &wn, &bn_],
        vec![
            attr_ints("kernel_shape", &[k, k]),
            attr_ints("strides", &[st, st]),
            attr_ints("pads", &[pad, pad, pad, pad]),
        ],
    ))
}
