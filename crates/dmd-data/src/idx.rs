//! A strict reader for IDX files (the MNIST format), plain or gzip-compressed.
//!
//! Layout: magic `00 00 08 <ndims>` (type 0x08 = unsigned byte, the only type MNIST uses), then
//! `ndims` big-endian `u32` sizes, then exactly `prod(sizes)` bytes. Gzip input is recognised by
//! its magic bytes `1f 8b` and decompressed first. Every deviation (short data, wrong magic,
//! unsupported type, sizes that disagree with the length, trailing bytes) is an [`IdxError`];
//! the reader never panics and never allocates more than the input implies.

use std::io::Read;
use std::path::Path;

use crate::error::{DataError, IdxError};

/// IDX type code of unsigned bytes.
pub const IDX_TYPE_U8: u8 = 0x08;
/// The gzip magic bytes.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Decompressed IDX data larger than this (1 GiB) is rejected as corrupt.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// An IDX array of unsigned bytes: its dimension sizes and its elements in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimension sizes from the header (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The `prod(dims)` elements, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes, decompressing first when they start with the gzip magic `1f 8b`.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, IdxError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let plain = gunzip(bytes)?;
        return parse_plain_idx(&plain);
    }
    parse_plain_idx(bytes)
}

/// Reads and parses an IDX file (plain or gzip). A missing file is [`DataError::MissingFile`].
pub fn read_idx_file(path: &Path) -> Result<IdxArray, DataError> {
    let bytes = read_file(path, "check the path")?;
    parse_idx(&bytes).map_err(|source| DataError::Idx {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a whole file, mapping "not found" to [`DataError::MissingFile`] with `hint`.
pub(crate) fn read_file(path: &Path, hint: &str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::MissingFile {
                path: path.to_path_buf(),
                hint: hint.to_string(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Decompresses gzip data (all members), refusing more than [`MAX_DECOMPRESSED_BYTES`].
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| IdxError::Gzip {
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(IdxError::Gzip {
            reason: format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes"),
        });
    }
    Ok(out)
}

/// Parses uncompressed IDX bytes.
fn parse_plain_idx(bytes: &[u8]) -> Result<IdxArray, IdxError> {
    let magic: [u8; 4] = match bytes.get(..4) {
        Some(m) => [m[0], m[1], m[2], m[3]],
        None => return Err(IdxError::TooShort { len: bytes.len() }),
    };
    if magic[0] != 0 || magic[1] != 0 {
        return Err(IdxError::BadMagic { found: magic });
    }
    if magic[2] != IDX_TYPE_U8 {
        return Err(IdxError::UnsupportedType { code: magic[2] });
    }
    let ndims = magic[3];
    if ndims == 0 {
        return Err(IdxError::NoDimensions);
    }
    let header_len = 4 + 4 * ndims as usize;
    let header = bytes.get(4..header_len).ok_or(IdxError::TruncatedHeader {
        ndims,
        needed: header_len,
        len: bytes.len(),
    })?;
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IdxError::TooLarge { dims: dims.clone() })?;
    let body = &bytes[header_len..];
    if body.len() != expected {
        return Err(IdxError::LengthMismatch {
            dims,
            expected,
            found: body.len(),
        });
    }
    Ok(IdxArray {
        dims,
        data: body.to_vec(),
    })
}

/// Encodes an unsigned-byte IDX array (the inverse of [`parse_idx`] for plain data); useful to
/// write test fixtures and subsets. Errors if a dimension exceeds `u32` or the element count is
/// not `prod(dims)`.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Result<Vec<u8>, IdxError> {
    let to_err = || IdxError::TooLarge {
        dims: dims.to_vec(),
    };
    let ndims = u8::try_from(dims.len()).map_err(|_| to_err())?;
    if ndims == 0 {
        return Err(IdxError::NoDimensions);
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(to_err)?;
    if data.len() != expected {
        return Err(IdxError::LengthMismatch {
            dims: dims.to_vec(),
            expected,
            found: data.len(),
        });
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, IDX_TYPE_U8, ndims]);
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| to_err())?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}
