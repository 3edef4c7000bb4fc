//! Flow matching from scratch: the exercises. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: exercise_exact
pub fn exact(data: &Data) -> Result<()> {
    step("exercise_exact");
    // Integrate the exact field of the training points instead of the network
    // Data: (500 samples: the exact field weighs every training point at every
    // step).
    let Data {
        train, held_out, ..
    } = data;
    let start = normal(CONFIG.seed + 2, 0, 500);
    let exact = integrate(
        Tch(start),
        &timesteps(64, 1.0),
        Solver::Euler,
        |x: &Tch, t| -> Result<Tch> {
            // v* is 0/0 at t = 1
            let tt = Tensor::full([x.0.size()[0]], t.min(0.999), FLOAT);
            Ok(Tch(exact_velocity(&train.points, &x.0, &tt)))
        },
        |_| {},
    )?
    .0;
    println!(
        "distance of the exact-field samples to the nearest training point \
         {:.4}",
        off_shape(&exact, &train.points)
    );
    println!(
        "distance of held-out data to the nearest training point           \
         {:.4}",
        off_shape(&held_out.points, &train.points)
    );
    Ok(())
}
// ANCHOR_END: exercise_exact

// ANCHOR: exercise_pairing
pub fn pairing(train: &Toy) -> Result<()> {
    step("exercise_pairing");
    // Pair 512 noise points with 512 data points at random, then greedily: each
    // noise point (in a fixed order) takes the nearest data point still
    // free.
    let n = 512;
    let x0 = normal(CONFIG.seed + 6, 0, n);
    let x1 = train
        .points
        .index_select(0, &spread_indices(train.len(), n));
    let random = (&x1 - &x0)
        .square()
        .sum_dim_intlist(1, false, Kind::Float)
        .sqrt();
    let mut free = vec![true; n as usize];
    let d = Tensor::cdist(&x0, &x1, 2.0, None); // (n, n)
    let d = Vec::<f32>::try_from(d.reshape([-1]))?;
    let mut greedy = Vec::new();
    for i in 0..n as usize {
        let row = &d[i * n as usize..(i + 1) * n as usize];
        let j = (0..n as usize)
            .filter(|&j| free[j])
            .min_by(|&a, &b| row[a].total_cmp(&row[b]))
            .expect("as many data points as noise points");
        free[j] = false;
        greedy.push(row[j]);
    }
    let greedy_mean = greedy.iter().sum::<f32>() / n as f32;
    println!(
        "mean path length: random pairs {:.3}, greedy nearest pairs \
         {greedy_mean:.3}",
        random.mean(Kind::Float).double_value(&[])
    );
    Ok(())
}
// ANCHOR_END: exercise_pairing

// ANCHOR: exercise_shift
pub fn shift(model: &VelocityMlp, train: &Toy) -> Result<()> {
    step("exercise_shift");
    // Eight Euler steps on three time grids: shift > 1 puts the steps near the
    // noise, shift < 1 near the data.
    println!("shift  first steps at t =              distance to data");
    for shift in [1.0 / 3.0, 1.0, 3.0] {
        let grid = timesteps(8, shift);
        let x = integrate(
            Tch(normal(CONFIG.seed + 2, 0, CONFIG.samples as i64)),
            &grid,
            Solver::Euler,
            |x: &Tch, t| velocity(model, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0;
        let head: Vec<String> = grid[..4]
            .iter()
            .map(|t| format!("{:.3}", if t.abs() < 1e-9 { 0.0 } else { *t }))
            .collect();
        println!(
            "{shift:<5.2}  {:<30}  {:.4}",
            head.join(", "),
            off_shape(&x, &train.points)
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_shift
