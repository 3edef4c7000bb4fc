//! `tinycats sample`: cats of chosen breeds from a trained generator (EMA weights), saved as
//! a PNG grid.

use std::path::PathBuf;

use clap::Args;
use tinycats_core::{Breed, class_index};
use tinycats_models::device::parse_device;
use tinycats_models::tasks::sample_labels;
use tinycats_models::tch::Tensor;
use tinycats_models::{TinyDit, images};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Model or run folder with `config.json` and `model.safetensors`.
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
    /// Output PNG.
    #[arg(long, default_value = "samples.png")]
    pub out: PathBuf,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

pub fn run(args: SampleArgs) -> anyhow::Result<()> {
    let opts = args.sampler.options()?;
    if !(1..=64).contains(&args.per_breed) {
        anyhow::bail!("`--per-breed` = {}: expected 1..=64", args.per_breed);
    }
    let device = parse_device(&args.device)?;
    let (_vs, model) = TinyDit::load(&args.model, device)?;
    let cfg = model.config();
    let labels: Vec<i64> = if args.breed.is_empty() {
        (0..cfg.num_classes).collect()
    } else {
        args.breed
            .iter()
            .map(|b| {
                let breed = Breed::Name(b.clone());
                Ok(class_index(&cfg.class_names, &breed, false)? as i64)
            })
            .collect::<anyhow::Result<_>>()?
    };
    let breeds = labels.len() as i64;
    // One breed per column, `per_breed` rows.
    let y = Tensor::from_slice(&labels)
        .repeat([args.per_breed])
        .to_device(device); // (per_breed·B,)
    let started = std::time::Instant::now();
    let images01 = sample_labels(&model, &y, &opts, args.seed)?; // image i from noise stream i
    let elapsed = started.elapsed();
    images::save_grid(&images01, breeds, &args.out)?;
    println!(
        "{} images in {:.2} s ({:.1} ms/image) -> {}",
        y.size()[0],
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / y.size()[0] as f64,
        args.out.display()
    );
    Ok(())
}
