//! `cargo xtask test`: the project's one test command (also what `.ci/run` calls).
//!
//! Runs `setup` (a no-op when everything is installed), then `cargo fmt --check`,
//! `cargo clippy --workspace --all-targets -- -D warnings`, the whole test suite with
//! `LIBTORCH` and `DMD_HOME` set, and the Python package's pytest suite
//! ([`crate::python`]). Tests run under cargo-nextest when it is installed (one
//! process per test, so libtorch's process-global random generator cannot make tests depend
//! on each other); otherwise `cargo test` runs them on a single thread.

use anyhow::{Result, bail};
use std::process::Command;
use std::time::Instant;

use crate::{paths, process, setup};

/// Roughly what a cold build of the whole suite writes under `target/` (MiB), measured on a
/// fresh clone; below this much free space we warn before building.
const BUILD_NEEDS_MIB: u64 = 4_000;

/// Entry point of `cargo xtask test`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("`cargo xtask test` takes no options (got `{a}`)");
    }
    let start = Instant::now();
    setup::ensure(None)?;
    if let Some(free) = setup::free_mib(&paths::root())
        && free < BUILD_NEEDS_MIB
    {
        println!(
            "[test] warning: only {free} MiB free on the disk holding the build; a cold build needs about {BUILD_NEEDS_MIB} MiB"
        );
    }
    step(
        "cargo fmt --check",
        &mut process::cargo(&["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "cargo clippy -D warnings",
        &mut process::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    if nextest_available() {
        step(
            "cargo nextest run",
            &mut process::cargo(&["nextest", "run", "--workspace", "--no-fail-fast"]),
        )?;
        step(
            "cargo test --doc",
            &mut process::cargo(&["test", "--workspace", "--doc"]),
        )?;
    } else {
        step(
            "cargo test",
            &mut process::cargo(&[
                "test",
                "--workspace",
                "--no-fail-fast",
                "--",
                "--test-threads=1",
            ]),
        )?;
    }
    for (name, mut cmd) in crate::python::commands()? {
        step(&name, &mut cmd)?;
    }
    println!(
        "[test] all checks passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn step(name: &str, cmd: &mut Command) -> Result<()> {
    println!("[test] {name} ...");
    let t = Instant::now();
    if std::env::var_os("CI").is_some() {
        // A CI build starts from nothing and is thrown away: incremental caches only cost disk.
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    if let Err(e) = process::run_checked(cmd, name) {
        return match setup::free_mib(&paths::root()) {
            Some(free) if free < 1_024 => Err(e.context(format!(
                "the disk is nearly full ({free} MiB free), which makes compilers and linkers die \
                 (e.g. SIGBUS in `ar`); free some space (`cargo clean` removes old builds) and rerun"
            ))),
            _ => Err(e),
        };
    }
    println!("[test] {name}: ok ({:.0} s)", t.elapsed().as_secs_f64());
    Ok(())
}

fn nextest_available() -> bool {
    process::cargo(&["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
