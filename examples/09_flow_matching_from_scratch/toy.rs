//! The toy data (points on a line drawing of a cat's face) and the small
//! measures and conversions the steps use. It uses the example's imports
//! (`super::*`).

use super::*;

/// The toy data: points on a line drawing of a cat's face, with their class.
pub struct Toy {
    pub points: Tensor,
    pub labels: Tensor,
}

impl Toy {
    /// `CONFIG.points_per_class` points per class from stream `stream` of
    /// `seed`: each point at a uniformly chosen place along its class's
    /// lines, plus Gaussian jitter.
    pub fn draw(seed: u64, stream: u64) -> Result<Self> {
        let n = CONFIG.points_per_class;
        let mut points = Vec::with_capacity(4 * n);
        let mut labels = Vec::with_capacity(2 * n);
        for (c, lines) in drawing().iter().enumerate() {
            let stream = 4 * stream + c as u64;
            let places = uniforms(seed, stream, n);
            let mut jitter = vec![0f32; 2 * n];
            fill(seed, stream + 1000, &mut jitter);
            for (u, j) in places.iter().zip(jitter.chunks(2)) {
                let (x, y) = along(lines, *u);
                points.push(x as f32 + CONFIG.jitter as f32 * j[0]);
                points.push(y as f32 + CONFIG.jitter as f32 * j[1]);
                labels.push(c as i64);
            }
        }
        ensure!(
            points.iter().all(|v| v.is_finite()),
            "toy data: a non-finite point"
        );
        Ok(Toy {
            points: Tensor::from_slice(&points).view([-1, 2]),
            labels: Tensor::from_slice(&labels),
        })
    }

    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }

    /// The points of class `c`, (n, 2).
    pub fn class(&self, c: i64) -> Tensor {
        self.points
            .index_select(0, &self.labels.eq(c).nonzero().squeeze_dim(1))
    }
}

/// The drawing, as polylines per class: 0 = head and ears, 1 = eyes, nose and
/// whiskers.
pub fn drawing() -> [Vec<Vec<(f64, f64)>>; 2] {
    let circle = |cx: f64, cy: f64, r: f64| -> Vec<(f64, f64)> {
        (0..=64)
            .map(|i| {
                let a = 2.0 * PI * i as f64 / 64.0;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect()
    };
    let (head_y, r) = (-0.3, 1.3);
    let on_head = |deg: f64| {
        let a = deg.to_radians();
        (r * a.cos(), head_y + r * a.sin())
    };
    // An ear: two sides from the head circle up to a tip (s = −1 left, +1
    // right).
    let ear = |s: f64| {
        vec![
            on_head(90.0 - s * 60.0),
            (s * 1.0, 1.65),
            on_head(90.0 - s * 20.0),
        ]
    };
    let outline = vec![circle(0.0, head_y, r), ear(1.0), ear(-1.0)];
    let mut features = vec![
        circle(-0.5, 0.05, 0.2),
        circle(0.5, 0.05, 0.2),
        vec![(-0.15, -0.35), (0.15, -0.35), (0.0, -0.52), (-0.15, -0.35)],
    ];
    for side in [-1.0, 1.0] {
        for dy in [-0.15, 0.0, 0.15] {
            features.push(vec![
                (side * 0.3, -0.6 + dy * 0.3),
                (side * 1.05, -0.6 + dy * 1.6),
            ]);
        }
    }
    [outline, features]
}

/// The point at fraction `u` ∈ [0, 1) of the total length of `lines`.
pub fn along(lines: &[Vec<(f64, f64)>], u: f64) -> (f64, f64) {
    let segments: Vec<((f64, f64), (f64, f64))> = lines
        .iter()
        .flat_map(|l| l.windows(2).map(|w| (w[0], w[1])))
        .collect();
    let length =
        |(a, b): &((f64, f64), (f64, f64))| (b.0 - a.0).hypot(b.1 - a.1);
    let mut left = u * segments.iter().map(length).sum::<f64>();
    for s in &segments {
        let l = length(s);
        if left <= l {
            let f = left / l;
            return (s.0.0 + f * (s.1.0 - s.0.0), s.0.1 + f * (s.1.1 - s.0.1));
        }
        left -= l;
    }
    segments.last().expect("a drawing has segments").1
}

/// `n` uniforms in [0, 1) from the portable counter-based generator.
pub fn uniforms(seed: u64, stream: u64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let r = philox4x32_10(
                [i as u32, 0, stream as u32, 0x7041],
                [seed as u32, (seed >> 32) as u32],
            );
            f64::from(r[0]) / 4_294_967_296.0
        })
        .collect()
}

/// `n` standard normal points, (n, 2), from the portable generator (the same on
/// every CPU).
pub fn normal(seed: u64, stream: u64, n: i64) -> Tensor {
    let mut v = vec![0f32; 2 * n as usize];
    fill(seed, stream, &mut v);
    Tensor::from_slice(&v).view([n, 2])
}

/// `n` indices spread evenly over `0..len` (every class represented in turn).
pub fn spread_indices(len: i64, n: i64) -> Tensor {
    let idx: Vec<i64> = (0..n).map(|i| (i * 7919 + i / len) % len).collect();
    Tensor::from_slice(&idx)
}

pub fn null(n: i64) -> Tensor {
    Tensor::full([n], NULL_CLASS, (Kind::Int64, Device::Cpu))
}

/// Mean over rows of the squared norm.
pub fn sq_norm_mean(d: &Tensor) -> f64 {
    d.square()
        .sum_dim_intlist(1, false, Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Root mean squared distance, per point.
pub fn rms(d: &Tensor) -> f64 {
    sq_norm_mean(d).sqrt()
}

/// Mean distance from each point of `a` to its nearest point of `b`.
pub fn off_shape(a: &Tensor, b: &Tensor) -> f64 {
    nearest(a, b).0.mean(Kind::Double).double_value(&[])
}

/// For each point of `a`: the distance to its nearest point of `b`, and that
/// point's index.
pub fn nearest(a: &Tensor, b: &Tensor) -> (Tensor, Tensor) {
    let parts: Vec<(Tensor, Tensor)> = a
        .split(1024, 0)
        .iter()
        .map(|chunk| Tensor::cdist(chunk, b, 2.0, None).min_dim(1, false))
        .collect();
    let (d, i): (Vec<Tensor>, Vec<Tensor>) = parts.into_iter().unzip();
    (Tensor::cat(&d, 0), Tensor::cat(&i, 0))
}

/// The class of each point's nearest training point.
pub fn nearest_class(x: &Tensor, data: &Toy) -> Tensor {
    data.labels.index_select(0, &nearest(x, &data.points).1)
}

/// An even grid of `k × k` points over `[-half, half]²`, (k², 2).
pub fn grid_points(k: i64, half: f64) -> Tensor {
    let mut v = Vec::new();
    for i in 0..k {
        for j in 0..k {
            let f = |a: i64| {
                (-half + 2.0 * half * a as f64 / (k - 1) as f64) as f32
            };
            v.extend([f(j), f(i)]);
        }
    }
    Tensor::from_slice(&v).view([-1, 2])
}

pub fn point(x: &Tensor, i: i64) -> (f64, f64) {
    (x.double_value(&[i, 0]), x.double_value(&[i, 1]))
}

pub fn xy(x: &Tensor) -> Vec<(f64, f64)> {
    let v =
        Vec::<f32>::try_from(x.contiguous().view([-1])).expect("f32 points");
    v.chunks(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect()
}

pub fn path_length(p: &[(f64, f64)]) -> f64 {
    p.windows(2)
        .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
        .sum()
}

pub fn chord(p: &[(f64, f64)]) -> f64 {
    let (a, b) = (p[0], p[p.len() - 1]);
    (b.0 - a.0).hypot(b.1 - a.1)
}
