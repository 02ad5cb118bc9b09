//! The leaf of the network modules: the raw-network trait every architecture implements, the
//! label check they share, and the variable-store path of the wrapped network. `net`, `mlp`,
//! `unet` and `denoiser` all depend on this module and it depends on none of them, so the
//! network modules form no import cycle.

use crate::error::NetError;
use tch::Tensor;

/// The variable-store path under which a [`crate::denoiser::Denoiser`] keeps its raw network.
pub const MODEL_PATH: &str = "model";

/// A raw network `F(c_in x; c_noise, y)`, wrapped by [`crate::denoiser::Denoiser`].
///
/// `x`: `[B, ...data_shape]` (already scaled by `c_in`); `c_noise`: `[B]` f32;
/// `labels`: optional `[B]` i64 class indices (ignored by unconditional networks).
pub trait RawNet: std::fmt::Debug + Send {
    /// The network output, same shape and kind as `x` (the features are computed anyway on
    /// the way to the output, so by default this drops them).
    fn forward_raw(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        self.forward_raw_with_features(x, c_noise, labels, train).0
    }

    /// The output plus bottleneck features for a GAN head: the MLP's last hidden layer
    /// `[B, H]`; the UNet's encoder output at the lowest resolution `[B, C, h, w]`.
    fn forward_raw_with_features(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor);
}

/// Checks that `labels` fit a network with `num_classes` classes and batch size `batch`.
pub(crate) fn check_labels(
    labels: Option<&Tensor>,
    num_classes: i64,
    batch: i64,
) -> Result<(), NetError> {
    match (labels, num_classes) {
        (None, 0) => Ok(()),
        (Some(_), 0) => Err(NetError::InvalidInput(
            "labels were given to an unconditional network (num_classes = 0)".into(),
        )),
        (None, n) => Err(NetError::InvalidInput(format!(
            "the network is conditional on {n} classes but no labels were given"
        ))),
        (Some(y), n) => {
            if y.size() != [batch] {
                return Err(NetError::InvalidInput(format!(
                    "labels have shape {:?}, expected [{batch}]",
                    y.size()
                )));
            }
            if batch > 0 {
                let lo = y.min().int64_value(&[]);
                let hi = y.max().int64_value(&[]);
                if lo < 0 || hi >= n {
                    return Err(NetError::InvalidInput(format!(
                        "labels range over {lo}..={hi}, outside 0..{n}"
                    )));
                }
            }
            Ok(())
        }
    }
}
