//! REPA in the generator's training step, and the teachers and settings it refuses. The step's
//! checks draw the same noise twice (the flow loss with and without the alignment term), so
//! they run in this test process under the RNG lock rather than among the unit tests:
//! libtorch's RNG is process-wide, and a unit test drawing in a parallel thread between the
//! two draws made them differ (a CI run failed so).

use std::path::Path;

use tch::{Device, Kind, Tensor, nn};
use tinycats_models::DitConfig;
use tinycats_models::TinyDit;
use tinycats_models::features::{FeatureNet, FeatureNetConfig};
use tinycats_models::flow::{TimeSampling, flow_matching_loss};
use tinycats_models::repa::RepaConfig;
use tinycats_models::tasks::{GeneratorTask, save_model_folder};
use tinycats_models::testing::{TORCH_RNG, randomise};
use tinycats_models::trainer::{DeviceBatch, TrainTask};

/// A random 16-pixel teacher: maps of 8 × 8 (8 channels) and 4 × 4 (16), the micro
/// model's grid is 4 × 4.
fn teacher(dir: &Path) {
    let cfg = FeatureNetConfig {
        input_size: 16,
        widths: vec![8, 16],
        feature_dim: 8,
        ..FeatureNetConfig::default()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let net = FeatureNet::new(vs.root(), &cfg).unwrap();
    net.save(&vs, dir).unwrap();
}

fn batch() -> DeviceBatch {
    DeviceBatch {
        images: Tensor::randn([4, 3, 16, 16], (Kind::Float, Device::Cpu)),
        labels: Tensor::from_slice(&[0i64, 1, 2, 3]),
        soft_targets: None,
    }
}

fn config(dir: &Path) -> RepaConfig {
    RepaConfig {
        teacher: dir.to_path_buf(),
        after_blocks: 1,
        weight: 0.5,
        projector_width: 16,
        until_step: Some(3),
    }
}

#[test]
fn the_alignment_trains_the_early_blocks_and_stays_out_of_the_model_folder() {
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(5);
    let dir = tempfile::tempdir().unwrap();
    teacher(&dir.path().join("teacher"));
    let cfg = DitConfig::micro();
    let mut task = GeneratorTask::new(&cfg, TimeSampling::default(), Device::Cpu).unwrap();
    randomise(&task.vs);
    task.enable_repa(&config(&dir.path().join("teacher")))
        .unwrap();
    assert_eq!(task.train_metric_names(), ["repa_cos"]);
    let vars = task.vs.variables();
    assert_eq!(
        vars["repa.fc3.weight"].size(),
        [16, 16],
        "16 channels at 4 × 4"
    );

    // In step 0 the loss is the flow-matching loss plus 0.5 · (1 − cos).
    let b = batch();
    task.begin_step(0);
    tch::manual_seed(9);
    let with = task.loss(&b, true);
    let cos = task.take_train_metrics()[0];
    assert!((-1.0..=1.0).contains(&cos), "{cos}");
    tch::manual_seed(9);
    let flow = flow_matching_loss(&task.model, &b.images, &b.labels, task.times, true);
    let extra = with.double_value(&[]) - flow.double_value(&[]);
    assert!((extra - 0.5 * (1.0 - cos)).abs() < 1e-5, "{extra} vs {cos}");
    // It reaches the projector and the blocks up to the aligned one, through the tokens.
    with.backward();
    let grad = |name: &str| vars[name].grad().abs().sum(Kind::Float).double_value(&[]);
    assert!(grad("repa.fc1.weight") > 0.0);
    assert!(grad("blocks.0.attn.qkv.weight") > 0.0);

    // From `until_step` on, the loss is the flow-matching loss alone.
    task.begin_step(3);
    tch::manual_seed(9);
    let after = task.loss(&b, true);
    assert_eq!(after.double_value(&[]), flow.double_value(&[]));
    assert!(
        task.take_train_metrics().is_empty(),
        "no alignment, no cosine"
    );
    // Validation never adds it.
    task.begin_step(0);
    tch::manual_seed(9);
    let val = task.loss(&b, false);
    tch::manual_seed(9);
    let plain = flow_matching_loss(&task.model, &b.images, &b.labels, task.times, false);
    assert_eq!(val.double_value(&[]), plain.double_value(&[]));

    // The model folder holds the DiT only: it loads strictly into a TinyDit.
    let out = dir.path().join("model");
    save_model_folder(&out, &cfg, &task.vs, None).unwrap();
    let (_vs, _model) = TinyDit::load(&out, Device::Cpu).expect("a plain TinyDiT folder");
}

#[test]
fn a_teacher_that_does_not_fit_is_refused_with_what_to_do() {
    // It initialises networks, which draws from the RNG the other test compares draws of.
    let _rng = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = DitConfig::micro();
    let mut task = GeneratorTask::new(&cfg, TimeSampling::default(), Device::Cpu).unwrap();
    let missing = dir.path().join("nowhere");
    let err = task.enable_repa(&config(&missing)).unwrap_err().to_string();
    assert!(
        err.contains("repa.teacher") && err.contains("nowhere") && err.contains("train-features"),
        "{err}"
    );

    // A 64-pixel teacher for a 16-pixel model.
    let vs = nn::VarStore::new(Device::Cpu);
    let big = FeatureNet::new(vs.root(), &FeatureNetConfig::default()).unwrap();
    big.save(&vs, &dir.path().join("big")).unwrap();
    let err = task
        .enable_repa(&config(&dir.path().join("big")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("16 px") && err.contains("64 px"), "{err}");

    let bad = RepaConfig {
        after_blocks: 3,
        ..config(&missing)
    };
    let err = bad.validate(&cfg).unwrap_err().to_string();
    assert!(
        err.contains("repa.after_blocks") && err.contains("1..=2"),
        "{err}"
    );
    let bad = RepaConfig {
        weight: 0.0,
        ..config(&missing)
    };
    assert!(
        bad.validate(&cfg)
            .unwrap_err()
            .to_string()
            .contains("repa.weight")
    );
}
