//! The Python package `dmd_lab` (`crates/dmd-py`) in `cargo xtask test`: a venv at
//! `$DMD_HOME/py-venv` with maturin, numpy, scipy and pytest, the package installed from the
//! checkout (built by maturin in release mode), and its pytest suite, which compares it with
//! scipy's exact assignment.

use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

use crate::{paths, setup};

/// What the suite needs besides the package itself.
const PACKAGES: [&str; 4] = ["maturin>=1.5,<2", "numpy", "scipy", "pytest"];

/// The pip and pytest commands of the Python step, in order.
pub fn commands() -> Result<Vec<(String, Command)>> {
    let python = setup::venv(&paths::dmd_home().join("py-venv"))?;
    let root = paths::root();
    let pip = |args: &[&str]| {
        let mut c = Command::new(&python);
        c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(args)
            .current_dir(&root);
        c
    };
    let mut deps = pip(&[]);
    deps.args(PACKAGES);
    let mut package = pip(&["--no-build-isolation", "--force-reinstall", "--no-deps"]);
    package.arg(root.join("crates").join("dmd-py"));
    // Without build isolation the build backend runs the venv's `maturin` by name.
    let bin = python.parent().map(PathBuf::from).unwrap_or_default();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    package.env("PATH", std::env::join_paths(dirs)?);
    let mut pytest = Command::new(&python);
    pytest
        .args(["-m", "pytest", "-q"])
        .arg(
            root.join("crates")
                .join("dmd-py")
                .join("python")
                .join("tests"),
        )
        .current_dir(&root);
    Ok(vec![
        ("pip install maturin numpy scipy pytest".into(), deps),
        ("pip install crates/dmd-py".into(), package),
        ("pytest crates/dmd-py".into(), pytest),
    ])
}
