//! The sweeps section and the phase diagram across sweeps.

use super::*;
use crate::sweep::table::{Row, cell_verdict};

/// `## Sweeps`: for every sweep gathered under `<out>/sweeps/` (`dmd sweep`'s default place),
/// where Delta_E crosses 1 and the Delta_E, copy-score, relative-diversity and spread figures,
/// linking its `SWEEP.md`.
pub(super) fn sweeps_section(md: &mut String, out: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out.join("sweeps")) else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("sweep.json").is_file())
        .collect();
    if dirs.is_empty() {
        return Ok(());
    }
    dirs.sort();
    writeln!(
        md,
        "## Sweeps (beyond the paper)\n\nMeans with 95% Student-t intervals over seeds; hollow points did not converge and are not averaged in.\n"
    )?;
    let mut all = Vec::new();
    for dir in dirs {
        let v: SweepJson = read_json(
            &dir.join("sweep.json"),
            "rerun the sweep with --gather-only",
        )?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = |f: &str| format!("sweeps/{name}/{f}");
        writeln!(
            md,
            "### {name}\n\n{} ([table and per-point values]({}))\n",
            v.description,
            rel("SWEEP.md")
        )?;
        for t in &v.transitions {
            writeln!(md, "- {t}")?;
        }
        writeln!(md)?;
        for fig in [
            "delta_e",
            "copy_score",
            "diversity_relative",
            "spread_ratio",
        ] {
            if dir.join("figures").join(format!("{fig}.png")).is_file() {
                writeln!(
                    md,
                    "![{name}: {fig}]({})\n",
                    rel(&format!("figures/{fig}.png"))
                )?;
            }
        }
        all.push((name, v));
    }
    phase_diagram(md, out, &all)
}

/// The phase diagram across sweeps: the copy score of every point whose data have a known
/// intrinsic dimension `k`, against the ratio `D / k` of ambient to intrinsic dimension (the
/// room the data leave around themselves), one series per dimension sweep (sweeps whose points
/// all share one `D / k`, e.g. method comparisons, are left out), counted points filled. Cells
/// where no teacher learnt the data are listed, not drawn.
pub(super) fn phase_diagram(
    md: &mut String,
    out: &Path,
    sweeps: &[(String, SweepJson)],
) -> Result<()> {
    use dmd_figures::{Axes, BandOptions, BandPoint, BandSeries, band_plot, save_png};
    let mut series = Vec::new();
    let mut lines = Vec::new();
    // (D / k, verdict) of drawn cells with counted seeds.
    let mut counted_cells: Vec<(f64, Verdict)> = Vec::new();
    for (name, v) in sweeps {
        // (D / k) -> (ratio, all rows, any teacher learnt the data)
        let mut cells: BTreeMap<u64, (f64, Vec<&Row>, bool)> = BTreeMap::new();
        for r in &v.rows {
            let Some(k) = r.intrinsic_dim.filter(|&k| k > 0) else {
                continue;
            };
            let ratio = r.ambient_dim as f64 / k as f64;
            let e =
                cells
                    .entry((ratio * 1000.0).round() as u64)
                    .or_insert((ratio, Vec::new(), false));
            e.1.push(r);
            e.2 |= r.teacher_ok;
        }
        if cells.len() < 2 {
            continue;
        }
        let mut points = Vec::new();
        for (ratio, every, teacher_ok) in cells.values() {
            let counted: Vec<&Row> = every.iter().copied().filter(|r| r.counts).collect();
            let use_rows = if counted.is_empty() { every } else { &counted };
            let copies: Vec<f64> = use_rows.iter().map(|r| r.copy_score).collect();
            let Some(s) = dmd_analysis::replicate_summary(&copies, LEVEL) else {
                continue;
            };
            let s = s.bounded(f64::NEG_INFINITY, 1.0);
            // One seed: its own fresh-seed interval where measured (no interval over seeds).
            let (lo, hi) = match (s.has_interval(), use_rows.first().and_then(|r| r.evidence)) {
                (true, _) => (s.lower, s.upper),
                (false, Some(e)) => (e.copy_score.1, e.copy_score.2.min(1.0)),
                (false, None) => (s.mean, s.mean),
            };
            let verdict = cell_verdict(&counted, every);
            if *teacher_ok && !counted.is_empty() {
                counted_cells.push((*ratio, verdict));
            }
            if *teacher_ok {
                points.push(BandPoint {
                    x: *ratio,
                    y: s.mean,
                    lo,
                    hi,
                    valid: !counted.is_empty(),
                });
            }
            lines.push(format!(
                "| {name} | {ratio:.3} | {} / {} | {:.3}{} | {verdict} |",
                counted.len(),
                every.len(),
                s.mean,
                if *teacher_ok {
                    ""
                } else {
                    " (no teacher learnt the data; not drawn)"
                }
            ));
        }
        if !points.is_empty() {
            series.push(BandSeries {
                label: name.clone(),
                points,
            });
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    let img = band_plot(
        &series,
        &Axes::new(
            "copy score against D / k (ambient over intrinsic dimension), all sweeps",
            "D / k",
            "copy score vs Phi_K (1 = copy, 0 = random pairing)",
        ),
        &BandOptions {
            log_x: true,
            reference: Some((
                COPY_SCORE_REMAPPING,
                format!("copy score {COPY_SCORE_REMAPPING}"),
            )),
            x_labels: None,
        },
    )?;
    let file = out.join("sweeps").join("phase-diagram.png");
    save_png(&img, &file)?;
    writeln!(
        md,
        "### Phase diagram: copying against the room around the data\n\nEvery sweep point whose data have an intrinsic dimension known by construction (chessboard k = 2, MLP manifold k = latent_dim), placed at D / k; mean copy score over the counted seeds with its 95% interval over them (one seed: its fresh-seed interval; hollow: no seed counts, mean over all); the verdict is the study's one rule on the counted seeds.\n\n![phase diagram](sweeps/phase-diagram.png)\n\n| sweep | D / k | counted / seeds | copy score | verdict |\n|---|---|---|---|---|"
    )?;
    for l in lines {
        writeln!(md, "{l}")?;
    }
    writeln!(md, "\n{}\n", read_phase_diagram(&counted_cells))?;
    Ok(())
}

/// What the counted cells of the phase diagram say about the geometric-freedom conjecture
/// (copying needs room around the data: it should grow with `D / k`), from `(D / k, verdict)`
/// pairs, the verdicts being [`crate::gates::pairing_verdict`]'s.
pub(super) fn read_phase_diagram(cells: &[(f64, Verdict)]) -> String {
    let at = |p: Pairing| {
        let mut v: Vec<f64> = cells
            .iter()
            .filter(|c| c.1 == Verdict::Pairing { pairing: p })
            .map(|c| c.0)
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let list = |v: &[f64]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let (copy, remap, between) = (
        at(Pairing::Copying),
        at(Pairing::Remapping),
        at(Pairing::InBetween),
    );
    let verdict = if copy.is_empty() || remap.is_empty() {
        format!(
            "With no counted {} cell, the counted points alone cannot place the transition: the conjecture is not tested by them (uncounted points are in each sweep's table).",
            if remap.is_empty() {
                "remapping"
            } else {
                "copying"
            }
        )
    } else if remap.iter().cloned().fold(f64::MIN, f64::max)
        < copy.iter().cloned().fold(f64::MAX, f64::min)
    {
        "Every counted remapping cell lies at a smaller D / k than every counted copying cell: consistent with the geometric-freedom conjecture (copying needs room around the data).".to_string()
    } else {
        "Some counted remapping cell lies at a larger D / k than a counted copying cell: D / k alone does not decide copying in these data.".to_string()
    };
    format!(
        "Reading (the verdict rule on cells with counted seeds): copying at D / k = {}; remapping at D / k = {}; in between at D / k = {}. {verdict}",
        list(&copy),
        list(&remap),
        list(&between),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::{FitVerdict, TEACHER_FIT_MAX, VerdictEvidence, pairing_verdict};
    use crate::sweep::table::RowEvidence;

    /// A row at `D`, `k` with a copy score and an equivalent angle (fresh-seed intervals of
    /// +-0.02 and +-0.05 rad), whose verdict is the rule's on them.
    fn row(d: usize, k: usize, copy: f64, angle: f64, counts: bool, teacher_fit: f64) -> Row {
        let evidence = RowEvidence {
            copy_score: (copy, copy - 0.02, (copy + 0.02).min(1.0)),
            angle: (angle, (angle - 0.05).max(0.0), angle + 0.05),
            moved: true,
        };
        let fit_status = if counts {
            FitVerdict::Converged
        } else {
            FitVerdict::NotConverged
        };
        let teacher_ok = teacher_fit <= TEACHER_FIT_MAX;
        let verdict = pairing_verdict(&VerdictEvidence {
            copy_score: Some((evidence.copy_score.1, evidence.copy_score.2)),
            angle: Some((evidence.angle.1, evidence.angle.2)),
            moved: true,
            fit: fit_status,
            gap_remaining: if counts { 0.0 } else { 0.5 },
            teacher_ok,
        });
        Row {
            point: format!("D-{d}"),
            coords: vec![("D".into(), d.to_string())],
            snapshot: 0,
            ambient_dim: d,
            intrinsic_dim: Some(k),
            delta_e: 0.0,
            delta_e_bootstrap: None,
            delta_e_fine: None,
            copy_score: copy,
            copy_score_fine: None,
            delta_e_fully_remapped: None,
            fit_status,
            gap_remaining: if counts { 0.0 } else { 0.5 },
            teacher_support_ratio: None,
            teacher_projected_support_ratio: None,
            teacher_fit_ratio: Some(teacher_fit),
            teacher_nn_ratio: None,
            teacher_ok,
            diversity: None,
            diversity_relative: None,
            spread_ratio: None,
            counts,
            evidence: Some(evidence),
            verdict,
        }
    }

    fn sweep(rows: Vec<Row>) -> SweepJson {
        SweepJson {
            name: "s".into(),
            description: String::new(),
            profile: "cpu".into(),
            experiment: "e.toml".into(),
            replicate_axis: "seed".into(),
            level: LEVEL,
            teacher_support_min: 0.75,
            teacher_fit_max: TEACHER_FIT_MAX,
            missing_points: vec![],
            rows,
            cells: vec![],
            transitions: vec![],
        }
    }

    #[test]
    fn phase_diagram_reading_orders_remapping_below_copying() {
        let v = |p| Verdict::Pairing { pairing: p };
        let r = read_phase_diagram(&[
            (1.0, v(Pairing::Remapping)),
            (4.0, v(Pairing::Copying)),
            (2.0, v(Pairing::InBetween)),
        ]);
        assert!(r.contains("copying at D / k = 4;"), "{r}");
        assert!(r.contains("remapping at D / k = 1;"), "{r}");
        assert!(r.contains("in between at D / k = 2."), "{r}");
        assert!(
            r.contains("consistent with the geometric-freedom conjecture"),
            "{r}"
        );
        let r = read_phase_diagram(&[(8.0, v(Pairing::Remapping)), (4.0, v(Pairing::Copying))]);
        assert!(r.contains("D / k alone does not decide"), "{r}");
    }

    #[test]
    fn phase_diagram_places_dimension_sweeps_at_d_over_k() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sweeps")).unwrap();
        let sweeps = vec![
            (
                "dims".to_string(),
                sweep(vec![
                    row(4, 4, 0.2, 1.2, false, 1.5),
                    row(16, 4, 0.9, 0.5, true, 1.3),
                    row(16, 4, 0.7, 0.6, true, 1.3),
                    row(256, 4, 0.99, 0.1, false, 8.0),
                ]),
            ),
            // One D / k only (a method comparison): not a dimension sweep.
            (
                "methods".to_string(),
                sweep(vec![
                    row(256, 4, 0.7, 0.6, true, 1.2),
                    row(256, 4, 0.8, 0.6, true, 1.2),
                ]),
            ),
        ];
        let mut md = String::new();
        phase_diagram(&mut md, dir.path(), &sweeps).unwrap();
        assert!(dir.path().join("sweeps/phase-diagram.png").is_file());
        assert!(
            md.contains("| dims | 1.000 | 0 / 1 | 0.200 | student not converged (gap 50%) |"),
            "{md}"
        );
        // Counted seeds only, averaged: (0.9 + 0.7) / 2.
        assert!(
            md.contains("| dims | 4.000 | 2 / 2 | 0.800 | in between |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| dims | 64.000 | 0 / 1 | 0.990 (no teacher learnt the data; not drawn) | teacher not converged |"
            ),
            "{md}"
        );
        assert!(!md.contains("| methods |"), "{md}");
        assert!(md.contains("copying at D / k = none;"), "{md}");
        assert!(md.contains("in between at D / k = 4."), "{md}");
        assert!(md.contains("the conjecture is not tested"), "{md}");
        // Nothing to draw: no section.
        let mut empty = String::new();
        phase_diagram(&mut empty, dir.path(), &sweeps[1..]).unwrap();
        assert!(empty.is_empty());
    }

    /// One set of numbers, three readers: the verdict of a single student (the claims table's
    /// reading), of a sweep cell holding that student alone, and of the phase diagram's cell,
    /// all from [`pairing_verdict`].
    #[test]
    fn claims_sweep_cells_and_the_phase_diagram_share_one_verdict() {
        for (copy, angle) in [(0.99, 0.2), (0.99, 0.55), (0.3, 1.3), (0.95, 1.0)] {
            let r = row(16, 4, copy, angle, true, 1.3);
            let student = r.verdict;
            let cell = cell_verdict(&[&r], &[&r]);
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("sweeps")).unwrap();
            let mut md = String::new();
            let other = row(64, 4, copy, angle, true, 1.3);
            phase_diagram(
                &mut md,
                dir.path(),
                &[("s".into(), sweep(vec![r.clone(), other]))],
            )
            .unwrap();
            assert_eq!(student, cell, "{copy} {angle}");
            assert!(
                md.contains(&format!("| s | 4.000 | 1 / 1 | {copy:.3} | {cell} |")),
                "{md}"
            );
            let expected = match (copy, angle) {
                (c, a) if c >= 0.92 && a <= 0.3 => "copying",
                (c, a) if c < 0.48 || a >= 0.84 => "remapping",
                _ => "in between",
            };
            assert_eq!(student.to_string(), expected, "{copy} {angle}");
        }
    }
}
