//! The science of the report: the paper's claims, each with our numbers and a verdict from
//! [`crate::gates`].

use super::*;

/// One row of the claims table.
pub(super) struct Claim {
    pub(super) claim: &'static str,
    pub(super) paper: &'static str,
    pub(super) experiment: &'static str,
    pub(super) ours: String,
    pub(super) verdict: ClaimVerdict,
}

pub(super) fn fmt_de(m: &StudentMetrics) -> String {
    match &m.student().delta_e_interval {
        Some(ci) => format!(
            "{:.3} [{:.3}, {:.3}]",
            m.student().delta_e,
            ci.lower,
            ci.upper
        ),
        None => format!("{:.3}", m.student().delta_e),
    }
}

pub(super) fn fine(m: &StudentMetrics) -> f64 {
    m.pairing()
        .student_vs_fine
        .as_ref()
        .map_or(f64::NAN, |d| d.delta_e)
}

pub(super) fn remapped(m: &StudentMetrics) -> f64 {
    m.pairing()
        .fully_remapped
        .as_ref()
        .map_or(f64::NAN, |d| d.delta_e)
}

/// A claim that needs a student the verdict rule reads: `holds` when its gates pass, the
/// gate's reason otherwise ([`crate::gates::pairing_verdict`]).
pub(super) fn gated(m: &StudentMetrics, holds: bool) -> ClaimVerdict {
    crate::gates::claim_from_verdict(student_verdict(m), |_| holds)
}

/// The verdict's evidence in words: the fresh-seed copy score and equivalent angle of the
/// student and of `Phi_1`, at which `N` and over how many blocks.
pub(super) fn fmt_evidence(m: &StudentMetrics) -> String {
    let Some(e) = &m.evidence else {
        return "no fresh-seed evidence (older analysis)".into();
    };
    let angle = |a: &Option<crate::pipeline::controls::AngleInterval>| {
        a.map_or("n/a".into(), |a| {
            format!("{} [{}, {}]", a.estimate, a.lower, a.upper)
        })
    };
    format!(
        "{}copy score {} angle {}; Phi_1: copy score {} angle {}; {} (N = {}, {} fresh-seed blocks)",
        if e.within_class { "within class: " } else { "" },
        e.student.copy_score,
        angle(&e.student_angle),
        e.teacher_one_step.copy_score,
        angle(&e.teacher_one_step_angle),
        if e.moved {
            "moved"
        } else {
            "not moved from Phi_1"
        },
        e.n,
        e.replicates
    )
}

pub(super) fn last(l: Option<&Loaded>) -> Option<&StudentMetrics> {
    l.and_then(|l| l.students.iter().max_by_key(|m| m.snapshot))
}

/// One claim row: `result` is `(ours, verdict)`, or `None` when the experiment did not run.
pub(super) fn claim(
    claim: &'static str,
    paper: &'static str,
    experiment: &'static str,
    result: Option<(String, ClaimVerdict)>,
) -> Claim {
    let (ours, verdict) = result.unwrap_or_else(|| ("not run".into(), ClaimVerdict::NotRun));
    Claim {
        claim,
        paper,
        experiment,
        ours,
        verdict,
    }
}

pub(super) fn claims(r: &BTreeMap<String, Loaded>, failed: &[String]) -> Vec<Claim> {
    let remap = |name: &str| {
        last(r.get(name)).map(|m| {
            (
                format!(
                    "Delta_E(Phi_{}) {}; vs Phi_{}: {:.2}; {}",
                    m.pairing().k,
                    fmt_de(m),
                    m.pairing().fine_k.unwrap_or(0),
                    fine(m),
                    fmt_evidence(m)
                ),
                pairing_claim(student_verdict(m), Pairing::Remapping),
            )
        })
    };
    let copy = |name: &str| {
        last(r.get(name)).map(|m| {
            (
                format!(
                    "Delta_E {} (remapped control {:.2}); {}",
                    fmt_de(m),
                    remapped(m),
                    fmt_evidence(m)
                ),
                pairing_claim(student_verdict(m), Pairing::Copying),
            )
        })
    };
    let mut snaps: Vec<&StudentMetrics> = r
        .get("mnist-snapshots")
        .map(|l| l.students.iter().collect())
        .unwrap_or_default();
    snaps.sort_by_key(|m| m.snapshot);
    let (first_snapshot, trend) = match (snaps.first(), snaps.last()) {
        (Some(first), Some(lastm)) if snaps.len() >= 2 => {
            let verdicts: Vec<Verdict> = snaps.iter().map(|m| student_verdict(m)).collect();
            let series: Vec<String> = snaps
                .iter()
                .zip(&verdicts)
                .map(|(m, v)| {
                    let angle = m
                        .evidence
                        .as_ref()
                        .and_then(|e| e.student_angle)
                        .map_or(String::new(), |a| format!(", angle {}", a.estimate));
                    let excluded = if matches!(v, Verdict::Pairing { .. }) {
                        String::new()
                    } else {
                        format!(" ({v}: excluded)")
                    };
                    format!(
                        "{}: {:.3}{angle}{excluded}",
                        m.snapshot,
                        m.student().delta_e
                    )
                })
                .collect();
            // The trend reads only the snapshots whose gates pass.
            let trend = match crate::gates::readable_points(&verdicts) {
                Ok(kept) => {
                    let xs: Vec<f64> = kept.iter().map(|&i| snaps[i].snapshot as f64).collect();
                    let ys: Vec<f64> = kept.iter().map(|&i| snaps[i].student().delta_e).collect();
                    let rho = dmd_analysis::spearman(&xs, &ys)
                        .map(|c| c.r)
                        .unwrap_or(f64::NAN);
                    let rho_text = if rho.is_nan() {
                        "undefined (all values tied)".to_string()
                    } else {
                        format!("{rho:.2}")
                    };
                    let (a, b) = (snaps[kept[0]], snaps[kept[kept.len() - 1]]);
                    (
                        format!(
                            "{}; Spearman rho over the {} gated-in snapshots {rho_text}",
                            series.join(", "),
                            kept.len()
                        ),
                        claim_verdict(true, rho < 0.0 && b.student().delta_e < a.student().delta_e),
                    )
                }
                Err(why) => (
                    format!(
                        "{}; fewer than two snapshots pass their gates: no trend is read",
                        series.join(", ")
                    ),
                    why,
                ),
            };
            // "Weaker copying at the earliest snapshot" compares it with the last: both gated.
            let ends = [verdicts[0], verdicts[verdicts.len() - 1]];
            let weaker = crate::gates::readable_points(&ends).map_or_else(
                |why| why,
                |_| claim_verdict(true, first.student().delta_e > lastm.student().delta_e),
            );
            (
                Some((format!("{} ({} it)", fmt_de(first), first.snapshot), weaker)),
                Some(trend),
            )
        }
        _ => (None, None),
    };
    let uncond = last(r.get("mnist-uncond"));
    let memorisation = uncond
        .and_then(|m| m.metrics.memorisation.as_ref().map(|mem| (m, mem)))
        .map(|(m, mem)| {
            (
                format!(
                    "memorised fraction {:.4} of {} (median r {:.2})",
                    mem.memorised_fraction, mem.n, mem.median_ratio
                ),
                // A property of the teacher: read only from a teacher that passes its gate.
                if crate::gates::teacher_gate(m) {
                    claim_verdict(true, mem.memorised_fraction < MEMORISED_FRACTION_MAX)
                } else {
                    ClaimVerdict::Uninformative
                },
            )
        });
    let correlation = uncond.and_then(|m| {
        let c = m
            .metrics
            .displacement
            .as_ref()?
            .delta_vs_distance_to_train
            .as_ref()?;
        let rank = m
            .metrics
            .displacement
            .as_ref()
            .and_then(|d| d.partner_rank_vs_distance_to_train.as_ref())
            .map_or(String::new(), |r| {
                format!(
                    "; but delta(z) contains -||Phi_1 - Phi_K||, which grows with D(z): the partner rank (no Phi_1 term) gives Spearman {:.3} (p {:.1e})",
                    r.spearman.r, r.spearman.p_value
                )
            });
        Some((
            format!(
                "Pearson {:.3} (p {:.1e}), Spearman {:.3} (p {:.1e}){rank}",
                c.pearson.r, c.pearson.p_value, c.spearman.r, c.spearman.p_value
            ),
            // delta(z) is the student's displacement: read only when its gates pass.
            gated(m, c.pearson.r < 0.0 && c.pearson.p_value < CORRELATION_P_MAX),
        ))
    });
    let gan = uncond.zip(last(r.get("mnist-gan"))).map(|(off, on)| {
        (
            format!(
                "GAN off: {} ({}); GAN on: {} ({})",
                student_verdict(off),
                fmt_de(off),
                student_verdict(on),
                fmt_de(on)
            ),
            pairing_claim(student_verdict(off), Pairing::Copying),
        )
    });
    let mut rows = vec![
        claim(
            "low-D chessboard (R^4): the student remaps",
            "Delta_E = 8.55",
            "chessboard-r4",
            remap("chessboard-r4"),
        ),
        claim(
            "double moons (R^4): remapping",
            "remaps (Fig. 8)",
            "moons-r4",
            remap("moons-r4"),
        ),
        claim(
            "32-component GMM (R^4): remapping",
            "remaps (Fig. 8)",
            "gmm32-r4",
            remap("gmm32-r4"),
        ),
        claim(
            "unconditional MNIST (teacher 8192 it): copying",
            "Delta_E = 0.0367",
            "mnist-uncond",
            copy("mnist-uncond"),
        ),
        claim(
            "MNIST, earliest teacher snapshot: weaker copying",
            "Delta_E = 1.05 (1024 it)",
            "mnist-snapshots",
            first_snapshot,
        ),
        claim(
            "Delta_E decreases as the teacher converges",
            "decreasing over 1024..8192 it (Fig. 7)",
            "mnist-snapshots",
            trend,
        ),
        claim(
            "class-conditional MNIST: copying",
            "copies (Fig. 9)",
            "mnist-cond",
            copy("mnist-cond"),
        ),
        claim(
            "MLP-manifold (16-D in 1024-D), conditional: copying",
            "copies (Fig. 9)",
            "mlp-manifold-cond",
            copy("mlp-manifold-cond"),
        ),
        claim(
            "the teacher does not memorise (r = d1/d2 < 1/3 is rare)",
            "no memorisation (Fig. 5)",
            "mnist-uncond",
            memorisation,
        ),
        claim(
            "delta(z) correlates negatively with D(z)",
            "negative (Fig. 6)",
            "mnist-uncond",
            correlation,
        ),
        claim(
            "copying does not come from the GAN term",
            "copies without GAN (Sec. 4.3)",
            "mnist-uncond vs mnist-gan",
            gan,
        ),
    ];
    // A claim whose experiment failed says so, rather than "not run".
    for c in &mut rows {
        let names = c.experiment.split(" vs ");
        if c.verdict == ClaimVerdict::NotRun
            && names.into_iter().any(|n| failed.iter().any(|f| f == n))
        {
            c.ours = "failed".into();
            c.verdict = ClaimVerdict::ExperimentFailed;
        }
    }
    rows
}
