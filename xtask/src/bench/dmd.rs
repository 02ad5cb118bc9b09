//! The `dmd` suite: one DMD distillation step of dmd-train's `bench_dmd` against PyTorch
//! `peer_dmd.py`, at each thread count.

use anyhow::{Result, bail};
use serde_json::json;
use std::process::Command;

use super::nets::{PEAK_NOTE, check_threads, matmul_peak, peak_fraction, torch_version};
use super::report::{Report, Row, Unit};
use super::venv::{TORCH_PACKAGE, Venv};
use super::{
    Opts, Suite, alternate_rounds, build_example, crate_dir, medians_of, rounds, with_threads,
};
use crate::setup;

pub(super) fn bench_dmd(o: &Opts, venv: &Venv) -> Result<Report> {
    let example = crate_dir("dmd-train").join("examples").join("bench_dmd.rs");
    let script = crate_dir("dmd-train").join("bench").join("peer_dmd.py");
    if !example.is_file() || !script.is_file() {
        bail!(
            "the dmd suite needs {} and {}; {} missing (dmd-train's bench pieces are not written yet)",
            example.display(),
            script.display(),
            if !example.is_file() && !script.is_file() {
                "both are"
            } else if !example.is_file() {
                "the example is"
            } else {
                "the peer script is"
            }
        );
    }
    setup::ensure(None)?;
    let bin = build_example("dmd-train", "bench_dmd")?;
    let torch = venv.has(TORCH_PACKAGE);
    let mut report = Report::new(Suite::Dmd, &o.threads);
    for &t in &o.threads {
        let peak = matmul_peak(venv, t, &mut report);
        if peak.is_some() && !report.notes.iter().any(|n| n == PEAK_NOTE) {
            report.notes.push(PEAK_NOTE.into());
        }
        for (model, what, batch, full, quick) in [
            ("mlp", "toy MLP", 512, 200, 20),
            ("unet-cpu", "CPU UNet", 32, 10, 2),
        ] {
            let case = format!("dmd {model} t={t}");
            // Both take the number of timed iterations and the model (after their warm-up
            // iterations) and read the thread count from OMP_NUM_THREADS.
            let iters = if o.quick { quick } else { full };
            let args = [iters.to_string(), model.to_string()];
            let (ours, peers) = alternate_rounds(
                ("dmd", &case),
                rounds(o, 3),
                (
                    &mut || {
                        let mut c = Command::new(&bin);
                        with_threads(&mut c, t).args(&args);
                        c
                    },
                    "bench_dmd",
                ),
                torch.then_some((
                    &mut || {
                        let mut c = venv.command(&script);
                        with_threads(&mut c, t).args(&args);
                        c
                    },
                    "peer_dmd.py",
                )),
                &mut report,
            )?;
            check_threads(&mut report, &case, t, &ours, &peers);
            report.rows.push(Row {
                case: case.clone(),
                metric: format!("DMD iteration ({what})"),
                unit: Unit::ItPerS,
                ours: medians_of(&ours, &["it_per_s"]),
                peer: format!("PyTorch {}", torch_version(&peers)),
                theirs: medians_of(&peers, &["it_per_s"]),
                note: format!(
                    "{iters} iters, batch {batch}, update ratio 5{}",
                    peak_fraction(
                        &peers,
                        medians_of(&ours, &["it_per_s"]),
                        medians_of(&peers, &["it_per_s"]),
                        peak
                    )
                ),
            });
            report
                .raw
                .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
        }
    }
    Ok(report)
}
