//! `SWEEP.md`: the table, the crossing reading and the points that do not count.

use super::*;

pub(super) fn fmt_summary(s: &Option<ReplicateSummary>) -> String {
    match s {
        Some(s) => s.to_string(),
        None => "-".into(),
    }
}

pub(super) fn markdown(
    sweep: &SweepConfig,
    profile: &str,
    rows: &[Row],
    cells: &[Cell],
    missing: &[String],
    figures: &[(String, String)],
    transitions: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Sweep `{}` ({profile} profile)\n", sweep.name);
    if !sweep.description.is_empty() {
        let _ = writeln!(md, "{}\n", sweep.description);
    }
    let axes: Vec<String> = sweep
        .axis
        .iter()
        .map(|a| {
            let labels: Vec<String> = a
                .values
                .iter()
                .map(|v| crate::sweep::value_sets(a, v).0)
                .collect();
            format!("`{}` in {{{}}}", a.name, labels.join(", "))
        })
        .collect();
    let _ = writeln!(
        md,
        "Experiment `{}`; axes {}; {} point(s) finished, {} missing. Intervals: mean and {:.0}% Student-t interval over the `{}` axis (run-to-run variation). A point counts only when its student converged (distribution fit) and its teacher learned the data: on toy data its `Phi_32` samples land on the support at least {TEACHER_SUPPORT_MIN} times as often as the data, and on any data the sliced W2 distance of its samples to the training data is at most {TEACHER_FIT_MAX} times the data's own floor (two disjoint training subsets); cells with no counting point are summarised over all seeds and drawn hollow.\n",
        sweep.experiment.display(),
        axes.join(", "),
        rows.iter()
            .map(|r| r.point.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        missing.len(),
        LEVEL * 100.0,
        sweep.replicate_axis
    );
    if !transitions.is_empty() {
        md.push_str("## Where Delta_E crosses 1\n\n");
        for t in transitions {
            let _ = writeln!(md, "- {t}");
        }
        md.push('\n');
    }
    md.push_str("## Summary\n\n");
    let factors: Vec<String> = sweep.factor_axes().iter().map(|a| a.name.clone()).collect();
    let _ = writeln!(
        md,
        "| {}teacher it | counted / seeds | Delta_E(Phi_K, G) | Delta_E(Phi_fine, G) | copy score | copy score (fine) | diversity G / teacher | spread G / teacher | teacher support | teacher SW2 / data floor | teacher NN distance / data's |",
        factors
            .iter()
            .map(|f| format!("{f} | "))
            .collect::<String>()
    );
    let _ = writeln!(md, "|{}", "---|".repeat(factors.len() + 11));
    for c in cells {
        let coords: String = factors
            .iter()
            .map(|f| {
                let l = c.coords.iter().find(|(n, _)| n == f).map_or("", |(_, l)| l);
                format!("{l} | ")
            })
            .collect();
        let _ = writeln!(
            md,
            "| {coords}{} | {} / {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.snapshot,
            c.n_counted,
            c.n,
            fmt_summary(&c.delta_e),
            fmt_summary(&c.delta_e_fine),
            fmt_summary(&c.copy_score),
            fmt_summary(&c.copy_score_fine),
            fmt_summary(&c.diversity_relative),
            fmt_summary(&c.spread_ratio),
            c.teacher_support_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
            c.teacher_fit_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
            c.teacher_nn_ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
    }
    md.push('\n');
    if !figures.is_empty() {
        md.push_str("## Figures\n\n");
        for (file, title) in figures {
            let _ = writeln!(md, "![{title}](figures/{file})\n");
        }
    }
    let not_counted: Vec<&Row> = rows.iter().filter(|r| !r.counts).collect();
    if !not_counted.is_empty() {
        md.push_str("## Points that do not count\n\n");
        for r in not_counted {
            let _ = writeln!(
                md,
                "- `{}` (teacher {} it): fit {} (gap left {:.2}){}{}",
                r.point,
                r.snapshot,
                r.fit_status,
                r.gap_remaining,
                r.teacher_support_ratio.map_or(String::new(), |t| format!(
                    ", teacher support ratio {t:.2}{}",
                    if t < TEACHER_SUPPORT_MIN {
                        " (teacher did not learn the data)"
                    } else {
                        ""
                    }
                )),
                r.teacher_fit_ratio.map_or(String::new(), |t| format!(
                    ", teacher SW2 to the data {t:.2}x the floor{}",
                    if t > TEACHER_FIT_MAX {
                        " (teacher did not learn the data)"
                    } else {
                        ""
                    }
                ))
            );
        }
        md.push('\n');
    }
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "Missing points (not finished): {}\n",
            missing.join(", ")
        );
    }
    md.push_str(
        "Per-point values: `points.csv`; cells: `summary.csv`; everything: `sweep.json`.\n",
    );
    md
}
