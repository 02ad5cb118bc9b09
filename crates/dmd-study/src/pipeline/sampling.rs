//! Fixed seeds and the sample sets the analysis compares: `z_1..z_N`, the teacher's
//! `Phi_1(z)`, `Phi_K(z)`, `Phi_K'(z)` (fine reference), `Phi_K(z')` for independent seeds
//! `z'` (the fully-remapped control and the distribution-fit noise floor), and the student's
//! `G(z)`.
//!
//! `z ~ N(0, I)` here; the samplers scale it by `sigma_max = 80` (the paper's
//! `z ~ N(0, T^2 I)`). Noise and labels come from libtorch's generator seeded with
//! `eval.seed` (and `eval.seed + 1` for `z'`), so the same config gives the same seeds.

use anyhow::Result;
use dmd_nets::convert::tensor_to_array;
use dmd_nets::denoiser::Denoiser;
use dmd_nets::sampler::{Solver, sample};
use ndarray::Array2;
use tch::{Device, Kind, Tensor};

/// `(start, len)` of consecutive chunks of at most `chunk` rows covering `0..n`: the one
/// chunking loop of the study (sampling, classifier features).
pub fn chunk_ranges(n: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let chunk = chunk.max(1);
    (0..n).step_by(chunk).map(move |s| (s, chunk.min(n - s)))
}

/// `G(z)` of a one-step (or few-step) student with noise levels `sigmas`, in chunks of
/// `chunk` seeds.
pub fn student_samples(
    generator: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    sigmas: &[f64],
    chunk: usize,
) -> Array2<f32> {
    let n = z.size()[0] as usize;
    let parts: Vec<Tensor> = chunk_ranges(n, chunk)
        .map(|(start, len)| {
            let (start, len) = (start as i64, len as i64);
            let y = labels.map(|l| l.narrow(0, start, len));
            dmd_train::student_sample(generator, &z.narrow(0, start, len), y.as_ref(), sigmas)
        })
        .collect();
    tensor_to_array(&Tensor::cat(&parts, 0))
}

/// Seeds `z` `[n, ...shape]` and, for a conditional model, uniform class labels `[n]`.
pub fn seeds(
    seed: u64,
    n: usize,
    shape: &[i64],
    num_classes: usize,
    device: Device,
) -> (Tensor, Option<Tensor>) {
    tch::manual_seed(seed as i64);
    let mut full = vec![n as i64];
    full.extend_from_slice(shape);
    let z = Tensor::randn(full.as_slice(), (Kind::Float, Device::Cpu)).to(device);
    let labels = (num_classes > 0).then(|| {
        Tensor::randint(num_classes as i64, [n as i64], (Kind::Int64, Device::Cpu)).to(device)
    });
    (z, labels)
}

/// `Phi_K(z)` as rows, in chunks of `chunk` seeds.
pub fn teacher_samples(
    teacher: &Denoiser,
    z: &Tensor,
    labels: Option<&Tensor>,
    steps: usize,
    solver: Solver,
    chunk: usize,
) -> Array2<f32> {
    tensor_to_array(&sample(teacher, z, labels, steps, solver, chunk as i64))
}

/// Labels as an `[n, 1]` f32 column (how they are stored beside the samples).
pub fn labels_column(labels: &Tensor) -> Array2<f32> {
    tensor_to_array(&labels.to_kind(Kind::Float).view([-1, 1]))
}

/// Labels back from their stored `[n, 1]` f32 column.
pub fn labels_from_column(col: &Array2<f32>, device: Device) -> Tensor {
    let v: Vec<i64> = col.iter().map(|&x| x.round() as i64).collect();
    Tensor::from_slice(&v).to(device)
}

/// Rows of an `[n, d]` array as a tensor of per-sample `shape` on `device`.
pub fn rows_to_tensor(a: &Array2<f32>, shape: &[i64], device: Device) -> Result<Tensor> {
    Ok(dmd_nets::convert::try_array_to_tensor(
        a.view(),
        shape,
        device,
    )?)
}

#[cfg(test)]
mod tests {
    use super::chunk_ranges;

    #[test]
    fn chunks_cover_every_row_once() {
        let c: Vec<_> = chunk_ranges(1001, 500).collect();
        assert_eq!(c, vec![(0, 500), (500, 500), (1000, 1)]);
        assert_eq!(chunk_ranges(0, 500).count(), 0);
        assert_eq!(
            chunk_ranges(3, 0).count(),
            3,
            "a zero chunk is one row at a time"
        );
    }
}
