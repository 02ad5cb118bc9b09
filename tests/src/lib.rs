//! Cross-crate tests of dmd-lab live in `tests/tests/cross_crate/` (one test binary): the study
//! pipeline end to end on the smoke profile (`pipeline_smoke.rs`), known answers that need
//! several crates at once (`known_answers.rs`) and content-addressed inputs
//! (`stale_inputs.rs`). This library only holds their shared helpers.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives one level below the root")
        .to_path_buf()
}

/// A shipped experiment config, `configs/<name>.toml`.
pub fn config(name: &str) -> PathBuf {
    repo_root().join("configs").join(format!("{name}.toml"))
}
