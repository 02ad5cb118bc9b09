//! The toy denoiser network for low-dimensional data: an MLP with SiLU activations on the
//! concatenation of `x` and a Fourier embedding of `c_noise` (plus a learned label embedding
//! added to it when conditional). Defaults from the paper: 5 hidden layers of 384 units and a
//! 32-dimensional Fourier embedding (16 frequencies).
//!
//! Parameters (under the network's path): `map_noise.freqs` (buffer), `map_label.weight`
//! `[num_classes, fourier_dim]`, `layer{i}.{weight,bias}` for `i = 0..layers`,
//! `out.{weight,bias}`, and with `linear_skip` also `skip.weight` `[dim, dim]`.
//!
//! `linear_skip` (off by default; not in the paper) adds a full-rank linear map of `x` to the
//! output, zero-initialised. Data on a `d`-plane of `R^D` needs a denoiser that removes the
//! `D - d` off-plane noise directions, a rank `D - d` linear map that the 384-wide MLP cannot
//! represent once `D - d > 384` (without it the chessboard embedded in `R^512` is not learned); the
//! bypass lets one teacher architecture serve a sweep over the ambient dimension.

use crate::error::NetError;
use crate::layers::{Fill, FourierEmbedding, Init, Linear, default_init, param};
use crate::raw::RawNet;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn};

/// Sizes of the toy MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Data dimension (input and output width).
    pub dim: i64,
    /// Width of every hidden layer (paper: 384).
    #[serde(default = "default_hidden")]
    pub hidden: i64,
    /// Number of hidden layers (paper: 5).
    #[serde(default = "default_layers")]
    pub layers: i64,
    /// Size of the Fourier time embedding (paper: 32, i.e. 16 frequencies).
    #[serde(default = "default_fourier_dim")]
    pub fourier_dim: i64,
    /// Number of classes for label conditioning; 0 = unconditional.
    #[serde(default)]
    pub num_classes: i64,
    /// Dropout probability after each hidden layer during training.
    #[serde(default)]
    pub dropout: f64,
    /// Adds a zero-initialised `dim x dim` linear map of `x` to the output (see module docs).
    /// Left out of the serialised form when off, so existing config hashes stay the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linear_skip: bool,
}

fn default_hidden() -> i64 {
    384
}
fn default_layers() -> i64 {
    5
}
fn default_fourier_dim() -> i64 {
    32
}

impl MlpConfig {
    /// The paper's toy MLP for `dim`-dimensional data (unconditional, no dropout).
    pub fn new(dim: i64) -> Self {
        MlpConfig {
            dim,
            hidden: default_hidden(),
            layers: default_layers(),
            fourier_dim: default_fourier_dim(),
            num_classes: 0,
            dropout: 0.0,
            linear_skip: false,
        }
    }

    /// Checks every size.
    pub fn validate(&self) -> Result<(), NetError> {
        let bad = |m: String| Err(NetError::InvalidConfig(format!("mlp: {m}")));
        if self.dim < 1 {
            return bad(format!("dim = {} must be >= 1", self.dim));
        }
        if self.hidden < 1 || self.layers < 1 {
            return bad(format!(
                "hidden = {} and layers = {} must both be >= 1",
                self.hidden, self.layers
            ));
        }
        if self.fourier_dim < 2 || self.fourier_dim % 2 != 0 {
            return bad(format!(
                "fourier_dim = {} must be even and >= 2 (cos and sin of each frequency)",
                self.fourier_dim
            ));
        }
        if self.num_classes < 0 {
            return bad(format!("num_classes = {} must be >= 0", self.num_classes));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout = {} must lie in [0, 1)", self.dropout));
        }
        Ok(())
    }
}

impl Default for MlpConfig {
    /// The paper's toy MLP on R^4.
    fn default() -> Self {
        MlpConfig::new(4)
    }
}

/// The toy MLP (see the module docs).
#[derive(Debug)]
pub struct Mlp {
    map_noise: FourierEmbedding,
    map_label: Option<Tensor>,
    layers: Vec<Linear>,
    out: Linear,
    skip: Option<Linear>,
    dropout: f64,
}

impl Mlp {
    /// Builds the MLP under `p` (call [`MlpConfig::validate`] first).
    pub fn new(p: nn::Path, c: &MlpConfig, fill: Fill) -> Self {
        let map_noise = FourierEmbedding::new(&p / "map_noise", c.fourier_dim, fill);
        let map_label = (c.num_classes > 0).then(|| {
            param(
                &(&p / "map_label"),
                "weight",
                &[c.num_classes, c.fourier_dim],
                Init::Normal(1.0),
                fill,
            )
        });
        let mut layers = Vec::with_capacity(c.layers as usize);
        let mut d_in = c.dim + c.fourier_dim;
        for i in 0..c.layers {
            let init = default_init(d_in);
            layers.push(Linear::new(
                &p / format!("layer{i}"),
                d_in,
                c.hidden,
                true,
                init,
                fill,
            ));
            d_in = c.hidden;
        }
        let out = Linear::new(
            &p / "out",
            c.hidden,
            c.dim,
            true,
            default_init(c.hidden),
            fill,
        );
        let skip = c
            .linear_skip
            .then(|| Linear::new(&p / "skip", c.dim, c.dim, false, Init::Const(0.0), fill));
        Mlp {
            map_noise,
            map_label,
            layers,
            out,
            skip,
            dropout: c.dropout,
        }
    }

    fn run(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor) {
        let mut emb = self.map_noise.forward(c_noise);
        if let (Some(w), Some(y)) = (&self.map_label, labels) {
            emb += w.index_select(0, y);
        }
        let b = x.size()[0];
        let x_flat = x.reshape([b, -1]);
        let mut h = Tensor::cat(&[&x_flat, &emb.to_kind(x.kind())], 1);
        for layer in &self.layers {
            h = layer.forward(&h).silu();
            if self.dropout > 0.0 && train {
                h = h.dropout(self.dropout, train);
            }
        }
        let mut out = self.out.forward(&h);
        if let Some(skip) = &self.skip {
            out += skip.forward(&x_flat);
        }
        (out.reshape(x.size()), h)
    }
}

impl RawNet for Mlp {
    fn forward_raw_with_features(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor) {
        let (out, h) = self.run(x, c_noise, labels, train);
        (out, h.to_kind(Kind::Float))
    }
}
