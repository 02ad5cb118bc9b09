//! Reference teachers shipped in the repository (`reference-teachers/`): teachers that take
//! too long to train on a laptop (the `cpu` MNIST teachers, about 2 h on 2 cores), trained once
//! with this code and committed with their snapshots, training log, the exact command and
//! commit that made them, and a manifest of sha256 sums.
//!
//! The teacher stage adopts a reference teacher instead of training when the *reference key*
//! of the config (the teacher stage's key without the compute: data, teacher settings, seed)
//! hashes to the manifest's `key_hash` and every shipped file matches its recorded sha256.
//! `--retrain-teachers` (environment `DMD_RETRAIN_TEACHERS=1`, which child jobs inherit)
//! trains instead. `DMD_REFERENCE_TEACHERS` points at another folder of them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::store::{self, Stage, StageDone};

/// The manifest's file name inside a reference teacher's folder.
pub const MANIFEST: &str = "manifest.json";

/// Environment variable: set to `1` to train teachers even when a reference matches.
pub const RETRAIN_ENV: &str = "DMD_RETRAIN_TEACHERS";

/// Environment variable: the folder of reference teachers (default: the repository's
/// `reference-teachers/`).
pub const DIR_ENV: &str = "DMD_REFERENCE_TEACHERS";

/// One shipped file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippedFile {
    /// Path inside the reference teacher's folder, as inside the teacher stage.
    pub path: String,
    /// sha256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// How a reference teacher was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The exact command line that trained it.
    pub command: String,
    /// The commit of the code that trained it.
    pub commit: String,
    /// libtorch intra-op threads and device of the training run.
    pub threads: i32,
    /// Device of the training run (`Cpu`).
    pub device: String,
    /// Training wall time, seconds.
    pub wall_s: f64,
    /// Training iterations.
    pub iterations: u64,
}

/// `manifest.json` of a reference teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceTeacher {
    /// The experiment and profile it was trained for (e.g. `mnist-uncond`, `cpu`).
    pub experiment: String,
    /// Scale profile.
    pub profile: String,
    /// Hash of `key` ([`store::config_hash`]): what a config must produce to use it.
    pub key_hash: String,
    /// The reference key: the teacher stage's key without the compute.
    pub key: serde_json::Value,
    /// How it was made.
    pub provenance: Provenance,
    /// The shipped files (weights, snapshots, training log) with their sums.
    pub files: Vec<ShippedFile>,
}

/// The reference key of a teacher stage key: the key without its `compute` (threads and
/// device change the last bits of a run, not what teacher it is). Taken through JSON text, as
/// `key.json` and manifests store it (an `f32` field then reads back as the same number).
pub fn reference_key(stage_key: &impl Serialize) -> Result<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_slice(&serde_json::to_vec(stage_key)?)?;
    if let Some(m) = v.as_object_mut() {
        m.remove("compute");
    }
    Ok(v)
}

/// The folder searched for reference teachers: `DMD_REFERENCE_TEACHERS`, else the
/// repository's `reference-teachers/`.
pub fn reference_dir() -> PathBuf {
    std::env::var_os(DIR_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference-teachers"),
        PathBuf::from,
    )
}

static RETRAIN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks this process (and the jobs it starts, through [`RETRAIN_ENV`]) to train teachers even
/// when a reference matches (`--retrain-teachers`).
pub fn request_retrain() {
    RETRAIN.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether the user asked to train teachers even when a reference matches
/// ([`request_retrain`] or `DMD_RETRAIN_TEACHERS=1`).
pub fn retrain_requested() -> bool {
    RETRAIN.load(std::sync::atomic::Ordering::SeqCst)
        || std::env::var(RETRAIN_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Reads and checks one reference teacher folder: the manifest parses, the key hashes to its
/// `key_hash`, and every file exists with its recorded sha256.
pub fn verify(dir: &Path) -> Result<ReferenceTeacher> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let m: ReferenceTeacher = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a reference-teacher manifest; restore it from git",
            path.display()
        )
    })?;
    if store::config_hash(&m.key) != m.key_hash {
        bail!(
            "{}: the key does not hash to key_hash {}; restore the manifest from git",
            path.display(),
            m.key_hash
        );
    }
    for f in &m.files {
        let p = dir.join(&f.path);
        let sha = store::file_sha256(&p).with_context(|| {
            format!(
                "reference teacher {}: cannot read {}; restore it from git (git lfs is not used)",
                dir.display(),
                f.path
            )
        })?;
        if sha != f.sha256 {
            bail!(
                "reference teacher {}: {} has sha256 {sha}, the manifest says {}; restore it from git or retrain with --retrain-teachers",
                dir.display(),
                f.path,
                f.sha256
            );
        }
    }
    Ok(m)
}

/// The reference teacher in `root` whose `key_hash` is `key_hash`, verified; `None` when no
/// manifest there has that hash (or `root` does not exist).
pub fn find(root: &Path, key_hash: &str) -> Result<Option<(PathBuf, ReferenceTeacher)>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(None);
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join(MANIFEST))?;
        let hash = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("key_hash").and_then(|h| h.as_str()).map(String::from));
        if hash.as_deref() == Some(key_hash) {
            let m = verify(&dir)?;
            return Ok(Some((dir, m)));
        }
    }
    Ok(None)
}

/// Copies a verified reference teacher's files into `stage` (each atomically) and marks it
/// done with the reference's training wall time.
pub fn adopt(dir: &Path, m: &ReferenceTeacher, stage: &Stage) -> Result<()> {
    for f in &m.files {
        let to = stage.path(&f.path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let from = dir.join(&f.path);
        dmd_io::write_atomic_with(&to, |tmp| std::fs::copy(&from, tmp).map(|_| ()))
            .with_context(|| format!("cannot copy {} into the stage", from.display()))?;
    }
    stage.mark_done(&StageDone {
        iterations: Some(m.provenance.iterations),
        wall_s: Some(m.provenance.wall_s),
        from: Some(dir.to_path_buf()),
        ..Default::default()
    })
}

/// Files of a finished teacher stage that a reference ships: the final weights, the
/// snapshots and the training log (not the resumable optimiser state).
fn shipped_paths(stage_dir: &Path) -> Result<Vec<String>> {
    let mut paths = vec![
        dmd_train::teacher::files::TEACHER.to_string(),
        dmd_train::teacher::files::METRICS.to_string(),
    ];
    let snaps = stage_dir.join(dmd_train::teacher::files::SNAPSHOTS);
    if let Ok(entries) = std::fs::read_dir(&snaps) {
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".safetensors"))
            .collect();
        names.sort();
        paths.extend(
            names
                .into_iter()
                .map(|n| format!("{}/{n}", dmd_train::teacher::files::SNAPSHOTS)),
        );
    }
    Ok(paths)
}

/// Writes a finished teacher stage as a reference teacher into `to` (created; files copied,
/// manifest last).
pub fn export(
    stage_dir: &Path,
    stage_key: &serde_json::Value,
    header: (&str, &str),
    provenance: Provenance,
    to: &Path,
) -> Result<ReferenceTeacher> {
    let key = reference_key(stage_key)?;
    let mut files = Vec::new();
    for rel in shipped_paths(stage_dir)? {
        let from = stage_dir.join(&rel);
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        dmd_io::write_atomic_with(&dest, |tmp| std::fs::copy(&from, tmp).map(|_| ()))
            .with_context(|| format!("cannot copy {}", from.display()))?;
        files.push(ShippedFile {
            sha256: store::file_sha256(&dest)?,
            bytes: std::fs::metadata(&dest)?.len(),
            path: rel,
        });
    }
    let m = ReferenceTeacher {
        experiment: header.0.to_string(),
        profile: header.1.to_string(),
        key_hash: store::config_hash(&key),
        key,
        provenance,
        files,
    };
    store::write_json_atomic(&to.join(MANIFEST), &m)?;
    Ok(m)
}
