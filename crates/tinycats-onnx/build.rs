//! Compiles the vendored `proto/onnx.proto` (ONNX 1.19.1, Apache-2.0) into Rust types with
//! prost, using the protoc binary shipped by `protoc-bin-vendored` (no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.compile_protos(&["proto/onnx.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    Ok(())
}
