//! Quality measures: per-breed accuracy of a classifier (on a test split, or as the judge
//! of generated samples), and the differences between an int8 graph and its fp32 original.

use ndarray::ArrayView4;

use crate::classifier::Classifier;
use crate::error::Result;

/// Root-mean-square and max-abs difference of two equally shaped arrays.
pub fn rmse_and_max_abs(a: ArrayView4<f32>, b: ArrayView4<f32>) -> (f32, f32) {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let (mut sq, mut max) = (0.0f64, 0.0f32);
    for (x, y) in a.iter().zip(b.iter()) {
        let d = x - y;
        sq += (d as f64) * (d as f64);
        max = max.max(d.abs());
    }
    (((sq / a.len().max(1) as f64).sqrt()) as f32, max)
}

/// How often a classifier named the breed each image belongs to (or was drawn for), per
/// breed.
#[derive(Debug, Clone, PartialEq)]
pub struct PerBreedAccuracy {
    pub class_names: Vec<String>,
    /// `(correct, total)` per breed index.
    pub counts: Vec<(usize, usize)>,
    /// `confusion[truth][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl PerBreedAccuracy {
    /// Classifies `images` (batches of `batch`) and compares the top-1 breed with `labels`.
    pub fn measure(
        judge: &mut Classifier,
        images: &[image::DynamicImage],
        labels: &[usize],
        batch: usize,
    ) -> Result<Self> {
        let n = judge.class_names().len();
        if images.len() != labels.len() {
            return Err(crate::RuntimeError::Invalid(format!(
                "{} images but {} labels",
                images.len(),
                labels.len()
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= n) {
            return Err(crate::RuntimeError::Invalid(format!(
                "label {bad} is past the classifier's {n} classes"
            )));
        }
        let mut confusion = vec![vec![0; n]; n];
        for (imgs, labs) in images.chunks(batch.max(1)).zip(labels.chunks(batch.max(1))) {
            for (pred, &truth) in judge.classify_batch(imgs, 1)?.iter().zip(labs) {
                confusion[truth][pred[0].index] += 1;
            }
        }
        Ok(Self::from_confusion(
            judge.class_names().to_vec(),
            confusion,
        ))
    }

    /// The report of a confusion matrix counted elsewhere (`confusion[truth][predicted]`,
    /// one row and column per name).
    pub fn from_confusion(class_names: Vec<String>, confusion: Vec<Vec<usize>>) -> Self {
        let counts = confusion
            .iter()
            .enumerate()
            .map(|(i, row)| (row.get(i).copied().unwrap_or(0), row.iter().sum()))
            .collect();
        Self {
            class_names,
            counts,
            confusion,
        }
    }

    /// Accuracy of breed `i` (`None` when it had no images).
    pub fn of(&self, i: usize) -> Option<f64> {
        let (hit, total) = *self.counts.get(i)?;
        (total > 0).then(|| hit as f64 / total as f64)
    }

    /// Correct over all images.
    pub fn overall(&self) -> f64 {
        let (hit, total) = self
            .counts
            .iter()
            .fold((0, 0), |(h, t), &(hi, ti)| (h + hi, t + ti));
        hit as f64 / total.max(1) as f64
    }

    /// The mean of the per-breed accuracies over the breeds that had images (equal to
    /// [`overall`](Self::overall) when every breed has as many images).
    pub fn mean_per_breed(&self) -> f64 {
        let accs: Vec<f64> = (0..self.counts.len()).filter_map(|i| self.of(i)).collect();
        accs.iter().sum::<f64>() / accs.len().max(1) as f64
    }

    /// One line per breed — accuracy, hits of total, and the breeds it is taken for, most
    /// often first (up to [`TABLE_CONFUSIONS`], then `…`) — then `what: mean over breeds,
    /// overall`: the report of `tinycats eval` and the book alike.
    pub fn table(&self, what: &str) -> String {
        let mut out = String::new();
        for (i, name) in self.class_names.iter().enumerate() {
            let (hit, total) = self.counts[i];
            let taken_for = self.confusions(i);
            let confused = if taken_for.is_empty() {
                String::new()
            } else {
                let shown: Vec<String> = taken_for
                    .iter()
                    .take(TABLE_CONFUSIONS)
                    .map(|&(j, c)| format!("{} ×{c}", self.class_names[j]))
                    .collect();
                let more = if taken_for.len() > TABLE_CONFUSIONS {
                    ", …"
                } else {
                    ""
                };
                format!("  (else {}{more})", shown.join(", "))
            };
            let line = format!(
                "{name:<18} {:>6.1}%  {hit:>4}/{total:<4}{confused}",
                100.0 * self.of(i).unwrap_or(0.0)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "{what}: {:.2}% (mean over breeds), {:.2}% overall",
            100.0 * self.mean_per_breed(),
            100.0 * self.overall()
        ));
        out
    }

    /// The breed this breed is most often mistaken for, with the count.
    pub fn most_confused_with(&self, i: usize) -> Option<(usize, usize)> {
        self.confusions(i).first().copied()
    }

    /// Every breed this breed is mistaken for, with the count: most often first, ties in
    /// label order.
    pub fn confusions(&self, i: usize) -> Vec<(usize, usize)> {
        let mut taken_for: Vec<(usize, usize)> = self
            .confusion
            .get(i)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|&(j, &c)| j != i && c > 0)
                    .map(|(j, &c)| (j, c))
                    .collect()
            })
            .unwrap_or_default();
        taken_for.sort_by_key(|&(j, c)| (std::cmp::Reverse(c), j));
        taken_for
    }
}

/// How many of a breed's confusions a line of [`PerBreedAccuracy::table`] names: with one
/// miss of each kind, naming only the first would read as if it were typical.
pub const TABLE_CONFUSIONS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(confusion: Vec<Vec<usize>>) -> PerBreedAccuracy {
        let names = (0..confusion.len()).map(|i| format!("b{i}")).collect();
        PerBreedAccuracy::from_confusion(names, confusion)
    }

    #[test]
    fn per_breed_figures_follow_the_confusion_matrix() {
        // Breed 0: 3 of 4 right (1 taken for breed 2); breed 1: 1 of 1; breed 2: no images.
        let r = report(vec![vec![3, 0, 1], vec![0, 1, 0], vec![0, 0, 0]]);
        assert_eq!(r.of(0), Some(0.75));
        assert_eq!(r.of(1), Some(1.0));
        assert_eq!(r.of(2), None, "a breed without images has no accuracy");
        assert!((r.overall() - 0.8).abs() < 1e-12, "4 of 5 images");
        assert!(
            (r.mean_per_breed() - 0.875).abs() < 1e-12,
            "mean of 0.75 and 1"
        );
        assert_eq!(r.most_confused_with(0), Some((2, 1)));
        assert_eq!(r.most_confused_with(1), None);
        let table = r.table("top-1");
        assert!(
            table.contains("(else b2 ×1)")
                && table.ends_with("87.50% (mean over breeds), 80.00% overall"),
            "{table}"
        );
    }

    #[test]
    fn a_line_names_the_confusions_most_often_first_and_at_most_three() {
        // Breed 0: 2 right; taken for breed 3 twice, then for 1, 2 and 4 once each.
        let r = report(vec![
            vec![2, 1, 1, 2, 1],
            vec![0, 1, 0, 0, 0],
            vec![0, 0, 1, 0, 0],
            vec![0, 0, 0, 1, 0],
            vec![0, 0, 0, 0, 1],
        ]);
        assert_eq!(r.confusions(0), vec![(3, 2), (1, 1), (2, 1), (4, 1)]);
        assert!(r.confusions(1).is_empty());
        let first = r.table("top-1").lines().next().unwrap().to_owned();
        assert!(first.ends_with("(else b3 ×2, b1 ×1, b2 ×1, …)"), "{first}");
    }
}
