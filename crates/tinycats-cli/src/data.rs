//! `tinycats data …`: write SynthCats, check, clean and split image folders, and import
//! Oxford-IIIT Pet as split folders.
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tinycats_data::curate::{self, CheckOptions, ImportOxfordOptions, SplitOptions};
use tinycats_data::{SynthCats, SynthConfig};

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write the SynthCats dataset (ImageFolder layout + manifest.csv) and/or a contact sheet.
    #[command(
        after_help = "Examples:\n  tinycats data synth --out synthcats --per-class 100\n  tinycats data synth --contact-sheet sheet.png\n  tinycats data synth --contact-sheet wild.png --severity 0.75"
    )]
    Synth(SynthArgs),
    /// Decode every image of an ImageFolder and print a per-class table of problems. Exits
    /// with 3 when it finds problems or duplicates, 0 when the folder is clean.
    #[command(
        after_help = "Examples:\n  tinycats data check my_cats\n  tinycats data check my_cats --json > report.json"
    )]
    Check(CheckArgs),
    /// Copy the usable, de-duplicated images of an ImageFolder as upright RGB8 PNGs.
    #[command(after_help = "Examples:\n  tinycats data clean my_cats --out my_cats_clean")]
    Clean(CleanArgs),
    /// Copy an ImageFolder into a seeded, stratified train/val/test split.
    #[command(
        after_help = "Examples:\n  tinycats data split my_cats_clean --out my_split\n  tinycats data split my_cats_clean --out my_split --val 0.1 --test 0.1 --seed 1"
    )]
    Split(SplitArgs),
    /// Copy Oxford-IIIT Pet (official layout) into train/val/test folders of the 13 classes.
    #[command(
        after_help = "Examples:\n  tinycats data oxford oxford-iiit-pet --out pets_split\n  tinycats data oxford oxford-iiit-pet --out pets_split --no-dogs"
    )]
    Oxford(OxfordArgs),
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output folder (must not exist or be empty); written atomically.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Images per class (13 classes).
    #[arg(long, default_value_t = 100)]
    per_class: u64,
    /// Image side in pixels (64, 96 or 128 are typical).
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Dataset seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write a contact sheet PNG: 8 samples per class, one labelled row each.
    #[arg(long, value_name = "FILE")]
    contact_sheet: Option<PathBuf>,
    /// Turn off lighting, colour cast, sensor noise and blur.
    #[arg(long)]
    no_camera_effects: bool,
    /// The wild shift, 0 (clean, the default) to 1; the named hard split `wild` is 0.75.
    #[arg(long, default_value_t = 0.0)]
    severity: f32,
}

#[derive(Debug, Args)]
pub struct CurateArgs {
    /// Images whose shorter side is below this many pixels are reported as too small.
    #[arg(long, default_value_t = 32)]
    min_side: u32,
    /// Near-duplicate threshold: differing bits of the 64-bit perceptual hash (0 = off).
    #[arg(long, default_value_t = 4)]
    near_threshold: u32,
}

impl CurateArgs {
    fn options(&self) -> CheckOptions {
        CheckOptions {
            min_side: self.min_side,
            near_threshold: self.near_threshold,
            ..CheckOptions::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ImageFolder root: `DIR/<class>/*.{jpg,jpeg,png,webp}`.
    dir: PathBuf,
    #[command(flatten)]
    curate: CurateArgs,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `tinycats data check` found problems: the process exits with [`ProblemsFound::EXIT_CODE`].
#[derive(Debug)]
pub struct ProblemsFound(pub String);

impl ProblemsFound {
    pub const EXIT_CODE: u8 = 3;
}

impl std::fmt::Display for ProblemsFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProblemsFound {}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// ImageFolder root to read (never modified).
    dir: PathBuf,
    /// Output folder (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    curate: CurateArgs,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    /// ImageFolder root to read (never modified).
    dir: PathBuf,
    /// Output folder: gets train/, val/, test/ and split.csv.
    #[arg(long)]
    out: PathBuf,
    /// Fraction of each class for validation.
    #[arg(long, default_value_t = 0.15)]
    val: f32,
    /// Fraction of each class for test.
    #[arg(long, default_value_t = 0.15)]
    test: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
pub struct OxfordArgs {
    /// Oxford-IIIT Pet folder holding images/ and annotations/ (never modified).
    pet_root: PathBuf,
    /// Output folder: gets train/, val/, test/ and split.csv; test/ is the official test split.
    #[arg(long)]
    out: PathBuf,
    /// Fraction of each class of the official trainval split held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val: f32,
    /// Leave the 25 dog breeds out (by default they become the class `Other`).
    #[arg(long)]
    no_dogs: bool,
    /// Keep at most this many times the mean cat class of dogs per split (a large value keeps all).
    #[arg(long, default_value_t = 1.0)]
    other_ratio: f32,
    /// Seed of the validation draw and of the choice of dogs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::Synth(a) => synth(a),
        DataCommand::Check(a) => {
            let report = curate::check(&a.dir, &a.curate.options())?;
            if a.json {
                println!("{}", report.to_json()?);
            } else {
                print!("{report}");
            }
            if !report.is_clean() {
                return Err(ProblemsFound(format!(
                    "{} problem(s) and {} duplicate group(s) in {}; run `tinycats data clean {} --out CLEAN_DIR`",
                    report.problems.len(),
                    report.duplicates.len(),
                    a.dir.display(),
                    a.dir.display()
                ))
                .into());
            }
            Ok(())
        }
        DataCommand::Clean(a) => {
            let report = curate::clean(&a.dir, &a.out, &a.curate.options())?;
            print!("{report}");
            println!(
                "\nwrote {} images to {}",
                report.usable.len(),
                a.out.display()
            );
            Ok(())
        }
        DataCommand::Split(a) => {
            let opts = SplitOptions {
                val: a.val,
                test: a.test,
                seed: a.seed,
            };
            println!("{}", curate::split(&a.dir, &a.out, &opts)?);
            Ok(())
        }
        DataCommand::Oxford(a) => {
            let opts = ImportOxfordOptions {
                val: a.val,
                include_dogs: !a.no_dogs,
                other_ratio: Some(a.other_ratio),
                seed: a.seed,
            };
            println!("{}", curate::import_oxford(&a.pet_root, &a.out, &opts)?);
            Ok(())
        }
    }
}

fn synth(a: SynthArgs) -> anyhow::Result<()> {
    if a.out.is_none() && a.contact_sheet.is_none() {
        bail!("nothing to write: give --out DIR, --contact-sheet FILE, or both");
    }
    let synth = SynthCats::new(SynthConfig {
        size: a.size,
        seed: a.seed,
        camera_effects: !a.no_camera_effects,
        severity: a.severity,
        ..SynthConfig::default()
    })?;
    if let Some(out) = &a.out {
        let start = std::time::Instant::now();
        let s = synth.write_dataset(out, a.per_class)?;
        println!(
            "wrote {} images ({} classes × {}) at {} px to {} in {:.1} s; manifest: {}",
            s.images,
            s.classes,
            a.per_class,
            a.size,
            s.root.display(),
            start.elapsed().as_secs_f32(),
            s.manifest.display()
        );
    }
    if let Some(path) = &a.contact_sheet {
        let sheet = synth.contact_sheet(synth.presets(), 8);
        sheet
            .save(path)
            .with_context(|| format!("writing the contact sheet to {}", path.display()))?;
        println!(
            "wrote contact sheet {} ({}x{})",
            path.display(),
            sheet.width(),
            sheet.height()
        );
    }
    Ok(())
}
