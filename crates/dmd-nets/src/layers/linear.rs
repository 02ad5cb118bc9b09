//! A fully connected layer `y = x W^T + b` with parameters `weight` `[out, in]` and `bias` `[out]`.

use super::{Fill, Init, as_kind, param};
use tch::{Tensor, nn};

/// A linear layer.
#[derive(Debug)]
pub struct Linear {
    /// `[out, in]`.
    pub weight: Tensor,
    /// `[out]`, when the layer has a bias.
    pub bias: Option<Tensor>,
}

impl Linear {
    /// Creates `weight` (and `bias` when `bias` is set) under `p`, both initialised with `init`.
    pub fn new(p: nn::Path, d_in: i64, d_out: i64, bias: bool, init: Init, fill: Fill) -> Self {
        let weight = param(&p, "weight", &[d_out, d_in], init, fill);
        let bias = bias.then(|| param(&p, "bias", &[d_out], init, fill));
        Linear { weight, bias }
    }

    /// `x W^T + b` over the last dimension of `x`, in `x`'s kind.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let k = x.kind();
        let w = as_kind(&self.weight, k);
        let b = self.bias.as_ref().map(|b| as_kind(b, k));
        x.linear(&w, b.as_ref())
    }
}
