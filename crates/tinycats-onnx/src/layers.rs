//! Graph fragments shared by both exporters: PyTorch-named `Linear`, SiLU, GELU, LayerNorm.

use crate::error::Result;
use crate::graph::{GraphBuilder, attr_f, attr_i, attr_ints};
use crate::weights::{Weights, transpose};

/// `Linear(in_f → out_f)` from `{prefix}.weight` `[out, in]` + `{prefix}.bias` as
/// `MatMul` with the weight transposed to `[in, out]` (initializer `{prefix}.weight.T`),
/// then `Add` of the bias. Works on any leading shape `(…, in_f)` → `(…, out_f)`.
/// The quantizer recognises exactly this pattern.
pub(crate) fn linear(
    b: &mut GraphBuilder,
    w: &Weights,
    prefix: &str,
    x: &str,
    in_f: usize,
    out_f: usize,
) -> Result<String> {
    let weight = w.get(&format!("{prefix}.weight"), &[out_f, in_f])?;
    let bias = w.get(&format!("{prefix}.bias"), &[out_f])?;
    let wt = b.init_f32(
        &format!("{prefix}.weight.T"),
        &[in_f as i64, out_f as i64],
        &transpose(&weight.data, out_f, in_f),
    );
    let bias = b.init_f32(&format!("{prefix}.bias"), &[out_f as i64], &bias.data);
    let y = b.op("MatMul", &[x, &wt], vec![]);
    Ok(b.op("Add", &[&y, &bias], vec![]))
}

/// `Conv2d(in_c → out_c, k×k)` from `{prefix}.weight` `[out, in, k, k]` + `{prefix}.bias`,
/// as PyTorch names it. `strides` and `pads` are written only when not 1 and 0, ONNX's
/// defaults, so a graph without them stays byte for byte what it was.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d(
    b: &mut GraphBuilder,
    w: &Weights,
    prefix: &str,
    x: &str,
    in_c: usize,
    out_c: usize,
    k: usize,
    (stride, pad): (i64, i64),
) -> Result<String> {
    let weight = w.get(&format!("{prefix}.weight"), &[out_c, in_c, k, k])?;
    let bias = w.get(&format!("{prefix}.bias"), &[out_c])?;
    let (o, i, k) = (out_c as i64, in_c as i64, k as i64);
    let weight = b.init_f32(&format!("{prefix}.weight"), &[o, i, k, k], &weight.data);
    let bias = b.init_f32(&format!("{prefix}.bias"), &[o], &bias.data);
    let mut attrs = vec![attr_ints("kernel_shape", &[k, k])];
    if stride != 1 {
        attrs.push(attr_ints("strides", &[stride, stride]));
    }
    if pad != 0 {
        attrs.push(attr_ints("pads", &[pad, pad, pad, pad]));
    }
    Ok(b.op("Conv", &[x, &weight, &bias], attrs))
}

/// `x · σ(x)`.
pub(crate) fn silu(b: &mut GraphBuilder, x: &str) -> String {
    let s = b.op("Sigmoid", &[x], vec![]);
    b.op("Mul", &[x, &s], vec![])
}

/// GELU, tanh approximation: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (PyTorch
/// `approximate="tanh"`), spelt in opset-17 primitives.
pub(crate) fn gelu_tanh(b: &mut GraphBuilder, x: &str) -> String {
    let c = b.scalar(0.044_715);
    let k = b.scalar((2.0 / std::f32::consts::PI).sqrt());
    let half = b.scalar(0.5);
    let one = b.scalar(1.0);
    let x2 = b.op("Mul", &[x, x], vec![]);
    let x3 = b.op("Mul", &[&x2, x], vec![]);
    let cx3 = b.op("Mul", &[&x3, &c], vec![]);
    let inner = b.op("Add", &[x, &cx3], vec![]);
    let scaled = b.op("Mul", &[&inner, &k], vec![]);
    let th = b.op("Tanh", &[&scaled], vec![]);
    let onep = b.op("Add", &[&th, &one], vec![]);
    let hx = b.op("Mul", &[x, &half], vec![]);
    b.op("Mul", &[&hx, &onep], vec![])
}

/// LayerNorm over the last axis without affine parameters (`scale`/`bias` are the shared
/// ones/zeros initializers the caller made once).
pub(crate) fn layer_norm(
    b: &mut GraphBuilder,
    x: &str,
    ones: &str,
    zeros: &str,
    eps: f32,
) -> String {
    b.op(
        "LayerNormalization",
        &[x, ones, zeros],
        vec![attr_i("axis", -1), attr_f("epsilon", eps)],
    )
}
