//! The peers' Python venv at `$DMD_HOME/bench-venv`: made on first use, with the base packages
//! for the `ot`/`nn` peers and torch only when a suite needs it; a stamp file records what
//! installed so later runs skip pip, and a package that fails to install is recorded as missing.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{paths, setup};

/// Packages for the `ot` and `nn` peers.
const BASE_PACKAGES: [&str; 6] = ["numpy", "scipy", "lap", "POT", "faiss-cpu", "safetensors"];
/// The torch the `nets` and `dmd` peers need (our libtorch's version).
pub(crate) const TORCH_PACKAGE: &str = "torch==2.13.0";
const VENV_STAMP: &str = "dmd-bench-stamp.txt";

/// The peers' Python environment and which of its packages installed.
pub(crate) struct Venv {
    pub(crate) python: PathBuf,
    installed: BTreeSet<String>,
}

impl Venv {
    fn dir() -> PathBuf {
        paths::dmd_home().join("bench-venv")
    }

    /// Creates the venv if needed and installs what is missing; failures of single packages
    /// are reported and recorded as missing, not fatal.
    pub(crate) fn ensure(torch: bool) -> Result<Venv> {
        let dir = Self::dir();
        let created = !dir.join("bin").join("python").is_file();
        let python = setup::venv(&dir)?;
        let stamp_path = dir.join(VENV_STAMP);
        if created {
            // a stamp left from an earlier venv says nothing about this one
            let _ = fs::remove_file(&stamp_path);
        }
        let mut installed: BTreeSet<String> = fs::read_to_string(&stamp_path)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let mut wanted: Vec<(&str, &str)> = BASE_PACKAGES
            .iter()
            .map(|p| (*p, "the ot/nn peers"))
            .collect();
        if torch {
            wanted.push((
                TORCH_PACKAGE,
                "the nets/dmd peers: the same torch version as our libtorch (about 4.7 GB with its CUDA wheels)",
            ));
        }
        let missing: Vec<(&str, &str)> = wanted
            .iter()
            .copied()
            .filter(|(p, _)| !installed.contains(*p))
            .collect();
        if missing.is_empty() {
            println!(
                "[bench] venv {} has {} (stamp {VENV_STAMP}); skipping pip",
                dir.display(),
                installed.iter().cloned().collect::<Vec<_>>().join(" ")
            );
        } else {
            for (p, why) in &missing {
                println!("[bench] installing {p} into the venv, for {why}");
            }
            let names: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
            let t = Instant::now();
            if pip_install(&python, &names)? {
                installed.extend(names.iter().map(|s| s.to_string()));
            } else {
                println!("[bench] pip failed for the whole set; installing one by one");
                for name in names {
                    if pip_install(&python, &[name])? {
                        installed.insert(name.to_string());
                    } else {
                        eprintln!(
                            "[bench] !!! peer package `{name}` failed to install; the peers needing it are marked unavailable"
                        );
                    }
                }
            }
            let mut text: String = installed.iter().map(|p| format!("{p}\n")).collect();
            if text.is_empty() {
                text.push('\n');
            }
            fs::write(&stamp_path, text)
                .with_context(|| format!("cannot write {}", stamp_path.display()))?;
            println!("[bench] pip done in {:.0} s", t.elapsed().as_secs_f64());
        }
        Ok(Venv { python, installed })
    }

    pub(crate) fn has(&self, package: &str) -> bool {
        self.installed.contains(package)
    }

    pub(crate) fn command(&self, script: &Path) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.arg(script);
        cmd
    }
}

/// `pip install names...` in the venv; `Ok(false)` when pip ran and failed.
fn pip_install(python: &Path, names: &[&str]) -> Result<bool> {
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
        .args(names)
        .status()
        .with_context(|| format!("could not run pip of {}", python.display()))?;
    Ok(status.success())
}
