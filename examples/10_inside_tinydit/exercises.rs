//! Inside TinyDiT's exercises: the gates across breeds, attention's locality
//! over time, and the cost of smaller patches. They use the example's imports
//! (`super::*`).

use super::*;

// ANCHOR: exercise_breeds
pub fn breeds(g: &Loaded) -> Result<()> {
    let (c_in, cfg, model) = (g.c_in, &g.cfg, &g.model);
    step("exercise_breeds");
    // The attention gates of every block at t = 0.5 for four breeds, against
    // their spread over time (t = 0.1 against t = 0.9) for the chosen
    // breed.
    let breeds = ["Siamese", "Bombay", "Sphynx", "Persian"];
    let ys: Vec<i64> = breeds
        .iter()
        .map(|b| {
            class_index(&cfg.class_names, &Breed::Name((*b).into()), false)
                .map(|i| i as i64)
        })
        .collect::<Result<_, _>>()?;
    let n = ys.len() as i64;
    let x = Tensor::zeros(
        [n, c_in, cfg.input_size, cfg.input_size],
        (Kind::Float, Device::Cpu),
    );
    let gates = |t: f64, ys: &[i64]| -> Vec<Vec<f64>> {
        let m = ys.len() as i64;
        let inside = tch::no_grad(|| {
            model.inspect(
                &x.narrow(0, 0, m),
                &Tensor::full([m], t, (Kind::Float, Device::Cpu)),
                &Tensor::from_slice(ys),
            )
        });
        inside
            .modulation
            .iter()
            .map(|mb| {
                // g: (m,)
                let g = mb.select(1, 2).abs().mean_dim(1, false, Kind::Float);
                (0..m).map(|i| g.double_value(&[i])).collect()
            })
            .collect()
    };
    let by_breed = gates(0.5, &ys);
    let (early, late) = (gates(0.1, &ys[..1]), gates(0.9, &ys[..1]));
    println!(
        "block  {}  t = 0.1 / 0.9 ({})",
        breeds.map(|b| format!("{b:>8}")).join(""),
        breeds[0]
    );
    for (b, row) in by_breed.iter().enumerate() {
        let cells: String = row.iter().map(|g| format!("{g:>8.3}")).collect();
        println!("{b:>5}  {cells}  {:.3} / {:.3}", early[b][0], late[b][0]);
    }
    Ok(())
}
// ANCHOR_END: exercise_breeds

// ANCHOR: exercise_local
pub fn local(g: &Loaded, halfway: &Halfway) -> Result<()> {
    let Loaded {
        grid,
        tokens,
        breed,
        ..
    } = *g;
    let (cfg, model) = (&g.cfg, &g.model);
    step("exercise_local");
    // The eye token's share of attention in its 3 × 3 neighbourhood, per block,
    // at three times.
    let Halfway { x0, x1 } = halfway;
    let (qr, qc) = CONFIG.query;
    let query = qr * grid + qc;
    println!(
        "t     share in the 3 × 3 neighbourhood, blocks 0 … {}",
        cfg.depth - 1
    );
    for t_val in [0.1, 0.5, 0.9] {
        let t = Tensor::from_slice(&[t_val as f32]);
        let x_t = flow::interpolate(x0, x1, &t);
        let inside = tch::no_grad(|| {
            model.inspect(&x_t, &t, &Tensor::from_slice(&[breed]))
        });
        let shares: Vec<String> = inside
            .attention
            .iter()
            .map(|a| {
                // row: (T,)
                let row = a.get(0).mean_dim(0, false, Kind::Float).get(query);
                let near: f64 = (0..tokens)
                    .filter(|k| {
                        (k / grid - qr).abs().max((k % grid - qc).abs()) <= 1
                    })
                    .map(|k| row.double_value(&[k]))
                    .sum();
                format!("{near:.2}")
            })
            .collect();
        println!("{t_val:<4}  {}", shares.join("  "));
    }
    Ok(())
}
// ANCHOR_END: exercise_local

// ANCHOR: exercise_patch4
pub fn patch4(g: &Loaded) -> Result<()> {
    step("exercise_patch4");
    // What the same width and depth would cost with 4 × 4 patches (256 tokens).
    let cfg = &g.cfg;
    println!(
        "patch  tokens  MFLOP/image: projections  MLP  attention T×T  total \
         (blocks)  × patch 8"
    );
    let mut patch8_total = None;
    for patch in [8, 4] {
        let config = DitConfig {
            patch_size: patch,
            ..cfg.clone()
        };
        let m = config.forward_macs();
        let all_blocks = |macs: i64| 2.0 * (m.depth * macs) as f64 / 1e6;
        let (proj, mlp, attn) = (
            all_blocks(m.qkv_proj),
            all_blocks(m.mlp),
            all_blocks(m.attention),
        );
        let total = proj + mlp + attn;
        let base = *patch8_total.get_or_insert(total);
        println!(
            "{patch:>5}  {:>6}  {proj:>24.0}  {mlp:>4.0}  {attn:>13.0}  \
             {total:>14.0}  {:>9.2}",
            config.num_patches(),
            total / base
        );
    }
    Ok(())
}
// ANCHOR_END: exercise_patch4
