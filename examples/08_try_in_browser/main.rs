//! Try it in your browser: the Rust side of the book's in-browser demo. It
//! draws the cat that the page's test must reproduce (the same graph, seed,
//! breed, steps and guidance on ONNX Runtime), shows the portable noise that
//! both sides compute bit for bit, and measures what the page's int8 generator
//! costs in quality against the fp32 graph.
//!
//! `main` runs the steps in the chapter's order, each one function below.
//!
//! Run it with `cargo run --release --example 08_try_in_browser` after `cargo
//! xtask setup`.
// verify-docs: timeout_s = 120, budget_s = 40, libtorch = false

// ANCHOR: uses
use anyhow::Result;
use image::DynamicImage;
use tinycats_core::permalink::{BOOK_URL, Permalink};
use tinycats_core::{SampleOptions, Solver};
use tinycats_notebook::{
    Tolerance, display_path, out_dir, step, tolerance, workspace_root,
};
use tinycats_runtime::repo::{
    CLASSIFIER_ONNX, GENERATOR_INT8_ONNX, GENERATOR_ONNX,
};
use tinycats_runtime::{
    Breed, Classifier, GenerateOptions, Generator, ModelRepo,
};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// The breed and seed of the reference cat: the page's test generates the
    /// same one.
    breed: &'static str,
    seed: u64,
    /// The cat of the permalink step: another breed, seed, place in its batch
    /// and sampler than the reference's, so that the page's test shows a
    /// link setting every one of them.
    link_breed: &'static str,
    link_seed: u64,
    link_image: u64,
    link_sampler: SampleOptions,
    /// Samples per breed when comparing the int8 graph with the fp32 one.
    per_breed: usize,
}

const CONFIG: Config = Config {
    breed: "Siamese",
    seed: 0,
    link_breed: "Bombay",
    link_seed: 7,
    link_image: 1,
    link_sampler: SampleOptions {
        steps: 8,
        shift: 1.0,
        solver: Solver::Euler,
        cfg_scale: 2.0,
        guidance_interval: [0.0, 1.0],
    },
    per_breed: 1,
};
// ANCHOR_END: config

// ANCHOR: main
fn main() -> Result<()> {
    let repo = ModelRepo::local(workspace_root().join("assets"))?;
    noise();
    let mut graphs = reference(&repo)?;
    permalink(&mut graphs.1)?;
    int8_vs_fp32(&repo, &mut graphs)?;
    Ok(())
}
// ANCHOR_END: main

// ANCHOR: noise
/// The first values of the reference cat's noise, as numbers and as bits.
fn noise() {
    step("noise");
    // The first values of the reference cat's noise (stream 0 of seed 0). The
    // page computes them with the same algorithm in JavaScript and gets the
    // same 32-bit floats.
    let noise = tinycats_core::noise::images(CONFIG.seed, 1, 3 * 64 * 64);
    println!("noise[0..4]  {:?}", &noise[..4]);
    println!(
        "as f32 bits  {:08x?}",
        noise[..4].iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}
// ANCHOR_END: noise

// ANCHOR: reference
/// The reference cat on the page's two graphs; returns them, int8 first.
fn reference(repo: &ModelRepo) -> Result<(Generator, Generator)> {
    step("reference");
    // The page's default sampler (the library's: 10 Heun steps, guidance 3 at t
    // in [0.3, 1]) on both of its graphs.
    let mut generator = Generator::load(repo.file(GENERATOR_INT8_ONNX)?)?;
    let options = GenerateOptions {
        breed: Breed::Name(CONFIG.breed.into()),
        seed: CONFIG.seed,
        batch: 1,
        ..GenerateOptions::default()
    };
    let mut fp32 = Generator::load(repo.file(GENERATOR_ONNX)?)?;
    for (name, model) in [("int8", &mut generator), ("fp32", &mut fp32)] {
        let mut steps = 0;
        let cat = model.generate(&options, |_| steps += 1)?.remove(0);
        let path = out_dir().join(format!("siamese_seed0_{name}.png"));
        cat.save(&path)?;
        let mean = cat.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>()
            / cat.len() as f64;
        println!(
            "{name}: {} seed {}, {steps} steps, {}×{} pixels, mean level \
             {mean:.1}",
            CONFIG.breed,
            CONFIG.seed,
            cat.width(),
            cat.height()
        );
        println!("saved {}", display_path(&path));
    }
    Ok((generator, fp32))
}
// ANCHOR_END: reference

// ANCHOR: permalink
/// A cat as a link: the settings that name it, in the page's address, and the
/// cat itself.
fn permalink(fp32: &mut Generator) -> Result<()> {
    step("permalink");
    let link = Permalink {
        breed: CONFIG.link_breed.into(),
        seed: CONFIG.link_seed,
        image: CONFIG.link_image,
        options: CONFIG.link_sampler,
        graph: "fp32".into(),
    };
    // The image's place in its batch picks its noise stream: draw the batch,
    // keep that one.
    let options = GenerateOptions {
        breed: Breed::Name(link.breed.clone()),
        sampling: link.options,
        seed: link.seed,
        batch: link.image as usize + 1,
    };
    let cat = fp32.generate(&options, |_| {})?.remove(link.image as usize);
    let path = out_dir().join("permalink_fp32.png");
    cat.save(&path)?;
    println!("{}", link.url(BOOK_URL));
    println!("saved {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: permalink

// ANCHOR: int8_vs_fp32
/// One cat per breed from both graphs: pixel difference, and whether the
/// classifier agrees.
fn int8_vs_fp32(
    repo: &ModelRepo,
    graphs: &mut (Generator, Generator),
) -> Result<()> {
    step("int8_vs_fp32");
    // ONNX Runtime's fp32 kernels round differently on AVX-512 and AVX2 CPUs,
    // and the int8 graph quantizes those activations: the RMSE moves in its
    // last digits between machines.
    tolerance(Tolerance::relative(0.05));
    let mut classifier = Classifier::load(repo.file(CLASSIFIER_ONNX)?)?;
    let (generator, fp32) = graphs;
    let breeds: Vec<String> = generator.class_names().to_vec();
    let (mut agree_int8, mut agree_fp32, mut sq, mut n) =
        (0, 0, 0.0f64, 0usize);
    for breed in &breeds {
        let options = GenerateOptions {
            breed: Breed::Name(breed.clone()),
            seed: CONFIG.seed,
            batch: CONFIG.per_breed,
            ..GenerateOptions::default()
        };
        let small = generator.generate(&options, |_| {})?;
        let large = fp32.generate(&options, |_| {})?;
        for (a, b) in small.iter().zip(&large) {
            for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
                sq += ((f64::from(*x) - f64::from(*y)) / 255.0).powi(2);
            }
            n += a.len();
            let called =
                |img: &image::RgbImage, c: &mut Classifier| -> Result<bool> {
                    let top =
                        c.classify(&DynamicImage::ImageRgb8(img.clone()), 1)?;
                    Ok(&top[0].name == breed)
                };
            agree_int8 += usize::from(called(a, &mut classifier)?);
            agree_fp32 += usize::from(called(b, &mut classifier)?);
        }
    }
    let total = breeds.len() * CONFIG.per_breed;
    println!("{total} cats, one per breed, the same noise for both graphs");
    println!(
        "called their breed: int8 {agree_int8}/{total}, fp32 \
         {agree_fp32}/{total}"
    );
    println!(
        "pixel RMSE, int8 against fp32: {:.4}",
        (sq / n as f64).sqrt()
    );
    for (name, file) in
        [("int8", GENERATOR_INT8_ONNX), ("fp32", GENERATOR_ONNX)]
    {
        let bytes = std::fs::metadata(repo.file(file)?)?.len();
        println!("{name} graph: {:.1} MB", bytes as f64 / 1e6);
    }
    Ok(())
}
// ANCHOR_END: int8_vs_fp32
