//! # dmd-train
//!
//! EDM teacher training and the Distribution Matching Distillation engine on libtorch, with
//! the paper's ablation switches (diffusion-GAN term, regression term) and the DP-DMD variant.
