//! The ADM UNet of Dhariwal & Nichol (2021) as configured in EDM (`DhariwalUNet` of Karras et al.
//! 2022's code).
//!
//! `C = model_channels`, `E = 4C`. Noise mapping: positional embedding of `c_noise` (C channels)
//! -> `map_layer0` (C->E) -> SiLU -> `map_layer1` (E->E) (+ `map_label` (labels->E, no bias) of
//! the one-hot label) -> SiLU. Encoder per level `l` (resolution `res = R >> l`): level 0 a 3x3
//! conv `enc.{res}x{res}_conv`, other levels a down block `enc.{res}x{res}_down`, then
//! `num_blocks` blocks `enc.{res}x{res}_block{k}`; every encoder output is a skip. Decoder from the
//! lowest level: `dec.{res}x{res}_in0` (attention) and `_in1`, or an up block `_up`, then
//! `num_blocks + 1` blocks `_block{k}` that concatenate a skip whenever channel counts differ.
//! Output: `out_norm` -> SiLU -> `out_conv` (3x3, zero-initialised).
//!
//! Deviation: blocks with fewer than 64 output channels that are asked for attention get one
//! head (edm would silently drop attention there); the paper's configurations are unaffected.

mod block;

pub use block::{BlockSpec, CHANNELS_PER_HEAD, UNetBlock, num_heads};

use crate::error::NetError;
use crate::layers::{
    Conv2d, Fill, GroupNorm, Init, Linear, PositionalEmbedding, Resample, check_channels,
    default_init,
};
use crate::raw::RawNet;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn};

/// Sizes of the ADM UNet. Defaults: the paper's MNIST teacher (32x32x1, C = 64,
/// mult [1, 2, 3, 4], 3 blocks, attention at 32, 16, 8, unconditional, dropout 0.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnetConfig {
    /// Image side length (square images); divisible by `2^(levels-1)`.
    pub img_resolution: i64,
    /// Image channels (input = output channels).
    pub in_channels: i64,
    /// Base channel count `C`.
    pub model_channels: i64,
    /// Channel multiplier per level (level `l` has `C * channel_mult[l]` channels).
    pub channel_mult: Vec<i64>,
    /// Residual blocks per encoder level (the decoder has one more).
    pub num_blocks: i64,
    /// Resolutions at which blocks carry self-attention.
    pub attn_resolutions: Vec<i64>,
    /// Number of classes (edm `label_dim`); 0 = unconditional.
    pub num_classes: i64,
    /// Dropout probability inside blocks during training.
    pub dropout: f64,
}

impl Default for UnetConfig {
    fn default() -> Self {
        UnetConfig::mnist()
    }
}

impl UnetConfig {
    /// The paper's MNIST teacher: 32x32x1, C = 64, 31,118,593 parameters.
    pub fn mnist() -> Self {
        UnetConfig {
            img_resolution: 32,
            in_channels: 1,
            model_channels: 64,
            channel_mult: vec![1, 2, 3, 4],
            num_blocks: 3,
            attn_resolutions: vec![32, 16, 8],
            num_classes: 0,
            dropout: 0.10,
        }
    }

    /// The ImageNet-64 teacher: 64x64x3, C = 192, 1000 classes, 295,899,267 parameters.
    pub fn imagenet64() -> Self {
        UnetConfig {
            img_resolution: 64,
            in_channels: 3,
            model_channels: 192,
            num_classes: 1000,
            ..UnetConfig::mnist()
        }
    }

    /// A small UNet for CPU runs on 32x32x1 data: C = 32, mult [1, 2, 2], 1 block per level,
    /// attention at 8x8.
    pub fn cpu_small() -> Self {
        UnetConfig {
            img_resolution: 32,
            in_channels: 1,
            model_channels: 32,
            channel_mult: vec![1, 2, 2],
            num_blocks: 1,
            attn_resolutions: vec![8],
            num_classes: 0,
            dropout: 0.10,
        }
    }

    /// Embedding channels `E = 4C`.
    pub fn emb_channels(&self) -> i64 {
        4 * self.model_channels
    }

    /// Checks every size.
    pub fn validate(&self) -> Result<(), NetError> {
        let bad = |m: String| Err(NetError::InvalidConfig(format!("unet: {m}")));
        if self.in_channels < 1 || self.model_channels < 1 || self.img_resolution < 1 {
            return bad(format!(
                "in_channels = {}, model_channels = {}, img_resolution = {} must all be >= 1",
                self.in_channels, self.model_channels, self.img_resolution
            ));
        }
        if self.model_channels % 2 != 0 {
            return bad(format!(
                "model_channels = {} must be even (cos/sin noise embedding)",
                self.model_channels
            ));
        }
        if self.channel_mult.is_empty() || self.channel_mult.iter().any(|&m| m < 1) {
            return bad(format!(
                "channel_mult = {:?} must be non-empty with entries >= 1",
                self.channel_mult
            ));
        }
        let levels = self.channel_mult.len() as u32;
        let div = 1i64 << (levels - 1);
        if self.img_resolution % div != 0 {
            return bad(format!(
                "img_resolution = {} must be divisible by 2^(levels-1) = {div} for {levels} levels",
                self.img_resolution
            ));
        }
        if self.num_blocks < 1 {
            return bad(format!("num_blocks = {} must be >= 1", self.num_blocks));
        }
        if self.num_classes < 0 {
            return bad(format!("num_classes = {} must be >= 0", self.num_classes));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout = {} must lie in [0, 1)", self.dropout));
        }
        for &m in &self.channel_mult {
            let c = self.model_channels * m;
            check_channels(c).map_err(|e| NetError::InvalidConfig(format!("unet: {e}")))?;
            let heads = block::num_heads(c);
            if c % heads != 0 {
                return bad(format!(
                    "level width {c} does not split into {heads} attention heads \
                     (heads = width / {CHANNELS_PER_HEAD}, rounded down)"
                ));
            }
        }
        Ok(())
    }
}

/// The ADM UNet (see the module docs).
#[derive(Debug)]
pub struct Unet {
    map_noise: PositionalEmbedding,
    map_layer0: Linear,
    map_layer1: Linear,
    map_label: Option<Linear>,
    enc_conv: Conv2d,
    /// Encoder blocks in order (the first level's conv is `enc_conv`).
    enc: Vec<UNetBlock>,
    dec: Vec<UNetBlock>,
    out_norm: GroupNorm,
    out_conv: Conv2d,
    num_classes: i64,
}

impl Unet {
    /// Builds the UNet under `p` (call [`UnetConfig::validate`] first).
    pub fn new(p: nn::Path, c: &UnetConfig, fill: Fill) -> Self {
        let mc = c.model_channels;
        let e = c.emb_channels();
        let map_noise = PositionalEmbedding::new(mc, p.device());
        let map_layer0 = Linear::new(&p / "map_layer0", mc, e, true, default_init(mc), fill);
        let map_layer1 = Linear::new(&p / "map_layer1", e, e, true, default_init(e), fill);
        let map_label = (c.num_classes > 0).then(|| {
            Linear::new(
                &p / "map_label",
                c.num_classes,
                e,
                false,
                Init::Normal(1.0),
                fill,
            )
        });
        let spec = |c_in, c_out, resample, attention| BlockSpec {
            c_in,
            c_out,
            emb: e,
            resample,
            attention,
            dropout: c.dropout,
        };

        let pe = &p / "enc";
        let r0 = c.img_resolution;
        let c0 = mc * c.channel_mult[0];
        let enc_conv = Conv2d::new(
            &pe / format!("{r0}x{r0}_conv"),
            c.in_channels,
            c0,
            3,
            Resample::None,
            default_init(c.in_channels * 9),
            fill,
        );
        let mut skips = vec![c0];
        let mut enc = Vec::new();
        let mut cout = c0;
        for (level, &mult) in c.channel_mult.iter().enumerate() {
            let res = c.img_resolution >> level;
            if level > 0 {
                let b = UNetBlock::new(
                    &pe / format!("{res}x{res}_down"),
                    spec(cout, cout, Resample::Down, false),
                    fill,
                );
                skips.push(b.c_out);
                enc.push(b);
            }
            for k in 0..c.num_blocks {
                let cin = cout;
                cout = mc * mult;
                let attn = c.attn_resolutions.contains(&res);
                let b = UNetBlock::new(
                    &pe / format!("{res}x{res}_block{k}"),
                    spec(cin, cout, Resample::None, attn),
                    fill,
                );
                skips.push(b.c_out);
                enc.push(b);
            }
        }

        let pd = &p / "dec";
        let mut dec = Vec::new();
        let levels = c.channel_mult.len();
        for (level, &mult) in c.channel_mult.iter().enumerate().rev() {
            let res = c.img_resolution >> level;
            if level == levels - 1 {
                dec.push(UNetBlock::new(
                    &pd / format!("{res}x{res}_in0"),
                    spec(cout, cout, Resample::None, true),
                    fill,
                ));
                dec.push(UNetBlock::new(
                    &pd / format!("{res}x{res}_in1"),
                    spec(cout, cout, Resample::None, false),
                    fill,
                ));
            } else {
                dec.push(UNetBlock::new(
                    &pd / format!("{res}x{res}_up"),
                    spec(cout, cout, Resample::Up, false),
                    fill,
                ));
            }
            for k in 0..=c.num_blocks {
                let cin = cout + skips.pop().expect("one skip per encoder output");
                cout = mc * mult;
                let attn = c.attn_resolutions.contains(&res);
                dec.push(UNetBlock::new(
                    &pd / format!("{res}x{res}_block{k}"),
                    spec(cin, cout, Resample::None, attn),
                    fill,
                ));
            }
        }
        let out_norm = GroupNorm::new(&p / "out_norm", cout, fill);
        let out_conv = Conv2d::new(
            &p / "out_conv",
            cout,
            c.in_channels,
            3,
            Resample::None,
            Init::Const(0.0),
            fill,
        );
        Unet {
            map_noise,
            map_layer0,
            map_layer1,
            map_label,
            enc_conv,
            enc,
            dec,
            out_norm,
            out_conv,
            num_classes: c.num_classes,
        }
    }

    fn embed(&self, c_noise: &Tensor, labels: Option<&Tensor>) -> Tensor {
        let emb = self
            .map_layer0
            .forward(&self.map_noise.forward(c_noise))
            .silu();
        let mut emb = self.map_layer1.forward(&emb);
        if let (Some(l), Some(y)) = (&self.map_label, labels) {
            // map_label(one_hot(y)) = columns of the weight: gather instead of a dense matmul.
            emb += l.weight.index_select(1, y).transpose(0, 1);
        }
        emb.silu()
    }

    fn run(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor) {
        debug_assert!(self.num_classes >= 0);
        let emb = self.embed(c_noise, labels);
        let mut h = self.enc_conv.forward(x);
        let mut skips = vec![h.shallow_clone()];
        for b in &self.enc {
            h = b.forward(&h, &emb, train);
            skips.push(h.shallow_clone());
        }
        let features = h.to_kind(Kind::Float);
        for b in &self.dec {
            if h.size()[1] != b.c_in {
                let s = skips.pop().expect("one skip per encoder output");
                h = Tensor::cat(&[h, s], 1);
            }
            h = b.forward(&h, &emb, train);
        }
        let out = self.out_conv.forward(&self.out_norm.forward(&h).silu());
        (out, features)
    }
}

impl RawNet for Unet {
    fn forward_raw_with_features(
        &self,
        x: &Tensor,
        c_noise: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Tensor) {
        self.run(x, c_noise, labels, train)
    }
}

/// Number of trainable parameters of a UNet with config `c`, built with zero-filled weights
/// (no random draws; about `4 * count` bytes of memory for a moment).
pub fn count_parameters(c: &UnetConfig) -> Result<i64, NetError> {
    c.validate()?;
    let vs = nn::VarStore::new(tch::Device::Cpu);
    let _net = Unet::new(vs.root() / crate::raw::MODEL_PATH, c, Fill::Zeros);
    Ok(vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum())
}
