//! Checkpoints: safetensors files whose metadata carries the network config, so a file alone
//! rebuilds its network.
//!
//! Tensors: every variable of the denoiser's VarStore (`model.<reference layout>`), f32,
//! little-endian, names with `.` separators like a PyTorch state dict. Metadata (all strings):
//! `format` = [`FORMAT`], `config` = the [`NetConfig`] as JSON, `sigma_data`.
//! Loading validates the header, the metadata, and every tensor's presence, dtype and shape
//! before copying anything into the new network.

use crate::denoiser::Denoiser;
use crate::error::NetError;
use crate::layers::Fill;
use crate::net::NetConfig;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Value of the `format` metadata key written by this version.
pub const FORMAT: &str = "dmd-nets/1";
/// Metadata key holding the config JSON.
pub const KEY_CONFIG: &str = "config";
/// Metadata key holding the format tag.
pub const KEY_FORMAT: &str = "format";
/// Metadata key holding `sigma_data`.
pub const KEY_SIGMA_DATA: &str = "sigma_data";

/// The denoiser's variables as (name, contiguous little-endian f32 bytes, shape), sorted by name.
fn tensor_bytes(den: &Denoiser) -> Vec<(String, Vec<u8>, Vec<usize>)> {
    let vars: BTreeMap<String, Tensor> = den.vs.variables().into_iter().collect();
    vars.into_iter()
        .map(|(name, t)| {
            let t = t
                .detach()
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous();
            let numel = t.numel();
            let mut buf = vec![0u8; numel * 4];
            t.copy_data_u8(&mut buf, numel);
            let shape = t.size().iter().map(|&d| d as usize).collect();
            (name, buf, shape)
        })
        .collect()
}

/// Writes `den` to `path` (through a temporary file in the same folder, then a rename, so a
/// crash never leaves a half-written checkpoint under the final name).
pub fn save(den: &Denoiser, path: &Path) -> Result<(), NetError> {
    let config = serde_json::to_string(&den.config)
        .map_err(|e| NetError::checkpoint(path, format!("cannot serialise the config: {e}")))?;
    let metadata = HashMap::from([
        (KEY_FORMAT.to_string(), FORMAT.to_string()),
        (KEY_CONFIG.to_string(), config),
        (KEY_SIGMA_DATA.to_string(), den.sigma_data.to_string()),
    ]);
    let tensors = tensor_bytes(den);
    let views = tensors
        .iter()
        .map(|(n, b, s)| Ok((n.as_str(), TensorView::new(Dtype::F32, s.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| NetError::checkpoint(path, format!("cannot lay out tensors: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| NetError::Io {
            action: "create the folder of",
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| NetError::checkpoint(path, format!("cannot serialise: {e}")))?;
    let bytes = canonical_header(bytes);
    dmd_io::write_atomic_with(path, |tmp| std::fs::write(tmp, &bytes)).map_err(|e| NetError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: e.into_io(),
    })
}

/// The safetensors bytes with their JSON header's keys sorted (the metadata map is a
/// `HashMap`, whose order changes from process to process), padded to the same length: equal
/// networks give byte-identical files, so a resumed run's checkpoint equals an uninterrupted
/// one's. Returns the input unchanged if the sorted header would not fit.
fn canonical_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes.get(8..8 + len) else {
        return bytes;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(header) else {
        return bytes;
    };
    let Ok(sorted) = serde_json::to_vec(&value) else {
        return bytes;
    };
    if sorted.len() > len {
        return bytes;
    }
    bytes[8..8 + sorted.len()].copy_from_slice(&sorted);
    bytes[8 + sorted.len()..8 + len].fill(b' ');
    bytes
}

/// Reads the network config stored in a checkpoint's metadata without loading the tensors.
pub fn read_config(path: &Path) -> Result<NetConfig, NetError> {
    let bytes = read(path)?;
    Ok(parse_header(path, &bytes)?.0)
}

fn read(path: &Path) -> Result<Vec<u8>, NetError> {
    std::fs::read(path).map_err(|source| NetError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Validates the header and metadata: returns the config and sigma_data.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<(NetConfig, f64), NetError> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| {
        NetError::checkpoint(
            path,
            format!("not a readable safetensors file (truncated or corrupt?): {e:?}"),
        )
    })?;
    let no_meta = || {
        NetError::checkpoint(
            path,
            format!(
                "no `{KEY_CONFIG}` entry in the safetensors metadata: not a dmd-nets checkpoint \
                 (write checkpoints with Denoiser::save)"
            ),
        )
    };
    let info = meta.metadata().as_ref().ok_or_else(no_meta)?;
    if let Some(f) = info.get(KEY_FORMAT)
        && f != FORMAT
    {
        return Err(NetError::checkpoint(
            path,
            format!("format `{f}` is not supported (this build reads `{FORMAT}`)"),
        ));
    }
    let json = info.get(KEY_CONFIG).ok_or_else(no_meta)?;
    let config: NetConfig = serde_json::from_str(json).map_err(|e| {
        NetError::checkpoint(
            path,
            format!("the stored network config does not parse: {e}"),
        )
    })?;
    config.validate().map_err(|e| {
        NetError::checkpoint(path, format!("the stored network config is invalid: {e}"))
    })?;
    let sigma_data = match info.get(KEY_SIGMA_DATA) {
        None => crate::precond::SIGMA_DATA,
        Some(s) => s.parse::<f64>().ok().filter(|v| *v > 0.0).ok_or_else(|| {
            NetError::checkpoint(path, format!("sigma_data `{s}` is not a positive number"))
        })?,
    };
    Ok((config, sigma_data))
}

/// Loads a checkpoint written by [`save`] onto `device`.
pub fn load(path: &Path, device: Device) -> Result<Denoiser, NetError> {
    let bytes = read(path)?;
    let (config, sigma_data) = parse_header(path, &bytes)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        NetError::checkpoint(
            path,
            format!("not a readable safetensors file (truncated or corrupt?): {e:?}"),
        )
    })?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let t = SourceTensor::from_view(path, &name, &view)?;
        tensors.insert(name, t);
    }
    let mut den = Denoiser::build(&config, device, Fill::Zeros)?;
    den.sigma_data = sigma_data;
    fill(&mut den, path, &tensors, "the stored config")?;
    Ok(den)
}

/// One tensor read from a file, before it is copied into a network: its shape, element type
/// and contiguous little-endian bytes.
#[derive(Debug, Clone)]
pub struct SourceTensor<'a> {
    /// Shape.
    pub shape: Vec<i64>,
    /// Element type (a float kind).
    pub kind: Kind,
    /// Contiguous row-major little-endian bytes.
    pub data: std::borrow::Cow<'a, [u8]>,
}

impl<'a> SourceTensor<'a> {
    /// A safetensors view as a source tensor; non-float dtypes are an error naming the tensor.
    pub fn from_view(path: &Path, name: &str, view: &TensorView<'a>) -> Result<Self, NetError> {
        let kind = match view.dtype() {
            Dtype::F32 => Kind::Float,
            Dtype::F64 => Kind::Double,
            Dtype::BF16 => Kind::BFloat16,
            Dtype::F16 => Kind::Half,
            other => {
                return Err(NetError::checkpoint(
                    path,
                    format!("tensor `{name}` has dtype {other:?}; expected a float type (F32)"),
                ));
            }
        };
        Ok(SourceTensor {
            shape: view.shape().iter().map(|&d| d as i64).collect(),
            kind,
            data: std::borrow::Cow::Borrowed(view.data()),
        })
    }

    /// The tensor as f32 values (for checks on small buffers such as EDM's resample filters).
    pub fn to_f32(&self, path: &Path, name: &str) -> Result<Vec<f32>, NetError> {
        let t = Tensor::f_from_data_size(&self.data, &self.shape, self.kind)
            .map_err(|e| NetError::checkpoint(path, format!("tensor `{name}`: {e}")))?;
        let t = t.to_kind(Kind::Float).reshape([-1]);
        Vec::<f32>::try_from(&t)
            .map_err(|e| NetError::checkpoint(path, format!("tensor `{name}`: {e}")))
    }
}

/// Copies `tensors` (names as in the denoiser's VarStore) into `den`'s variables after checking
/// that the names match exactly and every shape fits; `what` names the network config the
/// tensors are checked against ("the stored config", "the network config"). Nothing is copied
/// unless everything fits.
pub(crate) fn fill(
    den: &mut Denoiser,
    path: &Path,
    tensors: &BTreeMap<String, SourceTensor<'_>>,
    what: &str,
) -> Result<(), NetError> {
    let device = den.device();
    let vars: BTreeMap<String, Tensor> = den.vs.variables().into_iter().collect();
    let missing: Vec<&String> = vars.keys().filter(|k| !tensors.contains_key(*k)).collect();
    let extra: Vec<&String> = tensors.keys().filter(|n| !vars.contains_key(*n)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let show = |v: Vec<&String>| {
            let n = v.len();
            let mut s = v
                .into_iter()
                .take(5)
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if n > 5 {
                s.push_str(&format!(", ... ({n} in all)"));
            }
            s
        };
        return Err(NetError::checkpoint(
            path,
            format!(
                "tensors do not match {what}: missing [{}]; unexpected [{}]",
                show(missing),
                show(extra),
            ),
        ));
    }
    let mut sources = Vec::with_capacity(vars.len());
    for (name, var) in &vars {
        let t = &tensors[name];
        if t.shape != var.size() {
            return Err(NetError::checkpoint(
                path,
                format!(
                    "tensor `{name}` has shape {:?}, {what} needs {:?}",
                    t.shape,
                    var.size()
                ),
            ));
        }
        let src = Tensor::f_from_data_size(&t.data, &t.shape, t.kind)
            .map_err(|e| NetError::checkpoint(path, format!("tensor `{name}`: {e}")))?;
        sources.push((var, src));
    }
    tch::no_grad(|| -> Result<(), NetError> {
        for (var, src) in sources {
            let mut var = var.shallow_clone();
            var.f_copy_(&src.to_kind(Kind::Float).to_device(device))?;
        }
        Ok(())
    })
}

impl Denoiser {
    /// Writes a safetensors checkpoint with the config in its metadata (see [`crate::checkpoint`]).
    pub fn save(&self, path: &Path) -> Result<(), NetError> {
        save(self, path)
    }

    /// Rebuilds a denoiser from a checkpoint written by [`Denoiser::save`].
    pub fn load(path: &Path, device: Device) -> Result<Self, NetError> {
        load(path, device)
    }
}
