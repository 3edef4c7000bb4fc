//! Crate layering that `cargo` can show: inference does not build the dataset code.

use std::process::Command;

/// The packages `package` builds (normal dependencies, this workspace's lockfile).
fn dependencies(package: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inference_builds_no_synthetic_renderer_and_no_dataset_code() {
    for package in ["tinycats-runtime", "my-cats"] {
        let tree = dependencies(package);
        assert!(
            tree.contains("tinycats-data v"),
            "{package}: the decode is in tinycats-data\n{tree}"
        );
        for heavy in ["tiny-skia", "rayon", "csv v", "image_hasher", "rand_distr"] {
            assert!(
                !tree.contains(heavy),
                "{package} builds {heavy}: inference needs only tinycats-data's decode \
                 (depend on it with default-features = false)\n{tree}"
            );
        }
    }
    // And the trainer does build it: the check above can fail.
    assert!(dependencies("tinycats-pipelines").contains("tiny-skia"));
}
