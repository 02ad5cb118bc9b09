//! Sample diversity: how spread out a set of samples is, for comparing DP-DMD with DMD
//! (DP-DMD paper, Eq. 9) and a student with its teacher.
//!
//! DP-DMD's score over `R` samples `x_1..x_R` of one condition is
//!
//! ```text
//! Diversity = 1 - 2 / (R (R - 1)) * sum_{i<j} cos(x_i, x_j)               (DP-DMD Eq. 9)
//! ```
//!
//! on DINO/CLIP features. Offline we have no such feature extractor, so the features here are
//! the samples themselves (pixels, or any features the caller passes) **centred on a common
//! reference mean** (the teacher's): raw MNIST pixels share a -1 background that would make
//! every cosine close to 1. With unit vectors `u_i = x_i / ||x_i||`,
//! `sum_{i<j} cos = (||sum_i u_i||^2 - R) / 2`, so the score costs one pass over the samples
//! (no `R x R` Gram matrix). Beside it, the root-mean-square pairwise distance
//! `sqrt(mean_{i != j} ||x_i - x_j||^2) = sqrt(2 R / (R - 1) * total variance)`, which keeps
//! the scale the cosine discards.
//!
//! Reading the scores: centred on its own mean, a set's cosine score is close to
//! `1 + 1/(R - 1)` whatever its spread (its centred vectors point every way), so the teacher's
//! score is nearly a constant and the student's falls below it only when its samples bunch
//! into a few directions from the teacher's mean (mode collapse). Changes of spread show in
//! the RMS pairwise distance.

use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result, check_finite};

/// Diversity of one sample set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diversity {
    /// `1 - mean pairwise cosine` of the centred features (DP-DMD Eq. 9); 0 when all samples
    /// point the same way from the centre, about 1 for isotropic noise around it.
    pub cosine: f64,
    /// Root-mean-square distance between two distinct samples.
    pub rms_pairwise_distance: f64,
}

/// The diversity of a student beside its teacher's, all centred on the teacher's mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiversityReport {
    /// Feature space (`pixels`, ...).
    pub features: String,
    /// Number of samples per set.
    pub n: usize,
    /// The student `G(z)`.
    pub student: Diversity,
    /// The teacher `Phi_K(z)`.
    pub teacher: Diversity,
    /// The one-step teacher `Phi_1(z)` (the student's initialisation), if given.
    pub teacher_one_step: Option<Diversity>,
    /// `student.cosine / teacher.cosine`: below 1 when the student collapsed modes.
    pub relative: f64,
}

/// Diversity of the rows of `x` centred on `centre` (DP-DMD Eq. 9 and the RMS pairwise
/// distance). Rows that coincide with the centre count as cosine 0 with every other row.
/// Errors on fewer than two rows, a centre of the wrong length or non-finite values.
pub fn diversity(x: ArrayView2<f32>, centre: ArrayView1<f32>) -> Result<Diversity> {
    const WHAT: &str = "diversity";
    let (r, d) = x.dim();
    if r < 2 {
        return Err(AnalysisError::TooFewSamples {
            what: WHAT,
            needed: 2,
            got: r,
        });
    }
    if centre.len() != d {
        return Err(AnalysisError::Shape {
            what: WHAT,
            detail: format!("{d} columns but a centre of length {}", centre.len()),
        });
    }
    check_finite(WHAT, x.iter())?;
    check_finite(WHAT, centre.iter())?;
    let mut sum_u = Array1::<f64>::zeros(d);
    let mut sum_x = Array1::<f64>::zeros(d);
    let mut sum_sq = 0f64;
    // Rows at the centre have no direction: they add nothing to sum_u and are not counted
    // in its self-products.
    let mut n_unit = 0f64;
    let mut c = vec![0f64; d];
    for row in x.axis_iter(Axis(0)) {
        for ((c, &v), &m) in c.iter_mut().zip(row).zip(centre) {
            *c = f64::from(v) - f64::from(m);
        }
        let norm2: f64 = c.iter().map(|v| v * v).sum();
        sum_sq += norm2;
        let inv = if norm2 > 0.0 {
            n_unit += 1.0;
            norm2.sqrt().recip()
        } else {
            0.0
        };
        for ((u, s), v) in sum_u.iter_mut().zip(sum_x.iter_mut()).zip(&c) {
            *u += v * inv;
            *s += v;
        }
    }
    let rf = r as f64;
    let pair_cos = (sum_u.dot(&sum_u) - n_unit) / (rf * (rf - 1.0));
    // sum_{i != j} ||x_i - x_j||^2 = 2 R sum ||x_i||^2 - 2 ||sum x_i||^2 (any centre).
    let pair_sq = (2.0 * rf * sum_sq - 2.0 * sum_x.dot(&sum_x)) / (rf * (rf - 1.0));
    Ok(Diversity {
        cosine: 1.0 - pair_cos,
        rms_pairwise_distance: pair_sq.max(0.0).sqrt(),
    })
}

impl DiversityReport {
    /// Diversity of `G` and `Phi_K` (and `Phi_1`), all centred on the mean of `Phi_K`.
    pub fn new(
        features: &str,
        phi_k: ArrayView2<f32>,
        g: ArrayView2<f32>,
        phi_1: Option<ArrayView2<f32>>,
    ) -> Result<Self> {
        let centre = phi_k
            .mean_axis(Axis(0))
            .ok_or(AnalysisError::TooFewSamples {
                what: "diversity",
                needed: 2,
                got: 0,
            })?;
        let teacher = diversity(phi_k, centre.view())?;
        let student = diversity(g, centre.view())?;
        let teacher_one_step = phi_1.map(|p| diversity(p, centre.view())).transpose()?;
        Ok(DiversityReport {
            features: features.into(),
            n: g.nrows(),
            student,
            teacher,
            teacher_one_step,
            relative: student.cosine / teacher.cosine.max(f64::MIN_POSITIVE),
        })
    }

    /// The student's RMS pairwise distance over the teacher's: below 1 when the student's
    /// samples are less spread out than its teacher's.
    pub fn spread_ratio(&self) -> f64 {
        self.student.rms_pairwise_distance
            / self.teacher.rms_pairwise_distance.max(f64::MIN_POSITIVE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    /// Brute force over all pairs, for the closed forms above.
    fn brute(x: ArrayView2<f32>, centre: ArrayView1<f32>) -> Diversity {
        let c: Vec<Vec<f64>> = x
            .axis_iter(Axis(0))
            .map(|r| {
                r.iter()
                    .zip(centre)
                    .map(|(&a, &b)| f64::from(a) - f64::from(b))
                    .collect()
            })
            .collect();
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let (mut cos, mut sq, mut pairs) = (0.0, 0.0, 0.0);
        for i in 0..c.len() {
            for j in 0..c.len() {
                if i == j {
                    continue;
                }
                let dot: f64 = c[i].iter().zip(&c[j]).map(|(a, b)| a * b).sum();
                let (ni, nj) = (norm(&c[i]), norm(&c[j]));
                cos += if ni > 0.0 && nj > 0.0 {
                    dot / (ni * nj)
                } else {
                    0.0
                };
                sq += c[i]
                    .iter()
                    .zip(&c[j])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>();
                pairs += 1.0;
            }
        }
        Diversity {
            cosine: 1.0 - cos / pairs,
            rms_pairwise_distance: (sq / pairs).sqrt(),
        }
    }

    #[test]
    fn closed_form_matches_all_pairs() {
        let x: Array2<f32> =
            Array2::from_shape_fn((9, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.3 - 1.0);
        let centre = array![0.1f32, -0.2, 0.0, 0.3, 0.05];
        let (a, b) = (
            diversity(x.view(), centre.view()).unwrap(),
            brute(x.view(), centre.view()),
        );
        assert!((a.cosine - b.cosine).abs() < 1e-12, "{a:?} vs {b:?}");
        assert!((a.rms_pairwise_distance - b.rms_pairwise_distance).abs() < 1e-9);
    }

    #[test]
    fn known_values() {
        // Two opposite points: cosine -1, so diversity 2; distance 2.
        let x = array![[1.0f32, 0.0], [-1.0, 0.0]];
        let d = diversity(x.view(), array![0.0f32, 0.0].view()).unwrap();
        assert!((d.cosine - 2.0).abs() < 1e-12 && (d.rms_pairwise_distance - 2.0).abs() < 1e-12);
        // A collapsed set (all samples equal, off the centre): diversity 0, distance 0.
        let x = array![[1.0f32, 2.0], [1.0, 2.0], [1.0, 2.0]];
        let d = diversity(x.view(), array![0.0f32, 0.0].view()).unwrap();
        assert!(d.cosine.abs() < 1e-12 && d.rms_pairwise_distance.abs() < 1e-12);
    }

    #[test]
    fn collapsed_student_scores_below_its_teacher() {
        // Teacher: points around a circle; student: the same seeds pulled onto two orthogonal
        // modes (mode collapse), so half of its pairs have cosine ~1 instead of ~0 on average.
        let n = 40;
        let phi_k = Array2::from_shape_fn((n, 2), |(i, j)| {
            let t = i as f32 / n as f32 * std::f32::consts::TAU;
            if j == 0 { t.cos() } else { t.sin() }
        });
        let g = Array2::from_shape_fn((n, 2), |(i, j)| {
            let first = i % 2 == 0;
            let jitter = 0.05 * phi_k[[i, 1]];
            match (first, j) {
                (true, 0) | (false, 1) => 1.0,
                _ => jitter,
            }
        });
        let r = DiversityReport::new("pixels", phi_k.view(), phi_k.view(), None).unwrap();
        assert!((r.relative - 1.0).abs() < 1e-12);
        let r = DiversityReport::new("pixels", phi_k.view(), g.view(), None).unwrap();
        assert!(
            r.student.cosine < r.teacher.cosine && r.relative < 1.0,
            "{r:?}"
        );
    }

    #[test]
    fn rejects_bad_input() {
        let c = array![0.0f32, 0.0];
        assert!(diversity(array![[1.0f32, 0.0]].view(), c.view()).is_err());
        assert!(
            diversity(
                array![[1.0f32, 0.0], [0.0, 1.0]].view(),
                array![0.0f32].view()
            )
            .is_err()
        );
        assert!(diversity(array![[f32::NAN, 0.0], [0.0, 1.0]].view(), c.view()).is_err());
    }
}
