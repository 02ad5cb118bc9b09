//! # dmd-pt
//!
//! Reads the files `torch.save` writes (the zip format, PyTorch 1.6 and later) in Rust, with
//! neither Python nor libtorch: state dicts, and checkpoints that nest them
//! (`{"model": ..., "ema": ..., "step": 7}`).
//!
//! | module | job |
//! |---|---|
//! | `archive` | the zip archive: `<prefix>/data.pkl`, `<prefix>/data/<key>` storages, `byteorder` |
//! | `pickle` | a pickle machine limited to what state dicts use, and the [`Value`] tree |
//! | `tensor` | [`DType`], [`RawTensor`], copying a strided view out of its storage |
//! | `state_dict` | [`StateDict`] and [`flatten`]: nested tensors under dotted names |
//! | `error` | [`PtError`] (the file and what is wrong) and [`ErrorKind`] |
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! // Every tensor, nested dictionaries flattened to dotted names.
//! let sd = dmd_pt::read_state_dict(Path::new("model.pt"))?;
//! for (name, t) in &sd.tensors {
//!     println!("{name}: {} {:?}", t.dtype, t.shape);
//! }
//! let w: Vec<f32> = sd.get("fc.weight").ok_or("no fc.weight")?.to_f32()?;
//! // Only the EMA weights of a checkpoint {"model": ..., "ema": ..., "step": ...}.
//! let ema = dmd_pt::read_state_dict_at(Path::new("checkpoint.pt"), &["ema"])?;
//! // The whole tree, non-tensor values included.
//! let tree = dmd_pt::read(Path::new("checkpoint.pt"))?;
//! let step = tree.get("step");
//! # let _ = (w, ema, step); Ok(()) }
//! ```
//!
//! ## Safety: no code from the file runs
//!
//! Unlike Python's `pickle.load` (and `torch.load(..., weights_only=False)`), reading a file
//! never imports or calls anything it names. The pickle machine implements only the opcodes
//! state dicts use and accepts only an allow-list of globals (`collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, the `torch.*Storage`
//! types), each replaced by a fixed Rust action; any other opcode or global (`os.system`,
//! `builtins.eval`, a model class) is an error naming it. Lengths, offsets and views are
//! bounds-checked, and the object graph's depth and size are bounded. One cost remains with
//! the data itself: a tensor is copied out in full, so a view that repeats a small storage
//! (stride 0) asks for as much memory as its shape says; an allocation that cannot be made is
//! an error, not an abort.
//!
//! ## What is supported
//!
//! Tensors of dtypes float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8 and
//! bool, of any shape (0-dim and empty included), contiguous or not, several of them sharing a
//! storage; `nn.Parameter`; tensors saved from any device (the location is ignored). Not
//! supported: the legacy pre-1.6 format (a clear error says how to re-save), big-endian
//! files, compressed zip entries (`torch.save` never compresses), quantized, sparse and complex
//! tensors, tensor subclasses and pickled objects of other classes.

mod archive;
mod error;
mod pickle;
mod state_dict;
mod tensor;

use std::path::Path;

pub use error::{ErrorKind, PtError};
pub use pickle::Value;
pub use state_dict::{StateDict, flatten};
pub use tensor::{DType, RawTensor};

/// The whole object `torch.load` would return from `path`, with every tensor copied out of
/// its storage into a contiguous little-endian [`RawTensor`].
///
/// # Errors
/// A [`PtError`] naming the file and what is wrong: not a zip archive, the legacy format,
/// a corrupt archive, no `data.pkl`, big-endian data, an unsupported opcode or global, a
/// missing or short storage, a view past the end of its storage.
pub fn read(path: &Path) -> Result<Value, PtError> {
    let in_file = |kind| PtError {
        path: path.to_path_buf(),
        kind,
    };
    let mut archive = archive::Archive::open(path).map_err(in_file)?;
    let data = archive.data_pkl().map_err(in_file)?;
    pickle::parse(&data)
        .and_then(|pickled| pickled.into_value(&mut archive))
        .map_err(in_file)
}

/// Every tensor in the file at `path` under its dotted name (see [`flatten`]): for a file
/// saved with `torch.save(module.state_dict(), path)`, the state dict's names and tensors in
/// order. Non-tensor values are skipped.
///
/// # Errors
/// As [`read`], and [`ErrorKind::DuplicateName`] when two nested names join to the same one.
pub fn read_state_dict(path: &Path) -> Result<StateDict, PtError> {
    read_state_dict_at(path, &[])
}

/// The tensors under the key path `keys` only (`&["ema"]` for `checkpoint["ema"]`,
/// `&["model", "encoder"]` for `checkpoint["model"]["encoder"]`), flattened as in
/// [`read_state_dict`] with names relative to that dictionary.
///
/// # Errors
/// As [`read_state_dict`], and [`ErrorKind::NoSuchKey`] (listing the keys there are) when the
/// path does not exist.
pub fn read_state_dict_at(path: &Path, keys: &[&str]) -> Result<StateDict, PtError> {
    let in_file = |kind| PtError {
        path: path.to_path_buf(),
        kind,
    };
    let tree = read(path)?;
    tree.lookup(keys).and_then(flatten).map_err(in_file)
}
