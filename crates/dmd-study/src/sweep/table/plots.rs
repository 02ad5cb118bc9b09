//! Plotting: the band figures of a sweep.

use super::layout::Layout;
use super::*;

/// The figures: `(file name, caption)` for each one written.
pub(super) fn draw(
    sweep: &SweepConfig,
    cells: &[Cell],
    lay: &Layout,
    dir: &Path,
) -> Result<Vec<(String, String)>> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    type Pick = fn(&Cell) -> Option<ReplicateSummary>;
    type Measure = (
        &'static str,
        &'static str,
        Pick,
        Option<(f64, &'static str)>,
    );
    let measures: [Measure; 7] = [
        (
            "delta_e",
            "Delta_E(Phi_K, G)",
            |c| c.delta_e,
            Some((1.0, "Delta_E = 1")),
        ),
        (
            "delta_e_fine",
            "Delta_E(Phi_fine, G)",
            |c| c.delta_e_fine,
            Some((1.0, "Delta_E = 1")),
        ),
        (
            "copy_score",
            "copy score vs Phi_K (1 = copy)",
            |c| c.copy_score,
            None,
        ),
        (
            "copy_score_fine",
            "copy score vs Phi_fine (1 = copy)",
            |c| c.copy_score_fine,
            None,
        ),
        (
            "diversity",
            "student diversity, 1 - mean pairwise cosine (DP-DMD Eq. 9)",
            |c| c.diversity,
            None,
        ),
        (
            "diversity_relative",
            "student diversity / teacher diversity",
            |c| c.diversity_relative,
            Some((1.0, "teacher's diversity")),
        ),
        (
            "spread_ratio",
            "student RMS pairwise distance / teacher's",
            |c| c.spread_ratio,
            Some((1.0, "teacher's spread")),
        ),
    ];
    let mut written = Vec::new();
    for (file, what, pick, reference) in measures {
        let mut series: Vec<BandSeries> = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            let Some(s) = pick(c) else { continue };
            let label = &lay.series[i];
            let idx = match series.iter().position(|x| &x.label == label) {
                Some(j) => j,
                None => {
                    series.push(BandSeries {
                        label: label.clone(),
                        points: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            series[idx].points.push(BandPoint {
                x: lay.xs[i],
                y: s.mean,
                lo: s.lower,
                hi: s.upper,
                valid: c.n_counted > 0,
            });
        }
        if series.is_empty() {
            continue;
        }
        for s in &mut series {
            s.points.sort_by(|a, b| a.x.total_cmp(&b.x));
        }
        let title = format!(
            "{}: {what} against {} (mean, {:.0}% interval over seeds)",
            sweep.name,
            lay.x_name,
            LEVEL * 100.0
        );
        let img = band_plot(
            &series,
            &Axes::new(&title, &lay.x_name, what),
            &BandOptions {
                log_x: lay.log_x,
                reference: reference.map(|(y, l)| (y, l.to_string())),
                x_labels: lay.x_labels.clone(),
            },
        )?;
        let name = format!("{file}.png");
        save_png(&img, &dir.join(&name))?;
        written.push((name, title));
    }
    Ok(written)
}
