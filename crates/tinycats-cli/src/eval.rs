//! `tinycats eval classifier` and `tinycats eval generator`: the two quality figures of the
//! bundled models, measured the same way the book and the model card report them.
//!
//! - classifier: top-1 on the held-out SynthCats test split (render indices no training
//!   command ever draws), per breed and overall;
//! - generator: **breed fidelity**, the classifier's top-1 on generated samples compared
//!   with the breed they were drawn for, averaged over the breeds; then, on the same
//!   samples, the **quality report** of [`tinycats_pipelines::quality`] in the SynthCats
//!   feature network's space: Fréchet distance beside the real-vs-real baseline, precision
//!   and recall, the sharpness ratio and (with `--train-images`) the memorisation check.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use tinycats_core::metrics::{self, ConfusionMatrix};
use tinycats_core::{SampleOptions, Solver};
use tinycats_data::SynthSplit;
use tinycats_models::TinyDit;
use tinycats_models::device::parse_device;
use tinycats_models::features::FeatureNet;
use tinycats_pipelines::eval::{breed_fidelity, split_logits, test_split};
use tinycats_pipelines::quality::{self, QualityOptions};
use tinycats_pipelines::quantization::{pixel_rmse, time_ms, write_variants};
use tinycats_runtime::quality::PerBreedAccuracy;
use tinycats_runtime::repo::{CLASSIFIER_ONNX, GENERATOR_ONNX};

use crate::backend::{Backend, Precision, generator_folder, graph_precision, load_generator};
use tinycats_runtime::{Classifier, Generator, ModelRepo};

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
    /// How well an autoencoder redraws held-out renders: PSNR, and the generator's quality
    /// report on its reconstructions (the best a latent generator on it can reach).
    #[command(
        after_help = "Examples:\n  tinycats eval autoencoder --model runs/ae --images 650 --sheet ae.png"
    )]
    Autoencoder(AutoencoderArgs),
}

#[derive(Debug, Args)]
pub struct AutoencoderArgs {
    /// Autoencoder folder (`config.json` and `model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// Held-out SynthCats test renders to redraw (seed 0; breed `i mod 13`).
    #[arg(long, default_value_t = 650)]
    images: usize,
    /// The SynthCats feature network of the quality report (`none` skips the report).
    #[arg(long, default_value = "assets/features")]
    features: String,
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// Also save the first 13 renders (one per breed) above their reconstructions here.
    #[arg(long)]
    sheet: Option<PathBuf>,
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
    /// Which test split: `clean` (the renders as trained on) or `wild` (the hard split: the
    /// wild shift at severity 0.75).
    #[arg(long, value_enum, default_value_t = TestSplit::Clean)]
    split: TestSplit,
    /// The wild shift at any severity, 0 (the clean test split) to 1: look-alike breeds
    /// drawn closer, a busier room, rotation, zoom, occlusion, exposure and colour casts,
    /// blur, noise and JPEG compression that the training renders never had. Deterministic
    /// per seed; still the held-out test indices.
    #[arg(long, conflicts_with = "split")]
    severity: Option<f32>,
    /// Images per breed of SynthCats' validation split that the calibration temperature is
    /// fitted on (never the test images it is judged on); 0 skips temperature scaling.
    #[arg(long, default_value_t = 50)]
    calibration_per_breed: u64,
    /// Also write the report (confusion matrix, per-class precision/recall/F1, top-k,
    /// reliability bins, ECE and the temperature): as JSON to a `.json` path; any other path
    /// is a folder that receives `report.json`, `confusion.png` and `reliability.png`.
    #[arg(long)]
    report: Option<PathBuf>,
}

/// The named test splits of `eval classifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestSplit {
    Clean,
    Wild,
}

impl ClassifierArgs {
    /// The wild shift's severity that `--split` or `--severity` asks for.
    fn severity(&self) -> f32 {
        match (self.severity, self.split) {
            (Some(s), _) => s,
            (None, TestSplit::Clean) => 0.0,
            (None, TestSplit::Wild) => tinycats_data::WILD_SEVERITY,
        }
    }
}

#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// Generator folder with `config.json` and `model.safetensors` (and `model.onnx`), or a
    /// `.onnx` file (`--backend ort` only).
    #[arg(long, default_value = "assets/generator")]
    model: PathBuf,
    /// The judge: a `.onnx` file or a model-repository folder.
    #[arg(long, default_value = "assets")]
    classifier: String,
    /// Samples per breed.
    #[arg(long, default_value_t = 50)]
    per_breed: usize,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Seed of the starting noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// ort (ONNX Runtime, the default) or tch (libtorch); the same seed gives the same
    /// samples on both.
    #[arg(long, value_enum, default_value_t = Backend::Ort)]
    backend: Backend,
    /// fp32 (the default: the model's own quality) or int8 (the graph `tinycats sample`
    /// uses by default; ONNX Runtime only).
    #[arg(long, value_enum)]
    precision: Option<Precision>,
    /// auto, cpu or cuda (libtorch only).
    #[arg(long, default_value = "auto")]
    device: String,
    /// The SynthCats feature network the quality report measures in (`none` skips the
    /// report).
    #[arg(long, default_value = "assets/features")]
    features: String,
    /// Memorisation check against the generator's training images: `SEED:N`, the SynthCats
    /// seed and number of training renders (the bundled generator: `1:26000`).
    #[arg(long, value_parser = parse_train_images)]
    train_images: Option<(u64, u64)>,
    /// Bootstrap resamples of the quality report's 95 % intervals.
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// Also write the quality report as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// A second feature network to measure the same samples in, reported after the first:
    /// for a generator trained with REPA, its teacher (a gain that shows in the teacher's
    /// space only is a leak, not better cats).
    #[arg(long)]
    also_features: Option<PathBuf>,
    /// Also write the second feature network's report as JSON here.
    #[arg(long, requires = "also_features")]
    also_report: Option<PathBuf>,
}

fn parse_train_images(s: &str) -> Result<(u64, u64), String> {
    let (seed, n) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected SEED:N, e.g. 1:26000"))?;
    let parse = |v: &str, what: &str| {
        v.trim().parse::<u64>().map_err(|_| {
            format!("`{s}`: the {what} `{v}` is not a whole number (expected SEED:N, e.g. 1:26000)")
        })
    };
    Ok((parse(seed, "seed")?, parse(n, "count")?))
}

/// Sampler flags. A flag left out takes the model folder's recorded setting (its
/// `sampler.json`, chosen by a measured sweep), else [`SampleOptions::DEFAULT`]'s.
#[derive(Debug, Args)]
pub struct SamplerArgs {
    /// Integration steps [default: the model's sampler.json, else 20].
    #[arg(long)]
    pub steps: Option<usize>,
    /// euler or heun [default: the model's sampler.json, else euler].
    #[arg(long)]
    pub solver: Option<Solver>,
    /// Time-grid shift (1 = uniform; > 1 spends more steps near the noise) [default: the
    /// model's sampler.json, else 1].
    #[arg(long)]
    pub shift: Option<f64>,
    /// Guidance scale (1 = none) [default: the model's sampler.json, else 4].
    #[arg(long)]
    pub cfg_scale: Option<f64>,
    /// The times FROM,TO where guidance acts (t = 0 is the noise, 1 the data; `0,1` guides
    /// every step); steps outside it cost one network evaluation instead of two [default:
    /// the model's sampler.json, else 0,1].
    #[arg(long, value_parser = parse_interval)]
    pub guidance_interval: Option<[f64; 2]>,
    /// Autoguidance: a weaker generator of the same classes (an `.onnx` file or a model
    /// folder) whose conditional velocity replaces the unconditional one in guided steps
    /// (ONNX Runtime only).
    #[arg(long)]
    pub guide_model: Option<PathBuf>,
}

fn parse_interval(s: &str) -> Result<[f64; 2], String> {
    let err =
        |why: &str| format!("`{s}`: {why} (expected FROM,TO with 0 ≤ FROM ≤ TO ≤ 1, e.g. 0.2,0.8)");
    let (from, to) = s.split_once(',').ok_or_else(|| err("no comma"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| err(&format!("`{v}` is not a number")))
    };
    let interval = [num(from)?, num(to)?];
    SampleOptions {
        guidance_interval: interval,
        ..SampleOptions::default()
    }
    .validate()
    .map_err(|e| err(&e.to_string()))?;
    Ok(interval)
}

impl SamplerArgs {
    /// The settings for `model` (a model or repository folder, or a `.onnx` file in a model
    /// folder): the flags given, the rest from the folder's `sampler.json`, else the default.
    pub fn options_for(&self, model: &std::path::Path) -> anyhow::Result<SampleOptions> {
        let folder = if model.extension().is_some_and(|e| e == "onnx") {
            model
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf()
        } else {
            generator_folder(model)
        };
        let base = SampleOptions::recorded(&folder)?.unwrap_or(SampleOptions::DEFAULT);
        let opts = SampleOptions {
            steps: self.steps.unwrap_or(base.steps),
            shift: self.shift.unwrap_or(base.shift),
            solver: self.solver.unwrap_or(base.solver),
            cfg_scale: self.cfg_scale.unwrap_or(base.cfg_scale),
            guidance_interval: self.guidance_interval.unwrap_or(base.guidance_interval),
        };
        opts.validate()?;
        Ok(opts)
    }

    /// Sets `--guide-model` (loaded at `precision`, like the main graph) as `generator`'s
    /// autoguidance guide.
    pub fn attach_guide(
        &self,
        generator: &mut Generator,
        scratch: &std::path::Path,
        precision: Precision,
    ) -> anyhow::Result<()> {
        if let Some(path) = &self.guide_model {
            crate::preflight::expect_generator(path, Backend::Ort)?;
            let guide = load_generator(path, scratch, precision)
                .with_context(|| format!("loading the guide model {}", path.display()))?;
            generator
                .set_guide(Some(guide))
                .with_context(|| format!("--guide-model {}", path.display()))?;
        }
        Ok(())
    }

    /// Refuses `--guide-model` where a command cannot use it.
    pub fn no_guide(&self, why: &str) -> anyhow::Result<()> {
        if let Some(path) = &self.guide_model {
            anyhow::bail!("--guide-model {}: {why}", path.display());
        }
        Ok(())
    }
}

pub fn run(cmd: EvalCommand) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Classifier(args) => classifier(args),
        EvalCommand::Generator(args) => generator(args),
        EvalCommand::Quantization(args) => quantization(args),
        EvalCommand::Autoencoder(args) => autoencoder(args),
    }
}

fn load_classifier(spec: &str, flag: &str) -> anyhow::Result<Classifier> {
    let path = crate::classify::model_path(spec, false, flag)?;
    Ok(Classifier::load(path)?)
}

fn classifier(args: ClassifierArgs) -> anyhow::Result<()> {
    if args.per_breed == 0 {
        anyhow::bail!("`--per-breed` = 0: expected at least 1");
    }
    let severity = args.severity();
    let mut judge = load_classifier(&args.model, "--model")?;
    let started = Instant::now();
    let (logits, labels) = split_logits(
        &mut judge,
        args.seed,
        args.per_breed,
        SynthSplit::Test,
        severity,
    )?;
    let names = judge.class_names().to_vec();
    let probs: Vec<Vec<f32>> = logits.iter().map(|l| metrics::softmax(l)).collect();
    let predicted: Vec<usize> = logits.iter().map(|l| metrics::argmax(l)).collect();
    let matrix = ConfusionMatrix::new(&labels, &predicted, names.len())?;
    let confusion: Vec<Vec<usize>> = matrix
        .counts
        .iter()
        .map(|row| row.iter().map(|&c| c as usize).collect())
        .collect();
    let per_breed = PerBreedAccuracy::from_confusion(names.clone(), confusion);
    println!("{}", per_breed.table("test top-1"));
    let mut top_k = Vec::new();
    for k in [1, 3, 5].into_iter().filter(|&k| k <= names.len()) {
        top_k.push((k, metrics::top_k_accuracy(&probs, &labels, k)?));
    }
    let tops: Vec<String> = top_k
        .iter()
        .map(|(k, a)| format!("top-{k} {:.2} %", 100.0 * a))
        .collect();
    println!("{}; macro F1 {:.4}", tops.join(", "), matrix.macro_f1());
    println!("class               precision  recall      F1  support");
    let scores = matrix.per_class();
    for (name, c) in names.iter().zip(&scores) {
        println!(
            "{name:<18} {:>10.3} {:>7.3} {:>7.3} {:>8}",
            c.precision, c.recall, c.f1, c.support
        );
    }
    const BINS: usize = 15;
    let ece = metrics::expected_calibration_error(&probs, &labels, BINS)?;
    let mut temperature = None;
    if args.calibration_per_breed > 0 {
        let (val_logits, val_labels) = split_logits(
            &mut judge,
            args.seed,
            args.calibration_per_breed,
            SynthSplit::Val,
            severity,
        )?;
        let t = metrics::fit_temperature(&val_logits, &val_labels)?;
        let scaled: Vec<Vec<f32>> = logits
            .iter()
            .map(|l| metrics::softmax_with_temperature(l, t))
            .collect();
        let ece_t = metrics::expected_calibration_error(&scaled, &labels, BINS)?;
        temperature = Some((t, val_labels.len(), ece_t, scaled));
    }
    match &temperature {
        &Some((t, n, ece_t, _)) => println!(
            "calibration: ECE {ece:.4} ({BINS} bins); temperature {t:.3}, fitted on {n} \
             validation renders: ECE {ece_t:.4}{}",
            if t <= metrics::TEMPERATURE_RANGE.0 * 1.001 {
                " (the search's lower bound: every validation render is right, so sharper is \
                 always more likely; a harder validation set would stop it)"
            } else if t >= metrics::TEMPERATURE_RANGE.1 * 0.999 {
                " (the search's upper bound)"
            } else {
                ""
            }
        ),
        None => println!("calibration: ECE {ece:.4} ({BINS} bins)"),
    }
    println!(
        "{} SynthCats test images ({} per breed, seed {}, {} px, wild severity {}) in {:.1} s",
        labels.len(),
        args.per_breed,
        args.seed,
        judge.preprocess().size,
        severity,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.report {
        let finite = |v: f64| v.is_finite().then_some(v);
        let json = serde_json::json!({
            "images": labels.len(),
            "seed": args.seed,
            "severity": severity,
            "class_names": names,
            "confusion": matrix.counts,
            "per_class": scores.iter().map(|c| serde_json::json!({
                "precision": finite(c.precision),
                "recall": finite(c.recall),
                "f1": finite(c.f1),
                "support": c.support,
            })).collect::<Vec<_>>(),
            "top_k": top_k.iter().map(|(k, a)| serde_json::json!({"k": k, "accuracy": a})).collect::<Vec<_>>(),
            "macro_f1": finite(matrix.macro_f1()),
            "reliability": metrics::reliability(&probs, &labels, BINS)?.iter().map(|b| serde_json::json!({
                "low": b.low, "high": b.high, "count": b.count,
                "confidence": finite(b.confidence), "accuracy": finite(b.accuracy),
            })).collect::<Vec<_>>(),
            "ece": ece,
            "temperature": temperature.as_ref().map(|(t, n, ece_t, _)| serde_json::json!({
                "value": t, "validation_images": n, "ece_after": ece_t,
            })),
        });
        let text = serde_json::to_string_pretty(&json)?;
        if path.extension().is_some_and(|e| e == "json") {
            tinycats_models::io::write_atomic(path, text.as_bytes())?;
        } else {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create the report folder {}", path.display()))?;
            tinycats_models::io::write_atomic(&path.join("report.json"), text.as_bytes())?;
            let title = format!("confusion at severity {}", severity);
            let figure = tinycats_plot::confusion_figure(&matrix.counts, &names, &title)?;
            tinycats_plot::save_png(&figure, path.join("confusion.png"))?;
            let mut chart = tinycats_plot::LineChart::reliability(format!(
                "reliability at severity {severity}"
            ));
            let mut curves = vec![("as trained".to_string(), probs.clone())];
            if let Some((t, _, _, scaled)) = temperature {
                curves.push((format!("temperature {t:.2}"), scaled));
            }
            for (name, p) in curves {
                let bins = metrics::reliability(&p, &labels, BINS)?;
                let bins = bins.iter().map(|b| (b.confidence, b.accuracy, b.count));
                chart = chart.calibration_curve(name, bins);
            }
            tinycats_plot::save_png(&chart.render(640, 400)?, path.join("reliability.png"))?;
        }
        println!("report written to {}", path.display());
    }
    Ok(())
}

fn generator(args: GeneratorArgs) -> anyhow::Result<()> {
    let opts = args.sampler.options_for(&args.model)?;
    if !(1..=10_000).contains(&args.per_breed) {
        anyhow::bail!("`--per-breed` = {}: expected 1..=10000", args.per_breed);
    }
    let precision = Precision::resolve(args.precision, args.backend, Precision::Fp32)?;
    crate::preflight::expect_generator(&args.model, args.backend)?;
    let mut judge = load_classifier(&args.classifier, "--classifier")?;
    let feature_nets = load_feature_nets(&args)?;
    let started = Instant::now();
    let (fidelity, on) = match args.backend {
        Backend::Tch => {
            args.sampler
                .no_guide("autoguidance runs on ONNX Runtime (leave out --backend tch)")?;
            let device = parse_device(&args.device)?;
            let (_vs, mut model) = TinyDit::load(&generator_folder(&args.model), device)?;
            let run = breed_fidelity(&mut model, &mut judge, args.per_breed, &opts, args.seed)?;
            (run, format!("{device:?} (libtorch)"))
        }
        Backend::Ort => {
            let scratch = tempfile::tempdir()?;
            let mut generator = load_generator(&args.model, scratch.path(), precision)?;
            args.sampler
                .attach_guide(&mut generator, scratch.path(), precision)?;
            let run = breed_fidelity(&mut generator, &mut judge, args.per_breed, &opts, args.seed)?;
            (
                run,
                format!("CPU (ONNX Runtime, {})", graph_precision(&generator)),
            )
        }
    };
    println!("{}", fidelity.report.table("breed fidelity"));
    println!(
        "{} samples ({} per breed, {opts}{}, {} network evaluations per image, seed {}) in {:.1} s on {on}",
        fidelity.samples.len(),
        args.per_breed,
        match &args.sampler.guide_model {
            Some(p) => format!(", autoguided by {}", p.display()),
            None => String::new(),
        },
        opts.network_evaluations(),
        args.seed,
        started.elapsed().as_secs_f64()
    );
    for (i, space) in feature_nets.iter().enumerate() {
        if i > 0 {
            println!("in the second feature network, {}:", space.dir.display());
        }
        quality_report(&args, space, &fidelity.samples)?;
    }
    Ok(())
}

/// A feature network of `eval generator`'s quality reports, and where its JSON report goes.
struct FeatureSpace {
    dir: PathBuf,
    _vs: tinycats_models::tch::nn::VarStore,
    net: FeatureNet,
    report: Option<PathBuf>,
}

/// `--features`, then `--also-features`: loaded before sampling, so that a wrong folder
/// costs no samples.
fn load_feature_nets(args: &GeneratorArgs) -> anyhow::Result<Vec<FeatureSpace>> {
    let load = |dir: PathBuf, hint: &str, report: &Option<PathBuf>| {
        let (vs, net) = FeatureNet::load(&dir, tinycats_models::tch::Device::Cpu).map_err(|e| {
            anyhow::anyhow!(
                "loading the feature network from {}: {e} ({hint})",
                dir.display()
            )
        })?;
        anyhow::Ok(FeatureSpace {
            dir,
            _vs: vs,
            net,
            report: report.clone(),
        })
    };
    let mut spaces = Vec::new();
    if args.features != "none" {
        let hint = "pass --features none to skip the quality report";
        spaces.push(load(PathBuf::from(&args.features), hint, &args.report)?);
    }
    if let Some(dir) = &args.also_features {
        let hint = "the folder given to --also-features: a SynthCats feature network";
        spaces.push(load(dir.clone(), hint, &args.also_report)?);
    }
    Ok(spaces)
}

/// The quality report of `samples` in one feature space, printed and written as JSON to
/// its report path when it has one.
fn quality_report(
    args: &GeneratorArgs,
    space: &FeatureSpace,
    samples: &[image::RgbImage],
) -> anyhow::Result<()> {
    let started = Instant::now();
    let opts = QualityOptions {
        rounds: args.bootstrap.max(10),
        seed: args.seed,
        train_images: args.train_images,
        ..QualityOptions::default()
    };
    let q = quality::measure(&space.net, samples, &opts)?;
    println!("{}", quality_table(&q));
    println!(
        "quality report: {} generated vs {} + {} real SynthCats test images (seed {}), k = {}, {} bootstrap resamples, {:.1} s",
        q.images,
        q.images,
        q.images,
        opts.real_seed,
        opts.k,
        opts.rounds,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &space.report {
        let text = serde_json::to_string_pretty(&q)?;
        tinycats_models::io::write_atomic(path, text.as_bytes())?;
        println!("report written to {}", path.display());
    }
    Ok(())
}

fn autoencoder(args: AutoencoderArgs) -> anyhow::Result<()> {
    use tinycats_models::autoencoder::{Autoencoder, psnr, reconstruct_rgb8};
    use tinycats_models::images::from_rgb8;
    use tinycats_models::tch::{Device, Tensor};
    if args.images < 13 {
        anyhow::bail!(
            "`--images` = {}: expected at least 13, one per breed",
            args.images
        );
    }
    if let Some(sheet) = &args.sheet {
        crate::preflight::out_folder(sheet, "--sheet")?;
    }
    let started = Instant::now();
    let (_vs, ae) = Autoencoder::load(&args.model, Device::Cpu)
        .with_context(|| format!("loading the autoencoder in {}", args.model.display()))?;
    // The second real set of the quality report (test renders n..2n), so that the report
    // compares these reconstructions with the first set exactly as it compares real with real.
    let n = args.images as u64;
    let originals = quality::synth_images(0, SynthSplit::Test, n..2 * n)?;
    let recons = reconstruct_rgb8(&ae, &originals, 64)?;
    let stack = |imgs: &[image::RgbImage]| {
        Tensor::stack(&imgs.iter().map(from_rgb8).collect::<Vec<_>>(), 0)
    };
    let cfg = ae.config();
    println!(
        "autoencoder {:?} → {} × {}² latents (1/{}), latent_std {}",
        cfg.widths,
        cfg.latent_channels,
        cfg.latent_size(),
        cfg.downsample(),
        cfg.latent_std
            .map_or("not measured".into(), |s| format!("{s:.4}"))
    );
    println!(
        "PSNR {:.2} dB on {} held-out renders ({:.1} s)",
        psnr(&stack(&recons), &stack(&originals)),
        originals.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.sheet {
        // The first 13 renders are one per breed (breed `i mod 13`), above their redrawings.
        let tiles: Vec<image::RgbImage> = originals[..13]
            .iter()
            .chain(&recons[..13])
            .cloned()
            .collect();
        let grid = tinycats_plot::ImageGrid::new(13)
            .scale(2)
            .row_labels(vec!["render".into(), "redrawn".into()])
            .render(&tiles)?;
        tinycats_plot::save_png(&grid, path)?;
        println!("sheet written to {}", path.display());
    }
    if args.features != "none" {
        let (_fvs, net) = FeatureNet::load(&PathBuf::from(&args.features), Device::Cpu)
            .with_context(|| format!("loading the feature network from {}", args.features))?;
        let opts = QualityOptions {
            rounds: args.bootstrap.max(10),
            ..QualityOptions::default()
        };
        let q = quality::measure(&net, &recons, &opts)?;
        println!("{}", quality_table(&q).replace("generated", "redrawn"));
    }
    Ok(())
}

/// The quality report as a Markdown table, each figure with its 95 % bootstrap interval.
pub fn quality_table(q: &quality::GeneratorQuality) -> String {
    let mut t = String::from("| metric | value [95 % interval] |\n|---|---|\n");
    let mut row = |name: &str, v: String| t.push_str(&format!("| {name} | {v} |\n"));
    row(
        "Fréchet distance, generated vs real",
        format!("{:.2}", q.fd),
    );
    row(
        "Fréchet distance, real vs real (baseline)",
        format!("{:.2}", q.fd_real_real),
    );
    row("ratio to the baseline", format!("{:.1}×", q.fd_ratio));
    row("precision (k-NN)", format!("{:.3}", q.precision));
    row("recall (k-NN)", format!("{:.3}", q.recall));
    row("sharpness, generated / real", format!("{:.3}", q.sharpness));
    row(
        "patch seams, generated (real: about 1)",
        format!("{:.3} (real {:.3})", q.seams, q.seams_real),
    );
    if let Some(m) = &q.memorisation {
        row(
            &format!(
                "nearest-training-image distance, generated / held-out ({} training images)",
                m.train_images
            ),
            format!("{:.3}", m.ratio),
        );
    }
    t.pop();
    t
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
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Timed repetitions per measurement (after one warm-up call).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Seed of SynthCats and of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn quantization(args: QuantizationArgs) -> anyhow::Result<()> {
    let repo = ModelRepo::local(&args.repo)?;
    let opts = args.sampler.options_for(&args.repo)?;
    args.sampler
        .no_guide("the quantization report compares each graph guided by itself")?;
    let classifiers = write_variants(&repo.file(CLASSIFIER_ONNX)?, &args.out_dir, "classifier")?;
    let generators = write_variants(&repo.file(GENERATOR_ONNX)?, &args.out_dir, "generator")?;
    let mut judge = Classifier::load(&classifiers[0].path)?;
    let (test, labels) = test_split(judge.preprocess().size, args.seed, args.test_per_breed)?;
    let mut reference: Option<Vec<tinycats_runtime::ndarray::Array4<f32>>> = None;
    println!(
        "| graph | classifier MB | generator MB | classifier ms / 64 images | generator ms / call, batch 1 | batch 26 | test top-1 | breed agreement | pixel RMSE vs fp32 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (c, g) in classifiers.iter().zip(&generators) {
        let mut classifier = Classifier::load(&c.path)?;
        let batch = classifier.preprocess().batch(&test[..64.min(test.len())]);
        let cls_ms = time_ms(args.reps, || classifier.logits(batch.view()).map(drop))?;
        let top1 = PerBreedAccuracy::measure(&mut classifier, &test, &labels, 64)?.overall();

        let mut generator = Generator::load(&g.path)?;
        let mut call_ms = [0.0; 2];
        for (slot, b) in [1usize, 26].into_iter().enumerate() {
            let x = generator.noise(args.seed, b);
            let t = vec![0.5f32; b];
            let y: Vec<i64> = (0..b as i64).map(|i| i % 14).collect();
            call_ms[slot] = time_ms(args.reps, || generator.velocity(x.view(), &t, &y).map(drop))?;
        }
        let (mut samples, mut images, mut requested) = (Vec::new(), Vec::new(), Vec::new());
        for breed in 0..generator.class_names().len() {
            let noise = generator.noise(args.seed + breed as u64, args.samples_per_breed);
            let x = generator.sample(noise, breed, &opts, |_| {})?;
            images.extend(
                x.outer_iter()
                    .map(|img| generator.preprocess().to_image(img)),
            );
            requested.extend(std::iter::repeat_n(breed, args.samples_per_breed));
            samples.push(x);
        }
        let agreement = tinycats_pipelines::eval::judge_samples(&mut judge, &images, &requested)?
            .mean_per_breed();
        let rmse = match &reference {
            None => "–".to_string(),
            Some(fp) => {
                let pixels = generator.preprocess();
                let sq: f64 = fp
                    .iter()
                    .zip(&samples)
                    .map(|(a, b)| pixel_rmse(a.view(), b.view(), pixels).powi(2))
                    .sum();
                format!("{:.4}", (sq / fp.len().max(1) as f64).sqrt())
            }
        };
        reference.get_or_insert(samples);
        let name = match g.scheme {
            None => "fp32",
            Some(tinycats_onnx::Scheme::WeightOnly) => "int8 weight-only",
            Some(tinycats_onnx::Scheme::Dynamic) => "int8 dynamic",
        };
        println!(
            "| {name} | {:.2} | {:.2} | {cls_ms:.1} | {:.2} | {:.1} | {:.1}% | {:.1}% | {rmse} |",
            c.megabytes,
            g.megabytes,
            call_ms[0],
            call_ms[1],
            100.0 * top1,
            100.0 * agreement,
        );
    }
    println!(
        "\n{} test images ({} per breed); {} samples per breed, {} {} steps, guidance {}, seed {}; \
         breed agreement judged by the fp32 classifier; RMSE on 8-bit pixels scaled to [0, 1]; \
         times are the mean of {} calls after one warm-up",
        test.len(),
        args.test_per_breed,
        args.samples_per_breed,
        opts.solver,
        opts.steps,
        opts.cfg_scale,
        args.seed,
        args.reps
    );
    Ok(())
}
