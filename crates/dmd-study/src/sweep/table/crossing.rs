//! The crossing reading: where the mean Delta_E of counted cells crosses 1.

use super::layout::Layout;
use super::*;

/// Where the mean `Delta_E(Phi_K, G)` of counted cells crosses 1 along the x axis, per series.
pub(super) fn transitions(cells: &[Cell], lay: &Layout) -> Vec<String> {
    let mut by_series: BTreeMap<&str, Vec<(f64, &Cell)>> = BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        if c.n_counted > 0 && c.delta_e.is_some() {
            by_series
                .entry(lay.series[i].as_str())
                .or_default()
                .push((lay.xs[i], c));
        }
    }
    let mut out = Vec::new();
    for (series, mut pts) in by_series {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut found = false;
        for w in pts.windows(2) {
            let (xa, a) = (w[0].0, w[0].1.delta_e.expect("some"));
            let (xb, b) = (w[1].0, w[1].1.delta_e.expect("some"));
            if (a.mean - 1.0) * (b.mean - 1.0) < 0.0 {
                let t = (a.mean - 1.0) / (a.mean - b.mean);
                let x = if lay.log_x {
                    2f64.powf(xa.log2() + t * (xb.log2() - xa.log2()))
                } else {
                    xa + t * (xb - xa)
                };
                let ci_overlaps_1 = |s: &ReplicateSummary| s.lower <= 1.0 && s.upper >= 1.0;
                out.push(format!(
                    "{series}: Delta_E crosses 1 between {} = {xa} ({:.3} [{:.3}, {:.3}]) and {} = {xb} ({:.3} [{:.3}, {:.3}]); interpolated{} at {} ~ {x:.3}{}",
                    lay.x_name,
                    a.mean,
                    a.lower,
                    a.upper,
                    lay.x_name,
                    b.mean,
                    b.lower,
                    b.upper,
                    if lay.log_x { " in log scale" } else { "" },
                    lay.x_name,
                    if ci_overlaps_1(&a) || ci_overlaps_1(&b) {
                        " (an end's interval contains 1: the crossing is uncertain)"
                    } else {
                        ""
                    }
                ));
                found = true;
            }
        }
        if !found && let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            let side = |c: &Cell| {
                if c.delta_e.expect("some").mean > 1.0 {
                    "above"
                } else {
                    "below"
                }
            };
            out.push(format!(
                "{series}: no crossing of Delta_E = 1 over the counted points ({} = {} to {}: {} to {})",
                lay.x_name,
                first.0,
                last.0,
                side(first.1),
                side(last.1)
            ));
        }
    }
    out
}
