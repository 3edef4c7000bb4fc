//! Quickstart: classify a cat's breed with the bundled classifier on ONNX Runtime.
//!
//! Resolves the classifier from the model repository in `assets/`, reads its input
//! contract from the ONNX file, prepares an image step by step, ranks the breeds, measures
//! top-1 on held-out SynthCats test images, and tries a real photo.
//!
//! Run it with `cargo run --release --example 01_quickstart_classification`.
// verify-docs: timeout_s = 120, budget_s = 60

// ANCHOR: uses
use std::time::Instant;

use anyhow::{Result, ensure};
use image::DynamicImage;
use tinycats_core::{Breed, class_index};
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_notebook::{display_path, out_dir, step, workspace_root};
use tinycats_pipelines::eval::test_split;
use tinycats_plot::{BarChart, ImageGrid, heatmap, save_png, side_by_side, upscale_nearest};
use tinycats_runtime::ndarray::Axis;
use tinycats_runtime::preprocess::open_image;
use tinycats_runtime::quality::PerBreedAccuracy;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{BreedScore, Classifier, Generator, ModelRepo};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The model repository: a folder in the Hugging Face layout, relative to the checkout
    /// (`assets/` holds the bundled models), or `OWNER/NAME` from the Hugging Face cache.
    repo: &'static str,
    /// How many breeds to list per image.
    top_k: usize,
    /// Breed of the first example image (a name the model knows).
    breed: &'static str,
    /// Held-out SynthCats test images rendered per breed for the accuracy measurement.
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
    /// Top-1 test accuracy below which this example fails: the bundled model's promise.
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

/// `top` as aligned lines `name  probability%`.
fn print_ranking(top: &[BreedScore]) {
    for (rank, p) in top.iter().enumerate() {
        println!(
            "  {}. {:<18} {:>5.1}%",
            rank + 1,
            p.name,
            100.0 * p.probability
        );
    }
}

/// The image (scaled to 256 px high) beside a bar chart of its top breeds.
fn prediction_figure(
    image: &DynamicImage,
    top: &[BreedScore],
    title: &str,
) -> Result<image::RgbImage> {
    let rgb = image.to_rgb8();
    let shown = image::imageops::resize(
        &rgb,
        (rgb.width() * 256).div_ceil(rgb.height()),
        256,
        image::imageops::FilterType::Triangle,
    );
    let chart = BarChart::new(
        title,
        top.iter().map(|p| p.name.clone()).collect(),
        top.iter()
            .map(|p| 100.0 * f64::from(p.probability))
            .collect(),
    )
    .value_label("probability (%)")
    .range(0.0, 100.0)
    .render(420, 256)?;
    Ok(side_by_side(&[shown, chart], 12))
}

fn main() -> Result<()> {
    // ANCHOR: repo
    step("repo");
    let root = workspace_root();
    let repo = ModelRepo::resolve(&root.join(CONFIG.repo).to_string_lossy(), false)?;
    let onnx = repo.file(CLASSIFIER_ONNX)?;
    println!("repository   {:?}", repo.origin());
    println!("classifier   {}", onnx.display());
    println!("size         {:.2} MB", onnx.metadata()?.len() as f64 / 1e6);
    // ANCHOR_END: repo

    // ANCHOR: hub_cache
    step("hub_cache");
    // The layout `huggingface-cli download OWNER/NAME` leaves in the Hugging Face cache:
    // refs/main names a commit, snapshots/<commit>/ holds the files. Written here by hand,
    // because this book builds offline.
    let cache = out_dir().join("hf-cache/hub");
    let commit = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
    let base = cache.join("models--tinycats--bundled");
    let snapshot = base.join("snapshots").join(commit);
    std::fs::create_dir_all(snapshot.join("classifier"))?;
    std::fs::create_dir_all(base.join("refs"))?;
    std::fs::write(base.join("refs/main"), commit)?;
    std::fs::copy(&onnx, snapshot.join(CLASSIFIER_ONNX))?;
    let hub = ModelRepo::from_hf_cache(&cache, "tinycats/bundled", "main")?;
    let from_hub = hub.file(CLASSIFIER_ONNX)?;
    println!("classifier   {}", display_path(&from_hub));
    println!(
        "loads        {} classes",
        Classifier::load(&from_hub)?.class_names().len()
    );
    // ANCHOR_END: hub_cache

    // ANCHOR: load
    step("load");
    let mut classifier = Classifier::load(&onnx)?;
    println!("{}", classifier.metadata().signature());
    // ANCHOR_END: load

    // ANCHOR: contract
    step("contract");
    let prep = classifier.preprocess().clone();
    println!("image size   {} x {} pixels", prep.size, prep.size);
    println!("mean         {:?}", prep.norm.mean);
    println!("std          {:?}", prep.norm.std);
    println!("breeds       {}", classifier.class_names().len());
    for (i, name) in classifier.class_names().iter().enumerate() {
        println!("  {i:>2} {name}");
    }
    // ANCHOR_END: contract

    // ANCHOR: provenance
    step("provenance");
    for (key, value) in classifier.metadata().iter() {
        if key.starts_with("provenance.") || key == "preset" || key == "model_type" {
            println!("{key:<24} {value}");
        }
    }
    // ANCHOR_END: provenance

    // ANCHOR: test_image
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
    // ANCHOR_END: test_image

    // ANCHOR: open
    step("open");
    let image = open_image(&input_path)?; // EXIF orientation applied, if the file has one
    println!(
        "opened       {} x {} {:?}",
        image.width(),
        image.height(),
        image.color()
    );
    // ANCHOR_END: open

    // ANCHOR: resize
    step("resize");
    let x = prep.apply(&image); // shorter side → size, centre crop, normalise: (3, S, S)
    let seen = prep.to_image(x.view()); // what the model sees, back as pixels
    let seen_path = save_png(
        &side_by_side(&[image.to_rgb8(), upscale_nearest(&seen, 3)], 12),
        out_dir().join("resized.png"),
    )?;
    println!("model input  {:?}", x.shape());
    println!("saved        {}", display_path(&seen_path));
    // ANCHOR_END: resize

    // ANCHOR: normalise
    step("normalise");
    let pixels = image::imageops::thumbnail(&image.to_rgb8(), prep.size, prep.size);
    for c in 0..3 {
        let raw: Vec<f64> = pixels.pixels().map(|p| f64::from(p[c]) / 255.0).collect();
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
            "channel {}    pixels mean {raw_mean:.3} in [0, 1] → normalised mean {mean:+.3}, std {std:.3}",
            ["R", "G", "B"][c]
        );
    }
    // The three channels the network reads, on one colour scale from −2.5 to +2.5.
    let channels = (0..3)
        .map(|c| {
            let values: Vec<f32> = x.index_axis(Axis(0), c).iter().copied().collect();
            Ok(heatmap(
                &values,
                prep.size as usize,
                prep.size as usize,
                3,
                (-2.5, 2.5),
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    let grid = ImageGrid::new(3)
        .col_labels(vec!["R".into(), "G".into(), "B".into()])
        .title("normalised channels: -2.5 purple, 0 teal, +2.5 yellow")
        .render(&channels)?;
    let path = save_png(&grid, out_dir().join("normalised.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: normalise

    // ANCHOR: logits
    step("logits");
    let batch = x.insert_axis(Axis(0)); // (1, 3, S, S)
    let logits = classifier.logits(batch.view())?; // (1, 13)
    println!("logits shape {:?}", logits.shape());
    for (name, v) in classifier.class_names().iter().zip(logits.row(0)) {
        println!("  {name:<18} {v:+.2}");
    }
    let chart = BarChart::new(
        format!("logits of the held-out {}", CONFIG.breed),
        classifier.class_names().to_vec(),
        logits.row(0).iter().map(|&v| f64::from(v)).collect(),
    )
    .value_label("logit (higher: more likely)");
    let path = save_png(&chart.render(560, 380)?, out_dir().join("logits.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: logits

    // ANCHOR: top_k
    step("top_k");
    let top = classifier.classify(&image, CONFIG.top_k)?;
    print_ranking(&top);
    let figure = prediction_figure(
        &image,
        &top,
        &format!("held-out {}: top {}", CONFIG.breed, CONFIG.top_k),
    )?;
    let path = save_png(&figure, out_dir().join("prediction.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: top_k

    // ANCHOR: test_split
    step("test_split");
    // `test_per_breed` renders of every breed from indices no training command draws.
    let (images, labels) = test_split(prep.size, CONFIG.synth_seed, CONFIG.test_per_breed)?;
    let started = Instant::now();
    let report = PerBreedAccuracy::measure(&mut classifier, &images, &labels, 64)?;
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
    // ANCHOR_END: test_split

    // ANCHOR: per_breed
    step("per_breed");
    // Accuracy per breed, and the breed each is most often taken for when it is wrong.
    println!("{}", report.table("test top-1"));
    let chart = BarChart::new(
        "top-1 per breed, held-out SynthCats test split",
        report.class_names.clone(),
        (0..report.class_names.len())
            .map(|i| 100.0 * report.of(i).unwrap_or(0.0))
            .collect(),
    )
    .value_label("top-1 (%)")
    .range(0.0, 100.0);
    let path = save_png(&chart.render(640, 400)?, out_dir().join("per_breed.png"))?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: per_breed

    // ANCHOR: gallery
    step("gallery");
    let ranked = classifier.classify_batch(&images, 1)?;
    // The first right answer of each breed, and the answers the model was least sure of.
    let mut right = Vec::new();
    for b in 0..report.class_names.len() {
        if let Some(i) = (0..images.len()).find(|&i| labels[i] == b && ranked[i][0].index == b) {
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
        let grid = ImageGrid::new(set.len().min(13))
            .scale(2)
            .col_labels(
                set.iter()
                    .map(|&i| format!("{:.0}%", 100.0 * ranked[i][0].probability))
                    .collect(),
            )
            .title(format!("{title} (top-1 probability)"))
            .render(&set.iter().map(|&i| images[i].to_rgb8()).collect::<Vec<_>>())?;
        let path = save_png(&grid, out_dir().join(file))?;
        println!("saved        {}", display_path(&path));
    }
    // ANCHOR_END: gallery

    // ANCHOR: real_photo
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
        "provenance   scikit-image 0.26.0 `skimage/data/chelsea.png`, CC0 (Stefan van der Walt)"
    );
    let top = classifier.classify(&photo, CONFIG.top_k)?;
    print_ranking(&top);
    let path = save_png(
        &prediction_figure(&photo, &top, "a real tabby: top 5")?,
        out_dir().join("real_photo.png"),
    )?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: real_photo

    // ANCHOR: no_cat
    step("no_cat");
    let coffee = open_image(&root.join(CONFIG.no_cat_photo))?;
    println!(
        "photo        {} ({} x {})",
        CONFIG.no_cat_photo,
        coffee.width(),
        coffee.height()
    );
    let top = classifier.classify(&coffee, CONFIG.top_k)?;
    print_ranking(&top);
    let path = save_png(
        &prediction_figure(&coffee, &top, "no cat at all: top 5")?,
        out_dir().join("no_cat.png"),
    )?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: no_cat

    // ANCHOR: confidence
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
        100.0 * top1(&photo, &mut classifier)?
    );
    println!(
        "the coffee cup                          {:>5.1}%",
        100.0 * top1(&coffee, &mut classifier)?
    );
    // ANCHOR_END: confidence

    // ANCHOR: errors
    step("errors");
    let missing = open_image(&root.join("assets/photos/no-such-cat.jpg"));
    println!("missing file:   {}", missing.unwrap_err());
    let not_image = out_dir().join("notes.txt");
    std::fs::write(&not_image, "whiskers, not pixels")?;
    println!("not an image:   {}", open_image(&not_image).unwrap_err());
    println!("wrong model:    {}", Generator::load(&onnx).unwrap_err());
    println!(
        "not ONNX:       {}",
        Classifier::load(&not_image).unwrap_err()
    );
    // ANCHOR_END: errors

    // ANCHOR: exercise_mirror
    step("exercise_mirror");
    // Every test image mirrored left to right: does the answer change?
    let mirrored: Vec<DynamicImage> = images.iter().map(DynamicImage::fliph).collect();
    let mirrored_top = classifier.classify_batch(&mirrored, 1)?;
    let changed = (0..images.len())
        .filter(|&i| mirrored_top[i][0].index != ranked[i][0].index)
        .count();
    let right = (0..images.len())
        .filter(|&i| mirrored_top[i][0].index == labels[i])
        .count();
    println!(
        "{} test images: {changed} answers change when mirrored; mirrored top-1 {:.1}%",
        images.len(),
        100.0 * right as f64 / images.len() as f64
    );
    // ANCHOR_END: exercise_mirror

    // ANCHOR: exercise_small
    step("exercise_small");
    // Ten test images per breed, shrunk to fewer pixels and scaled back up to the input size.
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
                    .resize_exact(side, side, image::imageops::FilterType::Triangle)
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
    // ANCHOR_END: exercise_small

    // ANCHOR: exercise_lookalikes
    step("exercise_lookalikes");
    // For each breed, the other class that gets the most probability on its test images.
    let classes = report.class_names.len();
    let all = classifier.classify_batch(&images, classes)?; // every class, ranked
    println!("breed               runner-up           its mean probability");
    for b in 0..classes {
        let mut mass = vec![0f64; classes];
        let mine: Vec<usize> = (0..images.len()).filter(|&i| labels[i] == b).collect();
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
    // ANCHOR_END: exercise_lookalikes

    Ok(())
}
