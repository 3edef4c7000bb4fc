//! Grad-CAM (Selvaraju et al., 2017, "Grad-CAM: Visual Explanations from Deep Networks via
//! Gradient-based Localization"): where in the image the classifier found the evidence for a
//! breed.
//!
//! For a class `c` with logit `y_c` and the last residual block's activations `A` (`K`
//! channels on an `h × w` grid), each channel is weighted by how much the logit grows with
//! it, averaged over the grid, and the weighted channels are summed and clipped at zero:
//!
//! ```text
//! α_k = mean_{i,j} ∂y_c / ∂A_k[i, j]          map = ReLU(Σ_k α_k · A_k)
//! ```
//!
//! The gradients come from libtorch's autograd, so the method holds for any head. For this
//! classifier's head (global average pool → linear) they are `W[c, k] / (h·w)` at every
//! cell, and Grad-CAM equals the class activation map of Zhou et al. (2016); the tests check
//! that identity.

use tch::{Kind, Tensor};

use crate::classifier::Classifier;
use crate::error::{ModelError, Result};

/// Grad-CAM maps of a batch, each on the last block's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCam {
    /// Grid rows (`h`) and columns (`w`) of every map.
    pub rows: usize,
    pub cols: usize,
    /// One map per image, row-major, `ReLU(Σ_k α_k A_k)` before any scaling.
    pub maps: Vec<Vec<f32>>,
    /// The logits of every image (`K` classes), from the same forward pass.
    pub logits: Vec<Vec<f32>>,
}

impl GradCam {
    /// Map `i` divided by its own maximum, so its strongest cell is 1 (an all-zero map —
    /// no positive evidence anywhere — stays zero).
    pub fn scaled(&self, i: usize) -> Vec<f32> {
        let map = &self.maps[i];
        let max = map.iter().copied().fold(0.0f32, f32::max);
        if max > 0.0 {
            map.iter().map(|v| v / max).collect()
        } else {
            vec![0.0; map.len()]
        }
    }
}

/// Grad-CAM of `model` on `images` for the breed `classes[i]` of every image `i` (the
/// predicted breed, the true one, or any other), in evaluation mode.
///
/// # Shapes
/// `images`: `(N, 3, S, S)`, normalised as the model's config says; `classes`: `N` indices
pub fn grad_cam(model: &Classifier, images: &Tensor, classes: &[usize]) -> Result<GradCam> {
    let (n, _, _, _) = images.size4().map_err(ModelError::Torch)?;
    let k = model.config().num_classes;
    if classes.len() != n as usize {
        return Err(ModelError::Data(format!(
            "grad_cam: {n} images but {} classes to explain",
            classes.len()
        )));
    }
    if let Some(bad) = classes.iter().find(|&&c| c as i64 >= k) {
        return Err(ModelError::Data(format!(
            "grad_cam: class {bad} is past the classifier's {k} classes"
        )));
    }
    // The activations become a leaf of their own graph: only the head is differentiated.
    let features = tch::no_grad(|| model.features_t(images, false))
        .detach()
        .set_requires_grad(true); // (N, K_feat, h, w)
    let (_, _, h, w) = features.size4().map_err(ModelError::Torch)?;
    let logits = model.head(&features); // (N, K)
    let index = Tensor::from_slice(&classes.iter().map(|&c| c as i64).collect::<Vec<_>>())
        .to_device(logits.device())
        .unsqueeze(1); // (N, 1)
    // Images do not interact in eval mode, so one backward of the summed scores gives every
    // image's own gradient.
    let score = logits.gather(1, &index, false).sum(Kind::Float);
    let grads = Tensor::f_run_backward(&[&score], &[&features], false, false)?;
    let alpha = grads[0].mean_dim(&[2i64, 3][..], true, Kind::Float); // (N, K_feat, 1, 1)
    let maps = (alpha * &features)
        .sum_dim_intlist(1, false, Kind::Float)
        .relu()
        .detach()
        .to_device(tch::Device::Cpu)
        .reshape([n, h * w]);
    let rows = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
        Ok(Vec::<Vec<f32>>::try_from(t.to_kind(Kind::Float))?)
    };
    Ok(GradCam {
        rows: h as usize,
        cols: w as usize,
        maps: rows(&maps)?,
        logits: rows(&logits.detach().to_device(tch::Device::Cpu))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::ModuleT;
    use tch::{Device, nn};

    fn tiny(size: i64) -> (nn::VarStore, Classifier) {
        tch::manual_seed(3);
        let cfg = crate::ClassifierConfig {
            image_size: size,
            ..crate::ClassifierConfig::tiny()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Classifier::new(vs.root(), &cfg);
        (vs, model)
    }

    #[test]
    fn equals_the_class_activation_map_of_a_pooled_linear_head() {
        let (vs, model) = tiny(32);
        let x = Tensor::randn([3, 3, 32, 32], (Kind::Float, Device::Cpu));
        let classes = [0usize, 5, 12];
        let cam = grad_cam(&model, &x, &classes).unwrap();
        assert_eq!((cam.rows, cam.cols), (4, 4), "32 px halved three times");
        // By hand: α_k = W[c, k] / (h·w), so the map is ReLU(Σ_k W[c, k]·A_k) / 16.
        let a = tch::no_grad(|| model.features_t(&x, false)); // (3, 256, 4, 4)
        let weight = vs.variables()["fc.weight"].shallow_clone(); // (13, 256)
        for (i, &c) in classes.iter().enumerate() {
            let wc = weight.get(c as i64).view([256, 1, 1]);
            let expected = Vec::<f32>::try_from(
                (a.get(i as i64) * wc)
                    .sum_dim_intlist(0, false, Kind::Float)
                    .relu()
                    .reshape([-1])
                    / 16.0,
            )
            .unwrap();
            for (g, e) in cam.maps[i].iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-5 * (1.0 + e.abs()), "{g} vs {e}");
            }
        }
        // The logits are the model's own.
        let logits = Vec::<Vec<f32>>::try_from(model.forward_t(&x, false)).unwrap();
        for (g, e) in cam.logits.iter().flatten().zip(logits.iter().flatten()) {
            assert!((g - e).abs() < 1e-5);
        }
    }

    #[test]
    fn each_image_gets_its_own_class_and_bad_classes_are_refused() {
        let (_vs, model) = tiny(32);
        let x = Tensor::randn([1, 3, 32, 32], (Kind::Float, Device::Cpu));
        let both = Tensor::cat(&[&x, &x], 0);
        let cam = grad_cam(&model, &both, &[2, 7]).unwrap();
        let two = grad_cam(&model, &x, &[2]).unwrap();
        let seven = grad_cam(&model, &x, &[7]).unwrap();
        // Equal up to the rounding of a batch of two against a batch of one.
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(&cam.maps[0], &two.maps[0]));
        assert!(close(&cam.maps[1], &seven.maps[0]));
        assert!(!close(&cam.maps[0], &cam.maps[1]), "two breeds, two maps");
        let scaled = cam.scaled(0);
        let max = scaled.iter().copied().fold(0.0f32, f32::max);
        assert!(max == 1.0 || scaled.iter().all(|&v| v == 0.0));
        assert!(scaled.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let err = grad_cam(&model, &x, &[13]).unwrap_err().to_string();
        assert!(
            err.contains("class 13") && err.contains("13 classes"),
            "{err}"
        );
        let err = grad_cam(&model, &x, &[1, 2]).unwrap_err().to_string();
        assert!(err.contains("1 images but 2"), "{err}");
    }
}
