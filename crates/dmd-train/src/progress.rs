//! Progress bars for the training loops (iteration rate and ETA), hidden when disabled or
//! when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` iterations starting at `start` (non-zero after a resume).
pub fn iteration_bar(label: &str, start: u64, total: u64, enabled: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar.set_position(start);
    bar.reset_eta();
    bar
}
