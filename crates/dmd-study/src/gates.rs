//! Every gate and threshold of the study, as typed values, and the one place every verdict is
//! decided. The claims table ([`crate::report`]), the sweep tables ([`crate::sweep::table`])
//! and the phase diagram all call these functions; none compares a verdict string or repeats
//! a threshold.
//!
//! | gate | rule | where it is used |
//! |---|---|---|
//! | student fit ([`fit_verdict`]) | the student left at most `eval.fit_gap_max` of its initial sliced-W2 gap to the fine teacher reference, and the gap was real (`SW2(Phi_1, Phi_fine) > `[`NO_GAP_FLOOR_FACTOR`]` x floor`) | metrics, claims, sweeps |
//! | teacher support ([`TEACHER_SUPPORT_MIN`]) | toy data: `Phi_32` on the support at least this share of the data's own rate | sweeps |
//! | teacher fit ([`TEACHER_FIT_MAX`]) | any data: `SW2(Phi_fine, data)` at most this many times `SW2(data, data')` | sweeps, phase diagram |
//! | MNIST teacher through the classifier ([`classifier_ok`]) | confidently classified share at least [`TEACHER_CONFIDENT_MIN`] of the data's, class shares within [`TEACHER_CLASS_TV_MAX`] | every verdict ([`teacher_gate`]) |
//! | the one verdict ([`pairing_verdict`]): teacher gate, fit and movement, then copying / remapping from the copy score ([`COPY_SCORE_COPYING`], [`COPY_SCORE_REMAPPING`]) and the equivalent angle on the remapping ruler ([`THETA_COPY`], [`THETA_REMAP`]) | intervals over fresh seeds (a student) or training seeds (a sweep cell) | claims, sweeps, phase diagram |
//! | memorisation ([`MEMORISED_FRACTION_MAX`]) | share of teacher samples with `d1/d2 < 1/3` | claims |
//! | correlation ([`CORRELATION_P_MAX`]) | Pearson p-value of `delta(z)` against `D(z)` | claims |

use serde::{Deserialize, Serialize};
use std::fmt;

/// A copy score interval whose lower end is at least this is needed for copying.
pub const COPY_SCORE_COPYING: f64 = 0.9;
/// A copy score interval whose upper end is below this is remapping.
pub const COPY_SCORE_REMAPPING: f64 = 0.5;
/// `Phi_1` matching the fine reference within this many noise floors means the student had
/// nothing to learn ([`FitVerdict::NoGap`]).
pub const NO_GAP_FLOOR_FACTOR: f64 = 2.0;
/// Teacher quality gate on toy data: `on_support(Phi_32) >= TEACHER_SUPPORT_MIN *
/// on_support(data)`.
pub const TEACHER_SUPPORT_MIN: f64 = 0.75;
/// Teacher quality gate on any data: `SW2(Phi_fine, data)` at most this many times the floor
/// `SW2(data, data')` ([`crate::schema::TeacherFit::ratio`]). Learnt teachers score
/// 1.0-1.6 in our `cpu` runs (MNIST 1.2-1.6, the image manifolds 1.0-1.6, the vector manifold
/// up to D = 64 1.1-2.0); the MLP in R^256 that failed to learn the vector manifold scores
/// 6-9. The nearest-neighbour precision ratio is reported beside it but not gated on: it grows
/// with the data's density (60,000 points on a 2-D manifold sit so close together that a
/// teacher a small absolute distance off the manifold scores 6).
pub const TEACHER_FIT_MAX: f64 = 2.0;
/// A classifier probability at least this makes a sample "confidently a digit".
pub const CONFIDENT_PROBABILITY: f64 = 0.9;
/// MNIST teacher gate: its share of confidently classified samples at least this fraction of
/// the training images' own share (ours: a teacher drawing mostly scribbles fails it).
pub const TEACHER_CONFIDENT_MIN: f64 = 0.8;
/// MNIST teacher gate: the total-variation distance between its predicted class shares and
/// the training images' at most this (ours; sampling noise alone at N = 1000 is about 0.04).
pub const TEACHER_CLASS_TV_MAX: f64 = 0.15;

/// The teacher memorises when more than this share of its samples has `r = d1/d2 < 1/3`.
pub const MEMORISED_FRACTION_MAX: f64 = 0.01;
/// A correlation counts when its p-value is below this.
pub const CORRELATION_P_MAX: f64 = 0.05;
/// Confidence level of the intervals over seeds.
pub const LEVEL: f64 = 0.95;

/// Whether a student learnt its teacher's distribution (stored in `metrics.json` as
/// `"converged"`, `"not converged"` or `"no gap"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FitVerdict {
    /// The initial gap was real and at most `eval.fit_gap_max` of it is left.
    #[serde(rename = "converged")]
    Converged,
    /// More than `eval.fit_gap_max` of the initial gap is left.
    #[serde(rename = "not converged")]
    NotConverged,
    /// `Phi_1` already matches the fine reference within twice the noise floor: the student had
    /// nothing to learn and its Delta_E says nothing about distillation.
    #[serde(rename = "no gap")]
    NoGap,
}

impl fmt::Display for FitVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Converged => "converged",
            Self::NotConverged => "not converged",
            Self::NoGap => "no gap",
        })
    }
}

/// The student-fit gate: `sw2_one_step = SW2(Phi_1, Phi_fine)`, `floor` the sampling noise
/// floor, `gap_remaining` the share of the initial gap left, `fit_gap_max` from `[eval]`.
pub fn fit_verdict(
    sw2_one_step: f64,
    floor: f64,
    gap_remaining: f64,
    fit_gap_max: f64,
) -> FitVerdict {
    if sw2_one_step <= NO_GAP_FLOOR_FACTOR * floor {
        FitVerdict::NoGap
    } else if gap_remaining <= fit_gap_max {
        FitVerdict::Converged
    } else {
        FitVerdict::NotConverged
    }
}

/// The teacher-quality gate: support ratio (toy data) and sliced-W2 fit ratio (any data),
/// each checked when measured.
pub fn teacher_ok(support_ratio: Option<f64>, fit_ratio: Option<f64>) -> bool {
    support_ratio.is_none_or(|r| r >= TEACHER_SUPPORT_MIN)
        && fit_ratio.is_none_or(|r| r <= TEACHER_FIT_MAX)
}

/// The MNIST part of the teacher gate: confidently classified samples at least
/// [`TEACHER_CONFIDENT_MIN`] of the data's share, class proportions within
/// [`TEACHER_CLASS_TV_MAX`].
pub fn classifier_ok(c: &crate::pipeline::analyze::ClassifierCheck) -> bool {
    c.teacher_confident >= TEACHER_CONFIDENT_MIN * c.data_confident
        && c.class_tv <= TEACHER_CLASS_TV_MAX
}

/// Whether a sweep point counts: its student converged and its teacher passed the gate.
pub fn point_counts(fit: FitVerdict, teacher_ok: bool) -> bool {
    fit == FitVerdict::Converged && teacher_ok
}

/// The pairing part of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// The student keeps the teacher's pairing.
    Copying,
    /// The student pairs noise and samples differently.
    Remapping,
    /// Neither threshold is met.
    InBetween,
}

/// Why a student's pairing is not read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotConverged {
    /// More than `eval.fit_gap_max` of its initial distribution gap is left.
    Fit {
        /// The share of the initial gap left.
        gap_remaining: f64,
    },
    /// Its pairing measures cannot tell it from its starting point `Phi_1`.
    NotMoved,
}

/// The one verdict of the study on a student (or a sweep cell of students), decided by
/// [`pairing_verdict`] and used by the claims table, the sweep tables and the phase diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// A pairing verdict on a fitted, moved student of a converged teacher.
    Pairing {
        /// What the pairing measures say.
        pairing: Pairing,
    },
    /// The student did not learn the teacher's distribution, or did not move.
    StudentNotConverged {
        /// Why.
        why: NotConverged,
    },
    /// The teacher failed its gate, or `Phi_1` already matched it (nothing to learn).
    TeacherNotConverged,
    /// Measured by an older analysis without the evidence the rule needs.
    NotMeasured,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pairing { pairing } => f.write_str(match pairing {
                Pairing::Copying => "copying",
                Pairing::Remapping => "remapping",
                Pairing::InBetween => "in between",
            }),
            Self::StudentNotConverged {
                why: NotConverged::Fit { gap_remaining },
            } => write!(
                f,
                "student not converged (gap {:.0}%)",
                100.0 * gap_remaining
            ),
            Self::StudentNotConverged {
                why: NotConverged::NotMoved,
            } => f.write_str("student not converged (not moved from Phi_1)"),
            Self::TeacherNotConverged => f.write_str("teacher not converged"),
            Self::NotMeasured => f.write_str("not measured (older analysis)"),
        }
    }
}

/// A student's equivalent remapping angle (radians) at most this counts as copying: within
/// 22.5 degrees of the teacher's pairing. On the remapping ruler the copy score and `Delta_E`
/// cannot tell such students from an exact copy at image dimension (`cargo test -p
/// dmd-analysis --test controls`: copy score 1.0000 up to 0.4 rad at D = 1024, N = 1000), so
/// the angle, read from `E_DT / E_rand`, decides.
pub const THETA_COPY: f64 = std::f64::consts::FRAC_PI_8;
/// An equivalent angle of at least this (45 degrees) counts as remapping.
pub const THETA_REMAP: f64 = std::f64::consts::FRAC_PI_4;

/// What [`pairing_verdict`] reads: interval ends over fresh evaluation seeds (one student) or
/// over training seeds (a sweep cell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictEvidence {
    /// Copy score interval `(lower, upper)`.
    pub copy_score: Option<(f64, f64)>,
    /// Equivalent-angle interval `(lower, upper)` in radians. The angle is an upper bound on
    /// the remapping (a misfit raises `E_DT` too), so copying needs its upper end small.
    pub angle: Option<(f64, f64)>,
    /// The student's pairing measures tell it from `Phi_1`.
    pub moved: bool,
    /// The fit gate.
    pub fit: FitVerdict,
    /// The share of the initial distribution gap left.
    pub gap_remaining: f64,
    /// The teacher gate ([`teacher_ok`]).
    pub teacher_ok: bool,
}

/// The one verdict rule, in this order:
/// 1. teacher gate failed, or `Phi_1` already matched the teacher: teacher not converged;
/// 2. more than `eval.fit_gap_max` of the distribution gap left, or not moved from `Phi_1`:
///    student not converged;
/// 3. no evidence (an older `metrics.json`): not measured;
/// 4. remapping when the copy score's upper end is below [`COPY_SCORE_REMAPPING`] or the
///    angle's lower end is at least [`THETA_REMAP`];
/// 5. copying when the copy score's lower end is at least [`COPY_SCORE_COPYING`] and the
///    angle's upper end is at most [`THETA_COPY`];
/// 6. otherwise in between.
pub fn pairing_verdict(ev: &VerdictEvidence) -> Verdict {
    if !ev.teacher_ok || ev.fit == FitVerdict::NoGap {
        return Verdict::TeacherNotConverged;
    }
    if ev.fit == FitVerdict::NotConverged {
        return Verdict::StudentNotConverged {
            why: NotConverged::Fit {
                gap_remaining: ev.gap_remaining,
            },
        };
    }
    let (Some((c_lo, c_hi)), Some((a_lo, a_hi))) = (ev.copy_score, ev.angle) else {
        return Verdict::NotMeasured;
    };
    if !ev.moved {
        return Verdict::StudentNotConverged {
            why: NotConverged::NotMoved,
        };
    }
    let pairing = if c_hi < COPY_SCORE_REMAPPING || a_lo >= THETA_REMAP {
        Pairing::Remapping
    } else if c_lo >= COPY_SCORE_COPYING && a_hi <= THETA_COPY {
        Pairing::Copying
    } else {
        Pairing::InBetween
    };
    Verdict::Pairing { pairing }
}

/// Toy data: the teacher's `Phi_fine` on-support share over the data's own.
pub fn teacher_support_ratio(m: &crate::schema::StudentMetrics) -> Option<f64> {
    m.support
        .as_ref()
        .map(|s| s.teacher_fine.fraction_on_support / s.data.fraction_on_support.max(1e-12))
}

/// The teacher gate of one student's `metrics.json`: the support ratio (toy data) and the fit
/// ratio, as [`teacher_ok`] reads them.
pub fn teacher_gate(m: &crate::schema::StudentMetrics) -> bool {
    teacher_ok(
        teacher_support_ratio(m),
        m.teacher_fit.as_ref().map(|t| t.ratio),
    ) && m
        .teacher_fit
        .as_ref()
        .and_then(|t| t.classifier.as_ref())
        .is_none_or(classifier_ok)
}

/// The [`VerdictEvidence`] of one student: its fresh-seed copy-score and equivalent-angle
/// intervals (within-class on conditional data), whether it moved, its fit and its teacher's
/// gate.
pub fn student_evidence(m: &crate::schema::StudentMetrics) -> VerdictEvidence {
    let ev = m.evidence.as_ref();
    VerdictEvidence {
        copy_score: ev.map(|e| (e.student.copy_score.lower, e.student.copy_score.upper)),
        angle: ev
            .and_then(|e| e.student_angle)
            .map(|a| (a.lower.lower_bound(), a.upper.upper_bound())),
        moved: ev.is_some_and(|e| e.moved),
        fit: m.fit.status,
        gap_remaining: m.fit.gap_remaining,
        teacher_ok: teacher_gate(m),
    }
}

/// [`pairing_verdict`] of one student.
pub fn student_verdict(m: &crate::schema::StudentMetrics) -> Verdict {
    pairing_verdict(&student_evidence(m))
}

/// A claim read from a student's verdict: when the gates let its pairing be read, `holds`
/// (given that pairing) decides reproduced or not; otherwise the gate's reason.
pub fn claim_from_verdict(verdict: Verdict, holds: impl FnOnce(Pairing) -> bool) -> ClaimVerdict {
    match verdict {
        Verdict::Pairing { pairing } => match (holds(pairing), pairing) {
            (true, _) => ClaimVerdict::Reproduced,
            (false, Pairing::InBetween) => ClaimVerdict::InBetween,
            (false, _) => ClaimVerdict::NotReproduced,
        },
        Verdict::StudentNotConverged {
            why: NotConverged::Fit { gap_remaining },
        } => ClaimVerdict::StudentNotConverged(Some(gap_remaining)),
        Verdict::StudentNotConverged {
            why: NotConverged::NotMoved,
        } => ClaimVerdict::NotMoved,
        Verdict::TeacherNotConverged => ClaimVerdict::Uninformative,
        Verdict::NotMeasured => ClaimVerdict::NotRun,
    }
}

/// The points of a trend (one student each, in order) whose gates let their pairing be read:
/// their indices when at least two are left, else the claim verdict that the first excluded
/// point's gate gives ([`claim_from_verdict`]), so that a trend is never read from points a
/// gate excludes.
pub fn readable_points(verdicts: &[Verdict]) -> Result<Vec<usize>, ClaimVerdict> {
    let kept: Vec<usize> = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Verdict::Pairing { .. }))
        .map(|(i, _)| i)
        .collect();
    if kept.len() >= 2 {
        return Ok(kept);
    }
    Err(verdicts
        .iter()
        .find(|v| !matches!(v, Verdict::Pairing { .. }))
        .map_or(ClaimVerdict::NotRun, |v| claim_from_verdict(*v, |_| false)))
}

/// A claim that the student's pairing is `expected` ([`claim_from_verdict`]).
pub fn pairing_claim(verdict: Verdict, expected: Pairing) -> ClaimVerdict {
    claim_from_verdict(verdict, |p| p == expected)
}

/// The verdict of one claim of the paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClaimVerdict {
    /// The claim holds in our data, with converged students.
    Reproduced,
    /// The claim does not hold, with converged students.
    NotReproduced,
    /// The claim names a pairing, and the student's measures meet neither the copying nor
    /// the remapping threshold: not reproduced, and not contradicted either.
    InBetween,
    /// A student did not converge; `Some(gap)` gives the share of its initial gap left.
    StudentNotConverged(Option<f64>),
    /// The teacher failed its gate or `Phi_1` already matched it: the student had nothing
    /// (or the wrong thing) to learn.
    Uninformative,
    /// The student's pairing measures cannot tell it from its starting point `Phi_1`.
    NotMoved,
    /// The experiment did not run.
    NotRun,
    /// The experiment failed (its log in `results/logs/` says why).
    ExperimentFailed,
}

impl fmt::Display for ClaimVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reproduced => f.write_str("reproduced"),
            Self::NotReproduced => f.write_str("not reproduced"),
            Self::InBetween => f.write_str(
                "not reproduced: in between (neither the copying nor the remapping threshold is met)",
            ),
            Self::StudentNotConverged(None) => f.write_str("student not converged"),
            Self::StudentNotConverged(Some(gap)) => {
                write!(f, "student not converged (gap {:.0}%)", 100.0 * gap)
            }
            Self::Uninformative => f.write_str(
                "uninformative: teacher not converged (gate failed, or Phi_1 already matches Phi_K)",
            ),
            Self::NotMoved => f.write_str("student not converged (not moved from Phi_1)"),
            Self::NotRun => f.write_str("not run"),
            Self::ExperimentFailed => f.write_str("experiment failed (see its log)"),
        }
    }
}

/// A claim that needs converged students: `holds` is what the data say.
pub fn claim_verdict(converged: bool, holds: bool) -> ClaimVerdict {
    match (converged, holds) {
        (false, _) => ClaimVerdict::StudentNotConverged(None),
        (true, true) => ClaimVerdict::Reproduced,
        (true, false) => ClaimVerdict::NotReproduced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trend is read from the gated-in points only; with fewer than two, the first
    /// excluded point's gate is the claim's verdict (here: a failed teacher gate).
    #[test]
    fn trends_read_only_gated_in_points() {
        let read = Verdict::Pairing {
            pairing: Pairing::Copying,
        };
        let t = Verdict::TeacherNotConverged;
        assert_eq!(readable_points(&[t, read, t, read]), Ok(vec![1, 3]));
        assert_eq!(
            readable_points(&[t, t, t, read]),
            Err(ClaimVerdict::Uninformative)
        );
        let moved = Verdict::StudentNotConverged {
            why: NotConverged::NotMoved,
        };
        assert_eq!(readable_points(&[read, moved]), Err(ClaimVerdict::NotMoved));
        assert_eq!(readable_points(&[]), Err(ClaimVerdict::NotRun));
    }

    /// A pairing claim that meets neither threshold is its own verdict, not a contradiction.
    #[test]
    fn in_between_pairing_is_not_a_contradiction() {
        let v = |pairing| Verdict::Pairing { pairing };
        assert_eq!(
            pairing_claim(v(Pairing::InBetween), Pairing::Copying),
            ClaimVerdict::InBetween
        );
        assert_eq!(
            pairing_claim(v(Pairing::Remapping), Pairing::Copying),
            ClaimVerdict::NotReproduced
        );
        assert_eq!(
            pairing_claim(v(Pairing::Copying), Pairing::Copying),
            ClaimVerdict::Reproduced
        );
    }

    #[test]
    fn fit_verdict_orders_no_gap_before_convergence() {
        assert_eq!(fit_verdict(1.0, 0.6, 0.0, 0.2), FitVerdict::NoGap);
        assert_eq!(fit_verdict(1.0, 0.1, 0.2, 0.2), FitVerdict::Converged);
        assert_eq!(fit_verdict(1.0, 0.1, 0.21, 0.2), FitVerdict::NotConverged);
    }

    #[test]
    fn fit_verdict_round_trips_the_stored_strings() {
        for (v, s) in [
            (FitVerdict::Converged, "\"converged\""),
            (FitVerdict::NotConverged, "\"not converged\""),
            (FitVerdict::NoGap, "\"no gap\""),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), s);
            assert_eq!(serde_json::from_str::<FitVerdict>(s).unwrap(), v);
        }
    }

    fn evidence(copy: (f64, f64), angle: (f64, f64)) -> VerdictEvidence {
        VerdictEvidence {
            copy_score: Some(copy),
            angle: Some(angle),
            moved: true,
            fit: FitVerdict::Converged,
            gap_remaining: 0.05,
            teacher_ok: true,
        }
    }

    #[test]
    fn the_verdict_rule_checks_its_gates_in_order_then_the_pairing() {
        let pairing = |p| Verdict::Pairing { pairing: p };
        assert_eq!(
            pairing_verdict(&evidence((0.95, 1.0), (0.0, 0.3))),
            pairing(Pairing::Copying)
        );
        // The copy score alone is blind: a copy score of 1 with a 30-degree angle is not copying.
        assert_eq!(
            pairing_verdict(&evidence((0.99, 1.0), (0.2, 0.6))),
            pairing(Pairing::InBetween)
        );
        assert_eq!(
            pairing_verdict(&evidence((0.95, 1.0), (0.8, 0.9))),
            pairing(Pairing::Remapping)
        );
        assert_eq!(
            pairing_verdict(&evidence((0.2, 0.45), (0.1, 0.3))),
            pairing(Pairing::Remapping)
        );
        let mut ev = evidence((0.95, 1.0), (0.0, 0.3));
        ev.moved = false;
        assert_eq!(
            pairing_verdict(&ev).to_string(),
            "student not converged (not moved from Phi_1)"
        );
        ev.fit = FitVerdict::NotConverged;
        ev.gap_remaining = 0.364;
        assert_eq!(
            pairing_verdict(&ev).to_string(),
            "student not converged (gap 36%)"
        );
        ev.teacher_ok = false;
        assert_eq!(pairing_verdict(&ev), Verdict::TeacherNotConverged);
        let mut old = evidence((0.95, 1.0), (0.0, 0.3));
        old.angle = None;
        assert_eq!(pairing_verdict(&old), Verdict::NotMeasured);
        assert_eq!(
            pairing_claim(
                pairing_verdict(&evidence((0.95, 1.0), (0.0, 0.3))),
                Pairing::Remapping
            ),
            ClaimVerdict::NotReproduced
        );
    }

    #[test]
    fn claim_verdicts_print_as_the_report_states_them() {
        assert_eq!(
            ClaimVerdict::StudentNotConverged(Some(0.364)).to_string(),
            "student not converged (gap 36%)"
        );
        assert_eq!(
            claim_verdict(false, true).to_string(),
            "student not converged"
        );
        assert!(!teacher_ok(Some(0.7), None));
        assert!(!teacher_ok(None, Some(2.5)));
        assert!(teacher_ok(Some(0.8), Some(2.0)));
        assert!(point_counts(FitVerdict::Converged, true));
        assert!(!point_counts(FitVerdict::NoGap, true));
    }
}
