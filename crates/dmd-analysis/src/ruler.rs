//! The remapping ruler: positive controls with a known amount of remapping, which say what the
//! pairing measures can see at a given dimension `D` and sample count `N`.
//!
//! From any teacher `Phi_K`, the student `G_theta(z) = Phi_K(R_theta z)` has *exactly* the
//! teacher's output distribution for every angle `theta` (the noise law `N(0, I)` is rotation
//! invariant) and remaps its pairing by a known amount: `theta = 0` is an exact copy, and the
//! pairing drifts away as `theta` grows. [`rotate_noise`] is `R_theta`: a rotation by `theta` in
//! every one of `floor(D / 2)` disjoint 2-planes spanned by coordinate pairs drawn with a seed.
//!
//! A measured student is placed on the ruler by its *equivalent angle*
//! ([`Ruler::equivalent_angle`]), read from the direct-pairing ratio `E_DT / E_rand`
//! ([`dt_ratio`]), which grows like `theta^2` from 0 and so is not blind near `theta = 0` the way
//! `Delta_E` and the copy score are (both stay at their copy values for small angles in high
//! dimension, because `E_OT` follows `E_DT` down). A student that does not fit the teacher also
//! raises `E_DT`, so the equivalent angle is an *upper bound* on its remapping, to be read with
//! its fit.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::pairing::DeltaEEstimate;

/// `R_theta z` for every row `z` of `z` (`N x D`): coordinates are paired by a seeded random
/// permutation, and each pair `(a, b)` is rotated to `(a cos theta - b sin theta,
/// a sin theta + b cos theta)`; with odd `D` the unpaired coordinate is kept. `R_theta` is
/// orthogonal, so `R_theta z ~ N(0, I)` whenever `z` is; `R_0` is the identity. The same `seed`
/// gives the same planes for every `theta` (a one-parameter family of rotations).
pub fn rotate_noise(z: ArrayView2<f32>, theta: f64, seed: u64) -> Array2<f32> {
    let d = z.ncols();
    let mut coords: Vec<usize> = (0..d).collect();
    coords.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (c, s) = (theta.cos(), theta.sin());
    let mut out = z.to_owned();
    for (mut row, src) in out.rows_mut().into_iter().zip(z.rows()) {
        for pair in coords.chunks_exact(2) {
            let (a, b) = (f64::from(src[pair[0]]), f64::from(src[pair[1]]));
            row[pair[0]] = (a * c - b * s) as f32;
            row[pair[1]] = (a * s + b * c) as f32;
        }
    }
    out
}

/// `E_DT / E_rand`: the direct pairs' mean cost over a random pairing's (0 for an exact copy,
/// about 1 for a pairing no better than random; above 1 when the direct pairs are worse than
/// random). The statistic the equivalent angle is read from.
pub fn dt_ratio(e: &DeltaEEstimate) -> f64 {
    e.e_dt / e.e_rand
}

/// One ruler student: `G_theta` measured against `Phi_K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulerPoint {
    /// The rotation angle `theta` (radians).
    pub theta: f64,
    /// `Delta_E(Phi_K, G_theta)`, copy score and energies (with intervals when measured).
    pub pairing: DeltaEEstimate,
    /// [`dt_ratio`] of `pairing`.
    pub dt_ratio: f64,
}

impl RulerPoint {
    /// The ruler's `theta = 0` point, known without measuring: `G_0 = Phi_K`, an exact copy
    /// (`E_DT = E_OT = 0`, copy score 1; `Delta_E` is 0 by continuity, as `0 / 0` it is
    /// undefined). `e_rand` is the teacher's random-pairing energy at these seeds.
    pub fn exact_copy(n: usize, e_rand: f64) -> Self {
        Self {
            theta: 0.0,
            pairing: DeltaEEstimate {
                delta_e: 0.0,
                e_dt: 0.0,
                e_ot: 0.0,
                e_rand,
                copy_score: 1.0,
                fixed_point_fraction: 1.0,
                n,
                delta_e_interval: None,
                copy_score_interval: None,
            },
            dt_ratio: 0.0,
        }
    }
}

/// Where a student sits on the ruler ([`Ruler::equivalent_angle`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "theta", rename_all = "snake_case")]
pub enum EquivalentAngle {
    /// Below the ruler's smallest non-zero angle: remapping of at most this angle.
    AtMost(f64),
    /// Interpolated between two ruler angles.
    About(f64),
    /// Past the ruler's largest angle: remapping of at least this angle.
    AtLeast(f64),
}

impl EquivalentAngle {
    /// The angle, whichever bound it is.
    pub fn theta(self) -> f64 {
        match self {
            Self::AtMost(t) | Self::About(t) | Self::AtLeast(t) => t,
        }
    }

    /// The smallest angle it allows (0 for [`Self::AtMost`]).
    pub fn lower_bound(self) -> f64 {
        match self {
            Self::AtMost(_) => 0.0,
            Self::About(t) | Self::AtLeast(t) => t,
        }
    }

    /// The largest angle it allows (pi for [`Self::AtLeast`]: a rotation by pi is as far as a
    /// rotation goes).
    pub fn upper_bound(self) -> f64 {
        match self {
            Self::AtLeast(_) => std::f64::consts::PI,
            Self::AtMost(t) | Self::About(t) => t,
        }
    }
}

impl std::fmt::Display for EquivalentAngle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AtMost(t) => write!(f, "<= {t:.2} rad"),
            Self::About(t) => write!(f, "~{t:.2} rad"),
            Self::AtLeast(t) => write!(f, ">= {t:.2} rad"),
        }
    }
}

/// The ruler of one teacher at one `N`: its points by increasing angle, the first at
/// `theta = 0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ruler {
    /// Seeds per point.
    pub n: usize,
    /// The points, by increasing `theta`.
    pub points: Vec<RulerPoint>,
}

impl Ruler {
    /// Builds the ruler from measured points (sorted by angle here).
    pub fn new(n: usize, mut points: Vec<RulerPoint>) -> Self {
        points.sort_by(|a, b| a.theta.total_cmp(&b.theta));
        Self { n, points }
    }

    /// The angle whose ruler student has the same [`dt_ratio`] as `ratio`, by linear
    /// interpolation on the ruler's running maximum (monotone even where sampling noise makes
    /// two neighbouring points cross). `None` for an empty ruler or a NaN ratio.
    pub fn equivalent_angle(&self, ratio: f64) -> Option<EquivalentAngle> {
        if ratio.is_nan() || self.points.is_empty() {
            return None;
        }
        let mut curve: Vec<(f64, f64)> = Vec::with_capacity(self.points.len());
        let mut top = f64::NEG_INFINITY;
        for p in &self.points {
            top = top.max(p.dt_ratio);
            curve.push((p.theta, top));
        }
        let (first, last) = (curve[0], curve[curve.len() - 1]);
        if ratio <= first.1 {
            let next = curve
                .iter()
                .find(|c| c.0 > first.0)
                .map_or(first.0, |c| c.0);
            return Some(EquivalentAngle::AtMost(next));
        }
        if ratio >= last.1 {
            return Some(EquivalentAngle::AtLeast(last.0));
        }
        let w = curve.windows(2).find(|w| ratio <= w[1].1)?;
        let ((t0, r0), (t1, r1)) = (w[0], w[1]);
        let f = if r1 > r0 {
            (ratio - r0) / (r1 - r0)
        } else {
            0.0
        };
        Some(EquivalentAngle::About(t0 + f * (t1 - t0)))
    }

    /// The smallest angle whose copy-score interval lies wholly below the copy point's (the
    /// `theta = 0` point), i.e. the smallest remapping the copy score tells from a copy at this
    /// `D` and `N`; `None` when no point separates or the points carry no intervals.
    pub fn copy_score_resolution(&self) -> Option<f64> {
        let zero = self.points.first()?;
        let zero_low = zero
            .pairing
            .copy_score_interval
            .map_or(zero.pairing.copy_score, |iv| iv.lower);
        self.points
            .iter()
            .skip(1)
            .find(|p| {
                p.pairing
                    .copy_score_interval
                    .is_some_and(|iv| iv.upper < zero_low)
            })
            .map(|p| p.theta)
    }
}
