//! The EDM-preconditioned denoiser `D(x; sigma, y) = c_skip x + c_out F(c_in x; c_noise, y)` and
//! its score `s = (D - x)/sigma^2` (Karras et al. 2022, Eqs. 3 and 7), generic over data shape.

use crate::error::NetError;
use crate::layers::Fill;
use crate::net::NetConfig;
use crate::precond::{SIGMA_DATA, edm_coeff_tensors};
use crate::raw::{RawNet, check_labels};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};

/// Name of the VarStore path under which the raw network's parameters live, so checkpoint keys
/// read `model.enc.32x32_conv.weight`, as in edm's `EDMPrecond` state dict.
pub use crate::raw::MODEL_PATH;

/// Arithmetic of the raw network's forward pass. Weights are always stored in f32. In configs
/// (`teacher.autocast`, `distill.autocast`) written `"f32"` (or `"off"`) and `"bf16"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    #[default]
    #[serde(alias = "off")]
    F32,
    /// The raw network runs in bf16 (weights cast on the fly from f32 masters; attention softmax
    /// and the preconditioning stay f32). Meant for CUDA; works but is slow on CPU.
    Bf16,
}

impl Precision {
    /// Whether this is plain f32 (for `skip_serializing_if`: configs that never set it keep
    /// their hashes).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

/// An EDM-preconditioned network with its parameters.
#[derive(Debug)]
pub struct Denoiser {
    /// The parameters (names `model.<reference layout>`).
    pub vs: nn::VarStore,
    /// The network's config (stored in checkpoints).
    pub config: NetConfig,
    /// `sigma_data` of the preconditioning (0.5).
    pub sigma_data: f64,
    /// Arithmetic of the raw network (f32 by default).
    pub precision: Precision,
    net: Box<dyn RawNet>,
}

impl Denoiser {
    /// A freshly initialised denoiser (draws from libtorch's global generator: seed it with
    /// `tch::manual_seed` for reproducible weights).
    pub fn new(config: &NetConfig, device: Device) -> Result<Self, NetError> {
        Self::build(config, device, Fill::Random)
    }

    /// Builds the network, filling parameters randomly or with zeros.
    pub(crate) fn build(config: &NetConfig, device: Device, fill: Fill) -> Result<Self, NetError> {
        let vs = nn::VarStore::new(device);
        let net = config.build(vs.root() / MODEL_PATH, fill)?;
        Ok(Denoiser {
            vs,
            config: config.clone(),
            sigma_data: SIGMA_DATA,
            precision: Precision::F32,
            net,
        })
    }

    /// Number of trainable parameters.
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// The device holding the parameters.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The raw network `F`.
    pub fn raw(&self) -> &dyn RawNet {
        self.net.as_ref()
    }

    /// Checks that `x`, `sigma` and `labels` fit this network (use before feeding user data; the
    /// forward passes themselves panic on mismatched shapes, as libtorch does).
    pub fn check_inputs(
        &self,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<(), NetError> {
        let size = x.size();
        let shape = self.config.data_shape();
        if size.len() != shape.len() + 1 || size[1..] != shape[..] {
            return Err(NetError::InvalidInput(format!(
                "x has shape {size:?}, expected [B, {}]",
                shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let b = size[0];
        if sigma.numel() != b as usize && sigma.numel() != 1 {
            return Err(NetError::InvalidInput(format!(
                "sigma has {} values for a batch of {b} (give one per sample, or one for all)",
                sigma.numel()
            )));
        }
        check_labels(labels, self.config.num_classes() as i64, b)
    }

    fn forward(
        &self,
        precision: Precision,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
        features: bool,
    ) -> (Tensor, Option<Tensor>) {
        let b = x.size()[0];
        let mut sigma = sigma.reshape([-1]);
        if sigma.size()[0] == 1 && b != 1 {
            sigma = sigma.expand([b], false);
        }
        let c = edm_coeff_tensors(&sigma, self.sigma_data, x.dim() - 1);
        let x = x.to_kind(Kind::Float);
        let mut x_in = &x * &c.c_in;
        if precision == Precision::Bf16 {
            x_in = x_in.to_kind(Kind::BFloat16);
        }
        let (f, feats) = if features {
            let (f, h) = self
                .net
                .forward_raw_with_features(&x_in, &c.c_noise, labels, train);
            (f, Some(h))
        } else {
            (self.net.forward_raw(&x_in, &c.c_noise, labels, train), None)
        };
        // D = c_skip x + c_out F, in f32.
        let d = (&x * &c.c_skip).addcmul(&c.c_out, &f.to_kind(Kind::Float));
        (d, feats)
    }

    /// `D(x; sigma, y)` in the denoiser's own [`Precision`]. `x`: `[B, ...data_shape]`;
    /// `sigma`: `[B]` (one per sample; a single value is broadcast), any float kind; result
    /// f32, shape of `x`.
    pub fn denoise(
        &self,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        self.denoise_in(self.precision, x, sigma, labels, train)
    }

    /// [`Denoiser::denoise`] in `precision` whatever the denoiser's own (e.g. f32 samples from
    /// a generator that trains in bf16, or the teacher's DM-gradient term in bf16).
    pub fn denoise_in(
        &self,
        precision: Precision,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        self.forward(precision, x, sigma, labels, train, false).0
    }

    /// `D(x; sigma, y)` at one noise level for the whole batch.
    pub fn denoise_at(
        &self,
        x: &Tensor,
        sigma: f64,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let s = Tensor::full([1], sigma, (Kind::Float, x.device()));
        self.denoise(x, &s, labels, train)
    }

    /// `D(x; sigma, y)` plus the raw network's bottleneck features (see
    /// [`RawNet::forward_raw_with_features`]).
    pub fn denoise_with_features(
        &self,
        x: &Tensor,
        sigma: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor) {
        let (d, f) = self.forward(self.precision, x, sigma, labels, train, true);
        (d, f.expect("features requested"))
    }

    /// The score `s(x; sigma) = (D(x; sigma) - x)/sigma^2` (eval mode).
    pub fn score(&self, x: &Tensor, sigma: &Tensor, labels: Option<&Tensor>) -> Tensor {
        let d = self.denoise(x, sigma, labels, false);
        let mut view = vec![-1i64];
        view.extend(std::iter::repeat_n(1i64, x.dim() - 1));
        let s2 = sigma.to_kind(Kind::Float).reshape(view.as_slice()).square();
        (d - x.to_kind(Kind::Float)) / s2
    }

    /// A new denoiser with its own VarStore holding a copy of these weights (same config,
    /// precision and device; trainable independently).
    pub fn try_clone(&self) -> Result<Self, NetError> {
        let mut other = Self::build(&self.config, self.device(), Fill::Zeros)?;
        other.vs.copy(&self.vs)?;
        other.sigma_data = self.sigma_data;
        other.precision = self.precision;
        Ok(other)
    }

    /// Copies the weights of `src` (same config) into this denoiser, e.g. for an EMA reset.
    pub fn copy_weights_from(&mut self, src: &Denoiser) -> Result<(), NetError> {
        if src.config != self.config {
            return Err(NetError::InvalidConfig(
                "cannot copy weights between denoisers with different configs".into(),
            ));
        }
        self.vs.copy(&src.vs)?;
        Ok(())
    }
}
