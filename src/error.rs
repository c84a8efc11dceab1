//! The errors the rendering API returns: what went wrong, with the file or option to fix.

use crate::library::StoreError;

#[derive(Debug, thiserror::Error)]
/// What went wrong, naming the file or option to fix.
pub enum Error {
    /// A tile library could not be read: missing, damaged, another version, being written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A mosaic file is missing or damaged, or no longer fits its library.
    #[error("{0}")]
    Mosaic(String),
    /// No GPU adapter, hardware or software, could be opened.
    #[error("{0}")]
    NoAdapter(String),
    /// The options cannot work here: a budget below the library's minimum, a frame size or
    /// a mosaic beyond the adapter's limits.
    #[error("{0}")]
    Options(String),
    /// The GPU failed an operation (a read-back, a lost device).
    #[error("{0}")]
    Gpu(String),
    /// A video could not be read or written.
    #[error(transparent)]
    Video(#[from] crate::video::MediaError),
    /// The user asked to stop (Ctrl-C): nothing was written.
    #[error("interrupted: nothing written")]
    Interrupted,
    /// An output file could not be written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// The rendering API's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
