//! Fine-tune and ship: teach the bundled generator a new breed with LoRA, merge the
//! adapters, export to ONNX, quantize to int8, and package a Hugging Face repository folder.
//!
//! Run it with `cargo run --release --example 04_finetune_and_ship`.
// verify-docs: timeout_s = 420, budget_s = 300

// ANCHOR: uses
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use image::RgbImage;
use tch::{Device, Tensor};
use tinycats_core::{Provenance, SampleOptions, Solver};
use tinycats_data::augment::Augment;
use tinycats_data::loaders::{ImageFolderOptions, image_folder};
use tinycats_data::{BreedSpec, Loader, LoaderConfig, Source, SynthCats, SynthConfig};
use tinycats_models::flow::seeded_noise;
use tinycats_models::lora::{ADAPTER_WEIGHTS, FineTune};
use tinycats_models::runconfig::{self, FineTuneRun};
use tinycats_models::tasks::sample_breeds;
use tinycats_models::trainer::Trainer;
use tinycats_models::{TinyDit, images};
use tinycats_notebook::{Tolerance, display_path, out_dir, step, tolerance, workspace_root};
use tinycats_pipelines::eval::judge_samples;
use tinycats_pipelines::quantization::{pixel_rmse, time_ms, write_variants};
use tinycats_plot::{ImageGrid, save_png};
use tinycats_runtime::quality::rmse_and_max_abs;
use tinycats_runtime::repo::{CLASSIFIER_ONNX, GENERATOR_ONNX};
use tinycats_runtime::{Classifier, Generator, ModelRepo};
// ANCHOR_END: uses

// ANCHOR: config
/// Everything this example can be tuned with.
struct Config {
    /// Seed of the new breed's images, the adapters' initialisation, the data order and the
    /// noise.
    seed: u64,
    /// The generator to fine-tune (`config.json` + `model.safetensors`), relative to the
    /// checkout.
    base: &'static str,
    /// The new breed: its name and coat colour (sRGB), a colour none of the 13 classes has.
    new_breed: &'static str,
    new_coat: [u8; 3],
    /// Images of the new breed in the fine-tuning folder.
    new_breed_images: u64,
    /// Images of each base class trained on beside the new breed (0 = the new breed alone).
    replay_per_breed: u64,
    /// One image in this many (of the new breed and of the replay images) is held out for
    /// validation.
    val_every: usize,
    /// The fine-tuning run (`FineTuneRun`): the new class, the LoRA adapters, the trainer.
    finetune_toml: &'static str,
    /// Samples drawn to judge the new breed, before and after.
    judge_samples: i64,
    /// A pixel shows the new coat when its colour lies within this distance (Euclidean,
    /// 0–255 sRGB) of `new_coat`.
    coat_radius: f64,
    /// Samples per base breed drawn to check that fine-tuning kept the old breeds.
    old_breed_samples: i64,
    /// Calls averaged to time each ONNX graph.
    timing_reps: usize,
    /// Sampler settings of every sample in this chapter: Euler, 20 steps, guidance 4 at every
    /// step (the library default before the sampler sweep). The default now guides only from
    /// t = 0.3 on, after the coat colour is settled; a class learned from 83 images needs the
    /// push early too: at the default, the share of teal coat pixels after fine-tuning
    /// measured 11.6 % instead of the `after` step's figure, and the step's check failed.
    sampler: SampleOptions,
}

const CONFIG: Config = Config {
    seed: 0,
    base: "assets/generator",
    new_breed: "Teal",
    new_coat: [30, 150, 150],
    new_breed_images: 48,
    replay_per_breed: 4,
    val_every: 6,
    finetune_toml: r#"
new_classes = ["Teal"]
batch_size = 16

[lora]
rank = 8
alpha = 16.0
targets = ["qkv", "proj", "fc1", "fc2"]

[trainer]
max_steps = 200
lr = 2e-3
warmup_steps = 10
ema_decay = 0.95
eval_every = 50
patience = 0
checkpoint_every = 200
log_every = 50
# fp32, so this page's numbers hold on every CPU; drop it for bf16 on AMX or AVX-512 BF16
bf16 = false
"#,
    judge_samples: 16,
    coat_radius: 40.0,
    old_breed_samples: 4,
    timing_reps: 3,
    sampler: SampleOptions {
        steps: 20,
        shift: 1.0,
        solver: Solver::Euler,
        cfg_scale: 4.0,
        guidance_interval: [0.0, 1.0],
    },
};
// ANCHOR_END: config

fn main() -> Result<()> {
    let root = workspace_root();
    let work = out_dir().join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?; // every run starts from nothing
    }
    let device = Device::cuda_if_available();

    // ANCHOR: new_breed
    step("new_breed");
    let base_dir = root.join(CONFIG.base);
    // The images are rendered at the base model's own size.
    let (base_cfg, _) = tinycats_core::ModelConfig::read(&base_dir)?;
    let tinycats_core::ModelConfig::TinyDit(base_cfg) = base_cfg else {
        anyhow::bail!("{} holds no TinyDiT", base_dir.display());
    };
    let spec = BreedSpec::base_cat(CONFIG.new_breed, CONFIG.new_coat);
    let synth = SynthCats::new(SynthConfig {
        size: base_cfg.input_size as u32,
        seed: CONFIG.seed,
        ..SynthConfig::default()
    })?;
    let new_dir = work.join("new-breed");
    let written = synth.write_specs(
        &new_dir,
        std::slice::from_ref(&spec),
        CONFIG.new_breed_images,
    )?;
    println!(
        "wrote {} images of {} (coat {:?}) to {}",
        written.images,
        CONFIG.new_breed,
        CONFIG.new_coat,
        display_path(&new_dir)
    );
    // A few images of the breeds the model already knows, trained on beside the new one,
    // keep the adapters from pulling every breed towards the new coat.
    let replay_dir = work.join("replay");
    let replay = synth.write_dataset(&replay_dir, CONFIG.replay_per_breed)?;
    println!(
        "wrote {} images of the 13 base classes ({} each) to {}",
        replay.images,
        CONFIG.replay_per_breed,
        display_path(&replay_dir)
    );
    let sheet = synth.contact_sheet(std::slice::from_ref(&spec), 8);
    let path = save_png(
        &tinycats_plot::upscale_nearest(&sheet, 2),
        out_dir().join("new_breed.png"),
    )?;
    println!("saved        {}", display_path(&path));
    // ANCHOR_END: new_breed

    // ANCHOR: lora
    step("lora");
    let ft_run: FineTuneRun = runconfig::from_toml_str(CONFIG.finetune_toml)?;
    ft_run.validate()?;
    let lora = ft_run.lora.clone();
    tch::manual_seed(CONFIG.seed as i64); // the adapters' A matrices start random
    let mut ft = FineTune::from_pretrained(&base_dir, &ft_run.new_classes, &lora, device)?;
    let (trainable, base) = (ft.trainable_parameters(), ft.base_parameters());
    println!(
        "LoRA rank {}, alpha {}, on {:?}",
        lora.rank, lora.alpha, lora.targets
    );
    println!(
        "trainable {trainable} of {} parameters ({:.2}%): adapters + one label row",
        trainable + base,
        100.0 * trainable as f64 / (trainable + base) as f64
    );
    // ANCHOR_END: lora

    // ANCHOR: before
    step("before");
    let new_class = ft.new_class_labels()[0];
    let judge = |model: &TinyDit, breeds: &[i64], n: i64| -> Result<Vec<RgbImage>> {
        let x = sample_breeds(model, breeds, n, &CONFIG.sampler, CONFIG.seed)?;
        Ok(images::to_rgb8_all(&x)?)
    };
    let before = judge(&ft.model, &[new_class], CONFIG.judge_samples)?;
    let before_share = coat_share(&before, CONFIG.new_coat, CONFIG.coat_radius);
    let reference: Vec<RgbImage> = (0..CONFIG.judge_samples as u64)
        .map(|i| synth.render_spec(&spec, i))
        .collect();
    let data_share = coat_share(&reference, CONFIG.new_coat, CONFIG.coat_radius);
    println!(
        "new class {new_class} ({}), label row untrained",
        CONFIG.new_breed
    );
    println!(
        "pixels within {} of the coat colour {:?}:",
        CONFIG.coat_radius, CONFIG.new_coat
    );
    println!(
        "  the {} training images  {:>5.1}%",
        CONFIG.new_breed,
        100.0 * data_share
    );
    println!("  samples before          {:>5.1}%", 100.0 * before_share);
    let base_breeds: Vec<i64> = (0..new_class).collect();
    let old_before = judge(&ft.model, &base_breeds, CONFIG.old_breed_samples)?;
    // ANCHOR_END: before

    // ANCHOR: finetune
    step("finetune");
    let mut data = image_folder(&new_dir, &ImageFolderOptions::default())?;
    // A folder name that is no base breed gets the next free label: the new class.
    ensure!(
        data.samples.iter().all(|s| s.label as i64 == new_class),
        "the new breed's images must carry the new class label {new_class}"
    );
    println!(
        "{} images of {:?} → label {new_class}",
        data.len(),
        data.classes[new_class as usize]
    );
    let old = image_folder(&replay_dir, &ImageFolderOptions::default())?;
    println!(
        "{} images of the base classes → labels 0..{}",
        old.len(),
        new_class - 1
    );
    data.samples.extend(old.samples);
    // One image in `val_every` is held out: the validation loss is measured on images the
    // adapters never train on.
    let mut val_data = data.clone();
    let (train_samples, val_samples): (Vec<_>, Vec<_>) = std::mem::take(&mut data.samples)
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % CONFIG.val_every != 0);
    data.samples = train_samples.into_iter().map(|(_, s)| s).collect();
    val_data.samples = val_samples.into_iter().map(|(_, s)| s).collect();
    println!(
        "{} images to train on, {} held out for validation",
        data.len(),
        val_data.len()
    );
    let cfg = LoaderConfig {
        batch_size: ft_run.batch_size,
        image_size: base_cfg.input_size as u32,
        normalize: base_cfg.normalize()?, // the model folder's own mean and std
        augment: Augment::generator_train(),
        seed: CONFIG.seed,
        ..LoaderConfig::default()
    };
    let mut train = Loader::new(Source::Files(data), cfg)?;
    let mut val = Loader::new(
        Source::Files(val_data),
        LoaderConfig {
            augment: Augment::eval(),
            shuffle: false,
            drop_last: false,
            ..cfg
        },
    )?;
    let ft_dir = work.join("runs/teal-lora");
    let provenance = Provenance::capture(0);
    let started = Instant::now();
    let (summary, ft_ema) = Trainer::new(ft_run.trainer.clone(), &ft_dir, device)?
        .fit(&mut ft, &mut train, &mut val, false)?;
    println!(
        "{} steps in {:.1} s; best val_loss {:.4}",
        summary.steps,
        started.elapsed().as_secs_f64(),
        summary.best_val_loss.unwrap_or(f64::NAN)
    );
    // ANCHOR_END: finetune

    // ANCHOR: after
    step("after");
    // Sample with the moving average of the fine-tuned weights, as the saved model will.
    let ft_ema = ft_ema.context("the fine-tune keeps an EMA")?;
    let mut vars = ft.vs.variables();
    let (after, old_after) = ft_ema.with_weights(&mut vars, || -> Result<_> {
        Ok((
            judge(&ft.model, &[new_class], CONFIG.judge_samples)?,
            judge(&ft.model, &base_breeds, CONFIG.old_breed_samples)?,
        ))
    })?;
    let after_share = coat_share(&after, CONFIG.new_coat, CONFIG.coat_radius);
    println!("  samples after           {:>5.1}%", 100.0 * after_share);
    // The bundled classifier knows only the 13 base classes: it judges those.
    let mut classifier = Classifier::load(root.join("assets").join(CLASSIFIER_ONNX))?;
    let truth: Vec<usize> = base_breeds
        .iter()
        .flat_map(|&b| std::iter::repeat_n(b as usize, CONFIG.old_breed_samples as usize))
        .collect();
    let fidelity = |imgs: &[RgbImage], c: &mut Classifier| -> Result<f64> {
        Ok(judge_samples(c, imgs, &truth)?.mean_per_breed())
    };
    let (fid_before, fid_after) = (
        fidelity(&old_before, &mut classifier)?,
        fidelity(&old_after, &mut classifier)?,
    );
    println!(
        "breed fidelity of the 13 base classes ({} samples each): before {:.1}%, after {:.1}%",
        CONFIG.old_breed_samples,
        100.0 * fid_before,
        100.0 * fid_after
    );
    let mut tiles = before[..8].to_vec();
    tiles.extend_from_slice(&after[..8]);
    tiles.extend_from_slice(&reference[..8]);
    let grid = ImageGrid::new(8)
        .scale(2)
        .row_labels(vec![
            "before".into(),
            "after".into(),
            "training data".into(),
        ])
        .title(format!(
            "{}: samples before and after fine-tuning, same noise",
            CONFIG.new_breed
        ))
        .render(&tiles)?;
    let path = save_png(&grid, out_dir().join("before_after.png"))?;
    println!("saved        {}", display_path(&path));
    ensure!(
        after_share >= 0.5 * data_share && after_share >= 4.0 * before_share,
        "fine-tuning did not learn the new coat: {:.3} of the pixels after, {:.3} in the data",
        after_share,
        data_share
    );
    // ANCHOR_END: after

    // ANCHOR: merge
    step("merge");
    let adapter_dir = work.join("hf-repo/adapter");
    let merged_dir = work.join("hf-repo/generator");
    let provenance = provenance.finished(summary.steps);
    ft_ema.with_weights(&mut vars, || -> Result<()> {
        ft.save_adapter(&adapter_dir)?;
        ft.save_merged(&merged_dir, Some(provenance.clone()))?;
        Ok(())
    })?;
    let (_vs, merged) = TinyDit::load(&merged_dir, device)?;
    let merged_after = images::to_rgb8_all(&sample_breeds(
        &merged,
        &[new_class],
        CONFIG.judge_samples,
        &CONFIG.sampler,
        CONFIG.seed,
    )?)?;
    let same = merged_after
        .iter()
        .zip(&after)
        .map(|(a, b)| max_pixel_diff(a, b))
        .max()
        .unwrap_or(0);
    let mb = |p: &Path| -> Result<f64> { Ok(std::fs::metadata(p)?.len() as f64 / 1e6) };
    println!("merged model vs base + adapter: largest pixel difference {same} of 255");
    println!(
        "adapter  {:>6.2} MB  adapter/adapter_model.safetensors",
        mb(&adapter_dir.join(ADAPTER_WEIGHTS))?
    );
    println!(
        "merged   {:>6.2} MB  generator/model.safetensors",
        mb(&merged_dir.join("model.safetensors"))?
    );
    ensure!(same <= 2, "merging changed the samples by {same}/255");
    // ANCHOR_END: merge

    // ANCHOR: export
    step("export");
    let onnx = merged_dir.join("model.onnx");
    let exported = tinycats_onnx::export(&merged_dir, &onnx, None)?;
    println!(
        "{} nodes, {:.2} MB, opset 17",
        exported.nodes,
        exported.bytes as f64 / 1e6
    );
    let mut ort = Generator::load(&onnx)?;
    // Three inputs: the same seeded noise on both back-ends, three times and three labels.
    let side = base_cfg.input_size;
    let x = seeded_noise(CONFIG.seed, 3, [base_cfg.in_channels, side, side], device);
    let t = [0.1f32, 0.5, 0.9];
    let y = [new_class, 3, ort.null_class() as i64];
    let v_ort = ort.velocity(ort.noise(CONFIG.seed, 3).view(), &t, &y)?;
    let v_tch = tch::no_grad(|| {
        merged.forward(
            &x,
            &Tensor::from_slice(&t).to_device(device),
            &Tensor::from_slice(&y).to_device(device),
        )
    });
    let v_tch = Vec::<f32>::try_from(v_tch.to_device(Device::Cpu).flatten(0, -1))?;
    let v_tch = tinycats_runtime::ndarray::Array4::from_shape_vec(v_ort.raw_dim(), v_tch)?;
    let parity = rmse_and_max_abs(v_tch.view(), v_ort.view()).1;
    ensure!(
        parity < 1e-4,
        "the exported graph disagrees with libtorch by {parity}"
    );
    // The exact gap is float rounding that changes with the CPU; the bound is what it proves.
    println!(
        "ONNX Runtime vs libtorch on 3 inputs (new class, Bombay, null class): max |Δvelocity| < 1e-4"
    );
    // ANCHOR_END: export

    // ANCHOR: quantize
    step("quantize");
    // The RMSE of int8 against fp32 is a small difference between two runs of a model that
    // was itself trained with this CPU's float rounding: it moves by about 10 % between
    // AVX-512 and AVX2 kernels (0.0112 vs 0.0102), so the book accepts 15 % here.
    tolerance(Tolerance::relative(0.15));
    let mut rows = Vec::new();
    let mut reference: Option<tinycats_runtime::ndarray::Array4<f32>> = None;
    for variant in write_variants(&onnx, &work, "generator")? {
        let mut g = Generator::load(&variant.path)?;
        // The same inputs for every graph: a batch of 26 to time, 8 noises to sample from.
        let (xb, tb, yb) = (g.noise(CONFIG.seed, 26), [0.5f32; 26], [new_class; 26]);
        let ms = time_ms(CONFIG.timing_reps, || {
            g.velocity(xb.view(), &tb, &yb).map(drop)
        })?;
        let noise = g.noise(CONFIG.seed, 8);
        let x = g.sample(noise, new_class as usize, &CONFIG.sampler, |_| {})?;
        let imgs: Vec<RgbImage> = x.outer_iter().map(|v| g.preprocess().to_image(v)).collect();
        let share = coat_share(&imgs, CONFIG.new_coat, CONFIG.coat_radius);
        let rmse = match &reference {
            None => "–".to_string(),
            Some(r) => format!("{:.4}", pixel_rmse(r.view(), x.view(), g.preprocess())),
        };
        rows.push(format!(
            "| {} | {:.2} | {ms:.0} ms | {:.1}% | {rmse} |",
            variant.name,
            variant.megabytes,
            100.0 * share
        ));
        reference.get_or_insert(x);
    }
    let header = "| graph | MB | ms per call, batch 26 | coat pixels, 8 samples | RMSE vs fp32 (0–1 pixels) |\n|---|---|---|---|---|";
    println!("{header}\n{}", rows.join("\n"));
    // ANCHOR_END: quantize

    // ANCHOR: package
    step("package");
    let repo_dir = work.join("hf-repo");
    let grid = sample_breeds(
        &merged,
        &[new_class, 3, 10],
        4,
        &CONFIG.sampler,
        CONFIG.seed,
    )?;
    let grid = ImageGrid::new(4)
        .scale(2)
        .row_labels(vec![
            CONFIG.new_breed.into(),
            "Bombay".into(),
            "Siamese".into(),
        ])
        .render(&images::to_rgb8_all(&grid)?)?;
    save_png(&grid, merged_dir.join("samples.png"))?;
    let card = format!(
        "---\nlicense: mit\nlibrary_name: tinycats\npipeline_tag: unconditional-image-generation\n\
         tags: [tinycats, flow-matching, diffusion-transformer, lora]\n\
         base_model: tinycats bundled generator (assets/generator)\n---\n\n\
         # TinyDiT with a new breed: {breed}\n\n\
         The tinycats generator fine-tuned with LoRA (rank {rank}, alpha {alpha}, on {targets:?}) \
         on {n} SynthCats images of a new class, `{breed}` (label {class}), for {steps} steps, then merged. \
         `adapter/` holds the adapter alone (PEFT layout); `generator/` the merged model, its ONNX \
         export and a sample grid.\n\n\
         Run: `{command}` at {revision}, {date}.\n\n\
         | measured in this run | value |\n|---|---|\n\
         | {breed} coat pixels, {s} samples, before / after | {before:.1}% / {after:.1}% |\n\
         | {breed} coat pixels in the training images | {data:.1}% |\n\
         | breed fidelity of the 13 base classes, before / after | {fb:.1}% / {fa:.1}% |\n\
         | ONNX Runtime vs libtorch, max abs velocity | {parity:.1e} |\n\n\
         {header}\n{rows}\n",
        breed = CONFIG.new_breed,
        rank = lora.rank,
        alpha = lora.alpha,
        targets = lora.targets,
        n = CONFIG.new_breed_images,
        class = new_class,
        steps = summary.steps,
        command = provenance.command,
        revision = provenance.git_revision,
        date = provenance.date,
        s = CONFIG.judge_samples,
        before = 100.0 * before_share,
        after = 100.0 * after_share,
        data = 100.0 * data_share,
        fb = 100.0 * fid_before,
        fa = 100.0 * fid_after,
        rows = rows.join("\n"),
    );
    tinycats_models::io::write_atomic(&repo_dir.join("README.md"), card.as_bytes())?;
    // Validate offline: the folder resolves as a repository and its generator loads.
    let repo = ModelRepo::local(&repo_dir)?;
    let g = Generator::load(repo.file(GENERATOR_ONNX)?)?;
    println!(
        "{} loads: {} classes, the last {:?}",
        display_path(&repo_dir),
        g.class_names().len(),
        g.class_names().last().map(String::as_str).unwrap_or("")
    );
    let card_lines = std::fs::read_to_string(repo_dir.join("README.md"))?
        .lines()
        .count();
    println!("  {:<36} model card, {card_lines} lines", "README.md");
    for file in [
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "generator/config.json",
        "generator/model.safetensors",
        "generator/model.onnx",
        "generator/samples.png",
    ] {
        println!(
            "  {file:<36} {:>8.3} MB",
            std::fs::metadata(repo_dir.join(file))?.len() as f64 / 1e6
        );
    }
    // ANCHOR_END: package

    // ANCHOR: exercise_rank
    step("exercise_rank");
    // Trainable numbers for other ranks, and for adapters on the attention alone.
    println!("rank  targets                       trainable  share of the model");
    for (rank, targets) in [
        (1, lora.targets.clone()),
        (4, lora.targets.clone()),
        (16, lora.targets.clone()),
        (64, lora.targets.clone()),
        (lora.rank, vec!["qkv".to_owned(), "proj".to_owned()]),
    ] {
        let cfg = tinycats_models::lora::LoraConfig {
            rank,
            targets: targets.clone(),
            ..lora.clone()
        };
        let f = FineTune::from_pretrained(&base_dir, &ft_run.new_classes, &cfg, Device::Cpu)?;
        let (n, all) = (
            f.trainable_parameters(),
            f.trainable_parameters() + f.base_parameters(),
        );
        println!(
            "{rank:>4}  {:<28}  {n:>9}  {:>17.2}%",
            format!("{targets:?}"),
            100.0 * n as f64 / all as f64
        );
    }
    // ANCHOR_END: exercise_rank

    // ANCHOR: exercise_guidance
    step("exercise_guidance");
    // The merged model's new breed at four guidance scales: how much of the coat colour?
    println!(
        "guidance  {} coat pixels ({} samples)",
        CONFIG.new_breed, CONFIG.judge_samples
    );
    for w in [1.0, 2.0, 4.0, 6.0] {
        let o = SampleOptions {
            cfg_scale: w,
            ..CONFIG.sampler
        };
        let x = sample_breeds(&merged, &[new_class], CONFIG.judge_samples, &o, CONFIG.seed)?;
        let share = coat_share(
            &images::to_rgb8_all(&x)?,
            CONFIG.new_coat,
            CONFIG.coat_radius,
        );
        println!("{w:>8}  {:>5.1}%", 100.0 * share);
    }
    // ANCHOR_END: exercise_guidance

    // ANCHOR: exercise_label_row
    step("exercise_label_row");
    // The new breed's row of the merged label table, against the rows of the old breeds.
    let (merged_vs, _) = TinyDit::load(&merged_dir, Device::Cpu)?;
    let table = merged_vs.variables()["y_embedder.embedding_table.weight"].shallow_clone();
    let unit = &table / table.norm_scalaropt_dim(2, [1], true); // rows of length 1
    let sim = unit.matmul(&unit.get(new_class)); // (rows,) cosine similarity
    let names = merged.config().class_names.clone();
    let mut order: Vec<usize> = (0..names.len())
        .filter(|&i| i as i64 != new_class)
        .collect();
    order.sort_by(|&a, &b| {
        sim.double_value(&[b as i64])
            .total_cmp(&sim.double_value(&[a as i64]))
    });
    println!("the rows most like `{}`:", CONFIG.new_breed);
    for &i in &order[..3] {
        println!("  {:<18} {:+.3}", names[i], sim.double_value(&[i as i64]));
    }
    println!(
        "the null class      {:+.3}",
        sim.double_value(&[merged.null_class()])
    );
    // ANCHOR_END: exercise_label_row
    Ok(())
}

// ANCHOR: coat_share
/// The share of pixels, over all `images`, whose colour lies within `radius` (Euclidean,
/// 0–255 sRGB) of `coat`: the colour statistic that tells whether samples show the new breed.
fn coat_share(images: &[RgbImage], coat: [u8; 3], radius: f64) -> f64 {
    let (mut near, mut all) = (0u64, 0u64);
    for px in images.iter().flat_map(|img| img.pixels()) {
        let d2: f64 = (0..3)
            .map(|c| (px[c] as f64 - coat[c] as f64).powi(2))
            .sum();
        near += u64::from(d2 <= radius * radius);
        all += 1;
    }
    near as f64 / all.max(1) as f64
}
// ANCHOR_END: coat_share

/// The largest difference of one channel of one pixel between two images of the same size.
fn max_pixel_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}
