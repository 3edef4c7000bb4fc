//! Linear layers as TinyDiT's blocks and its LoRA adapters both build them: the reference's
//! initialisation, and application in the precision of the activations.

use tch::Tensor;
use tch::nn::{self, Init};

/// Applies `lin` in the precision of `x`: with bf16 activations on CUDA the f32 master
/// weights are cast per call, as autocast would (tch cannot select bf16 for autocast).
pub(crate) fn linear(lin: &nn::Linear, x: &Tensor) -> Tensor {
    if x.kind() == lin.ws.kind() {
        x.apply(lin)
    } else {
        let k = x.kind();
        x.linear(&lin.ws.to_kind(k), lin.bs.as_ref().map(|b| b.to_kind(k)))
    }
}

/// A Linear with the reference's `_basic_init`: Xavier-uniform weight, zero bias.
pub(crate) fn xavier_linear(vs: nn::Path, d_in: i64, d_out: i64) -> nn::Linear {
    let bound = (6.0 / (d_in + d_out) as f64).sqrt();
    nn::linear(
        vs,
        d_in,
        d_out,
        nn::LinearConfig {
            ws_init: Init::Uniform {
                lo: -bound,
                up: bound,
            },
            bs_init: Some(Init::Const(0.0)),
            bias: true,
        },
    )
}
