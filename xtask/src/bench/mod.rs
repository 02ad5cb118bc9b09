//! `cargo xtask bench [ot|nn|nets|dmd|all]`: our benchmark binaries against their Python peers.
//!
//! Each suite builds one crate's examples once (`cargo build --release -p CRATE --examples`),
//! then runs our binary straight from `target/release/examples/` (so no cargo time is counted)
//! and the crate's Python peer script (`crates/CRATE/bench/*.py`) on the same seeded data,
//! alternating ours, peer, ours, peer ... for `--rounds` rounds. Both sides get the same thread
//! count (`RAYON_NUM_THREADS`, `OMP_NUM_THREADS`, `MKL_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, and
//! `--threads` for torch). The table reports medians over rounds and the ratio
//! peer time / our time (for throughputs: our it/s / peer it/s), so > 1 means we are faster.
//! Everything (raw outputs included) goes to `target/bench/<suite>.json`.
//!
//! The peers run in a venv at `$DMD_HOME/bench-venv`, made on first use: numpy, scipy, lap,
//! POT, faiss-cpu and safetensors for `ot`/`nn`, and `torch==2.13.0` (the same version as our
//! libtorch; about 4.7 GB with its CUDA wheels) only when `nets` or `dmd` runs. A stamp file
//! lists what is installed, so later runs skip pip. A package that fails to install marks its
//! peers "unavailable" and the other peers still run. When our result and a peer's disagree
//! (different optimal transport cost, different nearest neighbours, a network with a different
//! parameter count) the problem is printed loudly and the command exits nonzero.
//!
//! The code is split by concern: this file parses the options, runs the suites and holds the
//! small shared helpers (machine, threads, building examples, running them, medians); `venv`
//! makes the peers' Python environment, `report` the result table and its JSON, and `ot`, `nn`,
//! `nets` and `dmd` one suite each.

mod dmd;
mod nets;
mod nn;
mod ot;
mod report;
pub(crate) mod venv;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{paths, process};
use dmd::bench_dmd;
use nets::bench_nets;
use nn::bench_nn;
use ot::bench_ot;
use venv::Venv;

const USAGE: &str = "\
cargo xtask bench [ot|nn|nets|dmd|all] [OPTIONS]

Suites (default: all):
  ot     dmd-ot bench_ot vs lap.lapjv, scipy linear_sum_assignment, POT emd2 / sinkhorn2
         (N = 1000, 2000, 4000; d = 4, 1024; plus an outlier point, N = 2000, d = 16, and
         costs spanning 1e-8 ... 1e8, N = 1000)
  nn     dmd-analysis bench_nn vs numpy brute force, faiss IndexFlatL2 (k = 2), bare sgemm
         (2000 queries x 60000 train x 1024 dims)
  nets   dmd-train bench_step (one EDM training step: dmd-nets network, dmd-train AdamW) vs
         PyTorch peer_step.py, models mlp and unet-cpu, plus the GFLOP/s of a 2048^3 torch
         matmul for context
  dmd    dmd-train bench_dmd vs PyTorch peer_dmd.py

Options:
  --quick            smallest sizes and fewest iterations (checks the plumbing end to end)
  --threads T[,T..]  thread counts to run at (default: all cores); both sides get the same
  --rounds R         alternate ours/peer R times and report medians (default: 3 for nets and
                     dmd, 1 for ot and nn, which repeat internally)
  --reps R           repetitions inside each ot/nn run (default 3; 2 with --quick)
  --loss L           nets: fused | reference, the loss form both sides use (default fused)
";

/// The four benchmark suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suite {
    Ot,
    Nn,
    Nets,
    Dmd,
}

impl Suite {
    fn name(self) -> &'static str {
        match self {
            Suite::Ot => "ot",
            Suite::Nn => "nn",
            Suite::Nets => "nets",
            Suite::Dmd => "dmd",
        }
    }
    /// Whether the suite's peer needs torch in the venv.
    fn needs_torch(self) -> bool {
        matches!(self, Suite::Nets | Suite::Dmd)
    }
}

/// Parsed command-line options.
#[derive(Debug, Clone)]
struct Opts {
    suites: Vec<Suite>,
    quick: bool,
    threads: Vec<usize>,
    rounds: Option<usize>,
    reps: Option<usize>,
    loss: String,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        suites: Vec::new(),
        quick: false,
        threads: vec![nproc()],
        rounds: None,
        reps: None,
        loss: "fused".into(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("`{a}` needs a value (see `cargo xtask bench --help`)"))
        };
        match a.as_str() {
            "ot" => o.suites.push(Suite::Ot),
            "nn" => o.suites.push(Suite::Nn),
            "nets" => o.suites.push(Suite::Nets),
            "dmd" => o.suites.push(Suite::Dmd),
            "all" => o
                .suites
                .extend([Suite::Ot, Suite::Nn, Suite::Nets, Suite::Dmd]),
            "--quick" => o.quick = true,
            "--threads" => {
                o.threads = value()?
                    .split(',')
                    .map(|t| match t.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => bail!("--threads takes positive integers like `1,2`, not `{t}`"),
                    })
                    .collect::<Result<_>>()?
            }
            "--rounds" => o.rounds = Some(positive(&value()?, "--rounds")?),
            "--reps" => o.reps = Some(positive(&value()?, "--reps")?),
            "--loss" => {
                let l = value()?;
                if l != "fused" && l != "reference" {
                    bail!("--loss must be `fused` or `reference`, not `{l}`");
                }
                o.loss = l;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` for `cargo xtask bench`\n\n{USAGE}"),
        }
    }
    if o.suites.is_empty() {
        o.suites = vec![Suite::Ot, Suite::Nn, Suite::Nets, Suite::Dmd];
    }
    let mut seen = Vec::new();
    o.suites.retain(|s| {
        let new = !seen.contains(s);
        seen.push(*s);
        new
    });
    Ok(o)
}

fn positive(s: &str, flag: &str) -> Result<usize> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{flag} takes a positive integer, not `{s}`"),
    }
}

/// Entry point of `cargo xtask bench`.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let machine = Machine::detect();
    let out_dir = paths::root().join("target").join("bench");
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let busy = machine.load_1min();
    if busy > 0.75 * machine.nproc as f64 && opts.threads.iter().any(|&t| t > 1) {
        println!(
            "[bench] warning: load average {busy:.1} on {} cores: multi-threaded OpenMP/rayon runs \
             slow down badly on a busy machine (both sides alike); compare with `--threads 1`",
            machine.nproc
        );
    }
    let venv = Venv::ensure(opts.suites.iter().any(|s| s.needs_torch()))?;
    let mut failures = Vec::new();
    for &suite in &opts.suites {
        let start = Instant::now();
        println!("\n[bench] ===== suite `{}` =====", suite.name());
        let result = match suite {
            Suite::Ot => bench_ot(&opts, &venv),
            Suite::Nn => bench_nn(&opts, &venv),
            Suite::Nets => bench_nets(&opts, &venv),
            Suite::Dmd => bench_dmd(&opts, &venv),
        };
        match result {
            Ok(report) => {
                report.print(&machine);
                let path = out_dir.join(format!("{}.json", suite.name()));
                report.write(&path, &machine, &opts)?;
                println!(
                    "[bench] {}: wrote {} ({:.0} s)",
                    suite.name(),
                    path.display(),
                    start.elapsed().as_secs_f64()
                );
                for p in &report.problems {
                    eprintln!("[bench] !!! {}: {p}", suite.name());
                    failures.push(format!("{}: {p}", suite.name()));
                }
            }
            Err(e) => {
                eprintln!("[bench] !!! suite `{}` failed: {e:#}", suite.name());
                failures.push(format!("{}: {e:#}", suite.name()));
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} problem(s) in the benchmarks:\n  - {}",
            failures.len(),
            failures.join("\n  - ")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Machine and environment
// ---------------------------------------------------------------------------------------------

fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the table header says about the machine.
struct Machine {
    nproc: usize,
    cpu: String,
    load: String,
}

impl Machine {
    fn detect() -> Self {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            nproc: nproc(),
            cpu,
            load: load_average(),
        }
    }

    /// The one-minute load average (0 when unknown).
    fn load_1min(&self) -> f64 {
        self.load
            .split_whitespace()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0.0)
    }
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Sets every thread-count knob our binaries and the peers read.
fn with_threads(cmd: &mut Command, threads: usize) -> &mut Command {
    let t = threads.to_string();
    for var in [
        "RAYON_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
    ] {
        cmd.env(var, &t);
    }
    cmd
}

/// The cargo target folder our examples are built into.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                paths::root().join(p)
            }
        }
        _ => paths::root().join("target"),
    }
}

/// Builds `krate`'s examples in release mode and returns the path of example `name`.
pub(crate) fn build_example(krate: &str, name: &str) -> Result<PathBuf> {
    println!("[bench] building {krate} examples (release) ...");
    let t = Instant::now();
    process::run_checked(
        &mut process::cargo(&["build", "--release", "-p", krate, "--examples"]),
        &format!("cargo build --release -p {krate} --examples"),
    )?;
    let bin = target_dir().join("release").join("examples").join(name);
    if !bin.is_file() {
        bail!(
            "{} is missing after the build: does crates/{krate}/examples/{name}.rs exist?",
            bin.display()
        );
    }
    println!("[bench] built in {:.0} s", t.elapsed().as_secs_f64());
    Ok(bin)
}

/// Runs `cmd` (stderr streamed to the terminal), and parses its stdout as JSON: the whole of it,
/// or else its last line that parses.
/// Runs our command and the peer's `n` times each, alternating (so both see the same machine
/// state), printing the rates; returns their JSON outputs. A failing peer is recorded in
/// `report.problems` and stops the peer's runs; a failing `ours` is an error.
fn alternate_rounds(
    (suite, case): (&str, &str),
    n: usize,
    (ours, ours_what): (&mut dyn FnMut() -> Command, &str),
    peer: Option<(&mut dyn FnMut() -> Command, &str)>,
    report: &mut report::Report,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let mut peer = peer;
    for round in 1..=n {
        println!("[bench] {suite} {case}: round {round} ours ...");
        mine.push(nets::show_rate(run_json(&mut ours(), ours_what)?));
        if let Some((cmd, what)) = peer.as_mut() {
            println!("[bench] {suite} {case}: round {round} peer ...");
            match run_json(&mut cmd(), what) {
                Ok(p) => theirs.push(nets::show_rate(p)),
                Err(e) => {
                    report.problems.push(format!("{what} at {case}: {e:#}"));
                    peer = None;
                }
            }
        }
    }
    Ok((mine, theirs))
}

pub(crate) fn run_json(cmd: &mut Command, what: &str) -> Result<Value> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {what} ({cmd:?})"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{what} failed ({}); its output:\n{}",
            out.status,
            tail(&stdout, 2000)
        );
    }
    if let Ok(v) = serde_json::from_str::<Value>(stdout.trim()) {
        return Ok(v);
    }
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .with_context(|| {
            format!(
                "{what} printed no JSON; its output:\n{}",
                tail(&stdout, 2000)
            )
        })
}

fn tail(s: &str, n: usize) -> &str {
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

pub(crate) fn crate_dir(krate: &str) -> PathBuf {
    paths::root().join("crates").join(krate)
}

// ---------------------------------------------------------------------------------------------
// Medians over rounds
// ---------------------------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// A number at a JSON path like `["sinkhorn", "ms_per_iter"]`.
fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// Collects, over rounds, the values of one metric for one case.
fn medians_of(values: &[Value], path: &[&str]) -> Option<f64> {
    median(values.iter().filter_map(|v| num(v, path)).collect())
}

fn rounds(o: &Opts, default: usize) -> usize {
    o.rounds
        .unwrap_or(if o.quick { default.min(2) } else { default })
}

fn reps(o: &Opts) -> usize {
    o.reps.unwrap_or(if o.quick { 2 } else { 3 })
}
