//! The Hugging Face cache layout: where the cache lives, repo ids and revisions that stay
//! inside it, refs read as commit hashes, and links confined to a repository's folder.

use std::path::{Path, PathBuf};

use crate::error::{Result, RuntimeError};

/// The commit `revision` names in the repository cache folder `base`
/// (`models--OWNER--NAME`): the revision itself when it is a commit hash, else what
/// `refs/<revision>` holds, which must be a commit hash, since it names a folder. `None`:
/// no such ref.
pub(super) fn cached_commit(
    base: &Path,
    revision: &str,
) -> std::result::Result<Option<String>, String> {
    use std::io::Read;
    if is_commit_hash(revision) {
        return Ok(Some(revision.to_string()));
    }
    let r = base.join("refs").join(revision);
    if !r.exists() {
        return Ok(None);
    }
    let mut content = String::new();
    std::fs::File::open(inside(base, &r)?)
        .and_then(|f| f.take(256).read_to_string(&mut content))
        .map_err(|e| format!("{}: {e}", r.display()))?;
    let commit = content.trim();
    if !is_commit_hash(commit) {
        return Err(format!(
            "{}: a ref file must hold a 40-digit commit hash, not {:?}; delete it and \
             download the repository again",
            r.display(),
            commit.chars().take(60).collect::<String>()
        ));
    }
    Ok(Some(commit.to_string()))
}

/// `path` with its links followed, if that lies inside the repository cache folder `base`:
/// a snapshot file links to `../../blobs/…`, and a planted link that leads elsewhere must not
/// make us read, hash or delete what it points at.
pub(super) fn inside(base: &Path, path: &Path) -> std::result::Result<PathBuf, String> {
    let canonical = |p: &Path| {
        p.canonicalize()
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (root, target) = (canonical(base)?, canonical(path)?);
    if target.starts_with(&root) {
        Ok(target)
    } else {
        Err(format!(
            "{} leads to {}, outside the repository's cache folder {}; delete it and \
             download the repository again",
            path.display(),
            target.display(),
            root.display()
        ))
    }
}

/// `OWNER/NAME`, each part as the Hub allows it: ASCII letters, digits, `-`, `_` and `.`,
/// starting and ending with a letter or digit, no `--` or `..`, at most 96 characters.
pub(super) fn split_repo_id(repo_id: &str) -> Result<(&str, &str)> {
    let part_ok = |p: &str| {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        !p.is_empty()
            && p.len() <= 96
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && edge(p.chars().next())
            && edge(p.chars().next_back())
            && !p.contains("--")
            && !p.contains("..")
    };
    match repo_id.split_once('/') {
        Some((o, n)) if part_ok(o) && part_ok(n) => Ok((o, n)),
        _ => Err(RuntimeError::Repo(format!(
            "{repo_id:?} is neither an existing folder nor a Hugging Face repo id OWNER/NAME \
             (letters, digits, `-`, `_`, `.`)"
        ))),
    }
}

pub(super) fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A branch, tag or commit: what git allows in a ref name that stays inside `refs/`.
pub(super) fn check_revision(revision: &str) -> Result<()> {
    let ok = !revision.is_empty()
        && revision.len() <= 255
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !revision.starts_with(['/', '-', '.'])
        && !revision.ends_with('/')
        && !revision.contains("..")
        && !revision.contains("//");
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::Repo(format!(
            "revision {revision:?} is not a branch, tag or commit name (letters, digits, `-`, \
             `_`, `.`, `/`; no `..`)"
        )))
    }
}

/// The Hugging Face hub cache folder from the environment.
pub fn hf_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    hf_cache_dir_from(
        var("HF_HUB_CACHE"),
        var("HF_HOME"),
        var("XDG_CACHE_HOME"),
        var("HOME"),
    )
}

/// The rule huggingface_hub uses: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn hf_cache_dir_from(
    hf_hub_cache: Option<PathBuf>,
    hf_home: Option<PathBuf>,
    xdg_cache_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    hf_hub_cache
        .or_else(|| hf_home.map(|h| h.join("hub")))
        .or_else(|| xdg_cache_home.map(|x| x.join("huggingface").join("hub")))
        .or_else(|| home.map(|h| h.join(".cache").join("huggingface").join("hub")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::touch;
    use crate::repo::{GENERATOR_ONNX, ModelRepo};

    #[test]
    fn hf_cache_snapshot_via_ref_and_via_hash() {
        let cache = tempfile::tempdir().unwrap();
        let hash = "0123456789abcdef0123456789abcdef01234567";
        let base = cache.path().join("models--tinycats--tinycats");
        touch(&base.join("snapshots").join(hash).join(GENERATOR_ONNX));
        std::fs::create_dir_all(base.join("refs")).unwrap();
        std::fs::write(base.join("refs/main"), format!("{hash}\n")).unwrap();

        let by_ref = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", "main").unwrap();
        let by_hash = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", hash).unwrap();
        let want = base.join("snapshots").join(hash).join(GENERATOR_ONNX);
        assert_eq!(by_ref.file(GENERATOR_ONNX).unwrap(), want);
        assert_eq!(by_hash.file(GENERATOR_ONNX).unwrap(), want);

        let missing = ModelRepo::from_hf_cache(cache.path(), "tinycats/other", "main");
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("not in the Hugging Face cache")
        );
        let bad_rev = ModelRepo::from_hf_cache(cache.path(), "tinycats/tinycats", "v2");
        assert!(bad_rev.unwrap_err().to_string().contains("revision \"v2\""));
    }

    #[test]
    fn cache_dir_follows_hf_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            hf_cache_dir_from(p("/c"), p("/h"), p("/x"), p("/home")),
            p("/c")
        );
        assert_eq!(
            hf_cache_dir_from(None, p("/h"), p("/x"), p("/home")),
            p("/h/hub")
        );
        assert_eq!(
            hf_cache_dir_from(None, None, p("/x"), p("/home")),
            p("/x/huggingface/hub")
        );
        assert_eq!(
            hf_cache_dir_from(None, None, None, p("/home")),
            p("/home/.cache/huggingface/hub")
        );
    }

    #[test]
    fn names_that_could_leave_the_cache_are_refused() {
        let cache = tempfile::tempdir().unwrap();
        let base = cache.path().join("models--tinycats--cats");
        let hash = "0123456789abcdef0123456789abcdef01234567";
        touch(&base.join("snapshots").join(hash).join(GENERATOR_ONNX));
        std::fs::create_dir_all(base.join("refs")).unwrap();
        for (id, rev) in [
            ("../etc/x", "main"),
            ("tinycats/..", "main"),
            ("tinycats/cats--x", "main"),
            ("tinycats/-cats", "main"),
            ("tinycats/cats", "../../../etc"),
            ("tinycats/cats", "/etc/passwd"),
            ("tinycats/cats", ""),
        ] {
            let err = ModelRepo::from_hf_cache(cache.path(), id, rev)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("repo id") || err.contains("revision"),
                "{id}@{rev}: {err}"
            );
        }
        // A ref file is read as a commit hash, never as a path.
        std::fs::write(base.join("refs/evil"), "../../../../tmp\n").unwrap();
        let err = ModelRepo::from_hf_cache(cache.path(), "tinycats/cats", "evil")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must hold a 40-digit commit hash"), "{err}");
        // Files are looked up inside the snapshot only.
        let repo = ModelRepo::from_hf_cache(cache.path(), "tinycats/cats", hash).unwrap();
        assert!(repo.file(GENERATOR_ONNX).is_ok());
        for rel in ["../../../x", "/etc/passwd", ""] {
            let err = repo.file(rel).unwrap_err().to_string();
            assert!(
                err.contains("not a file path inside a repository"),
                "{rel}: {err}"
            );
        }
        // Hub names that are fine.
        assert!(split_repo_id("my-org/tiny.cats_v2").is_ok());
        assert!(check_revision("refs/pr/1").is_ok());
    }
}
