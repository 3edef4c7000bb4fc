//! A libtorch classifier's logits as a classification report. The numbers come from
//! [`tinycats_core::metrics`], the one implementation that the ONNX Runtime path, the
//! evaluation chapter and the command line report through: a class that no image was
//! predicted as has no precision (`NaN`) and is left out of macro F1, everywhere.

use tch::{Kind, Tensor};
pub use tinycats_core::metrics::{ClassScores, ConfusionMatrix};

use crate::error::{ModelError, Result};

/// A classifier's results on a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    pub top1: f64,
    /// Accuracy when the label is among the `k` highest logits.
    pub top_k: f64,
    pub k: usize,
    /// Per-class scores and macro F1 are its [`ConfusionMatrix::per_class`] and
    /// [`ConfusionMatrix::macro_f1`].
    pub confusion: ConfusionMatrix,
}

impl ClassificationReport {
    /// Builds the report from logits and labels; an error if a label is not below the
    /// number of classes or the set is empty.
    ///
    /// # Shapes
    /// `logits`: `(N, K)`, `labels`: `(N,)` int64
    pub fn from_logits(logits: &Tensor, labels: &Tensor, k: usize) -> Result<Self> {
        let invalid = |e: tinycats_core::Invalid| ModelError::Data(e.to_string());
        let rows =
            Vec::<Vec<f32>>::try_from(logits.to_kind(Kind::Float).to_device(tch::Device::Cpu))?;
        let truth: Vec<usize> =
            Vec::<i64>::try_from(labels.to_kind(Kind::Int64).to_device(tch::Device::Cpu))?
                .into_iter()
                .map(|l| usize::try_from(l).unwrap_or(usize::MAX))
                .collect();
        let classes = rows.first().map_or(0, Vec::len);
        let k = k.clamp(1, classes.max(1));
        let predicted: Vec<usize> = rows
            .iter()
            .map(|r| tinycats_core::metrics::argmax(r))
            .collect();
        let confusion = ConfusionMatrix::new(&truth, &predicted, classes).map_err(invalid)?;
        let top_k = tinycats_core::metrics::top_k_accuracy(&rows, &truth, k).map_err(invalid)?;
        Ok(ClassificationReport {
            top1: confusion.accuracy(),
            top_k,
            k,
            confusion,
        })
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
        let r = ClassificationReport::from_logits(&logits, &labels, 2).unwrap();
        assert_eq!(
            r.confusion.counts,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 1, 0]]
        );
        assert!((r.top1 - 0.5).abs() < 1e-12);
        assert!((r.top_k - 1.0).abs() < 1e-12); // every label is among the two best
        assert!((r.confusion.per_class()[1].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.confusion.per_class()[0].recall - 0.5).abs() < 1e-12);
        assert!((r.confusion.per_class()[0].f1 - 2.0 / 3.0).abs() < 1e-12);
        // Class 2 was never predicted: no precision, and no F1 to average (as in the core).
        assert!(r.confusion.per_class()[2].precision.is_nan());
        assert!((r.confusion.macro_f1() - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        let err =
            ClassificationReport::from_logits(&logits, &Tensor::from_slice(&[0i64, 0, 1, 7]), 2);
        assert!(err.unwrap_err().to_string().contains("below 3"));
    }
}
