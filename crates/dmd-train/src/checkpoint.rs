//! Atomic training-state checkpoints: one safetensors file holding every tensor of the run
//! (network weights, optimiser moments, step counters, statistics) plus the run's config as
//! UTF-8 bytes. It is written to `NAME.tmp`, synced, and renamed over `NAME`, so a process
//! killed at any moment leaves either the previous or the new checkpoint, never a torn one.

use std::collections::HashMap;
use std::path::Path;

use tch::{Device, Kind, Tensor, nn::VarStore};

use crate::error::TrainError;

/// File name of the resumable state inside a run directory.
pub const STATE_FILE: &str = "state.safetensors";

/// Key under which the config JSON is stored.
pub const CONFIG_KEY: &str = "meta.config_json";

/// Writes `tensors` to `path` atomically (tmp file, fsync, rename, fsync of the folder).
pub fn save_atomic(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), TrainError> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.detach().to_device(Device::Cpu).contiguous()))
        .collect();
    dmd_io::write_durable_with(path, |tmp| Tensor::write_safetensors(&cpu, tmp))
        .map_err(|e| TrainError::io(path, e.into_io()))
}

/// Reads every tensor of a checkpoint into a map (tensors on the CPU).
pub fn load(path: &Path) -> Result<HashMap<String, Tensor>, TrainError> {
    let list = Tensor::read_safetensors(path).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot read ({e}); delete it to start the run from scratch"),
    })?;
    Ok(list.into_iter().collect())
}

/// The variables of a var store as `{prefix}{name}` tensors.
pub fn var_store_tensors(vs: &VarStore, prefix: &str) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| (format!("{prefix}{k}"), t))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Copies `{prefix}{name}` tensors from `tensors` into every variable of `vs`.
pub fn restore_var_store(
    vs: &VarStore,
    tensors: &HashMap<String, Tensor>,
    prefix: &str,
) -> Result<(), String> {
    for (name, mut var) in vs.variables() {
        let key = format!("{prefix}{name}");
        let src = tensors
            .get(&key)
            .ok_or_else(|| format!("missing tensor `{key}`"))?;
        if src.size() != var.size() {
            return Err(format!(
                "tensor `{key}` has shape {:?}, the network expects {:?}",
                src.size(),
                var.size()
            ));
        }
        tch::no_grad(|| var.copy_(src));
    }
    Ok(())
}

/// A string as a u8 tensor (safetensors has no string type).
pub fn string_tensor(s: &str) -> Tensor {
    Tensor::from_slice(s.as_bytes()).to_kind(Kind::Uint8)
}

/// The string stored by [`string_tensor`].
pub fn tensor_string(t: &Tensor) -> Result<String, String> {
    let bytes = Vec::<u8>::try_from(t).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// An i64 scalar stored in a checkpoint.
pub fn get_i64(tensors: &HashMap<String, Tensor>, key: &str) -> Result<i64, String> {
    tensors
        .get(key)
        .map(|t| t.int64_value(&[]))
        .ok_or_else(|| format!("missing tensor `{key}`"))
}

/// Removes the keys that may change between a run and its resumption (the iteration count,
/// checkpoint cadence, progress display) and compares what is left.
pub fn same_run_config(saved: &str, current: &serde_json::Value) -> Result<bool, String> {
    let mut saved: serde_json::Value = serde_json::from_str(saved).map_err(|e| e.to_string())?;
    let mut current = current.clone();
    for v in [&mut saved, &mut current] {
        if let Some(obj) = v.as_object_mut() {
            for key in ["iterations", "checkpoint_every", "progress"] {
                obj.remove(key);
            }
        }
    }
    Ok(saved == current)
}

/// A run's saved state as read back by [`load_resumable`].
pub struct Resumed {
    /// The state tensors (networks, optimiser moments, counters).
    pub tensors: HashMap<String, Tensor>,
    /// Wall time accumulated before the checkpoint, seconds.
    pub wall_s: f64,
}

/// Loads `state_path` for a resume: `Ok(None)` when it does not exist; an error naming the
/// file when it is unreadable or was written with a config other than `config` (apart from
/// the keys [`same_run_config`] ignores).
pub fn load_resumable(
    state_path: &Path,
    config: &serde_json::Value,
) -> Result<Option<Resumed>, TrainError> {
    if !state_path.exists() {
        return Ok(None);
    }
    let tensors = load(state_path)?;
    let ck_err = |message: String| TrainError::Checkpoint {
        path: state_path.to_path_buf(),
        message,
    };
    let saved = tensors
        .get(CONFIG_KEY)
        .ok_or_else(|| ck_err("no stored config".into()))
        .and_then(|c| tensor_string(c).map_err(ck_err))?;
    if !same_run_config(&saved, config).map_err(ck_err)? {
        return Err(ck_err(
            "it was written with a different config; use a new run directory or delete it".into(),
        ));
    }
    let wall_s = tensors
        .get("meta.wall_s")
        .map_or(0.0, |w| w.double_value(&[]));
    Ok(Some(Resumed { tensors, wall_s }))
}

/// Saves a run's state tensors plus its wall time and config atomically to `state_path`
/// (what [`load_resumable`] reads back).
pub fn save_resumable(
    state_path: &Path,
    mut tensors: Vec<(String, Tensor)>,
    wall_s: f64,
    config: &serde_json::Value,
) -> Result<(), TrainError> {
    tensors.push(("meta.wall_s".into(), Tensor::from(wall_s)));
    tensors.push((CONFIG_KEY.into(), string_tensor(&config.to_string())));
    save_atomic(state_path, &tensors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_roundtrip_keeps_bits_and_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let w = Tensor::randn([3, 2], (Kind::Float, Device::Cpu));
        let t = vec![
            ("net.w".to_string(), w.shallow_clone()),
            ("step".to_string(), Tensor::from(42i64)),
            (CONFIG_KEY.to_string(), string_tensor("{\"a\":1}")),
        ];
        save_atomic(&path, &t).unwrap();
        assert!(!dir.path().join("state.safetensors.tmp").exists());
        let back = load(&path).unwrap();
        assert!(back["net.w"].equal(&w));
        assert_eq!(get_i64(&back, "step").unwrap(), 42);
        assert_eq!(tensor_string(&back[CONFIG_KEY]).unwrap(), "{\"a\":1}");
        assert!(load(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn config_comparison_ignores_iterations() {
        let a = serde_json::json!({"iterations": 10, "lr": 1.0});
        assert!(same_run_config("{\"iterations\": 20, \"lr\": 1.0}", &a).unwrap());
        assert!(!same_run_config("{\"iterations\": 20, \"lr\": 2.0}", &a).unwrap());
    }
}
