//! The evaluation's exercises: the hardest breeds, a temperature fitted on
//! clean renders, and top-5 accuracy. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: exercise_hardest
pub fn hardest(classifier: &Classifier, runs: &[Run]) -> Result<()> {
    step("exercise_hardest");
    // Recall per breed at severity 1 (the robustness step's answers), from the
    // most robust breed to the least.
    let names = classifier.class_names();
    let hardest = runs
        .iter()
        .find(|r| r.severity == 1.0)
        .context("CONFIG.severities must include 1")?;
    let predicted1: Vec<usize> =
        hardest.probs.iter().map(|p| metrics::argmax(p)).collect();
    let matrix1 =
        ConfusionMatrix::new(&hardest.labels, &predicted1, names.len())?;
    let mut recall: Vec<(f64, &str)> = matrix1
        .per_class()
        .iter()
        .zip(names)
        .map(|(c, n)| (c.recall, n.as_str()))
        .collect();
    recall.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (r, name) in recall {
        println!("{name:<17} {:>5.1} %", 100.0 * r);
    }
    Ok(())
}
// ANCHOR_END: exercise_hardest

// ANCHOR: exercise_clean_temperature
pub fn clean_temperature(
    classifier: &mut Classifier,
    studied: &Studied,
) -> Result<()> {
    step("exercise_clean_temperature");
    // The temperature fitted on clean validation renders instead.
    let (size, per_breed) =
        (classifier.preprocess().size, CONFIG.calibration_per_breed);
    let (clean_images, clean_labels) =
        synth_split(size, CONFIG.seed, per_breed, SynthSplit::Val, 0.0)?;
    let clean_logits = logits_of(classifier, &clean_images)?;
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
    let on_studied: Vec<Vec<f32>> = studied
        .logits
        .iter()
        .map(|l| metrics::softmax_with_temperature(l, t))
        .collect();
    println!(
        "its ECE at severity {}: {:.3}",
        CONFIG.studied,
        metrics::expected_calibration_error(
            &on_studied,
            &studied.labels,
            CONFIG.bins
        )?
    );
    Ok(())
}
// ANCHOR_END: exercise_clean_temperature

// ANCHOR: exercise_top5
pub fn top5(runs: &[Run]) -> Result<()> {
    step("exercise_top5");
    // How often the true breed is among the five best guesses, at every
    // severity (the robustness step's answers).
    for Run {
        severity,
        labels,
        probs,
    } in runs
    {
        println!(
            "severity {severity:<4}  top-5 {:>5.1} %",
            100.0 * metrics::top_k_accuracy(probs, labels, 5)?
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_top5
