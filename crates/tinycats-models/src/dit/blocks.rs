//! TinyDiT's building blocks, after facebookresearch/DiT `models.py`: the timestep and label
//! embedders, the adaLN-Zero block, the final layer, and the fixed 2-D sin-cos position
//! embedding. Weight names match the reference state dict.

use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use super::adapters::LoraLinear;
use super::linear::{linear, xavier_linear};

/// Width of the sinusoidal timestep features fed to the timestep MLP (the reference's 256).
pub use tinycats_core::config::TIME_FREQUENCIES as FREQUENCY_EMBEDDING_SIZE;
/// LayerNorm epsilon of the blocks and the final layer.
pub const LN_EPS: f64 = 1e-6;

/// `x · (1 + scale) + shift`, broadcasting the per-image `(N, D)` shift and scale over tokens.
pub fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> Tensor {
    x * (scale.unsqueeze(1) + 1.0) + shift.unsqueeze(1)
}

/// LayerNorm over the last dimension, without affine parameters, computed in f32 whatever
/// the input precision (as autocast does).
fn layer_norm(x: &Tensor) -> Tensor {
    let d = *x
        .size()
        .last()
        .expect("layer_norm needs a non-scalar input");
    x.to_kind(Kind::Float)
        .layer_norm([d], None::<Tensor>, None::<Tensor>, LN_EPS, true)
        .to_kind(x.kind())
}

/// A Linear initialised to zero: the "Zero" of adaLN-Zero.
fn zero_linear(vs: nn::Path, d_in: i64, d_out: i64) -> nn::Linear {
    nn::linear(
        vs,
        d_in,
        d_out,
        nn::LinearConfig {
            ws_init: Init::Const(0.0),
            bs_init: Some(Init::Const(0.0)),
            bias: true,
        },
    )
}

/// Sinusoidal features of `t · t_scale`: `[cos(args), sin(args)]` with
/// `args_k = t · t_scale · exp(−ln(10000) · k / half)`, `half = dim / 2` (cos first, as in
/// the reference).
///
/// # Shapes
/// `t`: `(N,)` → `(N, dim)`
pub fn timestep_frequencies(t: &Tensor, dim: i64, t_scale: f64) -> Tensor {
    let half = dim / 2;
    let k = Tensor::arange(half, (Kind::Float, t.device()));
    let freqs = (k * (-(10_000f64.ln()) / half as f64)).exp(); // (half,)
    let args = (t.to_kind(Kind::Float) * t_scale).unsqueeze(1) * freqs.unsqueeze(0); // (N, half)
    Tensor::cat(&[args.cos(), args.sin()], 1) // (N, 2·half)
}

/// Embeds t ∈ [0, 1] into a `D`-vector: sinusoidal features → Linear → SiLU → Linear.
#[derive(Debug)]
pub struct TimestepEmbedder {
    mlp0: nn::Linear,
    mlp2: nn::Linear,
    t_scale: f64,
}

impl TimestepEmbedder {
    pub fn new(vs: nn::Path, hidden: i64, t_scale: f64) -> Self {
        let mlp = &vs / "mlp";
        let init = |d_in, d_out, p: nn::Path| {
            nn::linear(
                p,
                d_in,
                d_out,
                nn::LinearConfig {
                    ws_init: Init::Randn {
                        mean: 0.0,
                        stdev: 0.02,
                    },
                    bs_init: Some(Init::Const(0.0)),
                    bias: true,
                },
            )
        };
        TimestepEmbedder {
            mlp0: init(FREQUENCY_EMBEDDING_SIZE, hidden, &mlp / 0),
            mlp2: init(hidden, hidden, &mlp / 2),
            t_scale,
        }
    }

    /// # Shapes
    /// `t`: `(N,)` → `(N, D)`
    pub fn forward(&self, t: &Tensor) -> Tensor {
        let f = timestep_frequencies(t, FREQUENCY_EMBEDDING_SIZE, self.t_scale); // (N, 256)
        f.apply(&self.mlp0).silu().apply(&self.mlp2) // (N, D)
    }
}

/// Embeds breed labels; row `num_classes` is the null class used for classifier-free
/// guidance, and in training each label becomes the null class with `dropout_prob`.
///
/// Classes added for fine-tuning ([`crate::lora`]) live in a second tensor,
/// `y_embedder.new_rows.weight`, so that they can train while the base table stays frozen;
/// the table the model sees is `[base breeds, new classes, null]`.
#[derive(Debug)]
pub struct LabelEmbedder {
    table: nn::Embedding,
    new_rows: Option<Tensor>,
    num_classes: i64,
    dropout_prob: f64,
}

impl LabelEmbedder {
    pub fn new(vs: nn::Path, num_classes: i64, hidden: i64, dropout_prob: f64) -> Self {
        let cfg = nn::EmbeddingConfig {
            ws_init: Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
            ..Default::default()
        };
        let table = nn::embedding(&vs / "embedding_table", num_classes + 1, hidden, cfg);
        LabelEmbedder {
            table,
            new_rows: None,
            num_classes,
            dropout_prob,
        }
    }

    /// The label of the null class.
    pub fn null_class(&self) -> i64 {
        self.num_classes
    }

    /// The whole label table: the base breeds, the added classes, then the null row.
    ///
    /// # Shapes
    /// → `(num_classes + 1, D)`
    pub fn table(&self) -> Tensor {
        let base = &self.table.ws;
        match &self.new_rows {
            None => base.shallow_clone(),
            Some(rows) => {
                let k = base.size()[0] - 1;
                let (breeds, null) = (base.narrow(0, 0, k), base.narrow(0, k, 1));
                Tensor::cat(&[&breeds, rows, &null], 0) // (K + k + 1, D)
            }
        }
    }

    /// The rows of the base breeds (without the null row or added classes).
    ///
    /// # Shapes
    /// → `(K, D)`
    pub(super) fn base_rows(&self) -> Tensor {
        let base = &self.table.ws;
        base.narrow(0, 0, base.size()[0] - 1)
    }

    /// Appends `rows` as new classes after the current ones; the null class moves to the
    /// new last index. Classes are added once, to a model that has none yet.
    ///
    /// # Shapes
    /// `rows`: `(k, D)`
    pub(super) fn add_classes(&mut self, rows: Tensor) {
        assert!(self.new_rows.is_none(), "classes were added already");
        self.num_classes += rows.size()[0];
        self.new_rows = Some(rows);
    }

    /// The added rows, if any.
    pub(super) fn new_rows(&self) -> Option<&Tensor> {
        self.new_rows.as_ref()
    }

    /// # Shapes
    /// `y`: `(N,)` int64 → `(N, D)`
    pub fn forward(&self, y: &Tensor, train: bool) -> Tensor {
        let y = if train && self.dropout_prob > 0.0 {
            let drop = Tensor::rand([y.size()[0]], (Kind::Float, y.device())).lt(self.dropout_prob);
            y.where_self(
                &drop.logical_not(),
                &Tensor::from(self.num_classes).to_device(y.device()),
            )
        } else {
            y.shallow_clone()
        };
        Tensor::embedding(&self.table(), &y, -1, false, false) // (N, D)
    }
}

/// Multi-head self-attention with a fused qkv projection (with bias), as in timm's
/// `Attention` that DiT uses.
#[derive(Debug)]
pub struct Attention {
    qkv: LoraLinear,
    proj: LoraLinear,
    num_heads: i64,
}

impl Attention {
    pub fn new(vs: nn::Path, hidden: i64, num_heads: i64) -> Self {
        Attention {
            qkv: LoraLinear::new(xavier_linear(&vs / "qkv", hidden, 3 * hidden)),
            proj: LoraLinear::new(xavier_linear(&vs / "proj", hidden, hidden)),
            num_heads,
        }
    }

    /// Queries, keys and values per head from the fused projection.
    ///
    /// # Shapes
    /// `x`: `(N, T, D)` → `(N, H, T, hd)` each
    pub fn heads(&self, x: &Tensor) -> [Tensor; 3] {
        let (n, t, d) = x.size3().expect("attention input must be (N, T, D)");
        let qkv = self
            .qkv
            .forward(x)
            .reshape([n, t, 3, self.num_heads, d / self.num_heads]) // (N, T, 3, H, hd)
            .permute([2, 0, 3, 1, 4]); // (3, N, H, T, hd)
        [qkv.get(0), qkv.get(1), qkv.get(2)]
    }

    /// softmax(q·kᵀ / √hd)·v per head.
    ///
    /// # Shapes
    /// `x`: `(N, T, D)` → `(N, T, D)`
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (n, t, d) = x.size3().expect("attention input must be (N, T, D)");
        let [q, k, v] = self.heads(x);
        let o = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            None::<Tensor>,
            0.0,
            false,
            None,
            false,
        ); // (N, H, T, hd)
        let o = o.transpose(1, 2).reshape([n, t, d]); // (N, T, D)
        self.proj.forward(&o)
    }

    /// The attention weights softmax(q·kᵀ / √hd) that [`Attention::forward`] applies,
    /// written out (the forward pass uses a fused kernel that never materialises them).
    ///
    /// # Shapes
    /// `x`: `(N, T, D)` → `(N, H, T, T)`, each row summing to 1
    pub fn weights(&self, x: &Tensor) -> Tensor {
        let [q, k, _] = self.heads(x);
        let hd = q.size()[3];
        (q.matmul(&k.transpose(-2, -1)) / (hd as f64).sqrt()).softmax(-1, Kind::Float)
    }
}

/// fc1 → GELU (tanh approximation) → fc2.
#[derive(Debug)]
pub struct Mlp {
    fc1: LoraLinear,
    fc2: LoraLinear,
}

impl Mlp {
    pub fn new(vs: nn::Path, hidden: i64, mlp_hidden: i64) -> Self {
        Mlp {
            fc1: LoraLinear::new(xavier_linear(&vs / "fc1", hidden, mlp_hidden)),
            fc2: LoraLinear::new(xavier_linear(&vs / "fc2", mlp_hidden, hidden)),
        }
    }

    /// # Shapes
    /// `x`: `(N, T, D)` → `(N, T, D)`
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.fc1.forward(x).gelu("tanh"); // (N, T, mlp_hidden)
        self.fc2.forward(&h)
    }
}

/// A DiT block with adaLN-Zero conditioning: the conditioning vector `c` sets the shift,
/// scale and gate of both sub-layers, and the gates start at zero so the block starts as
/// the identity.
#[derive(Debug)]
pub struct DitBlock {
    attn: Attention,
    mlp: Mlp,
    ada_ln: nn::Linear,
}

impl DitBlock {
    /// `mlp_hidden` is [`crate::DitConfig::mlp_hidden`].
    pub fn new(vs: nn::Path, hidden: i64, num_heads: i64, mlp_hidden: i64) -> Self {
        DitBlock {
            attn: Attention::new(&vs / "attn", hidden, num_heads),
            mlp: Mlp::new(&vs / "mlp", hidden, mlp_hidden),
            ada_ln: zero_linear(&vs / "adaLN_modulation" / 1, hidden, 6 * hidden),
        }
    }

    /// The linear that LoRA target `name` adapts (see [`crate::lora::LORA_TARGETS`]).
    pub(super) fn lora_target(&self, name: &str) -> Option<&LoraLinear> {
        match name {
            "qkv" => Some(&self.attn.qkv),
            "proj" => Some(&self.attn.proj),
            "fc1" => Some(&self.mlp.fc1),
            "fc2" => Some(&self.mlp.fc2),
            _ => None,
        }
    }

    /// [`DitBlock::lora_target`], mutably.
    pub(super) fn lora_target_mut(&mut self, name: &str) -> Option<&mut LoraLinear> {
        match name {
            "qkv" => Some(&mut self.attn.qkv),
            "proj" => Some(&mut self.attn.proj),
            "fc1" => Some(&mut self.mlp.fc1),
            "fc2" => Some(&mut self.mlp.fc2),
            _ => None,
        }
    }

    /// # Shapes
    /// `x`: `(N, T, D)`, `c`: `(N, D)` → `(N, T, D)`
    ///
    /// The sub-layers compute in the precision of `c` (bf16 under mixed precision), while the
    /// residual stream `x` keeps its own (f32), as autocast does: each sub-layer's input is
    /// cast down and its gated output is added to the f32 stream.
    pub fn forward(&self, x: &Tensor, c: &Tensor) -> Tensor {
        self.forward_inspect(x, c, false).0
    }

    /// The adaLN-Zero modulation that `c` sets: shift, scale and gate of the attention,
    /// then of the MLP.
    ///
    /// # Shapes
    /// `c`: `(N, D)` → `(N, 6, D)`
    pub fn modulation(&self, c: &Tensor) -> Tensor {
        let d = c.size()[1];
        linear(&self.ada_ln, &c.silu()).reshape([-1, 6, d])
    }

    /// [`DitBlock::forward`], also returning the attention weights the block applied when
    /// `weights` (see [`Attention::weights`]).
    pub fn forward_inspect(
        &self,
        x: &Tensor,
        c: &Tensor,
        weights: bool,
    ) -> (Tensor, Option<Tensor>) {
        let kind = c.kind();
        let m = linear(&self.ada_ln, &c.silu()).chunk(6, 1); // 6 × (N, D)
        let (shift_msa, scale_msa, gate_msa) = (&m[0], &m[1], &m[2]);
        let (shift_mlp, scale_mlp, gate_mlp) = (&m[3], &m[4], &m[5]);
        let h = modulate(&layer_norm(x), shift_msa, scale_msa).to_kind(kind);
        let attention = weights.then(|| self.attn.weights(&h));
        let x = x + gate_msa.unsqueeze(1) * self.attn.forward(&h);
        let h = modulate(&layer_norm(&x), shift_mlp, scale_mlp).to_kind(kind);
        (&x + gate_mlp.unsqueeze(1) * self.mlp.forward(&h), attention)
    }
}

/// LayerNorm → adaLN modulation → Linear(D, p·p·C), zero-initialised.
#[derive(Debug)]
pub struct FinalLayer {
    ada_ln: nn::Linear,
    linear: nn::Linear,
}

impl FinalLayer {
    pub fn new(vs: nn::Path, hidden: i64, patch: i64, out_channels: i64) -> Self {
        FinalLayer {
            ada_ln: zero_linear(&vs / "adaLN_modulation" / 1, hidden, 2 * hidden),
            linear: zero_linear(&vs / "linear", hidden, patch * patch * out_channels),
        }
    }

    /// # Shapes
    /// `x`: `(N, T, D)`, `c`: `(N, D)` → `(N, T, p·p·C)`
    pub fn forward(&self, x: &Tensor, c: &Tensor) -> Tensor {
        let m = linear(&self.ada_ln, &c.silu()).chunk(2, 1); // 2 × (N, D)
        linear(&self.linear, &modulate(&layer_norm(x), &m[0], &m[1]))
    }
}

/// The fixed 2-D sin-cos position embedding of MAE/DiT (`get_2d_sincos_pos_embed`),
/// computed in f64 as the reference does with NumPy. Token `i·grid + j` (row i, column j)
/// gets `[emb_1d(j), emb_1d(i)]` with `emb_1d(p) = [sin(p·ω), cos(p·ω)]`,
/// `ω_k = 10000^(−k / (D/4))`.
///
/// # Shapes
/// → `(1, grid², D)`
pub fn sincos_pos_embed_2d(dim: i64, grid: i64, device: Device) -> Tensor {
    let quarter = (dim / 4) as usize;
    let omega: Vec<f64> = (0..quarter)
        .map(|k| 1.0 / 10_000f64.powf(k as f64 / quarter as f64))
        .collect();
    let emb_1d = |pos: f64, out: &mut Vec<f32>| {
        out.extend(omega.iter().map(|w| (pos * w).sin() as f32));
        out.extend(omega.iter().map(|w| (pos * w).cos() as f32));
    };
    let mut data = Vec::with_capacity((grid * grid * dim) as usize);
    for i in 0..grid {
        for j in 0..grid {
            emb_1d(j as f64, &mut data);
            emb_1d(i as f64, &mut data);
        }
    }
    Tensor::from_slice(&data)
        .reshape([1, grid * grid, dim])
        .to_device(device)
}

/// Cuts images into non-overlapping `p × p` patches, each flattened in `(p, q, C)` order: the
/// exact inverse of [`unpatchify`].
///
/// # Shapes
/// `x`: `(N, C, H, W)` → `(N, (H/p)·(W/p), p·p·C)`
pub fn patchify(x: &Tensor, p: i64) -> Tensor {
    let (n, c, h, w) = x.size4().expect("patchify input must be (N, C, H, W)");
    x.reshape([n, c, h / p, p, w / p, p]) // (N, C, h, p, w, q)
        .permute([0, 2, 4, 3, 5, 1]) // (N, h, w, p, q, C)
        .reshape([n, (h / p) * (w / p), p * p * c]) // (N, T, p·p·C)
}

/// Reassembles per-token patches into images (the reference's `unpatchify`:
/// `nhwpqc → nchpwq`).
///
/// # Shapes
/// `x`: `(N, T, p·p·C)` with `T = h·w`, `h = w` → `(N, C, h·p, w·p)`
pub fn unpatchify(x: &Tensor, p: i64, c: i64) -> Tensor {
    let (n, t, _) = x.size3().expect("unpatchify input must be (N, T, p·p·C)");
    let h = (t as f64).sqrt().round() as i64;
    assert_eq!(
        h * h,
        t,
        "unpatchify needs a square token grid, got {t} tokens"
    );
    x.reshape([n, h, h, p, p, c]) // (N, h, w, p, q, C)
        .permute([0, 5, 1, 3, 2, 4]) // (N, C, h, p, w, q)
        .reshape([n, c, h * p, h * p]) // (N, C, H, W)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_weights_are_what_the_fused_kernel_applies() {
        tch::manual_seed(5);
        let (n, t, d, heads) = (2, 9, 32, 4);
        let vs = nn::VarStore::new(Device::Cpu);
        let attn = Attention::new(vs.root(), d, heads);
        let x = Tensor::randn([n, t, d], (Kind::Float, Device::Cpu));
        let w = attn.weights(&x); // (N, H, T, T)
        let [_, _, v] = attn.heads(&x); // (N, H, T, hd)
        let by_hand = attn
            .proj
            .forward(&w.matmul(&v).transpose(1, 2).reshape([n, t, d]));
        let diff = (by_hand - attn.forward(&x)).abs().max().double_value(&[]);
        assert!(
            diff < 1e-5,
            "weights · v differs from the fused attention by {diff}"
        );
    }

    #[test]
    fn unpatchify_inverts_patchify_exactly() {
        let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
        for p in [1, 2, 4, 8, 16] {
            let tokens = patchify(&x, p);
            assert_eq!(tokens.size(), [2, (16 / p) * (16 / p), p * p * 3]);
            assert!(unpatchify(&tokens, p, 3).equal(&x), "patch {p}");
        }
    }

    #[test]
    fn patch_layout_matches_the_reference_einsum() {
        // The reference unpatchify: reshape (N, h, w, p, p, C) then einsum nhwpqc->nchpwq.
        let tokens = Tensor::randn([2, 16, 4 * 4 * 3], (Kind::Float, Device::Cpu));
        let via_einsum = Tensor::einsum(
            "nhwpqc->nchpwq",
            &[tokens.reshape([2, 4, 4, 4, 4, 3])],
            None::<i64>,
        )
        .reshape([2, 3, 16, 16]);
        assert!(unpatchify(&tokens, 4, 3).equal(&via_einsum));
    }

    #[test]
    fn timestep_features_put_cos_first() {
        let t = Tensor::from_slice(&[0.0f32, 0.5]);
        let f = timestep_frequencies(&t, 8, 1000.0);
        assert_eq!(f.size(), [2, 8]);
        // t = 0: cos(0) = 1 for the first half, sin(0) = 0 for the second.
        let row0 = Vec::<f32>::try_from(f.get(0)).unwrap();
        assert_eq!(row0, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        // t = 0.5, k = 0: args = 500.
        let v = f.double_value(&[1, 0]);
        assert!((v - 500f64.cos()).abs() < 1e-4, "{v}");
    }

    #[test]
    fn pos_embed_matches_mae_layout() {
        let e = sincos_pos_embed_2d(8, 3, Device::Cpu);
        assert_eq!(e.size(), [1, 9, 8]);
        // Token (row 1, col 2) = index 5 is [sin(2ω), cos(2ω), sin(1ω), cos(1ω)], ω = (1, 0.01).
        let tok = Vec::<f32>::try_from(e.get(0).get(5)).unwrap();
        let expected = [
            2f64.sin(),
            0.02f64.sin(),
            2f64.cos(),
            0.02f64.cos(),
            1f64.sin(),
            0.01f64.sin(),
            1f64.cos(),
            0.01f64.cos(),
        ];
        for (got, want) in tok.iter().zip(expected) {
            assert!((*got as f64 - want).abs() < 1e-6, "{tok:?}");
        }
    }
}
