//! The diffusion-GAN ablation's discriminator head on the fake network's features (DMD2, Yin
//! et al. 2024): for images, on the UNet bottleneck `[B, C, h, w]`,
//! `Conv4x4 s2 -> GN -> SiLU -> Conv k s k -> GN -> SiLU -> Conv1x1`, where DMD2's second
//! `Conv4x4 s4` is adapted to the bottleneck size (`k` = the spatial size after the first
//! conv, so the map reaches 1x1; `k = 4` at DMD2's 8x8 bottleneck); for toys, an MLP
//! `Linear(H, H) -> SiLU -> Linear(H, 1)` on the fake MLP's last hidden layer `[B, H]`.
//! Losses (non-saturating): D `softplus(l_fake) + softplus(-l_real)`, G `softplus(-l_fake)`.

use tch::{Device, Kind, Tensor, nn, nn::Module};

use crate::error::TrainError;

/// The discriminator head with its own parameters.
#[derive(Debug)]
pub struct GanHead {
    /// The head's parameters (`head.*`).
    pub vs: nn::VarStore,
    layers: Layers,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // built once per run
enum Layers {
    Mlp {
        l1: nn::Linear,
        l2: nn::Linear,
    },
    Conv {
        c1: nn::Conv2D,
        g1: nn::GroupNorm,
        c2: nn::Conv2D,
        g2: nn::GroupNorm,
        c3: nn::Conv2D,
    },
}

/// GroupNorm groups as in the ADM UNet: `min(32, C/4)`, at least 1.
fn groups(c: i64) -> i64 {
    (c / 4).clamp(1, 32)
}

impl GanHead {
    /// Builds a head for features shaped like `feature_shape` (`[B, H]` or `[B, C, h, w]`);
    /// draws its initial weights from libtorch's generator.
    pub fn new(feature_shape: &[i64], device: Device) -> Result<Self, TrainError> {
        let vs = nn::VarStore::new(device);
        let p = vs.root() / "head";
        let layers = match *feature_shape {
            [_, h] => Layers::Mlp {
                l1: nn::linear(&p / "l1", h, h, Default::default()),
                l2: nn::linear(&p / "l2", h, 1, Default::default()),
            },
            [_, c, height, width] => {
                let size = height.min(width);
                let k1 = 4.min(size + 2);
                let s1 = ((size + 2 - k1) / 2 + 1).max(1);
                let conv = |stride, padding| nn::ConvConfig {
                    stride,
                    padding,
                    ..Default::default()
                };
                let g = groups(c);
                let gn = nn::GroupNormConfig::default();
                Layers::Conv {
                    c1: nn::conv2d(&p / "c1", c, c, k1, conv(2, 1)),
                    g1: nn::group_norm(&p / "g1", g, c, gn),
                    c2: nn::conv2d(&p / "c2", c, c, s1, conv(s1, 0)),
                    g2: nn::group_norm(&p / "g2", g, c, gn),
                    c3: nn::conv2d(&p / "c3", c, 1, 1, conv(1, 0)),
                }
            }
            _ => {
                return Err(TrainError::Config(format!(
                    "gan: features of shape {feature_shape:?} are neither [B, H] nor [B, C, h, w]"
                )));
            }
        };
        Ok(GanHead { vs, layers })
    }

    /// Logits `[B]` for features `[B, H]` or `[B, C, h, w]` (spatial outputs are averaged).
    pub fn logits(&self, features: &Tensor) -> Tensor {
        let f = features.to_kind(Kind::Float);
        match &self.layers {
            Layers::Mlp { l1, l2 } => l2.forward(&l1.forward(&f).silu()).reshape([-1]),
            Layers::Conv { c1, g1, c2, g2, c3 } => {
                let h = g1.forward(&c1.forward(&f)).silu();
                let h = g2.forward(&c2.forward(&h)).silu();
                c3.forward(&h)
                    .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
            }
        }
    }
}

/// Discriminator loss `mean(softplus(l_fake) + softplus(-l_real))`.
pub fn d_loss(logits_real: &Tensor, logits_fake: &Tensor) -> Tensor {
    logits_fake.softplus().mean(Kind::Float) + (-logits_real).softplus().mean(Kind::Float)
}

/// Non-saturating generator loss `mean(softplus(-l_fake))`.
pub fn g_loss(logits_fake: &Tensor) -> Tensor {
    (-logits_fake).softplus().mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_reach_one_logit_per_sample() {
        for shape in [
            vec![3i64, 16],
            vec![3, 8, 8, 8],
            vec![3, 8, 4, 4],
            vec![3, 8, 2, 2],
        ] {
            let head = GanHead::new(&shape, Device::Cpu).unwrap();
            let f = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu));
            assert_eq!(head.logits(&f).size(), vec![3], "{shape:?}");
        }
        assert!(GanHead::new(&[3, 2, 2], Device::Cpu).is_err());
        let l = Tensor::zeros([4], (Kind::Float, Device::Cpu));
        assert!((d_loss(&l, &l).double_value(&[]) - 2.0 * 2f64.ln()).abs() < 1e-6);
    }
}
