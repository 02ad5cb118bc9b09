//! The `nn` suite: dmd-analysis's `bench_nn` (two nearest neighbours with mean distance, and a
//! bare sgemm) against numpy brute force and faiss IndexFlatL2, checking that our neighbours
//! match numpy's through checksums.

use anyhow::Result;
use serde_json::{Value, json};
use std::fs;
use std::process::Command;

use super::report::{Report, Row, Unit};
use super::venv::Venv;
use super::{
    Opts, Suite, build_example, crate_dir, medians_of, num, reps, rounds, run_json, with_threads,
};
use crate::paths;

pub(super) fn bench_nn(o: &Opts, venv: &Venv) -> Result<Report> {
    let bin = build_example("dmd-analysis", "bench_nn")?;
    let script = crate_dir("dmd-analysis").join("bench").join("peers_nn.py");
    let (nq, nt, dim) = if o.quick {
        (500, 10_000, 1024)
    } else {
        (2000, 60_000, 1024)
    };
    let reps = reps(o).to_string();
    let dir = paths::root().join("target").join("bench").join("nn-work");
    let mut report = Report::new(Suite::Nn, &o.threads);
    for &t in &o.threads {
        let case = format!("{nq}x{nt}x{dim} t={t}");
        let (mut ours, mut peers) = (Vec::new(), Vec::new());
        for round in 0..rounds(o, 1) {
            println!("[bench] nn {case}: round {} ours ...", round + 1);
            let mut cmd = Command::new(&bin);
            with_threads(&mut cmd, t).args([
                "--nq",
                &nq.to_string(),
                "--nt",
                &nt.to_string(),
                "--dim",
                &dim.to_string(),
                "--repeats",
                &reps,
            ]);
            if round == 0 {
                cmd.arg("--write-npy").arg(&dir);
            }
            ours.push(run_json(&mut cmd, "bench_nn")?);
            println!("[bench] nn {case}: round {} peers ...", round + 1);
            match run_json(
                with_threads(&mut venv.command(&script), t)
                    .arg(&dir)
                    .arg(&reps),
                "peers_nn.py",
            ) {
                Ok(p) => peers.push(p),
                Err(e) => report.problems.push(format!("peers_nn.py: {e:#}")),
            }
        }
        let _ = fs::remove_dir_all(&dir);
        // Agreement: our nearest neighbours against numpy's (exact brute force on the same data).
        let problems_before = report.problems.len();
        if let (Some(our), Some(peer)) = (ours.first(), peers.first()) {
            for key in ["nearest0", "second0", "sum_nearest"] {
                let a = our.pointer(&format!("/checksum/{key}"));
                let b = peer.pointer(&format!("/checksum/{key}"));
                if a.and_then(Value::as_u64) != b.and_then(Value::as_u64) {
                    report.problems.push(format!(
                        "NEAREST-NEIGHBOUR MISMATCH at {case}: checksum.{key} ours {} vs numpy {}",
                        a.unwrap_or(&Value::Null),
                        b.unwrap_or(&Value::Null)
                    ));
                }
            }
            let (a, b) = (
                num(our, &["checksum", "mean_distance0"]),
                num(peer, &["checksum", "mean_distance0"]),
            );
            if let (Some(a), Some(b)) = (a, b)
                && (a - b).abs() > 1e-3 * b.abs().max(1.0)
            {
                report.problems.push(format!(
                    "MEAN-DISTANCE MISMATCH at {case}: query 0 ours {a} vs numpy {b}"
                ));
            }
            if let Some(f) = num(peer, &["faiss_agrees_with_numpy"])
                && f < 0.999
            {
                report.notes.push(format!(
                    "faiss's nearest neighbour agrees with numpy's on only {:.2}% of queries (float32 near-ties)",
                    100.0 * f
                ));
            }
        }
        let numpy_note = if peers.is_empty() {
            "peer failed"
        } else if report.problems.len() > problems_before {
            "OUTPUTS DIFFER"
        } else {
            "same neighbours (checksums)"
        };
        let faiss_note = if venv.has("faiss-cpu") {
            "faiss k=2, no mean distance"
        } else {
            "`faiss-cpu` did not install"
        };
        let ours_nn = medians_of(&ours, &["nn_s"]);
        for (peer, key, note) in [
            ("numpy brute force", "numpy_s", numpy_note),
            ("faiss IndexFlatL2", "faiss_s", faiss_note),
        ] {
            report.rows.push(Row {
                case: case.clone(),
                metric: "2-NN + mean distance".into(),
                unit: Unit::Seconds,
                ours: ours_nn,
                peer: peer.into(),
                theirs: medians_of(&peers, &[key]),
                note: note.into(),
            });
        }
        report.rows.push(Row {
            case: case.clone(),
            metric: "bare sgemm".into(),
            unit: Unit::Seconds,
            ours: medians_of(&ours, &["bare_gemm_s"]),
            peer: "numpy q @ x.T".into(),
            theirs: medians_of(&peers, &["sgemm_s"]),
            note: format!(
                "GFLOP/s ours {} vs numpy {}",
                medians_of(&ours, &["gemm_gflops"]).map_or("-".into(), |g| format!("{g:.0}")),
                medians_of(&peers, &["gflops_sgemm"]).map_or("-".into(), |g| format!("{g:.0}"))
            ),
        });
        report
            .raw
            .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
    }
    Ok(report)
}
