//! The exporter's graphs on ONNX Runtime, with random-weight models: contract checks,
//! errors, batching, guidance batching, sampling and classification plumbing.
//! (Numerical parity with the tch models is `tests/onnx_parity.rs` at the repo root.)

use std::path::{Path, PathBuf};

use anyhow::Result;
use image::{DynamicImage, RgbImage};
use ndarray::{Array4, s};
use tinycats_onnx::{Prediction as Target, fixtures};
use tinycats_runtime::{
    Breed, Classifier, GenerateOptions, Generator, RuntimeError, SampleOptions, SessionOptions,
    Solver,
};

/// Portable seeded noise ([`tinycats_core::noise`]) of any shape.
fn gaussian_noise(seed: u64, shape: (usize, usize, usize, usize)) -> Array4<f32> {
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let mut v = vec![0.0f32; n];
    tinycats_core::noise::fill(seed, 0, &mut v);
    Array4::from_shape_vec(shape, v).expect("length matches")
}

fn export_dit(dir: &Path, target: Target) -> Result<PathBuf> {
    let model = dir.join("dit");
    fixtures::write_random_dit(&model, &fixtures::small_dit_config(target), 7)?;
    let out = dir.join("dit.onnx");
    tinycats_onnx::export(&model, &out, None)?;
    Ok(out)
}

fn export_classifier(dir: &Path) -> Result<PathBuf> {
    let model = dir.join("clf");
    fixtures::write_random_classifier(&model, &fixtures::small_classifier_config(), 3)?;
    let out = dir.join("clf.onnx");
    tinycats_onnx::export(&model, &out, None)?;
    Ok(out)
}

fn max_abs(a: &Array4<f32>, b: &Array4<f32>) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn generator_rows_are_independent_of_batching() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for target in [Target::V, Target::X] {
        let mut g = Generator::load(export_dit(dir.path(), target)?)?;
        assert_eq!(g.image_size(), 16);
        assert_eq!(g.null_class(), 13);
        let x = gaussian_noise(1, (3, 3, 16, 16));
        let (t, y) = ([0.1f32, 0.5, 0.9], [0i64, 7, 13]);
        let v = g.velocity(x.view(), &t, &y)?;
        assert_eq!(v.shape(), &[3, 3, 16, 16]);
        assert!(v.iter().all(|v| v.is_finite()));
        for i in 0..3 {
            let xi = x.slice(s![i..i + 1, .., .., ..]);
            let vi = g.velocity(xi, &t[i..i + 1], &y[i..i + 1])?;
            let d = max_abs(&vi, &v.slice(s![i..i + 1, .., .., ..]).to_owned());
            assert!(
                d < 1e-5,
                "{target:?} row {i}: batch-1 vs batch-3 max-abs {d}"
            );
        }
        // Breed and time both reach the output.
        let v2 = g.velocity(x.view(), &t, &[1, 7, 13])?;
        assert!(max_abs(&v, &v2) > 1e-4, "breed has no effect");
    }
    Ok(())
}

#[test]
fn guidance_batches_cond_and_uncond_rows_and_mixes_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut g = Generator::load(export_dit(dir.path(), Target::V)?)?;
    let x = g.noise(2, 2);
    let vc = g.velocity(x.view(), &[0.3; 2], &[4; 2])?;
    let vu = g.velocity(x.view(), &[0.3; 2], &[13; 2])?;
    let guided = g.guided_velocity(x.view(), 0.3, 4, 2.5)?;
    let want = &vu + &((&vc - &vu) * 2.5);
    assert!(max_abs(&guided, &want) < 1e-4);
    // Scale 1 is the plain conditional velocity.
    assert!(max_abs(&g.guided_velocity(x.view(), 0.3, 4, 1.0)?, &vc) < 1e-6);
    Ok(())
}

/// Autoguidance extrapolates from the guide's conditional velocity: guided by itself, the
/// model's guided velocity is its conditional one (`v_c + s·(v_c − v_c)`), so the samples
/// are those of guidance 1; a guide of other classes is refused, naming both.
#[test]
fn a_model_guided_by_itself_samples_as_without_guidance() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let onnx = export_dit(dir.path(), Target::X)?;
    let mut g = Generator::load(&onnx)?;
    let guided = SampleOptions {
        steps: 3,
        cfg_scale: 3.0,
        ..SampleOptions::DEFAULT
    };
    let unguided = SampleOptions {
        cfg_scale: 1.0,
        ..guided
    };
    let cfg = g.sample(g.noise(2, 2), 1, &guided, |_| {})?;
    let plain = g.sample(g.noise(2, 2), 1, &unguided, |_| {})?;
    g.set_guide(Some(Generator::load(&onnx)?))?;
    assert!(g.has_guide());
    let auto = g.sample(g.noise(2, 2), 1, &guided, |_| {})?;
    assert!(max_abs(&auto, &plain) < 1e-5, "{}", max_abs(&auto, &plain));
    assert!(
        max_abs(&auto, &cfg) > 1e-3,
        "autoguidance is not classifier-free guidance"
    );
    g.set_guide(None)?;
    assert!(max_abs(&g.sample(g.noise(2, 2), 1, &guided, |_| {})?, &cfg) == 0.0);

    let other = dir.path().join("other");
    let mut cfg = fixtures::small_dit_config(Target::X);
    cfg.class_names[0] = "NOT_A_BREED".into();
    fixtures::write_random_dit(&other, &cfg, 7)?;
    tinycats_onnx::export(&other, &dir.path().join("other.onnx"), None)?;
    let err = g
        .set_guide(Some(Generator::load(dir.path().join("other.onnx"))?))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("NOT_A_BREED") && err.contains("same classes"),
        "{err}"
    );
    Ok(())
}

#[test]
fn generate_is_seeded_calls_back_each_step_and_names_unknown_breeds() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut g = Generator::load_with(
        export_dit(dir.path(), Target::X)?,
        SessionOptions {
            intra_threads: 1,
            ..Default::default()
        },
    )?;
    for solver in [Solver::Euler, Solver::Heun] {
        let opts = GenerateOptions {
            breed: Breed::Name("BREED_3".into()),
            sampling: SampleOptions {
                steps: 4,
                cfg_scale: 3.0,
                solver,
                ..SampleOptions::DEFAULT
            },
            seed: 11,
            batch: 2,
        };
        let mut seen = Vec::new();
        let a = g.generate(&opts, |s| {
            seen.push((s.index, s.total, s.t, s.preview().0.shape()[0]))
        })?;
        assert_eq!(
            seen,
            vec![
                (1, 4, 0.25, 2),
                (2, 4, 0.5, 2),
                (3, 4, 0.75, 2),
                (4, 4, 1.0, 2)
            ]
        );
        let b = g.generate(&opts, |_| {})?;
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].dimensions(), (16, 16));
        assert_eq!(a, b, "same seed, same images");
    }
    let err = g
        .generate(
            &GenerateOptions {
                breed: Breed::Name("sphynx".into()),
                ..Default::default()
            },
            |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownBreed { .. }));
    assert!(err.to_string().contains("breed_0"), "{err}");
    Ok(())
}

#[test]
fn classifier_ranks_breeds_from_metadata_sized_input() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut c = Classifier::load(export_classifier(dir.path())?)?;
    assert_eq!(c.preprocess().size, 16);
    assert_eq!(c.preprocess().norm.mean, [0.485, 0.456, 0.406]);
    assert_eq!(c.class_names().len(), 13);
    // Non-square, larger than the model: resized and centre-cropped.
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 8) as u8, 90])
    }));
    let other = DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30])));
    let top = c.classify(&img, 5)?;
    assert_eq!(top.len(), 5);
    assert!(top.windows(2).all(|w| w[0].probability >= w[1].probability));
    let all: f32 = c.classify(&img, 13)?.iter().map(|p| p.probability).sum();
    assert!((all - 1.0).abs() < 1e-4);
    let batch = c.classify_batch(&[img.clone(), other.clone()], 3)?;
    assert_eq!(batch[0], top[..3].to_vec());
    assert_eq!(batch[1], c.classify(&other, 3)?);
    Ok(())
}

#[test]
fn wrong_files_are_errors_not_panics() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clf = export_classifier(dir.path())?;
    // A classifier graph loaded as a generator: the error lists what was found.
    let msg = Generator::load(&clf).unwrap_err().to_string();
    assert!(msg.contains("generator contract"), "{msg}");
    assert!(msg.contains("input: float[batch,3,16,16]"), "{msg}");
    assert!(msg.contains("output: float[batch,13]"), "{msg}");

    let missing = Classifier::load(dir.path().join("nope.onnx")).unwrap_err();
    assert!(
        matches!(missing, RuntimeError::MissingFile { .. }),
        "{missing}"
    );

    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"\xff\xff\xff\xff not protobuf")?;
    let err = Classifier::load(&junk).unwrap_err();
    assert!(matches!(err, RuntimeError::NotOnnx { .. }), "{err}");
    Ok(())
}

/// Class names become file names (`tinycats sample --out-dir`): a graph whose metadata
/// names a class `../../escaped`, or two classes the same, is refused when it is loaded, the
/// error naming the file, the key and the name.
#[test]
fn graphs_whose_class_names_are_paths_are_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for (graph, model) in [
        (export_dit(dir.path(), Target::X)?, "generator"),
        (export_classifier(dir.path())?, "classifier"),
    ] {
        for (bad, says) in [
            ("../../escaped", "class_names[1]"),
            ("BREED_0", "the same ignoring case"),
        ] {
            let mut proto = tinycats_onnx::read_model(&graph)?;
            let entry = proto
                .metadata_props
                .iter_mut()
                .find(|p| p.key.as_deref() == Some(tinycats_onnx::metadata::CLASS_NAMES))
                .expect("class names in the metadata");
            let mut names: Vec<String> =
                serde_json::from_str(entry.value.as_deref().unwrap_or("[]"))?;
            names[1] = bad.into();
            entry.value = Some(serde_json::to_string(&names)?);
            let crafted = dir.path().join(format!("crafted-{model}.onnx"));
            tinycats_onnx::write_model(&proto, &crafted)?;
            let err = match model {
                "generator" => Generator::load(&crafted).unwrap_err(),
                _ => Classifier::load(&crafted).unwrap_err(),
            }
            .to_string();
            assert!(
                err.contains(&crafted.display().to_string())
                    && err.contains("class_names")
                    && err.contains(says)
                    && err.contains(&format!("{bad:?}")),
                "{model} {bad:?}: {err}"
            );
        }
    }
    Ok(())
}

#[test]
fn int8_graphs_load_run_and_stay_close_to_fp32() -> Result<()> {
    use tinycats_onnx::Scheme;
    let dir = tempfile::tempdir()?;
    let model = dir.path().join("dit");
    fixtures::write_random_dit(&model, &fixtures::small_dit_config(Target::V), 7)?;
    let clf = dir.path().join("clf");
    fixtures::write_random_classifier(&clf, &fixtures::small_classifier_config(), 3)?;
    let fp32 = dir.path().join("fp32.onnx");
    tinycats_onnx::export(&model, &fp32, None)?;
    let mut g32 = Generator::load(&fp32)?;
    let x = gaussian_noise(1, (3, 3, 16, 16));
    let (t, y) = ([0.2f32, 0.5, 0.8], [0i64, 5, 13]);
    let v32 = g32.velocity(x.view(), &t, &y)?;
    let scale = v32.iter().map(|v| v.abs()).fold(0.0, f32::max);
    for scheme in [Scheme::WeightOnly, Scheme::Dynamic] {
        let out = dir.path().join(format!("{scheme:?}.onnx"));
        let summary = tinycats_onnx::export(&model, &out, Some(scheme))?;
        assert!(
            summary.bytes * 2 < std::fs::metadata(&fp32)?.len(),
            "{summary}"
        );
        let mut g8 = Generator::load(&out)?;
        assert_eq!(
            g8.metadata().get(tinycats_onnx::metadata::QUANTIZATION),
            Some(scheme.to_string().as_str())
        );
        let v8 = g8.velocity(x.view(), &t, &y)?;
        let d = max_abs(&v8, &v32);
        println!("{scheme:?}: velocity max-abs {d} (output scale {scale})");
        // Measured on this random model: weight-only 0.7 % of the output scale, dynamic
        // (per-tensor uint8 activations) ~29 %; the bounds catch breakage, not quality.
        let bound = match scheme {
            Scheme::WeightOnly => 0.02,
            Scheme::Dynamic => 0.5,
        };
        assert!(
            d < bound * scale,
            "{scheme:?}: max-abs {d} vs output scale {scale}"
        );

        let c_out = dir.path().join(format!("clf-{scheme:?}.onnx"));
        tinycats_onnx::export(&clf, &c_out, Some(scheme))?;
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 16, image::Rgb([90, 20, 200])));
        assert_eq!(Classifier::load(&c_out)?.classify(&img, 3)?.len(), 3);
    }
    Ok(())
}

/// A graph that is missing beside the weights it is exported from: the error says how to
/// export it (the bundled models' graphs are made by `cargo xtask setup`, not committed).
#[test]
fn a_graph_not_yet_exported_names_the_export() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("model.safetensors"), b"weights")?;
    let path = dir.path().join("model.onnx");
    let err = Generator::load(&path).unwrap_err();
    assert!(
        matches!(err, RuntimeError::GraphNotExported { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("cargo xtask setup"), "{msg}");
    assert!(
        msg.contains(&format!(
            "tinycats export onnx --model {}",
            dir.path().display()
        )),
        "{msg}"
    );
    Ok(())
}
