//! One experiment's section: its per-snapshot table, fit and teacher numbers, figures.

use super::claims::{fine, fmt_de, remapped};
use super::*;

pub(super) fn experiment_section(md: &mut String, out: &Path, l: &Loaded) -> Result<()> {
    let s = &l.summary;
    writeln!(md, "### {}\n", s.name)?;
    writeln!(
        md,
        "profile `{}`; teacher training {:.1} min; students {:.1} min; experiment {:.1} min in its last invocation (finished stages are reused).\n",
        s.profile,
        s.teacher_wall_s / 60.0,
        s.snapshots.iter().map(|x| x.distill_wall_s).sum::<f64>() / 60.0,
        s.wall_s / 60.0
    )?;
    let autocast: Vec<&str> = [
        (s.teacher_autocast, "teacher training (`teacher.autocast`)"),
        (s.distill_autocast, "distillation (`distill.autocast`)"),
    ]
    .iter()
    .filter(|(p, _)| !p.is_f32())
    .map(|(_, what)| *what)
    .collect();
    if !autocast.is_empty() {
        writeln!(
            md,
            "**bf16 autocast** in the forward passes of {}; the samples the measurements use are drawn in f32.\n",
            autocast.join(" and ")
        )?;
    }
    writeln!(
        md,
        "| snapshot | Delta_E(Phi_K, G) | Delta_E(Phi_fine, G) | Delta_E(Phi_K, Phi_1) | remapped control | copy score | SW2 to Phi_fine: G / Phi_1 / floor | gap left | fit |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|")?;
    for m in &l.students {
        let sw = m.metrics.sliced_w2.as_ref();
        writeln!(
            md,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.4} / {:.4} / {:.4} | {:.0}% | {} |",
            m.snapshot,
            fmt_de(m),
            fine(m),
            m.pairing()
                .teacher_one_step
                .as_ref()
                .map_or(f64::NAN, |d| d.delta_e),
            remapped(m),
            m.student().copy_score,
            m.fit.sw2_student_fine,
            m.fit.sw2_teacher_one_step_fine,
            sw.and_then(|s| s.floor).unwrap_or(f64::NAN),
            100.0 * m.fit.gap_remaining,
            m.fit.status
        )?;
    }
    evidence_table(md, l)?;
    trajectory_table(md, out, l)?;
    for m in &l.students {
        for f in &m.metrics.frechet {
            writeln!(
                md,
                "\nFrechet distance ({}, snapshot {}): student {:.4}, Phi_1 {:.4}, floor {:.4}.",
                f.space,
                m.snapshot,
                f.student,
                f.teacher_one_step.unwrap_or(f64::NAN),
                f.floor.unwrap_or(f64::NAN)
            )?;
        }
        if let Some(acc) = m.classifier_test_accuracy {
            writeln!(
                md,
                "(MNIST feature classifier test accuracy {:.2}%.)",
                100.0 * acc
            )?;
        }
    }
    for m in &l.students {
        if let Some(t) = &m.teacher_fit {
            writeln!(
                md,
                "\nTeacher fit to the data (snapshot {}): sliced W2 to the training data {:.2}x the data's own floor; nearest-training-point distance {}x the training points' own.",
                m.snapshot,
                t.ratio,
                t.nn_ratio.map_or("-".into(), |r| format!("{r:.2}"))
            )?;
            if let Some(c) = &t.classifier {
                writeln!(
                    md,
                    "Through the MNIST classifier: {:.1}% of the teacher's samples are confidently a digit (training images {:.1}%), class shares {:.3} from the data's (total variation), feature Frechet distance {:.2} against the data's own floor {:.2}: the gate {}.",
                    100.0 * c.teacher_confident,
                    100.0 * c.data_confident,
                    c.class_tv,
                    c.fd_teacher_data,
                    c.fd_data_floor,
                    if crate::gates::classifier_ok(c) {
                        "passes"
                    } else {
                        "fails (the teacher is not converged)"
                    }
                )?;
            }
        }
    }
    if let Some(sup) = l.students.last().and_then(|m| m.support.as_ref()) {
        writeln!(
            md,
            "\nOn the data's support: training data {:.1}%, teacher Phi_fine {:.1}%, Phi_K {:.1}%, student {:.1}%.",
            100.0 * sup.data.fraction_on_support,
            100.0 * sup.teacher_fine.fraction_on_support,
            100.0 * sup.teacher_k.fraction_on_support,
            100.0 * sup.student.fraction_on_support
        )?;
    }
    let fig_dir = out.join(&s.name).join("figures");
    if let Ok(entries) = std::fs::read_dir(&fig_dir) {
        let mut figs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        figs.sort();
        writeln!(md)?;
        for f in figs {
            let rel = f.strip_prefix(out).unwrap_or(&f);
            writeln!(
                md,
                "![{}]({})",
                f.file_stem().unwrap_or_default().to_string_lossy(),
                rel.display()
            )?;
        }
    }
    writeln!(md)?;
    Ok(())
}

/// The verdict's evidence per snapshot: the student and `Phi_1` over fresh-seed blocks, their
/// equivalent angles on the remapping ruler, which angles the copy score resolves, the
/// finite-N curve, and the verdict.
fn evidence_table(md: &mut String, l: &Loaded) -> Result<()> {
    let with: Vec<&StudentMetrics> = l.students.iter().filter(|m| m.evidence.is_some()).collect();
    let Some(first) = with.first().and_then(|m| m.evidence.as_ref()) else {
        return Ok(());
    };
    writeln!(
        md,
        "\nPairing evidence{}: means and 95% t-intervals over {} disjoint blocks of N = {} fresh seeds (evaluation seeds, one training run); equivalent angle = where E_DT / E_rand puts the student on this teacher's remapping ruler.\n",
        if first.within_class {
            " (within class: only same-label pairs)"
        } else {
            ""
        },
        first.replicates,
        first.n
    )?;
    writeln!(
        md,
        "| snapshot | who | Delta_E | copy score | E_DT / E_rand | equivalent angle | verdict |\n|---|---|---|---|---|---|---|"
    )?;
    let angle = |a: Option<crate::pipeline::controls::AngleInterval>| {
        a.map_or("n/a".to_string(), |a| {
            format!("{} [{}, {}]", a.estimate, a.lower, a.upper)
        })
    };
    for m in &with {
        let e = m.evidence.as_ref().expect("filtered");
        for (who, p, a, verdict) in [
            (
                "student G",
                &e.student,
                e.student_angle,
                student_verdict(m).to_string(),
            ),
            (
                "Phi_1 (its start)",
                &e.teacher_one_step,
                e.teacher_one_step_angle,
                "-".to_string(),
            ),
        ] {
            writeln!(
                md,
                "| {} | {who} | {} | {} | {} | {} | {verdict} |",
                m.snapshot,
                p.delta_e,
                p.copy_score,
                p.dt_ratio,
                angle(a),
            )?;
        }
    }
    for m in &with {
        let e = m.evidence.as_ref().expect("filtered");
        let ruler: Vec<String> = e
            .ruler
            .points
            .iter()
            .map(|p| {
                format!(
                    "{:.2}: {:.3} / {:.3}",
                    p.theta, p.pairing.copy_score, p.dt_ratio
                )
            })
            .collect();
        writeln!(
            md,
            "\nRuler (snapshot {}, theta: copy score / E_DT over E_rand): {}. The copy score tells a copy from a rotation of {} at this D and N.",
            m.snapshot,
            ruler.join("; "),
            e.copy_score_resolution
                .map_or("no ruler angle".to_string(), |t| format!(
                    "{t:.2} rad or more"
                ))
        )?;
        if !e.n_curve.is_empty() {
            let curve: Vec<String> = e
                .n_curve
                .iter()
                .map(|p| {
                    format!(
                        "N = {}: Delta_E {}, copy score {}",
                        p.n, p.delta_e, p.copy_score
                    )
                })
                .collect();
            let large_n = match (e.delta_e_large_n, e.copy_score_large_n) {
                (Some(d), Some(c)) => format!(
                    " Extrapolated to large N (least-squares fit of a + b N^-alpha to the means; a trend, not a measurement): Delta_E {:.3} (alpha {:.2}, rms residual {:.1e}), copy score {:.3} (alpha {:.2}).",
                    d.limit, d.alpha, d.rms_residual, c.limit, c.alpha
                ),
                _ => String::new(),
            };
            writeln!(
                md,
                "\nFinite N (snapshot {}; E_OT falls as N grows, so Delta_E of one pair of models rises with N): {}.{large_n}",
                m.snapshot,
                curve.join("; ")
            )?;
        }
    }
    Ok(())
}

/// Rows of the pairing-over-training table: the first, the last and evenly spaced between.
const TRAJECTORY_ROWS: usize = 6;

/// Pairing over training per snapshot (from `snapshot-*/trajectory.jsonl`): a few points of
/// the trajectory and the probe's share of the distillation's wall time.
fn trajectory_table(md: &mut String, out: &Path, l: &Loaded) -> Result<()> {
    for m in &l.students {
        let dir = out
            .join(&l.summary.name)
            .join(format!("snapshot-{:06}", m.snapshot));
        let Some(points) = crate::pipeline::trajectory::read(&dir)? else {
            continue;
        };
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            continue;
        };
        let probe_s: f64 = points.iter().map(|p| p.probe_s).sum();
        writeln!(
            md,
            "\nPairing over training (snapshot {}): {} points on a fixed panel of {}seeds, iterations {} to {}; measuring took {:.1} s of the run's {:.0} s ({:.1}%).\n",
            m.snapshot,
            points.len(),
            match first.measures.n {
                0 => String::new(),
                n => format!("{n} "),
            },
            first.iteration,
            last.iteration,
            probe_s,
            last.wall_s,
            100.0 * probe_s / last.wall_s.max(f64::MIN_POSITIVE)
        )?;
        writeln!(
            md,
            "| iteration | sum lr | equivalent angle | copy score | Delta_E | E_DT / E_rand | fit SW2 / floor | DM loss |"
        )?;
        writeln!(md, "|---|---|---|---|---|---|---|---|")?;
        let k = points.len();
        let mut rows: Vec<usize> = (0..TRAJECTORY_ROWS)
            .map(|i| i * (k - 1) / (TRAJECTORY_ROWS - 1).max(1))
            .collect();
        rows.dedup();
        for i in rows {
            let p = &points[i];
            let q = &p.measures;
            writeln!(
                md,
                "| {} | {:.3e} | {} | {:.3} | {:.4} | {:.3} | {:.2} | {} |",
                p.iteration,
                p.cumulative_lr,
                q.angle.map_or("-".into(), |a| a.to_string()),
                q.copy_score,
                q.delta_e,
                q.dt_ratio,
                q.fit_sw2 / q.fit_floor_sw2.max(f64::MIN_POSITIVE),
                p.dm_loss.map_or("-".into(), |v| format!("{v:.4}"))
            )?;
        }
    }
    Ok(())
}
