//! The embedded font (DejaVu Sans, Bitstream Vera licence, see `assets/LICENSE-DejaVu.txt`),
//! registered with plotters once per process so that no system font lookup is needed.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::{FigureError, Result};

/// Family name under which the embedded font is registered.
pub const FONT_FAMILY: &str = "dmd-dejavu-sans";

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font (idempotent).
pub fn ensure_font() -> Result<()> {
    let ok = *REGISTERED
        .get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(FigureError::Font) }
}
