//! Noise-level embeddings: the ADM sinusoidal (positional) embedding and the random Fourier
//! features used by the toy MLP.

use super::Fill;
use tch::{Device, Kind, Tensor, nn};

/// `[cos(c f_j), sin(c f_j)]` with `f_j = 10000^(-j/(C/2))`, `j = 0..C/2` (edm
/// `PositionalEmbedding`, endpoint = false). Has no parameters.
#[derive(Debug)]
pub struct PositionalEmbedding {
    freqs: Tensor,
}

impl PositionalEmbedding {
    /// An embedding with `channels` outputs (even) on `device`.
    pub fn new(channels: i64, device: Device) -> Self {
        let half = channels / 2;
        let freqs: Vec<f32> = (0..half)
            .map(|j| (1e-4f64).powf(j as f64 / half as f64) as f32)
            .collect();
        PositionalEmbedding {
            freqs: Tensor::from_slice(&freqs).to_device(device),
        }
    }

    /// Embeds `c_noise` (`[B]`) into `[B, C]` (f32).
    pub fn forward(&self, c_noise: &Tensor) -> Tensor {
        let x = c_noise.to_kind(Kind::Float).outer(&self.freqs);
        Tensor::cat(&[x.cos(), x.sin()], 1)
    }
}

/// `[cos(2 pi f_j c), sin(2 pi f_j c)]` with fixed frequencies `f_j ~ 16 N(0, 1)` stored as the
/// non-trainable variable `freqs` (edm `FourierEmbedding`, scale 16).
#[derive(Debug)]
pub struct FourierEmbedding {
    /// `[C/2]` frequencies `f_j` (a buffer, not trained).
    pub freqs: Tensor,
}

impl FourierEmbedding {
    /// An embedding with `channels` outputs (even); draws the frequencies from libtorch's
    /// generator unless `fill` is [`Fill::Zeros`].
    pub fn new(p: nn::Path, channels: i64, fill: Fill) -> Self {
        let opts = (Kind::Float, p.device());
        let f = match fill {
            Fill::Random => Tensor::randn([channels / 2], opts) * 16.0,
            Fill::Zeros => Tensor::zeros([channels / 2], opts),
        };
        FourierEmbedding {
            freqs: p.add("freqs", f, false),
        }
    }

    /// Embeds `c_noise` (`[B]`) into `[B, C]` (f32).
    pub fn forward(&self, c_noise: &Tensor) -> Tensor {
        let x = c_noise
            .to_kind(Kind::Float)
            .outer(&(&self.freqs * (2.0 * std::f64::consts::PI)));
        Tensor::cat(&[x.cos(), x.sin()], 1)
    }
}
