//! # dmd-study
//!
//! The DMD copying study as a library. `dmd` (the `dmd-cli` crate) is a thin command line over
//! it; anything the command line does can be done from Rust:
//!
//! | module | job |
//! |---|---|
//! | [`config`] | typed experiment configs: TOML layers, `[profile.*]` tables, `--set` overrides, validation |
//! | [`store`] | the content-addressed stage store (`runs/stages/<kind>-<hash>/`), locks, array files |
//! | [`pipeline`] | one function per stage: data, teacher, teacher samples, student, student samples, analysis, figures |
//! | [`gates`] | every gate and threshold as a typed value, and the one place verdicts are decided |
//! | [`schema`] | the typed on-disk files (`metrics.json`, `summary.json`, `sweep.json`, `run_info.json`, CSV rows) |
//! | [`report`] | `REPORT.md`: the claims table, per-experiment sections, sweeps and the phase diagram |
//! | [`reproduce`] | every experiment of the paper as child processes, then the report |
//! | [`sweep`] | sweep files: planning points, running them, gathering tables and figures |
//! | [`classifier`] | the small MNIST classifier whose features the image metrics use |
//! | [`jobs`] | the local process pool that runs experiments and sweep points |
//!
//! Running one experiment from Rust (the `smoke` profile takes seconds):
//!
//! ```
//! use dmd_study::config::ExperimentConfig;
//! use dmd_study::pipeline::{Paths, Until, run_experiment};
//!
//! # let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
//! let cfg = ExperimentConfig::load(&configs.join("moons-r4.toml"), "smoke", &[])?;
//! let dir = tempfile::tempdir()?;
//! let paths = Paths { stages: dir.path().join("stages"), results: dir.path().join("results") };
//! let result = run_experiment(&cfg, "smoke", &paths, Until::Analyze)?;
//! let metrics: dmd_study::schema::StudentMetrics = dmd_study::schema::read_json(
//!     &paths.results.join(&result.name).join(&result.snapshots[0].metrics),
//!     "rerun the experiment",
//! )?;
//! println!("Delta_E = {:.3}", metrics.student().delta_e);
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod classifier;
pub mod config;
pub mod gates;
pub mod jobs;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod reference;
pub mod report;
pub mod reproduce;
pub mod schema;
pub mod store;
pub mod sweep;
