//! Opening an ONNX file: read it, check its inputs/outputs against the tinycats contract,
//! refuse tensors kept in external files and read its `metadata_props`, then build an ORT
//! session with the chosen options. The model kinds then check the declared dimensions
//! against the metadata (`Opened::check_dims`) before any buffer is sized from either.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use prost::Message;
use tinycats_onnx::proto::{
    GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
    tensor_proto::{DataLocation, DataType},
    tensor_shape_proto::dimension,
    type_proto,
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

/// The fix for a graph whose shapes and metadata disagree.
pub(crate) const REEXPORT: &str = "the graph or its metadata was changed after export: \
                                   re-export the model with `tinycats export onnx`";

/// An opened model: its session, metadata and the declared dimensions of its inputs and
/// outputs (`None` where a dimension is dynamic).
#[derive(Debug)]
pub(crate) struct Opened {
    pub session: Session,
    pub meta: Metadata,
    dims: HashMap<String, Vec<Option<i64>>>,
}

/// What a declared dimension of a graph input or output must be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// Dynamic: the runtime sends any number of rows (guidance doubles them).
    Batch,
    /// Dynamic, or fixed to `value`, which metadata `key` gives.
    Meta { key: &'static str, value: usize },
}

impl Expect {
    /// The dimensions of an image batch `(B, 3, S, S)` of a graph whose metadata says
    /// `image_size = size`.
    pub(crate) fn image(size: u32) -> [Expect; 4] {
        let side = Expect::Meta {
            key: tinycats_onnx::metadata::IMAGE_SIZE,
            value: size as usize,
        };
        let channels = Expect::Meta {
            key: tinycats_onnx::metadata::IN_CHANNELS,
            value: 3,
        };
        [Expect::Batch, channels, side, side]
    }
}

impl Opened {
    /// Checks the declared dimensions of input or output `name` (its rank is checked by
    /// [`open`]), the error naming the file, the dimension, what it is and what it should be.
    pub(crate) fn check_dims(&self, name: &str, expect: &[Expect]) -> Result<()> {
        let dims = self.dims.get(name).map_or(&[][..], Vec::as_slice);
        for (i, (dim, want)) in dims.iter().zip(expect).enumerate() {
            let mismatch = |found: String, expected: String, fix| RuntimeError::Mismatch {
                path: self.meta.path.clone(),
                what: format!("dimension {i} of `{name}`"),
                found,
                expected,
                fix,
            };
            match (*dim, *want) {
                (Some(n), Expect::Batch) => {
                    return Err(mismatch(
                        format!("fixed to {n}"),
                        "a dynamic batch dimension".into(),
                        "tinycats sends batches of any size (guidance doubles them): \
                         re-export the model with `tinycats export onnx`, which names it `batch`",
                    ));
                }
                (Some(n), Expect::Meta { key, value }) if n != value as i64 => {
                    return Err(mismatch(
                        n.to_string(),
                        format!("{value} (metadata `{key}`)"),
                        REEXPORT,
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

pub(crate) fn open(path: &Path, options: SessionOptions, contract: &Contract) -> Result<Opened> {
    if !path.is_file() {
        return Err(RuntimeError::missing("ONNX model", path));
    }
    let bytes =
        tinycats_core::fs::read_bounded(path, tinycats_core::fs::ONNX_LIMIT).map_err(|source| {
            RuntimeError::Read {
                path: path.to_path_buf(),
                source,
            }
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
    if let Some((tensor, location)) = external_tensor(&model) {
        return Err(RuntimeError::ExternalData {
            path: path.to_path_buf(),
            tensor,
            location,
        });
    }
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
    let dims = inputs
        .iter()
        .chain(&outputs)
        .filter_map(|v| Some((v.name.clone()?, declared_dims(v))))
        .collect();
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
    Ok(Opened {
        session,
        meta,
        dims,
    })
}

/// The first tensor anywhere in the model (initializers, constants, subgraphs, functions)
/// whose data lives in an external file, with the file it names. ORT would resolve it
/// against the working directory: the session is built from memory and has no folder.
fn external_tensor(model: &ModelProto) -> Option<(String, String)> {
    let mut graphs = model.graph.iter().chain(
        model
            .training_info
            .iter()
            .flat_map(|t| t.initialization.iter().chain(&t.algorithm)),
    );
    let mut functions = model.functions.iter().flat_map(|f| &f.node);
    graphs
        .find_map(external_in_graph)
        .or_else(|| functions.find_map(external_in_node))
}

fn external_in_graph(graph: &GraphProto) -> Option<(String, String)> {
    let sparse = graph
        .sparse_initializer
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.indices));
    graph
        .initializer
        .iter()
        .chain(sparse)
        .find_map(external)
        .or_else(|| graph.node.iter().find_map(external_in_node))
}

fn external_in_node(node: &NodeProto) -> Option<(String, String)> {
    node.attribute.iter().find_map(|a| {
        let sparse = a
            .sparse_tensor
            .iter()
            .chain(&a.sparse_tensors)
            .flat_map(|s| s.values.iter().chain(&s.indices));
        a.t.iter()
            .chain(&a.tensors)
            .chain(sparse)
            .find_map(external)
            .or_else(|| a.g.iter().chain(&a.graphs).find_map(external_in_graph))
    })
}

fn external(t: &TensorProto) -> Option<(String, String)> {
    let stored_outside = t.data_location == Some(DataLocation::External as i32);
    if !stored_outside && t.external_data.is_empty() {
        return None;
    }
    let location = t
        .external_data
        .iter()
        .find(|e| e.key.as_deref() == Some("location"))
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| "no location given".into());
    Some((t.name.clone().unwrap_or_else(|| "?".into()), location))
}

/// The declared dimensions of a tensor input or output: `Some(n)` fixed, `None` dynamic.
fn declared_dims(v: &ValueInfoProto) -> Vec<Option<i64>> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    t.shape
        .iter()
        .flat_map(|s| &s.dim)
        .map(|d| match d.value {
            Some(dimension::Value::DimValue(n)) => Some(n),
            _ => None,
        })
        .collect()
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
        let max = tinycats_core::config::MAX_CLASSES;
        if names.is_empty() || names.len() as i64 > max {
            return Err(RuntimeError::Metadata {
                path: self.path.clone(),
                key: tinycats_onnx::metadata::CLASS_NAMES,
                problem: format!("holds {} names, expected 1 to {max}", names.len()),
            });
        }
        if self.get(tinycats_onnx::metadata::NUM_CLASSES).is_some() {
            self.expect_count(
                tinycats_onnx::metadata::NUM_CLASSES,
                names.len(),
                "the number of class names",
            )?;
        }
        Ok(names)
    }

    /// Metadata `key`, a count that must equal `want` (`of` says what it counts).
    pub(crate) fn expect_count(&self, key: &'static str, want: usize, of: &str) -> Result<()> {
        let found: i64 = self.parse(key)?;
        if found != want as i64 {
            return Err(RuntimeError::Metadata {
                path: self.path.clone(),
                key,
                problem: format!("is {found}, expected {want} ({of})"),
            });
        }
        Ok(())
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
