//! The quickstart's exercises: mirrored images, fewer pixels, and look-alike
//! breeds. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: exercise_mirror
/// Every test image mirrored left to right: does the answer change?
pub fn mirror(
    classifier: &mut Classifier,
    test: &TestSplit,
    ranked: &[Vec<BreedScore>],
) -> Result<()> {
    step("exercise_mirror");
    let TestSplit { images, labels, .. } = test;
    let mirrored: Vec<DynamicImage> =
        images.iter().map(DynamicImage::fliph).collect();
    let mirrored_top = classifier.classify_batch(&mirrored, 1)?;
    let changed = (0..images.len())
        .filter(|&i| mirrored_top[i][0].index != ranked[i][0].index)
        .count();
    let right = (0..images.len())
        .filter(|&i| mirrored_top[i][0].index == labels[i])
        .count();
    println!(
        "{} test images: {changed} answers change when mirrored; mirrored \
         top-1 {:.1}%",
        images.len(),
        100.0 * right as f64 / images.len() as f64
    );
    Ok(())
}
// ANCHOR_END: exercise_mirror

// ANCHOR: exercise_small
/// Ten test images per breed, shrunk to fewer pixels and scaled back up to the
/// input size.
pub fn small(classifier: &mut Classifier, test: &TestSplit) -> Result<()> {
    step("exercise_small");
    let TestSplit { images, labels, .. } = test;
    let few: Vec<usize> = (0..images.len())
        .filter(|&i| i % (CONFIG.test_per_breed as usize) < 10)
        .collect();
    println!("pixels  top-1 on {} test images", few.len());
    for side in [64, 32, 16, 8] {
        let blurred: Vec<DynamicImage> = few
            .iter()
            .map(|&i| {
                let (w, h) = (images[i].width(), images[i].height());
                images[i]
                    .resize_exact(
                        side,
                        side,
                        image::imageops::FilterType::Triangle,
                    )
                    .resize_exact(w, h, image::imageops::FilterType::Triangle)
            })
            .collect();
        let top = classifier.classify_batch(&blurred, 1)?;
        let right = few
            .iter()
            .zip(&top)
            .filter(|(i, p)| p[0].index == labels[**i])
            .count();
        println!(
            "{side:>6}  {:>5.1}%",
            100.0 * right as f64 / few.len() as f64
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_small

// ANCHOR: exercise_lookalikes
/// For each breed, the other class that gets the most probability on its test
/// images.
pub fn lookalikes(classifier: &mut Classifier, test: &TestSplit) -> Result<()> {
    step("exercise_lookalikes");
    let TestSplit {
        images,
        labels,
        report,
    } = test;
    let classes = report.class_names.len();
    // every class, ranked
    let all = classifier.classify_batch(images, classes)?;
    println!("breed               runner-up           its mean probability");
    for b in 0..classes {
        let mut mass = vec![0f64; classes];
        let mine: Vec<usize> =
            (0..images.len()).filter(|&i| labels[i] == b).collect();
        for &i in &mine {
            for p in &all[i] {
                mass[p.index] += f64::from(p.probability) / mine.len() as f64;
            }
        }
        mass[b] = -1.0;
        let runner = (0..classes)
            .max_by(|&x, &y| mass[x].total_cmp(&mass[y]))
            .expect("classes");
        println!(
            "{:<18}  {:<18}  {:.4}",
            report.class_names[b], report.class_names[runner], mass[runner]
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_lookalikes
