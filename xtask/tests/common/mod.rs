//! The fixture projects of the verify-docs engine tests: each a small book in a temporary
//! folder whose "examples" are shell scripts standing in for built binaries (`--prebuilt`).
#![allow(dead_code)] // each test crate uses its own share of the helpers

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use xtask::verify::{self, Project, VerifyArgs, outputs, problems::Problem};

pub const MARK: &str = "@@tinycats-step";

pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for d in ["book/src", "book/outputs", "examples", "bin"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::write(
            dir.path().join("book/src/SUMMARY.md"),
            "# Summary\n\n- [Chapter](ch.md)\n",
        )
        .unwrap();
        Fixture { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `examples/NAME.rs` (anchors) and the script that stands in for its binary.
    pub fn example(&self, name: &str, anchors: &[&str], script: &str) -> &Self {
        let mut src = "//! fixture\n// verify-docs: timeout_s = 5\nfn main() {\n".to_string();
        for a in anchors {
            src += &format!("    // ANCHOR: {a}\n    println!(\"{a}\");\n    // ANCHOR_END: {a}\n");
        }
        src += "}\n";
        fs::write(self.root().join(format!("examples/{name}.rs")), src).unwrap();
        let bin = self.root().join("bin").join(name);
        fs::write(&bin, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// A crate example `examples/NAME/` (its own `Cargo.toml`, anchors in `src/main.rs`)
    /// and the script that stands in for its binary.
    pub fn crate_example(&self, name: &str, anchors: &[&str], script: &str) -> &Self {
        let dir = self.root().join("examples").join(name);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        )
        .unwrap();
        let mut src = "//! fixture\nfn main() {\n".to_string();
        for a in anchors {
            src += &format!("    // ANCHOR: {a}\n    println!(\"{a}\");\n    // ANCHOR_END: {a}\n");
        }
        src += "}\n";
        fs::write(dir.join("src/main.rs"), src).unwrap();
        let bin = self.root().join("bin").join(name);
        fs::write(&bin, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    pub fn chapter(&self, md: &str) -> &Self {
        fs::write(self.root().join("book/src/ch.md"), md).unwrap();
        self
    }

    /// A committed snapshot in insta's file format.
    pub fn snapshot(&self, example: &str, step: &str, body: &str) -> &Self {
        let description = format!(
            "description: \"stdout of step `{step}` of examples/{example}.rs, shown in the book; regenerate with `cargo xtask verify-docs --update`\"\n"
        );
        self.snap_file(&format!("book/outputs/{example}"), step, &description, body)
    }

    /// A committed stable record of `example`'s step `step` (`lines`: what
    /// `book/outputs/<example>/stable/<step>.snap` holds under its header).
    pub fn stable_record(&self, example: &str, step: &str, lines: &str) -> &Self {
        self.snap_file(&format!("book/outputs/{example}/stable"), step, "", lines)
    }

    /// `<dir>/<step>.snap` with the header verify-docs writes (`extra`: header lines after
    /// `source`), then `body`.
    fn snap_file(&self, dir: &str, step: &str, extra: &str, body: &str) -> &Self {
        let dir = self.root().join(dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("{step}.snap")),
            format!("---\nsource: xtask/src/verify/outputs.rs\n{extra}---\n{body}\n"),
        )
        .unwrap();
        self
    }

    /// The chapter's include line for a committed snapshot.
    pub fn output_include(&self, example: &str, step: &str) -> String {
        let p = Project::self_contained(self.root().to_path_buf());
        let snap = self
            .root()
            .join(format!("book/outputs/{example}/{step}.snap"));
        format!(
            "```text\n{{{{#include {}}}}}\n```\n",
            outputs::include_target(&self.root().join("book/src"), &snap, &p).unwrap()
        )
    }

    pub fn verify(&self) -> Vec<Problem> {
        self.verify_with(VerifyArgs {
            force: true,
            jobs: Some(2),
            ..Default::default()
        })
    }

    /// verify-docs with `args` on this fixture (its root, its scripts, no book build).
    pub fn verify_with(&self, args: VerifyArgs) -> Vec<Problem> {
        let args = VerifyArgs {
            no_book: true,
            root: Some(self.root().to_path_buf()),
            prebuilt: Some(self.root().join("bin")),
            ..args
        };
        let project = Project::self_contained(self.root().canonicalize().unwrap());
        let mut problems = Vec::new();
        verify::verify(&project, &args, &mut problems).unwrap();
        problems
    }
}

/// Exactly one problem, whose text contains every needle; returns it.
pub fn one_problem(problems: &[Problem], needles: &[&str]) -> Problem {
    assert_eq!(problems.len(), 1, "expected one problem, got {problems:#?}");
    let text = problems[0].to_string();
    for n in needles {
        assert!(text.contains(n), "`{n}` not in:\n{text}");
    }
    problems[0].clone()
}

pub fn include(anchor: &str) -> String {
    format!("```rust\n{{{{#include ../../examples/ex.rs:{anchor}}}}}\n```\n")
}

/// A healthy one-step project: the baseline every fault below departs from.
pub fn healthy() -> Fixture {
    let f = Fixture::new();
    f.example(
        "ex",
        &["main"],
        &format!("echo '{MARK} main'; echo 'hello 42'"),
    );
    f.snapshot("ex", "main", "hello 42");
    let md = format!(
        "# Chapter\n\nWe greet.\n\n{}\n{}",
        include("main"),
        f.output_include("ex", "main")
    );
    f.chapter(&md);
    f
}

pub fn write_png(path: &Path, f: impl Fn(u32, u32) -> [u8; 3]) {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb(f(x, y)));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save(path).unwrap();
}

/// A project whose example copies `new.png` into its output folder as `plot.png`, with a
/// committed `plot.png` that the chapter shows.
pub fn with_image(
    committed: impl Fn(u32, u32) -> [u8; 3],
    new: impl Fn(u32, u32) -> [u8; 3],
) -> (Fixture, PathBuf) {
    let f = healthy();
    write_png(&f.root().join("new.png"), new);
    let shown = f.root().join("book/src/images/ex/plot.png");
    write_png(&shown, committed);
    f.example(
        "ex",
        &["main"],
        &format!(
            "echo '{MARK} main'; echo 'hello 42'; cp {}/new.png \"$TINYCATS_OUT_DIR/plot.png\"",
            f.root().display()
        ),
    );
    let md = fs::read_to_string(f.root().join("book/src/ch.md")).unwrap();
    f.chapter(&format!("{md}\nThe plot:\n\n![plot](images/ex/plot.png)\n"));
    (f, shown)
}

pub fn gradient(x: u32, y: u32) -> [u8; 3] {
    [(x * 4) as u8, (y * 4) as u8, 128]
}
