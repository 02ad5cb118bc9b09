//! A suite's results: the `Row`s of the table (ours against one peer, with the ratio), the raw
//! outputs, the problems and notes, printed as an aligned table and written as
//! `target/bench/<suite>.json`.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

use super::{Machine, Opts, Suite, load_average};

/// What a number measures, which decides how the ratio is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Unit {
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
pub(super) struct Row {
    pub(super) case: String,
    pub(super) metric: String,
    pub(super) unit: Unit,
    pub(super) ours: Option<f64>,
    pub(super) peer: String,
    pub(super) theirs: Option<f64>,
    pub(super) note: String,
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
pub(super) struct Report {
    suite: Suite,
    threads: Vec<usize>,
    pub(super) rows: Vec<Row>,
    pub(super) raw: Vec<Value>,
    pub(super) problems: Vec<String>,
    pub(super) notes: Vec<String>,
}

impl Report {
    pub(super) fn new(suite: Suite, threads: &[usize]) -> Self {
        Report {
            suite,
            threads: threads.to_vec(),
            rows: Vec::new(),
            raw: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(super) fn print(&self, m: &Machine) {
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

    pub(super) fn write(&self, path: &Path, m: &Machine, o: &Opts) -> Result<()> {
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
