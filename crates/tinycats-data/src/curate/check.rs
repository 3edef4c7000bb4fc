//! `check` and `clean`.
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use image_hasher::{HashAlg, HasherConfig, ImageHash};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::AtomicDir;
use crate::decode::{DecodeLimits, SourceTraits, decode_bytes};
use crate::error::{DataError, Result};
use crate::loaders::{
    ClassMapping, FileProblem, ImageFolderOptions, ProblemKind, Sample, image_folder,
};
use tinycats_core::classes::{BREEDS, BreedMatch, match_breed};

/// Options of [`check`] and [`clean`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Images whose shorter side is below this are reported as too small.
    pub min_side: u32,
    /// Two images whose 64-bit gradient hashes (dHash) differ in at most this many bits
    /// are near duplicates (0 disables the near-duplicate search).
    pub near_threshold: u32,
    pub limits: DecodeLimits,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            min_side: 32,
            near_threshold: 4,
            limits: DecodeLimits::default(),
        }
    }
}

/// Counts of inputs that were converted on the way to upright RGB8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalised {
    pub grayscale: usize,
    pub cmyk: usize,
    pub sixteen_bit: usize,
    pub alpha: usize,
    pub palette: usize,
    pub exif_rotated: usize,
}

impl Normalised {
    fn add(&mut self, s: &SourceTraits) {
        self.grayscale += s.grayscale as usize;
        self.cmyk += s.cmyk as usize;
        self.sixteen_bit += s.sixteen_bit as usize;
        self.alpha += s.alpha as usize;
        self.palette += s.palette as usize;
        self.exif_rotated += s.exif_rotated as usize;
    }
}

/// One row of the per-class table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRow {
    pub name: String,
    /// Image files found.
    pub files: usize,
    /// Decodable, large enough, not a duplicate of an earlier file.
    pub usable: usize,
    pub unreadable: usize,
    pub too_small: usize,
    pub duplicates: usize,
    /// Usable files that needed conversion (grey, CMYK, 16-bit, alpha, palette, EXIF).
    pub converted: usize,
}

/// Files that are the same image; the first one is kept by `clean`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// Byte-identical (else perceptually near-identical).
    pub exact: bool,
    pub paths: Vec<PathBuf>,
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub root: PathBuf,
    pub classes: Vec<ClassRow>,
    /// Every file or folder left out, with its reason.
    pub problems: Vec<FileProblem>,
    pub duplicates: Vec<DuplicateGroup>,
    pub normalised: Normalised,
    pub notes: Vec<String>,
    /// The files `clean` keeps, labelled by folder (sorted folder names).
    pub usable: Vec<Sample>,
    pub class_names: Vec<String>,
}

impl CheckReport {
    pub fn total_files(&self) -> usize {
        self.classes.iter().map(|c| c.files).sum()
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| {
            DataError::config(
                "report",
                e,
                "this is a bug in tinycats-data; please report it",
            )
        })
    }

    /// True if nothing needs cleaning.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.duplicates.is_empty()
    }
}

struct Record {
    sample: Sample,
    len: u64,
    bytes_hash: u64,
    dhash: Option<ImageHash>,
    source: Option<SourceTraits>,
    problem: Option<FileProblem>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn inspect(sample: Sample, opts: &CheckOptions) -> Record {
    let mut rec = Record {
        len: 0,
        bytes_hash: 0,
        dhash: None,
        source: None,
        problem: None,
        sample,
    };
    let path = rec.sample.path.clone();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            rec.problem = Some(FileProblem {
                path,
                kind: ProblemKind::Unreadable,
                detail: e.to_string(),
            });
            return rec;
        }
    };
    rec.len = bytes.len() as u64;
    rec.bytes_hash = fnv1a(&bytes);
    match decode_bytes(&bytes, &path, &opts.limits) {
        Ok(d) => {
            let (w, h) = d.image.dimensions();
            if w.min(h) < opts.min_side {
                rec.problem = Some(FileProblem {
                    path,
                    kind: ProblemKind::TooSmall,
                    detail: format!("{w}x{h} is below the {} px minimum side", opts.min_side),
                });
            } else if opts.near_threshold > 0 {
                let hasher = HasherConfig::new()
                    .hash_alg(HashAlg::Gradient)
                    .hash_size(8, 8)
                    .to_hasher();
                rec.dhash = Some(hasher.hash_image(&image::DynamicImage::ImageRgb8(d.image)));
            }
            rec.source = Some(d.source);
        }
        Err(DataError::Image {
            kind, reason, path, ..
        }) => {
            rec.problem = Some(FileProblem {
                path,
                kind,
                detail: reason,
            })
        }
        Err(e) => {
            rec.problem = Some(FileProblem {
                path,
                kind: ProblemKind::Unreadable,
                detail: e.to_string(),
            })
        }
    }
    rec
}

/// Decodes every image under the ImageFolder `root` and reports, per class, what is
/// usable and what is not. Reads only.
pub fn check(root: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let ds = image_folder(
        root,
        &ImageFolderOptions {
            mapping: ClassMapping::Sorted,
            allow_empty_classes: true,
        },
    )?;
    let mut notes = ds.notes.clone();
    for name in &ds.classes {
        match match_breed(name) {
            BreedMatch::Exact(_) => {}
            BreedMatch::Near(id) => notes.push(format!(
                "class `{name}` matches no breed; did you mean `{}`?",
                BREEDS[id]
            )),
            BreedMatch::Unknown => notes.push(format!(
                "class `{name}` is not one of the 13 breeds (fine for fine-tuning a new class)"
            )),
        }
    }
    let records: Vec<Record> = ds
        .samples
        .par_iter()
        .map(|s| inspect(s.clone(), opts))
        .collect();

    let mut problems = ds.skipped.clone();
    let mut rows: Vec<ClassRow> = ds
        .classes
        .iter()
        .map(|n| ClassRow {
            name: n.clone(),
            ..ClassRow::default()
        })
        .collect();
    for p in &ds.skipped {
        // Files skipped while scanning count against their class folder; folders don't.
        if let Some(row) = rows
            .iter_mut()
            .find(|r| p.path.parent().and_then(|d| d.file_name()) == Some(r.name.as_ref()))
            && !matches!(
                p.kind,
                ProblemKind::EmptyClass | ProblemKind::LinkOutsideClass
            )
        {
            row.files += 1;
            row.unreadable += 1;
        }
    }

    // Exact duplicates: same length and FNV-1a hash of the bytes.
    let mut dup_of: Vec<Option<usize>> = vec![None; records.len()];
    let mut duplicates = Vec::new();
    let mut by_bytes: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.problem.is_none() {
            by_bytes.entry((r.len, r.bytes_hash)).or_default().push(i);
        }
    }
    // A 64-bit hash can collide: a group is split by the files' actual bytes.
    let mut exact_groups: Vec<Vec<usize>> = Vec::new();
    for group in by_bytes.into_values().filter(|g| g.len() > 1) {
        let mut same_bytes: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        for i in group {
            let bytes = std::fs::read(&records[i].sample.path)
                .map_err(|e| DataError::io(&records[i].sample.path, e))?;
            match same_bytes.iter_mut().find(|(b, _)| *b == bytes) {
                Some((_, members)) => members.push(i),
                None => same_bytes.push((bytes, vec![i])),
            }
        }
        exact_groups.extend(
            same_bytes
                .into_iter()
                .map(|(_, m)| m)
                .filter(|m| m.len() > 1),
        );
    }
    exact_groups.sort();
    let mut exact_dup = vec![false; records.len()];
    for g in exact_groups {
        for &i in &g[1..] {
            dup_of[i] = Some(g[0]);
            exact_dup[i] = true;
        }
        duplicates.push(DuplicateGroup {
            exact: true,
            paths: g.iter().map(|&i| records[i].sample.path.clone()).collect(),
        });
    }

    // Near duplicates among the rest: union-find over pairs within the threshold.
    if opts.near_threshold > 0 {
        let cand: Vec<usize> = (0..records.len())
            .filter(|&i| dup_of[i].is_none() && records[i].dhash.is_some())
            .collect();
        let mut parent: Vec<usize> = (0..records.len()).collect();
        fn find(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        for (a_pos, &a) in cand.iter().enumerate() {
            for &b in &cand[a_pos + 1..] {
                let (ha, hb) = (records[a].dhash.as_ref(), records[b].dhash.as_ref());
                if let (Some(ha), Some(hb)) = (ha, hb)
                    && ha.dist(hb) <= opts.near_threshold
                {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    if ra != rb {
                        parent[ra.max(rb)] = ra.min(rb);
                    }
                }
            }
        }
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for &i in &cand {
            let r = find(&mut parent, i);
            groups.entry(r).or_default().push(i);
        }
        let mut near: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
        near.sort();
        for g in near {
            for &i in &g[1..] {
                dup_of[i] = Some(g[0]);
            }
            duplicates.push(DuplicateGroup {
                exact: false,
                paths: g.iter().map(|&i| records[i].sample.path.clone()).collect(),
            });
        }
    }

    let mut normalised = Normalised::default();
    let mut usable = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let row = &mut rows[r.sample.label];
        row.files += 1;
        if let Some(p) = &r.problem {
            if p.kind == ProblemKind::TooSmall {
                row.too_small += 1;
            } else {
                row.unreadable += 1;
            }
            problems.push(p.clone());
        } else if let Some(first) = dup_of[i] {
            row.duplicates += 1;
            let exact = exact_dup[i];
            problems.push(FileProblem {
                path: r.sample.path.clone(),
                kind: if exact {
                    ProblemKind::ExactDuplicate
                } else {
                    ProblemKind::NearDuplicate
                },
                detail: format!("same image as {}", records[first].sample.path.display()),
            });
        } else {
            row.usable += 1;
            if let Some(s) = &r.source {
                normalised.add(s);
                let converted = s.grayscale
                    || s.cmyk
                    || s.sixteen_bit
                    || s.alpha
                    || s.palette
                    || s.exif_rotated;
                row.converted += converted as usize;
            }
            usable.push(r.sample.clone());
        }
    }
    for row in &rows {
        if row.files == 0 {
            notes.push(format!("class `{}` has no images", row.name));
        }
    }
    Ok(CheckReport {
        root: root.to_path_buf(),
        classes: rows,
        problems,
        duplicates,
        normalised,
        notes,
        usable,
        class_names: ds.classes,
    })
}

/// Runs [`check`], then copies every usable, first-of-its-duplicates image to
/// `out/<class>/<name>.png` as upright RGB8, atomically. The source is not touched.
pub fn clean(root: &Path, out: &Path, opts: &CheckOptions) -> Result<CheckReport> {
    let report = check(root, opts)?;
    let dir = AtomicDir::new(out)?;
    // Only classes with usable images get a folder: an empty one would stop `split`.
    let mut labels: Vec<usize> = report.usable.iter().map(|s| s.label).collect();
    labels.dedup();
    for &label in &labels {
        let d = dir.path().join(&report.class_names[label]);
        std::fs::create_dir_all(&d).map_err(|e| DataError::io(&d, e))?;
    }
    let names = output_names(root, &report.usable);
    report
        .usable
        .par_iter()
        .zip(&names)
        .try_for_each(|(s, name)| -> Result<()> {
            let decoded = crate::decode::decode_file(&s.path, &opts.limits)?;
            let dest = dir.path().join(&report.class_names[s.label]).join(name);
            decoded.image.save(&dest).map_err(|e| {
                DataError::layout(
                    &dest,
                    format!("cannot write PNG: {e}"),
                    "check free disk space",
                )
            })
        })?;
    dir.finish()?;
    Ok(report)
}

/// The output file name of each sample within its class folder: `<stem>.png`, unless two
/// samples of a class would share it (`a/1.jpg` and `b/1.jpg`, `x.jpg` and `x.jpeg`); then
/// each of those is named after its whole path below the root (`a_1_jpg.png`), with a
/// counter if even that repeats. Deterministic, and no two samples of a class share a name.
pub fn output_names(root: &Path, samples: &[crate::loaders::Sample]) -> Vec<String> {
    let stem = |s: &crate::loaders::Sample| {
        s.path
            .file_stem()
            .and_then(|x| x.to_str())
            .unwrap_or("image")
            .to_owned()
    };
    let mut count: HashMap<(usize, String), usize> = HashMap::new();
    for s in samples {
        *count.entry((s.label, stem(s))).or_default() += 1;
    }
    let mut taken: HashMap<(usize, String), usize> = HashMap::new();
    samples
        .iter()
        .map(|s| {
            let base = if count[&(s.label, stem(s))] == 1 {
                stem(s)
            } else {
                // The path below the root, extension included: two source folders can map
                // to one class (`Maine Coon/` and `maine_coon/`).
                let rel = s.path.strip_prefix(root).unwrap_or(&s.path);
                let parts: Vec<String> = rel
                    .iter()
                    .map(|c| c.to_string_lossy().replace(['.', ' '], "_"))
                    .collect();
                parts.join("_")
            };
            let n = taken.entry((s.label, base.clone())).or_default();
            *n += 1;
            if *n == 1 {
                format!("{base}.png")
            } else {
                format!("{base}-{n}.png")
            }
        })
        .collect()
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .classes
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<w$}  {:>6}  {:>6}  {:>10}  {:>9}  {:>10}  {:>9}",
            "class", "files", "usable", "unreadable", "too small", "duplicates", "converted"
        )?;
        let mut total = ClassRow {
            name: "total".into(),
            ..ClassRow::default()
        };
        for c in &self.classes {
            writeln!(
                f,
                "{:<w$}  {:>6}  {:>6}  {:>10}  {:>9}  {:>10}  {:>9}",
                c.name, c.files, c.usable, c.unreadable, c.too_small, c.duplicates, c.converted
            )?;
            total.files += c.files;
            total.usable += c.usable;
            total.unreadable += c.unreadable;
            total.too_small += c.too_small;
            total.duplicates += c.duplicates;
            total.converted += c.converted;
        }
        let c = &total;
        writeln!(
            f,
            "{:<w$}  {:>6}  {:>6}  {:>10}  {:>9}  {:>10}  {:>9}",
            c.name, c.files, c.usable, c.unreadable, c.too_small, c.duplicates, c.converted
        )?;
        let n = &self.normalised;
        writeln!(
            f,
            "\nconverted to upright RGB8: {} grayscale, {} CMYK, {} 16-bit, {} alpha, {} palette, {} EXIF-rotated",
            n.grayscale, n.cmyk, n.sixteen_bit, n.alpha, n.palette, n.exif_rotated
        )?;
        if !self.duplicates.is_empty() {
            writeln!(f, "\nduplicate groups (the first file is kept):")?;
            for g in &self.duplicates {
                let kind = if g.exact { "exact" } else { "near" };
                let paths: Vec<String> = g.paths.iter().map(|p| p.display().to_string()).collect();
                writeln!(f, "  [{kind}] {}", paths.join(", "))?;
            }
        }
        if !self.problems.is_empty() {
            writeln!(f, "\nproblems:")?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}
