fn main() {
    tinycats_build::link_native_libraries();
}
