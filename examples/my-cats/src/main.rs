//! my-cats: a crate of one's own on top of tinycats. It draws four Siamese cats
//! with the bundled generator, asks the bundled classifier what it sees in
//! each, and saves them.
//!
//! Built and run by `cargo xtask verify-docs` like the book's other examples,
//! as its own package (`cargo run --release -p my-cats`), so the page "Your own
//! crate" shows what a crate that depends on tinycats really prints.
// verify-docs: timeout_s = 120, budget_s = 30, libtorch = false

// ANCHOR: uses
use anyhow::Result;
use image::{DynamicImage, RgbImage};
use tinycats_notebook::{display_path, out_dir, step, workspace_root};
use tinycats_runtime::preprocess::open_image;
use tinycats_runtime::repo::{CLASSIFIER_ONNX, GENERATOR_ONNX};
use tinycats_runtime::{
    Breed, Classifier, GenerateOptions, Generator, ModelRepo,
};
// ANCHOR_END: uses

fn main() -> Result<()> {
    // ANCHOR: load
    step("load");
    // The models bundled in the tinycats checkout this crate was built against.
    let repo = ModelRepo::local(workspace_root().join("assets"))?;
    let mut generator = Generator::load(repo.file(GENERATOR_ONNX)?)?;
    let mut classifier = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    println!(
        "generator: {} breeds, {} px; classifier: {} classes",
        generator.class_names().len(),
        generator.image_size(),
        classifier.class_names().len()
    );
    // ANCHOR_END: load

    // ANCHOR: generate
    step("generate");
    let options = GenerateOptions {
        breed: Breed::Name("Siamese".into()),
        seed: 7,
        batch: 4,
        ..GenerateOptions::default() /* the book's sampler: 10 Heun steps,
                                      * guidance 3 from t = 0.3 */
    };
    let cats = generator.generate(&options, |_| {})?;
    for (i, cat) in cats.iter().enumerate() {
        let top =
            classifier.classify(&DynamicImage::ImageRgb8(cat.clone()), 2)?;
        println!(
            "cat {i}: {} {:.0} %, then {} {:.0} %",
            top[0].name,
            100.0 * top[0].probability,
            top[1].name,
            100.0 * top[1].probability
        );
    }
    // ANCHOR_END: generate

    // ANCHOR: save
    step("save");
    // The four cats side by side, twice their size so that a reader can see
    // them.
    let side = generator.image_size() as u32;
    let mut row = RgbImage::new(4 * side, side);
    for (i, cat) in cats.iter().enumerate() {
        image::imageops::replace(&mut row, cat, i as i64 * side as i64, 0);
    }
    let row = image::imageops::resize(
        &row,
        8 * side,
        2 * side,
        image::imageops::FilterType::Nearest,
    );
    let path = out_dir().join("siamese.png");
    row.save(&path)?;
    println!("saved {}", display_path(&path));
    // ANCHOR_END: save

    // ANCHOR: exercise_steps
    step("exercise_steps");
    // The same four Siamese noises with fewer Heun steps: how sure is the
    // classifier?
    for steps in [1, 2, 4, 10] {
        let mut few = options.clone();
        few.sampling.steps = steps;
        let cats = generator.generate(&few, |_| {})?;
        let mut sure = Vec::new();
        for cat in cats {
            let scores = classifier
                .classify(&DynamicImage::ImageRgb8(cat), usize::MAX)?;
            let siamese = scores.iter().find(|s| s.name == "Siamese");
            sure.push(format!(
                "{:>3.0} %",
                100.0 * siamese.map_or(0.0, |s| s.probability)
            ));
        }
        println!("{steps:>2} steps: P(Siamese) = {}", sure.join(", "));
    }
    // ANCHOR_END: exercise_steps

    // ANCHOR: exercise_photo
    step("exercise_photo");
    // A photo from disk: any PNG, JPEG or WebP, decoded upright and within a
    // memory budget.
    let photo =
        open_image(&workspace_root().join("assets/photos/chelsea.png"))?;
    for score in classifier.classify(&photo, 3)? {
        println!("{:<18} {:>5.1} %", score.name, 100.0 * score.probability);
    }
    // ANCHOR_END: exercise_photo

    // ANCHOR: exercise_error
    step("exercise_error");
    // A breed the generator does not know: the error names it and the known
    // ones.
    let unknown = GenerateOptions {
        breed: Breed::Name("Tabby".into()),
        ..options.clone()
    };
    match generator.generate(&unknown, |_| {}) {
        Ok(_) => println!("generated a Tabby?"),
        Err(e) => println!("{e}"),
    }
    // ANCHOR_END: exercise_error
    Ok(())
}
