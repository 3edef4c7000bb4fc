//! The classifier-training chapter's exercises, on the compare step's reports.
//! They use the example's imports (`super::*`).

use super::*;

// ANCHOR: exercise_top3
pub fn top3(reports: &[(&str, ClassificationReport)]) -> Result<()> {
    step("exercise_top3");
    chaotic("top-3 accuracies of the chaotic training runs");
    // Top-3 of both runs on both splits (the compare step's reports: clean,
    // then wild).
    let mut wild_top3 = Vec::new();
    for pair in reports.chunks(2) {
        let (name, clean, wild) = (pair[0].0, &pair[0].1, &pair[1].1);
        println!(
            "{name:<12} top-3 clean {:.1} %, wild {:.1} %",
            100.0 * clean.top_k,
            100.0 * wild.top_k
        );
        wild_top3.push(100.0 * wild.top_k);
    }
    claim(
        "with three guesses, the run for photos still leads on the wild split",
        wild_top3[2] > wild_top3[0].max(wild_top3[1]),
        format!("wild top-3 {wild_top3:.1?}"),
    )?;
    Ok(())
}
// ANCHOR_END: exercise_top3

// ANCHOR: exercise_confused
pub fn confused(reports: &[(&str, ClassificationReport)]) -> Result<()> {
    step("exercise_confused");
    chaotic("the confusions of the chaotic training runs");
    // The three most frequent confusions of each run on the wild split.
    let (names, mut grey_pair) = (tinycats_core::BREEDS, Vec::new());
    for (name, report) in reports.iter().skip(1).step_by(2) {
        let matrix = &report.confusion;
        let top: Vec<String> = matrix
            .most_frequent_confusions(3)
            .iter()
            .map(|(c, t, p)| format!("{} → {} ×{c}", names[*t], names[*p]))
            .collect();
        println!("{name:<12} {}", top.join(", "));
        grey_pair.push(matrix.most_frequent_confusions(3).iter().any(
            |(_, t, p)| {
                let pair = [names[*t], names[*p]];
                pair.contains(&"Russian_Blue")
                    && pair.contains(&"British_Shorthair")
            },
        ));
    }
    claim(
        "every run confuses the grey look-alikes, Russian Blue and British \
         Shorthair",
        grey_pair.iter().all(|&g| g),
        format!("among the top three confusions: {grey_pair:?}"),
    )?;
    Ok(())
}
// ANCHOR_END: exercise_confused
