//! The generation chapter's sweeps (guidance scale, guidance interval, the old
//! and new default, the number of steps), a sample's trajectory and its
//! variations. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: guidance
pub fn guidance(g: &Loaded) -> Result<()> {
    step("guidance");
    let breeds = [g.breed, 0, 3]; // the chosen breed, Abyssinian and Bombay
    let mut tiles = Vec::new();
    for &b in &breeds {
        for &scale in &CONFIG.guidance_sweep {
            // Guidance at every step (the old default's sampler), so only the
            // scale moves.
            let o = SampleOptions {
                cfg_scale: scale,
                ..CONFIG.before
            };
            let x = sample_breeds(&g.model, &[b], 1, &o, CONFIG.seed)?;
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    let sheet = figures::guidance(
        &tiles,
        &CONFIG.guidance_sweep,
        row_labels(&g.cfg, &breeds),
    )?;
    let path = save_png(&sheet, out_dir().join("guidance.png"))?;
    println!("scales       {:?}", CONFIG.guidance_sweep);
    println!("saved        {}", display_path(&path));
    println!(
        "each cat in the book's page (a row per breed, a line per scale):"
    );
    for &b in &breeds {
        let name = &g.cfg.class_names[b as usize];
        for &scale in &CONFIG.guidance_sweep {
            let o = SampleOptions {
                cfg_scale: scale,
                ..CONFIG.before
            };
            println!("{name:<10} w = {scale:<4} {}", link(name, 0, &o));
        }
    }
    Ok(())
}
// ANCHOR_END: guidance

// ANCHOR: interval
pub fn interval(g: &Loaded) -> Result<()> {
    step("interval");
    // Guidance w = 4 only while t is in [from, to]; the other steps follow the
    // breed's own velocity and cost one network evaluation instead of two.
    // as in the guidance sweep
    let (opts, breeds) = (CONFIG.sampler, [g.breed, 0, 3]);
    let guided_in = |interval: [f64; 2]| SampleOptions {
        guidance_interval: interval,
        ..CONFIG.before
    };
    let mut tiles = Vec::new();
    for &b in &breeds {
        for &interval in &CONFIG.intervals {
            let x = sample_breeds(
                &g.model,
                &[b],
                1,
                &guided_in(interval),
                CONFIG.seed,
            )?;
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    println!("interval     network evaluations per image");
    for &[from, to] in &CONFIG.intervals {
        let evaluations = guided_in([from, to]).network_evaluations();
        println!("[{from}, {to}]   {evaluations:>3}");
    }
    let sheet = figures::intervals(
        &tiles,
        &CONFIG.intervals,
        row_labels(&g.cfg, &breeds),
    )?;
    let path = save_png(&sheet, out_dir().join("interval.png"))?;
    println!("saved        {}", display_path(&path));
    // Where each default guides in t.
    let chart = figures::guidance_over_t(&CONFIG.before, &opts)?;
    let path = save_png(&chart, out_dir().join("interval_t.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: interval

// ANCHOR: new_default
pub fn new_default(g: &Loaded) -> Result<()> {
    step("new_default");
    // Every breed from the same noise, with the old default and with the new
    // one.
    let (opts, cfg) = (CONFIG.sampler, &g.cfg);
    let all: Vec<i64> = (0..cfg.num_classes).collect();
    let mut tiles = Vec::new();
    for o in [&CONFIG.before, &opts] {
        // one per breed
        let x = sample_breeds(&g.model, &all, 1, o, CONFIG.seed + 7)?;
        tiles.extend(images::to_rgb8_all(&x)?);
        println!(
            "{o}: {} network evaluations per image",
            o.network_evaluations()
        );
    }
    let sheet = figures::new_default(&tiles, &cfg.class_names)?;
    let path = save_png(&sheet, out_dir().join("new_default.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: new_default

// ANCHOR: steps
pub fn steps(g: &Loaded) -> Result<()> {
    step("steps");
    let opts = CONFIG.sampler;
    let reference = sample_breeds(
        &g.model,
        &[g.breed],
        1,
        &SampleOptions {
            steps: 64,
            solver: Solver::Heun,
            ..opts
        },
        CONFIG.seed,
    )?;
    let mut tiles = Vec::new();
    println!("solver  steps  evaluations  RMSE vs Heun-64  time/image");
    for solver in [Solver::Euler, Solver::Heun] {
        for &steps in &CONFIG.steps_sweep {
            let o = SampleOptions {
                steps,
                solver,
                ..opts
            };
            let started = Instant::now();
            let x = sample_breeds(&g.model, &[g.breed], 1, &o, CONFIG.seed)?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let rmse = (&x - &reference)
                .square()
                .mean(Kind::Float)
                .sqrt()
                .double_value(&[]);
            // Heun's last step is an Euler step
            let evals = o.velocity_evaluations();
            println!(
                "{solver:<6}  {steps:>5}  {evals:>11}  {rmse:>15.4}  {ms:.1} ms"
            );
            tiles.push(images::to_rgb8(&x.get(0))?);
        }
    }
    let sheet = figures::steps(&tiles, &CONFIG.steps_sweep)?;
    let path = save_png(&sheet, out_dir().join("steps.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: steps

// ANCHOR: trajectory
pub fn trajectory(g: &Loaded) -> Result<()> {
    step("trajectory");
    // Euler by hand — the loop that `flow::sample` runs, written out on purpose
    // — keeping x_t and the model's guess of the final image, x̂₁ = x_t + (1
    // − t)·v̂.
    let Loaded {
        device,
        model,
        cfg,
        breed,
        norm,
        ..
    } = g;
    let (opts, device) = (CONFIG.sampler, *device);
    let chw = [cfg.in_channels, cfg.input_size, cfg.input_size];
    let noise = seeded_noise(CONFIG.seed, 1, chw, device);
    let y = Tensor::from_slice(&[*breed]).to_device(device);
    let mut seen = Vec::new(); // (t, x_t, x̂₁)
    let mut x = noise;
    for w in timesteps(CONFIG.trajectory_steps, opts.shift).windows(2) {
        let (t, dt) = (w[0], w[1] - w[0]);
        let tt = Tensor::full([1], t, (Kind::Float, device));
        // the guidance scale, 1 outside the interval
        let w = opts.guidance_at(t);
        let v = tch::no_grad(|| model.forward_with_cfg(&x, &tt, &y, w));
        seen.push((t, x.shallow_clone(), &x + &v * (1.0 - t)));
        x = &x + &v * dt;
    }
    seen.push((1.0, x.shallow_clone(), x)); // the sample itself, at t = 1
    let to_tile =
        |x: &Tensor| images::to_rgb8(&flow::to_unit_range(x, norm).get(0));
    let mut tiles = Vec::new();
    for row in 0..2 {
        for (_, x_t, x1_hat) in &seen {
            tiles.push(to_tile(if row == 0 { x_t } else { x1_hat })?);
        }
    }
    let ts: Vec<f64> = seen.iter().map(|(t, _, _)| *t).collect();
    let path = save_png(
        &figures::trajectory(&tiles, &ts)?,
        out_dir().join("trajectory.png"),
    )?;
    println!(
        "{} Euler steps; x_t at t = {:?}",
        ts.len() - 1,
        ts.iter()
            .map(|t| (t * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: trajectory

// ANCHOR: variations
pub fn variations(g: &Loaded) -> Result<()> {
    step("variations");
    let opts = CONFIG.sampler;
    let x = sample_breeds(
        &g.model,
        &[g.breed],
        CONFIG.variations,
        &opts,
        CONFIG.seed + 1,
    )?;
    let spread = x
        .std_dim(0, true, false)
        .mean(Kind::Float)
        .double_value(&[]);
    let sheet = figures::variations(&images::to_rgb8_all(&x)?, CONFIG.breed)?;
    let path = save_png(&sheet, out_dir().join("variations.png"))?;
    println!(
        "per-pixel std across the {} samples: {spread:.3}",
        CONFIG.variations
    );
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: variations
