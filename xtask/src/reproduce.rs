//! `cargo xtask reproduce`: installs what is missing, builds the `dmd` binary in release
//! mode and runs the study with it (`dmd reproduce`), which writes `results/REPORT.md`.

use anyhow::{Result, bail};

use crate::{paths, process, setup};

/// Entry point of `cargo xtask reproduce [--profile P] [--only NAME...]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut forwarded: Vec<String> = Vec::new();
    let mut profile = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--profile" => match it.next() {
                Some(p) => profile = Some(p.clone()),
                None => bail!("`--profile` needs a value: smoke, cpu or paper"),
            },
            _ => forwarded.push(a.clone()),
        }
    }
    let profile = profile.unwrap_or_else(|| {
        if process::nvidia_gpu_present() {
            "paper"
        } else {
            "cpu"
        }
        .to_string()
    });
    setup::ensure(None)?;
    let dmd = build_dmd("reproduce")?;
    let mut cmd = dmd_command(&dmd);
    cmd.args(["reproduce", "--profile", &profile])
        .args(&forwarded);
    println!(
        "[reproduce] {} reproduce --profile {profile} {}",
        dmd.display(),
        forwarded.join(" ")
    );
    process::run_checked(&mut cmd, "dmd reproduce")
}

/// Builds the `dmd` binary in release mode, showing cargo's own progress (the first build takes
/// minutes), and returns its path; `label` prefixes the line printed first.
pub fn build_dmd(label: &str) -> Result<std::path::PathBuf> {
    println!("[{label}] building dmd (release) ...");
    process::run_checked(
        &mut process::cargo(&["build", "--release", "-p", "dmd-cli"]),
        "cargo build --release -p dmd-cli",
    )?;
    Ok(paths::root().join("target/release/dmd"))
}

/// The built `dmd` run in the checkout with `DMD_HOME` and the data folder set.
pub fn dmd_command(dmd: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(dmd);
    cmd.current_dir(paths::root())
        .env("DMD_HOME", paths::dmd_home())
        .env("DMD_DATA", paths::data_dir());
    cmd
}
