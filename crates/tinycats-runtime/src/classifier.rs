//! The breed classifier on ONNX Runtime: image(s) → top-k breeds with probabilities.

use std::path::Path;

use image::DynamicImage;
use ndarray::{Array2, ArrayView4, Ix2};
use ort::session::Session;
use ort::value::TensorRef;
use tinycats_onnx::metadata as keys;
use tinycats_onnx::proto::tensor_proto::DataType;

use crate::error::{OrtContext, Result, RuntimeError};
use crate::preprocess::Preprocess;
use crate::session::{Contract, Io, Metadata, SessionOptions, open};

const CONTRACT: Contract = Contract {
    model: "classifier",
    inputs: &[Io {
        name: "input",
        elem: DataType::Float,
        rank: 4,
    }],
    outputs: &[Io {
        name: "output",
        elem: DataType::Float,
        rank: 2,
    }],
};

/// One ranked breed.
#[derive(Debug, Clone, PartialEq)]
pub struct BreedScore {
    pub index: usize,
    pub name: String,
    pub probability: f32,
}

/// A loaded classifier graph.
#[derive(Debug)]
pub struct Classifier {
    session: Session,
    class_names: Vec<String>,
    preprocess: Preprocess,
    meta: Metadata,
}

impl Classifier {
    /// Loads with default [`SessionOptions`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, SessionOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, options: SessionOptions) -> Result<Self> {
        let opened = open(path.as_ref(), options, &CONTRACT)?;
        let meta = opened.meta;
        meta.expect_model_type("classifier")?;
        let class_names = meta.class_names()?;
        let preprocess = read_preprocess(&meta)?;
        Ok(Self {
            session: opened.session,
            class_names,
            preprocess,
            meta,
        })
    }

    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Raw logits for a normalised batch.
    ///
    /// # Shapes
    /// `input (B, 3, S, S)` → `(B, num_classes)`
    pub fn logits(&mut self, input: ArrayView4<f32>) -> Result<Array2<f32>> {
        let tensor = TensorRef::from_array_view(input).ctx(|| "classifier input".into())?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => tensor])
            .ctx(|| "running the classifier".into())?;
        let out = outputs["output"]
            .try_extract_array::<f32>()
            .ctx(|| "classifier output".into())?;
        out.to_owned()
            .into_dimensionality::<Ix2>()
            .map_err(|e| RuntimeError::Invalid(format!("classifier output: {e}")))
    }

    /// The `top_k` most probable breeds of one image.
    pub fn classify(&mut self, image: &DynamicImage, top_k: usize) -> Result<Vec<BreedScore>> {
        Ok(self
            .classify_batch(std::slice::from_ref(image), top_k)?
            .remove(0))
    }

    /// The `top_k` most probable breeds of each image, in one ORT call.
    pub fn classify_batch(
        &mut self,
        images: &[DynamicImage],
        top_k: usize,
    ) -> Result<Vec<Vec<BreedScore>>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let x = self.preprocess.batch(images);
        let logits = self.logits(x.view())?;
        Ok(logits
            .rows()
            .into_iter()
            .map(|row| self.rank(row.as_slice().expect("contiguous"), top_k))
            .collect())
    }

    fn rank(&self, logits: &[f32], top_k: usize) -> Vec<BreedScore> {
        let probs = tinycats_core::metrics::softmax(logits);
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        order
            .into_iter()
            .take(top_k.max(1))
            .map(|index| BreedScore {
                index,
                name: self
                    .class_names
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| format!("class {index}")),
                probability: probs[index],
            })
            .collect()
    }

    /// Top-1 accuracy over labelled images, `batch` images per call (quality tooling for
    /// comparing an fp32 graph with its int8 version on a test split).
    pub fn top1_accuracy(
        &mut self,
        images: &[DynamicImage],
        labels: &[usize],
        batch: usize,
    ) -> Result<f32> {
        if images.len() != labels.len() || images.is_empty() {
            return Err(RuntimeError::Invalid(format!(
                "{} images but {} labels",
                images.len(),
                labels.len()
            )));
        }
        let mut correct = 0;
        for (imgs, labs) in images.chunks(batch.max(1)).zip(labels.chunks(batch.max(1))) {
            let preds = self.classify_batch(imgs, 1)?;
            correct += preds
                .iter()
                .zip(labs)
                .filter(|(p, l)| p[0].index == **l)
                .count();
        }
        Ok(correct as f32 / images.len() as f32)
    }
}

pub(crate) fn read_preprocess(meta: &Metadata) -> Result<Preprocess> {
    let size: u32 = meta.parse(keys::IMAGE_SIZE)?;
    let mean: Vec<f32> = meta.parse(keys::MEAN)?;
    let std: Vec<f32> = meta.parse(keys::STD)?;
    let norm =
        tinycats_core::Normalize::from_f32(&mean, &std).map_err(|e| RuntimeError::Metadata {
            path: meta.path().to_path_buf(),
            key: if e.field == "std" {
                keys::STD
            } else {
                keys::MEAN
            },
            problem: format!("{} (expected {})", e.value, e.expected),
        })?;
    Ok(Preprocess { size, norm })
}
