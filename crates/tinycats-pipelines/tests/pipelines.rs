//! The shared pipelines on small random-weight models: the test split's layout, breed
//! fidelity giving the same samples on both back-ends, and a run config trained into a model
//! folder.

use std::path::Path;

use tinycats_core::{ClassifierConfig, DitConfig, SampleOptions};
use tinycats_models::io;
use tinycats_models::runconfig::{self, GeneratorRun};
use tinycats_models::tch::{Device, nn};
use tinycats_models::{Classifier as TchClassifier, TinyDit};
use tinycats_pipelines::eval::{breed_fidelity, test_split};
use tinycats_pipelines::train::{self, TrainData};
use tinycats_runtime::{Classifier, Generator};

/// Random weights for the model that `write` builds, saved in `dir`; returns where its ONNX
/// export goes.
fn model_folder(dir: &Path, write: impl FnOnce(&nn::VarStore)) -> std::path::PathBuf {
    let vs = nn::VarStore::new(Device::Cpu);
    write(&vs);
    tinycats_models::testing::randomise(&vs);
    io::save_var_store(&vs, &dir.join("model.safetensors")).unwrap();
    dir.join("model.onnx")
}

#[test]
fn the_test_split_is_breed_major() {
    let (images, labels) = test_split(16, 0, 2).unwrap();
    assert_eq!(images.len(), 26);
    assert_eq!(labels[..4], [0, 0, 1, 1]);
    assert_eq!(labels[25], 12);
    assert_eq!(images[0].width(), 16);
}

#[test]
fn breed_fidelity_draws_the_same_samples_on_both_back_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (gdir, cdir) = (dir.path().join("g"), dir.path().join("c"));
    std::fs::create_dir_all(&gdir).unwrap();
    std::fs::create_dir_all(&cdir).unwrap();
    tinycats_models::tch::manual_seed(1);
    let gcfg = DitConfig::micro();
    let mut model = None;
    let onnx = model_folder(&gdir, |vs| model = Some(TinyDit::new(vs.root(), &gcfg)));
    io::write_json(&gdir.join("config.json"), &gcfg).unwrap();
    tinycats_onnx::export(&gdir, &onnx, None).unwrap();
    let ccfg = ClassifierConfig {
        image_size: 16,
        widths: vec![8, 16],
        blocks_per_stage: vec![1, 1],
        ..ClassifierConfig::tiny()
    };
    let judge_onnx = model_folder(&cdir, |vs| {
        TchClassifier::new(vs.root(), &ccfg);
    });
    io::write_json(&cdir.join("config.json"), &ccfg).unwrap();
    tinycats_onnx::export(&cdir, &judge_onnx, None).unwrap();

    let mut judge = Classifier::load(&judge_onnx).unwrap();
    let mut tch_model = model.unwrap();
    let mut ort_model = Generator::load(&onnx).unwrap();
    // Guidance at every step, and only in the middle of t: the back-ends agree on both, and
    // the interval changes the samples.
    let everywhere = SampleOptions {
        steps: 4,
        guidance_interval: [0.0, 1.0],
        ..SampleOptions::DEFAULT
    };
    let interval = SampleOptions {
        guidance_interval: [0.25, 0.5],
        ..everywhere
    };
    let mut firsts = Vec::new();
    for opts in [interval, everywhere] {
        let a = breed_fidelity(&mut tch_model, &mut judge, 2, &opts, 5).unwrap();
        let b = breed_fidelity(&mut ort_model, &mut judge, 2, &opts, 5).unwrap();
        firsts.push(a.samples[0].clone());
        same_samples(&a, &b);
    }
    assert!(
        firsts[0] != firsts[1],
        "guiding at 2 of 4 steps changes the sample"
    );
    let opts = everywhere;
    // `per_breed` = 0 is refused, naming the field.
    let err = breed_fidelity(&mut ort_model, &mut judge, 0, &opts, 5).unwrap_err();
    assert!(err.to_string().contains("per_breed"), "{err}");
}

fn same_samples(a: &tinycats_pipelines::eval::Fidelity, b: &tinycats_pipelines::eval::Fidelity) {
    assert_eq!(a.samples.len(), 26);
    assert_eq!(a.labels, b.labels);
    let worst = a
        .samples
        .iter()
        .zip(&b.samples)
        .flat_map(|(x, y)| {
            x.as_raw()
                .iter()
                .zip(y.as_raw())
                .map(|(p, q)| p.abs_diff(*q))
        })
        .max()
        .unwrap();
    assert!(worst <= 1, "the back-ends' samples differ by {worst}/255");
    assert!(a.samples[0] != a.samples[1], "two images of a breed differ");
}

#[test]
fn a_run_config_trains_into_a_model_folder_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let run: GeneratorRun = runconfig::from_toml_str(
        r#"
batch_size = 4
[model]
input_size = 16
patch_size = 4
hidden_size = 32
depth = 1
num_heads = 2
[trainer]
max_steps = 3
warmup_steps = 1
eval_every = 3
checkpoint_every = 3
log_every = 1
"#,
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let data = TrainData::from_arg(Path::new("synth"), 4);
    assert_eq!(data, TrainData::Synth { per_class: 4 });
    let training = train::generator(&run, &data, &run_dir, Device::Cpu, None).unwrap();
    assert!(training.parameters() > 10_000);
    let summary = training.fit(false).unwrap();
    assert_eq!(summary.steps, 3);
    let (_vs, model) = TinyDit::load(&run_dir, Device::Cpu).unwrap();
    let provenance = model.config().provenance.clone().expect("stamped");
    assert_eq!(provenance.steps, 3);
    // Weights that do not fit the run's model are refused, naming the folder.
    let err = train::generator(
        &run,
        &data,
        &dir.path().join("other"),
        Device::Cpu,
        Some(Path::new("/nonexistent")),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("--init-from /nonexistent"),
        "{err}"
    );
    // A folder without splits says which split is missing and what to run.
    let err = train::generator(
        &run,
        &TrainData::Folder(dir.path().join("nope")),
        &run_dir,
        Device::Cpu,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("`train` split"), "{err}");
}
