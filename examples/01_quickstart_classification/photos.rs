//! The quickstart's steps on real photos, on the classifier's confidence, and
//! on bad input. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: real_photo
/// A real photo of a tabby, which no SynthCats breed is.
pub fn real_photo(
    classifier: &mut Classifier,
    root: &Path,
) -> Result<DynamicImage> {
    step("real_photo");
    let photo_path = root.join(CONFIG.cat_photo);
    let photo = open_image(&photo_path)?;
    println!(
        "photo        {} ({} x {})",
        CONFIG.cat_photo,
        photo.width(),
        photo.height()
    );
    println!(
        "provenance   scikit-image 0.26.0 `skimage/data/chelsea.png`, CC0 \
         (Stefan van der Walt)"
    );
    let top = classifier.classify(&photo, CONFIG.top_k)?;
    figures::print_ranking(&top);
    let path = save_png(
        &figures::prediction_figure(&photo, &top, "a real tabby: top 5")?,
        out_dir().join("real_photo.png"),
    )?;
    println!("saved        {}", display_path(&path));
    Ok(photo)
}
// ANCHOR_END: real_photo

// ANCHOR: no_cat
pub fn no_cat(
    classifier: &mut Classifier,
    root: &Path,
) -> Result<DynamicImage> {
    step("no_cat");
    let coffee = open_image(&root.join(CONFIG.no_cat_photo))?;
    println!(
        "photo        {} ({} x {})",
        CONFIG.no_cat_photo,
        coffee.width(),
        coffee.height()
    );
    let top = classifier.classify(&coffee, CONFIG.top_k)?;
    figures::print_ranking(&top);
    let path = save_png(
        &figures::prediction_figure(&coffee, &top, "no cat at all: top 5")?,
        out_dir().join("no_cat.png"),
    )?;
    println!("saved        {}", display_path(&path));
    Ok(coffee)
}
// ANCHOR_END: no_cat

// ANCHOR: confidence
/// How sure the model is on its test split, on the tabby and on the coffee cup.
pub fn confidence(
    classifier: &mut Classifier,
    ranked: &[Vec<BreedScore>],
    photo: &DynamicImage,
    coffee: &DynamicImage,
) -> Result<()> {
    step("confidence");
    let top1 = |img: &DynamicImage, c: &mut Classifier| -> Result<f32> {
        Ok(c.classify(img, 1)?[0].probability)
    };
    let test_conf: Vec<f32> = ranked.iter().map(|p| p[0].probability).collect();
    let mean_test = test_conf.iter().sum::<f32>() / test_conf.len() as f32;
    let low = test_conf.iter().filter(|&&p| p < 0.5).count();
    println!(
        "mean top-1 probability, SynthCats test  {:>5.1}%",
        100.0 * mean_test
    );
    println!(
        "test images under 50%                   {low} of {}",
        test_conf.len()
    );
    println!(
        "the real tabby                          {:>5.1}%",
        100.0 * top1(photo, classifier)?
    );
    println!(
        "the coffee cup                          {:>5.1}%",
        100.0 * top1(coffee, classifier)?
    );
    Ok(())
}
// ANCHOR_END: confidence

// ANCHOR: errors
/// What a missing file, a file that is no image, and the wrong model give back.
pub fn errors(root: &Path, onnx: &Path) -> Result<()> {
    step("errors");
    let missing = open_image(&root.join("assets/photos/no-such-cat.jpg"));
    println!("missing file:   {}", missing.unwrap_err());
    let not_image = out_dir().join("notes.txt");
    std::fs::write(&not_image, "whiskers, not pixels")?;
    println!("not an image:   {}", open_image(&not_image).unwrap_err());
    println!("wrong model:    {}", Generator::load(onnx).unwrap_err());
    println!(
        "not ONNX:       {}",
        Classifier::load(&not_image).unwrap_err()
    );
    Ok(())
}
// ANCHOR_END: errors
