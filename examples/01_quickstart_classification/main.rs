//! Quickstart: classify a cat's breed with the bundled classifier on ONNX
//! Runtime.
//!
//! Resolves the classifier from the model repository in `assets/`, reads its
//! input contract from the ONNX file, prepares an image step by step, ranks the
//! breeds, measures top-1 on held-out SynthCats test images, and tries a real
//! photo. `main` runs the steps in order; each step is one function below, and
//! the chapter shows them in the same order. The steps of the chapter's later
//! sections are in `measure.rs` (the test split) and `photos.rs` (real photos
//! and errors), the exercises in `exercises.rs`, and the printing and plotting
//! helpers in `figures.rs`.
//!
//! Run it with `cargo run --release --example 01_quickstart_classification`.
// verify-docs: timeout_s = 120, budget_s = 60, libtorch = false

mod exercises;
mod figures;
mod measure;
mod photos;

// ANCHOR: uses
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, ensure};
use image::DynamicImage;
use tinycats_core::{Breed, class_index};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit, WILD_SEVERITY};
use tinycats_notebook::{
    Tolerance, display_path, out_dir, step, tolerance, workspace_root,
};
use tinycats_pipelines::eval;
use tinycats_plot::save_png;
use tinycats_runtime::ndarray::{Array3, Axis};
use tinycats_runtime::preprocess::open_image;
use tinycats_runtime::quality::PerBreedAccuracy;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{
    BreedScore, Classifier, Generator, ModelRepo, Preprocess,
};

use measure::TestSplit;
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The model repository: a folder in the Hugging Face layout, relative to
    /// the checkout (`assets/` holds the bundled models), or `OWNER/NAME`
    /// from the Hugging Face cache.
    repo: &'static str,
    /// How many breeds to list per image.
    top_k: usize,
    /// Breed of the first example image (a name the model knows).
    breed: &'static str,
    /// Held-out SynthCats test images rendered per breed for the accuracy
    /// measurement.
    test_per_breed: u64,
    /// Side of the first example image as rendered, before the model's resize.
    render_size: u32,
    /// Seed of SynthCats (the bundled models were trained on seed 0).
    synth_seed: u64,
    /// Least confident answers shown in the gallery.
    gallery: usize,
    /// A real photo of a cat (CC0, see `assets/photos/README.md`).
    cat_photo: &'static str,
    /// A real photo without a cat (CC0, same provenance).
    no_cat_photo: &'static str,
    /// Top-1 test accuracy below which this example fails: the bundled model's
    /// promise.
    min_test_top1: f64,
}

const CONFIG: Config = Config {
    repo: "assets",
    top_k: 5,
    breed: "Bengal",
    test_per_breed: 100,
    render_size: 192,
    synth_seed: 0,
    gallery: 8,
    cat_photo: "assets/photos/chelsea.png",
    no_cat_photo: "assets/photos/coffee.png",
    min_test_top1: 0.95,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    let root = workspace_root();
    let onnx = repo(&root)?;
    hub_cache(&onnx)?;
    let mut classifier = load(&onnx)?;
    let prep = contract(&classifier);
    provenance(&classifier);
    let input_path = test_image(&classifier)?;
    let image = open(&input_path)?;
    let x = resize(&prep, &image)?;
    normalise(&prep, &image, &x)?;
    logits(&mut classifier, x)?;
    top_k(&mut classifier, &image)?;
    let test = measure::test_split(&mut classifier, &prep)?;
    measure::per_breed(&test.report)?;
    measure::hard_breeds(&mut classifier, &prep)?;
    let ranked = measure::gallery(&mut classifier, &test)?;
    let photo = photos::real_photo(&mut classifier, &root)?;
    let coffee = photos::no_cat(&mut classifier, &root)?;
    photos::confidence(&mut classifier, &ranked, &photo, &coffee)?;
    photos::errors(&root, &onnx)?;
    exercises::mirror(&mut classifier, &test, &ranked)?;
    exercises::small(&mut classifier, &test)?;
    exercises::lookalikes(&mut classifier, &test)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: repo
/// Finds the model repository and the classifier's ONNX file in it.
fn repo(root: &Path) -> Result<PathBuf> {
    step("repo");
    let repo =
        ModelRepo::resolve(&root.join(CONFIG.repo).to_string_lossy(), false)?;
    let onnx = repo.file(CLASSIFIER_ONNX)?;
    println!("repository   {:?}", repo.origin());
    println!("classifier   {}", onnx.display());
    println!("size         {:.2} MB", onnx.metadata()?.len() as f64 / 1e6);
    Ok(onnx)
}
// ANCHOR_END: repo

// ANCHOR: hub_cache
/// The same file, found through the layout the Hugging Face cache uses.
fn hub_cache(onnx: &Path) -> Result<()> {
    step("hub_cache");
    // The layout `huggingface-cli download OWNER/NAME` leaves in the Hugging
    // Face cache: refs/main names a commit, snapshots/<commit>/ holds the
    // files. Written here by hand, because this book builds offline.
    let cache = out_dir().join("hf-cache/hub");
    let commit = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
    let base = cache.join("models--tinycats--bundled");
    let snapshot = base.join("snapshots").join(commit);
    std::fs::create_dir_all(snapshot.join("classifier"))?;
    std::fs::create_dir_all(base.join("refs"))?;
    std::fs::write(base.join("refs/main"), commit)?;
    std::fs::copy(onnx, snapshot.join(CLASSIFIER_ONNX))?;
    let hub = ModelRepo::from_hf_cache(&cache, "tinycats/bundled", "main")?;
    let from_hub = hub.file(CLASSIFIER_ONNX)?;
    println!("classifier   {}", display_path(&from_hub));
    println!(
        "loads        {} classes",
        Classifier::load(&from_hub)?.class_names().len()
    );
    Ok(())
}
// ANCHOR_END: hub_cache

// ANCHOR: load
fn load(onnx: &Path) -> Result<Classifier> {
    step("load");
    let classifier = Classifier::load(onnx)?;
    println!("{}", classifier.metadata().signature());
    Ok(classifier)
}
// ANCHOR_END: load

// ANCHOR: contract
/// The input contract the ONNX file carries: size, normalisation, breed names.
fn contract(classifier: &Classifier) -> Preprocess {
    step("contract");
    let prep = classifier.preprocess().clone();
    println!("image size   {} x {} pixels", prep.size, prep.size);
    println!("mean         {:?}", prep.norm.mean);
    println!("std          {:?}", prep.norm.std);
    println!("breeds       {}", classifier.class_names().len());
    for (i, name) in classifier.class_names().iter().enumerate() {
        println!("  {i:>2} {name}");
    }
    prep
}
// ANCHOR_END: contract

// ANCHOR: provenance
fn provenance(classifier: &Classifier) {
    step("provenance");
    for (key, value) in classifier.metadata().iter() {
        if key.starts_with("provenance.")
            || key == "preset"
            || key == "model_type"
        {
            println!("{key:<24} {value}");
        }
    }
}
// ANCHOR_END: provenance

// ANCHOR: test_image
/// Renders a held-out SynthCats image of `CONFIG.breed` and saves it as a PNG.
fn test_image(classifier: &Classifier) -> Result<PathBuf> {
    step("test_image");
    let breed = class_index(
        classifier.class_names(),
        &Breed::Name(CONFIG.breed.into()),
        false,
    )?;
    let synth = SynthCats::new(SynthConfig {
        size: CONFIG.render_size,
        seed: CONFIG.synth_seed,
        ..SynthConfig::default()
    })?;
    let first_test_index = SynthSplit::Test.index_offset();
    let input_path = out_dir().join("input.png");
    save_png(&synth.render(breed, first_test_index)?, &input_path)?;
    println!(
        "a held-out {} rendered at {} px",
        CONFIG.breed, CONFIG.render_size
    );
    println!("saved        {}", display_path(&input_path));
    Ok(input_path)
}
// ANCHOR_END: test_image

// ANCHOR: open
fn open(path: &Path) -> Result<DynamicImage> {
    step("open");
    // EXIF orientation applied, if the file has one
    let image = open_image(path)?;
    println!(
        "opened       {} x {} {:?}",
        image.width(),
        image.height(),
        image.color()
    );
    Ok(image)
}
// ANCHOR_END: open

// ANCHOR: resize
/// The model's input for `image`, and a picture of what the model sees.
fn resize(prep: &Preprocess, image: &DynamicImage) -> Result<Array3<f32>> {
    step("resize");
    // shorter side → size, centre crop, normalise: (3, S, S)
    let x = prep.apply(image);
    let seen = prep.to_image(x.view()); // what the model sees, back as pixels
    let seen_path = save_png(
        &figures::model_input(image, &seen),
        out_dir().join("resized.png"),
    )?;
    println!("model input  {:?}", x.shape());
    println!("saved        {}", display_path(&seen_path));
    Ok(x)
}
// ANCHOR_END: resize

// ANCHOR: normalise
/// Each channel's mean before and after normalisation, and the channels as
/// pictures.
fn normalise(
    prep: &Preprocess,
    image: &DynamicImage,
    x: &Array3<f32>,
) -> Result<()> {
    step("normalise");
    let pixels =
        image::imageops::thumbnail(&image.to_rgb8(), prep.size, prep.size);
    for c in 0..3 {
        let raw: Vec<f64> =
            pixels.pixels().map(|p| f64::from(p[c]) / 255.0).collect();
        let raw_mean = raw.iter().sum::<f64>() / raw.len() as f64;
        let channel = x.index_axis(Axis(0), c);
        let n = channel.len() as f64;
        let mean = channel.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let std = (channel
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        println!(
            "channel {}    pixels mean {raw_mean:.3} in [0, 1] → normalised \
             mean {mean:+.3}, std {std:.3}",
            ["R", "G", "B"][c]
        );
    }
    // The three channels the network reads, on one colour scale.
    let grid = figures::normalised_channels(x)?;
    let path = save_png(&grid, out_dir().join("normalised.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: normalise

// ANCHOR: logits
/// One call of the network on a batch of one: a row of 13 logits.
fn logits(classifier: &mut Classifier, x: Array3<f32>) -> Result<()> {
    step("logits");
    let batch = x.insert_axis(Axis(0)); // (1, 3, S, S)
    let logits = classifier.logits(batch.view())?; // (1, 13)
    println!("logits shape {:?}", logits.shape());
    for (name, v) in classifier.class_names().iter().zip(logits.row(0)) {
        println!("  {name:<18} {v:+.2}");
    }
    let chart = figures::logits_chart(
        CONFIG.breed,
        classifier.class_names(),
        &logits.row(0).to_vec(),
    )?;
    let path = save_png(&chart, out_dir().join("logits.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: logits

// ANCHOR: top_k
fn top_k(classifier: &mut Classifier, image: &DynamicImage) -> Result<()> {
    step("top_k");
    let top = classifier.classify(image, CONFIG.top_k)?;
    figures::print_ranking(&top);
    let figure = figures::prediction_figure(
        image,
        &top,
        &format!("held-out {}: top {}", CONFIG.breed, CONFIG.top_k),
    )?;
    let path = save_png(&figure, out_dir().join("prediction.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: top_k
