//! Multiply-adds of one TinyDiT forward pass, by part: what the speed chapter's GFLOP/s are
//! counted from.

use super::dit::{DitConfig, TIME_FREQUENCIES};

/// Multiply-adds of one TinyDiT forward pass on one image ([`DitConfig::forward_macs`]);
/// the `adaln` to `mlp` parts are per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardMacs {
    /// The patch embedding: one `p²·C → D` projection per token.
    pub patch_embedding: i64,
    /// The timestep embedder's two layers (once per image).
    pub time_embedding: i64,
    /// One block's adaLN modulation, `D → 6D` (once per image).
    pub adaln: i64,
    /// One block's q, k, v and output projections.
    pub qkv_proj: i64,
    /// One block's `QKᵀ` and `softmax(·)V`.
    pub attention: i64,
    /// One block's two MLP layers.
    pub mlp: i64,
    /// The final layer: its modulation and the `D → p²·C` projection per token.
    pub final_layer: i64,
    /// Number of blocks.
    pub depth: i64,
}

impl ForwardMacs {
    /// One block's multiply-adds.
    pub fn block(&self) -> i64 {
        self.adaln + self.qkv_proj + self.attention + self.mlp
    }

    /// The whole forward pass's multiply-adds.
    pub fn total(&self) -> i64 {
        self.patch_embedding + self.time_embedding + self.depth * self.block() + self.final_layer
    }

    /// The whole forward pass's floating-point operations (two per multiply-add).
    pub fn flops(&self) -> f64 {
        2.0 * self.total() as f64
    }
}

impl DitConfig {
    /// Multiply-adds of one forward pass of one image, by part: every linear layer applied
    /// to every token (or once, for the conditioning) and attention's two T × T products.
    /// Table lookups (the label embedding) and the fixed position embedding cost none; nor
    /// do norms, activations and softmax, which are a few per cent of the total.
    pub fn forward_macs(&self) -> ForwardMacs {
        let (t, d, mlp) = (self.num_patches(), self.hidden_size, self.mlp_hidden());
        let patch = self.patch_size * self.patch_size * self.in_channels;
        ForwardMacs {
            patch_embedding: t * patch * d,
            time_embedding: TIME_FREQUENCIES * d + d * d,
            adaln: d * 6 * d,
            qkv_proj: t * 4 * d * d,
            attention: 2 * t * t * d,
            mlp: t * 2 * d * mlp,
            final_layer: d * 2 * d + t * d * patch,
            depth: self.depth,
        }
    }
}
