//! The step behind the chapter's playground: the trained network exported to
//! ONNX, checked against libtorch on ONNX Runtime, and written with the toy
//! data and one reference frame for the page, which runs the same graph on ONNX
//! Runtime Web. It uses the example's imports (`super::*`).

use super::*;

use ort::session::Session;
use ort::value::TensorRef;
use serde_json::json;
use tinycats_notebook::claim;
use tinycats_onnx::graph::{Dim, GraphBuilder, attr_i};
use tinycats_onnx::proto::{ModelProto, tensor_proto::DataType};
use tinycats_runtime::ndarray;

/// The frame the page's browser test draws with the page's controls and
/// compares with this run: the features class, guided with w = 2, eight Heun
/// steps, from noise stream 0 of `seed`.
pub struct Frame {
    pub class: i64,
    pub guidance: f64,
    pub steps: usize,
    pub solver: Solver,
    pub particles: i64,
    pub seed: u64,
}

pub const FRAME: Frame = Frame {
    class: 1,
    guidance: 2.0,
    steps: 8,
    solver: Solver::Heun,
    particles: 256,
    seed: CONFIG.seed + 6,
};

// ANCHOR: export
/// The velocity network as an ONNX graph: inputs `x` (N, 2), `t` (N) and
/// `class` (N, int64), output `velocity` (N, 2), the same operations as
/// [`VelocityMlp::forward`] with its trained weights as initializers.
pub fn export(vs: &nn::VarStore) -> Result<ModelProto> {
    let weights = vs.variables();
    let weight = |name: &str| -> Result<(Vec<i64>, Vec<f32>)> {
        let t = weights.get(name).ok_or_else(|| {
            anyhow::anyhow!("the network has no tensor {name}")
        })?;
        Ok((t.size(), Vec::<f32>::try_from(t.flatten(0, -1))?))
    };
    let mut g = GraphBuilder::new("toy_velocity");
    let x = g.input("x", DataType::Float, &[Dim::Named("n"), Dim::Fixed(2)]);
    let t = g.input("t", DataType::Float, &[Dim::Named("n")]);
    let class = g.input("class", DataType::Int64, &[Dim::Named("n")]);

    // Sine features of the point: x·π·2^k for k < XFREQS, per coordinate.
    let xf: Vec<f32> =
        (0..XFREQS).map(|k| (1 << k) as f32 * PI as f32).collect();
    let xf = g.init_f32("xfreqs", &[1, 1, XFREQS], &xf);
    let axis2 = g.ints(&[2]);
    let x3 = g.op("Unsqueeze", &[&x, &axis2], vec![]); // (N, 2, 1)
    let xa = g.op("Mul", &[&x3, &xf], vec![]); // (N, 2, XFREQS)
    let flat = g.ints(&[-1, 2 * XFREQS]);
    let xa = g.op("Reshape", &[&xa, &flat], vec![]); // (N, 2·XFREQS)
    // Sine features of the time: t·π·2^k for k < FREQS.
    let tf: Vec<f32> =
        (0..FREQS).map(|k| (1 << k) as f32 * PI as f32).collect();
    let tf = g.init_f32("tfreqs", &[1, FREQS], &tf);
    let axis1 = g.ints(&[1]);
    let t2 = g.op("Unsqueeze", &[&t, &axis1], vec![]); // (N, 1)
    let angles = g.op("Mul", &[&t2, &tf], vec![]); // (N, FREQS)
    // The class embedding: a row of the learned table.
    let (dims, table) = weight("class.weight")?;
    let table = g.init_f32("class.weight", &dims, &table);
    let embedded = g.op("Gather", &[&table, &class], vec![attr_i("axis", 0)]);
    let parts = [
        x.clone(),
        g.op("Sin", &[&xa], vec![]),
        g.op("Cos", &[&xa], vec![]),
        g.op("Sin", &[&angles], vec![]),
        g.op("Cos", &[&angles], vec![]),
        embedded,
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let mut h = g.op("Concat", &parts, vec![attr_i("axis", 1)]);

    // The MLP: Linear (Gemm with the weight transposed) and SiLU =
    // h·sigmoid(h).
    let layers = ["in", "hidden1", "hidden2", "out"];
    for (i, layer) in layers.iter().enumerate() {
        let (wd, w) = weight(&format!("{layer}.weight"))?;
        let (bd, b) = weight(&format!("{layer}.bias"))?;
        let w = g.init_f32(&format!("{layer}.weight"), &wd, &w);
        let b = g.init_f32(&format!("{layer}.bias"), &bd, &b);
        h = g.op("Gemm", &[&h, &w, &b], vec![attr_i("transB", 1)]);
        if i + 1 < layers.len() {
            let gate = g.op("Sigmoid", &[&h], vec![]);
            h = g.op("Mul", &[&h, &gate], vec![]);
        }
    }
    g.rename_last_output("velocity");
    g.output(
        "velocity",
        DataType::Float,
        &[Dim::Named("n"), Dim::Fixed(2)],
    );
    let doc = "The velocity network of the flow-matching chapter's toy \
               (tinycats example 09)";
    Ok(g.finish(vec![("null_class".into(), NULL_CLASS.to_string())], doc))
}
// ANCHOR_END: export

// ANCHOR: playground
pub fn playground(
    vs: &nn::VarStore,
    model: &VelocityMlp,
    train: &Toy,
) -> Result<()> {
    step("playground");
    let dir = out_dir().join("playground");
    std::fs::create_dir_all(&dir)?;
    let graph = dir.join("velocity.onnx");
    let bytes = tinycats_onnx::write_model(&export(vs)?, &graph)?;
    println!(
        "exported     {} ({:.0} kB)",
        display_path(&graph),
        bytes as f64 / 1e3
    );

    // The same velocities from ONNX Runtime and from libtorch, on points of the
    // path at every time and every class (null included).
    let n = 512;
    let x = normal(CONFIG.seed + 7, 0, n) * 1.5;
    let t = Tensor::arange(n, FLOAT) / n as f64;
    let class =
        Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(NULL_CLASS + 1);
    let ours = tch::no_grad(|| model.forward(&x, &t, &class));
    let theirs = run_onnx(&graph, &x, &t, &class)?;
    let gap = (ours - theirs).abs().max().double_value(&[]);
    claim(
        "ONNX Runtime's velocities agree with libtorch's within 1e-4",
        gap < 1e-4,
        format!("max |Δ| = {gap:e}"),
    )?;
    println!("ONNX Runtime against libtorch on {n} points: agree within 1e-4");

    // The reference frame: what the page must draw with the frame's settings.
    let start = normal(FRAME.seed, 0, FRAME.particles);
    let x = integrate(
        Tch(start),
        &timesteps(FRAME.steps, 1.0),
        FRAME.solver,
        |x: &Tch, t| velocity(model, x, t, FRAME.class, FRAME.guidance),
        |_| {},
    )?
    .0;
    let share = nearest_class(&x, train)
        .eq(FRAME.class)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    println!(
        "frame: {} {:?} steps, {} guided w = {}: {:.0} % of {} particles on \
         the {}",
        FRAME.steps,
        FRAME.solver,
        CLASSES[FRAME.class as usize],
        FRAME.guidance,
        100.0 * share,
        FRAME.particles,
        CLASSES[FRAME.class as usize]
    );
    // A few values of the exact field, which the page computes itself from the
    // points.
    let probe_x = normal(CONFIG.seed + 8, 0, 16);
    let probe_t = 0.7;
    let probe_v = exact_velocity(
        &train.points,
        &probe_x,
        &Tensor::full([16], probe_t, FLOAT),
    );
    let page = json!({
        "graph": "velocity.onnx",
        "classes": CLASSES,
        "null_class": NULL_CLASS,
        "extent": EXTENT,
        "points": Vec::<f32>::try_from(train.points.flatten(0, -1))?,
        "labels": Vec::<i64>::try_from(&train.labels)?,
        "frame": {
            "class": FRAME.class,
            "guidance": FRAME.guidance,
            "steps": FRAME.steps,
            "solver": FRAME.solver,
            "particles": FRAME.particles,
            "seed": FRAME.seed,
            "positions": Vec::<f32>::try_from(x.flatten(0, -1))?,
        },
        "exact_probe": {
            "t": probe_t,
            "x": Vec::<f32>::try_from(probe_x.flatten(0, -1))?,
            "v": Vec::<f32>::try_from(probe_v.flatten(0, -1))?,
        },
    });
    let data = dir.join("playground.json");
    tinycats_core::fs::write_atomic(
        &data,
        serde_json::to_string(&page)?.as_bytes(),
    )?;
    println!(
        "wrote        {} (the toy data and this frame)",
        display_path(&data)
    );
    Ok(())
}
// ANCHOR_END: playground

/// The velocity from the exported graph on ONNX Runtime.
fn run_onnx(
    graph: &std::path::Path,
    x: &Tensor,
    t: &Tensor,
    class: &Tensor,
) -> Result<Tensor> {
    let env = tinycats_runtime::env::environment()?;
    let bytes = std::fs::read(graph)?;
    let mut session = Session::builder(env)?.commit_from_memory(&bytes)?;
    let n = x.size()[0] as usize;
    let xs = ndarray::Array2::from_shape_vec(
        (n, 2),
        Vec::<f32>::try_from(x.flatten(0, -1))?,
    )?;
    let ts = ndarray::Array1::from(Vec::<f32>::try_from(t)?);
    let cs = ndarray::Array1::from(Vec::<i64>::try_from(class)?);
    let out = session.run(ort::inputs![
        "x" => TensorRef::from_array_view(&xs)?,
        "t" => TensorRef::from_array_view(&ts)?,
        "class" => TensorRef::from_array_view(&cs)?,
    ])?;
    let v = out["velocity"].try_extract_array::<f32>()?;
    let v: Vec<f32> = v.iter().copied().collect();
    Ok(Tensor::from_slice(&v).view([n as i64, 2]))
}
