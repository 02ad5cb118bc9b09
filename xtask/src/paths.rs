//! Where things live: the workspace root and `DMD_HOME` (libtorch, datasets, bench venv).

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `$DMD_HOME`, or `<root>/.dmd` (gitignored) when unset. Relative values are taken
/// relative to the current directory and made absolute, so child processes agree.
pub fn dmd_home() -> PathBuf {
    match std::env::var_os("DMD_HOME") {
        Some(v) if !v.is_empty() => {
            let p = PathBuf::from(v);
            if p.is_absolute() {
                p
            } else {
                std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
            }
        }
        _ => root().join(".dmd"),
    }
}

/// The pip `--target` folder holding `torch/` (and the CUDA runtime wheels).
pub fn libtorch_target() -> PathBuf {
    dmd_home().join("libtorch")
}

/// The folder torch-sys's `LIBTORCH` must point at.
pub fn libtorch() -> PathBuf {
    libtorch_target().join("torch")
}

/// The datasets folder: `$DMD_DATA`, else `$DMD_HOME/data` when `DMD_HOME` is set, else
/// `<root>/data` (the rule of `dmd_data::paths::default_data_dir`), made absolute so child
/// processes agree.
pub fn data_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let abs = |p: PathBuf| {
        if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
        }
    };
    match (var("DMD_DATA"), var("DMD_HOME")) {
        (Some(d), _) => abs(d),
        (None, Some(h)) => abs(h).join("data"),
        (None, None) => root().join("data"),
    }
}

/// The folder holding the four uncompressed MNIST IDX files.
pub fn mnist_dir() -> PathBuf {
    data_dir().join("mnist")
}
