//! EDM preconditioning (Karras et al. 2022, Eq. 7 and Table 1).
//!
//! With `sd = sigma_data`:
//! `c_skip = sd^2/(sigma^2+sd^2)`, `c_out = sigma*sd/sqrt(sigma^2+sd^2)`,
//! `c_in = 1/sqrt(sigma^2+sd^2)`, `c_noise = ln(sigma)/4`, and the denoiser is
//! `D(x; sigma, y) = c_skip*x + c_out*F(c_in*x; c_noise, y)`.

use tch::{Kind, Tensor};

/// Standard deviation of the data assumed by the preconditioning (EDM default).
pub const SIGMA_DATA: f64 = 0.5;

/// The four preconditioning scalars at one noise level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdmCoeffs {
    /// Weight of the skip connection, `sd^2/(sigma^2+sd^2)`.
    pub c_skip: f64,
    /// Scale of the network output, `sigma*sd/sqrt(sigma^2+sd^2)`.
    pub c_out: f64,
    /// Scale of the network input, `1/sqrt(sigma^2+sd^2)`.
    pub c_in: f64,
    /// Noise conditioning fed to the network, `ln(sigma)/4`.
    pub c_noise: f64,
}

/// The EDM coefficients at noise level `sigma` for data standard deviation `sigma_data`.
pub fn edm_coeffs(sigma: f64, sigma_data: f64) -> EdmCoeffs {
    let r = 1.0 / (sigma * sigma + sigma_data * sigma_data).sqrt();
    EdmCoeffs {
        c_skip: sigma_data * sigma_data * r * r,
        c_out: sigma * sigma_data * r,
        c_in: r,
        c_noise: sigma.ln() / 4.0,
    }
}

/// The same coefficients as tensors for a batch of noise levels `sigma` (`[B]`, any float
/// kind), computed in f32 with one shared `rsqrt`. Each is returned with shape
/// `[B, 1, ..., 1]` (`data_ndim` trailing ones) ready to broadcast over a batch of data,
/// except `c_noise`, which stays `[B]`.
#[derive(Debug)]
pub struct EdmCoeffTensors {
    /// `c_skip`, shape `[B, 1, ..]`.
    pub c_skip: Tensor,
    /// `c_out`, shape `[B, 1, ..]`.
    pub c_out: Tensor,
    /// `c_in`, shape `[B, 1, ..]`.
    pub c_in: Tensor,
    /// `c_noise`, shape `[B]`.
    pub c_noise: Tensor,
}

/// Batched [`edm_coeffs`] (see [`EdmCoeffTensors`]).
pub fn edm_coeff_tensors(sigma: &Tensor, sigma_data: f64, data_ndim: usize) -> EdmCoeffTensors {
    let sigma = sigma.to_kind(Kind::Float).reshape([-1]);
    let mut view = vec![-1i64];
    view.extend(std::iter::repeat_n(1i64, data_ndim));
    let r = (sigma.square() + sigma_data * sigma_data).rsqrt();
    let c_skip = r.square() * (sigma_data * sigma_data);
    let c_out = &sigma * &r * sigma_data;
    EdmCoeffTensors {
        c_skip: c_skip.view(view.as_slice()),
        c_out: c_out.view(view.as_slice()),
        c_in: r.view(view.as_slice()),
        c_noise: sigma.log() * 0.25,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_at_sigma_max_match_the_reference() {
        let c = edm_coeffs(80.0, SIGMA_DATA);
        assert!((c.c_skip - 3.906e-5).abs() < 1e-8, "{}", c.c_skip);
        assert!((c.c_out - 0.49999).abs() < 1e-5, "{}", c.c_out);
        assert!((c.c_in - 0.0125).abs() < 1e-6, "{}", c.c_in);
        assert!((c.c_noise - 1.0955).abs() < 1e-4, "{}", c.c_noise);
    }

    #[test]
    fn identities_hold_over_a_range_of_sigmas() {
        for &s in &[0.002, 0.1, 0.5, 1.0, 10.0, 80.0] {
            let c = edm_coeffs(s, SIGMA_DATA);
            // c_skip + (c_out/sigma_data)^2 = 1 (unit-variance training target).
            let sum = c.c_skip + (c.c_out / SIGMA_DATA).powi(2);
            assert!((sum - 1.0).abs() < 1e-12, "sigma {s}: {sum}");
            // c_in^2 (sigma^2 + sigma_data^2) = 1 (unit-variance network input).
            let v = c.c_in * c.c_in * (s * s + SIGMA_DATA * SIGMA_DATA);
            assert!((v - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn tensor_coefficients_agree_with_scalars() {
        let sig = [0.002f32, 0.7, 80.0];
        let t = edm_coeff_tensors(&Tensor::from_slice(&sig), SIGMA_DATA, 3);
        assert_eq!(t.c_skip.size(), vec![3, 1, 1, 1]);
        assert_eq!(t.c_noise.size(), vec![3]);
        for (i, &s) in sig.iter().enumerate() {
            let c = edm_coeffs(s as f64, SIGMA_DATA);
            let i = i as i64;
            let get = |t: &Tensor| t.reshape([-1]).double_value(&[i]);
            assert!((get(&t.c_skip) - c.c_skip).abs() < 1e-6 * c.c_skip.max(1e-3));
            assert!((get(&t.c_out) - c.c_out).abs() < 1e-6);
            assert!((get(&t.c_in) - c.c_in).abs() < 1e-5);
            assert!((get(&t.c_noise) - c.c_noise).abs() < 1e-5);
        }
    }
}
