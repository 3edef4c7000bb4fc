//! The folder walk behind every ImageFolder scan ([`image_folder`](super::image_folder()),
//! and through it training, `data check`, `clean` and `split`): which entries of a
//! dataset folder from someone else are read, and as which class.
//!
//! A class's images are the files under its own folder:
//! - A symbolic link to a *folder* is followed only when its target, canonicalised, lies
//!   inside the same class folder. Any other (`Bengal/loop -> ..`, `Bengal/more ->
//!   ../Siamese`, `Bengal/old -> /mnt/photos`) is skipped and reported as
//!   [`ProblemKind::LinkOutsideClass`], naming the link and its target: following it
//!   would label another class's images, or the whole dataset, as this class.
//! - A symbolic link to a *file* is read as an image of the class whose folder holds
//!   the link, wherever the file lies: de-duplicated and shared photo stores link files,
//!   and one link adds one image. A link to another class's image puts it in both
//!   classes, which `data check` reports as an exact duplicate.
//! - Only regular files are read: a link to a device or a FIFO is reported, not opened.
//! - A folder reached twice is read once; a link that never resolves (`a -> a`) is a
//!   [`ProblemKind::SymlinkLoop`], one to nothing a [`ProblemKind::MissingFile`].
//! - A class folder may itself be a link (to images kept elsewhere), but not to a folder
//!   that holds the dataset or overlaps another class's folder.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{FileProblem, ProblemKind};
use crate::decode::has_image_extension;

pub(crate) fn is_symlink_loop(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ELOOP: i32 = 40;
    #[cfg(not(target_os = "linux"))]
    const ELOOP: i32 = 62;
    e.raw_os_error() == Some(ELOOP)
}

fn problem(path: &Path, kind: ProblemKind, detail: impl Into<String>) -> FileProblem {
    FileProblem {
        path: path.to_path_buf(),
        kind,
        detail: detail.into(),
    }
}

fn canonical(path: &Path) -> Result<PathBuf, FileProblem> {
    std::fs::canonicalize(path).map_err(|e| {
        let kind = if is_symlink_loop(&e) {
            ProblemKind::SymlinkLoop
        } else {
            ProblemKind::Unreadable
        };
        problem(path, kind, e.to_string())
    })
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|md| md.file_type().is_symlink())
}

/// Removes from `class_dirs` (name → folder) the class folders that are links to a
/// folder holding the dataset `root` or overlapping another class's folder, and reports
/// each in `problems`.
pub(crate) fn retain_distinct_classes(
    root: &Path,
    class_dirs: &mut BTreeMap<String, PathBuf>,
    problems: &mut Vec<FileProblem>,
) {
    let Ok(root) = std::fs::canonicalize(root) else {
        return;
    };
    // Unresolvable folders are reported by the class walk.
    let canon: Vec<(String, PathBuf)> = class_dirs
        .iter()
        .filter_map(|(n, d)| Some((n.clone(), std::fs::canonicalize(d).ok()?)))
        .collect();
    for (name, target) in &canon {
        let dir = &class_dirs[name];
        if !is_link(dir) {
            continue;
        }
        let shown = target.display();
        let found = if root.starts_with(target) {
            Some(problem(
                dir,
                ProblemKind::SymlinkLoop,
                format!("class folder links to {shown}, which holds the dataset itself"),
            ))
        } else {
            canon
                .iter()
                .find(|(o, t)| o != name && (target.starts_with(t) || t.starts_with(target)))
                .map(|(other, _)| {
                    problem(
                        dir,
                        ProblemKind::LinkOutsideClass,
                        format!("class folder links to {shown}, which overlaps class `{other}`"),
                    )
                })
        };
        if let Some(p) = found {
            problems.push(p);
            class_dirs.remove(name);
        }
    }
}

/// Collects the image files under the class folder `class_dir` (sorted, each folder read
/// once across calls sharing `visited`) by the rules of the module header, reporting
/// every entry it leaves out.
pub(crate) fn class_images(
    class_dir: &Path,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<FileProblem>,
) {
    match canonical(class_dir) {
        Ok(bound) => walk(class_dir, &bound, visited, files, problems),
        Err(p) => problems.push(p),
    }
}

/// The one test for every folder the walk reaches: it resolves inside the class folder
/// `bound` (canonical) and was not read before.
fn enter(dir: &Path, bound: &Path, visited: &mut HashSet<PathBuf>) -> Result<(), FileProblem> {
    let target = canonical(dir)?;
    if !target.starts_with(bound) {
        return Err(problem(
            dir,
            ProblemKind::LinkOutsideClass,
            format!(
                "links to {}, outside its class folder {}",
                target.display(),
                bound.display()
            ),
        ));
    }
    if !visited.insert(target) {
        return Err(problem(
            dir,
            ProblemKind::SymlinkLoop,
            "folder was already visited through another path",
        ));
    }
    Ok(())
}

fn walk(
    dir: &Path,
    bound: &Path,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<FileProblem>,
) {
    if let Err(p) = enter(dir, bound, visited) {
        problems.push(p);
        return;
    }
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) => {
            problems.push(problem(dir, ProblemKind::Unreadable, e.to_string()));
            return;
        }
    };
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name() else {
            continue;
        };
        if name.to_str().is_none() {
            let detail = format!("name {} is not valid UTF-8", name.to_string_lossy());
            problems.push(problem(&path, ProblemKind::NonUtf8Name, detail));
            continue;
        }
        match std::fs::metadata(&path) {
            Err(e) if is_symlink_loop(&e) => {
                problems.push(problem(&path, ProblemKind::SymlinkLoop, e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => problems.push(problem(
                &path,
                ProblemKind::MissingFile,
                "dangling symbolic link",
            )),
            Err(e) => problems.push(problem(&path, ProblemKind::Unreadable, e.to_string())),
            Ok(md) if md.is_dir() => walk(&path, bound, visited, files, problems),
            Ok(_) if !has_image_extension(&path) => {}
            Ok(md) if !md.is_file() => problems.push(problem(
                &path,
                ProblemKind::NotAnImage,
                "not a regular file (a device, FIFO or socket)",
            )),
            Ok(md) if md.len() == 0 => {
                problems.push(problem(&path, ProblemKind::EmptyFile, "file is 0 bytes"))
            }
            Ok(_) => files.push(path),
        }
    }
}
