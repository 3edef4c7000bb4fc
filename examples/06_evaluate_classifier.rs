//! Evaluate a classifier: where the bundled breed classifier fails. The clean test split is
//! too easy for it, so this example shifts the held-out renders towards what photos do
//! (SynthCats' wild shift) and measures how accuracy falls, which breeds it confuses, how
//! well its confidence matches its accuracy, and what its surest mistakes look like.
//!
//! Run it with `cargo run --release --example 06_evaluate_classifier`.
// verify-docs: timeout_s = 300, budget_s = 90

// ANCHOR: uses
use anyhow::{Context, Result, ensure};
use image::{DynamicImage, RgbImage};
use tch::{Device, Tensor};
use tinycats_core::metrics::{self, ConfusionMatrix};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::Classifier as TorchClassifier;
use tinycats_models::gradcam::grad_cam;
use tinycats_notebook::{Tolerance, display_path, out_dir, step, tolerance, workspace_root};
use tinycats_pipelines::eval::{logits_of, synth_split};
use tinycats_plot::{ImageGrid, LineChart, confusion_figure, overlay, save_png};
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
    /// The severity studied closely: confusions, per-class scores, calibration, mistakes.
    studied: f32,
    /// Validation renders per breed that the temperature is fitted on.
    calibration_per_breed: u64,
    /// Equal-width confidence bins of the reliability diagram and the ECE.
    bins: usize,
    /// The surest mistakes shown.
    mistakes: usize,
    /// The most frequent confusions explained with Grad-CAM.
    gradcam_pairs: usize,
    /// Weight of the Grad-CAM colours over the image (0: image only, 1: map only).
    gradcam_alpha: f32,
    /// Real photos (CC0, see `assets/photos/README.md`) explained with Grad-CAM.
    photos: [&'static str; 2],
    /// This example fails when top-1 falls below these: on the clean split, and at the
    /// studied severity.
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

fn main() -> Result<()> {
    // ANCHOR: load
    step("load");
    let repo = ModelRepo::local(workspace_root().join("assets"))?;
    let mut classifier = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    let names = classifier.class_names().to_vec();
    let size = classifier.preprocess().size;
    println!("classifier   {} classes, {size} px input", names.len());
    // ANCHOR_END: load

    // ANCHOR: wild
    step("wild");
    // One held-out render of five breeds at every severity.
    let breeds = [1, 2, 5, 8, 10]; // Bengal, Birman, Egyptian Mau, Ragdoll, Siamese
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
            tiles.push(synth.render(breed, SynthSplit::Test.index_offset() + 3)?);
        }
    }
    let grid = ImageGrid::new(CONFIG.severities.len())
        .scale(2)
        .col_labels(
            CONFIG
                .severities
                .iter()
                .map(|s| format!("severity {s}"))
                .collect(),
        )
        .row_labels(breeds.iter().map(|&b| names[b].replace('_', " ")).collect())
        .title("one held-out render per row, shifted harder from left to right")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("wild.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: wild

    // ANCHOR: robustness
    step("robustness");
    println!("severity  top-1    top-3    ECE");
    let (mut top1_curve, mut top3_curve, mut studied) = (Vec::new(), Vec::new(), None);
    let mut runs = Vec::new(); // (severity, labels, probabilities), for the exercises
    for &severity in &CONFIG.severities {
        let split = SynthSplit::Test;
        let (images, labels) = synth_split(size, CONFIG.seed, CONFIG.per_breed, split, severity)?;
        let logits = logits_of(&mut classifier, &images)?;
        let probs: Vec<Vec<f32>> = logits.iter().map(|l| metrics::softmax(l)).collect();
        let top1 = metrics::top_k_accuracy(&probs, &labels, 1)?;
        let top3 = metrics::top_k_accuracy(&probs, &labels, 3)?;
        let ece = metrics::expected_calibration_error(&probs, &labels, CONFIG.bins)?;
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
            "top-1 {top1:.3} at severity {severity} is below the {floor} this example promises"
        );
        runs.push((severity, labels.clone(), probs.clone()));
        if severity == CONFIG.studied {
            studied = Some((images, labels, logits, probs));
        }
    }
    let chart = LineChart::new(
        "the bundled classifier under the wild shift",
        "severity",
        "accuracy (%)",
    )
    .series("top-1", top1_curve)
    .series("top-3", top3_curve);
    let path = save_png(&chart.render(640, 360)?, out_dir().join("robustness.png"))?;
    println!("saved        {}", display_path(&path));
    let (images, labels, logits, probs) =
        studied.context("CONFIG.studied must be one of CONFIG.severities")?;
    // ANCHOR_END: robustness

    // ANCHOR: confusion
    step("confusion");
    // Rows: the true class; columns: the prediction (first four letters).
    let predicted: Vec<usize> = logits.iter().map(|l| metrics::argmax(l)).collect();
    let matrix = ConfusionMatrix::new(&labels, &predicted, names.len())?;
    let heads: Vec<String> = names
        .iter()
        .map(|n| format!("{:>4}", n.chars().take(4).collect::<String>()))
        .collect();
    println!("{:<17}  {}", "truth \\ predicted", heads.join(" "));
    for (name, row) in names.iter().zip(&matrix.counts) {
        let cells: Vec<String> = row
            .iter()
            .map(|&c| {
                if c == 0 {
                    "   .".into()
                } else {
                    format!("{c:>4}")
                }
            })
            .collect();
        println!("{name:<17}  {}", cells.join(" "));
    }
    let title = format!("confusion at severity {}", CONFIG.studied);
    let figure = confusion_figure(&matrix.counts, &names, &title)?;
    let path = save_png(&figure, out_dir().join("confusion.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: confusion

    // ANCHOR: per_class
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
    // ANCHOR_END: per_class

    // ANCHOR: calibration
    step("calibration");
    // The temperature is fitted on validation renders of the same severity, never on the
    // test renders it is judged on.
    let split = SynthSplit::Val;
    let per_breed = CONFIG.calibration_per_breed;
    let (val_images, val_labels) =
        synth_split(size, CONFIG.seed, per_breed, split, CONFIG.studied)?;
    let temperature =
        metrics::fit_temperature(&logits_of(&mut classifier, &val_images)?, &val_labels)?;
    let scaled: Vec<Vec<f32>> = logits
        .iter()
        .map(|l| metrics::softmax_with_temperature(l, temperature))
        .collect();
    // Accuracy against confidence, beside the diagonal of a perfectly calibrated model.
    let mut chart = LineChart::reliability(format!("reliability at severity {}", CONFIG.studied));
    for (name, p) in [
        ("as trained".to_string(), &probs),
        (format!("temperature {temperature:.2}"), &scaled),
    ] {
        let ece = metrics::expected_calibration_error(p, &labels, CONFIG.bins)?;
        let bins = metrics::reliability(p, &labels, CONFIG.bins)?;
        let mean_confidence = p
            .iter()
            .map(|r| f64::from(r[metrics::argmax(r)]))
            .sum::<f64>()
            / p.len() as f64;
        println!("{name:<18} ECE {ece:.3}, mean confidence {mean_confidence:.3}");
        // Bins with fewer than 10 images are left out: they make a jagged line of noise.
        let bins = bins.iter().map(|b| (b.confidence, b.accuracy, b.count));
        chart = chart.calibration_curve(name, bins);
    }
    println!("accuracy           {:.3}", matrix.accuracy());
    let path = save_png(&chart.render(640, 400)?, out_dir().join("reliability.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: calibration

    // ANCHOR: mistakes
    step("mistakes");
    // The wrong answers the classifier was surest of, with its top 3.
    let mut wrong: Vec<usize> = (0..labels.len())
        .filter(|&i| predicted[i] != labels[i])
        .collect();
    wrong.sort_by(|&a, &b| probs[b][predicted[b]].total_cmp(&probs[a][predicted[a]]));
    let (mut tiles, mut captions) = (Vec::new(), Vec::new());
    for &i in wrong.iter().take(CONFIG.mistakes) {
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| probs[i][b].total_cmp(&probs[i][a]));
        let top3: Vec<String> = order[..3]
            .iter()
            .map(|&c| format!("{} {:.0} %", names[c], 100.0 * probs[i][c]))
            .collect();
        println!("{:<17} → {}", names[labels[i]], top3.join(", "));
        tiles.push(images[i].to_rgb8());
        let short = |c: usize| names[c].chars().take(4).collect::<String>();
        captions.push(format!("{} → {}", short(labels[i]), short(predicted[i])));
    }
    let grid = ImageGrid::new(tiles.len().max(1))
        .scale(2)
        .col_labels(captions)
        .title(format!(
            "the surest mistakes at severity {}: true → predicted",
            CONFIG.studied
        ))
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("mistakes.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: mistakes

    // ANCHOR: gradcam
    step("gradcam");
    tolerance(Tolerance::relative(0.01)); // libtorch's last digits differ between CPUs
    // Grad-CAM needs gradients, so it runs on libtorch with the same weights as the graph.
    let config = repo.file(&format!("{CLASSIFIER_DIR}/config.json"))?;
    repo.file(&format!("{CLASSIFIER_DIR}/model.safetensors"))?;
    let dir = config.parent().context("the classifier's folder")?;
    let (_vs, torch_classifier) = TorchClassifier::load(dir, Device::Cpu)?;
    let preprocess = classifier.preprocess().clone();
    // The picture as the model sees it, one overlay per class, the probabilities, and each
    // map's peak before it is scaled to its own maximum (0: no evidence anywhere).
    type Explained = (Vec<RgbImage>, Vec<f32>, Vec<f32>);
    let explain = |image: &DynamicImage, classes: &[usize]| -> Result<Explained> {
        let x = preprocess.batch(std::slice::from_ref(image)); // (1, 3, S, S)
        let seen = preprocess.to_image(x.index_axis(Axis(0), 0));
        let side = i64::from(size);
        let x = Tensor::from_slice(x.as_slice().context("a contiguous batch")?);
        let x = x.view([1, 3, side, side]);
        let (mut panels, mut probs, mut peaks) = (vec![seen.clone()], Vec::new(), Vec::new());
        for &c in classes {
            let cam = grad_cam(&torch_classifier, &x, &[c])?;
            let (map, alpha) = (cam.scaled(0), CONFIG.gradcam_alpha);
            panels.push(overlay(&seen, &map, cam.rows, cam.cols, alpha)?);
            probs = metrics::softmax(&cam.logits[0]);
            peaks.push(cam.maps[0].iter().copied().fold(0.0, f32::max));
        }
        Ok((panels, probs, peaks))
    };
    // The most frequent confusions at the studied severity: (count, truth, predicted).
    let pairs = matrix.most_frequent_confusions(CONFIG.gradcam_pairs);
    let surest = |truth: usize, guess: usize| {
        (0..labels.len())
            .filter(|&i| labels[i] == truth && predicted[i] == guess)
            .max_by(|&a, &b| probs[a][guess].total_cmp(&probs[b][guess]).then(b.cmp(&a)))
    };
    let (mut tiles, mut rows) = (Vec::new(), Vec::new());
    let short = |c: usize| names[c].chars().take(4).collect::<String>();
    for &(count, t, p) in &pairs {
        let (right, wrong) = (surest(t, t), surest(t, p));
        let (Some(right), Some(wrong)) = (right, wrong) else {
            continue; // a breed with no right answer at all has nothing to contrast
        };
        let (panels, right_probs, right_peaks) = explain(&images[right], &[t])?;
        tiles.extend(panels);
        let (panels, wrong_probs, wrong_peaks) = explain(&images[wrong], &[p, t])?;
        tiles.extend(panels);
        println!("{} → {} ×{count}", names[t], names[p]);
        println!(
            "  right:   {} {:>5.1} %  (peak {:.2})",
            short(t),
            100.0 * right_probs[t],
            right_peaks[0]
        );
        println!(
            "  mistake: {} {:>5.1} %  (peak {:.2}), {} {:>5.1} %  (peak {:.2})",
            short(p),
            100.0 * wrong_probs[p],
            wrong_peaks[0],
            short(t),
            100.0 * wrong_probs[t],
            wrong_peaks[1]
        );
        rows.push(format!("{} → {}", short(t), short(p)));
    }
    let grid = ImageGrid::new(5)
        .scale(2)
        .col_labels(
            ["right", "its breed", "mistake", "predicted", "true breed"]
                .map(String::from)
                .to_vec(),
        )
        .row_labels(rows)
        .title("Grad-CAM: where the evidence for a breed lies (yellow: most)")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("gradcam.png"))?;
    println!("saved        {}", display_path(&path));
    // The two real photos, with the evidence for the classifier's first and second guess.
    let mut tiles = Vec::new();
    for photo in CONFIG.photos {
        let image = open_image(&workspace_root().join(photo))?;
        let scores = classifier.classify(&image, 2)?;
        let (panels, _, _) = explain(&image, &[scores[0].index, scores[1].index])?;
        tiles.extend(panels);
        let top: Vec<String> = scores
            .iter()
            .map(|s| format!("{} {:.1} %", s.name, 100.0 * s.probability))
            .collect();
        println!("{photo}: {}", top.join(", "));
    }
    let names_of = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let grid = ImageGrid::new(3)
        .scale(2)
        .col_labels(
            ["as the model sees it", "first guess", "second guess"]
                .map(String::from)
                .to_vec(),
        )
        .row_labels(CONFIG.photos.iter().map(|p| names_of(p)).collect())
        .title("Grad-CAM on the two photos")
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("gradcam_photos.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: gradcam

    // ANCHOR: exercise_hardest
    step("exercise_hardest");
    // Recall per breed at severity 1 (the robustness step's answers), from the most robust
    // breed to the least.
    let (_, labels1, probs1) = runs
        .iter()
        .find(|r| r.0 == 1.0)
        .context("CONFIG.severities must include 1")?;
    let predicted1: Vec<usize> = probs1.iter().map(|p| metrics::argmax(p)).collect();
    let matrix1 = ConfusionMatrix::new(labels1, &predicted1, names.len())?;
    let mut recall: Vec<(f64, &str)> = matrix1
        .per_class()
        .iter()
        .zip(&names)
        .map(|(c, n)| (c.recall, n.as_str()))
        .collect();
    recall.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (r, name) in recall {
        println!("{name:<17} {:>5.1} %", 100.0 * r);
    }
    // ANCHOR_END: exercise_hardest

    // ANCHOR: exercise_clean_temperature
    step("exercise_clean_temperature");
    // The temperature fitted on clean validation renders instead.
    let (clean_images, clean_labels) =
        synth_split(size, CONFIG.seed, per_breed, SynthSplit::Val, 0.0)?;
    let clean_logits = logits_of(&mut classifier, &clean_images)?;
    let right = clean_logits
        .iter()
        .zip(&clean_labels)
        .filter(|(l, y)| metrics::argmax(l) == **y)
        .count();
    let t = metrics::fit_temperature(&clean_logits, &clean_labels)?;
    println!("clean validation: {right} of {} right", clean_labels.len());
    println!(
        "fitted temperature {t:.3} (the search runs from {} to {})",
        metrics::TEMPERATURE_RANGE.0,
        metrics::TEMPERATURE_RANGE.1
    );
    let on_studied: Vec<Vec<f32>> = logits
        .iter()
        .map(|l| metrics::softmax_with_temperature(l, t))
        .collect();
    println!(
        "its ECE at severity {}: {:.3}",
        CONFIG.studied,
        metrics::expected_calibration_error(&on_studied, &labels, CONFIG.bins)?
    );
    // ANCHOR_END: exercise_clean_temperature

    // ANCHOR: exercise_top5
    step("exercise_top5");
    // How often the true breed is among the five best guesses, at every severity (the
    // robustness step's answers).
    for (severity, labels, probs) in &runs {
        println!(
            "severity {severity:<4}  top-5 {:>5.1} %",
            100.0 * metrics::top_k_accuracy(probs, labels, 5)?
        );
    }
    // ANCHOR_END: exercise_top5
    Ok(())
}
