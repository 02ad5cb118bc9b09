//! `dmd`: the command line of dmd-lab.
//!
//! Each subcommand lives in its own module; `main` only parses arguments, sets up logging
//! and turns an error into one line on stderr: exit code 2 for a bad config or bad
//! arguments, 3 for an experiment that needs files the user must bring, 1 for any other
//! failure. `DMD_THREADS` sets the intra-op thread count (the job runner sets it per child).

mod import;
mod info;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

use dmd_study::config::resources::MemoryEstimate;
use dmd_study::config::{ConfigError, ExperimentConfig, default_profile};
use dmd_study::pipeline::{self, Paths, Until};
use dmd_study::{jobs, report, reproduce, sweep};

/// dmd-lab: distil EDM teachers with DMD and measure whether students copy or remap.
#[derive(Debug, Parser)]
#[command(name = "dmd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The config, profile, overrides and output folders every pipeline subcommand takes.
#[derive(Debug, Args)]
struct RunArgs {
    /// Experiment config (TOML), e.g. configs/chessboard-r4.toml.
    config: PathBuf,
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    #[arg(long)]
    profile: Option<String>,
    /// Override a config key, e.g. --set teacher.iterations=2000 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Folder of the content-addressed stage outputs (shared between experiments).
    #[arg(long, default_value = "runs/stages")]
    runs: PathBuf,
    /// Train teachers here even when a reference teacher shipped in `reference-teachers/`
    /// matches the config.
    #[arg(long)]
    retrain_teachers: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline of one experiment (skipping finished stages).
    Run(RunArgs),
    /// Train (or reuse) the teacher and its snapshots.
    TrainTeacher(RunArgs),
    /// Teacher, then the DMD students of the configured snapshots.
    Distill(RunArgs),
    /// Teacher and students, then the teacher and student sample sets.
    Sample(RunArgs),
    /// Everything up to the measurements (metrics.json) and figures.
    Analyze(RunArgs),
    /// Check configs without running anything (exit code 2 on the first bad one).
    Check {
        /// Config files (at least one).
        #[arg(required = true)]
        configs: Vec<PathBuf>,
        /// Profile whose overrides to apply.
        #[arg(long, default_value = "cpu")]
        profile: String,
        /// Overrides, as for `run`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
    /// Write results/REPORT.md from the experiments' results.
    Report {
        /// Results folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Run every experiment of the paper, then the report.
    Reproduce(ReproduceArgs),
    /// Run a grid of one experiment's config keys (seeds included), then its table and figures.
    Sweep(SweepArgs),
    /// Measure a one-step generator trained elsewhere (a dmd-nets checkpoint, e.g. from
    /// `dmd import`) against the config's teacher, training nothing: the same measurements,
    /// figures and report section as a distilled student, in `<out>/<name>-eval`.
    Eval(EvalArgs),
    /// Import a teacher or generator from a PyTorch state dict in EDM's names (safetensors or
    /// torch.save) into a dmd-nets checkpoint, checking every name and shape.
    Import(import::ImportArgs),
    /// Write a finished teacher of a config (from the stage store) as a reference teacher:
    /// its weights, snapshots and training log with a manifest of sha256 sums, the command and
    /// the commit that trained it. The teacher stage then adopts it instead of training.
    ShipTeacher(ShipArgs),
    /// The teacher gate at every snapshot of a config's teacher, without students: samples,
    /// fit to the data, on MNIST the classifier check, and a grid per snapshot, in
    /// `<out>/teacher-gate/<name>/` (GATE.md, gate.json).
    TeacherGate(RunArgs),
    /// Print the libtorch build, the devices it sees and the thread count.
    Info,
    /// Print what a profile trains: per experiment its teacher (trained, shared, a reference
    /// teacher or a checkpoint) and its students, with network, parameters, batch and
    /// iterations (`cargo xtask gpu-check` turns it into a wall-time estimate).
    Plan {
        /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
        #[arg(long)]
        profile: Option<String>,
        /// Folder of the experiment configs.
        #[arg(long, default_value = "configs")]
        configs: PathBuf,
        /// Only these experiments.
        #[arg(long, num_args = 1..)]
        only: Vec<String>,
        /// Folder of the content-addressed stage outputs.
        #[arg(long, default_value = "runs/stages")]
        runs: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `dmd ship-teacher`.
#[derive(Debug, Args)]
struct ShipArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Folder to write (e.g. reference-teachers/mnist-uncond-cpu).
    #[arg(long)]
    to: PathBuf,
    /// The commit of the code that trained the teacher.
    #[arg(long)]
    commit: String,
}

fn teacher_gate(a: RunArgs) -> anyhow::Result<()> {
    if a.retrain_teachers {
        dmd_study::reference::request_retrain();
    }
    let profile = a.profile.unwrap_or_else(default_profile);
    let cfg = ExperimentConfig::load(&a.config, &profile, &a.sets)?;
    let paths = Paths {
        stages: a.runs,
        results: a.out,
    };
    let r = pipeline::teacher_gate::teacher_gate(&cfg, &profile, &paths)?;
    print!("{}", pipeline::teacher_gate::markdown(&r));
    println!(
        "written to {}",
        paths.results.join("teacher-gate").join(&cfg.name).display()
    );
    Ok(())
}

fn ship_teacher(a: ShipArgs) -> anyhow::Result<()> {
    let profile = a.run.profile.unwrap_or_else(default_profile);
    let cfg = ExperimentConfig::load(&a.run.config, &profile, &a.run.sets)?;
    let paths = Paths {
        stages: a.run.runs,
        results: a.run.out,
    };
    let (dir, key) = pipeline::finished_teacher_stage(&cfg, &paths)?;
    let done: dmd_study::store::StageDone =
        serde_json::from_str(&std::fs::read_to_string(dir.join("DONE.json"))?)?;
    let threads = key["compute"]["threads"].as_i64().unwrap_or(0) as i32;
    let device = key["compute"]["device"].as_str().unwrap_or("?").to_string();
    let sets: String = a.run.sets.iter().map(|s| format!(" --set {s}")).collect();
    let provenance = dmd_study::reference::Provenance {
        command: format!(
            "DMD_THREADS={threads} dmd train-teacher {} --profile {profile}{sets}",
            a.run.config.display()
        ),
        commit: a.commit,
        threads,
        device,
        wall_s: done.wall_s.unwrap_or(0.0),
        iterations: done.iterations.unwrap_or(cfg.teacher.iterations),
    };
    let m = dmd_study::reference::export(&dir, &key, (&cfg.name, &profile), provenance, &a.to)?;
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    println!(
        "{}: {} files ({:.1} MB) from {} written to {} (key {})",
        cfg.name,
        m.files.len(),
        bytes as f64 / 1e6,
        dir.display(),
        a.to.display(),
        m.key_hash
    );
    Ok(())
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // SIGTERM and SIGUSR1 (Slurm's warning before a preemption or the time limit) ask the
    // running training loop to checkpoint and stop; a second one terminates at once.
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGUSR1] {
        let flag = dmd_train::interrupt::flag();
        let registered = signal_hook::flag::register_conditional_shutdown(sig, 1, flag.clone())
            .and_then(|_| signal_hook::flag::register(sig, flag));
        if let Err(e) = registered {
            eprintln!("warning: cannot handle signal {sig}: {e}");
        }
    }
    dmd_nets::allocator::tune_cpu_allocator();
    // cuDNN picks the fastest convolution algorithms for the UNets' fixed shapes (their
    // choice may differ between runs in the last bits, as the thread count does on a CPU).
    if tch::Cuda::is_available() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    if let Some(n) = std::env::var("DMD_THREADS")
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|&n| n > 0)
    {
        tch::set_num_threads(n);
    }
    let result = match cli.command {
        Command::Run(a) => run(a, Until::Analyze),
        Command::TrainTeacher(a) => run(a, Until::Teacher),
        Command::Distill(a) => run(a, Until::Distill),
        Command::Sample(a) => run(a, Until::Sample),
        Command::Analyze(a) => run(a, Until::Analyze),
        Command::Check {
            configs,
            profile,
            sets,
        } => check(&configs, &profile, &sets),
        Command::Report { out } => report::write_report(&out).map(|p| {
            println!("wrote {}", p.display());
        }),
        Command::Reproduce(a) => reproduce::run(a.into()),
        Command::Sweep(a) => sweep::run(a.into()),
        Command::Eval(a) => eval(a),
        Command::Import(a) => import::run(a),
        Command::ShipTeacher(a) => ship_teacher(a),
        Command::TeacherGate(a) => teacher_gate(a),
        Command::Info => info::run(),
        Command::Plan {
            profile,
            configs,
            only,
            runs,
            json,
        } => plan(profile, &configs, &only, &runs, json),
    };
    if let Err(err) = result {
        let code = if err.downcast_ref::<ConfigError>().is_some()
            || err.downcast_ref::<pipeline::BadInput>().is_some()
        {
            2
        } else if err.downcast_ref::<pipeline::MissingFiles>().is_some() {
            jobs::EXIT_NOT_RUN
        } else if matches!(
            err.downcast_ref::<dmd_train::TrainError>(),
            Some(dmd_train::TrainError::Interrupted { .. })
        ) || dmd_train::interrupt::requested()
        {
            jobs::EXIT_INTERRUPTED
        } else {
            1
        };
        eprintln!("error: {}", one_line(&err));
        std::process::exit(code);
    }
}

/// The error and its causes on one line, each cause once: a cause whose text an outer
/// message already quotes (a typed error that prints its source) is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    // Libraries report a full disk in their own words; the fix is always the same.
    if ["No space left", "File too large", "Disk quota exceeded"]
        .iter()
        .any(|m| line.contains(m))
    {
        line.push_str("; free disk space and rerun (finished stages and results are kept)");
    }
    line
}

/// Arguments of `dmd reproduce` ([`reproduce::ReproduceOptions`]).
#[derive(Debug, Args)]
struct ReproduceArgs {
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    #[arg(long)]
    profile: Option<String>,
    /// Run only these experiments (names as in configs/, repeatable).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// Folder holding the experiment configs.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Results folder.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Folder of the content-addressed stage outputs.
    #[arg(long, default_value = "runs/stages")]
    runs: PathBuf,
    /// Experiments run at once, each a child process with its share of the cores (default:
    /// one per CUDA GPU, each pinned to its own with CUDA_VISIBLE_DEVICES, else 2).
    #[arg(long)]
    jobs: Option<usize>,
    /// Train teachers here even when a reference teacher shipped in `reference-teachers/`
    /// matches the config.
    #[arg(long)]
    retrain_teachers: bool,
    /// Where the experiments run: `local` or `slurm` (prepare job for the teachers, one array
    /// task per experiment, then the report).
    #[arg(long, value_enum, default_value_t = BackendArg::Local)]
    backend: BackendArg,
    #[command(flatten)]
    slurm: SlurmArgs,
    /// (Slurm prepare job) train only the teachers.
    #[arg(long, hide = true)]
    prepare: bool,
}

impl From<ReproduceArgs> for reproduce::ReproduceOptions {
    fn from(a: ReproduceArgs) -> Self {
        if a.retrain_teachers {
            dmd_study::reference::request_retrain();
        }
        Self {
            profile: a.profile,
            only: a.only,
            configs: a.configs,
            out: a.out,
            runs: a.runs,
            jobs: a.jobs,
            backend: match a.backend {
                BackendArg::Local => sweep::Backend::Local,
                BackendArg::Slurm => sweep::Backend::Slurm,
            },
            slurm: a.slurm.into(),
            prepare: a.prepare,
        }
    }
}

/// `dmd plan`: the profile's training work as a table or JSON.
fn plan(
    profile: Option<String>,
    configs: &std::path::Path,
    only: &[String],
    runs: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let profile = profile.unwrap_or_else(dmd_study::config::default_profile);
    let p = dmd_study::plan::plan(configs, &profile, only, runs)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", p.table());
    }
    Ok(())
}

/// Arguments of `dmd sweep` ([`sweep::SweepOptions`]).
#[derive(Debug, Args)]
struct SweepArgs {
    /// Sweep file (TOML), e.g. configs/sweeps/ambient-dim.toml.
    sweep: PathBuf,
    /// Scale profile: smoke, cpu or paper (default: paper with a CUDA GPU, cpu otherwise).
    #[arg(long)]
    profile: Option<String>,
    /// Output folder (default: results/sweeps/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of the content-addressed stage outputs (shared with every other run).
    #[arg(long, default_value = "runs/stages")]
    runs: PathBuf,
    /// Points run at once, each a child process with its share of the cores (default: one per
    /// CUDA GPU, each pinned to its own with CUDA_VISIBLE_DEVICES, else 2).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only gather the finished points into the table and figures; run nothing.
    #[arg(long)]
    gather_only: bool,
    /// Train teachers here even when a reference teacher shipped in `reference-teachers/`
    /// matches the config.
    #[arg(long)]
    retrain_teachers: bool,
    /// Where the points run: `local` (child processes here) or `slurm` (an sbatch job array:
    /// shared stages first, one task per missing point, then a gather job).
    #[arg(long, value_enum, default_value_t = BackendArg::Local)]
    backend: BackendArg,
    /// Print every point's state (done, pending, running, failed with its log) and run nothing.
    #[arg(long)]
    status: bool,
    #[command(flatten)]
    slurm: SlurmArgs,
    /// (Slurm prepare job) run only the stages the points share.
    #[arg(long, hide = true)]
    prepare: bool,
    /// (Slurm array task) run only the point with this index.
    #[arg(long, hide = true)]
    task: Option<usize>,
}

/// Slurm resources on the command line (over a sweep file's `[slurm]` table).
#[derive(Debug, Args)]
struct SlurmArgs {
    /// Slurm partition.
    #[arg(long)]
    slurm_partition: Option<String>,
    /// Slurm time limit of each job, e.g. 04:00:00.
    #[arg(long)]
    slurm_time: Option<String>,
    /// CPUs per Slurm task (also its libtorch thread count).
    #[arg(long)]
    slurm_cpus: Option<u32>,
    /// Memory per Slurm job, e.g. 8G.
    #[arg(long)]
    slurm_mem: Option<String>,
    /// Generic resources per Slurm task, e.g. gpu:1.
    #[arg(long)]
    slurm_gres: Option<String>,
    /// Slurm account.
    #[arg(long)]
    slurm_account: Option<String>,
    /// Array tasks running at once.
    #[arg(long)]
    slurm_max_concurrent: Option<usize>,
    /// An extra #SBATCH line (repeatable), e.g. --slurm-extra=--qos=long.
    #[arg(long)]
    slurm_extra: Vec<String>,
}

impl From<SlurmArgs> for sweep::slurm::SlurmConfig {
    fn from(a: SlurmArgs) -> Self {
        Self {
            partition: a.slurm_partition,
            time: a.slurm_time,
            cpus_per_task: a.slurm_cpus,
            mem: a.slurm_mem,
            gres: a.slurm_gres,
            account: a.slurm_account,
            max_concurrent: a.slurm_max_concurrent,
            signal_s: None,
            extra: a.slurm_extra,
        }
    }
}

/// `--backend` of `dmd sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BackendArg {
    /// Child processes on this machine.
    Local,
    /// An sbatch job array.
    Slurm,
}

impl From<SweepArgs> for sweep::SweepOptions {
    fn from(a: SweepArgs) -> Self {
        if a.retrain_teachers {
            dmd_study::reference::request_retrain();
        }
        Self {
            sweep: a.sweep,
            profile: a.profile,
            out: a.out,
            runs: a.runs,
            jobs: a.jobs,
            gather_only: a.gather_only,
            backend: match a.backend {
                BackendArg::Local => sweep::Backend::Local,
                BackendArg::Slurm => sweep::Backend::Slurm,
            },
            status: a.status,
            slurm: a.slurm.into(),
            prepare: a.prepare,
            task: a.task,
        }
    }
}

fn run(a: RunArgs, until: Until) -> anyhow::Result<()> {
    if a.retrain_teachers {
        dmd_study::reference::request_retrain();
    }
    let profile = a.profile.unwrap_or_else(default_profile);
    let cfg = ExperimentConfig::load(&a.config, &profile, &a.sets)?;
    let paths = Paths {
        stages: a.runs,
        results: a.out,
    };
    let result = pipeline::run_experiment(&cfg, &profile, &paths, until)?;
    println!(
        "{}: done in {:.0} s ({} snapshot(s)){}; results in {}",
        result.name,
        result.wall_s,
        result.snapshots.len(),
        result
            .peak_rss_mib
            .map(|m| format!(", peak memory {m:.0} MiB"))
            .unwrap_or_default(),
        paths.results.join(&result.name).display()
    );
    Ok(())
}

/// Arguments of `dmd eval`.
#[derive(Debug, Args)]
struct EvalArgs {
    #[command(flatten)]
    run: RunArgs,
    /// The generator to measure (a dmd-nets checkpoint of the config's student network).
    #[arg(long)]
    student: PathBuf,
    /// The teacher (a dmd-nets checkpoint of `[teacher.net]`); default: the config's
    /// `teacher_checkpoint`, or its teacher already trained in the stage store.
    #[arg(long)]
    teacher: Option<PathBuf>,
}

fn eval(a: EvalArgs) -> anyhow::Result<()> {
    if a.run.retrain_teachers {
        dmd_study::reference::request_retrain();
    }
    let profile = a.run.profile.unwrap_or_else(default_profile);
    let mut cfg = ExperimentConfig::load(&a.run.config, &profile, &a.run.sets)?;
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    cfg.name = format!("{}-eval", cfg.name);
    cfg.distill_from.clear();
    cfg.student_checkpoint = Some(absolute(&a.student));
    if let Some(t) = &a.teacher {
        cfg.teacher_checkpoint = Some(absolute(t));
    }
    pipeline::check_inputs(&cfg, &a.run.config)?;
    let paths = Paths {
        stages: a.run.runs,
        results: a.run.out,
    };
    let result = pipeline::run_experiment(&cfg, &profile, &paths, Until::Analyze)?;
    println!(
        "{}: measured in {:.0} s; results in {}",
        result.name,
        result.wall_s,
        paths.results.join(&result.name).display()
    );
    Ok(())
}

fn check(configs: &[PathBuf], profile: &str, sets: &[String]) -> anyhow::Result<()> {
    for c in configs {
        let cfg = ExperimentConfig::load(c, profile, sets)?;
        pipeline::check_inputs(&cfg, c)?;
        let gib = MemoryEstimate::of(&cfg).total() / (1u64 << 30) as f64;
        println!(
            "{}: ok ({}; peak memory about {gib:.1} GiB)",
            c.display(),
            cfg.name
        );
    }
    Ok(())
}
