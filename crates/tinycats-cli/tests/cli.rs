//! The `tinycats` binary as a user runs it: a happy path and a bad input per subcommand, with
//! the documented exit codes (0 done, 1 error, 2 usage, 3 problems found by `data check`).
//! Small inputs only: SynthCats at 32 px, the bundled models, a couple of steps.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tinycats(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinycats"))
        .args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the tinycats binary starts")
}

/// Runs, checks the exit code, and returns stdout + stderr.
fn expect(args: &[&str], code: i32) -> String {
    let out = tinycats(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "tinycats {}:\n{text}",
        args.join(" ")
    );
    text
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn usage_errors_exit_with_2() {
    expect(&["frobnicate"], 2);
    expect(&["sample"], 2); // --model is required
    expect(
        &[
            "train-generator",
            "--data",
            "synth",
            "--resume",
            "--overwrite",
        ],
        2,
    );
}

#[test]
fn data_synth_check_clean_split() {
    let dir = tempfile::tempdir().unwrap();
    let synth = dir.path().join("synth");
    expect(
        &[
            "data",
            "synth",
            "--out",
            s(&synth),
            "--per-class",
            "3",
            "--size",
            "32",
        ],
        0,
    );
    assert!(synth.join("Bengal").is_dir());
    // A text file posing as a photo is a problem: exit 3, named in the report.
    std::fs::write(synth.join("Bengal/notes.jpg"), b"not a photo").unwrap();
    let report = expect(&["data", "check", s(&synth)], 3);
    assert!(
        report.contains("notes.jpg") && report.contains("data clean"),
        "{report}"
    );
    let clean = dir.path().join("clean");
    expect(&["data", "clean", s(&synth), "--out", s(&clean)], 0);
    expect(&["data", "check", s(&clean)], 0);
    let split = dir.path().join("split");
    expect(
        &[
            "data",
            "split",
            s(&clean),
            "--out",
            s(&split),
            "--val",
            "0.34",
            "--test",
            "0.34",
        ],
        0,
    );
    assert!(split.join("train").is_dir() && split.join("val").is_dir());
    // Bad input: a folder that does not exist is an error naming it.
    let missing = dir.path().join("nowhere");
    let err = expect(&["data", "check", s(&missing)], 1);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn classify_a_photo_and_refuse_a_text_file() {
    let out = expect(&["classify", "assets/photos/chelsea.png"], 0);
    assert!(out.contains("chelsea.png:") && out.contains('%'), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.png");
    std::fs::write(&notes, b"these are notes").unwrap();
    let err = expect(&["classify", s(&notes)], 1);
    assert!(
        err.contains("notes.png") && err.contains("not an image"),
        "{err}"
    );
}

#[test]
fn sample_a_breed_and_refuse_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("cats.png");
    expect(
        &[
            "sample",
            "--model",
            "assets/generator",
            "--breed",
            "Siamese",
            "--per-breed",
            "1",
            "--steps",
            "2",
            "--device",
            "cpu",
            "--out",
            s(&png),
        ],
        0,
    );
    assert!(image::open(&png).is_ok());
    let err = expect(
        &[
            "sample",
            "--model",
            "assets/generator",
            "--breed",
            "Unicorn",
        ],
        1,
    );
    assert!(err.contains("Unicorn") && err.contains("Siamese"), "{err}");
}

#[test]
fn export_and_eval_the_bundled_models() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("gen.onnx");
    expect(
        &[
            "export",
            "onnx",
            "--model",
            "assets/generator",
            "--out",
            s(&onnx),
        ],
        0,
    );
    assert!(std::fs::metadata(&onnx).unwrap().len() > 1_000_000);
    let err = expect(
        &[
            "export",
            "onnx",
            "--model",
            s(dir.path()),
            "--out",
            s(&onnx),
        ],
        1,
    );
    assert!(err.contains("config.json"), "{err}");
    let out = expect(
        &[
            "eval",
            "classifier",
            "--model",
            "assets",
            "--per-breed",
            "1",
        ],
        0,
    );
    assert!(out.contains('%'), "{out}");
}

#[test]
fn train_a_classifier_and_refuse_a_second_run_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().to_str().unwrap();
    let args = [
        "train-classifier",
        "--data",
        "synth",
        "--synth-per-class",
        "2",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--device",
        "cpu",
        "--runs-dir",
        runs,
        "--name",
        "c",
    ];
    let out = expect(&args, 0);
    assert!(out.contains("done after 2 steps"), "{out}");
    assert!(dir.path().join("c/run.json").exists());
    let err = expect(&args, 1);
    assert!(
        err.contains("already holds a run") && err.contains("--resume"),
        "{err}"
    );
}
