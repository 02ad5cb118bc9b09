//! `dmd`: the command line of dmd-lab.
//!
//! Each subcommand lives in its own module; `main` only parses arguments, sets up logging
//! and turns an error into one line on stderr with a non-zero exit code.

mod info;

use clap::{Parser, Subcommand};

/// dmd-lab: distil EDM teachers with DMD and measure whether students copy or remap.
#[derive(Debug, Parser)]
#[command(name = "dmd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the libtorch build, the devices it sees and the thread count.
    Info,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info => info::run(),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
