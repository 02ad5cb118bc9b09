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

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{paths, process, setup};

const USAGE: &str = "\
cargo xtask bench [ot|nn|nets|dmd|all] [OPTIONS]

Suites (default: all):
  ot     dmd-ot bench_ot vs lap.lapjv, scipy linear_sum_assignment, POT emd2 / sinkhorn2
         (N = 1000, 2000, 4000; d = 4, 1024)
  nn     dmd-analysis bench_nn vs numpy brute force, faiss IndexFlatL2 (k = 2), bare sgemm
         (2000 queries x 60000 train x 1024 dims)
  nets   dmd-nets bench_step (one EDM training step) vs PyTorch peer_step.py, models mlp and
         unet-cpu, plus the GFLOP/s of a 2048^3 torch matmul for context
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
fn build_example(krate: &str, name: &str) -> Result<PathBuf> {
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
fn run_json(cmd: &mut Command, what: &str) -> Result<Value> {
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

fn crate_dir(krate: &str) -> PathBuf {
    paths::root().join("crates").join(krate)
}

// ---------------------------------------------------------------------------------------------
// The Python venv
// ---------------------------------------------------------------------------------------------

/// Packages for the `ot` and `nn` peers.
const BASE_PACKAGES: [&str; 6] = ["numpy", "scipy", "lap", "POT", "faiss-cpu", "safetensors"];
/// The torch the `nets` and `dmd` peers need (our libtorch's version).
const TORCH_PACKAGE: &str = "torch==2.13.0";
const VENV_STAMP: &str = "dmd-bench-stamp.txt";

/// The peers' Python environment and which of its packages installed.
struct Venv {
    python: PathBuf,
    installed: BTreeSet<String>,
}

impl Venv {
    fn dir() -> PathBuf {
        paths::dmd_home().join("bench-venv")
    }

    /// Creates the venv if needed and installs what is missing; failures of single packages
    /// are reported and recorded as missing, not fatal.
    fn ensure(torch: bool) -> Result<Venv> {
        let dir = Self::dir();
        let python = dir.join("bin").join("python");
        let created = !python.is_file();
        if created {
            let system = setup::python()?;
            println!(
                "[bench] creating the peers' Python venv at {} (with {})",
                dir.display(),
                system.display()
            );
            let status = Command::new(&system)
                .args(["-m", "venv"])
                .arg(&dir)
                .status()
                .with_context(|| format!("could not run `{} -m venv`", system.display()))?;
            if !status.success() || !python.is_file() {
                bail!(
                    "`{} -m venv {}` failed ({status}): install the venv module (e.g. `apt-get install python3-venv`)",
                    system.display(),
                    dir.display()
                );
            }
        }
        let stamp_path = dir.join(VENV_STAMP);
        if created {
            // a stamp left from an earlier venv says nothing about this one
            let _ = fs::remove_file(&stamp_path);
        }
        let mut installed: BTreeSet<String> = fs::read_to_string(&stamp_path)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let mut wanted: Vec<(&str, &str)> = BASE_PACKAGES
            .iter()
            .map(|p| (*p, "the ot/nn peers"))
            .collect();
        if torch {
            wanted.push((
                TORCH_PACKAGE,
                "the nets/dmd peers: the same torch version as our libtorch (about 4.7 GB with its CUDA wheels)",
            ));
        }
        let missing: Vec<(&str, &str)> = wanted
            .iter()
            .copied()
            .filter(|(p, _)| !installed.contains(*p))
            .collect();
        if missing.is_empty() {
            println!(
                "[bench] venv {} has {} (stamp {VENV_STAMP}); skipping pip",
                dir.display(),
                installed.iter().cloned().collect::<Vec<_>>().join(" ")
            );
        } else {
            for (p, why) in &missing {
                println!("[bench] installing {p} into the venv, for {why}");
            }
            let names: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
            let t = Instant::now();
            if pip_install(&python, &names)? {
                installed.extend(names.iter().map(|s| s.to_string()));
            } else {
                println!("[bench] pip failed for the whole set; installing one by one");
                for name in names {
                    if pip_install(&python, &[name])? {
                        installed.insert(name.to_string());
                    } else {
                        eprintln!(
                            "[bench] !!! peer package `{name}` failed to install; the peers needing it are marked unavailable"
                        );
                    }
                }
            }
            let mut text: String = installed.iter().map(|p| format!("{p}\n")).collect();
            if text.is_empty() {
                text.push('\n');
            }
            fs::write(&stamp_path, text)
                .with_context(|| format!("cannot write {}", stamp_path.display()))?;
            println!("[bench] pip done in {:.0} s", t.elapsed().as_secs_f64());
        }
        Ok(Venv { python, installed })
    }

    fn has(&self, package: &str) -> bool {
        self.installed.contains(package)
    }

    fn command(&self, script: &Path) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(script);
        cmd
    }
}

/// `pip install names...` in the venv; `Ok(false)` when pip ran and failed.
fn pip_install(python: &Path, names: &[&str]) -> Result<bool> {
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
        .args(names)
        .status()
        .with_context(|| format!("could not run pip of {}", python.display()))?;
    Ok(status.success())
}

// ---------------------------------------------------------------------------------------------
// Results and the table
// ---------------------------------------------------------------------------------------------

/// What a number measures, which decides how the ratio is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Seconds,
    MsPerIter,
    ItPerS,
    Gflops,
}

impl Unit {
    fn lower_is_better(self) -> bool {
        matches!(self, Unit::Seconds | Unit::MsPerIter)
    }
    fn format(self, v: f64) -> String {
        match self {
            Unit::Seconds => format!("{v:.4} s"),
            Unit::MsPerIter => format!("{v:.3} ms/it"),
            Unit::ItPerS => format!("{v:.2} it/s"),
            Unit::Gflops => format!("{v:.1} GFLOP/s"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::MsPerIter => "ms_per_iter",
            Unit::ItPerS => "it_per_s",
            Unit::Gflops => "gflops",
        }
    }
}

/// One table row: our figure and one peer's, for one case and metric.
struct Row {
    case: String,
    metric: String,
    unit: Unit,
    ours: Option<f64>,
    peer: String,
    theirs: Option<f64>,
    note: String,
}

impl Row {
    /// peer time / our time (or our rate / peer rate): > 1 means we are faster.
    fn ratio(&self) -> Option<f64> {
        let (o, p) = (self.ours?, self.theirs?);
        if o <= 0.0 || p <= 0.0 {
            return None;
        }
        Some(if self.unit.lower_is_better() {
            p / o
        } else {
            o / p
        })
    }
}

/// A suite's rows, raw outputs and any disagreements between ours and the peers.
struct Report {
    suite: Suite,
    threads: Vec<usize>,
    rows: Vec<Row>,
    raw: Vec<Value>,
    problems: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn new(suite: Suite, threads: &[usize]) -> Self {
        Report {
            suite,
            threads: threads.to_vec(),
            rows: Vec::new(),
            raw: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn print(&self, m: &Machine) {
        println!(
            "\n[bench] {} | threads {} | {} cores, {} | load avg {} (shared machine: timings are noisy)",
            self.suite.name(),
            self.threads
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(","),
            m.nproc,
            m.cpu,
            load_average()
        );
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.case.clone(),
                    r.metric.clone(),
                    r.ours.map_or("-".into(), |v| r.unit.format(v)),
                    r.peer.clone(),
                    match r.theirs {
                        Some(v) => r.unit.format(v),
                        None if r.peer.is_empty() => String::new(),
                        None => "unavailable".into(),
                    },
                    r.ratio().map_or("-".into(), |x| format!("{x:.2}x")),
                    r.note.clone(),
                ]
            })
            .collect();
        let head = [
            "case",
            "metric",
            "ours",
            "peer",
            "peer value",
            "ratio",
            "note",
        ];
        let mut width = head.map(str::len);
        for c in &cells {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(s.chars().count());
            }
        }
        let line = |c: &[String]| {
            let mut s = String::new();
            for (i, (cell, w)) in c.iter().zip(width).enumerate() {
                if i == 2 || i == 4 || i == 5 {
                    s.push_str(&format!("{cell:>w$}  "));
                } else {
                    s.push_str(&format!("{cell:<w$}  "));
                }
            }
            println!("{}", s.trim_end());
        };
        line(&head.map(String::from));
        println!(
            "{}",
            "-".repeat(width.iter().sum::<usize>() + 2 * width.len())
        );
        for c in &cells {
            line(c);
        }
        println!(
            "(ratio = peer time / our time, or our it/s / peer it/s: > 1 means we are faster)"
        );
        for n in &self.notes {
            println!("note: {n}");
        }
    }

    fn write(&self, path: &Path, m: &Machine, o: &Opts) -> Result<()> {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "case": r.case, "metric": r.metric, "unit": r.unit.name(),
                    "ours": r.ours, "peer": r.peer, "peer_value": r.theirs,
                    "ratio_peer_over_ours": r.ratio(), "note": r.note,
                })
            })
            .collect();
        let doc = json!({
            "suite": self.suite.name(),
            "machine": {"nproc": m.nproc, "cpu": m.cpu, "load_avg_start": m.load, "load_avg_end": load_average()},
            "threads": self.threads,
            "quick": o.quick,
            "rows": rows,
            "problems": self.problems,
            "notes": self.notes,
            "raw": self.raw,
        });
        let text = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
        fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }
}

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

// ---------------------------------------------------------------------------------------------
// ot: exact assignment and Sinkhorn
// ---------------------------------------------------------------------------------------------

const OT_EXACT_PEERS: [(&str, &str); 3] = [
    ("lap.lapjv", "lap"),
    ("scipy.linear_sum_assignment", "scipy"),
    ("POT.emd2", "POT"),
];

fn bench_ot(o: &Opts, venv: &Venv) -> Result<Report> {
    let bin = build_example("dmd-ot", "bench_ot")?;
    let script = crate_dir("dmd-ot").join("bench").join("peers.py");
    let (ns, ds): (&[usize], &[usize]) = if o.quick {
        (&[1000], &[4, 1024])
    } else {
        (&[1000, 2000, 4000], &[4, 1024])
    };
    let reps = reps(o).to_string();
    let work = paths::root().join("target").join("bench").join("ot-work");
    let mut report = Report::new(Suite::Ot, &o.threads);
    for &t in &o.threads {
        for &d in ds {
            for &n in ns {
                let case = format!("n={n} d={d} t={t}");
                let dir = work.join(format!("n{n}_d{d}"));
                let _ = fs::remove_dir_all(&dir);
                fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let (mut ours, mut peers) = (Vec::new(), Vec::new());
                for round in 0..rounds(o, 1) {
                    println!("[bench] ot {case}: round {} ours ...", round + 1);
                    let ours_json = dir.join("ours.json");
                    let v = run_json(
                        with_threads(&mut Command::new(&bin), t)
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
                        with_threads(&mut venv.command(&script), t)
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
                                // Our own check (relative 1e-9, as peers.py's same_optimum).
                                let differs = match (num(e, &["total_cost"]), ours_total) {
                                    (Some(a), Some(b)) => (a - b).abs() > 1e-9 * b.abs().max(1.0),
                                    _ => false,
                                };
                                if differs || e.get("same_optimum") == Some(&Value::Bool(false)) {
                                    report.problems.push(format!(
                                        "OT OPTIMUM MISMATCH at {case}: {name} total cost {} vs ours {}",
                                        e.get("total_cost").unwrap_or(&Value::Null),
                                        our.get("total_cost").unwrap_or(&Value::Null)
                                    ));
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
                        let same = peers.iter().all(|p| {
                            p.pointer(&format!("/{peer}/same_optimum")) != Some(&Value::Bool(false))
                        });
                        if same {
                            "same optimum"
                        } else {
                            "OPTIMUM MISMATCH"
                        }
                        .to_string()
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
                report.rows.push(Row {
                    case: case.clone(),
                    metric: "cost matrix".into(),
                    unit: Unit::Seconds,
                    ours: medians_of(&ours, &["cost_matrix_s"]),
                    peer: String::new(),
                    theirs: None,
                    note: "ours only (peers get the matrix)".into(),
                });
                report
                    .raw
                    .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
            }
        }
    }
    let _ = fs::remove_dir(&work);
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// nn: two nearest neighbours with mean distance
// ---------------------------------------------------------------------------------------------

fn bench_nn(o: &Opts, venv: &Venv) -> Result<Report> {
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

// ---------------------------------------------------------------------------------------------
// nets: one EDM training step, ours (tch) vs PyTorch
// ---------------------------------------------------------------------------------------------

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

fn bench_nets(o: &Opts, venv: &Venv) -> Result<Report> {
    setup::ensure(None)?;
    let bin = build_example("dmd-nets", "bench_step")?;
    let script = crate_dir("dmd-nets").join("bench").join("peer_step.py");
    let torch = venv.has(TORCH_PACKAGE);
    let mut report = Report::new(Suite::Nets, &o.threads);
    if !torch {
        report.notes.push(format!(
            "`{TORCH_PACKAGE}` did not install: PyTorch peers unavailable"
        ));
    }
    for &t in &o.threads {
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
            let (mut ours, mut peers) = (Vec::new(), Vec::new());
            for round in 0..rounds(o, 3) {
                println!("[bench] nets {case}: round {} ours ...", round + 1);
                ours.push(show_rate(run_json(
                    with_threads(&mut Command::new(&bin), t).args(&common),
                    "bench_step",
                )?));
                if torch {
                    println!("[bench] nets {case}: round {} peer ...", round + 1);
                    match run_json(
                        with_threads(&mut venv.command(&script), t).args(&common),
                        "peer_step.py",
                    ) {
                        Ok(p) => peers.push(show_rate(p)),
                        Err(e) => {
                            report
                                .problems
                                .push(format!("peer_step.py at {case}: {e:#}"));
                            break;
                        }
                    }
                }
            }
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
            report.rows.push(Row {
                case: case.clone(),
                metric: format!("train step ({} loss)", o.loss),
                unit: Unit::ItPerS,
                ours: medians_of(&ours, &["it_per_s"]),
                peer: format!("PyTorch {}", torch_version(&peers)),
                theirs: medians_of(&peers, &["it_per_s"]),
                note: format!(
                    "{} iters, params {}",
                    iters,
                    ours.first()
                        .and_then(|v| num(v, &["params"]))
                        .map_or("?".into(), |p| format!("{p:.0}"))
                ),
            });
            report
                .raw
                .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
        }
        if torch {
            println!("[bench] nets: torch matmul GFLOP/s at {t} thread(s) ...");
            match run_json(
                with_threads(&mut Command::new(&venv.python), t)
                    .args(["-c", TORCH_MATMUL])
                    .arg(t.to_string()),
                "torch matmul",
            ) {
                Ok(v) => {
                    report.rows.push(Row {
                        case: format!("matmul 2048^3 t={t}"),
                        metric: "torch sgemm (context)".into(),
                        unit: Unit::Gflops,
                        ours: None,
                        peer: "torch.matmul".into(),
                        theirs: num(&v, &["gflops"]),
                        note: "peak-ish FLOP rate of this machine".into(),
                    });
                    report
                        .raw
                        .push(json!({"case": "torch matmul", "threads": t, "peer": v}));
                }
                Err(e) => report.notes.push(format!("torch matmul: {e:#}")),
            }
        }
    }
    safetensors_interop(venv, &mut report)?;
    Ok(report)
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
fn show_rate(v: Value) -> Value {
    if let Some(r) = num(&v, &["it_per_s"]) {
        println!("[bench]   -> {r:.2} it/s");
    }
    v
}

/// The torch version a PyTorch peer reported.
fn torch_version(peers: &[Value]) -> String {
    peers
        .first()
        .and_then(|p| p.get("torch"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// Records a problem when either side reports a thread count other than the one asked for.
fn check_threads(report: &mut Report, case: &str, t: usize, ours: &[Value], peers: &[Value]) {
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

// ---------------------------------------------------------------------------------------------
// dmd: one DMD distillation step
// ---------------------------------------------------------------------------------------------

fn bench_dmd(o: &Opts, venv: &Venv) -> Result<Report> {
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
        let case = format!("dmd step t={t}");
        // Both take the number of timed iterations as their only argument (after 20 warm-up
        // iterations) and read the thread count from OMP_NUM_THREADS.
        let iters = if o.quick { 20 } else { 200 };
        let args = [iters.to_string()];
        let (mut ours, mut peers) = (Vec::new(), Vec::new());
        for round in 0..rounds(o, 3) {
            println!("[bench] dmd {case}: round {} ours ...", round + 1);
            ours.push(show_rate(run_json(
                with_threads(&mut Command::new(&bin), t).args(&args),
                "bench_dmd",
            )?));
            if torch {
                println!("[bench] dmd {case}: round {} peer ...", round + 1);
                match run_json(
                    with_threads(&mut venv.command(&script), t).args(&args),
                    "peer_dmd.py",
                ) {
                    Ok(p) => peers.push(show_rate(p)),
                    Err(e) => {
                        report
                            .problems
                            .push(format!("peer_dmd.py at {case}: {e:#}"));
                        break;
                    }
                }
            }
        }
        check_threads(&mut report, &case, t, &ours, &peers);
        report.rows.push(Row {
            case: case.clone(),
            metric: "DMD iteration (toy MLP)".into(),
            unit: Unit::ItPerS,
            ours: medians_of(&ours, &["it_per_s"]),
            peer: format!("PyTorch {}", torch_version(&peers)),
            theirs: medians_of(&peers, &["it_per_s"]),
            note: format!("{iters} iters, batch 512, update ratio 5"),
        });
        report
            .raw
            .push(json!({"case": case, "threads": t, "ours": ours, "peers": peers}));
    }
    Ok(report)
}
