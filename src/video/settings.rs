//! What a video is written with and what writing it reports: plain data, the same with or
//! without FFmpeg.

use std::path::PathBuf;

/// Frames per second as a fraction: 30/1 or NTSC's 30000/1001.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl FrameRate {
    /// Frames per second.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den.max(1) as f64
    }
}

impl From<u32> for FrameRate {
    fn from(fps: u32) -> FrameRate {
        FrameRate { num: fps, den: 1 }
    }
}

impl std::fmt::Display for FrameRate {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{:.3}", self.as_f64())
        }
    }
}

/// An audio stream copied (not re-encoded) into the video from another file: a video
/// target's sound.
#[derive(Clone, Debug)]
pub struct AudioSource {
    /// The file whose sound is copied.
    pub path: PathBuf,
    /// Seconds into the source where the video starts.
    pub start: f64,
}

/// Sound for a video, copied into it as it is (not re-encoded).
#[derive(Clone, Debug)]
pub enum Sound {
    /// A file's sound: a video target's.
    File(AudioSource),
    /// A live source's sound, as it arrives.
    Live(super::LiveSound),
}

impl Sound {
    /// What the sound is called in messages: its file or source.
    pub fn name(&self) -> PathBuf {
        match self {
            Sound::File(a) => a.path.clone(),
            Sound::Live(l) => l.name(),
        }
    }
}

/// What to encode. Width and height must be even (4:2:0 chroma is sampled per 2×2 pixels).
#[derive(Clone, Debug)]
pub struct VideoSettings {
    /// Frame width in pixels (even).
    pub width: u32,
    /// Frame height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: FrameRate,
    /// x264 constant rate factor: 0 lossless … 51 worst; 17–18 look lossless to most eyes.
    pub crf: u8,
    /// x264 speed/size trade-off: ultrafast … veryslow.
    pub preset: String,
    /// Sound to copy in, if any; cut to the video's length.
    pub audio: Option<Sound>,
}

/// The default quality and speed: x264's `veryfast` at CRF 17 exported a 1080p zoom 1.5×
/// as fast as `fast` at CRF 18, within 0.2 dB PSNR of it and 6 % larger (docs/performance.md, "Video export",
/// `scripts/compare-renderers.sh`). On two cores the encoder, not the renderer, bounds an
/// export.
pub const DEFAULT_CRF: u8 = 17;
/// The default x264 preset (see `DEFAULT_CRF`).
pub const DEFAULT_PRESET: &str = "veryfast";

impl Default for VideoSettings {
    fn default() -> Self {
        VideoSettings {
            width: 1920,
            height: 1080,
            fps: 30.into(),
            crf: DEFAULT_CRF,
            preset: DEFAULT_PRESET.into(),
            audio: None,
        }
    }
}

/// What `VideoWriter::finish` reports.
#[derive(Clone, Debug)]
pub struct EncodeSummary {
    /// Frames written.
    pub frames: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// FFmpeg's name of the encoder used ("libx264", or "mpeg4" where x264 is missing).
    pub codec: String,
    /// Seconds the encoder thread spent converting and encoding (not waiting for frames).
    pub encode_secs: f64,
    /// Why the asked audio was left out, if it was.
    pub audio_left_out: Option<String>,
}
