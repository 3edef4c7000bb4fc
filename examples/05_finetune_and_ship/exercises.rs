//! The fine-tuning chapter's exercises. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: exercise_rank
pub fn rank(nb: &NewBreed, ft_run: &FineTuneRun) -> Result<()> {
    step("exercise_rank");
    // Trainable numbers for other ranks, and for adapters on the attention
    // alone.
    let lora = &ft_run.lora;
    println!(
        "rank  targets                       trainable  share of the model"
    );
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
        let f = FineTune::from_pretrained(
            &nb.base_dir,
            &ft_run.new_classes,
            &cfg,
            Device::Cpu,
        )?;
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
    Ok(())
}
// ANCHOR_END: exercise_rank

// ANCHOR: exercise_guidance
pub fn guidance(m: &Merged) -> Result<()> {
    step("exercise_guidance");
    // The merged model's new breed at four guidance scales: how much of the
    // coat colour?
    println!(
        "guidance  {} coat pixels ({} samples)",
        CONFIG.new_breed, CONFIG.judge_samples
    );
    for w in [1.0, 2.0, 4.0, 6.0] {
        let o = SampleOptions {
            cfg_scale: w,
            ..CONFIG.sampler
        };
        let x = sample_breeds(
            &m.model,
            &[m.new_class],
            CONFIG.judge_samples,
            &o,
            CONFIG.seed,
        )?;
        let share = coat_share(
            &images::to_rgb8_all(&x)?,
            CONFIG.new_coat,
            CONFIG.coat_radius,
        );
        println!("{w:>8}  {:>5.1}%", 100.0 * share);
    }
    Ok(())
}
// ANCHOR_END: exercise_guidance

// ANCHOR: exercise_label_row
pub fn label_row(m: &Merged) -> Result<()> {
    step("exercise_label_row");
    // The new breed's row of the merged label table, against the rows of the
    // old breeds.
    let (merged, new_class) = (&m.model, m.new_class);
    let (merged_vs, _) = TinyDit::load(&m.dir, Device::Cpu)?;
    let table = merged_vs.variables()["y_embedder.embedding_table.weight"]
        .shallow_clone();
    // rows of length 1
    let unit = &table / table.norm_scalaropt_dim(2, [1], true);
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
    Ok(())
}
// ANCHOR_END: exercise_label_row
