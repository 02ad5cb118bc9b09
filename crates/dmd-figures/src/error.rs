//! The crate's error type.

/// Errors returned when a figure cannot be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// The input data has the wrong shape.
    #[error("{what}: {detail}")]
    Shape {
        /// The figure being drawn.
        what: &'static str,
        /// What is wrong and what is expected.
        detail: String,
    },
    /// Nothing to draw.
    #[error("{what}: no data to draw; pass at least one finite point/value")]
    Empty {
        /// The figure being drawn.
        what: &'static str,
    },
    /// The plotting backend failed.
    #[error("drawing {what} failed: {detail}")]
    Draw {
        /// The figure being drawn.
        what: &'static str,
        /// The backend's message.
        detail: String,
    },
    /// The embedded font could not be registered (should not happen).
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
    /// Writing the PNG failed.
    #[error("cannot write `{path}`: {detail}; check that the directory exists and is writable")]
    Io {
        /// The file.
        path: String,
        /// The underlying message.
        detail: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, FigureError>;

/// Maps a plotters error into [`FigureError::Draw`].
pub(crate) fn draw_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> FigureError {
    move |e| FigureError::Draw {
        what,
        detail: e.to_string(),
    }
}
