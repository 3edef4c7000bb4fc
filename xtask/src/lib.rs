//! The tinycats xtask: native set-up, the verify-docs engine, book building and CI.
//!
//! Everything is a library so the engine's fixture tests can drive it on small projects
//! made in a temporary folder.

pub mod bench;
pub mod book;
pub mod ci;
pub mod graphs;
pub mod imports;
pub mod paths;
pub mod setup;
pub mod verify;
pub mod versions;

use std::process::Command;

/// `cargo xtask verify-docs`: sets the native libraries and the book's tools up (not for a
/// `--root` project, which brings its own), then checks the book ([`verify::run()`]).
pub fn verify_docs(args: &verify::VerifyArgs) -> anyhow::Result<()> {
    let mdbook = if args.root.is_none() {
        let setup = setup::SetupArgs {
            no_book_tools: args.no_book,
            ..Default::default()
        };
        setup::run(&setup)?.mdbook
    } else {
        None
    };
    verify::run(args, mdbook.as_deref())
}

/// Runs `cmd`, echoing it, and fails with its exit status.
pub fn run_cmd(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", display_cmd(cmd));
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("cannot start `{}`: {e}", display_cmd(cmd)))?;
    anyhow::ensure!(status.success(), "`{}` failed ({status})", display_cmd(cmd));
    Ok(())
}

/// A command as a user would type it.
pub fn display_cmd(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `text` to `file` atomically ([`tinycats_core::fs::write_atomic`]), so a reader
/// never sees half a page. Creates the folder if needed.
pub fn write_atomic(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    tinycats_core::fs::write_atomic(file, text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))
}

/// Removes `dir` and everything in it; a folder that is not there is fine.
pub fn remove_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}
