//! A strict reader (and an `f32` writer) for NumPy `.npy` files, so users can bring their own data
//! (e.g. ImageNet-64 arrays saved with `np.save`).
//!
//! Layout (format versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, two version bytes
//! `major minor`, the header length as a little-endian `u16` (version 1) or `u32` (versions 2 and
//! 3), then the header: a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 64, 64), }` padded with spaces and a
//! final newline, then exactly `prod(shape)` elements in C (row-major) order.
//!
//! Supported element types (`descr`): `<f4` and `<f8` (converted to `f32`) and `|u1` (bytes,
//! optionally scaled to `[-1, 1]` by `x / 127.5 - 1`) for samples; `<i8`, `<i4` and `|u1` for
//! labels. Every deviation (bad magic, unknown version, malformed header, Fortran order,
//! big-endian or unsupported types, a body whose length disagrees with the shape) is an
//! [`NpyError`]; the reader never panics and never allocates more than the input implies.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, NpyError};
use crate::idx::read_file;

/// The six magic bytes every `.npy` file starts with.
pub const NPY_MAGIC: [u8; 6] = *b"\x93NUMPY";
/// Bytes before the header in version 1.0 (magic, version, `u16` length).
const PREFIX_V1: usize = 10;
/// Bytes before the header in versions 2.0 and 3.0 (magic, version, `u32` length).
const PREFIX_V2: usize = 12;
/// Deepest nesting of tuples/lists accepted in a header (structured dtypes nest a little).
const MAX_DEPTH: usize = 16;

/// Element type of a `.npy` array (the `descr` string), restricted to the supported ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NpyDtype {
    /// `<f4`: little-endian `f32`.
    F32,
    /// `<f8`: little-endian `f64`.
    F64,
    /// `|u1`: unsigned byte.
    U8,
    /// `<i4`: little-endian `i32`.
    I32,
    /// `<i8`: little-endian `i64`.
    I64,
}

impl NpyDtype {
    /// The `descr` string NumPy writes for this type.
    pub fn descr(self) -> &'static str {
        match self {
            NpyDtype::F32 => "<f4",
            NpyDtype::F64 => "<f8",
            NpyDtype::U8 => "|u1",
            NpyDtype::I32 => "<i4",
            NpyDtype::I64 => "<i8",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NpyDtype::U8 => 1,
            NpyDtype::F32 | NpyDtype::I32 => 4,
            NpyDtype::F64 | NpyDtype::I64 => 8,
        }
    }

    /// Parses a `descr` string: the supported types, or a typed error naming the fix.
    pub fn from_descr(descr: &str) -> Result<Self, NpyError> {
        Ok(match descr {
            "<f4" => NpyDtype::F32,
            "<f8" => NpyDtype::F64,
            "|u1" | "<u1" | "u1" => NpyDtype::U8,
            "<i4" => NpyDtype::I32,
            "<i8" => NpyDtype::I64,
            d if d.starts_with('>') => {
                return Err(NpyError::BigEndian {
                    descr: d.to_string(),
                });
            }
            d => {
                return Err(NpyError::UnsupportedDtype {
                    descr: d.to_string(),
                    allowed: "<f4, <f8, |u1, <i4, <i8",
                });
            }
        })
    }
}

/// How `|u1` samples are converted to `f32`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NpyScale {
    /// Values are converted as they are (`u8` bytes become `0.0..=255.0`).
    #[default]
    None,
    /// `|u1` images are mapped to `[-1, 1]` by `x / 127.5 - 1` (as MNIST); only valid for `|u1`.
    Uint8,
}

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version `(major, minor)`: `(1, 0)`, `(2, 0)` or `(3, 0)`.
    pub version: (u8, u8),
    /// Element type.
    pub dtype: NpyDtype,
    /// Array shape (`[]` for a 0-d array).
    pub shape: Vec<usize>,
    /// Offset of the first data byte from the start of the file.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Number of elements, `prod(shape)` (errors on overflow).
    pub fn num_elements(&self) -> Result<usize, NpyError> {
        checked_product(&self.shape)
    }

    /// Number of data bytes the header implies, `prod(shape) * size(dtype)`.
    pub fn data_len(&self) -> Result<usize, NpyError> {
        self.num_elements()?
            .checked_mul(self.dtype.size())
            .ok_or_else(|| NpyError::TooLarge {
                shape: self.shape.clone(),
            })
    }
}

/// A decoded array: its shape and its elements in row-major (C) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray<T> {
    /// Shape from the header.
    pub shape: Vec<usize>,
    /// The `prod(shape)` elements, row-major.
    pub data: Vec<T>,
}

fn checked_product(shape: &[usize]) -> Result<usize, NpyError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| NpyError::TooLarge {
            shape: shape.to_vec(),
        })
}

/// Parses the header at the start of `bytes` (which may hold only the header or the whole file).
pub fn parse_npy_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    if bytes.len() < PREFIX_V1 {
        return Err(NpyError::TooShort { len: bytes.len() });
    }
    if bytes[..6] != NPY_MAGIC {
        return Err(NpyError::BadMagic {
            found: bytes[..6].to_vec(),
        });
    }
    let version = (bytes[6], bytes[7]);
    let (prefix, header_len) = match version {
        (1, 0) => (
            PREFIX_V1,
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
        ),
        (2, 0) | (3, 0) => {
            let b = bytes
                .get(8..12)
                .ok_or(NpyError::TooShort { len: bytes.len() })?;
            (
                PREFIX_V2,
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
            )
        }
        (major, minor) => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let data_offset = prefix
        .checked_add(header_len)
        .ok_or(NpyError::TruncatedHeader {
            header_len,
            available: bytes.len().saturating_sub(prefix),
        })?;
    let raw = bytes
        .get(prefix..data_offset)
        .ok_or(NpyError::TruncatedHeader {
            header_len,
            available: bytes.len().saturating_sub(prefix),
        })?;
    let text = std::str::from_utf8(raw).map_err(|_| NpyError::HeaderSyntax {
        reason: "the header is not valid UTF-8/ASCII text".to_string(),
    })?;
    let (dtype, fortran_order, shape) = parse_header_dict(text)?;
    if fortran_order {
        return Err(NpyError::FortranOrder);
    }
    Ok(NpyHeader {
        version,
        dtype,
        shape,
        data_offset,
    })
}

/// Header bytes and the data slice of a whole file, with the length checked against the shape.
fn split_body(bytes: &[u8]) -> Result<(NpyHeader, &[u8]), NpyError> {
    let header = parse_npy_header(bytes)?;
    let expected = header.data_len()?;
    let body = &bytes[header.data_offset..];
    if body.len() != expected {
        return Err(NpyError::LengthMismatch {
            shape: header.shape,
            descr: header.dtype.descr(),
            expected,
            found: body.len(),
        });
    }
    Ok((header, body))
}

/// Parses a whole `.npy` file of samples into `f32`: `<f4` as is, `<f8` rounded to `f32`, `|u1`
/// as `0..=255` (`scale = None`) or `x / 127.5 - 1` (`scale = Uint8`, only allowed for `|u1`).
pub fn parse_npy_f32(bytes: &[u8], scale: NpyScale) -> Result<NpyArray<f32>, NpyError> {
    let (header, body) = split_body(bytes)?;
    if scale == NpyScale::Uint8 && header.dtype != NpyDtype::U8 {
        return Err(NpyError::ScaleNeedsUint8 {
            descr: header.dtype.descr(),
        });
    }
    let data: Vec<f32> = match header.dtype {
        NpyDtype::F32 => body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        NpyDtype::F64 => body
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        NpyDtype::U8 => {
            let table = u8_table(scale);
            body.iter().map(|&v| table[usize::from(v)]).collect()
        }
        NpyDtype::I32 | NpyDtype::I64 => {
            return Err(NpyError::UnsupportedDtype {
                descr: header.dtype.descr().to_string(),
                allowed: "<f4, <f8, |u1 for samples",
            });
        }
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Parses a whole `.npy` file of integers (labels) into `i64`: `<i8`, `<i4` or `|u1`.
pub fn parse_npy_i64(bytes: &[u8]) -> Result<NpyArray<i64>, NpyError> {
    let (header, body) = split_body(bytes)?;
    let data: Vec<i64> = match header.dtype {
        NpyDtype::I64 => body
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        NpyDtype::I32 => body
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        NpyDtype::U8 => body.iter().map(|&v| i64::from(v)).collect(),
        NpyDtype::F32 | NpyDtype::F64 => {
            return Err(NpyError::UnsupportedDtype {
                descr: header.dtype.descr().to_string(),
                allowed: "<i8, <i4, |u1 for labels",
            });
        }
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

fn npy_err(path: &Path) -> impl Fn(NpyError) -> DataError + '_ {
    move |source| DataError::Npy {
        path: path.to_path_buf(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::MissingFile {
                path: path.to_path_buf(),
                hint: NPY_MISSING_HINT.to_string(),
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

const NPY_MISSING_HINT: &str = "save your array there with `np.save(path, a)`, or fix `path` \
     (relative paths are inside the data folder: $DMD_DATA, else $DMD_HOME/data, else \
     <workspace>/data)";

/// Reads only the header of a `.npy` file (cheap, whatever the file's size) and checks that the
/// file is as long as the header implies.
pub fn read_npy_header(path: &Path) -> Result<NpyHeader, DataError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let file_len = file.metadata().map_err(io_err(path))?.len();
    let mut prefix = Vec::with_capacity(PREFIX_V2);
    (&file)
        .take(PREFIX_V2 as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err(path))?;
    // Learn the header length from the prefix (a truncated-header error carries it), then read
    // exactly that much more.
    let header_end = match parse_npy_header(&prefix) {
        Ok(h) => h.data_offset,
        Err(NpyError::TruncatedHeader { header_len, .. }) => {
            let p = if prefix.get(6) == Some(&1) {
                PREFIX_V1
            } else {
                PREFIX_V2
            };
            p.saturating_add(header_len)
        }
        Err(e) => return Err(npy_err(path)(e)),
    };
    let mut head = prefix;
    let more = (header_end as u64)
        .min(file_len)
        .saturating_sub(head.len() as u64);
    (&file)
        .take(more)
        .read_to_end(&mut head)
        .map_err(io_err(path))?;
    let header = parse_npy_header(&head).map_err(npy_err(path))?;
    let expected = header.data_len().map_err(npy_err(path))?;
    let found = file_len.saturating_sub(header.data_offset as u64);
    if found != expected as u64 {
        return Err(npy_err(path)(NpyError::LengthMismatch {
            shape: header.shape,
            descr: header.dtype.descr(),
            expected,
            found: usize::try_from(found).unwrap_or(usize::MAX),
        }));
    }
    Ok(header)
}

/// Reads a `.npy` file of samples as `f32` (see [`parse_npy_f32`]).
pub fn read_npy_f32(path: &Path, scale: NpyScale) -> Result<NpyArray<f32>, DataError> {
    let bytes = read_file(path, NPY_MISSING_HINT)?;
    parse_npy_f32(&bytes, scale).map_err(npy_err(path))
}

/// The `f32` value of each byte under `scale`: `0.0..=255.0`, or `x / 127.5 - 1` for
/// [`NpyScale::Uint8`].
pub fn u8_table(scale: NpyScale) -> [f32; 256] {
    match scale {
        NpyScale::None => std::array::from_fn(|v| v as f32),
        NpyScale::Uint8 => std::array::from_fn(|v| v as f32 / 127.5 - 1.0),
    }
}

/// Reads a `.npy` file of integer labels as `i64` (see [`parse_npy_i64`]).
pub fn read_npy_i64(path: &Path) -> Result<NpyArray<i64>, DataError> {
    let bytes = read_file(path, NPY_MISSING_HINT)?;
    parse_npy_i64(&bytes).map_err(npy_err(path))
}

/// Encodes a C-order `f32` array as `.npy` bytes (`descr = '<f4'`, version 1.0, or 2.0 when the
/// header does not fit a `u16`), byte-compatible with `np.save`. Errors if `data.len()` is not
/// `prod(shape)`.
pub fn encode_npy_f32(shape: &[usize], data: &[f32]) -> Result<Vec<u8>, NpyError> {
    let expected = checked_product(shape)?;
    if data.len() != expected {
        return Err(NpyError::LengthMismatch {
            shape: shape.to_vec(),
            descr: NpyDtype::F32.descr(),
            expected: expected.saturating_mul(4),
            found: data.len().saturating_mul(4),
        });
    }
    let shape_text = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so that the data start is 64-byte aligned, then end with a newline.
    let (major, prefix) = if dict.len() + 1 + PREFIX_V1 + 64 <= usize::from(u16::MAX) {
        (1u8, PREFIX_V1)
    } else {
        (2u8, PREFIX_V2)
    };
    let pad = (64 - (prefix + dict.len() + 1) % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(prefix + dict.len() + 4 * data.len());
    out.extend_from_slice(&NPY_MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        let len = u16::try_from(dict.len()).map_err(|_| NpyError::TooLarge {
            shape: shape.to_vec(),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(dict.len()).map_err(|_| NpyError::TooLarge {
            shape: shape.to_vec(),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes a C-order `f32` array to `path` as a `.npy` file (see [`encode_npy_f32`]); readable
/// with `np.load(path)`.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), DataError> {
    let bytes = encode_npy_f32(shape, data).map_err(npy_err(path))?;
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(path).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.flush().map_err(io)
}

// ---------------------------------------------------------------------------------------------
// The header dict: a tiny parser for the Python literals NumPy writes (strings, True/False/None,
// integers, tuples, lists, a flat dict).

/// A Python literal in the header.
#[derive(Debug)]
enum Literal {
    Str(String),
    Bool(bool),
    None,
    Int(u128),
    Seq(Vec<Literal>),
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

fn syntax(reason: impl Into<String>) -> NpyError {
    NpyError::HeaderSyntax {
        reason: reason.into(),
    }
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        match self.peek() {
            Some(found) if found == c => {
                self.pos += 1;
                Ok(())
            }
            found => Err(syntax(format!(
                "expected `{}` at byte {}, found {}",
                c as char,
                self.pos,
                found.map_or("the end".to_string(), |f| format!("`{}`", f as char))
            ))),
        }
    }

    fn string(&mut self) -> Result<String, NpyError> {
        let quote = self.peek().ok_or_else(|| syntax("unexpected end"))?;
        if quote != b'\'' && quote != b'"' {
            return Err(syntax(format!(
                "expected a quoted string at byte {}",
                self.pos
            )));
        }
        let start = self.pos + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or_else(|| syntax("unterminated string"))?;
        self.pos = start + len + 1;
        let text = std::str::from_utf8(&self.s[start..start + len])
            .map_err(|_| syntax("a string is not valid UTF-8"))?;
        if text.contains('\\') {
            return Err(syntax(
                "escape sequences in header strings are not supported",
            ));
        }
        Ok(text.to_string())
    }

    fn literal(&mut self, depth: usize) -> Result<Literal, NpyError> {
        if depth > MAX_DEPTH {
            return Err(syntax("header literals are nested too deeply"));
        }
        match self.peek().ok_or_else(|| syntax("unexpected end"))? {
            b'\'' | b'"' => Ok(Literal::Str(self.string()?)),
            open @ (b'(' | b'[') => {
                let close = if open == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Ok(Literal::Seq(items));
                    }
                    items.push(self.literal(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(c) if c == close => {}
                        _ => {
                            return Err(syntax(format!(
                                "expected `,` or `{}` at byte {}",
                                close as char, self.pos
                            )));
                        }
                    }
                }
            }
            c if c.is_ascii_digit() => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.pos])
                    .map_err(|_| syntax("bad integer"))?;
                let v = digits
                    .parse::<u128>()
                    .map_err(|_| syntax(format!("integer {digits} is too large")))?;
                // Python 2 long suffix, as old NumPy wrote it: `(3L, 4L)`.
                if matches!(self.s.get(self.pos), Some(b'L' | b'l')) {
                    self.pos += 1;
                }
                Ok(Literal::Int(v))
            }
            c if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(u8::is_ascii_alphanumeric) {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"True" => Ok(Literal::Bool(true)),
                    b"False" => Ok(Literal::Bool(false)),
                    b"None" => Ok(Literal::None),
                    word => Err(syntax(format!(
                        "unknown name `{}` in the header",
                        String::from_utf8_lossy(word)
                    ))),
                }
            }
            c => Err(syntax(format!(
                "unexpected `{}` at byte {}",
                c as char, self.pos
            ))),
        }
    }
}

fn describe(lit: &Literal) -> String {
    match lit {
        Literal::Str(s) => format!("'{s}'"),
        Literal::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Literal::None => "None".to_string(),
        Literal::Int(v) => v.to_string(),
        Literal::Seq(items) => format!(
            "({})",
            items.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Parses `{'descr': ..., 'fortran_order': ..., 'shape': (...), }` (keys in any order, exactly
/// these three).
fn parse_header_dict(text: &str) -> Result<(NpyDtype, bool, Vec<usize>), NpyError> {
    let mut cur = Cursor {
        s: text.as_bytes(),
        pos: 0,
    };
    cur.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if cur.peek() == Some(b'}') {
            cur.pos += 1;
            break;
        }
        let key = cur.string()?;
        cur.expect(b':')?;
        let value = cur.literal(0)?;
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            other => return Err(syntax(format!("unexpected key '{other}'"))),
        };
        if slot.replace(value).is_some() {
            return Err(syntax(format!("key '{key}' appears twice")));
        }
        match cur.peek() {
            Some(b',') => cur.pos += 1,
            Some(b'}') => {}
            _ => {
                return Err(syntax(format!("expected `,` or `}}` at byte {}", cur.pos)));
            }
        }
    }
    if cur.peek().is_some() {
        return Err(syntax(format!(
            "unexpected text after the dict at byte {}",
            cur.pos
        )));
    }
    let descr = descr.ok_or(NpyError::MissingKey { key: "descr" })?;
    let fortran = fortran.ok_or(NpyError::MissingKey {
        key: "fortran_order",
    })?;
    let shape = shape.ok_or(NpyError::MissingKey { key: "shape" })?;
    let dtype = match &descr {
        Literal::Str(s) => NpyDtype::from_descr(s)?,
        other => {
            return Err(NpyError::UnsupportedDtype {
                descr: describe(other),
                allowed: "<f4, <f8, |u1, <i4, <i8 (structured dtypes are not supported)",
            });
        }
    };
    let fortran = match fortran {
        Literal::Bool(b) => b,
        other => {
            return Err(syntax(format!(
                "'fortran_order' must be True or False, found {}",
                describe(&other)
            )));
        }
    };
    let shape = match shape {
        Literal::Seq(items) => items
            .iter()
            .map(|item| match item {
                Literal::Int(v) => usize::try_from(*v)
                    .map_err(|_| syntax(format!("shape entry {v} does not fit in usize"))),
                other => Err(syntax(format!(
                    "shape entries must be integers, found {}",
                    describe(other)
                ))),
            })
            .collect::<Result<Vec<usize>, NpyError>>()?,
        other => {
            return Err(syntax(format!(
                "'shape' must be a tuple of integers, found {}",
                describe(&other)
            )));
        }
    };
    Ok((dtype, fortran, shape))
}
