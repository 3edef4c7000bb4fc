//! The evaluation's Grad-CAM step: where the evidence for a breed lies, on the
//! most frequent confusions and on two real photos. It uses the example's
//! imports (`super::*`).

use super::*;

// ANCHOR: gradcam
/// For one image: the picture as the model sees it and one overlay per class,
/// the probabilities, and each map's peak before it is scaled to its own
/// maximum.
type Explained = (Vec<RgbImage>, Vec<f32>, Vec<f32>);

pub fn gradcam(
    repo: &ModelRepo,
    classifier: &mut Classifier,
    studied: &Studied,
    matrix: &ConfusionMatrix,
    predicted: &[usize],
) -> Result<()> {
    step("gradcam");
    // libtorch's last digits differ between CPUs
    tolerance(Tolerance::relative(0.01));
    // Grad-CAM needs gradients, so it runs on libtorch with the same weights as
    // the graph.
    let config = repo.file(&format!("{CLASSIFIER_DIR}/config.json"))?;
    repo.file(&format!("{CLASSIFIER_DIR}/model.safetensors"))?;
    let dir = config.parent().context("the classifier's folder")?;
    let (names, size) = (
        classifier.class_names().to_vec(),
        classifier.preprocess().size,
    );
    let (_vs, tch_classifier) = TchClassifier::load(dir, Device::Cpu)?;
    let preprocess = classifier.preprocess().clone();
    // The picture as the model sees it, one overlay per class, the
    // probabilities, and each map's peak before it is scaled to its own
    // maximum (0: no evidence anywhere).
    let explain = |image: &DynamicImage,
                   classes: &[usize]|
     -> Result<Explained> {
        let x = preprocess.batch(std::slice::from_ref(image)); // (1, 3, S, S)
        let seen = preprocess.to_image(x.index_axis(Axis(0), 0));
        let side = i64::from(size);
        let x = Tensor::from_slice(x.as_slice().context("a contiguous batch")?);
        let x = x.view([1, 3, side, side]);
        let (mut panels, mut probs, mut peaks) =
            (vec![seen.clone()], Vec::new(), Vec::new());
        for &c in classes {
            let cam = grad_cam(&tch_classifier, &x, &[c])?;
            let (map, alpha) = (cam.scaled(0), CONFIG.gradcam_alpha);
            panels.push(overlay(&seen, &map, cam.rows, cam.cols, alpha)?);
            probs = metrics::softmax(&cam.logits[0]);
            peaks.push(cam.maps[0].iter().copied().fold(0.0, f32::max));
        }
        Ok((panels, probs, peaks))
    };
    confusions(studied, matrix, predicted, &names, &explain)?;
    photos(classifier, &explain)
}

/// The most frequent confusions: for each, the surest right answer and the
/// surest mistake, with the evidence for the predicted and the true breed.
fn confusions(
    studied: &Studied,
    matrix: &ConfusionMatrix,
    predicted: &[usize],
    names: &[String],
    explain: &dyn Fn(&DynamicImage, &[usize]) -> Result<Explained>,
) -> Result<()> {
    let Studied {
        images,
        labels,
        probs,
        ..
    } = studied;
    // pairs: (count, truth, predicted), most frequent first
    let pairs = matrix.most_frequent_confusions(CONFIG.gradcam_pairs);
    let surest = |truth: usize, guess: usize| {
        (0..labels.len())
            .filter(|&i| labels[i] == truth && predicted[i] == guess)
            .max_by(|&a, &b| {
                probs[a][guess].total_cmp(&probs[b][guess]).then(b.cmp(&a))
            })
    };
    let (mut tiles, mut rows) = (Vec::new(), Vec::new());
    let short = |c: usize| figures::short(&names[c]);
    for &(count, t, p) in &pairs {
        let (right, wrong) = (surest(t, t), surest(t, p));
        let (Some(right), Some(wrong)) = (right, wrong) else {
            // a breed with no right answer at all has nothing to contrast
            continue;
        };
        let (panels, right_probs, right_peaks) = explain(&images[right], &[t])?;
        tiles.extend(panels);
        let (panels, wrong_probs, wrong_peaks) =
            explain(&images[wrong], &[p, t])?;
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
    let grid = figures::gradcam_confusions(&tiles, rows)?;
    let path = save_png(&grid, out_dir().join("gradcam.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}

/// The two real photos, with the evidence for the classifier's first and second
/// guess.
fn photos(
    classifier: &mut Classifier,
    explain: &dyn Fn(&DynamicImage, &[usize]) -> Result<Explained>,
) -> Result<()> {
    let mut tiles = Vec::new();
    for photo in CONFIG.photos {
        let image = open_image(&workspace_root().join(photo))?;
        let scores = classifier.classify(&image, 2)?;
        let (panels, _, _) =
            explain(&image, &[scores[0].index, scores[1].index])?;
        tiles.extend(panels);
        let top: Vec<String> = scores
            .iter()
            .map(|s| format!("{} {:.1} %", s.name, 100.0 * s.probability))
            .collect();
        println!("{photo}: {}", top.join(", "));
    }
    let grid = figures::gradcam_photos(&tiles, &CONFIG.photos)?;
    let path = save_png(&grid, out_dir().join("gradcam_photos.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: gradcam
