//! The benchmark links libtorch (through tinycats-models) for its tch column: give its
//! binaries the rpath to `$LIBTORCH/lib`.
fn main() {
    tinycats_build::link_native_libraries();
}
