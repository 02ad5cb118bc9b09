//! `dmd import`: a teacher or one-step generator from the PyTorch world (a state dict in the
//! parameter names of NVlabs/edm, as safetensors or as a `torch.save` file) into a dmd-nets
//! checkpoint that `teacher_checkpoint` or `dmd eval --student` can use.

use anyhow::Context;
use clap::Args;
use dmd_nets::NetConfig;
use dmd_nets::import::{ImportOptions, import};
use dmd_study::config::ExperimentConfig;
use dmd_study::pipeline::BadInput;
use std::path::PathBuf;

/// Arguments of `dmd import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The state dict: safetensors in EDM's names, or a torch.save file (.pt/.pth/.bin).
    pub source: PathBuf,
    /// The dmd-nets checkpoint to write (safetensors with the network config in its metadata).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Experiment config whose network the weights must fit (`[teacher.net]`, or the student's
    /// with --student), e.g. configs/imagenet64.toml.
    #[arg(long, conflicts_with = "net")]
    pub config: Option<PathBuf>,
    /// Profile of --config (default: paper with a CUDA GPU, cpu otherwise).
    #[arg(long)]
    pub profile: Option<String>,
    /// Take the student's network from --config instead of the teacher's.
    #[arg(long, requires = "config")]
    pub student: bool,
    /// The network as dmd-nets NetConfig JSON, e.g. '{"kind": "unet", "img_resolution": 64, ...}'.
    /// Without --config or --net, the `config` entry of a safetensors source's metadata is used.
    #[arg(long)]
    pub net: Option<String>,
    /// A prefix every name carries that EDM's names lack (e.g. `module.`), removed first.
    #[arg(long)]
    pub strip_prefix: Option<String>,
    /// torch.save checkpoints: the dotted key of the state dict inside the file (e.g. `ema`).
    #[arg(long)]
    pub key: Option<String>,
    /// `sigma_data` of the EDM preconditioning.
    #[arg(long, default_value_t = dmd_nets::precond::SIGMA_DATA)]
    pub sigma_data: f64,
}

/// The network the imported weights must fit.
fn network(a: &ImportArgs) -> anyhow::Result<NetConfig> {
    if let Some(json) = &a.net {
        return serde_json::from_str(json)
            .map_err(|e| BadInput(format!("--net is not a dmd-nets network config: {e}")).into());
    }
    if let Some(path) = &a.config {
        let profile = a
            .profile
            .clone()
            .unwrap_or_else(dmd_study::config::default_profile);
        let cfg = ExperimentConfig::load(path, &profile, &[])?;
        return Ok(if a.student {
            match &cfg.distill.init {
                dmd_train::StudentInit::Fresh { net } => net.clone(),
                dmd_train::StudentInit::Teacher => cfg.teacher.net.clone(),
            }
        } else {
            cfg.teacher.net.clone()
        });
    }
    dmd_nets::checkpoint::read_config(&a.source).map_err(|_| {
        BadInput(format!(
            "{}: no network given: pass --config <experiment.toml> (its [teacher.net]) or --net '<NetConfig JSON>'",
            a.source.display()
        ))
        .into()
    })
}

/// Runs `dmd import`.
pub fn run(a: ImportArgs) -> anyhow::Result<()> {
    let net = network(&a)?;
    let options = ImportOptions {
        strip_prefix: a.strip_prefix.clone(),
        key: a.key.clone(),
    };
    let imported = import(&a.source, &net, a.sigma_data, &options, tch::Device::Cpu)
        .map_err(|e| BadInput(e.to_string()))?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    imported.denoiser.save(&a.out)?;
    println!(
        "imported {} tensors ({} parameters) from {}{}; wrote {}",
        imported.copied,
        imported.denoiser.num_parameters(),
        a.source.display(),
        if imported.dropped.is_empty() {
            String::new()
        } else {
            format!(
                " (checked and dropped {} EDM resample filters)",
                imported.dropped.len()
            )
        },
        a.out.display()
    );
    Ok(())
}
