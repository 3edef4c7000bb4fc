//! `cargo xtask ci`: exactly what CI runs.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Skip `cargo xtask verify-docs` (the slowest stage).
    #[arg(long)]
    pub no_docs: bool,
}

pub fn run(args: &CiArgs) -> Result<()> {
    let root = crate::paths::project_root();
    let mut timings = Vec::new();
    let mut stage = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        eprintln!("\n==> ci: {name}");
        let started = Instant::now();
        let result = f();
        timings.push((name.to_owned(), started.elapsed()));
        result.map_err(|e| e.context(format!("ci stage `{name}` failed")))
    };
    let cargo = || {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.current_dir(&root);
        c
    };
    stage("setup", &mut || {
        crate::setup::run(&crate::setup::SetupArgs::default()).map(|_| ())
    })?;
    stage("fmt", &mut || {
        crate::run_cmd(cargo().args(["fmt", "--all", "--check"]))
    })?;
    stage("clippy", &mut || {
        crate::run_cmd(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    stage("test", &mut || {
        crate::run_cmd(cargo().args(["test", "--workspace", "--locked"]))
    })?;
    if !args.no_docs {
        stage("verify-docs", &mut || {
            crate::verify::run(&crate::verify::VerifyArgs {
                force: true,
                ..Default::default()
            })
        })?;
    }
    eprintln!("\nci: all stages passed");
    for (name, d) in &timings {
        eprintln!("  {name:<12} {:>7.1} s", d.as_secs_f64());
    }
    Ok(())
}
