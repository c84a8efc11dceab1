//! What went wrong with a video: one error type for reading and writing, naming the file.

use std::fmt::Display;
use std::path::PathBuf;

/// What went wrong reading or writing a video: the file and what to do, with FFmpeg's (or
/// the system's) own reason where it refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// This build has no FFmpeg (the cargo feature `video` was off).
    #[error("{}: {}", .0.display(), super::NOT_BUILT)]
    NotBuilt(PathBuf),
    /// What failed, then why.
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// Says what was being done when a step failed: `what: reason`.
#[cfg_attr(not(feature = "video"), allow(dead_code))]
pub(crate) trait Context<T> {
    fn context(self, what: impl Display) -> Result<T>;
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| MediaError::Failed(format!("{what}: {e}")))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| MediaError::Failed(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Display) -> Result<T> {
        self.ok_or_else(|| MediaError::Failed(what.to_string()))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.ok_or_else(|| MediaError::Failed(what().to_string()))
    }
}

#[cfg(feature = "video")]
impl From<ffmpeg_next::Error> for MediaError {
    fn from(e: ffmpeg_next::Error) -> Self {
        MediaError::Failed(format!("FFmpeg: {e}"))
    }
}

impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        MediaError::Failed(e.to_string())
    }
}

/// Returns a `MediaError::Failed` with a formatted message.
macro_rules! bail {
    ($($message:tt)+) => {
        return Err($crate::video::MediaError::Failed(format!($($message)+)))
    };
}

/// `bail!` unless the condition holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            $crate::video::error::bail!($($message)+);
        }
    };
}

pub(crate) use {bail, ensure};
