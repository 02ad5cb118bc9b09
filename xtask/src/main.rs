//! `cargo xtask`: the project's own tasks, as an ordinary binary with no torch dependency.
//!
//! `main` is one match on the subcommand; each subcommand lives in its own module.

mod bench;
mod gpu_check;
mod paths;
mod process;
mod python;
mod reproduce;
mod setup;
mod test;

use anyhow::Result;

const HELP: &str = "\
cargo xtask <COMMAND> [OPTIONS]

Commands:
  setup [--cpu|--cuda]        install libtorch 2.13.0 (from PyPI's torch wheel) and real MNIST
                              into $DMD_HOME (default: <repo>/.dmd); idempotent
  test                        setup if needed, then fmt --check, clippy -D warnings, all tests
  reproduce [--profile P] [--only NAME...] [--retrain-teachers]
                              run the study (profile smoke | cpu | paper; default: paper with a
                              CUDA GPU, cpu otherwise) and write results/REPORT.md; shipped
                              reference teachers (reference-teachers/) are used unless
                              --retrain-teachers
  bench [ot|nn|nets|dmd|all] [--quick] [--threads T,..] [--rounds R]
                              time our benchmark binaries against their Python peers
                              (venv in $DMD_HOME/bench-venv); tables + target/bench/*.json
  gpu-check                   with an NVIDIA GPU: CUDA build, the smoke study on the GPU, the
                              paper's MNIST UNet step and DMD iteration against PyTorch (f32,
                              bf16) and the paper profile's extrapolated training time
                              (target/gpu-check/GPU-CHECK.md); without one: says so, exits 0
  help                        this text

Environment:
  DMD_HOME   where libtorch, the datasets and the Python bench venv live (default <repo>/.dmd)
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result: Result<()> = match cmd {
        "setup" => setup::run(rest),
        "test" => test::run(rest),
        "reproduce" => reproduce::run(rest),
        "bench" => bench::run(rest),
        "gpu-check" => gpu_check::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprintln!("error: unknown xtask command `{other}`\n\n{HELP}");
            std::process::exit(2);
        }
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
