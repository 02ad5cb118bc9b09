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
    /// A valid IDX file whose contents are not what the dataset needs (shape, label range, counts).
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
