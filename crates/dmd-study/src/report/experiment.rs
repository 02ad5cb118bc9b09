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
