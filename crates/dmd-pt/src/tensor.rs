//! Tensors: [`DType`], [`RawTensor`], and the copy of a strided view out of its storage.

use std::fmt;

use crate::error::ErrorKind;

/// Element type of a tensor: the PyTorch dtypes this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `torch.float64`.
    F64,
    /// `torch.float32`.
    F32,
    /// `torch.float16`.
    F16,
    /// `torch.bfloat16`.
    BF16,
    /// `torch.int64`.
    I64,
    /// `torch.int32`.
    I32,
    /// `torch.int16`.
    I16,
    /// `torch.int8`.
    I8,
    /// `torch.uint8`.
    U8,
    /// `torch.bool`, one byte per element (0 or 1).
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
        }
    }

    /// The dtype's name in PyTorch, without `torch.` (`float32`, `bfloat16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I64 => "int64",
            DType::I32 => "int32",
            DType::I16 => "int16",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// The element type of a `torch.<name>` storage class, as `torch.save` names it in the
    /// pickle (`FloatStorage`, ...; `UntypedStorage` holds bytes).
    pub(crate) fn from_storage_type(name: &str) -> Option<DType> {
        Some(match name {
            "DoubleStorage" => DType::F64,
            "FloatStorage" => DType::F32,
            "HalfStorage" => DType::F16,
            "BFloat16Storage" => DType::BF16,
            "LongStorage" => DType::I64,
            "IntStorage" => DType::I32,
            "ShortStorage" => DType::I16,
            "CharStorage" => DType::I8,
            "ByteStorage" | "UntypedStorage" => DType::U8,
            "BoolStorage" => DType::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tensor copied out of its storage: contiguous, row-major, little-endian.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// Element type.
    pub dtype: DType,
    /// Shape; empty for a 0-dim scalar.
    pub shape: Vec<usize>,
    /// `numel() * dtype.size()` bytes, row-major, little-endian.
    pub data: Vec<u8>,
}

impl RawTensor {
    /// Number of elements (1 for a 0-dim scalar, 0 when any dimension is 0).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The elements as `f32`, row-major. `float64` is rounded to the nearest `f32`; `float16`
    /// and `bfloat16` convert exactly.
    ///
    /// # Errors
    /// [`ErrorKind::NotFloat`] for integer and bool tensors.
    pub fn to_f32(&self) -> Result<Vec<f32>, ErrorKind> {
        Ok(match self.dtype {
            DType::F32 => le_chunks(&self.data).map(f32::from_le_bytes).collect(),
            DType::F64 => le_chunks(&self.data)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
            DType::F16 => le_chunks(&self.data)
                .map(|b| half::f16::from_le_bytes(b).to_f32())
                .collect(),
            DType::BF16 => le_chunks(&self.data)
                .map(|b| half::bf16::from_le_bytes(b).to_f32())
                .collect(),
            other => return Err(ErrorKind::NotFloat(other)),
        })
    }
}

/// The bytes as consecutive `N`-byte arrays (a trailing partial chunk is dropped; a
/// `RawTensor` never has one).
fn le_chunks<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks_exact(N).map(|c| {
        let mut b = [0; N];
        b.copy_from_slice(c);
        b
    })
}

/// A tensor as the pickle describes it: a strided view into a storage.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// Storage key (`data/<key>` in the archive).
    pub key: String,
    /// Element type of the storage.
    pub dtype: DType,
    /// Elements in the storage, as the pickle declares.
    pub numel: u64,
    /// Offset of the first element, in elements.
    pub offset: usize,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides, in elements.
    pub stride: Vec<usize>,
}

impl View {
    /// Copies the view out of its storage's bytes (`numel * dtype.size()` of them) into a
    /// contiguous row-major tensor. `name` is the tensor's dotted name, for errors.
    pub(crate) fn materialise(&self, name: &str, storage: &[u8]) -> Result<RawTensor, ErrorKind> {
        let size = self.dtype.size();
        let out_of_bounds = || ErrorKind::ViewOutOfBounds {
            tensor: name.to_string(),
            view: format!(
                "offset {}, shape {:?}, stride {:?}",
                self.offset, self.shape, self.stride
            ),
            key: self.key.clone(),
            numel: self.numel,
        };
        let too_large = |bytes: Option<usize>| ErrorKind::TooLarge {
            tensor: name.to_string(),
            bytes: bytes.map_or(u64::MAX, |b| b as u64),
        };
        let numel = self
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| too_large(None))?;
        let bytes = numel.checked_mul(size).ok_or_else(|| too_large(None))?;
        let mut data = Vec::new();
        if numel == 0 {
            return Ok(RawTensor {
                dtype: self.dtype,
                shape: self.shape.clone(),
                data,
            });
        }
        // A dimension of size 1 is never stepped along: its stride does not matter.
        let stride: Vec<usize> = (self.shape.iter().zip(&self.stride))
            .map(|(&d, &s)| if d == 1 { 0 } else { s })
            .collect();
        // Index of the last element the view touches; it must lie inside the storage.
        let last = (self.shape.iter().zip(&stride))
            .try_fold(self.offset, |acc, (&d, &s)| {
                (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
            })
            .ok_or_else(out_of_bounds)?;
        if last >= storage.len() / size {
            return Err(out_of_bounds());
        }
        data.try_reserve_exact(bytes)
            .map_err(|_| too_large(Some(bytes)))?;
        // The trailing dimensions that are contiguous in storage are copied as one run of
        // `run` elements; the leading `outer` ones are walked like an odometer.
        let mut run = 1;
        let mut outer = self.shape.len();
        while outer > 0 && (stride[outer - 1] == run || self.shape[outer - 1] == 1) {
            outer -= 1;
            run *= self.shape[outer];
        }
        let mut index = vec![0usize; outer];
        // Storage offset (elements) of the next run; all offsets are at most `2 * last`.
        let mut at = self.offset;
        for _ in 0..numel / run {
            data.extend_from_slice(&storage[at * size..(at + run) * size]);
            for dim in (0..outer).rev() {
                index[dim] += 1;
                at += stride[dim];
                if index[dim] < self.shape[dim] {
                    break;
                }
                at -= stride[dim] * self.shape[dim];
                index[dim] = 0;
            }
        }
        Ok(RawTensor {
            dtype: self.dtype,
            shape: self.shape.clone(),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(offset: usize, shape: &[usize], stride: &[usize]) -> View {
        View {
            key: "0".into(),
            dtype: DType::U8,
            numel: 12,
            offset,
            shape: shape.to_vec(),
            stride: stride.to_vec(),
        }
    }

    #[test]
    fn transposed_and_expanded_views_are_copied_row_major() {
        let storage: Vec<u8> = (0..12).collect();
        let t = view(0, &[4, 3], &[1, 4])
            .materialise("t", &storage)
            .unwrap();
        assert_eq!(t.data, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        let e = view(10, &[2, 2], &[0, 1])
            .materialise("e", &storage)
            .unwrap();
        assert_eq!(e.data, [10, 11, 10, 11]);
        let s = view(5, &[], &[]).materialise("s", &storage).unwrap();
        assert_eq!(s.data, [5]);
    }

    #[test]
    fn views_past_the_storage_are_refused() {
        let storage: Vec<u8> = (0..12).collect();
        assert!(
            view(0, &[3, 4], &[4, 1])
                .materialise("ok", &storage)
                .is_ok()
        );
        let err = view(1, &[3, 4], &[4, 1])
            .materialise("w", &storage)
            .unwrap_err();
        assert!(matches!(err, ErrorKind::ViewOutOfBounds { .. }), "{err}");
        let err = view(0, &[2, usize::MAX], &[1, 1])
            .materialise("w", &storage)
            .unwrap_err();
        assert!(matches!(err, ErrorKind::TooLarge { .. }), "{err}");
        // An empty view reads nothing, wherever it points.
        assert!(
            view(99, &[0, 3], &[3, 1])
                .materialise("e", &storage)
                .is_ok()
        );
    }

    #[test]
    fn to_f32_converts_floats_and_refuses_integers() {
        let t = |dtype, data: Vec<u8>| RawTensor {
            dtype,
            shape: vec![data.len() / dtype.size()],
            data,
        };
        let half = t(
            DType::F16,
            [1.5f32, -2.0]
                .map(|x| half::f16::from_f32(x).to_le_bytes())
                .concat(),
        );
        assert_eq!(half.to_f32().unwrap(), [1.5, -2.0]);
        let bf = t(
            DType::BF16,
            [0.25f32, 3.0]
                .map(|x| half::bf16::from_f32(x).to_le_bytes())
                .concat(),
        );
        assert_eq!(bf.to_f32().unwrap(), [0.25, 3.0]);
        assert_eq!(
            t(DType::F64, 0.5f64.to_le_bytes().to_vec())
                .to_f32()
                .unwrap(),
            [0.5]
        );
        let err = t(DType::I64, vec![0; 8]).to_f32().unwrap_err();
        assert!(matches!(err, ErrorKind::NotFloat(DType::I64)), "{err}");
    }
}
