//! A 2-D convolution with "same" padding and optional resampling before it, as in edm's
//! `Conv2d` with `resample_filter = [1, 1]`: down = 2x2 average pooling, up = nearest x2.
//! A kernel size of 0 gives a weightless resampler (the skip path of up/down blocks).

use super::{Fill, Init, as_kind, param};
use tch::{Tensor, nn};

/// Resampling applied to the input before the convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    /// None.
    None,
    /// 2x2 average pooling, stride 2.
    Down,
    /// Nearest-neighbour upsampling by 2.
    Up,
}

/// A convolution layer (`weight` `[out, in, k, k]`, `bias` `[out]`).
#[derive(Debug)]
pub struct Conv2d {
    /// `[out, in, k, k]`, absent for kernel size 0.
    pub weight: Option<Tensor>,
    /// `[out]`, absent for kernel size 0.
    pub bias: Option<Tensor>,
    resample: Resample,
    padding: i64,
}

impl Conv2d {
    /// A `kernel x kernel` convolution from `c_in` to `c_out` channels (odd `kernel`, or 0 for a
    /// weightless resampler), weights and bias initialised with `init`.
    pub fn new(
        p: nn::Path,
        c_in: i64,
        c_out: i64,
        kernel: i64,
        resample: Resample,
        init: Init,
        fill: Fill,
    ) -> Self {
        let (weight, bias) = if kernel > 0 {
            (
                Some(param(
                    &p,
                    "weight",
                    &[c_out, c_in, kernel, kernel],
                    init,
                    fill,
                )),
                Some(param(&p, "bias", &[c_out], init, fill)),
            )
        } else {
            (None, None)
        };
        Conv2d {
            weight,
            bias,
            resample,
            padding: kernel / 2,
        }
    }

    /// Resamples `x` (`[B, C, H, W]`) and convolves it, in `x`'s kind.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let x = match self.resample {
            Resample::None => x.shallow_clone(),
            Resample::Down => x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>),
            Resample::Up => {
                let (h, w) = (x.size()[2], x.size()[3]);
                x.upsample_nearest2d([2 * h, 2 * w], None, None)
            }
        };
        match &self.weight {
            None => x,
            Some(w) => {
                let k = x.kind();
                let w = as_kind(w, k);
                let b = self.bias.as_ref().map(|b| as_kind(b, k));
                x.conv2d(
                    &w,
                    b.as_ref(),
                    [1, 1],
                    [self.padding, self.padding],
                    [1, 1],
                    1,
                )
            }
        }
    }
}
