//! `tinycats`: the project's command line.
fn main() {}
