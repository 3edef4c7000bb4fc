//! `cargo xtask`: the project's automation. See `cargo xtask --help`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "tinycats project automation", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install libtorch, ONNX Runtime, mdbook and mdbook-katex into `.tinycats/`.
    Setup(xtask::setup::SetupArgs),
    /// Check the book: code provenance, run every example, compare outputs and images,
    /// build the book and check its links.
    VerifyDocs(xtask::verify::VerifyArgs),
    /// Set up, run the examples, refresh their outputs, build the book (and serve it).
    Book(xtask::book::BookArgs),
    /// What CI runs: setup, fmt, clippy, tests, verify-docs.
    Ci(xtask::ci::CiArgs),
    /// Run the speed benchmarks (and PyTorch's reference when it can be imported) and
    /// write the book's "How fast is it?" chapter from them.
    Bench(xtask::bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Setup(args) => xtask::setup::run(&args).map(|_| ()),
        Task::VerifyDocs(args) => xtask::verify_docs(&args),
        Task::Book(args) => xtask::book::run(&args),
        Task::Ci(args) => xtask::ci::run(&args),
        Task::Bench(args) => xtask::bench::run(&args),
    }
}
