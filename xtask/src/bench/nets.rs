//! The `nets` suite: one EDM training step (a dmd-nets network, dmd-train's AdamW) against
//! PyTorch `peer_step.py` for the mlp and unet-cpu models, a torch matmul for the machine's GFLOP/s, and a safetensors
//! interop check; also the helpers the `dmd` suite shares (rates, torch version, thread checks).

use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::process::Command;

use super::report::{Report, Row, Unit};
use super::venv::{TORCH_PACKAGE, Venv};
use super::{
    Opts, Suite, alternate_rounds, build_example, crate_dir, medians_of, num, rounds, run_json,
    target_dir, with_threads,
};
use crate::setup;

/// The GFLOP/s of a 2048^3 float32 matmul in the venv's torch at `threads`.
const TORCH_MATMUL: &str = "\
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
n = 2048
a, b = torch.randn(n, n), torch.randn(n, n)
a @ b
times = []
for _ in range(5):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
s = sorted(times)[2]
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'seconds': s, 'gflops': 2 * n**3 / s / 1e9}))
";

pub(super) fn bench_nets(o: &Opts, venv: &Venv) -> Result<Report> {
    setup::ensure(None)?;
    let bin = build_example("dmd-train", "bench_step")?;
    let script = crate_dir("dmd-nets").join("bench").join("peer_step.py");
    let torch = venv.has(TORCH_PACKAGE);
    let mut report = Report::new(Suite::Nets, &o.threads);
    if !torch {
        report.notes.push(format!(
            "`{TORCH_PACKAGE}` did not install: PyTorch peers unavailable"
        ));
    }
    for &t in &o.threads {
        let peak = matmul_peak(venv, t, &mut report);
        if peak.is_some() && !report.notes.iter().any(|n| n == PEAK_NOTE) {
            report.notes.push(PEAK_NOTE.into());
        }
        for model in ["mlp", "unet-cpu"] {
            let (iters, warmup) = match (model, o.quick) {
                ("mlp", false) => (200, 20),
                ("mlp", true) => (50, 5),
                (_, false) => (20, 3),
                (_, true) => (4, 1),
            };
            let case = format!("{model} t={t}");
            let common = [
                "--model".to_string(),
                model.into(),
                "--iters".into(),
                iters.to_string(),
                "--warmup".into(),
                warmup.to_string(),
                "--loss".into(),
                o.loss.clone(),
                "--threads".into(),
                t.to_string(),
            ];
            let (ours, peers) = alternate_rounds(
                ("nets", &case),
                rounds(o, 3),
                (
                    &mut || {
                        let mut c = Command::new(&bin);
                        with_threads(&mut c, t).args(&common);
                        c
                    },
                    "bench_step",
                ),
                torch.then_some((
                    &mut || {
                        let mut c = venv.command(&script);
                        with_threads(&mut c, t).args(&common);
                        c
                    },
                    "peer_step.py",
                )),
                &mut report,
            )?;
            if let (Some(a), Some(b)) = (
                ours.first().and_then(|v| num(v, &["params"])),
                peers.first().and_then(|v| num(v, &["params"])),
            ) && a != b
            {
                report.problems.push(format!(
                    "MODEL MISMATCH at {case}: ours has {a} parameters, the PyTorch peer {b}"
                ));
            }
            check_threads(&mut report, &case, t, &ours, &peers);
            let (ours_rate, peer_rate) = (
                medians_of(&ours, &["it_per_s"]),
                medians_of(&peers, &["it_per_s"]),
            );
            report.rows.push(Row {
                case: case.clone(),
                metric: format!("train step ({} loss)", o.loss),
                unit: Unit::ItPerS,
                ours: ours_rate,
                peer: format!("PyTorch {}", torch_version(&peers)),
                theirs: peer_rate,
                note: format!(
                    "{} iters, params {}{}",
                    iters,
                    ours.first()
                        .and_then(|v| num(v, &["params"]))
                        .map_or("?".into(), |p| format!("{p:.0}")),
                    peak_fraction(&peers, ours_rate, peer_rate, peak)
                ),
            });
            report
                .raw
                .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
        }
    }
    safetensors_interop(venv, &mut report)?;
    Ok(report)
}

/// The GFLOP/s of a 2048^3 torch matmul at `t` threads (the machine's practical f32 peak), as
/// a context row; `None` when torch is missing or the run fails (noted in the report).
pub(super) fn matmul_peak(venv: &Venv, t: usize, report: &mut Report) -> Option<f64> {
    if !venv.has(TORCH_PACKAGE) {
        return None;
    }
    println!("[bench] torch matmul GFLOP/s at {t} thread(s) ...");
    match run_json(
        with_threads(&mut Command::new(&venv.python), t)
            .args(["-c", TORCH_MATMUL])
            .arg(t.to_string()),
        "torch matmul",
    ) {
        Ok(v) => {
            let gflops = num(&v, &["gflops"]);
            report.rows.push(Row {
                case: format!("matmul 2048^3 t={t}"),
                metric: "torch sgemm (context)".into(),
                unit: Unit::Gflops,
                ours: None,
                peer: "torch.matmul".into(),
                theirs: gflops,
                note: "peak-ish FLOP rate of this machine".into(),
            });
            report
                .raw
                .push(json!({"case": "torch matmul", "threads": t, "peer": v}));
            gflops
        }
        Err(e) => {
            report.notes.push(format!("torch matmul: {e:#}"));
            None
        }
    }
}

/// How the "% of the sgemm peak" in the notes is computed.
pub(super) const PEAK_NOTE: &str = "GFLOP/step = nominal FLOPs of one step (forward + backward) counted by torch.utils.flop_counter.FlopCounterMode in the peer, the same model on both sides; % of peak = GFLOP/step x it/s / the 2048^3 torch sgemm GFLOP/s of this run. Convolutions (oneDNN) can run faster than that sgemm, so UNet fractions can exceed 100%.";

/// `", 1.84 GFLOP/step: ours 83% / peer 82% of the sgemm peak"` from the peer's FlopCounterMode
/// count (same model on both sides), both rates and the measured peak; empty when unknown.
pub(super) fn peak_fraction(
    peers: &[Value],
    ours_rate: Option<f64>,
    peer_rate: Option<f64>,
    peak_gflops: Option<f64>,
) -> String {
    let flops = peers.first().and_then(|v| num(v, &["flops_per_step"]));
    match (flops, peak_gflops) {
        (Some(f), Some(peak)) if f > 0.0 && peak > 0.0 => {
            let pct = |r: Option<f64>| {
                r.map_or("?".into(), |r| {
                    format!("{:.0}%", 100.0 * f * r / (peak * 1e9))
                })
            };
            format!(
                ", {:.2} GFLOP/step: ours {} / peer {} of the sgemm peak",
                f / 1e9,
                pct(ours_rate),
                pct(peer_rate)
            )
        }
        _ => String::new(),
    }
}

/// Writes a dmd-nets checkpoint (and a per-tensor .npy dump) with the `write_checkpoint`
/// example and checks with Python's `safetensors` + numpy that every tensor is bit-identical
/// and the config metadata parses; a mismatch fails the suite.
fn safetensors_interop(venv: &Venv, report: &mut Report) -> Result<()> {
    let writer = build_example("dmd-nets", "write_checkpoint")?;
    let dir = target_dir().join("bench").join("interop");
    std::fs::create_dir_all(&dir)?;
    let ckpt = dir.join("unet.safetensors");
    let status = Command::new(&writer).arg(&ckpt).status()?;
    if !status.success() {
        bail!("write_checkpoint failed ({status})");
    }
    let script = crate_dir("dmd-nets")
        .join("scripts")
        .join("check_safetensors.py");
    let out = venv.command(&script).arg(&ckpt).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    println!(
        "[bench] safetensors interop (Python safetensors + numpy): {}",
        text.trim()
    );
    if !out.status.success() {
        bail!(
            "a dmd-nets checkpoint does not read back bit-identically in Python:\n{}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    report.notes.push(format!(
        "safetensors interop: {} read in Python, all tensors bit-identical",
        ckpt.display()
    ));
    Ok(())
}

/// Prints a run's `it_per_s` as it comes in, and passes the run on.
pub(super) fn show_rate(v: Value) -> Value {
    if let Some(r) = num(&v, &["it_per_s"]) {
        println!("[bench]   -> {r:.2} it/s");
    }
    v
}

/// The torch version a PyTorch peer reported.
pub(super) fn torch_version(peers: &[Value]) -> String {
    peers
        .first()
        .and_then(|p| p.get("torch"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// Records a problem when either side reports a thread count other than the one asked for.
pub(super) fn check_threads(
    report: &mut Report,
    case: &str,
    t: usize,
    ours: &[Value],
    peers: &[Value],
) {
    for (side, runs) in [("ours", ours), ("peer", peers)] {
        if let Some(got) = runs.first().and_then(|v| num(v, &["threads"]))
            && got != t as f64
        {
            report.problems.push(format!(
                "THREAD MISMATCH at {case}: {side} ran with {got} threads, asked for {t}"
            ));
        }
    }
}
