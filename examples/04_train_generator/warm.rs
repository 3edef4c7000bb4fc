//! The last training step: the bundled generator, trained on a GPU, continued
//! for a few steps on this chapter's dataset. It uses the example's imports
//! (`super::*`).

use super::*;
use training::loader;

// ANCHOR: warm_start
/// The continued run: a few steps, at a tenth of the first run's learning rate,
/// so that the GPU's training is kept and adapted rather than overwritten.
const WARM_STEPS: u64 = 10;
const WARM_LR: f64 = 1e-4;

pub fn warm_start(setup: &Setup) -> Result<()> {
    step("warm_start");
    chaotic(
        "a training run continued from the bundled weights: its losses differ \
         between CPU kernels",
    );
    let bundled = workspace_root().join("assets/generator");
    let ModelConfig::TinyDit(cfg) = ModelConfig::read(&bundled)?.0 else {
        bail!("{} holds no generator", bundled.display());
    };
    tch::manual_seed(CONFIG.seed as i64);
    let mut task =
        GeneratorTask::new(&cfg, setup.run.time_sampling, setup.device)?;
    // strict: every tensor
    io::load_var_store(&task.vs, &bundled.join("model.safetensors"))?;
    task.preview = CONFIG.sampler;
    task.preview_seed = CONFIG.seed;
    let run_dir = setup.work.join("runs/warm");
    let samples = run_dir.join("samples");
    std::fs::create_dir_all(&samples)?;
    task.preview(0, &samples)?; // the bundled weights, before a step here

    let warm = TrainerConfig {
        max_steps: WARM_STEPS,
        lr: WARM_LR,
        min_lr: WARM_LR / 10.0,
        warmup_steps: 5,
        eval_every: 10,
        log_every: 10,
        checkpoint_every: WARM_STEPS,
        preview_every: Some(10),
        ..setup.run.trainer.clone()
    };
    let (mut train, mut val) = (
        loader(setup, &cfg, "train", true)?,
        loader(setup, &cfg, "val", false)?,
    );
    let started = Instant::now();
    let (summary, _) = Trainer::new(warm, &run_dir, setup.device)?
        .fit(&mut task, &mut train, &mut val, false)?;
    let params: i64 = task
        .vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    // Where the continued model's validation loss lands on every CPU: near the
    // GPU run's own (a learning rate that undid its training would send it
    // far above).
    let best = stable(
        "best val_loss",
        summary.best_val_loss.unwrap_or(f64::NAN),
        Tolerance::relative(0.2),
    );
    println!(
        "continued the bundled generator ({params} parameters, {} px) for {} \
         steps in {:.1} s; \
         best val_loss {best:.4}",
        cfg.input_size,
        summary.steps,
        started.elapsed().as_secs_f64()
    );
    let title = "the bundled generator continued on this dataset \
                 (EMA weights, same noise)";
    let (grids, picture, text) = figures::preview_grids(&samples, title, 1)?;
    let path = save_png(&picture, out_dir().join("warm_start.png"))?;
    chaotic_image(&path, "previews of a training run", &text);
    println!("{grids} preview grids");
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: warm_start
