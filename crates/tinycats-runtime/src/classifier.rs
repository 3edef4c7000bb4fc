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
use crate::session::{Contract, Expect, Io, Metadata, REEXPORT, SessionOptions, open};

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
        opened.meta.expect_model_type("classifier")?;
        let class_names = opened.meta.class_names()?;
        let preprocess = read_preprocess(&opened.meta)?;
        opened.check_dims("input", &Expect::image(preprocess.size))?;
        let classes = Expect::Meta {
            key: keys::CLASS_NAMES,
            value: class_names.len(),
        };
        opened.check_dims("output", &[Expect::Batch, classes])?;
        Ok(Self {
            session: opened.session,
            class_names,
            preprocess,
            meta: opened.meta,
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
        let want = [input.shape()[0], self.class_names.len()];
        if out.shape() != want {
            return Err(RuntimeError::Mismatch {
                path: self.meta.path().to_path_buf(),
                what: "the shape of output `output`".into(),
                found: format!("{:?}", out.shape()),
                expected: format!("{want:?} (one row per image, one column per class name)"),
                fix: REEXPORT,
            });
        }
        out.to_owned()
            .into_dimensionality::<Ix2>()
            .map_err(|e| RuntimeError::Invalid(format!("classifier output: {e}")))
    }

    /// The `top_k` most probable breeds of one image.
    pub fn classify(&mut self, image: &DynamicImage, top_k: usize) -> Result<Vec<BreedScore>> {
        let ranked = self.classify_batch(std::slice::from_ref(image), top_k)?;
        ranked
            .into_iter()
            .next()
            .ok_or_else(|| RuntimeError::Invalid("the classifier ranked no image".into()))
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
            .map(|row| self.rank(&row.to_vec(), top_k))
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
    // Checked before anything is sized from it: a 200 000 px image is 480 GB of f32.
    let size: u32 = meta.parse(keys::IMAGE_SIZE)?;
    let max = tinycats_core::config::MAX_IMAGE_SIZE;
    if size == 0 || i64::from(size) > max {
        let gb = 3.0 * 4.0 * f64::from(size).powi(2) / 1e9;
        let why = if size == 0 {
            String::new()
        } else {
            format!(" (one {size} px image would take {gb:.1} GB of memory)")
        };
        return Err(RuntimeError::Metadata {
            path: meta.path().to_path_buf(),
            key: keys::IMAGE_SIZE,
            problem: format!("is {size}, expected 1 to {max} pixels per side{why}"),
        });
    }
    meta.expect_count(keys::IN_CHANNELS, 3, "RGB images")?;
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
