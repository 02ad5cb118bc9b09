//! Moving data between `ndarray` (rows = samples, each row one flattened sample) and tensors.

use crate::error::NetError;
use ndarray::{Array2, ArrayView2};
use tch::{Device, Kind, Tensor};

/// The full tensor shape for `rows` samples of `cols` values: `shape` is the per-sample shape
/// (`[dim]`, `[C, H, W]`), or already the full shape `[rows, ...]`.
fn full_shape(rows: usize, cols: usize, shape: &[i64]) -> Result<Vec<i64>, NetError> {
    let prod: i64 = shape.iter().product();
    if shape.iter().all(|&d| d >= 0) && prod == cols as i64 {
        let mut s = vec![rows as i64];
        s.extend_from_slice(shape);
        return Ok(s);
    }
    if shape.first() == Some(&(rows as i64)) && prod == (rows * cols) as i64 {
        return Ok(shape.to_vec());
    }
    Err(NetError::InvalidInput(format!(
        "an array of {rows} rows x {cols} values cannot be viewed with sample shape {shape:?} \
         (its product must equal the {cols} values per row)"
    )))
}

/// `a` (`[rows, cols]`) as an f32 tensor `[rows, ...shape]` on `device`. `shape` is the
/// per-sample shape (`[dim]`, `[C, H, W]`, product = `cols`) or the full shape `[rows, ...]`;
/// anything else is an [`NetError::InvalidInput`].
pub fn try_array_to_tensor(
    a: ArrayView2<f32>,
    shape: &[i64],
    device: Device,
) -> Result<Tensor, NetError> {
    let (rows, cols) = a.dim();
    let full = full_shape(rows, cols, shape)?;
    let t = match a.as_slice() {
        Some(s) => Tensor::from_slice(s),
        None => Tensor::from_slice(a.as_standard_layout().as_slice().expect("standard layout")),
    };
    Ok(t.reshape(full.as_slice()).to_device(device))
}

/// [`try_array_to_tensor`] that panics on a shape mismatch (a programming error).
pub fn array_to_tensor(a: ArrayView2<f32>, shape: &[i64], device: Device) -> Tensor {
    match try_array_to_tensor(a, shape, device) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// `t` (`[rows, ...]`, any float kind and device) as an f32 array `[rows, values per row]`.
pub fn tensor_to_array(t: &Tensor) -> Array2<f32> {
    let rows = if t.dim() == 0 { 1 } else { t.size()[0] };
    let t = t
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .reshape([rows, -1])
        .contiguous();
    let cols = t.size()[1];
    let numel = (rows * cols) as usize;
    let mut v = vec![0f32; numel];
    t.copy_data(&mut v, numel);
    Array2::from_shape_vec((rows as usize, cols as usize), v).expect("sizes agree")
}
