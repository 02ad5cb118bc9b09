//! Group normalisation with edm's group rule: `groups = min(32, C/4)`, eps `1e-5`.

use super::{Fill, Init, as_kind, param};
use crate::error::NetError;
use tch::{Tensor, nn};

/// The number of groups edm uses for `channels` channels: `min(32, channels/4)`.
pub fn num_groups(channels: i64) -> i64 {
    (channels / 4).clamp(1, 32)
}

/// Checks that `channels` can be normalised in [`num_groups`] groups.
pub fn check_channels(channels: i64) -> Result<(), NetError> {
    let g = num_groups(channels);
    if channels <= 0 || channels % g != 0 {
        return Err(NetError::InvalidConfig(format!(
            "GroupNorm over {channels} channels: {g} groups (min(32, C/4)) do not divide it; \
             choose channel counts that are multiples of 32 (or 4*k with k <= 32)"
        )));
    }
    Ok(())
}

/// A GroupNorm layer (`weight` and `bias` of shape `[C]`).
#[derive(Debug)]
pub struct GroupNorm {
    /// Scale `[C]`, initialised to 1.
    pub weight: Tensor,
    /// Shift `[C]`, initialised to 0.
    pub bias: Tensor,
    groups: i64,
}

impl GroupNorm {
    /// A GroupNorm over `channels` channels (call [`check_channels`] first).
    pub fn new(p: nn::Path, channels: i64, fill: Fill) -> Self {
        GroupNorm {
            weight: param(&p, "weight", &[channels], Init::Const(1.0), fill),
            bias: param(&p, "bias", &[channels], Init::Const(0.0), fill),
            groups: num_groups(channels),
        }
    }

    /// Normalises `x` (`[B, C, ...]`) in `x`'s kind.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let k = x.kind();
        let w = as_kind(&self.weight, k);
        let b = as_kind(&self.bias, k);
        x.group_norm(self.groups, Some(&w), Some(&b), 1e-5, true)
    }
}
