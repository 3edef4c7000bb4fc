//! What the toy network learned: the average velocity through one point, the
//! field at three times, and samples with their trajectories. These steps use
//! the example's imports (`super::*`).

use super::*;

// ANCHOR: marginal
pub fn marginal(model: &VelocityMlp, train: &Toy) -> Result<()> {
    step("marginal");
    // At one point x and time t, gather the training pairs whose path passes
    // near x: their velocities x1 − x0 disagree; the network can only learn
    // their average.
    let (at, t) = ((1.0, 0.8), 0.5);
    let (many, radius) = (400_000, 0.1);
    let x1 = train.points.index_select(
        0,
        &Tensor::randint(train.len(), [many], (Kind::Int64, Device::Cpu)),
    );
    let x0 = x1.randn_like();
    let x_t = &x1 * t + &x0 * (1.0 - t);
    let near = (&x_t - Tensor::from_slice(&[at.0 as f32, at.1 as f32]))
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .lt(radius * radius)
        .nonzero()
        .squeeze_dim(1);
    // the per-pair velocities near x
    let targets = (&x1 - &x0).index_select(0, &near);
    let average = targets.mean_dim(0, false, Kind::Float);
    let x = Tensor::from_slice(&[at.0 as f32, at.1 as f32]).view([1, 2]);
    let tt = Tensor::from_slice(&[t as f32]);
    let learned = tch::no_grad(|| model.forward(&x, &tt, &null(1))).get(0);
    let exact = exact_velocity(&train.points, &x, &tt).get(0);
    let show = |v: &Tensor| {
        format!(
            "({:+.2}, {:+.2})",
            v.double_value(&[0]),
            v.double_value(&[1])
        )
    };
    println!(
        "x = {at:?}, t = {t}: {} of {many} pairs pass within {radius}",
        targets.size()[0]
    );
    println!(
        "their velocities x1 − x0 spread with std ({:.2}, {:.2})",
        targets.std_dim(0, true, false).double_value(&[0]),
        targets.std_dim(0, true, false).double_value(&[1])
    );
    println!("their average      {}", show(&average));
    println!("the exact field    {}", show(&exact));
    println!("the trained MLP    {}", show(&learned));
    let estimates = [&average, &exact, &learned];
    let picture =
        figures::velocities_through(&train.points, at, t, &targets, estimates)?;
    let path = save_png(&picture, out_dir().join("marginal.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: marginal

// ANCHOR: field
pub fn field(model: &VelocityMlp, train: &Toy) -> Result<()> {
    step("field");
    let ts = [0.1, 0.5, 0.9];
    let grid = grid_points(15, 2.4); // (225, 2)
    let n = grid.size()[0];
    let fields = ts.map(|t| {
        let tt = Tensor::full([n], t, FLOAT);
        // (225, 2) velocities
        tch::no_grad(|| model.forward(&grid, &tt, &null(n)))
    });
    let picture = figures::learned_field(&train.points, &grid, &ts, &fields)?;
    let path = save_png(&picture, out_dir().join("field.png"))?;
    println!(
        "t      relative error of the learned field against the exact one"
    );
    for &t in &ts {
        println!("{t:<5}  {:.3}", field_error(model, train, t));
    }
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: field

// ANCHOR: sample
pub fn sample(model: &VelocityMlp, data: &Data) -> Result<()> {
    step("sample");
    // The same integration loop that samples cats in every other chapter, on a
    // 2-D state.
    let Data {
        train, held_out, ..
    } = data;
    let start = normal(CONFIG.seed + 2, 0, CONFIG.samples as i64); // (2000, 2)
    let mut trace = vec![start.shallow_clone()];
    let x = integrate(
        Tch(start),
        &timesteps(CONFIG.sample_steps, 1.0),
        Solver::Euler,
        |x: &Tch, t| velocity(model, x, t, NULL_CLASS, 1.0),
        |s| trace.push(s.x.0.shallow_clone()),
    )?
    .0;
    let traces: Vec<Vec<(f64, f64)>> = (0..40)
        .map(|i| trace.iter().map(|x| point(x, i)).collect())
        .collect();
    let bend = traces.iter().map(|p| path_length(p)).sum::<f64>()
        / traces.iter().map(|p| chord(p)).sum::<f64>();
    let (off, gap) =
        (off_shape(&x, &train.points), off_shape(&train.points, &x));
    let (off_ref, gap_ref) = (
        off_shape(&held_out.points, &train.points),
        off_shape(&train.points, &held_out.points),
    );
    println!(
        "{} samples, {} Euler steps",
        CONFIG.samples, CONFIG.sample_steps
    );
    println!("                            samples   held-out data");
    println!("distance to the data         {off:.4}        {off_ref:.4}");
    println!("data's distance to the set   {gap:.4}        {gap_ref:.4}");
    println!(
        "40 trajectories: total length / total straight-line distance {bend:.3}"
    );
    let picture =
        figures::trajectories_and_samples(&train.points, &traces, &x)?;
    let path = save_png(&picture, out_dir().join("sample.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: sample
