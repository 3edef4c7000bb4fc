//! `src/generated/onnx.rs` is what prost-build makes of `proto/onnx.proto` today. To
//! regenerate it after changing the schema or prost:
//!
//! ```console
//! TINYCATS_REGENERATE=1 cargo test -p tinycats-onnx --test generated_proto
//! ```

use std::path::Path;

#[test]
fn committed_protobuf_types_are_what_prost_build_generates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path().unwrap());
    config.out_dir(out.path());
    config
        .compile_protos(&[root.join("proto/onnx.proto")], &[root.join("proto")])
        .unwrap();
    let fresh = std::fs::read_to_string(out.path().join("onnx.rs")).unwrap();
    let committed_path = root.join("src/generated/onnx.rs");
    if std::env::var_os("TINYCATS_REGENERATE").is_some() {
        std::fs::write(&committed_path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is not what prost-build generates from proto/onnx.proto: run \
         `TINYCATS_REGENERATE=1 cargo test -p tinycats-onnx --test generated_proto` and commit it",
        committed_path.display()
    );
}
