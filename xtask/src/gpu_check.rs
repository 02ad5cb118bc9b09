//! `cargo xtask gpu-check`: on a machine with an NVIDIA GPU, builds with CUDA, runs the smoke
//! study on the GPU, times the paper's MNIST UNet (C = 64, 31M parameters) teacher step and
//! DMD iteration (and the toy MLP's) against PyTorch on the same GPU, in f32 and in bf16
//! autocast, and extrapolates the `paper` profile's training wall time from `dmd plan`. On a
//! machine without a GPU it says so and exits 0.
//!
//! Writes `target/gpu-check/GPU-CHECK.md` and `gpu-check.json`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::bench::venv::{TORCH_PACKAGE, Venv};
use crate::bench::{build_example, crate_dir, run_json};
use crate::{paths, process, reproduce, setup};

/// The whole check should fit in this many seconds once built (the budget).
const BUDGET_S: f64 = 480.0;

/// Which training run a measured rate stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// One teacher training step (EDM loss, AdamW).
    TeacherStep,
    /// One DMD iteration (generator every 5th, fake score every iteration).
    DmdIteration,
}

/// One timed case: our binary and the PyTorch peer with the same arguments.
struct Case {
    what: &'static str,
    /// `dmd plan`'s network label this case measures.
    net: &'static str,
    batch: u64,
    role: Role,
    bf16: bool,
    ours: Command,
    peer: Command,
}

/// Entry point of `cargo xtask gpu-check`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("gpu-check takes no arguments (got `{a}`)");
    }
    if !process::nvidia_gpu_present() {
        println!(
            "[gpu-check] no NVIDIA GPU on this machine (`nvidia-smi -L` lists none): nothing to check"
        );
        return Ok(());
    }
    let t_build = Instant::now();
    setup::ensure(Some(setup::Variant::Cuda))?;
    let dmd = reproduce::build_dmd("gpu-check")?;
    let step_bin = build_example("dmd-train", "bench_step")?;
    let dmd_bin = build_example("dmd-train", "bench_dmd")?;
    let venv = Venv::ensure(true)?;
    if !venv.has(TORCH_PACKAGE) {
        bail!(
            "`{TORCH_PACKAGE}` did not install in the bench venv: no PyTorch peer to compare with"
        );
    }
    let build_s = t_build.elapsed().as_secs_f64();
    let start = Instant::now();
    let out = paths::root().join("target").join("gpu-check");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;

    // 1. libtorch sees the GPU.
    let info = Command::new(&dmd)
        .arg("info")
        .output()
        .context("cannot run dmd info")?;
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    print!("{info}");
    if !info.contains("cuda available: true") {
        bail!(
            "nvidia-smi sees a GPU but libtorch does not: run `cargo xtask setup --cuda` and check the driver (`nvidia-smi`)"
        );
    }
    let gpu = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total,driver_version",
            "--format=csv,noheader",
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default();

    // 2. The smoke study on the GPU, from an empty stage store.
    println!("[gpu-check] the smoke study on the GPU ...");
    let t = Instant::now();
    let (results, stages) = (out.join("results"), out.join("stages"));
    process::run_checked(
        reproduce::dmd_command(&dmd)
            .args(["reproduce", "--profile", "smoke", "--out"])
            .arg(&results)
            .arg("--runs")
            .arg(&stages),
        "dmd reproduce --profile smoke (on the GPU)",
    )?;
    let smoke_s = t.elapsed().as_secs_f64();
    let devices = stage_devices(&stages)?;
    if !devices.iter().all(|d| d.starts_with("Cuda")) {
        bail!("the smoke study ran on {devices:?}, not only on the GPU");
    }
    println!("[gpu-check] smoke study: {smoke_s:.0} s on {devices:?}");
    // One smoke experiment again with bf16 autocast in teacher training and distillation.
    let bf16_results = out.join("results-bf16");
    process::run_checked(
        reproduce::dmd_command(&dmd)
            .args(["run", "configs/mnist-uncond.toml", "--profile", "smoke"])
            .args([
                "--set",
                "teacher.autocast=\"bf16\"",
                "--set",
                "distill.autocast=\"bf16\"",
            ])
            .arg("--out")
            .arg(&bf16_results)
            .arg("--runs")
            .arg(&stages),
        "dmd run configs/mnist-uncond.toml --profile smoke with bf16 autocast (on the GPU)",
    )?;
    let summary = std::fs::read_to_string(bf16_results.join("mnist-uncond").join("summary.json"))
        .context("the bf16 smoke run wrote no summary.json")?;
    let summary: Value = serde_json::from_str(&summary).context("summary.json is not JSON")?;
    if summary["distill_autocast"] != "bf16" {
        bail!("the bf16 smoke run's summary does not record distill.autocast = bf16");
    }
    println!("[gpu-check] the bf16 smoke run finished");

    // 3. The paper's networks, ours against PyTorch, f32 and bf16.
    let step_py = crate_dir("dmd-nets").join("bench").join("peer_step.py");
    let dmd_py = crate_dir("dmd-train").join("bench").join("peer_dmd.py");
    let mut cases = Vec::new();
    for bf16 in [false, true] {
        let step = |model: &str, batch: u64, iters: u32, warmup: u32| {
            let mut a: Vec<String> = [
                // The EDM loss in the form teacher training uses (EDM's weighted one).
                "--model",
                model,
                "--device",
                "cuda",
                "--loss",
                "reference",
                "--batch",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            a.extend([batch.to_string(), "--iters".into(), iters.to_string()]);
            a.extend(["--warmup".into(), warmup.to_string()]);
            if bf16 {
                a.push("--bf16".into());
            }
            a
        };
        let dmd_args = |model: &str, batch: u64, iters: u32| {
            let p = if bf16 { "bf16" } else { "f32" };
            vec![
                iters.to_string(),
                model.into(),
                "cuda".into(),
                batch.to_string(),
                p.into(),
            ]
        };
        let mut pair = |what, net, batch, role, bin: &Path, py: &Path, a: Vec<String>| {
            let mut ours = Command::new(bin);
            ours.args(&a);
            let mut peer = venv.command(py);
            peer.args(&a);
            cases.push(Case {
                what,
                net,
                batch,
                role,
                bf16,
                ours,
                peer,
            });
        };
        let a = step("unet-paper", 512, 10, 3);
        pair(
            "teacher step, paper MNIST UNet",
            "unet C=64",
            512,
            Role::TeacherStep,
            &step_bin,
            &step_py,
            a,
        );
        let a = dmd_args("unet-paper", 32, 30);
        pair(
            "DMD iteration, paper MNIST UNet",
            "unet C=64",
            32,
            Role::DmdIteration,
            &dmd_bin,
            &dmd_py,
            a,
        );
        if !bf16 {
            let a = step("mlp", 512, 200, 20);
            pair(
                "teacher step, toy MLP",
                "mlp 5x384",
                512,
                Role::TeacherStep,
                &step_bin,
                &step_py,
                a,
            );
            let a = dmd_args("mlp", 512, 200);
            pair(
                "DMD iteration, toy MLP",
                "mlp 5x384",
                512,
                Role::DmdIteration,
                &dmd_bin,
                &dmd_py,
                a,
            );
        }
    }
    let mut rows = Vec::new();
    let mut rates: BTreeMap<(String, u64, Role, bool), f64> = BTreeMap::new();
    for mut c in cases {
        let precision = if c.bf16 { "bf16" } else { "f32" };
        println!("[gpu-check] {} ({precision}): ours ...", c.what);
        let ours = run_json(&mut c.ours, "our benchmark")?;
        println!("[gpu-check] {} ({precision}): PyTorch ...", c.what);
        let peer = run_json(&mut c.peer, "the PyTorch peer")?;
        let (o, p) = (rate(&ours)?, rate(&peer)?);
        if ours["params"] != peer["params"] {
            bail!(
                "{}: ours has {} parameters, the PyTorch peer {}: not the same network",
                c.what,
                ours["params"],
                peer["params"]
            );
        }
        println!(
            "[gpu-check] {} ({precision}): {o:.2} it/s, PyTorch {p:.2} it/s ({:.2}x)",
            c.what,
            o / p
        );
        rates.insert((c.net.to_string(), c.batch, c.role, c.bf16), o);
        rows.push(json!({
            "case": c.what, "precision": precision, "batch": c.batch, "params": ours["params"],
            "ours_it_per_s": o, "pytorch_it_per_s": p, "ratio": o / p,
            "pytorch": peer["torch"],
        }));
    }

    // 4. The paper profile's training time from these rates.
    let plan = reproduce::dmd_command(&dmd)
        .args(["plan", "--profile", "paper", "--json"])
        .output()
        .context("cannot run dmd plan")?;
    if !plan.status.success() {
        bail!("dmd plan failed: {}", String::from_utf8_lossy(&plan.stderr));
    }
    let plan: Value = serde_json::from_slice(&plan.stdout).context("dmd plan printed no JSON")?;
    let estimate = extrapolate(&plan, &rates);
    let check_s = start.elapsed().as_secs_f64();

    let report = json!({
        "gpu": gpu, "build_s": build_s, "check_s": check_s, "smoke_study_s": smoke_s,
        "benchmarks": rows, "paper_profile": estimate,
    });
    std::fs::write(
        out.join("gpu-check.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    let md = markdown(&report);
    std::fs::write(out.join("GPU-CHECK.md"), &md)?;
    println!("\n{md}");
    println!(
        "[gpu-check] written to {}",
        out.join("GPU-CHECK.md").display()
    );
    if check_s > BUDGET_S {
        println!(
            "[gpu-check] warning: the check took {check_s:.0} s, over its {BUDGET_S:.0} s budget"
        );
    }
    Ok(())
}

fn rate(v: &Value) -> Result<f64> {
    v["it_per_s"]
        .as_f64()
        .filter(|r| r.is_finite() && *r > 0.0)
        .with_context(|| format!("no it_per_s in {v}"))
}

/// The devices of the teacher stages in `stages` (their keys' `compute.device`).
fn stage_devices(stages: &Path) -> Result<Vec<String>> {
    let mut devices = Vec::new();
    for e in std::fs::read_dir(stages)? {
        let dir: PathBuf = e?.path();
        if !dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("teacher-"))
        {
            continue;
        }
        let key: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("key.json"))?)?;
        if let Some(d) = key["compute"]["device"].as_str() {
            devices.push(d.to_string());
        }
    }
    devices.sort();
    devices.dedup();
    if devices.is_empty() {
        bail!(
            "no teacher stage in {}: the smoke study trained nothing",
            stages.display()
        );
    }
    Ok(devices)
}

/// Hours of training per experiment of `dmd plan --json` at the measured rates (f32 and bf16),
/// teachers trained elsewhere (shared, reference, checkpoint) counting nothing. Sampling and
/// the measurements are not counted.
fn extrapolate(plan: &Value, rates: &BTreeMap<(String, u64, Role, bool), f64>) -> Value {
    let mut rows = Vec::new();
    let mut totals = [0.0f64; 2];
    let mut missing = Vec::new();
    for e in plan["experiments"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or("?");
        if e.get("skipped").is_some_and(|s| !s.is_null()) {
            rows.push(json!({"experiment": name, "note": "skipped: needs files the user brings"}));
            continue;
        }
        let mut runs: Vec<(&Value, Role)> = Vec::new();
        if e["teacher"]["source"]["kind"] == "trained" {
            runs.push((&e["teacher"]["run"], Role::TeacherStep));
        }
        for s in e["students"].as_array().into_iter().flatten() {
            if s.get("shared_with").is_some_and(|w| !w.is_null()) {
                continue; // distilled once, by the experiment named there
            }
            if s["gan"] == true {
                // The GAN head adds discriminator passes to every iteration: no rate here.
                missing.push(format!(
                    "{name}: a GAN student (no rate measured with the head)"
                ));
                continue;
            }
            runs.push((s, Role::DmdIteration));
        }
        let mut hours = [0.0f64; 2];
        for (run, role) in runs {
            let net = run["net"].as_str().unwrap_or("?").to_string();
            let batch = run["batch"].as_u64().unwrap_or(0);
            let its = run["iterations"].as_f64().unwrap_or(0.0);
            for (k, bf16) in [false, true].into_iter().enumerate() {
                match rates.get(&(net.clone(), batch, role, bf16)) {
                    Some(r) => hours[k] += its / r / 3600.0,
                    None if bf16 => {
                        // Only the UNet is measured in bf16; the rest counts at its f32 rate.
                        if let Some(r) = rates.get(&(net.clone(), batch, role, false)) {
                            hours[k] += its / r / 3600.0;
                        }
                    }
                    None => missing.push(format!("{name}: {net} batch {batch} ({role:?})")),
                }
            }
        }
        totals[0] += hours[0];
        totals[1] += hours[1];
        rows.push(json!({"experiment": name, "hours_f32": hours[0], "hours_bf16": hours[1]}));
    }
    json!({"experiments": rows, "total_hours_f32": totals[0], "total_hours_bf16": totals[1],
           "not_measured": missing})
}

fn markdown(r: &Value) -> String {
    let mut s = format!(
        "# gpu-check\n\nGPU: {}; build {:.0} s; check {:.0} s; smoke study on the GPU {:.0} s.\n\n| case | precision | batch | ours (it/s) | PyTorch {} (it/s) | ratio |\n|---|---|---|---|---|---|\n",
        r["gpu"].as_str().unwrap_or("?"),
        r["build_s"].as_f64().unwrap_or(f64::NAN),
        r["check_s"].as_f64().unwrap_or(f64::NAN),
        r["smoke_study_s"].as_f64().unwrap_or(f64::NAN),
        r["benchmarks"][0]["pytorch"].as_str().unwrap_or("?"),
    );
    for b in r["benchmarks"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2}x |\n",
            b["case"].as_str().unwrap_or("?"),
            b["precision"].as_str().unwrap_or("?"),
            b["batch"],
            b["ours_it_per_s"].as_f64().unwrap_or(f64::NAN),
            b["pytorch_it_per_s"].as_f64().unwrap_or(f64::NAN),
            b["ratio"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    let p = &r["paper_profile"];
    s.push_str("\nThe `paper` profile's training at these rates (teachers and students; teachers shared between experiments or given as checkpoints count once or not at all; not counted: the teacher's EMA update and data loading, sampling and the measurements, so this is a lower bound):\n\n| experiment | f32 (h) | bf16 autocast (h) |\n|---|---|---|\n");
    for e in p["experiments"].as_array().into_iter().flatten() {
        match e.get("note").and_then(Value::as_str) {
            Some(note) => s.push_str(&format!(
                "| {} | {note} | |\n",
                e["experiment"].as_str().unwrap_or("?")
            )),
            None => s.push_str(&format!(
                "| {} | {:.1} | {:.1} |\n",
                e["experiment"].as_str().unwrap_or("?"),
                e["hours_f32"].as_f64().unwrap_or(f64::NAN),
                e["hours_bf16"].as_f64().unwrap_or(f64::NAN),
            )),
        }
    }
    s.push_str(&format!(
        "| **total, one GPU** | **{:.1}** | **{:.1}** |\n",
        p["total_hours_f32"].as_f64().unwrap_or(f64::NAN),
        p["total_hours_bf16"].as_f64().unwrap_or(f64::NAN),
    ));
    if let Some(m) = p["not_measured"].as_array().filter(|m| !m.is_empty()) {
        s.push_str(&format!("\nNot counted (no measured rate): {m:?}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_profile_is_extrapolated_from_the_measured_rates() {
        let plan = json!({"profile": "paper", "experiments": [
            {"name": "a", "teacher": {"run": {"net": "unet C=64", "params": 1, "batch": 512, "iterations": 3600, "snapshot": 0, "gan": false}, "source": {"kind": "trained"}},
             "students": [{"net": "unet C=64", "params": 1, "batch": 32, "iterations": 7200, "snapshot": 8192, "gan": false}]},
            {"name": "b", "teacher": {"run": {"net": "unet C=64", "params": 1, "batch": 512, "iterations": 3600, "snapshot": 0, "gan": false}, "source": {"kind": "shared_with", "detail": "a"}},
             "students": [{"net": "unet C=64", "params": 1, "batch": 32, "iterations": 3600, "snapshot": 1024, "gan": false},
                          {"net": "unet C=64", "params": 1, "batch": 32, "iterations": 7200, "snapshot": 8192, "gan": false, "shared_with": "a"},
                          {"net": "mlp 5x384", "params": 1, "batch": 512, "iterations": 3600, "snapshot": 1024, "gan": false}]},
            {"name": "c", "skipped": "needs files", "teacher": {"run": {"net": "unet C=192", "params": 1, "batch": 512, "iterations": 1, "snapshot": 0, "gan": false}, "source": {"kind": "checkpoint", "detail": "x"}}, "students": []}
        ]});
        let mut rates = BTreeMap::new();
        rates.insert(
            ("unet C=64".to_string(), 512, Role::TeacherStep, false),
            1.0,
        );
        rates.insert(("unet C=64".to_string(), 512, Role::TeacherStep, true), 2.0);
        rates.insert(
            ("unet C=64".to_string(), 32, Role::DmdIteration, false),
            2.0,
        );
        rates.insert(("unet C=64".to_string(), 32, Role::DmdIteration, true), 4.0);
        rates.insert(
            ("mlp 5x384".to_string(), 512, Role::DmdIteration, false),
            1.0,
        );
        let e = extrapolate(&plan, &rates);
        // a: teacher 3600 / 1 it/s = 1 h, student 7200 / 2 = 1 h (bf16: 0.5 + 0.5).
        assert_eq!(e["experiments"][0]["hours_f32"], 2.0);
        assert_eq!(e["experiments"][0]["hours_bf16"], 1.0);
        // b: its teacher is a's (free), and so is its 8192 student; UNet student 0.5 h (bf16
        // 0.25 h), MLP student 1 h at its f32 rate in both columns.
        assert_eq!(e["experiments"][1]["hours_f32"], 1.5);
        assert_eq!(e["experiments"][1]["hours_bf16"], 1.25);
        assert_eq!(e["total_hours_f32"], 3.5);
        assert_eq!(
            e["experiments"][2]["note"],
            "skipped: needs files the user brings"
        );
        assert!(e["not_measured"].as_array().unwrap().is_empty());
        // A network nobody measured is listed, not silently counted as free.
        rates.remove(&("mlp 5x384".to_string(), 512, Role::DmdIteration, false));
        let e = extrapolate(&plan, &rates);
        assert_eq!(e["not_measured"].as_array().unwrap().len(), 1);
        let md = markdown(&json!({"gpu": "H", "benchmarks": [], "paper_profile": e}));
        assert!(md.contains("Not counted"), "{md}");
    }
}
