//! Crafted model files: each is built here from an
//! exported graph or by hand, then loaded and run; each must give an error that names the
//! file and the bad value, never a panic or an abort.

use std::path::{Path, PathBuf};

use anyhow::Result;
use image::{DynamicImage, RgbImage};
use tinycats_onnx::graph::{Dim, GraphBuilder, attr_i, attr_ints};
use tinycats_onnx::metadata as keys;
use tinycats_onnx::proto::attribute_proto::AttributeType;
use tinycats_onnx::proto::tensor_proto::{DataLocation, DataType};
use tinycats_onnx::proto::{
    AttributeProto, ModelProto, NodeProto, StringStringEntryProto, tensor_shape_proto::dimension,
    type_proto,
};
use tinycats_onnx::{Prediction, fixtures};
use tinycats_runtime::{
    Classifier, GenerateOptions, Generator, RuntimeError, SampleOptions, ndarray::Array4,
};

fn export_dit(dir: &Path) -> Result<PathBuf> {
    let model = dir.join("dit");
    let cfg = fixtures::small_dit_config(Prediction::V);
    fixtures::write_random_dit(&model, &cfg, 7)?;
    let out = dir.join("dit.onnx");
    tinycats_onnx::export(&model, &out, None)?;
    Ok(out)
}

fn export_classifier(dir: &Path) -> Result<PathBuf> {
    let model = dir.join("clf");
    let cfg = fixtures::small_classifier_config();
    fixtures::write_random_classifier(&model, &cfg, 3)?;
    let out = dir.join("clf.onnx");
    tinycats_onnx::export(&model, &out, None)?;
    Ok(out)
}

/// A copy of the graph `from`, edited, written next to it as `name`.
fn craft(from: &Path, name: &str, edit: impl FnOnce(&mut ModelProto)) -> Result<PathBuf> {
    let mut proto = tinycats_onnx::read_model(from)?;
    edit(&mut proto);
    let out = from.with_file_name(name);
    tinycats_onnx::write_model(&proto, &out)?;
    Ok(out)
}

fn set_metadata(proto: &mut ModelProto, key: &str, value: &str) {
    let entry = proto
        .metadata_props
        .iter_mut()
        .find(|p| p.key.as_deref() == Some(key))
        .expect("the exporter writes the key");
    entry.value = Some(value.into());
}

/// Sets dimension `axis` of graph input or output `name`: `Some(n)` fixed, `None` dynamic.
fn set_dim(proto: &mut ModelProto, name: &str, axis: usize, to: Option<i64>) {
    let graph = proto.graph.as_mut().expect("a graph");
    let value = graph
        .input
        .iter_mut()
        .chain(&mut graph.output)
        .find(|v| v.name.as_deref() == Some(name))
        .expect("the graph has it");
    let Some(type_proto::Value::TensorType(t)) = value.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("{name} is a tensor");
    };
    t.shape.as_mut().unwrap().dim[axis].value = Some(match to {
        Some(n) => dimension::Value::DimValue(n),
        None => dimension::Value::DimParam(format!("{name}_{axis}")),
    });
}

/// A hand-built graph with the metadata of the exported graph `like`, written next to it.
fn hand_built(like: &Path, name: &str, graph: GraphBuilder) -> Result<PathBuf> {
    let metadata = tinycats_onnx::read_model(like)?
        .metadata_props
        .into_iter()
        .filter_map(|p| Some((p.key?, p.value?)))
        .collect();
    let out = like.with_file_name(name);
    tinycats_onnx::write_model(&graph.finish(metadata, name), &out)?;
    Ok(out)
}

/// The error's message, checked to name the file and each of `needles`.
fn says(err: &RuntimeError, file: &Path, needles: &[&str]) -> String {
    let msg = err.to_string();
    let file = file.display().to_string();
    for needle in std::iter::once(file.as_str()).chain(needles.iter().copied()) {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    msg
}

fn picture() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(20, 16, |x, y| {
        image::Rgb([(x * 12) as u8, (y * 15) as u8, 70])
    }))
}

/// Case 1: the null class is the label one past the last class; any other value would
/// send labels past the graph's embedding table, or take a breed for "no breed".
#[test]
fn a_null_class_other_than_the_class_count_is_refused_at_load() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dit = export_dit(dir.path())?;
    for bad in ["5", "99", "-1"] {
        let crafted = craft(&dit, &format!("null-{bad}.onnx"), |p| {
            set_metadata(p, keys::NULL_CLASS, bad)
        })?;
        let err = Generator::load(&crafted).unwrap_err();
        assert!(
            matches!(err, RuntimeError::Metadata { key, .. } if key == keys::NULL_CLASS),
            "{err}"
        );
        says(
            &err,
            &crafted,
            &["null_class", &format!("is {bad}"), "expected 13"],
        );
    }
    Ok(())
}

/// Case 2: guidance sends the conditional and unconditional rows in one call, so a graph
/// whose batch is fixed (here to 1) is refused when loaded, not when sampling.
#[test]
fn a_fixed_batch_dimension_is_refused_at_load() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dit = export_dit(dir.path())?;
    for io in ["noise", "timestep", "breed", "velocity"] {
        let crafted = craft(&dit, &format!("batch1-{io}.onnx"), |p| {
            set_dim(p, io, 0, Some(1))
        })?;
        let err = Generator::load(&crafted).unwrap_err();
        assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
        says(
            &err,
            &crafted,
            &[
                &format!("dimension 0 of `{io}`"),
                "fixed to 1",
                "dynamic batch",
                "tinycats export onnx",
            ],
        );
    }
    let clf = export_classifier(dir.path())?;
    let crafted = craft(&clf, "clf-batch1.onnx", |p| set_dim(p, "input", 0, Some(1)))?;
    let err = Classifier::load(&crafted).unwrap_err();
    assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
    says(&err, &crafted, &["dimension 0 of `input`", "fixed to 1"]);
    Ok(())
}

/// Case 3: a velocity of another spatial shape than the image — declared in the file
/// (refused at load) or only produced at run time (an error when sampling).
#[test]
fn a_velocity_of_another_shape_than_the_image_is_an_error() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dit = export_dit(dir.path())?;
    let crafted = craft(&dit, "velocity-8px.onnx", |p| {
        set_dim(p, "velocity", 2, Some(8));
        set_dim(p, "velocity", 3, Some(8));
    })?;
    let err = Generator::load(&crafted).unwrap_err();
    assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
    says(
        &err,
        &crafted,
        &[
            "dimension 2 of `velocity`",
            "is 8",
            "expected 16",
            "image_size",
        ],
    );

    // Every dimension dynamic, and the graph halves the image: noise (B, 3, 16, 16) →
    // velocity (B, 3, 8, 8).
    let mut b = GraphBuilder::new("halving");
    let image = [
        Dim::Named("batch"),
        Dim::Fixed(3),
        Dim::Named("h"),
        Dim::Named("w"),
    ];
    let noise = b.input("noise", DataType::Float, &image);
    b.input("timestep", DataType::Float, &[Dim::Named("batch")]);
    b.input("breed", DataType::Int64, &[Dim::Named("batch")]);
    let attrs = vec![
        attr_ints("kernel_shape", &[2, 2]),
        attr_ints("strides", &[2, 2]),
    ];
    b.op("MaxPool", &[&noise], attrs); // (B, 3, 8, 8)
    b.rename_last_output("velocity");
    let out = [
        Dim::Named("batch"),
        Dim::Fixed(3),
        Dim::Named("h2"),
        Dim::Named("w2"),
    ];
    b.output("velocity", DataType::Float, &out);
    let halving = hand_built(&dit, "halving.onnx", b)?;

    let mut g = Generator::load(&halving)?;
    let x = g.noise(0, 2);
    let err = g.velocity(x.view(), &[0.5; 2], &[1; 2]).unwrap_err();
    assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
    says(
        &err,
        &halving,
        &["velocity", "[2, 3, 8, 8]", "[2, 3, 16, 16]"],
    );
    let sampling = SampleOptions {
        steps: 2,
        ..SampleOptions::DEFAULT
    };
    let options = GenerateOptions {
        sampling,
        batch: 2,
        ..Default::default()
    };
    let err = g.generate(&options, |_| {}).unwrap_err();
    assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
    says(&err, &halving, &["velocity", "3, 8, 8]", "3, 16, 16]"]);
    Ok(())
}

/// Case 4: a classifier whose logits have no rows (or no columns) for the images it was
/// given: an error from `classify`, `classify_batch` and `top1_accuracy`.
#[test]
fn a_classifier_output_without_rows_or_columns_is_an_error() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clf = export_classifier(dir.path())?;
    for (name, ends, found) in [
        ("no-rows.onnx", [0, 13], "[0, 13]"),
        ("no-columns.onnx", [i64::MAX, 0], "[1, 0]"),
    ] {
        let mut b = GraphBuilder::new("empty");
        let image = [
            Dim::Named("batch"),
            Dim::Fixed(3),
            Dim::Fixed(16),
            Dim::Fixed(16),
        ];
        let input = b.input("input", DataType::Float, &image);
        let flat = b.op("Flatten", &[&input], vec![attr_i("axis", 1)]); // (B, 768)
        let (starts, ends, axes) = (b.ints(&[0, 0]), b.ints(&ends), b.ints(&[0, 1]));
        b.op("Slice", &[&flat, &starts, &ends, &axes], vec![]); // (0, 13) or (B, 0)
        b.rename_last_output("output");
        b.output(
            "output",
            DataType::Float,
            &[Dim::Named("batch"), Dim::Named("k")],
        );
        let crafted = hand_built(&clf, name, b)?;

        let mut c = Classifier::load(&crafted)?;
        let err = c.classify(&picture(), 3).unwrap_err();
        assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
        says(
            &err,
            &crafted,
            &["`output`", found, "[1, 13]", "one row per image"],
        );
        let err = c.classify_batch(&[picture(), picture()], 3).unwrap_err();
        says(&err, &crafted, &["[2, 13]"]);
        let err = c.top1_accuracy(&[picture()], &[0], 8).unwrap_err();
        says(&err, &crafted, &[found]);
    }
    Ok(())
}

/// Case 5: the metadata's sizes are bounded and must equal the graph's fixed dimensions,
/// checked at load, before any buffer is sized from them (a 200 000 px `image_size` used to
/// abort the process on a ~480 GB allocation).
#[test]
fn metadata_sizes_are_bounded_and_must_match_the_graph() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dit = export_dit(dir.path())?;
    let clf = export_classifier(dir.path())?;
    let load = |generator: bool, path: &Path| -> RuntimeError {
        if generator {
            Generator::load(path).unwrap_err()
        } else {
            Classifier::load(path).unwrap_err()
        }
    };
    for (graph, generator, input) in [(&dit, true, "noise"), (&clf, false, "input")] {
        let stem = graph.file_stem().unwrap().to_string_lossy().to_string();
        let load_crafted = |from: &Path, name: &str, key: &str, value: &str| -> Result<_> {
            let crafted = craft(from, &format!("{stem}-{name}"), |p| {
                set_metadata(p, key, value)
            })?;
            let err = load(generator, &crafted);
            Ok((crafted, err))
        };

        // Too large, even where the graph's spatial dimensions are dynamic.
        let dynamic = craft(graph, &format!("{stem}-dynamic.onnx"), |p| {
            for axis in [2, 3] {
                set_dim(p, input, axis, None);
            }
        })?;
        for from in [graph, &dynamic] {
            let (crafted, err) = load_crafted(from, "huge.onnx", keys::IMAGE_SIZE, "200000")?;
            assert!(matches!(err, RuntimeError::Metadata { .. }), "{err}");
            says(
                &err,
                &crafted,
                &["image_size", "is 200000", "1 to 1024", "480.0 GB"],
            );
        }
        let (crafted, err) = load_crafted(graph, "zero.onnx", keys::IMAGE_SIZE, "0")?;
        says(&err, &crafted, &["image_size", "is 0", "1 to 1024"]);

        // In range, but not the graph's size.
        let (crafted, err) = load_crafted(graph, "32px.onnx", keys::IMAGE_SIZE, "32")?;
        assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
        says(
            &err,
            &crafted,
            &[&format!("dimension 2 of `{input}`"), "is 16", "expected 32"],
        );

        let (crafted, err) = load_crafted(graph, "1ch.onnx", keys::IN_CHANNELS, "1")?;
        assert!(matches!(err, RuntimeError::Metadata { .. }), "{err}");
        says(&err, &crafted, &["in_channels", "is 1", "expected 3"]);

        let (crafted, err) = load_crafted(graph, "12cls.onnx", keys::NUM_CLASSES, "12")?;
        assert!(matches!(err, RuntimeError::Metadata { .. }), "{err}");
        says(&err, &crafted, &["num_classes", "is 12", "expected 13"]);

        let (crafted, err) = load_crafted(graph, "no-cls.onnx", keys::CLASS_NAMES, "[]")?;
        says(
            &err,
            &crafted,
            &["class_names", "holds 0 names", "1 to 10000"],
        );
    }

    // The classifier's fixed class dimension against its class names.
    let crafted = craft(&clf, "12-logits.onnx", |p| {
        set_dim(p, "output", 1, Some(12))
    })?;
    let err = Classifier::load(&crafted).unwrap_err();
    assert!(matches!(err, RuntimeError::Mismatch { .. }), "{err}");
    says(
        &err,
        &crafted,
        &[
            "dimension 1 of `output`",
            "is 12",
            "expected 13",
            "class_names",
        ],
    );
    Ok(())
}

/// A tensor proto whose data lives in the file `location`.
fn external_data(proto: &mut tinycats_onnx::proto::TensorProto, location: &str) {
    let len = proto.raw_data.take().map_or(0, |d| d.len());
    proto.data_location = Some(DataLocation::External as i32);
    proto.external_data = [("location", location), ("length", &len.to_string())]
        .into_iter()
        .map(|(k, v)| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v.into()),
        })
        .collect();
}

/// Case 6: the session is built from memory, so ORT would resolve external data against
/// the working directory; such graphs are refused before ORT sees them, wherever the tensor
/// sits (an initializer, or a `Constant` node's value).
#[test]
fn graphs_with_external_data_are_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clf = export_classifier(dir.path())?;
    let crafted = craft(&clf, "external.onnx", |p| {
        let graph = p.graph.as_mut().unwrap();
        external_data(&mut graph.initializer[0], "../../secret.bin");
    })?;
    let tensor = tinycats_onnx::read_model(&clf)?.graph.unwrap().initializer[0]
        .name
        .clone()
        .unwrap();
    let err = Classifier::load(&crafted).unwrap_err();
    assert!(
        matches!(&err, RuntimeError::ExternalData { tensor: t, .. } if *t == tensor),
        "{err}"
    );
    says(
        &err,
        &crafted,
        &[&tensor, "\"../../secret.bin\"", "tinycats export onnx"],
    );

    let dit = export_dit(dir.path())?;
    let crafted = craft(&dit, "external-constant.onnx", |p| {
        let mut value = tinycats_onnx::proto::TensorProto {
            name: Some("stolen".into()),
            dims: vec![4],
            data_type: Some(DataType::Float as i32),
            ..Default::default()
        };
        external_data(&mut value, "/etc/hostname");
        p.graph.as_mut().unwrap().node.push(NodeProto {
            op_type: Some("Constant".into()),
            output: vec!["stolen".into()],
            attribute: vec![AttributeProto {
                name: Some("value".into()),
                r#type: Some(AttributeType::Tensor as i32),
                t: Some(value),
                ..Default::default()
            }],
            ..Default::default()
        });
    })?;
    let err = Generator::load(&crafted).unwrap_err();
    assert!(matches!(err, RuntimeError::ExternalData { .. }), "{err}");
    says(&err, &crafted, &["`stolen`", "\"/etc/hostname\""]);
    Ok(())
}

/// The exported graphs themselves still load and run after all these checks.
#[test]
fn exported_graphs_pass_the_checks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut g = Generator::load(export_dit(dir.path())?)?;
    let x: Array4<f32> = g.noise(3, 2);
    assert_eq!(
        g.velocity(x.view(), &[0.5; 2], &[0, 13])?.shape(),
        x.shape()
    );
    let mut c = Classifier::load(export_classifier(dir.path())?)?;
    assert_eq!(c.classify(&picture(), 2)?.len(), 2);
    Ok(())
}
