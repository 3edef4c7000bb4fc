//! int8 weight quantization of an exported graph, per output channel, symmetric
//! (`q = round(w / s)`, `s = max|w| / L` per channel, zero point 0, so the optional
//! zero-point inputs are left out).
//!
//! Two schemes, chosen between by measurement (see the benchmark in
//! `crates/tinycats-runtime/benches/`):
//! - [`Scheme::Dynamic`]: every `Linear` becomes `DynamicQuantizeLinear` (activations to
//!   uint8 per call) → `MatMulInteger` with int8 weights → `Cast` → `Mul` by the scales,
//!   the pattern ONNX Runtime fuses into its integer `DynamicQuantizeMatMul` kernel;
//!   convolutions keep int8 weights behind a `DequantizeLinear`. Its weights use the
//!   *reduced range* `L` = [`REDUCED_RANGE`] (7 bits): on x86 CPUs without AVX-512 VNNI,
//!   ONNX Runtime multiplies uint8 × int8 with `vpmaddubsw`, which adds two products into a
//!   saturating int16; with |w| ≤ 63, `2 · 255 · 63 = 32130` always fits, so the result is
//!   the exact integer product on every CPU, as with VNNI's int32 accumulation. Full-range
//!   weights (`L` = 127) overflow there and change the samples on those CPUs only.
//! - [`Scheme::WeightOnly`]: int8 weights behind `DequantizeLinear` (QDQ without
//!   activation quantization): the file shrinks, the arithmetic stays fp32.

use std::collections::HashMap;
use std::fmt;

use crate::error::{ExportError, Result};
use crate::graph::{GraphBuilder, attr_i};
use crate::metadata;
use crate::proto::{
    GraphProto, ModelProto, StringStringEntryProto, TensorProto, tensor_proto::DataType,
};

/// How the weights are quantized.
///
/// The default is [`Scheme::WeightOnly`]: on the test TinyDiT its velocity drifts 0.7 % of
/// the output scale from fp32, against ~29 % for [`Scheme::Dynamic`], whose per-tensor
/// uint8 activations lose too much in this small, outlier-prone network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// int8 weights in the reduced 7-bit range and dynamically quantized uint8 activations
    /// (`MatMulInteger`): the same integers on every x86 CPU, with or without VNNI.
    Dynamic,
    /// int8 weights dequantized in the graph; fp32 arithmetic.
    #[default]
    WeightOnly,
}

impl Scheme {
    /// A short name for file names and tables: `int8-weight-only` or `int8-dynamic`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dynamic => "int8-dynamic",
            Self::WeightOnly => "int8-weight-only",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dynamic => {
                "int8-dynamic (per-channel 7-bit weights, uint8 activations, MatMulInteger)"
            }
            Self::WeightOnly => "int8-weight-only (per-channel QDQ weights, fp32 compute)",
        })
    }
}

/// The largest |q| of full-range int8 weights.
pub const FULL_RANGE: i8 = 127;

/// The largest |q| of [`Scheme::Dynamic`]'s weights: two uint8 × int8 products then fit
/// int16 (`2 · 255 · 63 = 32130 ≤ 32767`), so no CPU's kernel saturates.
pub const REDUCED_RANGE: i8 = 63;

/// Per-channel symmetric int8 of `data` viewed as `[outer, inner]` rows: channel along
/// `axis` 0 (rows, e.g. Conv `[O, I·k·k]`) or 1 (columns, e.g. MatMul `[K, N]`), with
/// values in `-levels..=levels`.
pub fn quantize_per_channel(
    data: &[f32],
    rows: usize,
    cols: usize,
    axis: usize,
    levels: i8,
) -> (Vec<i8>, Vec<f32>) {
    let l = levels as f32;
    let channels = if axis == 0 { rows } else { cols };
    let mut max = vec![0.0f32; channels];
    for r in 0..rows {
        for c in 0..cols {
            let ch = if axis == 0 { r } else { c };
            max[ch] = max[ch].max(data[r * cols + c].abs());
        }
    }
    let scales: Vec<f32> = max
        .iter()
        .map(|&m| if m > 0.0 { m / l } else { 1.0 })
        .collect();
    let q = (0..rows * cols)
        .map(|i| {
            let ch = if axis == 0 { i / cols } else { i % cols };
            (data[i] / scales[ch]).round().clamp(-l, l) as i8
        })
        .collect();
    (q, scales)
}

/// Returns a copy of `model` with its `Linear` and convolution weights in int8.
pub fn quantize(model: &ModelProto, scheme: Scheme) -> Result<ModelProto> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ExportError::Quantize("the model has no graph".into()))?;
    if metadata_value(model, metadata::QUANTIZATION).is_some_and(|q| q != "none") {
        return Err(ExportError::Quantize(
            "the model is already quantized".into(),
        ));
    }
    let inits: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.as_deref()?, t)))
        .collect();
    // New nodes and initializers come from a builder so that names stay unique.
    let mut b = GraphBuilder::new("quantized");
    b.set_scope("quant");
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut replaced: Vec<String> = Vec::new();
    let mut inserted = 0usize;
    for node in &graph.node {
        let op = node.op_type.as_deref().unwrap_or("");
        let weight = node
            .input
            .get(1)
            .and_then(|n| inits.get(n.as_str()).copied());
        let Some(w) = weight.filter(|w| w.data_type == Some(DataType::Float as i32)) else {
            nodes.push(node.clone());
            continue;
        };
        let data = f32_data(w)?;
        let wname = w.name.clone().unwrap_or_default();
        let start = b.node_count();
        match (op, w.dims.as_slice()) {
            ("MatMul", &[k, n]) => {
                let levels = match scheme {
                    Scheme::Dynamic => REDUCED_RANGE,
                    Scheme::WeightOnly => FULL_RANGE,
                };
                let (q, scales) = quantize_per_channel(&data, k as usize, n as usize, 1, levels);
                let wq = b.init_i8(&format!("{wname}.int8"), &[k, n], &q);
                let ws = b.init_f32(&format!("{wname}.scale"), &[n], &scales);
                let x = node.input[0].as_str();
                let y = match scheme {
                    Scheme::Dynamic => {
                        let xq = b.op_n("DynamicQuantizeLinear", &[x], 3, vec![]); // uint8, scale, zp
                        let acc = b.op("MatMulInteger", &[&xq[0], &wq, &xq[2]], vec![]);
                        let accf =
                            b.op("Cast", &[&acc], vec![attr_i("to", DataType::Float as i64)]);
                        let s = b.op("Mul", &[&xq[1], &ws], vec![]); // (N)
                        b.op("Mul", &[&accf, &s], vec![])
                    }
                    Scheme::WeightOnly => {
                        let wd = b.op("DequantizeLinear", &[&wq, &ws], vec![attr_i("axis", 1)]);
                        b.op("MatMul", &[x, &wd], vec![])
                    }
                };
                debug_assert!(!y.is_empty());
                b.rename_last_output(&node.output[0]);
            }
            ("Conv", &[o, ref rest @ ..]) => {
                let inner: i64 = rest.iter().product();
                let (q, scales) =
                    quantize_per_channel(&data, o as usize, inner as usize, 0, FULL_RANGE);
                let wq = b.init_i8(&format!("{wname}.int8"), &w.dims, &q);
                let ws = b.init_f32(&format!("{wname}.scale"), &[o], &scales);
                let wd = b.op("DequantizeLinear", &[&wq, &ws], vec![attr_i("axis", 0)]);
                let mut conv = node.clone();
                conv.input[1] = wd;
                b.push_node(conv);
            }
            _ => {
                nodes.push(node.clone());
                continue;
            }
        }
        replaced.push(wname);
        nodes.extend(b.drain_nodes(start));
        inserted += 1;
    }
    if inserted == 0 {
        return Err(ExportError::Quantize(
            "no MatMul or Conv weights found".into(),
        ));
    }
    let extra = b.finish(Vec::new(), "");
    let extra = extra.graph.expect("builder graph");
    let mut initializer: Vec<TensorProto> = graph
        .initializer
        .iter()
        .filter(|t| {
            !replaced
                .iter()
                .any(|r| Some(r.as_str()) == t.name.as_deref())
        })
        .cloned()
        .collect();
    initializer.extend(extra.initializer);
    let mut out = model.clone();
    out.graph = Some(GraphProto {
        node: nodes,
        initializer,
        ..graph.clone()
    });
    for p in &mut out.metadata_props {
        if p.key.as_deref() == Some(metadata::QUANTIZATION) {
            p.value = Some(scheme.to_string());
        }
    }
    if !out
        .metadata_props
        .iter()
        .any(|p| p.key.as_deref() == Some(metadata::QUANTIZATION))
    {
        out.metadata_props.push(StringStringEntryProto {
            key: Some(metadata::QUANTIZATION.into()),
            value: Some(scheme.to_string()),
        });
    }
    Ok(out)
}

fn metadata_value<'a>(model: &'a ModelProto, key: &str) -> Option<&'a str> {
    crate::metadata_value(model, key)
}

fn f32_data(t: &TensorProto) -> Result<Vec<f32>> {
    if let Some(raw) = &t.raw_data {
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    } else if !t.float_data.is_empty() {
        Ok(t.float_data.clone())
    } else {
        Err(ExportError::Quantize(format!(
            "initializer {:?} has no data",
            t.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_round_trip_error_is_within_half_a_step() {
        let data: Vec<f32> = (0..24)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * (1 + i % 3) as f32)
            .collect();
        for levels in [FULL_RANGE, REDUCED_RANGE] {
            for axis in [0, 1] {
                let (q, s) = quantize_per_channel(&data, 4, 6, axis, levels);
                for (i, (&v, &qi)) in data.iter().zip(&q).enumerate() {
                    let ch = if axis == 0 { i / 6 } else { i % 6 };
                    let back = qi as f32 * s[ch];
                    assert!((back - v).abs() <= s[ch] / 2.0 + 1e-6, "axis {axis} i {i}");
                }
                assert!(q.iter().any(|&v| v.abs() == levels));
                assert!(q.iter().all(|&v| v.abs() <= levels));
            }
        }
    }

    /// What x86 CPUs without AVX-512 VNNI compute for a uint8 × int8 dot product: ONNX
    /// Runtime's AVX2 kernel multiplies with `vpmaddubsw`, which adds neighbouring products
    /// into an int16 with saturation, then widens to int32 (`vpmaddwd`). VNNI's `vpdpbusd`
    /// adds them in int32, exactly.
    fn dot_u8s8_avx2(a: &[u8], w: &[i8]) -> i32 {
        a.chunks(2)
            .zip(w.chunks(2))
            .map(|(a, w)| {
                let pair: i32 = a.iter().zip(w).map(|(&a, &w)| a as i32 * w as i32).sum();
                pair.clamp(i16::MIN as i32, i16::MAX as i32)
            })
            .sum()
    }

    fn dot_exact(a: &[u8], w: &[i8]) -> i32 {
        a.iter().zip(w).map(|(&a, &w)| a as i32 * w as i32).sum()
    }

    /// The weights of every `MatMulInteger` of a quantized test TinyDiT.
    fn dynamic_weights() -> Vec<Vec<i8>> {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::fixtures::small_dit_config(tinycats_core::Prediction::V);
        crate::fixtures::write_random_dit(dir.path(), &cfg, 7).unwrap();
        let model = crate::export_dir(dir.path()).unwrap();
        let q = quantize(&model, Scheme::Dynamic).unwrap();
        let graph = q.graph.unwrap();
        let weight_names: Vec<String> = graph
            .node
            .iter()
            .filter(|n| n.op_type.as_deref() == Some("MatMulInteger"))
            .map(|n| n.input[1].clone())
            .collect();
        assert!(!weight_names.is_empty());
        graph
            .initializer
            .iter()
            .filter(|t| {
                weight_names
                    .iter()
                    .any(|w| Some(w.as_str()) == t.name.as_deref())
            })
            .map(|t| {
                t.raw_data
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|&b| b as i8)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn dynamic_weights_cannot_saturate_a_cpu_without_vnni() {
        let weights = dynamic_weights();
        for w in &weights {
            assert!(
                w.iter().all(|&q| q.abs() <= REDUCED_RANGE),
                "a weight beyond ±63"
            );
            // The worst activations for this row: 255 where the weight has the sign of the
            // pair's larger product, 0 elsewhere; and all 255.
            let worst: Vec<u8> = w.iter().map(|&q| if q > 0 { 255 } else { 0 }).collect();
            let neg: Vec<u8> = w.iter().map(|&q| if q < 0 { 255 } else { 0 }).collect();
            for a in [worst, neg, vec![255; w.len()]] {
                assert_eq!(dot_u8s8_avx2(&a, w), dot_exact(&a, w));
            }
        }
        // The same arithmetic does catch full-range weights: one pair at 127 saturates.
        let (a, w) = ([255u8, 255], [127i8, 127]);
        assert_ne!(dot_u8s8_avx2(&a, &w), dot_exact(&a, &w));
    }
}
