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

/// Writes `text` to `file` through a temporary file in the same folder renamed into place,
/// so a reader never sees half a page. Creates the folder if needed.
pub fn write_atomic(file: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}
