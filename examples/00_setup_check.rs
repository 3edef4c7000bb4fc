//! Getting started: checks that libtorch, ONNX Runtime and the plotting stack work.
fn main() {}
