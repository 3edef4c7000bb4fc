//! Classification metrics on a model's outputs, the same for libtorch and ONNX Runtime:
//! a confusion matrix with per-class precision, recall and F1, top-k accuracy, calibration
//! (reliability bins and the expected calibration error, ECE) and temperature scaling.
//!
//! Rows of `scores` are one image each: logits for [`fit_temperature`], probabilities
//! (each row summing to 1) everywhere else.

use crate::error::{Invalid, Result};

/// `counts[truth][predicted]` over `classes` classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall and F1 of one class, with its support (images of that class).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    /// Of the images predicted as this class, the share that were (`NaN`: none predicted).
    pub precision: f64,
    /// Of the images of this class, the share predicted as it (`NaN`: no images).
    pub recall: f64,
    /// The harmonic mean of precision and recall (0 when both are 0; `NaN` when either is).
    pub f1: f64,
    pub support: u64,
}

impl ConfusionMatrix {
    /// The matrix of `predicted` against `truth` (equal lengths, labels below `classes`).
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Result<Self> {
        if truth.len() != predicted.len() {
            return Err(Invalid::new(
                "predicted",
                format!("{} labels", predicted.len()),
                &format!("one per true label ({})", truth.len()),
            ));
        }
        let mut counts = vec![vec![0u64; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            let bad = [t, p].into_iter().find(|&l| l >= classes);
            if let Some(l) = bad {
                return Err(Invalid::new("label", l, &format!("below {classes}")));
            }
            counts[t][p] += 1;
        }
        Ok(Self { counts })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// The `n` most frequent confusions as `(count, truth, predicted)`, largest first (ties:
    /// by true, then predicted class).
    pub fn most_frequent_confusions(&self, n: usize) -> Vec<(u64, usize, usize)> {
        let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
        for (t, row) in self.counts.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                if p != t && count > 0 {
                    pairs.push((count, t, p));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        pairs.truncate(n);
        pairs
    }

    /// All images counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// The share of images on the diagonal (`NaN` for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let right: u64 = (0..self.classes()).map(|i| self.counts[i][i]).sum();
        right as f64 / self.total() as f64
    }

    /// Precision, recall, F1 and support of every class.
    pub fn per_class(&self) -> Vec<ClassScores> {
        (0..self.classes())
            .map(|i| {
                let hit = self.counts[i][i] as f64;
                let support: u64 = self.counts[i].iter().sum();
                let predicted: u64 = self.counts.iter().map(|row| row[i]).sum();
                let precision = hit / predicted as f64;
                let recall = hit / support as f64;
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// The mean F1 over the classes that have images and predictions (macro F1).
    pub fn macro_f1(&self) -> f64 {
        let f1: Vec<f64> = self
            .per_class()
            .iter()
            .map(|c| c.f1)
            .filter(|f| f.is_finite())
            .collect();
        f1.iter().sum::<f64>() / f1.len() as f64
    }
}

/// Checks that every row of `scores` has the same width and a label below it.
fn check_rows(scores: &[Vec<f32>], labels: &[usize]) -> Result<usize> {
    if scores.len() != labels.len() || scores.is_empty() {
        return Err(Invalid::new(
            "scores",
            format!("{} rows", scores.len()),
            &format!("one per label ({}), at least one", labels.len()),
        ));
    }
    let width = scores[0].len();
    if let Some(row) = scores.iter().find(|r| r.len() != width) {
        return Err(Invalid::new(
            "scores",
            format!("a row of {}", row.len()),
            &format!("{width} per row, as the first"),
        ));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= width) {
        return Err(Invalid::new("label", l, &format!("below {width}")));
    }
    Ok(width)
}

/// The index of the largest score (the first on ties).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// The share of rows whose label is among the `k` highest scores. A tie at the k-th place
/// counts against the label (the label must beat everything outside the top k).
pub fn top_k_accuracy(scores: &[Vec<f32>], labels: &[usize], k: usize) -> Result<f64> {
    check_rows(scores, labels)?;
    let hits = scores
        .iter()
        .zip(labels)
        .filter(|(row, l)| row.iter().filter(|&&v| v >= row[**l]).count() <= k)
        .count();
    Ok(hits as f64 / labels.len() as f64)
}

/// One bin of a reliability diagram: the rows whose top probability fell in
/// `[low, high)` (the last bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    /// Mean top probability in the bin (`NaN` when empty).
    pub confidence: f64,
    /// Share of the bin's rows whose top class was right (`NaN` when empty).
    pub accuracy: f64,
}

/// The reliability diagram of `probabilities` in `bins` equal-width bins of confidence.
pub fn reliability(
    probabilities: &[Vec<f32>],
    labels: &[usize],
    bins: usize,
) -> Result<Vec<ReliabilityBin>> {
    check_rows(probabilities, labels)?;
    if bins == 0 {
        return Err(Invalid::new("bins", bins, "at least 1"));
    }
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (row, &label) in probabilities.iter().zip(labels) {
        let top = argmax(row);
        let conf = f64::from(row[top]);
        let b = ((conf * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += conf;
        sums[b].2 += usize::from(top == label);
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .map(|(b, (count, conf, right))| ReliabilityBin {
            low: b as f64 / bins as f64,
            high: (b + 1) as f64 / bins as f64,
            count,
            confidence: conf / count as f64,
            accuracy: right as f64 / count as f64,
        })
        .collect())
}

/// Expected calibration error: the mean over bins of |accuracy − confidence|, weighted by
/// the share of rows in each bin (Guo et al., 2017; 15 bins is their choice).
pub fn expected_calibration_error(
    probabilities: &[Vec<f32>],
    labels: &[usize],
    bins: usize,
) -> Result<f64> {
    let n = labels.len() as f64;
    Ok(reliability(probabilities, labels, bins)?
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| b.count as f64 / n * (b.accuracy - b.confidence).abs())
        .sum())
}

/// `softmax(logits)`, computed stably in f64: the probabilities every back-end reports.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    softmax_with_temperature(logits, 1.0)
}

/// `softmax(logits / temperature)`, computed stably.
pub fn softmax_with_temperature(logits: &[f32], temperature: f64) -> Vec<f32> {
    let t = temperature;
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let exps: Vec<f64> = logits
        .iter()
        .map(|&z| ((f64::from(z) - f64::from(max)) / t).exp())
        .collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Mean negative log-likelihood of `labels` under `softmax(logits / temperature)`.
pub fn nll_at_temperature(logits: &[Vec<f32>], labels: &[usize], temperature: f64) -> Result<f64> {
    check_rows(logits, labels)?;
    let total: f64 = logits
        .iter()
        .zip(labels)
        .map(|(row, &l)| {
            let top = argmax(row);
            let scaled = |z: f32| (f64::from(z) - f64::from(row[top])) / temperature;
            // ln Σ exp = ln(1 + Σ over the rest), with ln_1p: a confident row's NLL is tiny
            // (e^-40), and 1 + e^-40 would round to 1 and flatten the search.
            let rest: f64 = (0..row.len())
                .filter(|&i| i != top)
                .map(|i| scaled(row[i]).exp())
                .sum();
            rest.ln_1p() - scaled(row[l])
        })
        .sum();
    Ok(total / labels.len() as f64)
}

/// The temperatures [`fit_temperature`] searches.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.05, 20.0);

/// Temperature scaling (Guo et al., 2017): the one temperature `T` in
/// [`TEMPERATURE_RANGE`] that minimises the negative log-likelihood of `labels` under
/// `softmax(logits / T)`, found by golden-section search on `ln T` (the NLL is convex in
/// `1/T`, so it has one minimum). When every row's top class is right, the NLL falls all the
/// way to the lower bound. Fit it on a validation split, never on the test split it is
/// judged on.
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> Result<f64> {
    check_rows(logits, labels)?;
    let f = |ln_t: f64| nll_at_temperature(logits, labels, ln_t.exp()).unwrap_or(f64::INFINITY);
    let (mut a, mut b) = (TEMPERATURE_RANGE.0.ln(), TEMPERATURE_RANGE.1.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-6 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    Ok(((a + b) / 2.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes, ten images, counted by hand:
    ///
    /// ```text
    ///            predicted 0  1  2
    /// truth 0              3  1  0
    /// truth 1              0  2  1
    /// truth 2              1  0  2
    /// ```
    fn three_classes() -> ConfusionMatrix {
        let truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
        let pred = [0, 0, 0, 1, 1, 1, 2, 0, 2, 2];
        ConfusionMatrix::new(&truth, &pred, 3).unwrap()
    }

    #[test]
    fn a_three_class_confusion_matrix_by_hand() {
        let m = three_classes();
        assert_eq!(m.counts, vec![vec![3, 1, 0], vec![0, 2, 1], vec![1, 0, 2]]);
        assert_eq!(m.total(), 10);
        assert!((m.accuracy() - 0.7).abs() < 1e-12);
        let c = m.per_class();
        // Class 0: 3 right of 4 predicted (precision 3/4), of 4 images (recall 3/4).
        assert!((c[0].precision - 0.75).abs() < 1e-12 && (c[0].recall - 0.75).abs() < 1e-12);
        assert!((c[0].f1 - 0.75).abs() < 1e-12);
        // Class 1: 2 of 3 predicted, 2 of 3 images.
        assert!((c[1].precision - 2.0 / 3.0).abs() < 1e-12);
        // Class 2: 2 of 3 predicted (precision 2/3), 2 of 3 images (recall 2/3).
        assert!((c[2].recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            c.iter().map(|c| c.support).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        let macro_f1 = (0.75 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0;
        assert!((m.macro_f1() - macro_f1).abs() < 1e-12);
        // Three confusions of one image each, in class order; the diagonal never counts.
        assert_eq!(
            m.most_frequent_confusions(5),
            vec![(1, 0, 1), (1, 1, 2), (1, 2, 0)]
        );
        assert_eq!(m.most_frequent_confusions(1), vec![(1, 0, 1)]);
    }

    #[test]
    fn a_class_never_predicted_has_no_precision_and_is_left_out_of_macro_f1() {
        let m = ConfusionMatrix::new(&[0, 1, 2], &[0, 1, 1], 3).unwrap();
        let c = m.per_class();
        assert!(c[2].precision.is_nan() && c[2].recall == 0.0);
        assert!((m.macro_f1() - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        let err = ConfusionMatrix::new(&[0, 3], &[0, 1], 3).unwrap_err();
        assert!(err.to_string().contains("`label` = 3"), "{err}");
    }

    #[test]
    fn top_k_counts_the_label_among_the_k_best() {
        let scores = vec![
            vec![0.5, 0.3, 0.2], // label 1 is second
            vec![0.1, 0.2, 0.7], // label 0 is third
            vec![0.6, 0.3, 0.1], // label 0 is first
        ];
        let labels = [1, 0, 0];
        assert!((top_k_accuracy(&scores, &labels, 1).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((top_k_accuracy(&scores, &labels, 2).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(top_k_accuracy(&scores, &labels, 3).unwrap(), 1.0);
        // A tie at the edge of the top 1 is not a hit.
        assert_eq!(top_k_accuracy(&[vec![0.5, 0.5]], &[1], 1).unwrap(), 0.0);
        assert!(top_k_accuracy(&scores, &[0, 0], 1).is_err());
    }

    #[test]
    fn ece_of_a_known_case() {
        // Two bins. Bin [0, 0.5): none. Bin [0.5, 1]: four rows of confidence 0.9, 0.9,
        // 0.7, 0.7 (mean 0.8), three right: |0.75 − 0.8| = 0.05.
        let p = vec![
            vec![0.9, 0.1],
            vec![0.1, 0.9],
            vec![0.7, 0.3],
            vec![0.3, 0.7],
        ];
        let labels = [0, 1, 0, 0];
        let bins = reliability(&p, &labels, 2).unwrap();
        assert_eq!((bins[0].count, bins[1].count), (0, 4));
        assert!((bins[1].confidence - 0.8).abs() < 1e-6);
        assert!((bins[1].accuracy - 0.75).abs() < 1e-12);
        assert!((expected_calibration_error(&p, &labels, 2).unwrap() - 0.05).abs() < 1e-6);
        // Ten bins split them: 0.9s (2 right) and 0.7s (1 right of 2): 0.5·0.1 + 0.5·0.2.
        let ece10 = expected_calibration_error(&p, &labels, 10).unwrap();
        assert!((ece10 - 0.15).abs() < 1e-6, "{ece10}");
    }

    #[test]
    fn temperature_scaling_finds_the_minimum_of_the_nll() {
        // Overconfident logits: right 3 times in 4 with a margin of 4.
        let logits = vec![
            vec![4.0, 0.0],
            vec![0.0, 4.0],
            vec![4.0, 0.0],
            vec![4.0, 0.0],
        ];
        let labels = [0, 1, 0, 1];
        let t = fit_temperature(&logits, &labels).unwrap();
        // By hand: the NLL is minimal where sigmoid(4/T) = 3/4, T = 4 / ln 3.
        assert!((t - 4.0 / 3f64.ln()).abs() < 1e-4, "{t}");
        let at = |t: f64| nll_at_temperature(&logits, &labels, t).unwrap();
        assert!(at(t) < at(1.0) && at(t) <= at(t * 1.01) && at(t) <= at(t / 1.01));
        let p = softmax_with_temperature(&logits[0], t);
        assert!((p[0] - 0.75).abs() < 1e-5 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // All right: nothing stops the sharpening but the bound.
        let all_right = fit_temperature(&logits[..3], &labels[..3]).unwrap();
        assert!(
            (all_right - TEMPERATURE_RANGE.0).abs() < 1e-4,
            "{all_right}"
        );
    }
}
