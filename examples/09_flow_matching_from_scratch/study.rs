//! Flow matching from scratch, measured: solvers, time sampling, two more of
//! the trainer's choices, and guidance. These steps use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: solvers
pub fn solvers(model: &VelocityMlp, train: &Toy) -> Result<()> {
    step("solvers");
    // Integration error against a fine Heun solution from the same noise, and
    // the samples' distance to the data, as the number of network
    // evaluations grows.
    let start = normal(CONFIG.seed + 2, 0, CONFIG.samples as i64);
    let solve = |solver, steps| -> Result<Tensor> {
        let grid = timesteps(steps, 1.0);
        Ok(integrate(
            Tch(start.shallow_clone()),
            &grid,
            solver,
            |x: &Tch, t| velocity(model, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0)
    };
    let reference = solve(Solver::Heun, 256)?;
    println!("solver  steps  evaluations  error vs Heun-256  distance to data");
    let mut series = Vec::new();
    for solver in [Solver::Euler, Solver::Heun] {
        let mut points = Vec::new();
        for &steps in &CONFIG.steps_sweep {
            let x = solve(solver, steps)?;
            let evals = SampleOptions {
                steps,
                solver,
                ..SampleOptions::DEFAULT
            }
            .velocity_evaluations();
            let err = rms(&(&x - &reference));
            println!(
                "{solver:<6}  {steps:>5}  {evals:>11}  {err:>17.4}  {:>16.4}",
                off_shape(&x, &train.points)
            );
            points.push((evals as f64, err));
        }
        series.push((solver, points));
    }
    let chart = figures::solver_errors(&series)?;
    let path = save_png(&chart, out_dir().join("solvers.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: solvers

// ANCHOR: time_sampling
pub fn time_sampling(
    model: &VelocityMlp,
    train: &Toy,
    eval: &EvalBatch,
) -> Result<Measured> {
    step("time_sampling");
    // The same network, seed and steps, trained with t ~ U(0, 1) instead.
    let (_vs_uniform, uniform) =
        retrain(train, eval, TimeSampling::Uniform, Prediction::Velocity)?;
    println!(
        "time sampling   field error, mean over t   distance to data   data's \
         distance"
    );
    let mut curves = Vec::new();
    // the network of the `train` step
    let logit_normal = Measured::of(model, train)?;
    for (name, m) in [
        ("logit-normal", &logit_normal),
        ("uniform", &Measured::of(&uniform, train)?),
    ] {
        println!(
            "{name:<14}  {:>24.3}   {:>16.4}   {:>15.4}",
            m.mean_error(),
            m.off_shape,
            m.coverage_gap
        );
        curves.push((name, m.field_errors.clone()));
    }
    let title = "where along the path each network learned the field";
    let chart = figures::field_errors(title, curves)?;
    let path = save_png(&chart, out_dir().join("time_sampling.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(logit_normal)
}
// ANCHOR_END: time_sampling

// ANCHOR: ablations
pub fn ablations(
    vs: &nn::VarStore,
    model: &VelocityMlp,
    train: &Toy,
    trained: &Trained,
    logit_normal: Measured,
) -> Result<()> {
    step("ablations");
    // Two more of the trainer's choices, each against the network of the
    // `train` step (velocity output, logit-normal times, last weights): the
    // moving average of its weights, and a network whose last layer
    // predicts the clean point x̂1.
    let Trained { eval, ema } = trained;
    let (_vs_x, x_pred) =
        retrain(train, eval, TimeSampling::default(), Prediction::Data)?;
    let last = logit_normal; // measured in the previous step
    let averaged =
        ema.with_weights(&mut vs.variables(), || Measured::of(model, train))?;
    let predicts_x = Measured::of(&x_pred, train)?;
    println!(
        "network                 field error: mean   at t = 0.9   distance to \
         data   data's distance"
    );
    let mut curves = Vec::new();
    for (name, m) in [
        ("velocity, last weights", last),
        ("velocity, EMA weights", averaged),
        ("predicting x1", predicts_x),
    ] {
        println!(
            "{name:<22}  {:>17.3}   {:>10.3}   {:>16.4}   {:>15.4}",
            m.mean_error(),
            m.error_at(0.9),
            m.off_shape,
            m.coverage_gap
        );
        curves.push((name, m.field_errors));
    }
    let title = "field error of three variants of the trainer";
    let chart = figures::field_errors(title, curves)?;
    let path = save_png(&chart, out_dir().join("ablations.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: ablations

// ANCHOR: guidance
pub fn guidance(model: &VelocityMlp, train: &Toy) -> Result<()> {
    step("guidance");
    // Ask for the features (class 1) with more and more guidance, from the same
    // noise.
    let wanted = 1;
    let start = normal(CONFIG.seed + 3, 0, CONFIG.samples as i64);
    let mut samples = Vec::new();
    println!(
        "guidance  on the features  distance to data  features' distance to \
         the samples"
    );
    for &w in &CONFIG.guidance_sweep {
        let x = integrate(
            Tch(start.shallow_clone()),
            &timesteps(CONFIG.sample_steps, 1.0),
            Solver::Euler,
            |x: &Tch, t| velocity(model, x, t, wanted, w),
            |_| {},
        )?
        .0;
        let share = nearest_class(&x, train)
            .eq(wanted)
            .to_kind(Kind::Float)
            .mean(Kind::Float);
        println!(
            "w = {w:<4}  {:>14.1}%  {:>16.4}  {:>33.4}",
            100.0 * share.double_value(&[]),
            off_shape(&x, &train.points),
            off_shape(&train.class(wanted), &x)
        );
        samples.push((w, x));
    }
    let picture = figures::guided_samples(&train.points, &samples)?;
    let path = save_png(&picture, out_dir().join("guidance.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: guidance
