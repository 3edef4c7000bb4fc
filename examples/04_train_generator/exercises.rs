//! The training chapter's exercises. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: exercise_ema
pub fn ema(trained: &Trained) {
    step("exercise_ema");
    // The share of the average held by the last m updates: update k enters with
    // weight 1 − d_k and is multiplied by every later d, so the updates
    // before the last m keep the product of the last m decays. The decay
    // warms up as min(decay, (1 + k)/(10 + k)).
    println!(
        "decay  at step  decay in use  share from the last 10 / 50 / 100 / 150 \
         steps"
    );
    let Trained { task, summary, .. } = trained;
    for (decay, at) in [
        (0.99, summary.steps),
        (0.999, summary.steps),
        (0.999, 8_000),
    ] {
        let ema = Ema::new(&task.vs, decay); // only its decay schedule is used
        let share = |m: u64| {
            let before: f64 = (at - m..at).map(|k| ema.decay_at(k)).product();
            100.0 * (1.0 - before)
        };
        println!(
            "{decay:<5}  {at:>7}  {:>12.4}  {:>5.1} % {:>5.1} % {:>5.1} % \
             {:>5.1} %",
            ema.decay_at(at - 1),
            share(10),
            share(50),
            share(100),
            share(150)
        );
    }
}
// ANCHOR_END: exercise_ema

// ANCHOR: exercise_bad_heads
pub fn bad_heads() {
    step("exercise_bad_heads");
    // Five heads cannot split a width of 128 evenly.
    let five_heads = CONFIG.run_toml.replace("num_heads = 4", "num_heads = 5");
    let err = runconfig::from_toml_str::<GeneratorRun>(&five_heads)
        .and_then(|run| run.validate().map(|_| run))
        .expect_err("5 heads of a width of 128 must be refused");
    println!("{err}");
}
// ANCHOR_END: exercise_bad_heads

// ANCHOR: exercise_new_breed
pub fn new_breed(setup: &Setup) -> Result<()> {
    step("exercise_new_breed");
    // Four Bengals, and the same four tinted teal in a folder of a breed
    // SynthCats lacks.
    let mine = setup.work.join("my-breeds");
    let bengals = setup.split_dir.join("train/Bengal");
    for folder in ["Bengal", "Teal_Bengal"] {
        std::fs::create_dir_all(mine.join(folder))?;
    }
    for name in list_dir(&bengals)?.iter().take(4) {
        let img = image::open(bengals.join(name))?.to_rgb8();
        img.save(mine.join("Bengal").join(name))?;
        let mut teal = img.clone();
        for p in teal.pixels_mut() {
            let [r, g, b] = p.0;
            p.0 = [r / 4, g, b.saturating_add(60)];
        }
        teal.save(mine.join("Teal_Bengal").join(name))?;
    }
    let set = image_folder(&mine, &ImageFolderOptions::default())?;
    for (label, class) in set.classes.iter().enumerate() {
        let n = set.samples.iter().filter(|s| s.label == label).count();
        if n > 0 {
            println!("label {label:>2}  {class:<12} {n} images");
        }
    }
    print!("{}", curate::check(&mine, &CheckOptions::default())?);
    Ok(())
}
// ANCHOR_END: exercise_new_breed
