//! Cross-crate integration tests of dmd-lab live in `tests/tests/`; this library is empty.
