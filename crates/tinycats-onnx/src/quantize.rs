//! int8 weight quantization (filled in below).
use std::fmt;

use crate::error::{ExportError, Result};
use crate::proto::ModelProto;

/// How the weights are quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Per-channel int8 weights dequantized in the graph (`DequantizeLinear` → fp32 op).
    WeightOnlyQdq,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("int8-qdq")
    }
}

pub fn quantize(_model: &ModelProto, _scheme: Scheme) -> Result<ModelProto> {
    Err(ExportError::Quantize("int8 quantization is not implemented yet".into()))
}
