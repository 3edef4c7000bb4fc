//! The generation chapter's exercises. They use the example's imports
//! (`super::*`).

use super::*;

/// The bundled classifier, which judges the exercises' cats (as the quickstart
/// used it).
pub fn classifier() -> Result<Classifier> {
    let repo = ModelRepo::resolve(
        &workspace_root().join(CONFIG.repo).to_string_lossy(),
        false,
    )?;
    Ok(Classifier::load(repo.file(CLASSIFIER_ONNX)?)?)
}

// ANCHOR: exercise_steps
pub fn steps(g: &mut Loaded, judge: &mut Classifier) -> Result<()> {
    step("exercise_steps");
    // One cat per breed at 1, 2, 4 and 8 Euler steps, each judged by the
    // classifier.
    let opts = CONFIG.sampler;
    println!("steps  breed fidelity (13 cats)");
    for steps in [1, 2, 4, 8] {
        let o = SampleOptions {
            steps,
            solver: Solver::Euler,
            ..opts
        };
        let f = breed_fidelity(&mut g.model, judge, 1, &o, CONFIG.seed + 200)?;
        println!("{steps:>5}  {:>5.1}%", 100.0 * f.report.overall());
    }
    Ok(())
}
// ANCHOR_END: exercise_steps

// ANCHOR: exercise_unconditional
pub fn unconditional(g: &Loaded, judge: &mut Classifier) -> Result<()> {
    step("exercise_unconditional");
    // Guidance 0 at every step follows the null class only: what does the model
    // draw with no breed? (Outside a guidance interval the breed's own
    // velocity would steer.)
    let o = SampleOptions {
        cfg_scale: 0.0,
        guidance_interval: [0.0, 1.0],
        ..CONFIG.sampler
    };
    // the breed is ignored
    let x = sample_breeds(&g.model, &[0], 26, &o, CONFIG.seed + 300)?;
    let mut counts = std::collections::BTreeMap::new();
    for img in images::to_rgb8_all(&x)? {
        let top = judge.classify(&DynamicImage::ImageRgb8(img), 1)?;
        *counts.entry(top[0].name.clone()).or_insert(0) += 1;
    }
    println!("26 unconditional samples, as the classifier names them:");
    for (name, n) in &counts {
        println!("  {name:<18} {n}");
    }
    Ok(())
}
// ANCHOR_END: exercise_unconditional

// ANCHOR: exercise_blend
pub fn blend(g: &Loaded, judge: &mut Classifier) -> Result<()> {
    step("exercise_blend");
    // Follow a blend of two breeds' guided velocities, (1 − a)·v(Siamese) +
    // a·v(Bombay), from the same noise.
    let Loaded {
        device,
        model,
        cfg,
        breed,
        norm,
        ..
    } = g;
    let (opts, device) = (CONFIG.sampler, *device);
    let (from, to) = (*breed, 3); // the chosen breed and Bombay
    let chw = [cfg.in_channels, cfg.input_size, cfg.input_size];
    let noise = seeded_noise(CONFIG.seed, 1, chw, device);
    let mut tiles = Vec::new();
    println!("a     the classifier's top breed");
    for a in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = tinycats_core::integrate(
            flow::Tch(noise.shallow_clone()),
            &timesteps(opts.steps, opts.shift),
            opts.solver,
            |x: &flow::Tch, t| -> Result<flow::Tch> {
                let tt = Tensor::full([1], t, (Kind::Float, device));
                let v = |b: i64| {
                    let y = Tensor::from_slice(&[b]).to_device(device);
                    // 1 outside the guidance interval
                    let w = opts.guidance_at(t);
                    tch::no_grad(|| model.forward_with_cfg(&x.0, &tt, &y, w))
                };
                Ok(flow::Tch(v(from) * (1.0 - a) + v(to) * a))
            },
            |_| {},
        )?
        .0;
        let img = images::to_rgb8(&flow::to_unit_range(&x, norm).get(0))?;
        let top = judge.classify(&DynamicImage::ImageRgb8(img.clone()), 1)?;
        println!(
            "{a:<4}  {} ({:.0}%)",
            top[0].name,
            100.0 * top[0].probability
        );
        tiles.push(img);
    }
    let path = save_png(
        &figures::blend(&tiles, CONFIG.breed)?,
        out_dir().join("blend.png"),
    )?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: exercise_blend

// ANCHOR: exercise_interval
pub fn interval(g: &mut Loaded, judge: &mut Classifier) -> Result<()> {
    step("exercise_interval");
    // Guidance 4 only early, only in the middle, only late: which part buys the
    // breed?
    println!("interval     breed fidelity (13 cats)  network evaluations");
    for interval in [[0.0, 0.3], [0.3, 0.7], [0.7, 1.0]] {
        let o = SampleOptions {
            guidance_interval: interval,
            ..CONFIG.before
        };
        let f = breed_fidelity(&mut g.model, judge, 1, &o, CONFIG.seed + 400)?;
        println!(
            "{:<12} {:>5.1}%  {:>27}",
            format!("{interval:?}"),
            100.0 * f.report.overall(),
            o.network_evaluations()
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_interval
