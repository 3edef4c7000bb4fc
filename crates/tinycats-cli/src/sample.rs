//! `tinycats sample`: cats of chosen breeds from a trained generator (EMA weights), saved as
//! a PNG grid.

use std::path::PathBuf;

use clap::Args;
use tinycats_core::permalink::{BOOK_URL, MAX_SEED, Permalink};
use tinycats_core::{Breed, SampleOptions, class_index};
use tinycats_models::device::parse_device;
use tinycats_models::tasks::sample_labels;
use tinycats_models::tch::Tensor;
use tinycats_models::{TinyDit, images};

use crate::backend::{Backend, Precision, generator_folder, graph_precision, load_generator};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Model or run folder with `config.json` and `model.safetensors` (or `model.onnx` /
    /// `model_int8.onnx`), a generator's `.onnx` file, or a model repository (`assets`).
    #[arg(long)]
    pub model: PathBuf,
    /// Breeds to draw, comma-separated (names from the model's `class_names`, matched
    /// ignoring case, spaces and underscores); all breeds when omitted.
    #[arg(long, value_delimiter = ',')]
    pub breed: Vec<String>,
    /// Images per breed.
    #[arg(long, default_value_t = 4)]
    pub per_breed: i64,
    #[command(flatten)]
    pub sampler: crate::eval::SamplerArgs,
    /// Seed of the starting noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG: the grid, one breed per column.
    #[arg(long, default_value = "samples.png")]
    pub out: PathBuf,
    /// Also write every sample as its own PNG into this folder (created), named by breed and
    /// index: `Siamese_00.png`, `Siamese_01.png`, …
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// ort (ONNX Runtime, the default) or tch (libtorch); the same seed gives the same
    /// images on both.
    #[arg(long, value_enum, default_value_t = Backend::Ort)]
    pub backend: Backend,
    /// int8 (the default on ONNX Runtime: 1.7× faster; at the default sampler the bundled
    /// generator's breed fidelity, Fréchet distance and recall stay within fp32's intervals,
    /// as the model card measured) or fp32 (the same images as libtorch).
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// auto, cpu or cuda (libtorch only).
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    let opts = args.sampler.options_for(&args.model)?;
    let precision = Precision::resolve(args.precision, args.backend, Precision::Int8)?;
    if !(1..=64).contains(&args.per_breed) {
        anyhow::bail!("`--per-breed` = {}: expected 1..=64", args.per_breed);
    }
    crate::preflight::out_folder(&args.out, "--out")?;
    crate::preflight::expect_generator(&args.model, args.backend)?;
    let labels_of = |class_names: &[String]| -> anyhow::Result<Vec<usize>> {
        if args.breed.is_empty() {
            return Ok((0..class_names.len()).collect());
        }
        args.breed
            .iter()
            .map(|b| Ok(class_index(class_names, &Breed::Name(b.clone()), false)?))
            .collect()
    };
    let started = std::time::Instant::now();
    // One breed per column, `per_breed` rows: image i is of breed labels[i % breeds] and
    // starts from noise stream i of the seed, on either back-end.
    let (images01, names, on) = match args.backend {
        Backend::Tch => {
            args.sampler
                .no_guide("autoguidance runs on ONNX Runtime (leave out --backend tch)")?;
            let device = parse_device(&args.device)?;
            let (_vs, model) = TinyDit::load(&generator_folder(&args.model), device)?;
            let labels: Vec<i64> = labels_of(&model.config().class_names)?
                .into_iter()
                .map(|l| l as i64)
                .collect();
            let y = Tensor::from_slice(&labels)
                .repeat([args.per_breed])
                .to_device(device); // (per_breed·B,)
            let x = sample_labels(&model, &y, &opts, args.seed)?;
            let names = labels
                .iter()
                .map(|&l| model.config().class_names[l as usize].clone())
                .collect::<Vec<_>>();
            (x, names, format!("{device:?} (libtorch)"))
        }
        Backend::Ort => {
            let scratch = tempfile::tempdir()?;
            let mut generator = load_generator(&args.model, scratch.path(), precision)?;
            args.sampler
                .attach_guide(&mut generator, scratch.path(), precision)?;
            let labels = labels_of(generator.class_names())?;
            let y: Vec<usize> = (0..args.per_breed as usize)
                .flat_map(|_| labels.iter().copied())
                .collect();
            let noise = generator.noise(args.seed, y.len());
            let x = generator.sample_labels(noise, &y, &opts, |_| {})?;
            let norm = generator.preprocess().norm;
            let pixels = x
                .indexed_iter()
                .map(|((_, c, _, _), &v)| norm.denormalize(c, v).clamp(0.0, 1.0));
            let shape: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
            let x = Tensor::from_slice(&pixels.collect::<Vec<f32>>()).reshape(shape);
            let names = labels
                .iter()
                .map(|&l| generator.class_names()[l].clone())
                .collect::<Vec<_>>();
            (
                x,
                names,
                format!("CPU (ONNX Runtime, {})", graph_precision(&generator)),
            )
        }
    };
    let elapsed = started.elapsed();
    let n = images01.size()[0];
    images::save_grid(&images01, names.len() as i64, &args.out)?;
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        for (i, img) in images::to_rgb8_all(&images01)?.iter().enumerate() {
            let name = format!("{}_{:02}.png", names[i % names.len()], i / names.len());
            let path = dir.join(name);
            images::save_png(img, &path)?;
        }
        println!("{n} PNGs in {}", dir.display());
    }
    println!(
        "{n} images in {:.2} s ({:.1} ms/image) on {on} -> {}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / n as f64,
        args.out.display()
    );
    let graph = match precision {
        Precision::Int8 if args.backend == Backend::Ort => "int8-dynamic",
        _ => "fp32",
    };
    let guided_by_a_model = args.sampler.guide_model.is_some();
    for line in links(
        &names,
        n as usize,
        args.seed,
        &opts,
        graph,
        guided_by_a_model,
    ) {
        println!("{line}");
    }
    Ok(())
}

/// Most images whose links are printed one by one.
const LINKS_SHOWN: usize = 13;

/// The lines that give each drawn image as a link to the book's in-browser page, which draws
/// it again from its settings (image `i` of the grid, row by row, is breed `names[i % B]` from
/// noise stream `i`); or why there is none. The page runs the bundled generator without a
/// guide model.
fn links(
    names: &[String],
    n: usize,
    seed: u64,
    opts: &SampleOptions,
    graph: &str,
    guided_by_a_model: bool,
) -> Vec<String> {
    if guided_by_a_model {
        return vec!["no links to the book's page: it has no autoguidance".into()];
    }
    if seed > MAX_SEED {
        return vec![format!(
            "no links to the book's page: its seeds go up to {MAX_SEED}, not {seed}"
        )];
    }
    let link = |i: usize| Permalink {
        breed: names[i % names.len()].clone(),
        seed,
        image: i as u64,
        options: *opts,
        graph: graph.into(),
    };
    let mut out =
        vec!["the same cats in the book's page (which runs the bundled generator):".to_owned()];
    out.extend((0..n.min(LINKS_SHOWN)).map(|i| format!("  {}", link(i).url(BOOK_URL))));
    if n > LINKS_SHOWN {
        out.push(format!(
            "  … and {} more: image i of the grid, row by row, is `image=i` in its link",
            n - LINKS_SHOWN
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_image_links_to_its_breed_and_noise_stream() {
        let names = vec!["Bengal".to_owned(), "Bombay".to_owned()];
        let lines = links(&names, 4, 7, &SampleOptions::DEFAULT, "fp32", false);
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[1].ends_with("#breed=Bengal&seed=7&steps=10&solver=heun&guidance=3&interval=0.3,1&shift=1&graph=fp32"), "{}", lines[1]);
        assert!(
            lines[4].contains("#breed=Bombay&seed=7&image=3&"),
            "{}",
            lines[4]
        );
        let many = links(&names, 20, 7, &SampleOptions::DEFAULT, "fp32", false);
        assert_eq!(many.len(), 1 + LINKS_SHOWN + 1);
        assert!(many.last().unwrap().contains("7 more"));
        assert!(
            links(&names, 4, 1 << 40, &SampleOptions::DEFAULT, "fp32", false)[0]
                .contains("seeds go up to")
        );
        assert!(
            links(&names, 4, 7, &SampleOptions::DEFAULT, "fp32", true)[0].contains("autoguidance")
        );
    }
}
