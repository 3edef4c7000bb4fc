//! `cargo xtask book [--serve] [--open]`: what a reader runs to get the book locally.

use std::process::Command;

use anyhow::Result;
use clap::Args;

use crate::verify::{self, Project, VerifyArgs};

#[derive(Debug, Args)]
pub struct BookArgs {
    /// Serve the book at http://localhost:PORT and rebuild it when a chapter changes.
    #[arg(long)]
    pub serve: bool,
    /// Open the book in the browser (implies a build; with --serve, opens the served page).
    #[arg(long)]
    pub open: bool,
    /// Port for --serve.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Rerun every example, even unchanged ones.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &BookArgs) -> Result<()> {
    let native = crate::setup::run(&crate::setup::SetupArgs::default())?;
    let mdbook = native.mdbook.expect("setup installs mdbook");
    let project = Project::new(crate::paths::project_root());
    // A reader's run refreshes the pages from their own machine's outputs.
    let verify_args = VerifyArgs {
        update: true,
        force: args.force,
        ..Default::default()
    };
    let mut problems = Vec::new();
    verify::verify(&project, &verify_args, &mut problems)?;
    verify::build_book(&project, &mdbook, &mut problems)?;
    verify::problems::report(&problems)?;
    let index = project.build_dir().join("index.html");
    eprintln!("book: {}", index.display());
    if args.serve {
        crate::setup::ensure_mdbook_serve(&crate::paths::project_root())?;
        let mut cmd = verify::mdbook_command(&mdbook, "serve", &project)?;
        cmd.args(["--port", &args.port.to_string()]);
        if args.open {
            cmd.arg("--open");
        }
        crate::run_cmd(&mut cmd)?;
    } else if args.open {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        crate::run_cmd(Command::new(opener).arg(&index))?;
    }
    Ok(())
}
