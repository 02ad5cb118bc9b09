//! Where datasets live: `$DMD_DATA`, else `$DMD_HOME/data`, else `<workspace>/data` (see
//! `data/README.md` in the repository).

use std::path::PathBuf;

/// Environment variable naming the dmd-lab home folder (data cache, libtorch).
pub const DMD_HOME_ENV: &str = "DMD_HOME";

/// Environment variable naming the data folder itself (overrides `DMD_HOME`).
pub const DMD_DATA_ENV: &str = "DMD_DATA";

/// The default data folder: `$DMD_DATA` when set (and not empty), else `$DMD_HOME/data` when
/// `DMD_HOME` is set, else `<workspace root>/data`, the workspace root being two levels above
/// this crate's manifest.
pub fn default_data_dir() -> PathBuf {
    data_dir_from(
        std::env::var_os(DMD_DATA_ENV).map(PathBuf::from),
        std::env::var_os(DMD_HOME_ENV).map(PathBuf::from),
        &workspace_root(),
    )
}

/// The rule of [`default_data_dir`] as a pure function of the two variables and the root.
pub fn data_dir_from(
    data: Option<PathBuf>,
    home: Option<PathBuf>,
    root: &std::path::Path,
) -> PathBuf {
    match (data, home) {
        (Some(d), _) if !d.as_os_str().is_empty() => d,
        (_, Some(h)) if !h.as_os_str().is_empty() => h.join("data"),
        _ => root.join("data"),
    }
}

/// A path from a config: absolute paths as given, relative ones inside the data folder.
pub fn in_data_dir(path: &std::path::Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        default_data_dir().join(path)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_data_folder_follows_dmd_data_then_dmd_home_then_the_checkout() {
        let root = Path::new("/repo");
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(data_dir_from(p("/d"), p("/h"), root), Path::new("/d"));
        assert_eq!(data_dir_from(p(""), p("/h"), root), Path::new("/h/data"));
        assert_eq!(data_dir_from(None, p("/h"), root), Path::new("/h/data"));
        assert_eq!(data_dir_from(None, p(""), root), Path::new("/repo/data"));
        assert_eq!(data_dir_from(None, None, root), Path::new("/repo/data"));
    }
}
