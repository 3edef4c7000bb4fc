//! Classification metrics as data (the plotting crate draws them): top-1 and top-k accuracy,
//! per-class precision, recall and F1, and the confusion matrix.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Images whose true label is this class.
    pub support: u64,
}

/// A classifier's results on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    pub top1: f64,
    /// Accuracy when any of the `k` highest logits is the label.
    pub top_k: f64,
    pub k: usize,
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

impl ClassificationReport {
    /// Builds the report from logits and labels.
    ///
    /// # Shapes
    /// `logits`: `(N, K)`, `labels`: `(N,)` int64
    pub fn from_logits(logits: &Tensor, labels: &Tensor, k: usize) -> Self {
        let classes = logits.size()[1] as usize;
        let k = k.clamp(1, classes);
        let pred = Vec::<i64>::try_from(logits.argmax(1, false).to_device(tch::Device::Cpu))
            .expect("int64 predictions");
        let truth = Vec::<i64>::try_from(labels.to_kind(Kind::Int64).to_device(tch::Device::Cpu))
            .expect("int64 labels");
        let topk = logits.topk(k as i64, 1, true, true).1; // (N, k)
        let hit_k = topk
            .eq_tensor(&labels.unsqueeze(1))
            .any_dim(1, false)
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[]);
        let mut confusion = vec![vec![0u64; classes]; classes];
        for (&t, &p) in truth.iter().zip(&pred) {
            confusion[t as usize][p as usize] += 1;
        }
        let n = truth.len().max(1) as f64;
        let correct: u64 = (0..classes).map(|c| confusion[c][c]).sum();
        let per_class: Vec<ClassMetrics> = (0..classes)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: u64 = confusion[c].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let macro_f1 = per_class.iter().map(|m| m.f1).sum::<f64>() / classes as f64;
        ClassificationReport {
            top1: correct as f64 / n,
            top_k: hit_k / n,
            k,
            per_class,
            macro_f1,
            confusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_on_a_hand_made_case() {
        // 3 classes, 4 images: labels 0, 0, 1, 2; predictions 0, 1, 1, 1.
        let logits = Tensor::from_slice(&[
            3.0f32, 2.0, 1.0, //
            2.0, 3.0, 1.0, //
            1.0, 3.0, 2.0, //
            1.0, 3.0, 2.0,
        ])
        .reshape([4, 3]);
        let labels = Tensor::from_slice(&[0i64, 0, 1, 2]);
        let r = ClassificationReport::from_logits(&logits, &labels, 2);
        assert_eq!(
            r.confusion,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]
        );
        assert!((r.top1 - 0.5).abs() < 1e-12);
        assert!((r.top_k - 1.0).abs() < 1e-12); // every label is among the two best
        assert!((r.per_class[1].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.per_class[0].recall - 0.5).abs() < 1e-12);
        assert!((r.per_class[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.per_class[2].f1, 0.0);
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
    }
}
