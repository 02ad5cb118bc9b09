//! Times the cost matrix, the exact assignment and Sinkhorn on seeded data, writes the data as
//! `.npy` for the Python peers (`bench/peers.py`), and prints/writes the timings as JSON.
//!
//! ```text
//! cargo run --release -p dmd-ot --example bench_ot -- --n 1000,2000,4000 --d 4,1024 \
//!     --out target/bench-ot/ours.json [--data-dir target/bench-ot/data] [--reps 3] \
//!     [--sinkhorn-iters 50] [--case gaussian|outlier|range]
//! ```
//! Cases (`benches/common/mod.rs`): `gaussian` (default) the teacher/student-like sets of
//! `point_sets`; `outlier` near-copy sets with one point 1e4 away (`outlier_sets`); `range` no
//! points, a cost matrix with entries `10^U(-8, 8)` (`log_uniform_cost`; `d` is ignored and
//! reported as 0). Data per (n, d): `phi_{tag}.npy`, `g_{tag}.npy` (f32 points, not for `range`)
//! and `cost_{tag}.npy` (the f64 cost matrix every solver is timed on), with
//! `tag = n{n}_d{d}` for `gaussian` and `{case}_n{n}_d{d}` otherwise.

#[path = "../benches/common/mod.rs"]
mod common;

use dmd_ot::{SinkhornConfig, sinkhorn, solve_assignment, sq_euclidean_cost};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Args {
    n: Vec<usize>,
    d: Vec<usize>,
    out: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    reps: usize,
    sinkhorn_iters: usize,
    case: Case,
}

/// Which data a run is timed on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Gaussian,
    Outlier,
    Range,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Gaussian => "gaussian",
            Case::Outlier => "outlier",
            Case::Range => "range",
        }
    }

    /// File tag of the data for (n, d).
    fn tag(self, n: usize, d: usize) -> String {
        match self {
            Case::Gaussian => format!("n{n}_d{d}"),
            other => format!("{}_n{n}_d{d}", other.name()),
        }
    }
}

fn parse_list(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .map_err(|e| format!("bad number {t:?}: {e}"))
        })
        .collect()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: vec![1000, 2000, 4000],
        d: vec![4, 1024],
        out: None,
        data_dir: None,
        reps: 3,
        sinkhorn_iters: 50,
        case: Case::Gaussian,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => args.n = parse_list(&value()?)?,
            "--d" => args.d = parse_list(&value()?)?,
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--data-dir" => args.data_dir = Some(PathBuf::from(value()?)),
            "--reps" => args.reps = parse_list(&value()?)?[0].max(1),
            "--sinkhorn-iters" => args.sinkhorn_iters = parse_list(&value()?)?[0].max(1),
            "--case" => {
                args.case = match value()?.as_str() {
                    "gaussian" => Case::Gaussian,
                    "outlier" => Case::Outlier,
                    "range" => Case::Range,
                    other => {
                        return Err(format!(
                            "--case must be gaussian, outlier or range, not {other:?}"
                        ));
                    }
                }
            }
            "-h" | "--help" => {
                println!(
                    "bench_ot --n 1000,2000,4000 --d 4,1024 --out FILE.json [--data-dir DIR] [--reps 3] [--sinkhorn-iters 50] [--case gaussian|outlier|range]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(args)
}

/// Writes a C-order `.npy` file (format version 1.0).
fn write_npy(path: &Path, descr: &str, shape: (usize, usize), bytes: &[u8]) -> std::io::Result<()> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}",
        shape.0, shape.1
    );
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    f.write_all(bytes)?;
    f.flush()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_ot: {e}");
            std::process::exit(2);
        }
    };
    if args.case == Case::Range {
        args.d = vec![0];
    }
    if let Some(dir) = &args.data_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("bench_ot: cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let mut records = Vec::new();
    for &d in &args.d {
        for &n in &args.n {
            let points = match args.case {
                Case::Gaussian => Some(common::point_sets(n, d, 0)),
                Case::Outlier => Some(common::outlier_sets(n, d, 0)),
                Case::Range => None,
            };
            let mut t_cost = Vec::new();
            let mut cost = match &points {
                Some((phi, g)) => sq_euclidean_cost(phi.view(), g.view()),
                None => common::log_uniform_cost(n, -8.0, 8.0, 0),
            };
            if let Some((phi, g)) = &points {
                for _ in 0..args.reps {
                    let t = Instant::now();
                    cost = sq_euclidean_cost(phi.view(), g.view());
                    t_cost.push(t.elapsed().as_secs_f64());
                }
            }
            let mut t_assign = Vec::new();
            let mut assignment = None;
            for _ in 0..args.reps {
                let t = Instant::now();
                let a = solve_assignment(cost.view()).expect("finite square cost");
                t_assign.push(t.elapsed().as_secs_f64());
                assignment = Some(a);
            }
            let a = assignment.expect("at least one repetition");
            let cert = a.certificate(cost.view()).expect("matching shape");
            assert!(cert.is_optimal(1e-9), "certificate failed: {cert:?}");
            let method = format!("{:?}", a.stats.method);
            let fallbacks: Vec<String> =
                a.stats.fallbacks.iter().map(|f| format!("{f:?}")).collect();
            // Sinkhorn per-iteration time: the difference between runs of k and 2k iterations
            // at one fixed eps (setup and the final <P, C> cancel out)
            let run_sinkhorn = |iters: usize| {
                let cfg = SinkhornConfig {
                    max_iter: iters,
                    tol: 1e-300,
                    epsilon_rel: 0.05,
                    initial_epsilon_rel: 0.05,
                    ..SinkhornConfig::default()
                };
                let t = Instant::now();
                let res = sinkhorn(cost.view(), &cfg).expect("finite cost");
                (t.elapsed().as_secs_f64(), res)
            };
            let k = args.sinkhorn_iters;
            let (t1, _) = run_sinkhorn(k);
            let (t2, sk) = run_sinkhorn(2 * k);
            let sk_ms_per_iter = 1e3 * (t2 - t1).max(0.0) / k as f64;
            if let Some(dir) = &args.data_dir {
                let tag = args.case.tag(n, d);
                let f32_bytes = |a: &ndarray::Array2<f32>| -> Vec<u8> {
                    a.iter().flat_map(|x| x.to_le_bytes()).collect()
                };
                let c_bytes: Vec<u8> = cost.iter().flat_map(|x| x.to_le_bytes()).collect();
                let mut res = write_npy(
                    &dir.join(format!("cost_{tag}.npy")),
                    "<f8",
                    (n, n),
                    &c_bytes,
                );
                if let Some((phi, g)) = &points {
                    res = res
                        .and_then(|_| {
                            write_npy(
                                &dir.join(format!("phi_{tag}.npy")),
                                "<f4",
                                (n, d),
                                &f32_bytes(phi),
                            )
                        })
                        .and_then(|_| {
                            write_npy(
                                &dir.join(format!("g_{tag}.npy")),
                                "<f4",
                                (n, d),
                                &f32_bytes(g),
                            )
                        });
                }
                if let Err(e) = res {
                    eprintln!("bench_ot: cannot write data to {}: {e}", dir.display());
                    std::process::exit(1);
                }
            }
            // no points in the `range` case: no cost-matrix time
            let cost_s = (!t_cost.is_empty()).then(|| median(t_cost));
            let assign_s = median(t_assign);
            let rec = serde_json::json!({
                "case": args.case.name(),
                "n": n,
                "d": d,
                "cost_matrix_s": cost_s,
                "assignment_s": assign_s,
                "cost_plus_assignment_s": cost_s.unwrap_or(0.0) + assign_s,
                "method": method,
                "fallbacks": fallbacks,
                "auction_bids": a.stats.auction_bids,
                "relative_gap": cert.relative_gap(),
                "total_cost": a.total_cost,
                "mean_cost": a.mean_cost(),
                "duality_gap": cert.duality_gap,
                "sinkhorn": {
                    "iterations": sk.iterations,
                    "total_s": t2,
                    "ms_per_iter": sk_ms_per_iter,
                    "epsilon": sk.epsilon,
                    "marginal_error": sk.marginal_error,
                    "cost": sk.cost,
                },
            });
            eprintln!("{rec}");
            records.push(rec);
        }
    }
    let out = serde_json::json!({ "solver": "dmd-ot", "reps": args.reps, "results": records });
    let text = serde_json::to_string_pretty(&out).expect("serialisable");
    println!("{text}");
    if let Some(path) = &args.out {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("bench_ot: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
