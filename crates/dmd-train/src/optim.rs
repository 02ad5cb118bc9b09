//! AdamW implemented on tensors so that its moment buffers can be checkpointed.
//!
//! `tch::nn::Optimizer` hides its state, which makes an exact resume impossible. This is the
//! update of Loshchilov & Hutter (2019), Algorithm 2, in PyTorch's arithmetic order:
//!
//! ```text
//! p <- p * (1 - lr * wd)                       (decoupled weight decay)
//! m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//! p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! ```
//!
//! With `weight_decay = 0` it is Adam (the EDM teacher's optimiser).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn::VarStore};

use crate::error::TrainError;

/// AdamW hyperparameters (the learning rate is passed per step by the schedule).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamWConfig {
    /// First-moment decay beta_1 (0.9).
    pub beta1: f64,
    /// Second-moment decay beta_2 (0.999).
    pub beta2: f64,
    /// Denominator epsilon (1e-8).
    pub eps: f64,
    /// Decoupled weight decay (DMD2: 0.01; EDM teacher: 0).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

impl AdamWConfig {
    /// Adam without weight decay (EDM's teacher optimiser).
    pub fn adam() -> Self {
        AdamWConfig {
            weight_decay: 0.0,
            ..Self::default()
        }
    }

    /// Checks the ranges; names the bad field.
    pub fn validate(&self, what: &str) -> Result<(), TrainError> {
        let ok = (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps > 0.0
            && self.weight_decay >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(TrainError::Config(format!(
                "{what}: AdamW needs 0 <= beta1, beta2 < 1, eps > 0 and weight_decay >= 0, got {self:?}"
            )))
        }
    }
}

/// One parameter with its moments.
#[derive(Debug)]
struct Slot {
    name: String,
    param: Tensor,
    m: Tensor,
    v: Tensor,
}

/// AdamW over a fixed, name-sorted set of parameters.
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    step: u64,
}

impl AdamW {
    /// Optimises the trainable variables of `vs` (those with `requires_grad`), sorted by name.
    pub fn for_var_store(vs: &VarStore, config: AdamWConfig) -> Self {
        let named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        Self::new(named, config)
    }

    /// Optimises the given named parameters (sorted by name for a stable checkpoint layout).
    pub fn new(mut named: Vec<(String, Tensor)>, config: AdamWConfig) -> Self {
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let slots = named
            .into_iter()
            .map(|(name, param)| {
                let m = param.zeros_like().detach();
                let v = param.zeros_like().detach();
                Slot { name, param, m, v }
            })
            .collect();
        AdamW {
            config,
            slots,
            step: 0,
        }
    }

    /// Number of updates taken so far (t in the bias corrections).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The parameters, in checkpoint order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.slots.iter().map(|s| (s.name.as_str(), &s.param))
    }

    /// Clears the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for s in &mut self.slots {
            s.param.zero_grad();
        }
    }

    /// Global L2 norm of all gradients (parameters without a gradient count as zero).
    pub fn grad_norm(&self) -> f64 {
        tch::no_grad(|| {
            // One fused reduction per gradient (no squared temporary), then the norm of norms.
            let sq: Vec<Tensor> = self
                .slots
                .iter()
                .filter_map(|s| {
                    let g = s.param.grad();
                    g.defined().then(|| g.to_kind(Kind::Float).norm())
                })
                .collect();
            if sq.is_empty() {
                0.0
            } else {
                Tensor::stack(&sq, 0).norm().double_value(&[])
            }
        })
    }

    /// Scales the gradients so that their global norm is at most `max_norm`
    /// (coefficient `max_norm / (norm + 1e-6)` as in `torch.nn.utils.clip_grad_norm_`).
    /// Returns the norm before clipping; a non-finite norm is returned unchanged and
    /// the gradients are left as they are (the caller stops the run).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.grad_norm();
        if !norm.is_finite() {
            return norm;
        }
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            tch::no_grad(|| {
                for s in &self.slots {
                    let mut g = s.param.grad();
                    if g.defined() {
                        let _ = g.g_mul_scalar_(coef);
                    }
                }
            });
        }
        norm
    }

    /// One AdamW update with learning rate `lr`; parameters without a gradient are skipped.
    ///
    /// The same update as the module docs, arranged to touch each parameter-sized buffer as
    /// few times as possible with a single temporary (PyTorch's single-tensor loop allocates
    /// two): after the first moment has used `g`, the gradient is scaled in place by
    /// `sqrt(1 - b2)` so that `v <- b2 v + g g` needs no temporary, and the bias corrections
    /// are folded into one scalar, `p += m / d` with
    /// `d = (sqrt(v) + eps sqrt(1 - b2^t)) * (-1 / (step_size sqrt(1 - b2^t)))`.
    /// It agrees with the textbook order to rounding (test below: 1e-12 in f64). The gradients
    /// are left scaled by `sqrt(1 - b2)`; call [`AdamW::zero_grad`] before the next backward.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        let step_size = lr / bias1;
        let g_scale = (1.0 - c.beta2).sqrt();
        let d_shift = c.eps * bias2_sqrt;
        let d_scale = -1.0 / (step_size * bias2_sqrt);
        tch::no_grad(|| {
            for s in &mut self.slots {
                let mut g = s.param.grad();
                if !g.defined() {
                    continue;
                }
                if c.weight_decay != 0.0 {
                    let _ = s.param.g_mul_scalar_(1.0 - lr * c.weight_decay);
                }
                let _ = s.m.lerp_(&g, 1.0 - c.beta1);
                let _ = g.g_mul_scalar_(g_scale);
                let _ = s.v.g_mul_scalar_(c.beta2);
                let _ = s.v.addcmul_(&g, &g);
                let mut d = s.v.sqrt();
                let _ = d.g_add_scalar_(d_shift);
                let _ = d.g_mul_scalar_(d_scale);
                let _ = s.param.addcdiv_(&s.m, &d);
            }
        });
    }

    /// The optimiser state as named tensors: `{prefix}m.{name}`, `{prefix}v.{name}`, `{prefix}step`.
    pub fn state_tensors(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.slots.len() + 1);
        for s in &self.slots {
            out.push((format!("{prefix}m.{}", s.name), s.m.shallow_clone()));
            out.push((format!("{prefix}v.{}", s.name), s.v.shallow_clone()));
        }
        out.push((format!("{prefix}step"), Tensor::from(self.step as i64)));
        out
    }

    /// Restores the state written by [`AdamW::state_tensors`] with the same `prefix`.
    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        prefix: &str,
    ) -> Result<(), String> {
        let get = |key: String| {
            tensors
                .get(&key)
                .ok_or_else(|| format!("missing tensor `{key}`"))
        };
        for s in &mut self.slots {
            for (which, buf) in [("m", &mut s.m), ("v", &mut s.v)] {
                let src = get(format!("{prefix}{which}.{}", s.name))?;
                if src.size() != buf.size() {
                    return Err(format!(
                        "optimiser moment `{prefix}{which}.{}` has shape {:?}, expected {:?}",
                        s.name,
                        src.size(),
                        buf.size()
                    ));
                }
                tch::no_grad(|| buf.copy_(src));
            }
        }
        let step = get(format!("{prefix}step"))?;
        self.step = u64::try_from(step.int64_value(&[])).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// One AdamW step on f(p) = 0.5 * sum(p^2) checked against the formula in f64.
    #[test]
    fn adamw_step_matches_formula() {
        let p = Tensor::from_slice(&[1.0f64, -2.0, 0.5]).set_requires_grad(true);
        let cfg = AdamWConfig {
            weight_decay: 0.1,
            ..AdamWConfig::default()
        };
        let mut opt = AdamW::new(vec![("p".into(), p.shallow_clone())], cfg);
        for _ in 0..2 {
            opt.zero_grad();
            (&p * &p).sum(Kind::Double).g_mul_scalar(0.5).backward();
            opt.step(0.01);
        }
        // reference in plain f64
        let mut x = [1.0f64, -2.0, 0.5];
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        for t in 1..=2 {
            for i in 0..3 {
                let g = x[i];
                x[i] *= 1.0 - 0.01 * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let denom = (v[i].sqrt() / (1.0 - 0.999f64.powi(t)).sqrt()) + 1e-8;
                x[i] -= 0.01 / (1.0 - 0.9f64.powi(t)) * m[i] / denom;
            }
        }
        let got = Vec::<f64>::try_from(&p).unwrap();
        for i in 0..3 {
            assert!((got[i] - x[i]).abs() < 1e-12, "{got:?} vs {x:?}");
        }
        assert_eq!(opt.step_count(), 2);
    }

    #[test]
    fn clip_scales_to_max_norm_and_state_roundtrips() {
        let p = Tensor::from_slice(&[3.0f32, 4.0]).set_requires_grad(true);
        let mut opt = AdamW::new(
            vec![("w".into(), p.shallow_clone())],
            AdamWConfig::default(),
        );
        (&p * 10.0).sum(Kind::Float).backward(); // grad = [10, 10], norm 14.14
        let before = opt.clip_grad_norm(1.0);
        assert!((before - 200f64.sqrt()).abs() < 1e-4);
        assert!((opt.grad_norm() - 1.0).abs() < 1e-4);
        opt.step(1e-3);
        let state: HashMap<String, Tensor> = opt.state_tensors("g.").into_iter().collect();
        let q = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let mut opt2 = AdamW::new(vec![("w".into(), q)], AdamWConfig::default());
        opt2.load_state(&state, "g.").unwrap();
        assert_eq!(opt2.step_count(), 1);
        assert!(opt2.load_state(&state, "other.").is_err());
    }
}
