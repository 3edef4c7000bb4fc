//! `tinycats eval classifier` and `tinycats eval generator`: the two quality figures of the
//! bundled models, measured the same way the book and the model card report them.
//!
//! - classifier: top-1 on the held-out SynthCats test split (render indices no training
//!   command ever draws), per breed and overall;
//! - generator: **breed fidelity**, the classifier's top-1 on generated samples compared
//!   with the breed they were drawn for, averaged over the breeds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};
use image::DynamicImage;
use tinycats_data::{SynthCats, SynthConfig, SynthSplit};
use tinycats_models::device::parse_device;
use tinycats_models::flow::{SampleOptions, Solver};
use tinycats_models::{TinyDit, images, tasks};
use tinycats_runtime::quality::PerBreedAccuracy;
use tinycats_runtime::repo::CLASSIFIER_ONNX;
use tinycats_runtime::{Classifier, ModelRepo};

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Top-1 of an ONNX classifier on the held-out SynthCats test split.
    #[command(after_help = "Examples:\n  tinycats eval classifier --model assets --per-breed 200")]
    Classifier(ClassifierArgs),
    /// Breed fidelity of a generator, judged by an ONNX classifier.
    #[command(
        after_help = "Examples:\n  tinycats eval generator --model assets/generator --per-breed 50\n  tinycats eval generator --model runs/gen --per-breed 10 --cfg-scale 2"
    )]
    Generator(GeneratorArgs),
    /// fp32 against int8 (both schemes): sizes, speed, classifier top-1, breed agreement
    /// and pixel RMSE of the generator.
    #[command(
        after_help = "Examples:\n  tinycats eval quantization --repo assets --test-per-breed 100 --samples-per-breed 8 --reps 10"
    )]
    Quantization(QuantizationArgs),
}

#[derive(Debug, Args)]
pub struct ClassifierArgs {
    /// A `.onnx` file or a model-repository folder (`classifier/model.onnx` inside).
    #[arg(long, default_value = "assets")]
    model: String,
    /// Test images per breed.
    #[arg(long, default_value_t = 200)]
    per_breed: u64,
    /// SynthCats seed (the bundled models were trained on seed 0).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// Generator folder with `config.json` and `model.safetensors`.
    #[arg(long, default_value = "assets/generator")]
    model: PathBuf,
    /// The judge: a `.onnx` file or a model-repository folder.
    #[arg(long, default_value = "assets")]
    classifier: String,
    /// Samples per breed.
    #[arg(long, default_value_t = 50)]
    per_breed: i64,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Seed of the starting noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

/// Sampler flags; their defaults are [`SampleOptions::default`].
#[derive(Debug, Args)]
pub struct SamplerArgs {
    /// Integration steps.
    #[arg(long, default_value_t = SampleOptions::default().steps)]
    pub steps: usize,
    /// euler or heun.
    #[arg(long, default_value_t = SampleOptions::default().solver)]
    pub solver: Solver,
    /// Time-grid shift (1 = uniform; > 1 spends more steps near the noise).
    #[arg(long, default_value_t = SampleOptions::default().shift)]
    pub shift: f64,
    /// Classifier-free guidance scale (1 = none).
    #[arg(long, default_value_t = SampleOptions::default().cfg_scale)]
    pub cfg_scale: f64,
}

impl SamplerArgs {
    pub fn options(&self) -> anyhow::Result<SampleOptions> {
        let opts = SampleOptions {
            steps: self.steps,
            shift: self.shift,
            solver: self.solver,
            cfg_scale: self.cfg_scale,
        };
        opts.validate()?;
        Ok(opts)
    }
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Classifier(args) => classifier(args),
        EvalCommand::Generator(args) => generator(args),
        EvalCommand::Quantization(args) => quantization(args),
    }
}

fn load_classifier(spec: &str) -> anyhow::Result<Classifier> {
    Ok(Classifier::load(crate::classify::model_path(spec, false)?)?)
}

/// The held-out SynthCats test split at `size` px: `per_breed` renders of every breed, with
/// their labels.
fn test_split(
    size: u32,
    seed: u64,
    per_breed: u64,
) -> anyhow::Result<(Vec<DynamicImage>, Vec<usize>)> {
    let synth = SynthCats::new(SynthConfig {
        size,
        seed,
        ..SynthConfig::default()
    })?;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for breed in 0..synth.presets().len() {
        for i in 0..per_breed {
            let render = synth.render(breed, SynthSplit::Test.index_offset() + i)?;
            images.push(DynamicImage::ImageRgb8(render));
            labels.push(breed);
        }
    }
    Ok((images, labels))
}

fn classifier(args: ClassifierArgs) -> anyhow::Result<()> {
    if args.per_breed == 0 {
        anyhow::bail!("`--per-breed` = 0: expected at least 1");
    }
    let mut judge = load_classifier(&args.model)?;
    let size = judge.preprocess().size;
    let started = Instant::now();
    let (images, labels) = test_split(size, args.seed, args.per_breed)?;
    let report = PerBreedAccuracy::measure(&mut judge, &images, &labels, 64)?;
    print_report(&report, "test top-1");
    println!(
        "{} SynthCats test images ({} per breed, seed {}, {size} px) in {:.1} s",
        images.len(),
        args.per_breed,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn generator(args: GeneratorArgs) -> anyhow::Result<()> {
    let opts = args.sampler.options()?;
    let device = parse_device(&args.device)?;
    let (_vs, model) = TinyDit::load(&args.model, device)?;
    let mut judge = load_classifier(&args.classifier)?;
    let breeds: Vec<i64> = (0..model.config().num_classes).collect();
    let started = Instant::now();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    // One breed at a time keeps the batch (and memory) small.
    for &breed in &breeds {
        let seed = args.seed + breed as u64;
        let x = tasks::sample_breeds(&model, &[breed], args.per_breed, &opts, seed)?;
        for img in images::to_rgb8_all(&x)? {
            images.push(DynamicImage::ImageRgb8(img));
            labels.push(breed as usize);
        }
    }
    let sampled = started.elapsed();
    let report = PerBreedAccuracy::measure(&mut judge, &images, &labels, 64)?;
    print_report(&report, "breed fidelity");
    println!(
        "{} samples ({} per breed, {} steps {:?}, guidance {}, shift {}, seed {}) in {:.1} s on {device:?}",
        images.len(),
        args.per_breed,
        opts.steps,
        opts.solver,
        opts.cfg_scale,
        opts.shift,
        args.seed,
        sampled.as_secs_f64()
    );
    Ok(())
}

fn print_report(report: &PerBreedAccuracy, what: &str) {
    for (i, name) in report.class_names.iter().enumerate() {
        let (hit, total) = report.counts[i];
        let confused = report
            .most_confused_with(i)
            .map(|(j, c)| format!("  (else mostly {} ×{c})", report.class_names[j]))
            .unwrap_or_default();
        println!(
            "{name:<18} {:>6.1}%  {hit:>4}/{total:<4}{confused}",
            100.0 * report.of(i).unwrap_or(0.0)
        );
    }
    println!(
        "{what}: {:.2}% (mean over breeds), {:.2}% overall",
        100.0 * report.mean_per_breed(),
        100.0 * report.overall()
    );
}

/// `tinycats eval quantization`: fp32 against both int8 schemes, on one repository.
#[derive(Debug, Args)]
pub struct QuantizationArgs {
    /// Model repository folder with `classifier/model.onnx` and `generator/model.onnx`.
    #[arg(long, default_value = "assets")]
    repo: PathBuf,
    /// Where the int8 graphs are written.
    #[arg(long, default_value = "target/quantization")]
    out_dir: PathBuf,
    /// Test images per breed for the classifier's top-1.
    #[arg(long, default_value_t = 100)]
    test_per_breed: u64,
    /// Generated samples per breed for breed agreement and pixel RMSE.
    #[arg(long, default_value_t = 10)]
    samples_per_breed: usize,
    /// Euler steps of the generator runs.
    #[arg(long, default_value_t = SampleOptions::default().steps)]
    steps: usize,
    /// Guidance scale of the generator runs.
    #[arg(long, default_value_t = SampleOptions::default().cfg_scale as f32)]
    guidance: f32,
    /// Timed repetitions per measurement (after one warm-up call).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Seed of SynthCats and of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

struct Variant {
    name: &'static str,
    scheme: Option<tinycats_onnx::Scheme>,
}

fn quantization(args: QuantizationArgs) -> anyhow::Result<()> {
    use tinycats_runtime::generator::gaussian_noise;
    use tinycats_runtime::ndarray::{Array4, Axis};
    use tinycats_runtime::repo::GENERATOR_ONNX;
    use tinycats_runtime::{Generator, Sampler};

    let repo = ModelRepo::local(&args.repo)?;
    let fp32 = [repo.file(CLASSIFIER_ONNX)?, repo.file(GENERATOR_ONNX)?];
    std::fs::create_dir_all(&args.out_dir)?;
    let variants = [
        Variant {
            name: "fp32",
            scheme: None,
        },
        Variant {
            name: "int8 weight-only",
            scheme: Some(tinycats_onnx::Scheme::WeightOnly),
        },
        Variant {
            name: "int8 dynamic",
            scheme: Some(tinycats_onnx::Scheme::Dynamic),
        },
    ];
    let mut judge = Classifier::load(&fp32[0])?;
    let size = judge.preprocess().size;
    let (test, labels) = test_split(size, args.seed, args.test_per_breed)?;
    let time_ms = |reps: usize, f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        f()?; // warm-up
        let started = Instant::now();
        for _ in 0..reps.max(1) {
            f()?;
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0 / reps.max(1) as f64)
    };
    let mut reference: Option<Vec<Array4<f32>>> = None;
    println!(
        "| graph | classifier MB | generator MB | classifier ms / 64 images | generator ms / call, batch 1 | batch 26 | test top-1 | breed agreement | pixel RMSE vs fp32 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for v in &variants {
        let paths = match v.scheme {
            None => fp32.clone(),
            Some(scheme) => {
                let slug = v.name.replace([' ', '-'], "_");
                let mut out = [PathBuf::new(), PathBuf::new()];
                for (i, (src, kind)) in fp32.iter().zip(["classifier", "generator"]).enumerate() {
                    let q = tinycats_onnx::quantize(&tinycats_onnx::read_model(src)?, scheme)?;
                    out[i] = args.out_dir.join(format!("{kind}-{slug}.onnx"));
                    tinycats_onnx::write_model(&q, &out[i])?;
                }
                out
            }
        };
        let mb = |p: &Path| -> anyhow::Result<f64> { Ok(std::fs::metadata(p)?.len() as f64 / 1e6) };
        let mut classifier = Classifier::load(&paths[0])?;
        let batch = classifier.preprocess().batch(&test[..64.min(test.len())]);
        let cls_ms = time_ms(args.reps, &mut || {
            classifier.logits(batch.view())?;
            Ok(())
        })?;
        let top1 = PerBreedAccuracy::measure(&mut classifier, &test, &labels, 64)?.overall();

        let mut generator = Generator::load(&paths[1])?;
        let s = generator.image_size();
        let mut call_ms = [0.0; 2];
        for (slot, b) in [1usize, 26].into_iter().enumerate() {
            let x = gaussian_noise(args.seed, (b, 3, s, s));
            let t = vec![0.5f32; b];
            let y: Vec<i64> = (0..b as i64).map(|i| i % 14).collect();
            call_ms[slot] = time_ms(args.reps, &mut || {
                generator.velocity(x.view(), &t, &y)?;
                Ok(())
            })?;
        }
        let breeds = generator.class_names().len();
        let mut samples = Vec::with_capacity(breeds);
        let (mut images, mut requested) = (Vec::new(), Vec::new());
        for breed in 0..breeds {
            let noise = gaussian_noise(args.seed + breed as u64, (args.samples_per_breed, 3, s, s));
            let x = generator.sample(
                noise,
                breed,
                args.steps,
                args.guidance,
                Sampler::Euler,
                |_| {},
            )?;
            for img in x.axis_iter(Axis(0)) {
                images.push(DynamicImage::ImageRgb8(
                    generator.preprocess().to_image(img),
                ));
                requested.push(breed);
            }
            samples.push(x);
        }
        let agreement =
            PerBreedAccuracy::measure(&mut judge, &images, &requested, 64)?.mean_per_breed();
        let rmse = match &reference {
            None => "–".to_string(),
            Some(fp) => {
                let pre = generator.preprocess().clone();
                let (mut sq, mut n) = (0.0f64, 0usize);
                for (a, b) in fp.iter().zip(&samples) {
                    for (ia, ib) in a.axis_iter(Axis(0)).zip(b.axis_iter(Axis(0))) {
                        let (pa, pb) = (pre.to_image(ia), pre.to_image(ib));
                        for (x, y) in pa.as_raw().iter().zip(pb.as_raw()) {
                            let d = (f64::from(*x) - f64::from(*y)) / 255.0;
                            sq += d * d;
                            n += 1;
                        }
                    }
                }
                format!("{:.4}", (sq / n.max(1) as f64).sqrt())
            }
        };
        if reference.is_none() {
            reference = Some(samples);
        }
        println!(
            "| {} | {:.2} | {:.2} | {cls_ms:.1} | {:.2} | {:.1} | {:.1}% | {:.1}% | {rmse} |",
            v.name,
            mb(&paths[0])?,
            mb(&paths[1])?,
            call_ms[0],
            call_ms[1],
            100.0 * top1,
            100.0 * agreement,
        );
    }
    println!(
        "\n{} test images ({} per breed); {} samples per breed, Euler {} steps, guidance {}, seed {}; \
         breed agreement judged by the fp32 classifier; RMSE on 8-bit pixels scaled to [0, 1]; \
         times are the mean of {} calls after one warm-up",
        test.len(),
        args.test_per_breed,
        args.samples_per_breed,
        args.steps,
        args.guidance,
        args.seed,
        args.reps
    );
    Ok(())
}
