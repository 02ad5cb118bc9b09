//! Building blocks shared by the networks: linear and convolution layers with the EDM
//! initialisations, group normalisation, and the noise embeddings.
//!
//! Every layer names its parameters `weight` / `bias` under the `tch::nn::Path` it is given, so
//! checkpoint keys follow the reference layout. Layers cast their weights to the input's kind in
//! `forward`, so a bf16 input runs the layer in bf16 while the stored (master) weights stay f32.

mod conv2d;
mod embedding;
mod group_norm;
mod linear;

pub use conv2d::{Conv2d, Resample};
pub use embedding::{FourierEmbedding, PositionalEmbedding};
pub use group_norm::{GroupNorm, check_channels, num_groups};
pub use linear::Linear;

use tch::{Kind, Tensor, nn};

/// How a layer's parameters are first filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// `U(-b, b)`.
    Uniform(f64),
    /// `N(0, std^2)`.
    Normal(f64),
    /// A constant (zero-initialised output layers, GroupNorm scales and shifts).
    Const(f64),
}

/// Whether construction draws random initial values or fills zeros (used when the weights are
/// about to be overwritten by a checkpoint or a copy: faster, and draws nothing from libtorch's
/// global generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Use each layer's initialisation.
    Random,
    /// Fill every parameter with zeros.
    Zeros,
}

/// The default EDM/ADM initialisation for a layer with `fan_in` inputs: `U(+-1/sqrt(fan_in))`
/// for weights and biases (edm's kaiming_uniform with init_weight = sqrt(1/3)).
pub fn default_init(fan_in: i64) -> Init {
    Init::Uniform(1.0 / (fan_in.max(1) as f64).sqrt())
}

/// Creates the variable `name` under `p` with `init` (or zeros when `fill` is [`Fill::Zeros`]).
pub(crate) fn param(p: &nn::Path, name: &str, dims: &[i64], init: Init, fill: Fill) -> Tensor {
    let init = match (fill, init) {
        (Fill::Zeros, _) => nn::Init::Const(0.0),
        (Fill::Random, Init::Uniform(b)) => nn::Init::Uniform { lo: -b, up: b },
        (Fill::Random, Init::Normal(s)) => nn::Init::Randn {
            mean: 0.0,
            stdev: s,
        },
        (Fill::Random, Init::Const(c)) => nn::Init::Const(c),
    };
    p.var(name, dims, init)
}

/// `t` in `kind` (a shallow alias when it already is).
pub(crate) fn as_kind(t: &Tensor, kind: Kind) -> Tensor {
    if t.kind() == kind {
        t.shallow_clone()
    } else {
        t.to_kind(kind)
    }
}
