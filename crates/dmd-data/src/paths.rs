//! Where downloaded data live: `$DMD_HOME/data`, or `<workspace>/.dmd/data` without `DMD_HOME`.

use std::path::PathBuf;

/// Environment variable naming the dmd-lab home folder (data cache, libtorch).
pub const DMD_HOME_ENV: &str = "DMD_HOME";

/// The default data folder: `$DMD_HOME/data` when `DMD_HOME` is set (and not empty), otherwise
/// `<workspace root>/.dmd/data`, the workspace root being two levels above this crate's manifest.
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os(DMD_HOME_ENV) {
        Some(home) if !home.is_empty() => PathBuf::from(home).join("data"),
        _ => workspace_root().join(".dmd").join("data"),
    }
}

/// The default MNIST folder, `<data dir>/mnist`.
pub fn default_mnist_dir() -> PathBuf {
    default_data_dir().join("mnist")
}

/// The default Fashion-MNIST folder: `<data dir>/fashion-mnist` if it exists, otherwise the
/// Debian package's `/usr/share/datasets/fashion-mnist` (`apt-get install dataset-fashion-mnist`).
pub fn default_fashion_mnist_dir() -> PathBuf {
    let own = default_data_dir().join("fashion-mnist");
    if own.is_dir() {
        own
    } else {
        PathBuf::from(DEBIAN_FASHION_MNIST_DIR)
    }
}

/// Where the Debian package `dataset-fashion-mnist` installs its files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The workspace root, computed from this crate's manifest folder (`crates/dmd-data/../..`).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}
