//! The quickstart's measurement steps: accuracy on the held-out test split, per
//! breed, and a gallery of right and unsure answers. They use the example's
//! imports (`super::*`).

use super::*;

// ANCHOR: test_split
/// The held-out test split, its labels, and the classifier's accuracy on it.
pub struct TestSplit {
    pub images: Vec<DynamicImage>,
    pub labels: Vec<usize>,
    pub report: PerBreedAccuracy,
}

pub fn test_split(
    classifier: &mut Classifier,
    prep: &Preprocess,
) -> Result<TestSplit> {
    step("test_split");
    // `test_per_breed` renders of every breed from indices no training command
    // draws.
    let (images, labels) =
        eval::test_split(prep.size, CONFIG.synth_seed, CONFIG.test_per_breed)?;
    let started = Instant::now();
    let report = PerBreedAccuracy::measure(classifier, &images, &labels, 64)?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "{} test images in {took:.1} s ({:.0} images/s)",
        images.len(),
        images.len() as f64 / took
    );
    println!("test top-1   {:.1}%", 100.0 * report.overall());
    ensure!(
        report.overall() >= CONFIG.min_test_top1,
        "test top-1 {:.3} is below the promised {}",
        report.overall(),
        CONFIG.min_test_top1
    );
    Ok(TestSplit {
        images,
        labels,
        report,
    })
}
// ANCHOR_END: test_split

// ANCHOR: per_breed
/// Accuracy per breed, and the breed each is most often taken for when it is
/// wrong.
pub fn per_breed(report: &PerBreedAccuracy) -> Result<()> {
    step("per_breed");
    println!("{}", report.table("test top-1"));
    Ok(())
}
// ANCHOR_END: per_breed

// ANCHOR: hard_breeds
/// The same breeds under photo-like conditions (the wild split: look-alikes
/// drawn closer, a busier room, rotation, zoom, occlusion, exposure, colour
/// casts, blur, noise, JPEG), where they differ: the clean split is nearly
/// solved.
pub fn hard_breeds(
    classifier: &mut Classifier,
    prep: &Preprocess,
) -> Result<()> {
    step("hard_breeds");
    // An image near a decision boundary may flip with a CPU's last bits: one
    // image of a breed's hundred moves its bar by one point.
    tolerance(Tolerance::absolute(1.0));
    let (images, labels) = eval::synth_split(
        prep.size,
        CONFIG.synth_seed,
        CONFIG.test_per_breed,
        SynthSplit::Test,
        WILD_SEVERITY,
    )?;
    let wild = PerBreedAccuracy::measure(classifier, &images, &labels, 64)?;
    let top1: Vec<f64> = (0..wild.class_names.len())
        .map(|i| 100.0 * wild.of(i).unwrap_or(0.0))
        .collect();
    println!(
        "{} wild test images (severity {WILD_SEVERITY}): top-1 {:.1}%",
        images.len(),
        100.0 * wild.overall()
    );
    println!(
        "breeds below 90%: {} of {}",
        top1.iter().filter(|&&a| a < 90.0).count(),
        top1.len()
    );
    let chart = figures::wild_per_breed_chart(&wild.class_names, top1)?;
    let path = save_png(&chart, out_dir().join("per_breed.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: hard_breeds

// ANCHOR: gallery
/// Every test image's top answer, and two galleries: a right answer per breed,
/// and the answers the model was least sure of.
pub fn gallery(
    classifier: &mut Classifier,
    test: &TestSplit,
) -> Result<Vec<Vec<BreedScore>>> {
    step("gallery");
    let TestSplit {
        images,
        labels,
        report,
    } = test;
    let ranked = classifier.classify_batch(images, 1)?;
    // The first right answer of each breed, and the answers the model was least
    // sure of.
    let mut right = Vec::new();
    for b in 0..report.class_names.len() {
        if let Some(i) = (0..images.len())
            .find(|&i| labels[i] == b && ranked[i][0].index == b)
        {
            right.push(i);
        }
    }
    let mut unsure: Vec<usize> = (0..images.len()).collect();
    unsure.sort_by(|&a, &b| {
        ranked[a][0]
            .probability
            .total_cmp(&ranked[b][0].probability)
    });
    unsure.truncate(CONFIG.gallery);
    for (title, set, file) in [
        ("a right answer per breed", &right, "gallery_right.png"),
        ("the least confident answers", &unsure, "gallery_unsure.png"),
    ] {
        println!("{title}:");
        for &i in set.iter() {
            let guess = &ranked[i][0];
            let verdict = if guess.index == labels[i] {
                "right"
            } else {
                "WRONG"
            };
            println!(
                "  {:<18} → {:<18} {:>5.1}%  {verdict}",
                report.class_names[labels[i]],
                guess.name,
                100.0 * guess.probability
            );
        }
        let grid = figures::gallery(title, set, images, &ranked)?;
        let path = save_png(&grid, out_dir().join(file))?;
        println!("saved        {}", display_path(&path));
    }
    Ok(ranked)
}
// ANCHOR_END: gallery
