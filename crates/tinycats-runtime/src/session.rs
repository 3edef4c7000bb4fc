//! Opening an ONNX file: read it, check its inputs/outputs against the tinycats contract
//! and read its `metadata_props`, then build an ORT session with the chosen options.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use prost::Message;
use tinycats_onnx::proto::{
    ModelProto, ValueInfoProto, tensor_proto::DataType, tensor_shape_proto::dimension, type_proto,
};

use crate::env::environment;
use crate::error::{OrtContext, Result, RuntimeError};

/// ORT graph-optimisation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptLevel {
    Disable,
    /// Constant folding, redundant-node removal.
    Basic,
    /// Plus operator fusions (GELU, LayerNorm, MatMul+Add, …).
    Extended,
    /// Plus layout optimisations (the default).
    #[default]
    All,
}

/// How sessions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionOptions {
    /// Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).
    pub intra_threads: usize,
    pub optimization: OptLevel,
}

/// One expected graph input or output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Io {
    pub name: &'static str,
    pub elem: DataType,
    pub rank: usize,
}

/// A model kind's expected graph signature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contract {
    pub model: &'static str,
    pub inputs: &'static [Io],
    pub outputs: &'static [Io],
}

/// An opened model: its session, metadata and path.
#[derive(Debug)]
pub(crate) struct Opened {
    pub session: Session,
    pub meta: Metadata,
}

pub(crate) fn open(path: &Path, options: SessionOptions, contract: &Contract) -> Result<Opened> {
    if !path.is_file() {
        return Err(RuntimeError::MissingFile {
            what: "ONNX model",
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| RuntimeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let model = ModelProto::decode(bytes.as_slice()).map_err(|source| RuntimeError::NotOnnx {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(graph) = model.graph.as_ref() else {
        return Err(RuntimeError::Contract {
            path: path.to_path_buf(),
            model: contract.model,
            expected: describe_contract(contract),
            found: "no graph".into(),
        });
    };
    let initializers: Vec<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|v| !initializers.contains(&v.name.as_deref().unwrap_or("")))
        .collect();
    let outputs: Vec<&ValueInfoProto> = graph.output.iter().collect();
    if !matches(&inputs, contract.inputs) || !matches(&outputs, contract.outputs) {
        return Err(RuntimeError::Contract {
            path: path.to_path_buf(),
            model: contract.model,
            expected: describe_contract(contract),
            found: format!(
                "inputs [{}] → outputs [{}]",
                describe(&inputs),
                describe(&outputs)
            ),
        });
    }
    let meta = Metadata {
        path: path.to_path_buf(),
        signature: format!(
            "inputs [{}] → outputs [{}]",
            describe(&inputs),
            describe(&outputs)
        ),
        props: model
            .metadata_props
            .iter()
            .filter_map(|p| Some((p.key.clone()?, p.value.clone()?)))
            .collect(),
    };
    drop(model);

    let env = environment()?;
    let ctx = || format!("loading {}", path.display());
    let mut builder = Session::builder(env).ctx(ctx)?;
    if options.intra_threads > 0 {
        builder = builder.with_intra_threads(options.intra_threads).ctx(ctx)?;
    }
    let level = match options.optimization {
        OptLevel::Disable => GraphOptimizationLevel::Disable,
        OptLevel::Basic => GraphOptimizationLevel::Level1,
        OptLevel::Extended => GraphOptimizationLevel::Level2,
        OptLevel::All => GraphOptimizationLevel::All,
    };
    builder = builder.with_optimization_level(level).ctx(ctx)?;
    let session = builder.commit_from_memory(&bytes).ctx(ctx)?;
    Ok(Opened { session, meta })
}

fn matches(found: &[&ValueInfoProto], expected: &[Io]) -> bool {
    found.len() == expected.len()
        && expected.iter().all(|io| {
            found.iter().any(|v| {
                v.name.as_deref() == Some(io.name)
                    && tensor_type(v)
                        .is_some_and(|(elem, dims)| elem == io.elem as i32 && dims.len() == io.rank)
            })
        })
}

fn tensor_type(v: &ValueInfoProto) -> Option<(i32, Vec<String>)> {
    match v.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => {
            let dims = t
                .shape
                .as_ref()
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match &d.value {
                            Some(dimension::Value::DimValue(v)) => v.to_string(),
                            Some(dimension::Value::DimParam(p)) => p.clone(),
                            None => "?".into(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some((t.elem_type?, dims))
        }
        _ => None,
    }
}

fn elem_name(elem: i32) -> String {
    DataType::try_from(elem).map_or_else(
        |_| format!("type {elem}"),
        |d| d.as_str_name().to_lowercase(),
    )
}

fn describe(values: &[&ValueInfoProto]) -> String {
    values
        .iter()
        .map(|v| {
            let name = v.name.as_deref().unwrap_or("?");
            match tensor_type(v) {
                Some((elem, dims)) => format!("{name}: {}[{}]", elem_name(elem), dims.join(",")),
                None => format!("{name}: not a tensor"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_contract(c: &Contract) -> String {
    let side = |ios: &[Io]| {
        ios.iter()
            .map(|io| {
                format!(
                    "{}: {} rank {}",
                    io.name,
                    elem_name(io.elem as i32),
                    io.rank
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "inputs [{}] → outputs [{}]",
        side(c.inputs),
        side(c.outputs)
    )
}

/// The `metadata_props` of an opened model.
#[derive(Debug, Clone)]
pub struct Metadata {
    path: PathBuf,
    signature: String,
    props: HashMap<String, String>,
}

impl Metadata {
    /// The graph's inputs and outputs as found in the file, e.g.
    /// `inputs [input: float[batch,3,64,64]] → outputs [output: float[batch,13]]`.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// Every `metadata_props` entry, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut entries: Vec<(&str, &str)> = self
            .props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        entries.sort_unstable();
        entries.into_iter()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    pub(crate) fn require(&self, key: &'static str) -> Result<&str> {
        self.get(key).ok_or_else(|| RuntimeError::Metadata {
            path: self.path.clone(),
            key,
            problem: "is missing".into(),
        })
    }

    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&self, key: &'static str) -> Result<T> {
        let raw = self.require(key)?;
        serde_json::from_str(raw).map_err(|e| RuntimeError::Metadata {
            path: self.path.clone(),
            key,
            problem: format!("= {raw:?} does not parse ({e})"),
        })
    }

    /// The graph's class names ([`tinycats_core::check_class_names`]: they become file
    /// names), the error naming the file.
    pub(crate) fn class_names(&self) -> Result<Vec<String>> {
        let names: Vec<String> = self.parse(tinycats_onnx::metadata::CLASS_NAMES)?;
        tinycats_core::check_class_names(&names).map_err(|e| RuntimeError::Metadata {
            path: self.path.clone(),
            key: tinycats_onnx::metadata::CLASS_NAMES,
            problem: format!("is refused: {e}"),
        })?;
        Ok(names)
    }

    pub(crate) fn expect_model_type(&self, want: &str) -> Result<()> {
        let found = self.require(tinycats_onnx::metadata::MODEL_TYPE)?;
        if found != want {
            return Err(RuntimeError::Metadata {
                path: self.path.clone(),
                key: tinycats_onnx::metadata::MODEL_TYPE,
                problem: format!("is {found:?}, expected {want:?}"),
            });
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
