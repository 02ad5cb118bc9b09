//! `results/REPORT.md`: the paper's quantitative claims next to ours, with a verdict each.
//!
//! A verdict is one of: **reproduced**, **not reproduced**, **student not converged** (the
//! student's distribution is still too far from the teacher's for its Delta_E to mean copying
//! or remapping; see [`crate::pipeline::analyze::FitSummary`]), or **not run**. Nothing is
//! tuned into a verdict: the thresholds are written in the table.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::pipeline::ExperimentResult;
use crate::pipeline::analyze::StudentMetrics;
use crate::reproduce::{EXPERIMENTS, RunInfo};

/// Delta_E below this counts as copying (the "clearly below ... and below 0.5").
pub const COPY_MAX: f64 = 0.5;
/// Delta_E above this counts as remapping.
pub const REMAP_MIN: f64 = 1.0;

/// The results of one experiment as read back from disk.
struct Loaded {
    summary: ExperimentResult,
    students: Vec<StudentMetrics>,
}

/// Reads `out/*/summary.json` and their metrics, writes `out/REPORT.md`, returns its path.
pub fn write_report(out: &Path) -> Result<PathBuf> {
    let mut loaded: BTreeMap<String, Loaded> = BTreeMap::new();
    for name in EXPERIMENTS {
        let p = out.join(name).join("summary.json");
        if !p.is_file() {
            continue;
        }
        let summary: ExperimentResult = serde_json::from_str(&std::fs::read_to_string(&p)?)
            .with_context(|| {
                format!(
                    "{} is not a valid summary; rerun the experiment",
                    p.display()
                )
            })?;
        let mut students = Vec::new();
        for s in &summary.snapshots {
            let path = out.join(name).join(&s.metrics);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            students.push(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not valid", path.display()))?,
            );
        }
        loaded.insert(name.to_string(), Loaded { summary, students });
    }
    let info: Option<RunInfo> = std::fs::read_to_string(out.join("run_info.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());

    let mut md = String::new();
    writeln!(md, "# dmd-lab: reproduction report\n")?;
    writeln!(
        md,
        "*Why Are DMD Students Lazy?* reproduced with dmd-lab. Delta_E = E_DT / E_OT - 1 over N fixed seeds (paper Eq. 6); copy score = (E_rand - E_DT) / (E_rand - E_OT) (1 = copying, 0 = random pairing); intervals are 95% bootstrap intervals over the seeds (resample quantiles re-centred on the estimate: a resample holds ~63% distinct seeds, whose optimal assignment costs more, so plain percentiles sit below Delta_E).\n"
    )?;
    if let Some(i) = &info {
        writeln!(
            md,
            "- profile: `{}`\n- hardware: {}\n- commit: `{}`\n- wall time: {:.1} min\n",
            i.profile,
            i.hardware,
            i.commit,
            i.wall_s / 60.0
        )?;
    }
    writeln!(md, "## Claims\n")?;
    writeln!(
        md,
        "Verdict rules: copying = Delta_E < {COPY_MAX}; remapping = Delta_E > {REMAP_MIN}; a verdict on Delta_E needs a converged student (remaining sliced-W2 gap to the fine teacher reference Phi_K' at most `eval.fit_gap_max` of where it started, above the sampling noise floor), otherwise \"student not converged\".\n"
    )?;
    writeln!(
        md,
        "| # | claim (paper) | paper | experiment | ours | verdict |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|")?;
    for (i, c) in claims(&loaded).iter().enumerate() {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            c.claim,
            c.paper,
            c.experiment,
            c.ours,
            c.verdict
        )?;
    }
    writeln!(md, "\n## Experiments\n")?;
    for name in EXPERIMENTS {
        let status = info
            .as_ref()
            .and_then(|i| i.experiments.iter().find(|e| e.name == name));
        match (loaded.get(name), status) {
            (Some(l), _) => experiment_section(&mut md, out, l)?,
            (None, Some(s)) => writeln!(
                md,
                "### {name}\n\n{}: {}\n",
                s.status,
                s.message.clone().unwrap_or_default()
            )?,
            (None, None) => writeln!(md, "### {name}\n\nnot run\n")?,
        }
    }
    sweeps_section(&mut md, out)?;
    let path = out.join("REPORT.md");
    crate::store::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

/// `## Sweeps`: for every sweep gathered under `<out>/sweeps/` (`dmd sweep`'s default place),
/// where Delta_E crosses 1 and the Delta_E, copy-score, relative-diversity and spread figures,
/// linking its `SWEEP.md`.
fn sweeps_section(md: &mut String, out: &Path) -> Result<()> {
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
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            dir.join("sweep.json"),
        )?)
        .with_context(|| {
            format!(
                "{} is not valid; rerun the sweep with --gather-only",
                dir.join("sweep.json").display()
            )
        })?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = |f: &str| format!("sweeps/{name}/{f}");
        writeln!(
            md,
            "### {name}\n\n{} ([table and per-point values]({}))\n",
            v["description"].as_str().unwrap_or(""),
            rel("SWEEP.md")
        )?;
        for t in v["transitions"].as_array().into_iter().flatten() {
            writeln!(md, "- {}", t.as_str().unwrap_or(""))?;
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
fn phase_diagram(
    md: &mut String,
    out: &Path,
    sweeps: &[(String, serde_json::Value)],
) -> Result<()> {
    use dmd_figures::{Axes, BandOptions, BandPoint, BandSeries, band_plot, save_png};
    let mut series = Vec::new();
    let mut lines = Vec::new();
    // (D / k, mean copy score over counted seeds) of drawn cells with counted seeds.
    let mut counted_cells: Vec<(f64, f64)> = Vec::new();
    for (name, v) in sweeps {
        // (D / k) -> (ratio, counted copy scores, all copy scores, any teacher learnt the data)
        let mut cells: BTreeMap<u64, (f64, Vec<f64>, Vec<f64>, bool)> = BTreeMap::new();
        for r in v["rows"].as_array().into_iter().flatten() {
            let (Some(d), Some(k), Some(c)) = (
                r["ambient_dim"].as_u64(),
                r["intrinsic_dim"].as_u64(),
                r["copy_score"].as_f64(),
            ) else {
                continue;
            };
            if k == 0 {
                continue;
            }
            let ratio = d as f64 / k as f64;
            let teacher_ok = r["teacher_ok"].as_bool() == Some(true);
            let e = cells.entry((ratio * 1000.0).round() as u64).or_insert((
                ratio,
                Vec::new(),
                Vec::new(),
                false,
            ));
            e.2.push(c);
            e.3 |= teacher_ok;
            if r["counts"].as_bool() == Some(true) {
                e.1.push(c);
            }
        }
        if cells.len() < 2 {
            continue;
        }
        let mut points = Vec::new();
        for (ratio, counted, every, teacher_ok) in cells.values() {
            let use_rows = if counted.is_empty() { every } else { counted };
            let Some(s) = dmd_analysis::replicate_summary(use_rows, 0.95) else {
                continue;
            };
            let (lo, hi) = if s.n > 1 {
                (s.lower, s.upper)
            } else {
                (s.mean, s.mean)
            };
            if *teacher_ok && !counted.is_empty() {
                counted_cells.push((*ratio, s.mean));
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
                "| {name} | {ratio:.3} | {} / {} | {:.3}{} |",
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
            reference: Some((0.5, "copy score 0.5".into())),
            x_labels: None,
        },
    )?;
    let file = out.join("sweeps").join("phase-diagram.png");
    save_png(&img, &file)?;
    writeln!(
        md,
        "### Phase diagram: copying against the room around the data\n\nEvery sweep point whose data have an intrinsic dimension known by construction (chessboard k = 2, MLP manifold k = latent_dim), placed at D / k; mean copy score over the counted seeds with its 95% interval (hollow: no seed counts, mean over all).\n\n![phase diagram](sweeps/phase-diagram.png)\n\n| sweep | D / k | counted / seeds | copy score |\n|---|---|---|---|"
    )?;
    for l in lines {
        writeln!(md, "{l}")?;
    }
    writeln!(md, "\n{}\n", read_phase_diagram(&counted_cells))?;
    Ok(())
}

/// What the counted cells of the phase diagram say about the geometric-freedom conjecture
/// (copying needs room around the data: it should grow with `D / k`), from `(D / k, mean copy
/// score)` pairs: copying is a copy score of at least 0.9, remapping below 0.5.
fn read_phase_diagram(cells: &[(f64, f64)]) -> String {
    let list = |f: &dyn Fn(f64) -> bool| {
        let mut v: Vec<f64> = cells.iter().filter(|c| f(c.1)).map(|c| c.0).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let copy: Vec<f64> = cells.iter().filter(|c| c.1 >= 0.9).map(|c| c.0).collect();
    let remap: Vec<f64> = cells.iter().filter(|c| c.1 < 0.5).map(|c| c.0).collect();
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
        "Reading (cells with counted seeds; one or two seeds give wide intervals): copying (copy score >= 0.9) at D / k = {}; remapping (< 0.5) at D / k = {}; in between at D / k = {}. {verdict}",
        list(&|c| c >= 0.9),
        list(&|c| c < 0.5),
        list(&|c| (0.5..0.9).contains(&c)),
    )
}

/// One row of the claims table.
struct Claim {
    claim: &'static str,
    paper: &'static str,
    experiment: &'static str,
    ours: String,
    verdict: String,
}

fn fmt_de(m: &StudentMetrics) -> String {
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

fn fine(m: &StudentMetrics) -> f64 {
    m.pairing()
        .student_vs_fine
        .as_ref()
        .map_or(f64::NAN, |d| d.delta_e)
}

fn remapped(m: &StudentMetrics) -> f64 {
    m.pairing()
        .fully_remapped
        .as_ref()
        .map_or(f64::NAN, |d| d.delta_e)
}

/// A verdict on a Delta_E threshold, gated on convergence.
fn gated(m: &StudentMetrics, holds: bool) -> String {
    if m.fit.status == "no gap" {
        "uninformative: Phi_1 already matches Phi_K (teacher not trained enough)".into()
    } else if !m.fit.converged {
        format!(
            "student not converged (gap {:.0}%)",
            100.0 * m.fit.gap_remaining
        )
    } else if holds {
        "reproduced".into()
    } else {
        "not reproduced".into()
    }
}

fn last(l: Option<&Loaded>) -> Option<&StudentMetrics> {
    l.and_then(|l| l.students.iter().max_by_key(|m| m.snapshot))
}

/// One claim row: `result` is `(ours, verdict)`, or `None` when the experiment did not run.
fn claim(
    claim: &'static str,
    paper: &'static str,
    experiment: &'static str,
    result: Option<(String, String)>,
) -> Claim {
    let (ours, verdict) = result.unwrap_or_else(|| ("not run".into(), "not run".into()));
    Claim {
        claim,
        paper,
        experiment,
        ours,
        verdict,
    }
}

fn verdict(converged: bool, holds: bool) -> String {
    match (converged, holds) {
        (false, _) => "student not converged".into(),
        (true, true) => "reproduced".into(),
        (true, false) => "not reproduced".into(),
    }
}

fn claims(r: &BTreeMap<String, Loaded>) -> Vec<Claim> {
    let remap = |name: &str| {
        last(r.get(name)).map(|m| {
            (
                format!(
                    "Delta_E(Phi_{}) {}; vs Phi_{}: {:.2}; copy score {:.2}",
                    m.pairing().k,
                    fmt_de(m),
                    m.pairing().fine_k.unwrap_or(0),
                    fine(m),
                    m.student().copy_score
                ),
                gated(m, m.student().delta_e > REMAP_MIN),
            )
        })
    };
    let copy = |name: &str| {
        last(r.get(name)).map(|m| {
            (
                format!(
                    "{} (copy score {:.2}; remapped control {:.2})",
                    fmt_de(m),
                    m.student().copy_score,
                    remapped(m)
                ),
                gated(m, m.student().delta_e < COPY_MAX),
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
            let xs: Vec<f64> = snaps.iter().map(|m| m.snapshot as f64).collect();
            let ys: Vec<f64> = snaps.iter().map(|m| m.student().delta_e).collect();
            let rho = dmd_analysis::spearman(&xs, &ys)
                .map(|c| c.r)
                .unwrap_or(f64::NAN);
            let series: Vec<String> = snaps
                .iter()
                .map(|m| format!("{}: {:.3}", m.snapshot, m.student().delta_e))
                .collect();
            (
                Some((
                    format!("{} ({} it)", fmt_de(first), first.snapshot),
                    gated(first, first.student().delta_e > lastm.student().delta_e),
                )),
                Some((
                    format!("{}; Spearman rho {rho:.2}", series.join(", ")),
                    verdict(
                        snaps.iter().all(|m| m.fit.converged),
                        rho < 0.0 && lastm.student().delta_e < first.student().delta_e,
                    ),
                )),
            )
        }
        _ => (None, None),
    };
    let uncond = last(r.get("mnist-uncond"));
    let memorisation = uncond
        .and_then(|m| m.metrics.memorisation.as_ref())
        .map(|mem| {
            (
                format!(
                    "memorised fraction {:.4} of {} (median r {:.2})",
                    mem.memorised_fraction, mem.n, mem.median_ratio
                ),
                verdict(true, mem.memorised_fraction < 0.01),
            )
        });
    let correlation = uncond.and_then(|m| {
        let c = m
            .metrics
            .displacement
            .as_ref()?
            .delta_vs_distance_to_train
            .as_ref()?;
        Some((
            format!(
                "Pearson {:.3} (p {:.1e}), Spearman {:.3} (p {:.1e})",
                c.pearson.r, c.pearson.p_value, c.spearman.r, c.spearman.p_value
            ),
            verdict(
                m.fit.converged,
                c.pearson.r < 0.0 && c.pearson.p_value < 0.05,
            ),
        ))
    });
    let gan = uncond.zip(last(r.get("mnist-gan"))).map(|(off, on)| {
        (
            format!("GAN off {}; GAN on {}", fmt_de(off), fmt_de(on)),
            verdict(
                off.fit.converged && on.fit.converged,
                off.student().delta_e < COPY_MAX,
            ),
        )
    });
    vec![
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
    ]
}

fn experiment_section(md: &mut String, out: &Path, l: &Loaded) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(d: u64, k: u64, copy: f64, counts: bool, teacher_fit: f64) -> serde_json::Value {
        json!({
            "ambient_dim": d,
            "intrinsic_dim": k,
            "copy_score": copy,
            "counts": counts,
            "teacher_ok": teacher_fit <= crate::sweep::table::TEACHER_FIT_MAX,
        })
    }

    #[test]
    fn phase_diagram_reading_orders_remapping_below_copying() {
        let r = read_phase_diagram(&[(1.0, 0.2), (4.0, 0.95), (2.0, 0.6)]);
        assert!(
            r.contains("copying (copy score >= 0.9) at D / k = 4;"),
            "{r}"
        );
        assert!(r.contains("remapping (< 0.5) at D / k = 1;"), "{r}");
        assert!(r.contains("in between at D / k = 2."), "{r}");
        assert!(
            r.contains("consistent with the geometric-freedom conjecture"),
            "{r}"
        );
        let r = read_phase_diagram(&[(8.0, 0.2), (4.0, 0.95)]);
        assert!(r.contains("D / k alone does not decide"), "{r}");
    }

    #[test]
    fn phase_diagram_places_dimension_sweeps_at_d_over_k() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sweeps")).unwrap();
        let sweeps = vec![
            (
                "dims".to_string(),
                json!({ "rows": [
                    row(4, 4, 0.2, false, 1.5),
                    row(16, 4, 0.9, true, 1.3),
                    row(16, 4, 0.7, true, 1.3),
                    row(256, 4, 0.99, false, 8.0),
                ]}),
            ),
            // One D / k only (a method comparison): not a dimension sweep.
            (
                "methods".to_string(),
                json!({ "rows": [row(256, 4, 0.7, true, 1.2), row(256, 4, 0.8, true, 1.2)] }),
            ),
        ];
        let mut md = String::new();
        phase_diagram(&mut md, dir.path(), &sweeps).unwrap();
        assert!(dir.path().join("sweeps/phase-diagram.png").is_file());
        assert!(md.contains("| dims | 1.000 | 0 / 1 | 0.200 |"), "{md}");
        // Counted seeds only, averaged: (0.9 + 0.7) / 2.
        assert!(md.contains("| dims | 4.000 | 2 / 2 | 0.800 |"), "{md}");
        assert!(
            md.contains(
                "| dims | 64.000 | 0 / 1 | 0.990 (no teacher learnt the data; not drawn) |"
            ),
            "{md}"
        );
        assert!(!md.contains("| methods |"), "{md}");
        assert!(
            md.contains("copying (copy score >= 0.9) at D / k = none;"),
            "{md}"
        );
        assert!(md.contains("in between at D / k = 4."), "{md}");
        assert!(md.contains("the conjecture is not tested"), "{md}");
        // Nothing to draw: no section.
        let mut empty = String::new();
        phase_diagram(&mut empty, dir.path(), &sweeps[1..]).unwrap();
        assert!(empty.is_empty());
    }
}
