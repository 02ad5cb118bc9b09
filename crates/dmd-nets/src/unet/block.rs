//! The ADM residual block (edm `UNetBlock` with adaptive scale, skip_scale 1, eps 1e-5) and its
//! optional self-attention.
//!
//! `h = conv0(SiLU(norm0(x)))` (resampling inside conv0); `(scale, shift) = affine(emb)`;
//! `h = SiLU(shift + norm1(h) * (scale + 1))`; `h = conv1(dropout(h))`; `x = h + skip(x)`.
//! Attention (when enabled): `qkv = qkv_1x1(norm2(x))` laid out as `(heads, C/heads, 3)`,
//! `a = softmax(q^T k / sqrt(C/heads)) v` (softmax statistics in f32), `x = proj_1x1(a) + x`.

use crate::layers::{Conv2d, Fill, GroupNorm, Init, Linear, Resample, default_init};
use tch::{Tensor, nn};

/// Channels per attention head (edm `channels_per_head`).
pub const CHANNELS_PER_HEAD: i64 = 64;

/// Attention heads of a block with `channels` output channels: `channels / 64` rounded down, at
/// least 1.
pub fn num_heads(channels: i64) -> i64 {
    (channels / CHANNELS_PER_HEAD).max(1)
}

/// Self-attention over the pixels of a feature map.
#[derive(Debug)]
struct Attention {
    norm2: GroupNorm,
    qkv: Conv2d,
    proj: Conv2d,
    heads: i64,
}

impl Attention {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (b, c, h, w) = x.size4().expect("UNet feature maps are 4-D");
        let n = b * self.heads;
        let qkv = self
            .qkv
            .forward(&self.norm2.forward(x))
            .reshape([n, c / self.heads, 3, h * w]);
        // [n, L, c'] per head, in the input's kind (the attention kernels keep their softmax
        // statistics in f32 also for bf16 inputs, as under torch.autocast).
        let part = |i: i64| qkv.select(2, i).transpose(1, 2);
        let (q, k, v) = (part(0), part(1), part(2));
        let a = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            None::<Tensor>,
            0.0,
            false,
            None::<f64>,
            false,
        );
        let a = a.transpose(1, 2).reshape([b, c, h, w]);
        self.proj.forward(&a) + x
    }
}

/// One ADM UNet block.
#[derive(Debug)]
pub struct UNetBlock {
    /// Input channels (used by the decoder to decide when to concatenate a skip).
    pub c_in: i64,
    /// Output channels.
    pub c_out: i64,
    norm0: GroupNorm,
    conv0: Conv2d,
    affine: Linear,
    norm1: GroupNorm,
    conv1: Conv2d,
    skip: Option<Conv2d>,
    attn: Option<Attention>,
    dropout: f64,
}

/// Shape options of a [`UNetBlock`].
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    /// Input channels.
    pub c_in: i64,
    /// Output channels.
    pub c_out: i64,
    /// Embedding channels `E`.
    pub emb: i64,
    /// Resampling of the block (down/up blocks of the encoder/decoder).
    pub resample: Resample,
    /// Whether the block ends with self-attention.
    pub attention: bool,
    /// Dropout probability before conv1 during training.
    pub dropout: f64,
}

impl UNetBlock {
    /// Builds the block under `p` with edm's initialisation (conv1 and proj zero-initialised).
    pub fn new(p: nn::Path, s: BlockSpec, fill: Fill) -> Self {
        let zero = Init::Const(0.0);
        let norm0 = GroupNorm::new(&p / "norm0", s.c_in, fill);
        let conv0 = Conv2d::new(
            &p / "conv0",
            s.c_in,
            s.c_out,
            3,
            s.resample,
            default_init(s.c_in * 9),
            fill,
        );
        let affine = Linear::new(
            &p / "affine",
            s.emb,
            2 * s.c_out,
            true,
            default_init(s.emb),
            fill,
        );
        let norm1 = GroupNorm::new(&p / "norm1", s.c_out, fill);
        let conv1 = Conv2d::new(
            &p / "conv1",
            s.c_out,
            s.c_out,
            3,
            Resample::None,
            zero,
            fill,
        );
        let skip = if s.c_out != s.c_in {
            Some(Conv2d::new(
                &p / "skip",
                s.c_in,
                s.c_out,
                1,
                s.resample,
                default_init(s.c_in),
                fill,
            ))
        } else if s.resample != Resample::None {
            Some(Conv2d::new(
                &p / "skip",
                s.c_in,
                s.c_out,
                0,
                s.resample,
                zero,
                fill,
            ))
        } else {
            None
        };
        let attn = s.attention.then(|| Attention {
            norm2: GroupNorm::new(&p / "norm2", s.c_out, fill),
            qkv: Conv2d::new(
                &p / "qkv",
                s.c_out,
                3 * s.c_out,
                1,
                Resample::None,
                default_init(s.c_out),
                fill,
            ),
            proj: Conv2d::new(&p / "proj", s.c_out, s.c_out, 1, Resample::None, zero, fill),
            heads: num_heads(s.c_out),
        });
        UNetBlock {
            c_in: s.c_in,
            c_out: s.c_out,
            norm0,
            conv0,
            affine,
            norm1,
            conv1,
            skip,
            attn,
            dropout: s.dropout,
        }
    }

    /// Applies the block to `x` (`[B, c_in, H, W]`) with embedding `emb` (`[B, E]`, f32).
    pub fn forward(&self, x: &Tensor, emb: &Tensor, train: bool) -> Tensor {
        let h = self.conv0.forward(&self.norm0.forward(x).silu());
        let params = self
            .affine
            .forward(emb)
            .to_kind(h.kind())
            .unsqueeze(2)
            .unsqueeze(3);
        let sc = params.chunk(2, 1);
        let (scale, shift) = (&sc[0], &sc[1]);
        let h = shift
            .addcmul(&self.norm1.forward(&h), &(scale + 1.0))
            .silu();
        let h = if self.dropout > 0.0 && train {
            h.dropout(self.dropout, train)
        } else {
            h
        };
        let h = self.conv1.forward(&h);
        let x = match &self.skip {
            Some(s) => h + s.forward(x),
            None => h + x,
        };
        match &self.attn {
            Some(a) => a.forward(&x),
            None => x,
        }
    }
}
