//! On-disk results: sample sets as safetensors (readable from Python with `safetensors.numpy`),
//! JSON written atomically, and content-addressed stage folders that make runs resumable.
//!
//! A stage's folder is named after the hash of everything that determines its outputs
//! (`runs/stages/teacher-3f2a9c01b7de/`), and holds a `DONE.json` written last. A stage whose
//! `DONE.json` exists is skipped; a killed stage leaves no `DONE.json` and runs again. Two
//! experiments with the same data and teacher settings share one teacher. A stage is computed
//! under an exclusive lock on its `LOCK` file ([`Stage::lock`]), so experiments running in
//! parallel (`dmd reproduce --jobs 2`, `dmd sweep`) compute a shared stage once: the second
//! one waits and then finds it done. The operating system drops the lock when its process
//! dies, so a killed run never leaves a stage locked.

use anyhow::{Context, Result, bail};
use ndarray::Array2;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A stable 12-hex-digit hash of any serialisable value (its JSON form).
pub fn config_hash(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).expect("configs serialise to JSON");
    let digest = Sha256::digest(json.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of a file's content, as 64 hex digits.
pub fn file_sha256(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// [`file_sha256`] remembered by path, size and modification time in `<stages>/.sha256.json`, so
/// a large data file is hashed once, not on every run (a changed file has a new size or mtime
/// and is hashed again).
pub fn file_sha256_cached(path: &Path, stages: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let key = format!(
        "{}|{}|{}.{}",
        fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    let cache_path = stages.join(".sha256.json");
    let mut cache: std::collections::BTreeMap<String, String> = fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(sha) = cache.get(&key) {
        return Ok(sha.clone());
    }
    let sha = file_sha256(path)?;
    cache.insert(key, sha.clone());
    // A cache that cannot be written (a read-only store) only costs the next run a re-hash.
    if fs::create_dir_all(stages).is_ok()
        && let Ok(text) = serde_json::to_string_pretty(&cache)
    {
        let _ = write_atomic(&cache_path, text.as_bytes());
    }
    Ok(sha)
}

/// What a finished stage's `DONE.json` records (each field where it applies).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageDone {
    /// Training iterations (teacher, student).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Wall time of the stage's computation, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
    /// Rows drawn (sample sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// The user checkpoint a teacher stage was copied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PathBuf>,
    /// Test accuracy (the MNIST classifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
}

/// A content-addressed stage folder.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The folder holding the stage's outputs.
    pub dir: PathBuf,
    /// The stage's key as JSON, written to `key.json` once, under the lock.
    key_json: Vec<u8>,
}

impl Stage {
    /// `root/<kind>-<hash(key)>`, created if missing. Nothing is written inside it until
    /// [`Stage::lock`], which also writes `key.json` (once: an existing one is left alone, so a
    /// finished stage in a read-only store is never written to).
    pub fn new(root: &Path, kind: &str, key: &impl Serialize) -> Result<Self> {
        let dir = root.join(format!("{kind}-{}", config_hash(key)));
        if !dir.is_dir() {
            fs::create_dir_all(&dir).with_context(|| {
                format!(
                    "cannot create {}: make the stage store (--runs) writable",
                    dir.display()
                )
            })?;
        }
        Ok(Self {
            dir,
            key_json: serde_json::to_vec_pretty(key)?,
        })
    }

    /// Whether the stage finished before (its `DONE.json` exists).
    pub fn is_done(&self) -> bool {
        self.dir.join("DONE.json").is_file()
    }

    /// Marks the stage finished, recording `info` (e.g. wall time).
    pub fn mark_done(&self, info: &StageDone) -> Result<()> {
        write_json_atomic(&self.dir.join("DONE.json"), info)
    }

    /// What its `DONE.json` recorded (empty when unreadable).
    pub fn done_info(&self) -> StageDone {
        std::fs::read_to_string(self.dir.join("DONE.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<StageDone>(&t).ok())
            .unwrap_or_default()
    }

    /// The `wall_s` its `DONE.json` recorded (0 when absent, e.g. a teacher the user brought).
    pub fn recorded_wall_s(&self) -> f64 {
        self.done_info().wall_s.unwrap_or(0.0)
    }

    /// A path inside the stage folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Takes the stage's exclusive lock, waiting while another process (or thread) holds it.
    /// Check [`Stage::is_done`] after taking it: the holder may have finished the stage.
    ///
    /// A finished stage in a store that cannot be written (read-only media, a shared
    /// cache) is used without a lock: nothing in it will be written.
    pub fn lock(&self) -> Result<StageLock> {
        let path = self.dir.join("LOCK");
        let file = match fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            Err(_) if self.is_done() => return Ok(StageLock { _file: None }),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot open {}: make the stage store (--runs) writable",
                        path.display()
                    )
                });
            }
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                tracing::info!(
                    "waiting for {} (another run is computing it)",
                    self.dir.display()
                );
                file.lock()
                    .with_context(|| format!("cannot lock {}", path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let key = self.dir.join("key.json");
        if !key.is_file() {
            write_atomic(&key, &self.key_json)?;
        }
        Ok(StageLock { _file: Some(file) })
    }
}

/// An exclusive lock on a stage folder, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StageLock {
    _file: Option<fs::File>,
}

/// Writes `value` as pretty JSON to `path` via a temporary file and a rename.
pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value)?;
    write_atomic(path, &bytes)
}

/// Writes bytes to `path` through [`dmd_io::write_atomic`] (a temporary unique to this
/// process, then a rename), creating the parent folder, so readers never see half a file and
/// concurrent writers never collide.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    dmd_io::write_atomic(path, bytes)?;
    Ok(())
}

/// Saves named `[N, D]` f32 arrays as one safetensors file (atomically).
pub fn save_arrays(path: &Path, arrays: &[(&str, &Array2<f32>)]) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = arrays
        .iter()
        .map(|(name, a)| {
            let data: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.to_string(), data, a.shape().to_vec())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, d, s)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), d)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let data = safetensors::serialize(views, None)?;
    write_atomic(path, &data)
}

/// Loads every `[N, D]` f32 array of a safetensors file written by [`save_arrays`].
pub fn load_arrays(path: &Path) -> Result<HashMap<String, Array2<f32>>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).with_context(|| {
        format!(
            "{} is not a valid safetensors file (truncated or corrupt); delete it to recompute",
            path.display()
        )
    })?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 || view.shape().len() != 2 {
            bail!("{}: tensor `{name}` is not a 2-D f32 array", path.display());
        }
        let (n, d) = (view.shape()[0], view.shape()[1]);
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(name, Array2::from_shape_vec((n, d), values)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_and_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.safetensors");
        let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 * 0.5 - 1.0);
        save_arrays(&p, &[("phi_8", &a)]).unwrap();
        let back = load_arrays(&p).unwrap();
        assert_eq!(back["phi_8"], a);
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        let err = load_arrays(&p).unwrap_err().to_string();
        assert!(err.contains("truncated or corrupt"), "{err}");
    }

    #[test]
    fn stage_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let stage = Stage::new(dir.path(), "teacher", &1u32).unwrap();
        let held = stage.lock().unwrap();
        let other = fs::OpenOptions::new()
            .write(true)
            .open(stage.path("LOCK"))
            .unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().expect("lock released on drop");
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        #[derive(Serialize)]
        struct K {
            a: u32,
            b: f64,
        }
        assert_eq!(
            config_hash(&K { a: 1, b: 0.5 }),
            config_hash(&K { a: 1, b: 0.5 })
        );
        assert_ne!(
            config_hash(&K { a: 1, b: 0.5 }),
            config_hash(&K { a: 2, b: 0.5 })
        );
        assert_eq!(config_hash(&K { a: 1, b: 0.5 }).len(), 12);
    }
}
