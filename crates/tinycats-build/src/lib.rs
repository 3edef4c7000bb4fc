//! Build-script helper for the crates whose binaries, examples and tests link libtorch.
//!
//! `torch-sys` passes `-rpath` only to its own C++ step, so nothing tells a binary where
//! `libtorch_cpu.so` lives. [`link_native_libraries`] adds `-Wl,-rpath,$LIBTORCH/lib`, so a
//! built binary runs from any directory, and with the `cuda` feature it forces
//! `libtorch_cuda` into the link (Rust links with `--as-needed`, which would drop it and
//! leave `Device::cuda_if_available()` blind to the GPU; tch-rs issue #980).

use std::path::PathBuf;

/// Call from `build.rs`. Reads `LIBTORCH` (set by `.cargo/config.toml` after
/// `cargo xtask setup`) and the package's `cuda` feature.
pub fn link_native_libraries() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_CUDA");
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        println!(
            "cargo:warning=LIBTORCH is not set: run `cargo xtask setup` from the tinycats \
             checkout (it installs libtorch 2.11.0 into .tinycats/ and .cargo/config.toml \
             points the build at it)"
        );
        return;
    };
    let lib = libtorch.join("lib");
    if !lib.join("libtorch_cpu.so").exists() {
        println!(
            "cargo:warning=libtorch not found at {}: run `cargo xtask setup`",
            lib.display()
        );
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        if !lib.join("libtorch_cuda.so").exists() {
            println!(
                "cargo:warning=the `cuda` feature is on but {} has no libtorch_cuda.so: \
                 run `cargo xtask setup --cuda`",
                lib.display()
            );
            return;
        }
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
