//! Fine-tuning on the micro TinyDiT: what a fresh adapter changes (nothing), what training
//! changes (only the adapters), and that merging and saving keep the outputs. The end-to-end
//! runs (learning a colour, resuming) are in `tests/lora_finetune.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor, nn};

use super::*;
use crate::dit::{DitConfig, TinyDit, is_adapter_tensor};
use crate::trainer::{TensorDataset, Trainer, TrainerConfig};
use crate::{io, testing};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A micro TinyDiT with small random weights everywhere (a fresh one outputs zeros).
fn base_model() -> (nn::VarStore, TinyDit) {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = TinyDit::new(vs.root(), &DitConfig::micro());
    testing::randomise(&vs);
    (vs, model)
}

/// [`base_model`] saved as a model folder in `dir`.
fn save_base(dir: &Path) -> (nn::VarStore, TinyDit) {
    let (vs, model) = base_model();
    io::save_var_store(&vs, &dir.join("model.safetensors")).unwrap();
    io::write_json(&dir.join("config.json"), model.config()).unwrap();
    (vs, model)
}

/// Random values in every adapter and new row, so that they change the outputs.
fn perturb(ft: &FineTune) {
    let _guard = tch::no_grad_guard();
    for (_, mut t) in ft.adapter_tensors() {
        t.copy_(&(t.randn_like() * 0.1));
    }
}

/// Noisy images, times and labels `y` (one image per label).
fn inputs(cfg: &DitConfig, y: &[i64]) -> (Tensor, Tensor, Tensor) {
    let n = y.len() as i64;
    let s = cfg.input_size;
    let x = Tensor::randn([n, 3, s, s], (Kind::Float, Device::Cpu));
    let t = Tensor::rand([n], (Kind::Float, Device::Cpu));
    (x, t, Tensor::from_slice(y))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn snapshot(vs: &nn::VarStore) -> BTreeMap<String, Tensor> {
    let _guard = tch::no_grad_guard();
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.copy()))
        .collect()
}

#[test]
fn fresh_lora_adapter_leaves_base_classes_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (_vs, base) = save_base(dir.path());
    let new = names(&["savannah", "lykoi"]);
    let ft =
        FineTune::from_pretrained(dir.path(), &new, &LoraConfig::default(), Device::Cpu).unwrap();
    let k = base.config().num_classes; // 13
    assert_eq!(ft.model.config().num_classes, k + 2);
    assert_eq!(ft.model.null_class(), k + 2);
    assert_eq!(ft.new_class_labels(), [k, k + 1]);
    assert_eq!(ft.new_class_names(), new);
    // Every base breed, then the null class (label k in the base, k + 2 in the fine-tune).
    let y_base: Vec<i64> = (0..=k).collect();
    let y_ft: Vec<i64> = (0..k).chain([k + 2]).collect();
    let (x, t, y) = inputs(base.config(), &y_base);
    let want = base.forward_net(&x, &t, &y, false);
    let got = ft
        .model
        .forward_net(&x, &t, &Tensor::from_slice(&y_ft), false);
    let err = max_abs_diff(&got, &want);
    assert!(err <= 1e-6, "max |Δ| = {err}");
    // New classes start at the mean of the base breed rows.
    let vars = ft.vs.variables();
    let rows = &vars[crate::dit::NEW_ROWS];
    let mean = vars["y_embedder.embedding_table.weight"]
        .narrow(0, 0, k)
        .mean_dim(0, true, Kind::Float);
    assert!(max_abs_diff(rows, &mean.expand([2, -1], false)) <= 1e-6);
}

#[test]
fn lora_training_steps_change_only_adapters_and_new_rows() {
    let (vs, model) = base_model();
    let lora = LoraConfig {
        targets: names(&["qkv", "fc2"]),
        ..Default::default()
    };
    let mut ft = FineTune::from_model(vs, model, &names(&["savannah"]), &lora).unwrap();
    let k = ft.base_config().num_classes;
    let before = snapshot(&ft.vs);
    let trainable: Vec<&String> = before
        .keys()
        .filter(|n| ft.vs.variables()[*n].requires_grad())
        .collect();
    let mut expected: Vec<String> = (0..2)
        .flat_map(|i| {
            ["attn.qkv", "mlp.fc2"]
                .into_iter()
                .flat_map(move |p| ["A", "B"].map(|m| format!("blocks.{i}.{p}.lora_{m}.weight")))
        })
        .chain([crate::dit::NEW_ROWS.to_string()])
        .collect();
    expected.sort();
    assert_eq!(trainable, expected.iter().collect::<Vec<_>>());

    // Half the batch is the new class, half base breeds; three steps so that A moves too
    // (its gradient is B-weighted, and B is zero before the first step).
    tch::manual_seed(3);
    let images = Tensor::rand([8, 3, 16, 16], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
    let labels = Tensor::from_slice(&[k, k, k, k, 0, 1, 2, 3]);
    let mut data = TensorDataset::new(images.copy(), labels.copy(), 4, true, 0, true);
    let mut val = TensorDataset::new(images, labels, 4, false, 0, false);
    let run = tempfile::tempdir().unwrap();
    let cfg = TrainerConfig {
        max_steps: 3,
        warmup_steps: 0,
        lr: 1e-2,
        eval_every: 3,
        checkpoint_every: 3,
        log_every: u64::MAX,
        preview_every: None,
        ..Default::default()
    };
    Trainer::new(cfg, run.path(), Device::Cpu)
        .unwrap()
        .fit(&mut ft, &mut data, &mut val, false)
        .unwrap();

    for (name, after) in ft.vs.variables() {
        let same = after.equal(&before[&name]);
        if expected.contains(&name) {
            assert!(!same, "`{name}` did not train");
        } else {
            assert!(same, "base weight `{name}` changed");
        }
    }
    // The optimiser kept moments for the trainable tensors only.
    let ck = crate::trainer::checkpoint::load_latest(&run.path().join("checkpoints")).unwrap();
    let mut moments: Vec<String> = ck
        .optimizer
        .keys()
        .filter_map(|n| n.strip_prefix("exp_avg."))
        .map(str::to_string)
        .collect();
    moments.sort();
    assert_eq!(moments, expected);
}

#[test]
fn merged_lora_model_matches_the_adapter_model() {
    let dir = tempfile::tempdir().unwrap();
    save_base(dir.path());
    let new = names(&["savannah", "lykoi"]);
    let ft =
        FineTune::from_pretrained(dir.path(), &new, &LoraConfig::default(), Device::Cpu).unwrap();
    perturb(&ft);
    let cfg = ft.model.config().clone();
    let all: Vec<i64> = (0..=cfg.num_classes).collect(); // base breeds, new classes, null
    let (x, t, y) = inputs(&cfg, &all);
    let want = ft.model.forward_net(&x, &t, &y, false);
    assert!(
        want.abs().max().double_value(&[]) > 1e-3,
        "outputs too small to compare"
    );

    // Tolerance 1e-4: W + s·B·A is rounded once to f32, where the adapter path rounds
    // W·x and s·B·(A·x) separately; outputs are O(0.1).
    let (merged_vs, merged) = ft.merge().unwrap();
    assert!(merged_vs.variables().keys().all(|n| !is_adapter_tensor(n)));
    let err = max_abs_diff(&merged.forward_net(&x, &t, &y, false), &want);
    assert!(err <= 1e-4, "in memory: max |Δ| = {err}");

    let out = tempfile::tempdir().unwrap();
    ft.save_merged(out.path(), None).unwrap();
    let (_, loaded) = TinyDit::load(out.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.config().num_classes, cfg.num_classes);
    assert_eq!(loaded.config().class_names[13..], new);
    assert_eq!(loaded.null_class(), cfg.num_classes);
    let err = max_abs_diff(&loaded.forward_net(&x, &t, &y, false), &want);
    assert!(err <= 1e-4, "through TinyDit::load: max |Δ| = {err}");
    let table = io::load_tensors(&out.path().join("model.safetensors")).unwrap();
    assert_eq!(
        table["y_embedder.embedding_table.weight"].size(),
        [13 + 2 + 1, 32]
    );
}

#[test]
fn lora_adapter_round_trip_reproduces_outputs_exactly() {
    let base = tempfile::tempdir().unwrap();
    save_base(base.path());
    let lora = LoraConfig {
        rank: 4,
        alpha: 4.0,
        targets: names(&["proj", "fc1"]),
    };
    let ft =
        FineTune::from_pretrained(base.path(), &names(&["savannah"]), &lora, Device::Cpu).unwrap();
    perturb(&ft);
    let adapter = tempfile::tempdir().unwrap();
    ft.save_adapter(adapter.path()).unwrap();
    let cfg: AdapterConfig = io::read_json(&adapter.path().join(ADAPTER_CONFIG)).unwrap();
    assert_eq!(cfg, ft.adapter_config());
    assert_eq!(
        (cfg.base_num_classes, cfg.new_class_names),
        (13, names(&["savannah"]))
    );
    let saved = io::load_tensors(&adapter.path().join(ADAPTER_WEIGHTS)).unwrap();
    assert_eq!(saved.len(), 2 * 2 * 2 + 1, "{:?}", saved.keys());
    assert_eq!(saved["blocks.1.attn.proj.lora_A.weight"].size(), [4, 32]);
    assert_eq!(saved["blocks.1.mlp.fc1.lora_B.weight"].size(), [128, 4]);
    assert_eq!(saved[crate::dit::NEW_ROWS].size(), [1, 32]);

    let back = FineTune::load_adapter(base.path(), adapter.path(), Device::Cpu).unwrap();
    assert_eq!(back.lora(), &lora);
    let (x, t, y) = inputs(ft.model.config(), &[0, 5, 12, 13, 14]);
    // Tolerance 0: the same weights through the same ops.
    let (a, b) = (
        ft.model.forward_net(&x, &t, &y, false),
        back.model.forward_net(&x, &t, &y, false),
    );
    assert!(a.equal(&b), "max |Δ| = {}", max_abs_diff(&a, &b));
}

#[test]
fn lora_adapter_file_is_much_smaller_than_the_model() {
    let base = tempfile::tempdir().unwrap();
    save_base(base.path());
    let lora = LoraConfig {
        rank: 4,
        ..Default::default()
    };
    let ft =
        FineTune::from_pretrained(base.path(), &names(&["savannah"]), &lora, Device::Cpu).unwrap();
    // Per block, r·(in + out) for qkv (32→96), proj (32→32), fc1 (32→128), fc2 (128→32);
    // two blocks, plus one 32-wide label row.
    let per_block = 4 * ((32 + 96) + (32 + 32) + (32 + 128) + (128 + 32));
    assert_eq!(ft.trainable_parameters(), 2 * per_block + 32);
    let adapter = tempfile::tempdir().unwrap();
    ft.save_adapter(adapter.path()).unwrap();
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    let a = size(&adapter.path().join(ADAPTER_WEIGHTS));
    let m = size(&base.path().join("model.safetensors"));
    // 4 128 of ~54 000 values (7.6 %), plus the safetensors headers.
    eprintln!("adapter {a} B, model {m} B, ratio {:.3}", a / m);
    assert!(a < 0.1 * m, "adapter {a} B, model {m} B");
}

#[test]
fn lora_parameter_counts_of_the_tiny_preset() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = TinyDit::new(vs.root(), &DitConfig::tiny());
    // Every stored value but the fixed position embedding, which is not a parameter: the
    // same count as the trainer prints for the preset (7,466,432).
    let base: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.size().iter().product::<i64>())
        .sum();
    assert_eq!(base, 7_466_432);
    let ft =
        FineTune::from_model(vs, model, &names(&["savannah"]), &LoraConfig::default()).unwrap();
    // D = 256, rank 8: qkv 8·(256 + 768), proj 8·(256 + 256), fc1 and fc2 8·(256 + 1024)
    // each = 32 768 per block; 6 blocks; one 256-wide label row.
    assert_eq!(ft.trainable_parameters(), 6 * 32_768 + 256);
    assert_eq!(ft.base_parameters(), base);
    eprintln!(
        "tiny, rank 8, all targets, one new class: {} trainable, {} base ({:.2} %)",
        ft.trainable_parameters(),
        base,
        100.0 * ft.trainable_parameters() as f64 / base as f64
    );
}

#[test]
fn bad_fine_tune_inputs_name_the_field_and_the_fix() {
    let build = |new: &[&str], lora: LoraConfig| {
        let (vs, model) = base_model();
        FineTune::from_model(vs, model, &names(new), &lora)
            .unwrap_err()
            .to_string()
    };
    let msg = build(&[], LoraConfig::default());
    assert!(msg.contains("`new_class_names` = []"), "{msg}");
    let msg = build(&["savannah", "bengal"], LoraConfig::default());
    assert!(
        msg.contains("`new_class_names` = \"bengal\"") && msg.contains("class 1 (\"Bengal\")"),
        "{msg}"
    );
    let msg = build(&["savannah", "Savannah "], LoraConfig::default());
    assert!(msg.contains("at most once"), "{msg}");
    let msg = build(&[" "], LoraConfig::default());
    assert!(msg.contains("visible character"), "{msg}");
    let msg = build(
        &["savannah"],
        LoraConfig {
            rank: 33,
            ..Default::default()
        },
    );
    assert!(
        msg.contains("`lora.rank` = 33") && msg.contains("hidden_size = 32"),
        "{msg}"
    );
    let msg = build(
        &["savannah"],
        LoraConfig {
            targets: names(&["mlp"]),
            ..Default::default()
        },
    );
    assert!(msg.contains("`lora.targets` = \"mlp\""), "{msg}");

    // An adapter refuses a base other than its own, before loading any weight.
    let (base, other, adapter) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    save_base(base.path());
    let ft = FineTune::from_pretrained(
        base.path(),
        &names(&["savannah"]),
        &LoraConfig::default(),
        Device::Cpu,
    )
    .unwrap();
    ft.save_adapter(adapter.path()).unwrap();
    ft.save_merged(other.path(), None).unwrap(); // 14 classes
    let msg = FineTune::load_adapter(other.path(), adapter.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("`base model`") && msg.contains("14 classes") && msg.contains("13 classes"),
        "{msg}"
    );
    // ...and a config with a misspelt field.
    let path = adapter.path().join(ADAPTER_CONFIG);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"rank\"", "\"rnak\"")).unwrap();
    let msg = FineTune::load_adapter(base.path(), adapter.path(), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("adapter_config.json") && msg.contains("rnak"),
        "{msg}"
    );
}

#[test]
fn lora_fine_tune_samples_with_guidance_on_the_new_null_class() {
    let (vs, model) = base_model();
    let ft =
        FineTune::from_model(vs, model, &names(&["savannah"]), &LoraConfig::default()).unwrap();
    perturb(&ft);
    let opts = tinycats_core::SampleOptions {
        steps: 3,
        ..Default::default()
    };
    let grid = ft.sample_grid(&opts, 0).unwrap();
    assert_eq!(grid.size(), [2 * 5, 3, 16, 16]); // the new class and 4 base breeds
    assert_eq!(ft.preview_classes(), [13, 0, 1, 2, 3]);
    let (lo, hi) = (grid.min().double_value(&[]), grid.max().double_value(&[]));
    assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
}
