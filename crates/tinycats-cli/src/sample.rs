//! `tinycats sample`: cats of chosen breeds from a trained generator (EMA weights), saved as
//! a PNG grid.

use std::path::PathBuf;

use clap::Args;
use tinycats_data::normalize_class_name;
use tinycats_models::device::parse_device;
use tinycats_models::flow;
use tinycats_models::tasks::seeded_noise;
use tinycats_models::tch::{Kind, Tensor};
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
                cfg.class_names
                    .iter()
                    .position(|n| normalize_class_name(n) == normalize_class_name(b))
                    .map(|i| i as i64)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown breed `{b}`: this model knows {}",
                            cfg.class_names.join(", ")
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let breeds = labels.len() as i64;
    // One breed per column, `per_breed` rows.
    let y = Tensor::from_slice(&labels)
        .repeat([args.per_breed])
        .to_device(device); // (per_breed·B,)
    let noise = seeded_noise(
        args.seed,
        [
            args.per_breed * breeds,
            cfg.in_channels,
            cfg.input_size,
            cfg.input_size,
        ],
        device,
    );
    let started = std::time::Instant::now();
    let x = flow::sample(&model, &noise, &y, &opts)?;
    let elapsed = started.elapsed();
    let images01 = flow::to_unit_range(&x.to_kind(Kind::Float), &cfg.mean, &cfg.std);
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
