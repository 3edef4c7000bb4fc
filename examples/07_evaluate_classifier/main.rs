//! Evaluate a classifier: where the bundled breed classifier fails. The clean
//! test split is too easy for it, so this example shifts the held-out renders
//! towards what photos do (SynthCats' wild shift) and measures how accuracy
//! falls, which breeds it confuses, how well its confidence matches its
//! accuracy, and what its surest mistakes look like.
//!
//! `main` runs the steps in the chapter's order, each one function: the first
//! sections' in this file, Grad-CAM in `gradcam.rs`, the exercises in
//! `exercises.rs`, and the printing and plotting helpers in `figures.rs`.
//!
//! Run it with `cargo run --release --example 07_evaluate_classifier`.
// verify-docs: timeout_s = 300, budget_s = 60

mod exercises;
mod figures;
mod gradcam;

// ANCHOR: uses
use anyhow::{Context, Result, ensure};
use image::{DynamicImage, RgbImage};
use tch::{Device, Tensor};
use tinycats_core::metrics::{self, ConfusionMatrix};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::Classifier as TchClassifier;
use tinycats_models::gradcam::grad_cam;
use tinycats_notebook::{
    Tolerance, display_path, out_dir, step, tolerance, workspace_root,
};
use tinycats_pipelines::eval::{logits_of, synth_split};
use tinycats_plot::{overlay, save_png};
use tinycats_runtime::ndarray::Axis;
use tinycats_runtime::preprocess::open_image;
use tinycats_runtime::repo::{CLASSIFIER_DIR, CLASSIFIER_ONNX};
use tinycats_runtime::{Classifier, ModelRepo};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of SynthCats (the bundled models were trained on seed 0).
    seed: u64,
    /// Held-out test renders per breed at every severity.
    per_breed: u64,
    /// Severities of the wild shift measured; 0 is the clean test split.
    severities: [f32; 5],
    /// The severity studied closely: confusions, per-class scores,
    /// calibration, mistakes.
    studied: f32,
    /// Validation renders per breed that the temperature is fitted on.
    calibration_per_breed: u64,
    /// Equal-width confidence bins of the reliability diagram and the ECE.
    bins: usize,
    /// The surest mistakes shown.
    mistakes: usize,
    /// The most frequent confusions explained with Grad-CAM.
    gradcam_pairs: usize,
    /// Weight of the Grad-CAM colours over the image (0: image only, 1: map
    /// only).
    gradcam_alpha: f32,
    /// Real photos (CC0, see `assets/photos/README.md`) explained with
    /// Grad-CAM.
    photos: [&'static str; 2],
    /// This example fails when top-1 falls below these: on the clean split,
    /// and at the studied severity.
    min_top1_clean: f64,
    min_top1_studied: f64,
}

const CONFIG: Config = Config {
    seed: 0,
    per_breed: 50,
    severities: [0.0, 0.25, 0.5, 0.75, 1.0],
    studied: 0.75,
    calibration_per_breed: 50,
    bins: 15,
    mistakes: 8,
    gradcam_pairs: 3,
    gradcam_alpha: 0.5,
    photos: ["assets/photos/chelsea.png", "assets/photos/coffee.png"],
    min_top1_clean: 0.99,
    min_top1_studied: 0.65,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    let (repo, mut classifier) = load()?;
    wild(&classifier)?;
    let (runs, studied) = robustness(&mut classifier)?;
    let (matrix, predicted) = confusion(&classifier, &studied)?;
    per_class(&classifier, &matrix);
    calibration(&mut classifier, &studied, &matrix)?;
    mistakes(&classifier, &studied, &predicted)?;
    gradcam::gradcam(&repo, &mut classifier, &studied, &matrix, &predicted)?;
    exercises::hardest(&classifier, &runs)?;
    exercises::clean_temperature(&mut classifier, &studied)?;
    exercises::top5(&runs)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: load
/// The bundled model repository and its classifier on ONNX Runtime.
fn load() -> Result<(ModelRepo, Classifier)> {
    step("load");
    let repo = ModelRepo::local(workspace_root().join("assets"))?;
    let classifier = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    let size = classifier.preprocess().size;
    println!(
        "classifier   {} classes, {size} px input",
        classifier.class_names().len()
    );
    Ok((repo, classifier))
}
// ANCHOR_END: load

// ANCHOR: wild
fn wild(classifier: &Classifier) -> Result<()> {
    step("wild");
    // One held-out render of five breeds at every severity.
    let (names, size) =
        (classifier.class_names(), classifier.preprocess().size);
    // Bengal, Birman, Egyptian Mau, Ragdoll, Siamese
    let breeds = [1, 2, 5, 8, 10];
    let renderers = CONFIG
        .severities
        .iter()
        .map(|&severity| {
            SynthCats::new(SynthConfig {
                seed: CONFIG.seed,
                size,
                severity,
                ..SynthConfig::default()
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tiles = Vec::new();
    for &breed in &breeds {
        for synth in &renderers {
            tiles.push(
                synth.render(breed, SynthSplit::Test.index_offset() + 3)?,
            );
        }
    }
    let rows = breeds.map(|b| names[b].as_str());
    let grid = figures::wild_grid(&tiles, &CONFIG.severities, &rows)?;
    let path = save_png(&grid, out_dir().join("wild.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: wild

// ANCHOR: robustness
/// One severity's answers: the true labels and the predicted probabilities.
struct Run {
    severity: f32,
    labels: Vec<usize>,
    probs: Vec<Vec<f32>>,
}

/// The studied severity's test renders and everything the classifier said about
/// them.
struct Studied {
    images: Vec<DynamicImage>,
    labels: Vec<usize>,
    logits: Vec<Vec<f32>>,
    probs: Vec<Vec<f32>>,
}

fn robustness(classifier: &mut Classifier) -> Result<(Vec<Run>, Studied)> {
    step("robustness");
    println!("severity  top-1    top-3    ECE");
    let (mut top1_curve, mut top3_curve, mut studied) =
        (Vec::new(), Vec::new(), None);
    let size = classifier.preprocess().size;
    let mut runs = Vec::new(); // every severity's answers, for the exercises
    for &severity in &CONFIG.severities {
        let split = SynthSplit::Test;
        let (images, labels) =
            synth_split(size, CONFIG.seed, CONFIG.per_breed, split, severity)?;
        let logits = logits_of(classifier, &images)?;
        let probs: Vec<Vec<f32>> =
            logits.iter().map(|l| metrics::softmax(l)).collect();
        let top1 = metrics::top_k_accuracy(&probs, &labels, 1)?;
        let top3 = metrics::top_k_accuracy(&probs, &labels, 3)?;
        let ece =
            metrics::expected_calibration_error(&probs, &labels, CONFIG.bins)?;
        println!(
            "{severity:<8}  {:>5.1} %  {:>5.1} %  {ece:.3}",
            100.0 * top1,
            100.0 * top3
        );
        top1_curve.push((f64::from(severity), 100.0 * top1));
        top3_curve.push((f64::from(severity), 100.0 * top3));
        let floor = match severity {
            0.0 => CONFIG.min_top1_clean,
            s if s == CONFIG.studied => CONFIG.min_top1_studied,
            _ => 0.0,
        };
        ensure!(
            top1 >= floor,
            "top-1 {top1:.3} at severity {severity} is below the {floor} this \
             example promises"
        );
        runs.push(Run {
            severity,
            labels: labels.clone(),
            probs: probs.clone(),
        });
        if severity == CONFIG.studied {
            studied = Some(Studied {
                images,
                labels,
                logits,
                probs,
            });
        }
    }
    let chart = figures::robustness_chart(top1_curve, top3_curve)?;
    let path = save_png(&chart, out_dir().join("robustness.png"))?;
    println!("saved        {}", display_path(&path));
    let studied =
        studied.context("CONFIG.studied must be one of CONFIG.severities")?;
    Ok((runs, studied))
}
// ANCHOR_END: robustness

// ANCHOR: confusion
fn confusion(
    classifier: &Classifier,
    studied: &Studied,
) -> Result<(ConfusionMatrix, Vec<usize>)> {
    step("confusion");
    // Rows: the true class; columns: the prediction (first four letters).
    let Studied { labels, logits, .. } = studied;
    let names = classifier.class_names();
    let predicted: Vec<usize> =
        logits.iter().map(|l| metrics::argmax(l)).collect();
    let matrix = ConfusionMatrix::new(labels, &predicted, names.len())?;
    figures::print_confusion(&matrix.counts, names);
    let figure = figures::confusion(&matrix.counts, names, CONFIG.studied)?;
    let path = save_png(&figure, out_dir().join("confusion.png"))?;
    println!("saved        {}", display_path(&path));
    Ok((matrix, predicted))
}
// ANCHOR_END: confusion

// ANCHOR: per_class
fn per_class(classifier: &Classifier, matrix: &ConfusionMatrix) {
    let names = classifier.class_names();
    step("per_class");
    println!("class              precision  recall     F1");
    for (name, c) in names.iter().zip(matrix.per_class()) {
        println!(
            "{name:<17}  {:>9.3}  {:>6.3}  {:>5.3}",
            c.precision, c.recall, c.f1
        );
    }
    println!(
        "accuracy {:.3}, macro F1 {:.3}",
        matrix.accuracy(),
        matrix.macro_f1()
    );
}
// ANCHOR_END: per_class

// ANCHOR: calibration
fn calibration(
    classifier: &mut Classifier,
    studied: &Studied,
    matrix: &ConfusionMatrix,
) -> Result<()> {
    step("calibration");
    // The temperature is fitted on validation renders of the same severity,
    // never on the test renders it is judged on.
    let Studied {
        labels,
        logits,
        probs,
        ..
    } = studied;
    let (size, split) = (classifier.preprocess().size, SynthSplit::Val);
    let per_breed = CONFIG.calibration_per_breed;
    let (val_images, val_labels) =
        synth_split(size, CONFIG.seed, per_breed, split, CONFIG.studied)?;
    let temperature = metrics::fit_temperature(
        &logits_of(classifier, &val_images)?,
        &val_labels,
    )?;
    let scaled: Vec<Vec<f32>> = logits
        .iter()
        .map(|l| metrics::softmax_with_temperature(l, temperature))
        .collect();
    // Accuracy against confidence, as trained and scaled.
    let mut curves = Vec::new();
    for (name, p) in [
        ("as trained".to_string(), probs),
        (format!("temperature {temperature:.2}"), &scaled),
    ] {
        let ece = metrics::expected_calibration_error(p, labels, CONFIG.bins)?;
        let bins = metrics::reliability(p, labels, CONFIG.bins)?;
        let mean_confidence = p
            .iter()
            .map(|r| f64::from(r[metrics::argmax(r)]))
            .sum::<f64>()
            / p.len() as f64;
        println!(
            "{name:<18} ECE {ece:.3}, mean confidence {mean_confidence:.3}"
        );
        curves.push((name, bins));
    }
    println!("accuracy           {:.3}", matrix.accuracy());
    let chart = figures::reliability_diagram(CONFIG.studied, &curves)?;
    let path = save_png(&chart, out_dir().join("reliability.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: calibration

// ANCHOR: mistakes
fn mistakes(
    classifier: &Classifier,
    studied: &Studied,
    predicted: &[usize],
) -> Result<()> {
    step("mistakes");
    // The wrong answers the classifier was surest of, with its top 3.
    let Studied {
        images,
        labels,
        probs,
        ..
    } = studied;
    let names = classifier.class_names();
    let mut wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| predicted[i] != labels[i])
        .collect();
    wrong.sort_by(|&a, &b| {
        probs[b][predicted[b]].total_cmp(&probs[a][predicted[a]])
    });
    let mut shown = Vec::new();
    for &i in wrong.iter().take(CONFIG.mistakes) {
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| probs[i][b].total_cmp(&probs[i][a]));
        let top3: Vec<String> = order[..3]
            .iter()
            .map(|&c| format!("{} {:.0} %", names[c], 100.0 * probs[i][c]))
            .collect();
        println!("{:<17} → {}", names[labels[i]], top3.join(", "));
        shown.push((&images[i], labels[i], predicted[i]));
    }
    let grid = figures::mistakes_grid(&shown, names, CONFIG.studied)?;
    let path = save_png(&grid, out_dir().join("mistakes.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: mistakes
