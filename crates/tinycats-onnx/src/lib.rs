//! tinycats-onnx (work in progress)
