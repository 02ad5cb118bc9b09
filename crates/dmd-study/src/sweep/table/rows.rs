//! Gathering: one [`Row`] per finished point and teacher snapshot, with the gates of
//! [`crate::gates`] applied.

use super::*;

/// The rows of one point, `None` when it has not finished.
pub(super) fn read_point(
    p: &Point,
    cfg: &ExperimentConfig,
    dir: &Path,
) -> Result<Option<Vec<Row>>> {
    let summary_path = dir.join("summary.json");
    let Ok(text) = std::fs::read_to_string(&summary_path) else {
        return Ok(None);
    };
    let summary: ExperimentResult = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid; rerun the sweep", summary_path.display()))?;
    let mut rows = Vec::new();
    for s in &summary.snapshots {
        let path = dir.join(&s.metrics);
        let m: StudentMetrics = read_json(&path, "rerun the sweep")?;
        let pairing = m.pairing();
        let teacher_support_ratio = crate::gates::teacher_support_ratio(&m);
        let teacher_projected_support_ratio = m.support.as_ref().map(|s| {
            s.teacher_fine.fraction_projected_on_support
                / s.data.fraction_projected_on_support.max(1e-12)
        });
        let teacher_fit_ratio = m.teacher_fit.as_ref().map(|t| t.ratio);
        let teacher_ok = crate::gates::teacher_gate(&m);
        let evidence = m.evidence.as_ref().and_then(|e| {
            let a = e.student_angle?;
            let c = &e.student.copy_score;
            Some(RowEvidence {
                copy_score: (c.mean, c.lower, c.upper),
                angle: (
                    a.estimate.theta(),
                    a.lower.lower_bound(),
                    a.upper.upper_bound(),
                ),
                moved: e.moved,
            })
        });
        rows.push(Row {
            point: p.id.clone(),
            coords: p.coords.clone(),
            snapshot: s.snapshot,
            ambient_dim: cfg.data.dim(),
            intrinsic_dim: cfg.data.intrinsic_dim(),
            delta_e: pairing.student.delta_e,
            delta_e_bootstrap: pairing
                .student
                .delta_e_interval
                .as_ref()
                .map(|i| (i.lower, i.upper)),
            delta_e_fine: pairing.student_vs_fine.as_ref().map(|d| d.delta_e),
            copy_score: pairing.student.copy_score,
            copy_score_fine: pairing.student_vs_fine.as_ref().map(|d| d.copy_score),
            delta_e_fully_remapped: pairing.fully_remapped.as_ref().map(|d| d.delta_e),
            fit_status: m.fit.status,
            gap_remaining: m.fit.gap_remaining,
            teacher_support_ratio,
            teacher_projected_support_ratio,
            teacher_fit_ratio,
            teacher_nn_ratio: m.teacher_fit.as_ref().and_then(|t| t.nn_ratio),
            teacher_ok,
            diversity: m.metrics.diversity.as_ref().map(|d| d.student.cosine),
            diversity_relative: m.metrics.diversity.as_ref().map(|d| d.relative),
            spread_ratio: m.metrics.diversity.as_ref().map(|d| d.spread_ratio()),
            counts: crate::gates::point_counts(m.fit.status, teacher_ok),
            evidence,
            verdict: crate::gates::student_verdict(&m),
        });
    }
    Ok(Some(rows))
}
