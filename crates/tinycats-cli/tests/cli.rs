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
fn data_synth_draws_the_wild_shift_and_refuses_a_severity_beyond_one() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, wild) = (dir.path().join("clean.png"), dir.path().join("wild.png"));
    expect(&["data", "synth", "--contact-sheet", s(&clean)], 0);
    let args = [
        "data",
        "synth",
        "--contact-sheet",
        s(&wild),
        "--severity",
        "0.75",
    ];
    expect(&args, 0);
    assert_ne!(
        std::fs::read(&clean).unwrap(),
        std::fs::read(&wild).unwrap()
    );
    let too_far = dir.path().join("too_far.png");
    let args = [
        "data",
        "synth",
        "--contact-sheet",
        s(&too_far),
        "--severity",
        "1.5",
    ];
    let err = expect(&args, 1);
    assert!(err.contains("severity") && err.contains("1.5"), "{err}");
    assert!(!too_far.exists());
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
            "--out-dir",
            s(&dir.path().join("each")),
        ],
        0,
    );
    assert!(image::open(&png).is_ok());
    let one = image::open(dir.path().join("each/Siamese_00.png")).expect("Siamese_00.png");
    assert_eq!((one.width(), one.height()), (64, 64));
    // ONNX Runtime samples with the int8 graph unless told otherwise; int8 on libtorch is
    // refused with the way out.
    let bombay = |model: &str, extra: &[&str]| {
        let base = [
            "sample",
            "--model",
            model,
            "--breed",
            "Bombay",
            "--per-breed",
            "1",
            "--steps",
            "2",
            "--out",
            s(&png),
        ];
        expect(&[&base[..], extra].concat(), 0)
    };
    let out = bombay("assets", &[]);
    assert!(out.contains("ONNX Runtime, int8"), "{out}");
    let out = bombay("assets", &["--precision", "fp32"]);
    assert!(out.contains("ONNX Runtime, fp32"), "{out}");
    // A graph given by path is named by what it is, not by the default precision.
    let out = bombay("assets/generator/model.onnx", &[]);
    assert!(out.contains("ONNX Runtime, fp32"), "{out}");
    let err = expect(
        &[
            "sample",
            "--model",
            "assets/generator",
            "--backend",
            "tch",
            "--precision",
            "int8",
            "--out",
            s(&png),
        ],
        1,
    );
    assert!(
        err.contains("ONNX Runtime only") && err.contains("--precision fp32"),
        "{err}"
    );
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
fn a_wrong_path_or_model_is_refused_at_once_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // An output folder that is not there: named as given, before any sampling.
    let out = dir.path().join("nowhere/grid.png");
    let err = expect(&["sample", "--model", "assets", "--out", s(&out)], 1);
    let folder = dir.path().join("nowhere");
    assert!(
        err.contains(&format!(
            "--out {}: the output folder {} does not exist",
            out.display(),
            folder.display()
        )) && err.contains("pick another --out")
            && !err.contains("images in"),
        "{err}"
    );
    // A model folder that is not there: what a model folder holds, and the bundled one.
    let err = expect(&["sample", "--model", s(&folder)], 1);
    assert!(
        err.contains(&format!("there is no model folder {}", folder.display()))
            && err.contains("config.json + model.safetensors")
            && err.contains("model.onnx / model_int8.onnx")
            && err.contains("`--model assets`"),
        "{err}"
    );
    // Another kind of model: refused from its config.json, before any graph is exported.
    let err = expect(&["sample", "--model", "assets/classifier"], 1);
    assert!(
        err.contains("assets/classifier holds a classifier, not a generator")
            && err.contains("`tinycats classify --model assets/classifier")
            && err.contains("--model assets/generator")
            && !err.contains("export"),
        "{err}"
    );
    let photo = "assets/photos/chelsea.png";
    let err = expect(&["classify", "--model", "assets/generator", photo], 1);
    assert!(
        err.contains("assets/generator holds a generator, not a classifier")
            && err.contains("`tinycats sample --model assets/generator`")
            && err.contains("--model assets (the bundled classifier)"),
        "{err}"
    );
    let err = expect(&["eval", "generator", "--model", "assets/features"], 1);
    assert!(err.contains("holds the SynthCats feature network"), "{err}");
    // A classifier folder with its model.onnx is a classifier.
    let out = expect(&["classify", "--model", "assets/classifier", photo], 0);
    assert!(out.contains("chelsea.png:"), "{out}");
    // A typo of a breed gets a "did you mean", with the full list still there.
    let png = dir.path().join("cats.png");
    let breed = |name: &str| {
        let args = ["sample", "--model", "assets", "--out", s(&png)];
        expect(&[&args[..], &["--breed", name]].concat(), 1)
    };
    let err = breed("Siamse");
    assert!(
        err.contains("unknown breed `Siamse` (did you mean `Siamese`?)")
            && err.contains("0 Abyssinian")
            && err.contains("12 Other"),
        "{err}"
    );
    let err = breed("Unicorn");
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn a_folder_with_only_a_graph_samples_at_that_graphs_precision() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("assets/generator/model.onnx"),
        dir.path().join("model.onnx"),
    )
    .unwrap();
    let png = dir.path().join("cats.png");
    let args = [
        "sample",
        "--model",
        s(dir.path()),
        "--breed",
        "Bengal",
        "--per-breed",
        "1",
        "--steps",
        "2",
        "--out",
        s(&png),
    ];
    let out = expect(&[&args[..], &["--precision", "fp32"]].concat(), 0);
    assert!(out.contains("ONNX Runtime, fp32"), "{out}");
    let err = expect(&args, 1);
    assert!(
        err.contains("no model_int8.onnx and no config.json") && err.contains("--precision fp32"),
        "{err}"
    );
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
    let report = dir.path().join("classifier.json");
    let out = expect(
        &[
            "eval",
            "classifier",
            "--model",
            "assets",
            "--per-breed",
            "2",
            "--calibration-per-breed",
            "1",
            "--report",
            s(&report),
        ],
        0,
    );
    for part in [
        "test top-1",
        "top-3",
        "macro F1",
        "precision  recall",
        "ECE",
        "temperature",
    ] {
        assert!(out.contains(part), "no `{part}` in:\n{out}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["images"], 26);
    assert_eq!(json["confusion"].as_array().unwrap().len(), 13);
    assert_eq!(json["reliability"].as_array().unwrap().len(), 15);
    assert_eq!(json["temperature"]["validation_images"], 13);
    // Any other path is a folder with the JSON and the two figures.
    let folder = dir.path().join("classifier-report");
    let args = [
        "eval",
        "classifier",
        "--per-breed",
        "2",
        "--calibration-per-breed",
        "1",
        "--report",
        s(&folder),
    ];
    expect(&args, 0);
    for file in ["report.json", "confusion.png", "reliability.png"] {
        assert!(folder.join(file).is_file(), "no {file}");
    }
    let confusion = image::open(folder.join("confusion.png")).unwrap();
    assert!(confusion.width() > 13 * 34 && confusion.height() > 13 * 34);
    // The wild shift: the same command on harder renders, and a bad severity refused. One
    // calibration image per breed, as above: the default's 130 renders made each of these
    // commands take 7.6 s in a debug build instead of 0.6 s.
    let at = |severity: &str, code| {
        let args = [
            "eval",
            "classifier",
            "--model",
            "assets",
            "--per-breed",
            "1",
            "--calibration-per-breed",
            "1",
        ];
        expect(&[&args[..], &["--severity", severity]].concat(), code)
    };
    let out = at("1", 0);
    assert!(out.contains("wild severity 1"), "{out}");
    let err = at("2", 1);
    assert!(
        err.contains("severity = 2") && err.contains("between 0"),
        "{err}"
    );
    // The named hard split is the wild shift at 0.75, and it names one severity only.
    let wild = [
        "eval",
        "classifier",
        "--per-breed",
        "1",
        "--calibration-per-breed",
        "1",
        "--split",
        "wild",
    ];
    let out = expect(&wild, 0);
    assert!(out.contains("wild severity 0.75"), "{out}");
    let err = expect(&[&wild[..], &["--severity", "0.5"]].concat(), 2);
    assert!(err.contains("--severity"), "{err}");
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

#[test]
fn train_an_autoencoder_that_records_its_latent_scale() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ae.toml");
    std::fs::write(
        &config,
        "[model]\ninput_size = 16\nwidths = [8, 8, 8]\n[trainer]\nmax_steps = 3\n\
         warmup_steps = 1\neval_every = 3\neval_batches = 1\npreview_every = 3\n",
    )
    .unwrap();
    let runs = dir.path().to_str().unwrap();
    let args = [
        "train-autoencoder",
        "--data",
        "synth",
        "--synth-per-class",
        "2",
        "--batch-size",
        "4",
        "--config",
        s(&config),
        "--runs-dir",
        runs,
        "--name",
        "ae",
    ];
    let out = expect(&args, 0);
    assert!(
        out.contains("done after 3 steps") && out.contains("at 1/4"),
        "{out}"
    );
    let run = dir.path().join("ae");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    let latent_std = cfg["latent_std"].as_f64().unwrap();
    assert!(latent_std > 0.0 && latent_std.is_finite(), "{cfg}");
    // The preview: 4 validation images above their reconstructions, a grid twice as wide
    // as it is high.
    let preview = image::open(run.join("samples/step-00000003.png")).unwrap();
    let (w, h) = (preview.width(), preview.height());
    assert!((f64::from(w) / f64::from(h) - 2.0).abs() < 0.3, "{w} × {h}");
    let err = expect(&[&args[..5], &["--preset", "tiny"]].concat(), 1);
    assert!(err.contains("no presets"), "{err}");
    // Its reconstructions of held-out renders, measured: the 16-px model redraws 16-px
    // renders only, and says so for the 64-px ones the report uses.
    let sheet = dir.path().join("sheet.png");
    let eval = [
        "eval",
        "autoencoder",
        "--model",
        s(&run),
        "--images",
        "13",
        "--features",
        "none",
        "--sheet",
        s(&sheet),
    ];
    let err = expect(&eval, 1);
    assert!(err.contains("64×64") && err.contains("16×16"), "{err}");
}

#[test]
fn train_a_generator_and_judge_it_on_both_back_ends() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.toml");
    std::fs::write(
        &config,
        "[model]\ninput_size = 16\npatch_size = 4\nhidden_size = 32\ndepth = 1\nnum_heads = 2\n",
    )
    .unwrap();
    let runs = s(dir.path());
    let out = expect(
        &[
            "train-generator",
            "--data",
            "synth",
            "--synth-per-class",
            "2",
            "--config",
            s(&config),
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--device",
            "cpu",
            "--runs-dir",
            runs,
            "--name",
            "g",
        ],
        0,
    );
    assert!(out.contains("done after 2 steps"), "{out}");
    let run = dir.path().join("g");
    let judge = ["--per-breed", "1", "--steps", "2", "--classifier", "assets"];
    let eval = |extra: &[&str]| {
        expect(
            &[
                &["eval", "generator", "--model", s(&run)][..],
                extra,
                &judge,
            ]
            .concat(),
            0,
        )
    };
    // ONNX Runtime is the default; a run folder has no graph yet, so one is exported for
    // the run, and it judges the same samples as libtorch does.
    let ort = eval(&[]);
    assert!(
        ort.contains("ONNX Runtime") && ort.contains("exported one for this run"),
        "{ort}"
    );
    let tch = eval(&["--backend", "tch"]);
    assert!(tch.contains("libtorch"), "{tch}");
    let fidelity = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("breed fidelity"))
            .map(str::to_owned)
    };
    assert!(fidelity(&ort).is_some());
    assert_eq!(fidelity(&ort), fidelity(&tch), "{ort}\n{tch}");
    // The quality report follows, on the same samples, in the bundled feature network.
    for metric in [
        "Fréchet distance, generated vs real",
        "precision (k-NN)",
        "sharpness",
    ] {
        assert!(ort.contains(metric), "no `{metric}` in:\n{ort}");
    }
    let report = dir.path().join("quality.json");
    let also = dir.path().join("quality-also.json");
    let mem = eval(&[
        "--train-images",
        "1:26",
        "--bootstrap",
        "20",
        "--report",
        s(&report),
        "--also-features",
        "assets/features",
        "--also-report",
        s(&also),
    ]);
    assert!(mem.contains("nearest-training-image distance"), "{mem}");
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let json = read(&report);
    assert_eq!(json["images"], 13);
    assert_eq!(json["memorisation"]["train_images"], 52);
    // A second feature space measures the same samples: here the same network, so the
    // same report.
    assert!(
        mem.contains("in the second feature network, assets/features"),
        "{mem}"
    );
    assert_eq!(read(&also)["fd"], json["fd"]);
    // A wrong second network is refused before any sample is drawn.
    let err = expect(
        &[
            "eval",
            "generator",
            "--model",
            s(&run),
            "--also-features",
            s(&run),
        ],
        1,
    );
    assert!(
        err.contains("--also-features") && !err.contains("breed fidelity"),
        "{err}"
    );
    let plain = eval(&["--features", "none"]);
    assert!(!plain.contains("Fréchet"), "{plain}");
    // int8 from a run folder: quantized for the run, with the command that saves it.
    let int8 = eval(&["--features", "none", "--precision", "int8"]);
    assert!(
        int8.contains("ONNX Runtime, int8")
            && int8.contains("no model_int8.onnx")
            && int8.contains("--quantize int8-dynamic"),
        "{int8}"
    );
    let err = expect(
        &[
            "eval",
            "generator",
            "--model",
            s(&run),
            "--train-images",
            "1:many",
        ],
        2,
    );
    assert!(err.contains("`many`") && err.contains("SEED:N"), "{err}");
    // A graph exported into the folder from its current config is used as it is.
    expect(
        &[
            "export",
            "onnx",
            "--model",
            s(&run),
            "--out",
            s(&run.join("model.onnx")),
        ],
        0,
    );
    let out = eval(&[]);
    assert!(!out.contains("exported one"), "{out}");
    // A bad sampler value is refused before anything runs.
    let err = expect(
        &["eval", "generator", "--model", s(&run), "--steps", "0"],
        1,
    );
    assert!(err.contains("`steps` = 0"), "{err}");
    let err = expect(
        &[
            "eval",
            "generator",
            "--model",
            s(&run),
            "--guidance-interval",
            "0.8,0.2",
        ],
        2,
    );
    assert!(err.contains("0.8,0.2") && err.contains("FROM,TO"), "{err}");
    // Settings recorded in the folder's sampler.json fill the flags left out; a bad file is
    // named before anything runs.
    std::fs::write(
        run.join("sampler.json"),
        r#"{"options": {"steps": 3, "solver": "euler", "cfg_scale": 4.0, "guidance_interval": [0.3, 0.7]}, "chosen_by": "a test"}"#,
    )
    .unwrap();
    let out = expect(
        &["eval", "generator", "--model", s(&run), "--per-breed", "1"],
        0,
    );
    assert!(
        out.contains("3 steps euler, guidance 4 at t in [0.3, 0.7]")
            && out.contains("5 network evaluations"),
        "{out}"
    );
    std::fs::write(run.join("sampler.json"), r#"{"options": {"steps": -1}}"#).unwrap();
    let err = expect(&["eval", "generator", "--model", s(&run)], 1);
    assert!(
        err.contains("sampler.json") && err.contains(s(&run)),
        "{err}"
    );
    std::fs::remove_file(run.join("sampler.json")).unwrap();
    // Autoguidance needs ONNX Runtime, and a guide of the same classes.
    let err = expect(
        &[
            "eval",
            "generator",
            "--model",
            s(&run),
            "--backend",
            "tch",
            "--guide-model",
            s(&run),
        ],
        1,
    );
    assert!(
        err.contains("--guide-model") && err.contains("ONNX Runtime"),
        "{err}"
    );
}

#[test]
fn eval_quantization_writes_both_int8_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let out = expect(
        &[
            "eval",
            "quantization",
            "--repo",
            "assets",
            "--out-dir",
            s(dir.path()),
            "--test-per-breed",
            "1",
            "--samples-per-breed",
            "1",
            "--steps",
            "2",
            "--reps",
            "1",
        ],
        0,
    );
    assert!(
        out.contains("| int8 weight-only |") && out.contains("| int8 dynamic |"),
        "{out}"
    );
    assert!(dir.path().join("generator-int8-dynamic.onnx").exists());
    let err = expect(&["eval", "quantization", "--repo", s(dir.path())], 1);
    assert!(err.contains("classifier/model.onnx"), "{err}");
}

#[test]
fn data_oxford_splits_the_official_layout_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let pets = dir.path().join("pets");
    let fixture = root().join("crates/tinycats-data/tests/fixtures/oxford-mini/annotations");
    std::fs::create_dir_all(pets.join("annotations")).unwrap();
    std::fs::create_dir_all(pets.join("images")).unwrap();
    for f in ["list.txt", "trainval.txt", "test.txt"] {
        std::fs::copy(fixture.join(f), pets.join("annotations").join(f)).unwrap();
    }
    let list = std::fs::read_to_string(fixture.join("list.txt")).unwrap();
    for (i, line) in list.lines().filter(|l| !l.starts_with('#')).enumerate() {
        let name = line.split_whitespace().next().unwrap();
        image::RgbImage::from_pixel(48, 40, image::Rgb([(i * 4) as u8, 90, 140]))
            .save(pets.join("images").join(format!("{name}.jpg")))
            .unwrap();
    }
    let out_dir = dir.path().join("split");
    let out = expect(&["data", "oxford", s(&pets), "--out", s(&out_dir)], 0);
    // Two trainval images per class here: both train, none left for val.
    assert!(out.contains("class") && out.contains("Abyssinian"), "{out}");
    for split in ["train", "test"] {
        assert!(out_dir.join(split).is_dir(), "no {split}/ after:\n{out}");
    }
    let err = expect(&["data", "oxford", s(dir.path()), "--out", s(&out_dir)], 1);
    assert!(err.contains("annotations"), "{err}");
}

#[test]
fn train_features_saves_a_loadable_network() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("features");
    let text = expect(
        &[
            "train-features",
            "--out",
            s(&out),
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--device",
            "cpu",
        ],
        0,
    );
    assert!(
        text.contains("held out (1300 SynthCats test images)"),
        "{text}"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model_type"], "synthcats-features");
    assert_eq!(cfg["provenance"]["steps"], 2);
    assert!(out.join("model.safetensors").is_file());
    let err = expect(&["train-features", "--out", s(&out), "--steps", "0"], 1);
    assert!(err.contains("`--steps` = 0"), "{err}");
}

/// A model folder from someone else whose class names are paths: `sample --out-dir` names a
/// PNG after each class, so both back-ends refuse the folder before drawing, naming the
/// file and the name, and nothing is written anywhere.
#[test]
fn class_names_that_are_paths_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("a/b/gen");
    std::fs::create_dir_all(&model).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/generator");
    std::fs::copy(
        bundled.join("model.safetensors"),
        model.join("model.safetensors"),
    )
    .unwrap();
    let config = std::fs::read_to_string(bundled.join("config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
    for (bad, says) in [
        ("../../escaped", "class_names[1]"),
        ("/tmp/tinycats-absolute", "class_names[1]"),
        ("abyssinian", "the same ignoring case"),
    ] {
        config["class_names"][1] = bad.into();
        std::fs::write(model.join("config.json"), config.to_string()).unwrap();
        let out_dir = model.join("out");
        for backend in ["tch", "ort"] {
            let err = expect(
                &[
                    "sample",
                    "--model",
                    s(&model),
                    "--backend",
                    backend,
                    "--out-dir",
                    s(&out_dir),
                    "--out",
                    s(&model.join("grid.png")),
                    "--per-breed",
                    "1",
                    "--steps",
                    "1",
                ],
                1,
            );
            assert!(
                err.contains(s(&model.join("config.json")))
                    && err.contains(says)
                    && err.contains(&format!("{bad:?}")),
                "{backend} {bad:?}: {err}"
            );
            assert!(!out_dir.exists() && !model.join("grid.png").exists());
        }
    }
    let mut written: Vec<_> = walk(dir.path());
    written.sort();
    assert_eq!(
        written,
        vec![model.join("config.json"), model.join("model.safetensors")],
        "only the model folder's own files"
    );
    assert!(!std::path::Path::new("/tmp/tinycats-absolute_00.png").exists());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
