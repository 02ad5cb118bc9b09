//! Typed errors of `dmd-data`: every failure names the problem and, where there is one, the fix.

use std::path::PathBuf;

/// A failure while parsing IDX bytes (the MNIST file format), independent of where the bytes came from.
///
/// IDX layout: a 4-byte magic number `00 00 <type> <ndims>`, then `ndims` big-endian `u32` dimension
/// sizes, then exactly `prod(dims)` elements. Only the unsigned-byte type `0x08` is supported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdxError {
    /// Fewer than 4 bytes: not even the magic number is there.
    #[error(
        "IDX data is {len} bytes long, too short for the 4-byte magic number (file truncated or empty)"
    )]
    TooShort {
        /// Number of bytes available.
        len: usize,
    },
    /// The first two bytes are not zero, so this is not an IDX file.
    #[error(
        "bad IDX magic number {found:02x?}: expected 00 00 <type> <ndims> (not an IDX file, or a corrupt one)"
    )]
    BadMagic {
        /// The four bytes found at the start.
        found: [u8; 4],
    },
    /// The element type code is not unsigned byte (0x08).
    #[error(
        "IDX element type 0x{code:02x} is not supported: only unsigned bytes (0x08) are, as in MNIST"
    )]
    UnsupportedType {
        /// The type code found (third byte of the magic number).
        code: u8,
    },
    /// The header declares zero dimensions.
    #[error("IDX header declares 0 dimensions; an IDX array needs at least one")]
    NoDimensions,
    /// The header is cut off before all dimension sizes.
    #[error(
        "IDX header declares {ndims} dimensions ({needed} header bytes) but the data has only {len} bytes"
    )]
    TruncatedHeader {
        /// Number of dimensions declared.
        ndims: u8,
        /// Header bytes needed (4 + 4 * ndims).
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// The product of the dimension sizes overflows `usize`.
    #[error(
        "IDX dimensions {dims:?} describe more elements than this machine can address (corrupt header)"
    )]
    TooLarge {
        /// The declared dimension sizes.
        dims: Vec<usize>,
    },
    /// The body length disagrees with the dimension sizes (a truncated file or trailing garbage).
    #[error(
        "IDX header dimensions {dims:?} imply {expected} data bytes but {found} follow the header \
         (file truncated or corrupt)"
    )]
    LengthMismatch {
        /// The declared dimension sizes.
        dims: Vec<usize>,
        /// Body bytes implied by the dimensions.
        expected: usize,
        /// Body bytes present.
        found: usize,
    },
    /// The data starts with the gzip magic bytes `1f 8b` but does not decompress.
    #[error("data starts with the gzip magic bytes 1f 8b but does not decompress: {reason}")]
    Gzip {
        /// The decompressor's message.
        reason: String,
    },
}

/// A failure while parsing NumPy `.npy` bytes, independent of where the bytes came from.
///
/// Layout: magic `\x93NUMPY`, version `major minor`, header length (`u16` LE for 1.0, `u32` LE for
/// 2.0/3.0), a Python-dict header with `descr`, `fortran_order` and `shape`, then exactly
/// `prod(shape)` elements in C order.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NpyError {
    /// Too few bytes for the magic, version and header length.
    #[error(
        "npy data is {len} bytes long, too short for the magic, version and header length (file truncated or empty)"
    )]
    TooShort {
        /// Number of bytes available.
        len: usize,
    },
    /// The data does not start with `\x93NUMPY`.
    #[error(
        "bad npy magic {found:02x?}: expected 93 4e 55 4d 50 59 (\\x93NUMPY); not a .npy file (an .npz archive? load it and np.save each array)"
    )]
    BadMagic {
        /// The first six bytes found.
        found: Vec<u8>,
    },
    /// A format version other than 1.0, 2.0, 3.0.
    #[error(
        "npy format version {major}.{minor} is not supported (only 1.0, 2.0, 3.0); re-save with np.save"
    )]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header is cut off.
    #[error(
        "npy header declares {header_len} bytes but only {available} follow the prefix (file truncated)"
    )]
    TruncatedHeader {
        /// Declared header length.
        header_len: usize,
        /// Bytes available after the prefix.
        available: usize,
    },
    /// The header is not the Python dict literal NumPy writes.
    #[error("malformed npy header: {reason}; re-save the array with np.save")]
    HeaderSyntax {
        /// What is wrong.
        reason: String,
    },
    /// One of `descr`, `fortran_order`, `shape` is missing from the header.
    #[error("npy header has no '{key}' key; re-save the array with np.save")]
    MissingKey {
        /// The missing key.
        key: &'static str,
    },
    /// The array is stored in Fortran (column-major) order.
    #[error(
        "array is stored in Fortran (column-major) order; only C order is supported: save it with np.save(path, np.ascontiguousarray(a))"
    )]
    FortranOrder,
    /// Big-endian element type.
    #[error(
        "big-endian dtype '{descr}' is not supported; convert to little-endian, e.g. np.save(path, a.astype(a.dtype.newbyteorder('<')))"
    )]
    BigEndian {
        /// The `descr` found.
        descr: String,
    },
    /// An element type this reader does not handle (here).
    #[error(
        "dtype '{descr}' is not supported (allowed: {allowed}); convert with a.astype(np.float32) for samples or a.astype(np.int64) for labels"
    )]
    UnsupportedDtype {
        /// The `descr` found.
        descr: String,
        /// The types accepted in this place.
        allowed: &'static str,
    },
    /// `scale = "uint8"` was asked for a non-byte array.
    #[error(
        "scale = \"uint8\" maps |u1 bytes to [-1, 1] but the array's dtype is '{descr}'; use scale = \"none\" (or save the images as np.uint8)"
    )]
    ScaleNeedsUint8 {
        /// The `descr` found.
        descr: &'static str,
    },
    /// The shape's element count overflows `usize`.
    #[error(
        "npy shape {shape:?} describes more elements than this machine can address (corrupt header)"
    )]
    TooLarge {
        /// The declared shape.
        shape: Vec<usize>,
    },
    /// The data length disagrees with the shape (a truncated file or trailing garbage).
    #[error(
        "npy shape {shape:?} of '{descr}' implies {expected} data bytes but {found} follow the header (file truncated or corrupt; re-save with np.save)"
    )]
    LengthMismatch {
        /// The declared shape.
        shape: Vec<usize>,
        /// The element type.
        descr: &'static str,
        /// Data bytes implied by the shape.
        expected: usize,
        /// Data bytes present.
        found: usize,
    },
}

/// Every error `dmd-data` returns.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A dataset parameter is out of range.
    #[error("invalid dataset parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter (field) name.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// An input array has the wrong shape.
    #[error("shape mismatch in {context}: expected {expected}, got {found}")]
    ShapeMismatch {
        /// Which function or array.
        context: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        found: String,
    },
    /// A required data file does not exist.
    #[error("data file {path} not found; {hint}")]
    MissingFile {
        /// The path that was looked for.
        path: PathBuf,
        /// What to do about it.
        hint: String,
    },
    /// A file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file is not a valid IDX file.
    #[error("{path}: {source}; delete it and run `cargo xtask setup` to fetch a fresh copy")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: IdxError,
    },
    /// A file is not a valid (supported) `.npy` file.
    #[error("{path}: {source}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong with its bytes.
        source: NpyError,
    },
    /// A valid IDX or `.npy` file whose contents are not what the dataset needs (shape, label range, counts).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Shorthand for an invalid-parameter error.
pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> DataError {
    DataError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}
