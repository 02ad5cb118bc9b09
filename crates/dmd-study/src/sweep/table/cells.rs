//! Statistics: rows grouped into grid cells, summarised over the replicate axis.

use super::*;

/// The coordinates of a row without the replicate axis.
pub(super) fn factor_coords(
    sweep: &SweepConfig,
    coords: &[(String, String)],
) -> Vec<(String, String)> {
    coords
        .iter()
        .filter(|(a, _)| *a != sweep.replicate_axis)
        .cloned()
        .collect()
}

/// Groups rows by (factor coordinates, snapshot), in the order of the grid.
pub(super) fn summarise(sweep: &SweepConfig, rows: &[Row]) -> Vec<Cell> {
    let mut order: Vec<(Vec<(String, String)>, u64)> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let key = (factor_coords(sweep, &r.coords), r.snapshot);
        let i = order.iter().position(|k| *k == key).unwrap_or_else(|| {
            order.push(key.clone());
            order.len() - 1
        });
        groups.entry(i).or_default().push(r);
    }
    order
        .into_iter()
        .enumerate()
        .map(|(i, (coords, snapshot))| {
            let all = &groups[&i];
            let counted: Vec<&Row> = all.iter().copied().filter(|r| r.counts).collect();
            let use_rows = if counted.is_empty() {
                all.clone()
            } else {
                counted.clone()
            };
            let summ = |f: &dyn Fn(&Row) -> Option<f64>| {
                let v: Vec<f64> = use_rows.iter().filter_map(|r| f(r)).collect();
                replicate_summary(&v, LEVEL)
            };
            let mean_of = |f: &dyn Fn(&Row) -> Option<f64>| {
                let v: Vec<f64> = all.iter().filter_map(|r| f(r)).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            };
            Cell {
                coords,
                snapshot,
                n: all.len(),
                n_counted: counted.len(),
                // Bounded quantities keep their intervals inside their bounds.
                delta_e: summ(&|r| Some(r.delta_e)).map(|s| s.bounded(0.0, f64::INFINITY)),
                delta_e_fine: summ(&|r| r.delta_e_fine).map(|s| s.bounded(0.0, f64::INFINITY)),
                copy_score: summ(&|r| Some(r.copy_score))
                    .map(|s| s.bounded(f64::NEG_INFINITY, 1.0)),
                copy_score_fine: summ(&|r| r.copy_score_fine)
                    .map(|s| s.bounded(f64::NEG_INFINITY, 1.0)),
                diversity: summ(&|r| r.diversity),
                diversity_relative: summ(&|r| r.diversity_relative),
                spread_ratio: summ(&|r| r.spread_ratio),
                teacher_support_ratio: mean_of(&|r| r.teacher_support_ratio),
                teacher_fit_ratio: mean_of(&|r| r.teacher_fit_ratio),
                teacher_nn_ratio: mean_of(&|r| r.teacher_nn_ratio),
                verdict: cell_verdict(&counted, all),
            }
        })
        .collect()
}

/// The [`crate::gates::VerdictEvidence`] of a cell: with two or more counted rows, t-intervals
/// over their (training-seed) copy scores and equivalent angles, moved when all moved; with one,
/// its own fresh-seed intervals. `None` when no row counts or a counted row has no evidence.
pub(crate) fn cell_evidence(counted: &[&Row]) -> Option<crate::gates::VerdictEvidence> {
    let ev: Vec<RowEvidence> = counted.iter().map(|r| r.evidence).collect::<Option<_>>()?;
    let (copy_score, angle) = match ev.as_slice() {
        [] => return None,
        [one] => (
            (one.copy_score.1, one.copy_score.2),
            (one.angle.1, one.angle.2),
        ),
        many => {
            let t = |f: fn(&RowEvidence) -> f64, lo: f64, hi: f64| {
                let v: Vec<f64> = many.iter().map(f).collect();
                replicate_summary(&v, LEVEL).map(|s| {
                    let s = s.bounded(lo, hi);
                    (s.lower, s.upper)
                })
            };
            (
                t(|e| e.copy_score.0, f64::NEG_INFINITY, 1.0)?,
                t(|e| e.angle.0, 0.0, std::f64::consts::PI)?,
            )
        }
    };
    Some(crate::gates::VerdictEvidence {
        copy_score: Some(copy_score),
        angle: Some(angle),
        moved: ev.iter().all(|e| e.moved),
        fit: FitVerdict::Converged,
        gap_remaining: counted.iter().map(|r| r.gap_remaining).fold(0.0, f64::max),
        teacher_ok: true,
    })
}

/// A cell's verdict: [`crate::gates::pairing_verdict`] on [`cell_evidence`] when a row
/// counts (and carries evidence); otherwise the first row's own verdict (its gate's reason).
pub(crate) fn cell_verdict(counted: &[&Row], all: &[&Row]) -> crate::gates::Verdict {
    if counted.is_empty() {
        return all.first().map_or(Verdict::NotMeasured, |r| r.verdict);
    }
    cell_evidence(counted).map_or(Verdict::NotMeasured, |e| crate::gates::pairing_verdict(&e))
}
