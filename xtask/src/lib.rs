//! The tinycats xtask: native set-up, the verify-docs engine, book building and CI.
//!
//! Everything is a library so the engine's fixture tests can drive it on small projects
//! made in a temporary folder.

pub mod bench;
pub mod book;
pub mod ci;
pub mod paths;
pub mod setup;
pub mod verify;
pub mod versions;
pub mod web;

use std::process::Command;

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
