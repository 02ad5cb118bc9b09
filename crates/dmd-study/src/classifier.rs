//! A small MNIST classifier whose penultimate layer gives the features of the MNIST Frechet
//! distance (an "FID" for 32x32 digits). Trained once by the pipeline and cached as
//! safetensors; its test accuracy is recorded next to it.
//!
//! Architecture: conv3x3(1->32) SiLU, avgpool2 -> conv3x3(32->64) SiLU, avgpool2 ->
//! conv3x3(64->64) SiLU, avgpool2 -> flatten(64*4*4) -> linear(1024->128) SiLU (the features)
//! -> linear(128->10). About 15 MFLOP per image; one epoch over MNIST takes about a minute on
//! two CPU cores and reaches about 98% test accuracy.

use crate::pipeline::sampling::chunk_ranges;
use anyhow::{Context, Result, bail};
use ndarray::{Array2, ArrayView1, ArrayView2};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Width of the feature layer.
pub const FEATURE_DIM: i64 = 128;

/// The classifier network.
#[derive(Debug)]
pub struct Classifier {
    vs: nn::VarStore,
    convs: Vec<nn::Conv2D>,
    fc: nn::Linear,
    head: nn::Linear,
}

impl Classifier {
    /// A freshly initialised classifier on `device`.
    pub fn new(device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let cfg = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let convs = vec![
            nn::conv2d(&root / "conv0", 1, 32, 3, cfg),
            nn::conv2d(&root / "conv1", 32, 64, 3, cfg),
            nn::conv2d(&root / "conv2", 64, 64, 3, cfg),
        ];
        let fc = nn::linear(&root / "fc", 64 * 4 * 4, FEATURE_DIM, Default::default());
        let head = nn::linear(&root / "head", FEATURE_DIM, 10, Default::default());
        Self {
            vs,
            convs,
            fc,
            head,
        }
    }

    /// Penultimate features `[B, 128]` of images `[B, 1, 32, 32]` in [-1, 1].
    pub fn features(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for conv in &self.convs {
            h = conv.forward(&h).silu().avg_pool2d_default(2);
        }
        self.fc.forward(&h.flatten(1, -1)).silu()
    }

    /// Class logits `[B, 10]`.
    pub fn logits(&self, x: &Tensor) -> Tensor {
        self.head.forward(&self.features(x))
    }

    /// Trains with Adam (lr 1e-3, batch 128) for `epochs` passes over `(images, labels)`, with a
    /// progress bar; `images` are rows of 1024 values in [-1, 1].
    pub fn train(
        &mut self,
        images: ArrayView2<f32>,
        labels: ArrayView1<i64>,
        epochs: usize,
        seed: u64,
    ) -> Result<()> {
        let n = images.nrows();
        if n == 0 || labels.len() != n || images.ncols() != 1024 {
            bail!(
                "classifier training needs N x 1024 images with N labels (got {:?}, {})",
                images.dim(),
                labels.len()
            );
        }
        let device = self.vs.device();
        let x = to_images(images, device);
        let y =
            Tensor::from_slice(labels.as_slice().context("labels must be contiguous")?).to(device);
        let mut opt = nn::Adam::default().build(&self.vs, 1e-3)?;
        let batch = 128i64;
        let steps_per_epoch = (n as i64 + batch - 1) / batch;
        let bar = crate::progress::bar((epochs as i64 * steps_per_epoch) as u64, "classifier");
        tch::manual_seed(seed as i64);
        for _ in 0..epochs {
            let perm = Tensor::randperm(n as i64, (Kind::Int64, device));
            for s in 0..steps_per_epoch {
                let idx = perm.narrow(0, s * batch, batch.min(n as i64 - s * batch));
                let loss = self
                    .logits(&x.index_select(0, &idx))
                    .cross_entropy_for_logits(&y.index_select(0, &idx));
                let value = loss.double_value(&[]);
                if !value.is_finite() {
                    bail!("classifier loss became {value} at step {s}; lower the learning rate");
                }
                opt.backward_step(&loss);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// Fraction of correctly classified images.
    pub fn accuracy(&self, images: ArrayView2<f32>, labels: ArrayView1<i64>) -> f64 {
        let _guard = tch::no_grad_guard();
        let device = self.vs.device();
        let mut correct = 0i64;
        for (start, len) in chunk_ranges(images.nrows(), 1000) {
            let end = start + len;
            let x = to_images(images.slice(ndarray::s![start..end, ..]), device);
            let pred = self.logits(&x).argmax(1, false).to(Device::Cpu);
            let y = Tensor::from_slice(&labels.slice(ndarray::s![start..end]).to_vec());
            correct += pred.eq_tensor(&y).sum(Kind::Int64).int64_value(&[]);
        }
        correct as f64 / images.nrows() as f64
    }

    /// Class probabilities (softmax of the logits) of many images, in chunks, `[N, 10]`.
    pub fn probabilities_of(&self, images: ArrayView2<f32>) -> Array2<f32> {
        let _guard = tch::no_grad_guard();
        let device = self.vs.device();
        let mut out = Array2::zeros((images.nrows(), 10));
        for (start, len) in chunk_ranges(images.nrows(), 1000) {
            let end = start + len;
            let x = to_images(images.slice(ndarray::s![start..end, ..]), device);
            let p = self
                .logits(&x)
                .softmax(1, Kind::Float)
                .to(Device::Cpu)
                .contiguous();
            let v: Vec<f32> = Vec::<f32>::try_from(p.flatten(0, -1)).expect("f32 probabilities");
            let block = Array2::from_shape_vec((end - start, 10), v).expect("shape");
            out.slice_mut(ndarray::s![start..end, ..]).assign(&block);
        }
        out
    }

    /// Features of many images, in chunks, as an ndarray `[N, 128]`.
    pub fn features_of(&self, images: ArrayView2<f32>) -> Array2<f32> {
        let _guard = tch::no_grad_guard();
        let device = self.vs.device();
        let mut out = Array2::zeros((images.nrows(), FEATURE_DIM as usize));
        for (start, len) in chunk_ranges(images.nrows(), 1000) {
            let end = start + len;
            let x = to_images(images.slice(ndarray::s![start..end, ..]), device);
            let f = self.features(&x).to(Device::Cpu).contiguous();
            let v: Vec<f32> = Vec::<f32>::try_from(f.flatten(0, -1)).expect("f32 features");
            let block =
                Array2::from_shape_vec((end - start, FEATURE_DIM as usize), v).expect("shape");
            out.slice_mut(ndarray::s![start..end, ..]).assign(&block);
        }
        out
    }

    /// Saves the weights (safetensors).
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        dmd_io::write_atomic_with(path, |tmp| self.vs.save(tmp))?;
        Ok(())
    }

    /// Loads weights saved by [`Classifier::save`].
    pub fn load(path: &std::path::Path, device: Device) -> Result<Self> {
        let mut c = Self::new(device);
        c.vs.load(path).with_context(|| {
            format!("{} is not a valid classifier checkpoint (truncated or from another version); delete it to retrain", path.display())
        })?;
        Ok(c)
    }
}

fn to_images(rows: ArrayView2<f32>, device: Device) -> Tensor {
    let n = rows.nrows() as i64;
    let data: Vec<f32> = rows.iter().copied().collect();
    Tensor::from_slice(&data).view([n, 1, 32, 32]).to(device)
}

/// Settings of the cached classifier (part of its stage key).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassifierKey {
    /// Thread count and device ([`crate::pipeline::Compute`]).
    pub compute: crate::pipeline::Compute,
    /// Architecture revision (bump when [`Classifier::new`] changes).
    pub revision: u32,
    /// Passes over the training images.
    pub epochs: usize,
    /// Training images used (None = all 60,000).
    pub train_size: Option<usize>,
    /// Seed of initialisation and batching.
    pub seed: u64,
}

/// The trained classifier and its MNIST test accuracy, trained once into a stage folder under
/// `stages` and loaded from there afterwards.
pub fn cached(
    stages: &std::path::Path,
    key: &ClassifierKey,
    device: Device,
) -> Result<(Classifier, f64)> {
    let stage = crate::store::Stage::new(stages, "classifier", key)?;
    let weights = stage.path("classifier.safetensors");
    let _lock = stage.lock()?;
    if stage.is_done() {
        let acc = stage.done_info().test_accuracy.unwrap_or(f64::NAN);
        return Ok((Classifier::load(&weights, device)?, acc));
    }
    let spec = dmd_data::Mnist::default();
    let train = spec.generate(key.train_size, key.seed)?;
    let test = dmd_data::Mnist {
        split: dmd_data::Split::Test,
        ..dmd_data::Mnist::default()
    }
    .generate(None, 0)?;
    let (Some(ytr), Some(yte)) = (train.labels.as_ref(), test.labels.as_ref()) else {
        bail!("MNIST came without labels");
    };
    tch::manual_seed(key.seed as i64);
    let mut c = Classifier::new(device);
    tracing::info!(
        images = train.len(),
        epochs = key.epochs,
        "training the MNIST feature classifier"
    );
    c.train(train.x.view(), ytr.view(), key.epochs, key.seed)?;
    let acc = c.accuracy(test.x.view(), yte.view());
    tracing::info!(test_accuracy = acc, "MNIST classifier trained");
    c.save(&weights)?;
    stage.mark_done(&crate::store::StageDone {
        test_accuracy: Some(acc),
        ..Default::default()
    })?;
    Ok((c, acc))
}
