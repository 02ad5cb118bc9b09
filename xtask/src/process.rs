//! Running child processes with the environment our crates need.

use anyhow::{Context, Result, bail};
use std::process::Command;

use crate::paths;

/// A `cargo` command in the workspace root with `LIBTORCH` and `DMD_HOME` set, so torch-sys
/// links the installed libtorch and tests find the datasets. `LD_LIBRARY_PATH` also gets
/// libtorch's folder: our binaries carry an rpath (build/torch_link.rs), but doctest binaries
/// are linked by rustdoc without our build scripts' link arguments.
pub fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let lib = paths::libtorch().join("lib");
    let ld = match std::env::var_os("LD_LIBRARY_PATH") {
        Some(old) if !old.is_empty() => {
            let mut v = lib.into_os_string();
            v.push(":");
            v.push(old);
            v
        }
        _ => lib.into_os_string(),
    };
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .current_dir(paths::root())
        .env("LIBTORCH", paths::libtorch())
        .env("DMD_HOME", paths::dmd_home())
        .env("DMD_DATA", paths::data_dir())
        .env("LD_LIBRARY_PATH", ld);
    cmd
}

/// Runs `cmd`, streaming its output; an error names the command when it fails.
pub fn run_checked(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {what} ({cmd:?})"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Whether an NVIDIA GPU is visible (`nvidia-smi -L` lists one).
pub fn nvidia_gpu_present() -> bool {
    Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GPU"))
        .unwrap_or(false)
}
