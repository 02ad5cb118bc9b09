//! The raw-network interface `F(c_in x; c_noise, y)` and the serialisable network config that
//! selects and sizes one (toy MLP or ADM UNet).

use crate::error::NetError;
use crate::layers::Fill;
use crate::mlp::{Mlp, MlpConfig};
pub use crate::raw::RawNet;
use crate::unet::{Unet, UnetConfig};
use serde::{Deserialize, Serialize};
use tch::nn;

/// Which raw network to build, with its sizes. Serialised with a `kind` tag
/// (`{"kind": "mlp", "dim": 4, ...}` / `{"kind": "unet", ...}`); checkpoints store it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NetConfig {
    /// The toy MLP for low-dimensional data.
    Mlp(MlpConfig),
    /// The ADM UNet for images.
    Unet(UnetConfig),
}

impl NetConfig {
    /// The shape of one sample: `[dim]` for the MLP, `[C, H, W]` for the UNet.
    pub fn data_shape(&self) -> Vec<i64> {
        match self {
            NetConfig::Mlp(c) => vec![c.dim],
            NetConfig::Unet(c) => vec![c.in_channels, c.img_resolution, c.img_resolution],
        }
    }

    /// Number of classes of the label conditioning; 0 = unconditional.
    pub fn num_classes(&self) -> usize {
        let n = match self {
            NetConfig::Mlp(c) => c.num_classes,
            NetConfig::Unet(c) => c.num_classes,
        };
        n.max(0) as usize
    }

    /// Channels of the features returned by [`RawNet::forward_raw_with_features`].
    pub fn feature_dim(&self) -> i64 {
        match self {
            NetConfig::Mlp(c) => c.hidden,
            NetConfig::Unet(c) => c.model_channels * c.channel_mult.last().copied().unwrap_or(1),
        }
    }

    /// Number of values in one sample (the product of [`NetConfig::data_shape`]).
    pub fn data_numel(&self) -> i64 {
        self.data_shape().iter().product()
    }

    /// Checks every size; the error says which field is wrong and why.
    pub fn validate(&self) -> Result<(), NetError> {
        match self {
            NetConfig::Mlp(c) => c.validate(),
            NetConfig::Unet(c) => c.validate(),
        }
    }

    /// Builds the raw network with its parameters under `p`.
    pub(crate) fn build(&self, p: nn::Path, fill: Fill) -> Result<Box<dyn RawNet>, NetError> {
        self.validate()?;
        Ok(match self {
            NetConfig::Mlp(c) => Box::new(Mlp::new(p, c, fill)),
            NetConfig::Unet(c) => Box::new(Unet::new(p, c, fill)),
        })
    }
}
