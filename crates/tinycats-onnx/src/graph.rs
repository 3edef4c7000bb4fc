//! A small builder over the prost-generated ONNX types: initializers, nodes with unique
//! output names under a scope (`blocks.3.attn/MatMul_12`), typed graph inputs and outputs.

use crate::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto::Dimension, tensor_shape_proto::dimension,
    type_proto,
};

/// The default-domain opset the exported graphs use (LayerNormalization needs 17).
pub const OPSET: i64 = 17;
/// The `com.microsoft` contrib-op opset (MatMulNBits and friends).
pub const MS_OPSET: i64 = 1;
/// ONNX IR version 8 pairs with opset 17.
pub const IR_VERSION: i64 = 8;

/// One dimension of a graph input or output.
#[derive(Debug, Clone, Copy)]
pub enum Dim {
    Fixed(i64),
    /// A named dynamic dimension such as `batch`.
    Named(&'static str),
}

/// Builds one [`GraphProto`] node by node.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: GraphProto,
    scope: String,
    counter: usize,
    uses_ms_domain: bool,
}

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            graph: GraphProto {
                name: Some(name.to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Sets the prefix of the node and value names created next (`blocks.3.attn`).
    pub fn set_scope(&mut self, scope: &str) {
        self.scope = scope.to_string();
    }

    pub fn input(&mut self, name: &str, elem: DataType, dims: &[Dim]) -> String {
        self.graph.input.push(value_info(name, elem, dims));
        name.to_string()
    }

    pub fn output(&mut self, name: &str, elem: DataType, dims: &[Dim]) {
        self.graph.output.push(value_info(name, elem, dims));
    }

    /// An f32 initializer stored as little-endian `raw_data`.
    pub fn init_f32(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<i64>() as usize, data.len(), "{name}");
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_init(name, DataType::Float, dims, raw)
    }

    pub fn init_i64(&mut self, name: &str, dims: &[i64], data: &[i64]) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_init(name, DataType::Int64, dims, raw)
    }

    pub fn init_i8(&mut self, name: &str, dims: &[i64], data: &[i8]) -> String {
        let raw = data.iter().map(|&v| v as u8).collect();
        self.push_init(name, DataType::Int8, dims, raw)
    }

    pub fn init_u8(&mut self, name: &str, dims: &[i64], data: &[u8]) -> String {
        self.push_init(name, DataType::Uint8, dims, data.to_vec())
    }

    fn push_init(&mut self, name: &str, elem: DataType, dims: &[i64], raw: Vec<u8>) -> String {
        self.graph.initializer.push(TensorProto {
            name: Some(name.to_string()),
            dims: dims.to_vec(),
            data_type: Some(elem as i32),
            raw_data: Some(raw),
            ..Default::default()
        });
        name.to_string()
    }

    /// A scalar f32 constant with a fresh name.
    pub fn scalar(&mut self, value: f32) -> String {
        let name = self.fresh("const");
        self.init_f32(&name, &[], &[value])
    }

    /// A 1-D int64 constant with a fresh name (shapes, axes, indices).
    pub fn ints(&mut self, values: &[i64]) -> String {
        let name = self.fresh("ints");
        self.init_i64(&name, &[values.len() as i64], values)
    }

    /// A scalar int64 constant with a fresh name (a `Gather` index that drops the axis).
    pub fn scalar_i64(&mut self, value: i64) -> String {
        let name = self.fresh("index");
        self.init_i64(&name, &[], &[value])
    }

    /// Adds a node with one output and returns the output's name.
    pub fn op(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.op_n(op_type, inputs, 1, attrs).remove(0)
    }

    /// Adds a node with `n` outputs.
    pub fn op_n(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        n: usize,
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        self.op_in_domain("", op_type, inputs, n, attrs)
    }

    /// Adds a `com.microsoft` contrib node with one output.
    pub fn ms_op(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.uses_ms_domain = true;
        self.op_in_domain("com.microsoft", op_type, inputs, 1, attrs)
            .remove(0)
    }

    fn op_in_domain(
        &mut self,
        domain: &str,
        op_type: &str,
        inputs: &[&str],
        n: usize,
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        let name = self.fresh(op_type);
        let outputs: Vec<String> = if n == 1 {
            vec![name.clone()]
        } else {
            (0..n).map(|i| format!("{name}:{i}")).collect()
        };
        self.graph.node.push(NodeProto {
            name: Some(name),
            op_type: Some(op_type.to_string()),
            domain: (!domain.is_empty()).then(|| domain.to_string()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.clone(),
            attribute: attrs,
            ..Default::default()
        });
        outputs
    }

    /// Renames the last node's single output (used for the graph outputs).
    pub fn rename_last_output(&mut self, to: &str) -> String {
        let node = self.graph.node.last_mut().expect("a node was added");
        node.output[0] = to.to_string();
        to.to_string()
    }

    pub fn node_count(&self) -> usize {
        self.graph.node.len()
    }

    /// Removes and returns the nodes from index `start` on.
    pub fn drain_nodes(&mut self, start: usize) -> Vec<NodeProto> {
        self.graph.node.drain(start..).collect()
    }

    pub fn push_node(&mut self, node: NodeProto) {
        self.graph.node.push(node);
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        if self.scope.is_empty() {
            format!("{what}_{}", self.counter)
        } else {
            format!("{}/{what}_{}", self.scope, self.counter)
        }
    }

    /// Wraps the graph into a model with the opsets it needs and the given metadata.
    pub fn finish(self, metadata: Vec<(String, String)>, doc: &str) -> ModelProto {
        let mut opset_import = vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }];
        if self.uses_ms_domain {
            opset_import.push(OperatorSetIdProto {
                domain: Some("com.microsoft".into()),
                version: Some(MS_OPSET),
            });
        }
        ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import,
            producer_name: Some("tinycats-onnx".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            doc_string: Some(doc.to_string()),
            graph: Some(self.graph),
            metadata_props: metadata
                .into_iter()
                .map(|(key, value)| StringStringEntryProto {
                    key: Some(key),
                    value: Some(value),
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(v) => dimension::Value::DimValue(*v),
                Dim::Named(s) => dimension::Value::DimParam(s.to_string()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

pub fn attr_f(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}
