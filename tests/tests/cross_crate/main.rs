//! The cross-crate tests, in one binary (each test binary links libtorch, so one binary keeps
//! the test build short): known answers spanning crates, the study pipeline end to end on the
//! smoke profile, and content-addressed inputs.

mod known_answers;
mod memorisation;
mod pipeline_smoke;
mod stale_inputs;
