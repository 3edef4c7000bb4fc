//! The toy's velocity network, its flow-matching training, the exact field it
//! is measured against, and the measures of a trained network. It uses the
//! example's imports (`super::*`).

use super::*;

// ANCHOR: velocity_mlp
/// Width of the class embedding.
pub const CLASS_DIM: i64 = 16;
/// Frequencies of the sin/cos features of the point: π, 2π, … 16π per
/// coordinate. A plain MLP on (x, y) learns smooth functions first and draws
/// thin strokes as a blurred blob; these features let it bend the field sharply
/// near a stroke (Tancik et al., 2020).
pub const XFREQS: i64 = 5;

/// What the network's last layer outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prediction {
    /// The velocity itself.
    Velocity,
    /// The clean point x̂1, turned into the velocity (x̂1 − x_t) / max(1 − t,
    /// 0.05), as TinyDiT's `"prediction": "x"` does.
    Data,
}

/// The velocity network v(x, t, class): an MLP on the point and sin/cos
/// features of it, sin/cos features of the time, and a learned embedding of the
/// class (row 2 = no class).
#[derive(Debug)]
pub struct VelocityMlp {
    class_embedding: nn::Embedding,
    layers: nn::Sequential,
    prediction: Prediction,
}

impl VelocityMlp {
    pub fn new(vs: &nn::Path, hidden: i64, prediction: Prediction) -> Self {
        let linear =
            |name: &str, i, o| nn::linear(vs / name, i, o, Default::default());
        VelocityMlp {
            class_embedding: nn::embedding(
                vs / "class",
                NULL_CLASS + 1,
                CLASS_DIM,
                Default::default(),
            ),
            layers: nn::seq()
                .add(linear(
                    "in",
                    2 + 2 * FREQS + CLASS_DIM + 4 * XFREQS,
                    hidden,
                ))
                .add_fn(Tensor::silu)
                .add(linear("hidden1", hidden, hidden))
                .add_fn(Tensor::silu)
                .add(linear("hidden2", hidden, hidden))
                .add_fn(Tensor::silu)
                .add(linear("out", hidden, 2)),
            prediction,
        }
    }

    /// `x`: (N, 2), `t`: (N,), `class`: (N,) int64 → the velocity, (N, 2)
    pub fn forward(&self, x: &Tensor, t: &Tensor, class: &Tensor) -> Tensor {
        let freqs = Tensor::arange(FREQS, FLOAT).exp2() * PI; // (FREQS,)
        let angles = t.unsqueeze(1) * freqs.unsqueeze(0); // (N, FREQS)
        let xf = Tensor::arange(XFREQS, FLOAT).exp2() * PI; // (XFREQS,)
        let xa =
            // (N, 2·XFREQS)
            (x.unsqueeze(2) * xf.view([1, 1, XFREQS])).view([-1, 2 * XFREQS]);
        let input = Tensor::cat(
            &[
                x.shallow_clone(),
                xa.sin(),
                xa.cos(),
                angles.sin(),
                angles.cos(),
                self.class_embedding.forward(class),
            ],
            1,
        );
        let out = self.layers.forward(&input);
        match self.prediction {
            Prediction::Velocity => out,
            Prediction::Data => {
                (out - x) / (-t.unsqueeze(1) + 1.0).clamp_min(0.05)
            }
        }
    }
}
// ANCHOR_END: velocity_mlp

// ANCHOR: train_fn
/// Flow matching: at a random time t on the straight path from noise x0 to a
/// data point x1, regress the network on that pair's velocity x1 − x0. Keeps
/// `ema` (if any) up to date and returns the loss on `eval` every 250 steps.
pub fn train_velocity(
    vs: &mut nn::VarStore,
    model: &VelocityMlp,
    data: &Toy,
    times: TimeSampling,
    eval: &EvalBatch,
    mut ema: Option<&mut Ema>,
) -> Result<Vec<(f64, f64)>> {
    let mut opt = nn::AdamW::default().build(vs, CONFIG.lr)?;
    let mut curve = vec![(0.0, eval.loss(model))];
    for step in 1..=CONFIG.steps {
        let pick = Tensor::randint(
            data.len(),
            [CONFIG.batch],
            (Kind::Int64, Device::Cpu),
        );
        let x1 = data.points.index_select(0, &pick); // (B, 2) data
        let keep = Tensor::rand([CONFIG.batch], FLOAT).ge(CONFIG.label_dropout);
        let class = data
            .labels
            .index_select(0, &pick)
            .where_self(&keep, &null(CONFIG.batch));
        let x0 = x1.randn_like(); // (B, 2) noise
        let t = times.sample(CONFIG.batch, Device::Cpu).unsqueeze(1); // (B, 1)
        let x_t = &t * &x1 + (1.0 - &t) * &x0;
        let v = model.forward(&x_t, &t.squeeze_dim(1), &class);
        let loss = (v - (&x1 - &x0))
            .square()
            .sum_dim_intlist(1, false, Kind::Float)
            .mean(Kind::Float);
        opt.set_lr(CONFIG.lr * (1.0 - (step - 1) as f64 / CONFIG.steps as f64));
        opt.backward_step(&loss);
        if let Some(ema) = ema.as_deref_mut() {
            ema.update(vs);
        }
        if step % 250 == 0 {
            curve.push((step as f64, eval.loss(model)));
        }
    }
    Ok(curve)
}
// ANCHOR_END: train_fn

// ANCHOR: exact
/// The exact marginal velocity of the training points:
/// v*(x, t) = (E[x1 | x_t = x] − x) / (1 − t), where the expectation weighs
/// every point x1 by how likely the path from it is to pass through x (x_t ~
/// N(t·x1, (1 − t)²·I)).
///
/// `points`: (M, 2), `x`: (N, 2), `t`: (N,) → (N, 2)
pub fn exact_velocity(points: &Tensor, x: &Tensor, t: &Tensor) -> Tensor {
    let points = points.to_kind(Kind::Double);
    let parts: Vec<Tensor> = x
        .to_kind(Kind::Double)
        .split(512, 0)
        .iter()
        .zip(t.to_kind(Kind::Double).split(512, 0))
        .map(|(x, t)| {
            let t = t.unsqueeze(1); // (n, 1)
            let s: Tensor = 1.0 - &t; // x_t = t·x1 + s·x0
            // d2: (n, M, 2)
            let d2 = (x.unsqueeze(1) - t.unsqueeze(2) * points.unsqueeze(0))
                .square()
                .sum_dim_intlist(2, false, Kind::Double); // (n, M)
            // weights: (n, M)
            let weights = (-d2 / (s.square() * 2.0)).softmax(1, Kind::Double);
            (weights.matmul(&points) - x) / s // (E[x1 | x] − x) / (1 − t)
        })
        .collect();
    Tensor::cat(&parts, 0).to_kind(Kind::Float)
}
// ANCHOR_END: exact

// ANCHOR: guided_velocity
/// The velocity the sampler follows: the network's, with classifier-free
/// guidance `v_u + w·(v_c − v_u)` when a class is asked for (w = 1: plain
/// conditional).
pub fn velocity(
    model: &VelocityMlp,
    x: &Tch,
    t: f64,
    class: i64,
    w: f64,
) -> Result<Tch> {
    let n = x.0.size()[0];
    let tt = Tensor::full([n], t, FLOAT);
    tch::no_grad(|| {
        let cond = Tch(model.forward(
            &x.0,
            &tt,
            &Tensor::full([n], class, (Kind::Int64, Device::Cpu)),
        ));
        if class == NULL_CLASS || w == 1.0 {
            return Ok(cond);
        }
        let uncond = Tch(model.forward(&x.0, &tt, &null(n)));
        Ok(guide(&cond, &uncond, w))
    })
}
// ANCHOR_END: guided_velocity

/// A network trained like the one of the `train` step (same seed, data and
/// steps) with other settings: its weights and the network.
pub fn retrain(
    train: &Toy,
    eval: &EvalBatch,
    times: TimeSampling,
    prediction: Prediction,
) -> Result<(nn::VarStore, VelocityMlp)> {
    tch::manual_seed(CONFIG.seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = VelocityMlp::new(&vs.root(), CONFIG.hidden, prediction);
    train_velocity(&mut vs, &model, train, times, eval, None)?;
    Ok((vs, model))
}

/// How close a network's unconditional field is to the exact one, and how close
/// its samples (the `sample` step's noise and steps) are to the data.
pub struct Measured {
    /// (t, relative error) at t = 0.05, 0.10, …, 0.95.
    pub field_errors: Vec<(f64, f64)>,
    /// Mean distance from a sample to the nearest training point.
    pub off_shape: f64,
    /// Mean distance from a training point to the nearest sample.
    pub coverage_gap: f64,
}

impl Measured {
    pub fn of(net: &VelocityMlp, data: &Toy) -> Result<Self> {
        let field_errors = (1..20)
            .map(|i| i as f64 * 0.05)
            .map(|t| (t, field_error(net, data, t)))
            .collect();
        let x = integrate(
            Tch(normal(CONFIG.seed + 2, 0, CONFIG.samples as i64)),
            &timesteps(CONFIG.sample_steps, 1.0),
            Solver::Euler,
            |x: &Tch, t| velocity(net, x, t, NULL_CLASS, 1.0),
            |_| {},
        )?
        .0;
        Ok(Measured {
            field_errors,
            off_shape: off_shape(&x, &data.points),
            coverage_gap: off_shape(&data.points, &x),
        })
    }

    pub fn mean_error(&self) -> f64 {
        self.field_errors.iter().map(|e| e.1).sum::<f64>()
            / self.field_errors.len() as f64
    }

    pub fn error_at(&self, t: f64) -> f64 {
        self.field_errors
            .iter()
            .find(|e| (e.0 - t).abs() < 1e-9)
            .map_or(f64::NAN, |e| e.1)
    }
}

/// A fixed batch of (x0, x1, t, class) on which the loss is followed, and the
/// loss the exact conditional field scores on it (the floor no network can go
/// under).
pub struct EvalBatch {
    pub x_t: Tensor,
    pub t: Tensor,
    pub class: Tensor,
    pub target: Tensor,
    pub exact_loss: f64,
}

impl EvalBatch {
    pub fn new(data: &Toy, times: TimeSampling) -> Self {
        let n = 4096;
        let x1 = data.points.index_select(0, &spread_indices(data.len(), n));
        let class = data.labels.index_select(0, &spread_indices(data.len(), n));
        let x0 = normal(CONFIG.seed + 4, 0, n);
        // Times from the training distribution, by inverting its CDF on an even
        // grid.
        let u: Vec<f32> = (0..n)
            .map(|i| ((i as f64 + 0.5) / n as f64) as f32)
            .collect();
        let u = Tensor::from_slice(&u);
        let t = match times {
            TimeSampling::Uniform => u,
            TimeSampling::LogitNormal { mean, std } => {
                ((u * 2.0 - 1.0).erfinv() * (std * 2f64.sqrt()) + mean)
                    .sigmoid()
            }
        };
        let tc = t.unsqueeze(1);
        let x_t: Tensor = &tc * &x1 + (1.0 - &tc) * &x0;
        let target = &x1 - &x0;
        // Per class, the exact field of that class's points.
        let mut exact = Tensor::zeros([n, 2], FLOAT);
        for c in 0..2 {
            let rows = class.eq(c).nonzero().squeeze_dim(1);
            let v = exact_velocity(
                &data.class(c),
                &x_t.index_select(0, &rows),
                &t.index_select(0, &rows),
            );
            exact = exact.index_copy(0, &rows, &v);
        }
        let exact_loss = sq_norm_mean(&(exact - &target));
        EvalBatch {
            x_t,
            t,
            class,
            target,
            exact_loss,
        }
    }

    pub fn loss(&self, model: &VelocityMlp) -> f64 {
        let v = tch::no_grad(|| model.forward(&self.x_t, &self.t, &self.class));
        sq_norm_mean(&(v - &self.target))
    }
}

/// Relative squared error of the network's unconditional field against the
/// exact one, over points x_t of the path distribution at time t.
pub fn field_error(model: &VelocityMlp, data: &Toy, t: f64) -> f64 {
    // The probe points and their exact field depend only on the data and t:
    // computed once per t, and shared by every network measured.
    thread_local! {
        static PROBES: std::cell::RefCell<Vec<(u64, i64, [Tensor; 3])>> = Default::default();
    }
    let n = 2048;
    let [x_t, tt, exact] = PROBES.with_borrow_mut(|probes| {
        let key = (t.to_bits(), data.len());
        if let Some((_, _, p)) = probes.iter().find(|p| (p.0, p.1) == key) {
            return p.each_ref().map(Tensor::shallow_clone);
        }
        let x1 = data.points.index_select(0, &spread_indices(data.len(), n));
        let x0 = normal(CONFIG.seed + 5, 0, n);
        let x_t = &x1 * t + &x0 * (1.0 - t);
        let tt = Tensor::full([n], t, FLOAT);
        let exact = exact_velocity(&data.points, &x_t, &tt);
        let probe = [x_t, tt, exact];
        let shared = probe.each_ref().map(Tensor::shallow_clone);
        probes.push((key.0, key.1, probe));
        shared
    });
    let learned = tch::no_grad(|| model.forward(&x_t, &tt, &null(n)));
    sq_norm_mean(&(learned - &exact)) / sq_norm_mean(&exact)
}
