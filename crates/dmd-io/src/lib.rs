//! # dmd-io
//!
//! The one atomic-write helper of the workspace. A file is written under a temporary name
//! unique to this process and call (`.<stem>.<pid>.<n>.tmp.<ext>` beside the destination, the
//! extension kept last for writers that choose a format by it), then
//! renamed over the destination, so a reader sees the old file or the new one, never half of
//! one, and two processes writing the same file at once never share (or delete) each other's
//! temporary. Errors name the destination, not the temporary.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("metrics.json");
//! dmd_io::write_atomic(&path, b"{}").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"{}");
//! // Writers that need a path (safetensors, PNG encoders) get a temporary one:
//! dmd_io::write_atomic_with(&path, |tmp| std::fs::write(tmp, b"[]")).unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"[]");
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed atomic write, naming the destination file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Creating, writing or renaming failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The destination file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The writer callback failed.
    #[error("cannot write {}: {message}", path.display())]
    Writer {
        /// The destination file.
        path: PathBuf,
        /// The writer's error.
        message: String,
    },
}

impl WriteError {
    /// The underlying I/O error without the destination (for callers whose own error type
    /// names the path already).
    pub fn into_io(self) -> std::io::Error {
        match self {
            Self::Io { source, .. } => source,
            Self::Writer { message, .. } => std::io::Error::other(message),
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path beside `path`, unique to this process and call, ending in `path`'s
/// extension.
pub fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{stem}.{}.{n}.tmp{ext}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, bytes))
}

/// Writes `path` atomically through `write`, which receives a temporary path to create.
/// The temporary is removed when `write` or the rename fails.
pub fn write_atomic_with<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), WriteError> {
    write_inner(path, write, false)
}

/// [`write_atomic_with`], made durable: the temporary is flushed to disk before the rename and
/// the folder after it (for checkpoints that a crash must not lose).
pub fn write_durable_with<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), WriteError> {
    write_inner(path, write, true)
}

fn write_inner<E: std::fmt::Display>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    durable: bool,
) -> Result<(), WriteError> {
    let tmp = temp_path(path);
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        // Writers name the file they were given; the user knows only the destination, which
        // the error names already.
        let t = tmp.display().to_string();
        let message = e
            .to_string()
            .replace(&format!("{t}: "), "")
            .replace(&t, &path.display().to_string());
        return Err(WriteError::Writer {
            path: path.to_path_buf(),
            message,
        });
    }
    if durable && let Err(e) = std::fs::File::open(&tmp).and_then(|f| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if durable && let Some(dir) = path.parent() {
        // Makes the rename durable; not every filesystem can sync a folder, so failure is ignored.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_writer_is_reported_under_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.safetensors");
        let err = write_atomic_with(&path, |tmp| -> Result<(), String> {
            std::fs::write(tmp, b"half").unwrap();
            Err(format!("error {}: disk full", tmp.display()))
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            format!("cannot write {}: error disk full", path.display())
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary removed"
        );
    }

    #[test]
    fn temporaries_are_unique_and_hidden() {
        let p = Path::new("/x/key.json");
        let (a, b) = (temp_path(p), temp_path(p));
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".key.") && name.ends_with(".tmp.json"),
            "{name}"
        );
        assert_eq!(a.parent(), p.parent());
    }

    #[test]
    fn concurrent_writers_of_one_file_never_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..200 {
                        write_atomic(path, &[t; 64]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.iter().all(|&b| b == bytes[0]) && bytes.len() == 64);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporaries left behind");
    }

    #[test]
    fn a_failing_writer_leaves_no_temporary_and_names_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        let err = write_atomic_with(&path, |tmp| {
            std::fs::write(tmp, b"partial")?;
            Err::<(), _>(std::io::Error::other("encoder failed"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: encoder failed", path.display())
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/out.json");
        let err = write_atomic(&path, b"{}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}", path.display()))
        );
    }
}
