//! Inside TinyDiT's conditioning steps: the adaLN-Zero gates over time, and
//! where the attention looks. They use the example's imports (`super::*`).

use super::*;

// ANCHOR: adaln
pub fn adaln(g: &Loaded) -> Result<()> {
    let Loaded { c_in, breed, .. } = *g;
    let (cfg, model) = (&g.cfg, &g.model);
    step("adaln");
    // The conditioning c = t_embed(t) + y_embed(breed) sets, per block, a
    // shift, a scale and a gate for the attention and for the MLP. The
    // gates start at zero in training (adaLN-Zero); here is how large the
    // trained ones are at each t.
    let ts: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    let n = ts.len() as i64;
    let x = Tensor::zeros(
        [n, c_in, cfg.input_size, cfg.input_size],
        (Kind::Float, Device::Cpu),
    );
    let t =
        Tensor::from_slice(&ts.iter().map(|&t| t as f32).collect::<Vec<_>>());
    let y = Tensor::full([n], breed, (Kind::Int64, Device::Cpu));
    let inside = tch::no_grad(|| model.inspect(&x, &t, &y));
    let mut curves = Vec::new();
    println!(
        "block  |attention gate| at t = 0, 0.5, 1   |MLP gate| at t = 0, 0.5, 1"
    );
    for (b, m) in inside.modulation.iter().enumerate() {
        let mean_abs =
            // (n,)
            |k: i64| m.select(1, k).abs().mean_dim(1, false, Kind::Float);
        let (attn_gate, mlp_gate) = (mean_abs(2), mean_abs(5));
        let at = |v: &Tensor, i: i64| v.double_value(&[i]);
        println!(
            "{b:>5}  {:>8.3} {:>6.3} {:>6.3}              {:>8.3} {:>6.3} \
             {:>6.3}",
            at(&attn_gate, 0),
            at(&attn_gate, 5),
            at(&attn_gate, 10),
            at(&mlp_gate, 0),
            at(&mlp_gate, 5),
            at(&mlp_gate, 10)
        );
        let points = ts
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, at(&attn_gate, i as i64)))
            .collect();
        curves.push(points);
    }
    let chart = figures::attention_gates(curves)?;
    let path = save_png(&chart, out_dir().join("adaln.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(())
}
// ANCHOR_END: adaln

// ANCHOR: attention
/// The noise and the cat the attention step interpolates between, for the
/// exercises.
pub struct Halfway {
    pub x0: Tensor,
    pub x1: Tensor,
}

pub fn attention(g: &Loaded, cat: &RgbImage) -> Result<Halfway> {
    let Loaded {
        p,
        grid,
        tokens,
        c_in,
        breed,
        ..
    } = *g;
    let (cfg, model) = (&g.cfg, &g.model);
    step("attention");
    // Half-way from noise to the cat above, where does one token look in each
    // block?
    let norm = cfg.normalize()?;
    let x1 = flow::from_unit_range(&x_of(cat), &norm);
    let x0 = seeded_noise(
        CONFIG.seed,
        1,
        [c_in, cfg.input_size, cfg.input_size],
        Device::Cpu,
    );
    let t = Tensor::from_slice(&[CONFIG.attention_t as f32]);
    let x_t = flow::interpolate(&x0, &x1, &t);
    let y = Tensor::from_slice(&[breed]);
    let inside = tch::no_grad(|| model.inspect(&x_t, &t, &y));
    let (qr, qc) = CONFIG.query;
    let query = qr * grid + qc;
    let mut maps = Vec::new();
    println!(
        "block  own token  3 × 3 around it  farthest half  most weight on \
         (row, col)"
    );
    for (b, a) in inside.attention.iter().enumerate() {
        // row: (T,), heads averaged
        let row = a.get(0).mean_dim(0, false, Kind::Float).get(query);
        let w = Vec::<f32>::try_from(&row)?;
        let dist = |k: i64| ((k / grid - qr).abs()).max((k % grid - qc).abs());
        let share = |f: &dyn Fn(i64) -> bool| {
            (0..tokens)
                .filter(|&k| f(k))
                .map(|k| w[k as usize])
                .sum::<f32>()
        };
        let mut by_distance: Vec<i64> = (0..tokens).collect();
        by_distance.sort_by_key(|&k| std::cmp::Reverse(dist(k)));
        let far: f32 = by_distance[..(tokens / 2) as usize]
            .iter()
            .map(|&k| w[k as usize])
            .sum();
        let mut ranked: Vec<i64> = (0..tokens).collect();
        ranked.sort_by(|&i, &j| w[j as usize].total_cmp(&w[i as usize]));
        let top: Vec<(i64, i64)> =
            ranked[..3].iter().map(|&k| (k / grid, k % grid)).collect();
        println!(
            "{b:>5}  {:>9.3}  {:>15.3}  {far:>13.3}  {top:?}",
            w[query as usize],
            share(&|k| dist(k) <= 1)
        );
        maps.push(w);
    }
    // The cat, with the query token framed in red, and the maps.
    let img = figures::attention_maps(
        cat,
        CONFIG.query,
        p,
        &maps,
        grid as usize,
        CONFIG.attention_t,
    )?;
    let path = save_png(&img, out_dir().join("attention.png"))?;
    println!("saved        {}", display_path(&path));
    Ok(Halfway { x0, x1 })
}
// ANCHOR_END: attention
