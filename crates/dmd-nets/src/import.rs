//! Importing a teacher (or a one-step generator) from the PyTorch world: a state dict in the
//! parameter names of NVlabs/edm's `EDMPrecond(DhariwalUNet)` (the ADM UNet that EDM and DMD2
//! release) becomes a [`Denoiser`] with this crate's UNet, whose layout is EDM's.
//!
//! Accepted inputs (see [`read_state_dict`]):
//! - a safetensors file holding the state dict (for example written from an EDM
//!   `network-snapshot-*.pkl` by `scripts/edm_pkl_to_safetensors.py`);
//! - a `torch.save` file (`.pt`/`.pth`/`.bin`, the zip-of-pickle format), read without Python by
//!   the `dmd-pt` crate; a checkpoint that nests the state dict (`{"model": ..., "ema": ...}`)
//!   is entered with [`ImportOptions::key`].
//!
//! Names: an optional prefix is stripped first ([`ImportOptions::strip_prefix`]); names then
//! carry EDM's `model.` prefix, which is added when absent. EDM's up/down blocks hold constant
//! `resample_filter` buffers (the `[1, 1]` filter, i.e. a 2x2 kernel of 0.25): each is checked
//! against that constant and dropped, since this crate's UNet applies the filter itself. Every
//! other tensor must be one of the network's parameters with the same shape, and every parameter
//! must be present; the error names the tensors that do not fit.

use crate::checkpoint::SourceTensor;
use crate::denoiser::Denoiser;
use crate::error::NetError;
use crate::layers::Fill;
use crate::net::NetConfig;
use crate::raw::MODEL_PATH;
use safetensors::SafeTensors;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use tch::{Device, Kind};

/// Suffix of EDM's constant resampling buffers.
pub const RESAMPLE_FILTER: &str = "resample_filter";

/// EDM's `resample_filter` for `resample_filter = [1, 1]`: `f f^T / (sum f)^2`, a 2x2 kernel of
/// 0.25 stored as `[1, 1, 2, 2]`.
pub const EDM_RESAMPLE_FILTER: [f32; 4] = [0.25; 4];

/// How to read names out of the source file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A prefix every tensor name carries and that is not part of EDM's names (e.g. `weights.`,
    /// `module.`); names without it are an error.
    pub strip_prefix: Option<String>,
    /// For `torch.save` files: the dotted path of the sub-dictionary holding the state dict
    /// (e.g. `ema` or `model`); the whole file when `None`.
    pub key: Option<String>,
}

/// The outcome of [`import`]: the network and what was left out of the file.
#[derive(Debug)]
pub struct Imported {
    /// The network with the imported weights.
    pub denoiser: Denoiser,
    /// Number of parameters tensors copied.
    pub copied: usize,
    /// Names of the constant buffers checked and dropped (EDM's resample filters).
    pub dropped: Vec<String>,
}

/// Reads the tensors of a state dict from a safetensors or `torch.save` file (told apart by
/// their first bytes), with their names as stored.
pub fn read_state_dict(
    path: &Path,
    key: Option<&str>,
) -> Result<BTreeMap<String, SourceTensor<'static>>, NetError> {
    let bytes = std::fs::read(path).map_err(|source| NetError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(b"PK\x03\x04") {
        return read_torch(path, key);
    }
    if key.is_some() {
        return Err(NetError::checkpoint(
            path,
            "a sub-dictionary key was given, but this is a safetensors file (flat names): \
             drop the key, or use --strip-prefix for a common prefix",
        ));
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        NetError::checkpoint(
            path,
            format!(
                "neither a torch.save zip nor a readable safetensors file ({e:?}); \
                 convert EDM pickles with scripts/edm_pkl_to_safetensors.py"
            ),
        )
    })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let t = SourceTensor::from_view(path, &name, &view)?;
        out.insert(
            name,
            SourceTensor {
                shape: t.shape,
                kind: t.kind,
                data: Cow::Owned(t.data.into_owned()),
            },
        );
    }
    Ok(out)
}

/// The tensors of a `torch.save` file (through `dmd-pt`, no Python); `key` is a dotted path
/// to the sub-dictionary holding the state dict.
fn read_torch(
    path: &Path,
    key: Option<&str>,
) -> Result<BTreeMap<String, SourceTensor<'static>>, NetError> {
    let keys: Vec<&str> = key.map(|k| k.split('.').collect()).unwrap_or_default();
    let dict = dmd_pt::read_state_dict_at(path, &keys)
        .map_err(|e| NetError::checkpoint(path, e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, t) in dict.tensors {
        let kind = match t.dtype {
            dmd_pt::DType::F32 => Kind::Float,
            dmd_pt::DType::F64 => Kind::Double,
            dmd_pt::DType::F16 => Kind::Half,
            dmd_pt::DType::BF16 => Kind::BFloat16,
            other => {
                return Err(NetError::checkpoint(
                    path,
                    format!("tensor `{name}` has dtype {other}; expected a float type"),
                ));
            }
        };
        let shape = t.shape.iter().map(|&d| d as i64).collect();
        out.insert(
            name,
            SourceTensor {
                shape,
                kind,
                data: Cow::Owned(t.data),
            },
        );
    }
    Ok(out)
}

/// EDM's name of a tensor as this crate's VarStore name: `strip_prefix` removed (an error when
/// absent), then `model.` added unless already there.
pub fn edm_name(name: &str, strip_prefix: Option<&str>) -> Option<String> {
    let rest = match strip_prefix {
        Some(p) => name.strip_prefix(p)?,
        None => name,
    };
    let model = format!("{MODEL_PATH}.");
    Some(if rest.starts_with(&model) {
        rest.to_string()
    } else {
        format!("{model}{rest}")
    })
}

/// Renames `tensors` to this crate's names and checks and drops EDM's constant buffers: returns
/// the parameters and the dropped names.
pub fn to_parameters(
    path: &Path,
    tensors: BTreeMap<String, SourceTensor<'static>>,
    strip_prefix: Option<&str>,
) -> Result<(BTreeMap<String, SourceTensor<'static>>, Vec<String>), NetError> {
    let mut params = BTreeMap::new();
    let mut dropped = Vec::new();
    for (name, t) in tensors {
        let Some(ours) = edm_name(&name, strip_prefix) else {
            return Err(NetError::checkpoint(
                path,
                format!(
                    "tensor `{name}` does not start with the prefix `{}` given to strip",
                    strip_prefix.unwrap_or_default()
                ),
            ));
        };
        if ours.ends_with(&format!(".{RESAMPLE_FILTER}")) {
            let values = t.to_f32(path, &name)?;
            let fits = t.shape == [1, 1, 2, 2]
                && values
                    .iter()
                    .zip(EDM_RESAMPLE_FILTER)
                    .all(|(a, b)| (a - b).abs() <= 1e-7);
            if !fits {
                return Err(NetError::checkpoint(
                    path,
                    format!(
                        "buffer `{name}` (shape {:?}) is not EDM's [1, 1] resample filter \
                         (a 2x2 kernel of 0.25), the only one dmd-nets' UNet implements",
                        t.shape
                    ),
                ));
            }
            dropped.push(name);
            continue;
        }
        params.insert(ours, t);
    }
    Ok((params, dropped))
}

/// Imports the state dict in `path` into a network of `config` (`sigma_data` of the EDM
/// preconditioning) on `device`, validating every name and shape.
pub fn import(
    path: &Path,
    config: &NetConfig,
    sigma_data: f64,
    options: &ImportOptions,
    device: Device,
) -> Result<Imported, NetError> {
    config.validate()?;
    let tensors = read_state_dict(path, options.key.as_deref())?;
    let (params, dropped) = to_parameters(path, tensors, options.strip_prefix.as_deref())?;
    let mut den = Denoiser::build(config, device, Fill::Zeros)?;
    den.sigma_data = sigma_data;
    crate::checkpoint::fill(&mut den, path, &params, "the network config")?;
    Ok(Imported {
        denoiser: den,
        copied: params.len(),
        dropped,
    })
}
