//! The `ot` suite: dmd-ot's `bench_ot` (exact assignment, Sinkhorn, cost matrix) against
//! lap.lapjv, scipy's linear_sum_assignment and POT's emd2 / sinkhorn2, checking that every
//! exact solver finds the same optimal total cost.
//!
//! Cases: the Gaussian grid (`N` x `d`), plus two hard inputs next to it ([`EXTRA_CASES`]): one
//! outlier point 1e4 away from near-copy sets (N = 2000, d = 16), and a cost matrix whose entries
//! span 1e-8 ... 1e8 (N = 1000); and without `--quick` the finite-N curve's largest point,
//! N = 8000 at d = 1024 (lap.lapjv and scipy only). A peer whose total is *below* ours means our answer is not
//! optimal (a problem); one *above* ours is a suboptimal peer, reported in the note.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::process::Command;

use super::report::{Report, Row, Unit};
use super::venv::Venv;
use super::{
    Opts, Suite, build_example, crate_dir, medians_of, num, reps, rounds, run_json, with_threads,
};
use crate::paths;

/// `(case, N, d)` run after the Gaussian grid (`bench_ot --case`); `d` is ignored for `range`.
const EXTRA_CASES: [(&str, usize, usize); 2] = [("outlier", 2000, 16), ("range", 1000, 0)];

/// The N-curve's largest point, exact `Delta_E` at N = 8000 in image dimension (not with
/// `--quick`; POT's emd2 sits it out: `peers.py --max-n-emd`).
const LARGE_CASE: (&str, usize, usize) = ("gaussian", 8000, 1024);

const OT_EXACT_PEERS: [(&str, &str); 3] = [
    ("lap.lapjv", "lap"),
    ("scipy.linear_sum_assignment", "scipy"),
    ("POT.emd2", "POT"),
];

pub(super) fn bench_ot(o: &Opts, venv: &Venv) -> Result<Report> {
    let bin = build_example("dmd-ot", "bench_ot")?;
    let script = crate_dir("dmd-ot").join("bench").join("peers.py");
    let (ns, ds): (&[usize], &[usize]) = if o.quick {
        (&[1000], &[4, 1024])
    } else {
        (&[1000, 2000, 4000], &[4, 1024])
    };
    let work = paths::root().join("target").join("bench").join("ot-work");
    let mut report = Report::new(Suite::Ot, &o.threads);
    let mut cases: Vec<(&str, usize, usize)> = ds
        .iter()
        .flat_map(|&d| ns.iter().map(move |&n| ("gaussian", n, d)))
        .collect();
    cases.extend(EXTRA_CASES);
    if !o.quick {
        cases.push(LARGE_CASE);
    }
    let run = CaseRun {
        o,
        venv,
        bin: &bin,
        script: &script,
        work: &work,
    };
    for &t in &o.threads {
        for &(kind, n, d) in &cases {
            run.case(kind, n, d, t, &mut report)?;
        }
    }
    let _ = fs::remove_dir(&work);
    Ok(report)
}

/// What every case of the suite shares.
struct CaseRun<'a> {
    o: &'a Opts,
    venv: &'a Venv,
    bin: &'a Path,
    script: &'a Path,
    work: &'a Path,
}

impl CaseRun<'_> {
    /// Runs ours and the peers on one case (`kind` is `bench_ot --case`) for the rounds, and
    /// adds its rows to `report`.
    fn case(&self, kind: &str, n: usize, d: usize, t: usize, report: &mut Report) -> Result<()> {
        let CaseRun {
            o,
            venv,
            bin,
            script,
            work,
        } = *self;
        let reps = reps(o).to_string();
        let case = match kind {
            "gaussian" => format!("n={n} d={d} t={t}"),
            "range" => format!("range 1e-8..1e8 n={n} t={t}"),
            other => format!("{other} n={n} d={d} t={t}"),
        };
        let dir = work.join(format!("{kind}_n{n}_d{d}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (mut ours, mut peers) = (Vec::new(), Vec::new());
        // peers whose assignment costs more than ours: (name, relative excess)
        let mut suboptimal: Vec<(String, f64)> = Vec::new();
        for round in 0..rounds(o, 1) {
            println!("[bench] ot {case}: round {} ours ...", round + 1);
            let ours_json = dir.join("ours.json");
            let v = run_json(
                with_threads(&mut Command::new(bin), t)
                    .args(["--case", kind])
                    .args(["--n", &n.to_string(), "--d", &d.to_string()])
                    .args(["--reps", &reps, "--data-dir"])
                    .arg(&dir)
                    .arg("--out")
                    .arg(&ours_json),
                "bench_ot",
            )?;
            let our = v
                .get("results")
                .and_then(|r| r.get(0))
                .cloned()
                .context("bench_ot printed no `results[0]`")?;
            // peers.py divides by our Sinkhorn ms/iter for its own ratio, and bench_ot
            // reports 0 when noise makes its 2k-iteration run no slower than its k run.
            // The peer gets a copy with that divisor kept positive; our table and JSON
            // use the value bench_ot measured.
            let peer_view = dir.join("ours-for-peers.json");
            let mut for_peer = v.clone();
            if let Some(ms) = for_peer.pointer_mut("/results/0/sinkhorn/ms_per_iter")
                && ms.as_f64().is_some_and(|x| x <= 0.0)
            {
                *ms = json!(f64::MIN_POSITIVE);
            }
            fs::write(&peer_view, for_peer.to_string())
                .with_context(|| format!("cannot write {}", peer_view.display()))?;
            println!("[bench] ot {case}: round {} peers ...", round + 1);
            let p = run_json(
                with_threads(&mut venv.command(script), t)
                    .arg("--data-dir")
                    .arg(&dir)
                    .arg("--ours")
                    .arg(&peer_view)
                    .args(["--reps", &reps]),
                "peers.py",
            );
            match p {
                Ok(p) => {
                    let rec = p
                        .get("results")
                        .and_then(|r| r.get(0))
                        .and_then(|r| r.get("peers"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    let ours_total = num(&our, &["total_cost"]);
                    for (name, e) in rec.as_object().into_iter().flatten() {
                        // Our own check, relative to the optimum (1e-9, as peers.py's
                        // same_optimum). Our total is the cost of a permutation, so a peer
                        // below it proves ours suboptimal; a peer above it is suboptimal itself.
                        let Some((theirs, mine)) = num(e, &["total_cost"]).zip(ours_total) else {
                            continue;
                        };
                        let excess = (theirs - mine) / mine.abs().max(f64::MIN_POSITIVE);
                        if excess < -1e-9 {
                            report.problems.push(format!(
                                "OT OPTIMUM MISMATCH at {case}: {name} found total cost {theirs:e}, below ours {mine:e} (relative {excess:.3e})"
                            ));
                        } else if excess > 1e-9 {
                            suboptimal.push((name.clone(), excess));
                        }
                    }
                    peers.push(rec);
                }
                Err(e) => report.problems.push(format!("peers.py at {case}: {e:#}")),
            }
            ours.push(our);
        }
        let _ = fs::remove_dir_all(&dir);
        let ours_assign = medians_of(&ours, &["assignment_s"]);
        for (peer, package) in OT_EXACT_PEERS {
            let theirs = medians_of(&peers, &[peer, "seconds"]);
            let note = if theirs.is_some() {
                let worst = suboptimal
                    .iter()
                    .filter(|(name, _)| name == peer)
                    .map(|&(_, x)| x)
                    .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
                match worst {
                    Some(x) => format!("peer SUBOPTIMAL: cost +{x:.2e} relative to ours"),
                    None if peers.iter().all(|p| {
                        p.pointer(&format!("/{peer}/same_optimum")) != Some(&Value::Bool(false))
                    }) =>
                    {
                        "same optimum".to_string()
                    }
                    None => "OPTIMUM MISMATCH".to_string(),
                }
            } else if !venv.has(package) {
                format!("`{package}` did not install")
            } else {
                String::new()
            };
            report.rows.push(Row {
                case: case.clone(),
                metric: "exact assignment".into(),
                unit: Unit::Seconds,
                ours: ours_assign,
                peer: peer.into(),
                theirs,
                note,
            });
        }
        let ours_sk = medians_of(&ours, &["sinkhorn", "ms_per_iter"]);
        report.rows.push(Row {
            case: case.clone(),
            metric: "sinkhorn per iter".into(),
            unit: Unit::MsPerIter,
            ours: ours_sk,
            peer: "POT.sinkhorn2".into(),
            theirs: medians_of(&peers, &["POT.sinkhorn2", "ms_per_iter"]),
            note: if ours_sk.is_some_and(|x| x <= 0.0) {
                "ours unmeasurable: 2k iters not slower than k (noise)".into()
            } else if !venv.has("POT") {
                "`POT` did not install".into()
            } else {
                "same eps, fixed iterations".into()
            },
        });
        if kind != "range" {
            report.rows.push(Row {
                case: case.clone(),
                metric: "cost matrix".into(),
                unit: Unit::Seconds,
                ours: medians_of(&ours, &["cost_matrix_s"]),
                peer: String::new(),
                theirs: None,
                note: "ours only (peers get the matrix)".into(),
            });
        }
        report
            .raw
            .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
        Ok(())
    }
}
