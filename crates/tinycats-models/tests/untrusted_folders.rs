//! Model folders from someone else, on the libtorch path: a crafted `config.json` or weights
//! file is refused with an error that names it, before the model allocates anything.

use std::path::Path;

use tch::{Device, nn};
use tinycats_models::ModelError;
use tinycats_models::classifier::{Classifier, ClassifierConfig};
use tinycats_models::dit::{DitConfig, TinyDit};
use tinycats_models::io;
use tinycats_models::tasks::save_model_folder;

fn stored(vs: &nn::VarStore) -> i64 {
    vs.variables().values().map(|t| t.numel() as i64).sum()
}

#[test]
fn the_configs_count_of_stored_values_is_the_models() {
    let odd_dit = DitConfig {
        mlp_ratio: 2.5,
        num_classes: 3,
        class_names: vec!["a".into(), "b".into(), "c".into()],
        final_conv: true,
        ..DitConfig::micro()
    };
    for cfg in [
        DitConfig::micro(),
        DitConfig::tiny(),
        DitConfig::small(),
        odd_dit,
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = TinyDit::new(vs.root(), &cfg);
        assert_eq!(cfg.stored_values(), Some(stored(&vs)), "{}", cfg.preset);
    }
    let odd_classifier = ClassifierConfig {
        widths: vec![8, 8, 16],
        blocks_per_stage: vec![2, 1, 3],
        ..ClassifierConfig::tiny()
    };
    for cfg in [
        ClassifierConfig::tiny(),
        ClassifierConfig::resnet18(),
        odd_classifier,
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = Classifier::new(vs.root(), &cfg);
        assert_eq!(cfg.stored_values(), Some(stored(&vs)), "{}", cfg.preset);
    }
}

/// A real micro generator folder to tamper with.
fn micro_folder(dir: &Path) {
    let cfg = DitConfig::micro();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = TinyDit::new(vs.root(), &cfg);
    save_model_folder(dir, &cfg, &vs, None).unwrap();
}

fn tamper(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut json);
    std::fs::write(&path, json.to_string()).unwrap();
}

#[test]
fn a_config_too_large_for_its_weights_is_refused_before_the_model_is_built() {
    let dir = tempfile::tempdir().unwrap();
    micro_folder(dir.path());
    TinyDit::load(dir.path(), Device::Cpu).unwrap();

    // Within every limit, but 16 blocks of width 1024 (300 M values, 1.2 GB): the weights'
    // header says otherwise, and the load stops there.
    tamper(dir.path(), |j| {
        j["depth"] = 16.into();
        j["hidden_size"] = 1024.into();
        j["num_heads"] = 16.into();
    });
    let started = std::time::Instant::now();
    let err = TinyDit::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(
        matches!(err, ModelError::WeightsDoNotFitConfig { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("model.safetensors holds"), "{msg}");
    assert!(msg.contains("config.json describes a model of"), "{msg}");
    // Building that model would take seconds and gigabytes; refusing it takes a header read.
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );

    // Past the limits: refused by `validate`, naming the field and the limit.
    tamper(dir.path(), |j| j["depth"] = 1_000_000.into());
    let msg = TinyDit::load(dir.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("config.json") && msg.contains("depth"),
        "{msg}"
    );
    assert!(
        msg.contains("1000000") && msg.contains("at most 64"),
        "{msg}"
    );
    tamper(dir.path(), |j| {
        j["depth"] = 2.into();
        j["mlp_ratio"] = 1000.0.into();
    });
    let msg = TinyDit::load(dir.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("mlp_ratio") && msg.contains("1000"), "{msg}");
}

#[test]
fn weights_files_that_lie_about_their_length_are_refused_before_their_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    micro_folder(dir.path());
    let weights = dir.path().join("model.safetensors");
    // A sparse file of a gigabyte: the header promises far less, so nothing is read.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .unwrap();
    file.set_len(1 << 30).unwrap();
    drop(file);
    let msg = TinyDit::load(dir.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("model.safetensors: not a safetensors file"),
        "{msg}"
    );
    assert!(msg.contains("the file holds"), "{msg}");
    let msg = io::load_tensors(&weights).unwrap_err().to_string();
    assert!(msg.contains("promises"), "{msg}");
}

#[cfg(unix)]
#[test]
fn a_config_that_is_a_device_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    micro_folder(dir.path());
    let config = dir.path().join("config.json");
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    let msg = TinyDit::load(dir.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("config.json") && msg.contains("not a regular file"),
        "{msg}"
    );
}

#[test]
fn a_classifier_config_for_other_weights_is_refused_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ClassifierConfig::tiny();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = Classifier::new(vs.root(), &cfg);
    save_model_folder(dir.path(), &cfg, &vs, None).unwrap();
    Classifier::load(dir.path(), Device::Cpu).unwrap();
    tamper(dir.path(), |j| {
        j["blocks_per_stage"] = serde_json::json!([2, 2, 2, 2])
    });
    let err = Classifier::load(dir.path(), Device::Cpu).unwrap_err();
    assert!(
        matches!(err, ModelError::WeightsDoNotFitConfig { .. }),
        "{err}"
    );
}
