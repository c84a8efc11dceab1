//! A build without the `video` feature: no FFmpeg. A video reader or writer cannot be made
//! (`open` and `create` fail with `NOT_BUILT`), so code that handles videos compiles
//! unchanged and refuses every video at the first step, naming the feature to enable.

use super::error::{MediaError, Result};
use super::{EncodeSummary, VideoSettings};
use std::path::Path;

/// No value of this type exists: the methods below can never run.
#[derive(Clone, Debug)]
enum Never {}

/// Reads frames from a video: never, without FFmpeg.
#[derive(Debug)]
pub struct VideoReader(Never);

// The same calls as the FFmpeg reader and writer, which document them.
#[allow(missing_docs)]
impl VideoReader {
    pub fn open(path: &Path) -> Result<VideoReader> {
        Err(MediaError::NotBuilt(path.to_path_buf()))
    }
    pub fn open_live(
        source: &str,
        _format: Option<&str>,
        _options: &[(String, String)],
    ) -> Result<VideoReader> {
        Err(MediaError::NotBuilt(source.into()))
    }
    pub fn size(&self) -> (u32, u32) {
        match self.0 {}
    }
    pub fn duration(&self) -> f64 {
        match self.0 {}
    }
    pub fn seek(&mut self, _seconds: f64) -> Result<()> {
        match self.0 {}
    }
    pub fn advance(&mut self) -> Result<Option<f64>> {
        match self.0 {}
    }
    pub fn next_frame(&mut self) -> Result<Option<image::RgbaImage>> {
        match self.0 {}
    }
    pub fn rgba(&mut self) -> Result<image::RgbaImage> {
        match self.0 {}
    }
    pub fn thumbnail(&mut self, _width: u32) -> Result<Vec<u8>> {
        match self.0 {}
    }
    pub fn shaped(
        &mut self,
        _side: u32,
        _aspect: crate::library::TileAspect,
        _fit: crate::library::TileFit,
    ) -> Result<Vec<u8>> {
        match self.0 {}
    }
    pub fn cells(
        &mut self,
        _grid: (u32, u32),
        _samples: [u32; 2],
        _aspect: crate::library::TileAspect,
    ) -> Result<Vec<u8>> {
        match self.0 {}
    }
    pub fn upright_size(&self) -> (u32, u32) {
        match self.0 {}
    }
    pub fn rate(&self) -> Option<(u32, u32)> {
        match self.0 {}
    }
    pub fn stream_time(&self) -> f64 {
        match self.0 {}
    }
    pub fn tap_sound(&mut self, _into: Option<&LiveSound>) -> Option<LiveSound> {
        match self.0 {}
    }
}

/// Writes a video: never, without FFmpeg.
#[derive(Debug)]
pub struct VideoWriter(Never);

#[allow(missing_docs)]
impl VideoWriter {
    pub fn create(path: &Path, _settings: VideoSettings) -> Result<VideoWriter> {
        Err(MediaError::NotBuilt(path.to_path_buf()))
    }
    pub fn codec(&self) -> &str {
        match self.0 {}
    }
    pub fn write_frame(&mut self, _rgba: Vec<u8>) -> Result<()> {
        match self.0 {}
    }
    pub fn finish(self) -> Result<EncodeSummary> {
        match self.0 {}
    }
}

/// Without FFmpeg no file is read as a video.
pub fn demuxer_name(_path: &Path) -> Option<String> {
    None
}

/// Sends a live stream: never, without FFmpeg.
#[derive(Debug)]
pub struct LiveSender(Never);

#[allow(missing_docs)]
impl LiveSender {
    pub fn open(url: &str, _format: &str, _size: (u32, u32), _fps: u32) -> Result<LiveSender> {
        Err(MediaError::NotBuilt(url.into()))
    }
    pub fn send(&mut self, _rgba: &[u8]) -> Result<()> {
        match self.0 {}
    }
    pub fn sent(&self) -> u64 {
        match self.0 {}
    }
    pub fn finish(self) -> Result<()> {
        match self.0 {}
    }
}

/// A live source's sound: never, without FFmpeg.
#[derive(Clone, Debug)]
pub struct LiveSound(Never);

#[allow(missing_docs)]
impl LiveSound {
    pub fn anchor(&self, _output: f64, _source: f64) {
        match self.0 {}
    }
    pub fn name(&self) -> std::path::PathBuf {
        match self.0 {}
    }
}
