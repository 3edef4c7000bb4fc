//! The ONNX protobuf types (`ModelProto`, `GraphProto`, …), generated at build time by prost
//! from the vendored `proto/onnx.proto` (ONNX 1.19.1, Apache-2.0).
#![allow(clippy::all, clippy::pedantic, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
