//! Video files through FFmpeg (ffmpeg-next): the MP4 writer behind `tessera render -o x.mp4`
//! and a frame reader (used by the tests to check what was written, and the start of video
//! tiles).
//!
//! Frames cross this module as tightly packed sRGB RGBA8, the renderer's read-back format;
//! conversion to and from YUV 4:2:0 (BT.709, limited range, the tags every player assumes for
//! HD) happens here and nowhere else.
//!
//! FFmpeg is the cargo feature `video` (on by default), and this module is the only place
//! that knows it. Without it `VideoReader` and `VideoWriter` are types that cannot be made
//! (`absent.rs`): opening or creating one fails with [`NOT_BUILT`], so every video given
//! to such a build is refused with the feature to enable, and the rest of tessera builds
//! and runs unchanged on stills.

#[cfg(not(feature = "video"))]
mod absent;
#[cfg(feature = "video")]
mod decode;
#[cfg(feature = "video")]
mod encode;
pub(crate) mod error;
#[cfg(feature = "video")]
mod live_sound;
#[cfg(feature = "video")]
mod send;
mod settings;
pub(crate) mod shots;
pub use error::MediaError;
pub use shots::ShotOptions;

#[cfg(not(feature = "video"))]
pub use absent::{demuxer_name, LiveSender, LiveSound, VideoReader, VideoWriter};
#[cfg(feature = "video")]
pub use decode::VideoReader;
#[cfg(feature = "video")]
pub use encode::VideoWriter;
#[cfg(feature = "video")]
pub use live_sound::LiveSound;
#[cfg(feature = "video")]
pub use send::LiveSender;
pub use settings::{
    AudioSource, EncodeSummary, FrameRate, Sound, VideoSettings, DEFAULT_CRF, DEFAULT_PRESET,
};

#[cfg(feature = "video")]
use ffmpeg_next as ffmpeg;

/// What a video given to a build without the `video` feature is told.
pub const NOT_BUILT: &str = "this tessera was built without video support; rebuild it with the cargo feature `video` (on by default) and FFmpeg's libraries";

/// Threads FFmpeg decodes a video with; 0 leaves it to FFmpeg (one per core this process
/// may run on).
static DECODE_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets how many threads FFmpeg decodes each video with from now on (0: one per core this
/// process may run on). Where a container's CPU limit is a quota rather than a set of cores
/// (Kubernetes), FFmpeg cannot see it: `tessera bake --jobs` sets this.
pub fn set_decode_threads(threads: usize) {
    DECODE_THREADS.store(threads, std::sync::atomic::Ordering::Relaxed);
}

#[cfg_attr(not(feature = "video"), allow(dead_code))]
fn decode_threads() -> usize {
    DECODE_THREADS.load(std::sync::atomic::Ordering::Relaxed)
}

/// FFmpeg's muxer name for an output file, from its extension.
#[cfg_attr(not(feature = "video"), allow(dead_code))]
fn container_for(path: &std::path::Path) -> error::Result<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("mp4" | "m4v") => "mp4",
        Some("mov") => "mov",
        Some("mkv") => "matroska",
        _ => error::bail!(
            "{}: unknown video type; name it .mp4 (or .mov, .mkv)",
            path.display()
        ),
    })
}

/// Is `path` a video file name `VideoWriter` writes (by extension)?
pub fn is_video_path(path: &std::path::Path) -> bool {
    container_for(path).is_ok()
}

#[cfg(feature = "video")]
/// The name of the demuxer FFmpeg would read `path` with (e.g. "mov,mp4,m4a,3gp,3g2,mj2"),
/// or `None` when it cannot open it.
pub fn demuxer_name(path: &std::path::Path) -> Option<String> {
    init().ok()?;
    let input = ffmpeg::format::input(path).ok()?;
    Some(input.format().name().to_string())
}

#[cfg(feature = "video")]
/// Initialises FFmpeg once and keeps its own logging to errors (ours goes through tracing).
fn init() -> error::Result<()> {
    static INIT: std::sync::OnceLock<Result<(), ffmpeg::Error>> = std::sync::OnceLock::new();
    INIT.get_or_init(|| {
        ffmpeg::init()?;
        // FFmpeg's own messages go straight to stderr; our errors already name the file and
        // what went wrong, so they are shown only when debugging.
        let level = if tracing::enabled!(tracing::Level::DEBUG) {
            ffmpeg::util::log::Level::Error
        } else {
            ffmpeg::util::log::Level::Fatal
        };
        ffmpeg::util::log::set_level(level);
        Ok(())
    })
    .map_err(|e| MediaError::Failed(format!("FFmpeg did not initialise: {e}")))
}

#[cfg(feature = "video")]
/// Whether frames of `format` hold RGB (or greyscale is not RGB: YUV-like for swscale).
fn is_rgb(format: ffmpeg::format::Pixel) -> bool {
    // SAFETY: av_pix_fmt_desc_get returns a pointer to a static table entry, or null.
    let desc = unsafe { ffmpeg::ffi::av_pix_fmt_desc_get(format.into()) };
    // SAFETY: non-null descriptors are static and live for the program.
    !desc.is_null() && unsafe { (*desc).flags } & ffmpeg::ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0
}

#[cfg(feature = "video")]
/// Sets the YUV↔RGB matrix of a scaler: `space` and `range` describe its YUV side (the RGB
/// side is always full range). `to_yuv` says which way the scaler converts. Untagged video
/// gets the players' guess: BT.709 from 720 lines up, BT.601 below.
fn set_yuv_matrix(
    scaler: &mut ffmpeg::software::scaling::Context,
    space: ffmpeg::color::Space,
    range: ffmpeg::color::Range,
    height: u32,
    to_yuv: bool,
) {
    use ffmpeg::color::Space;
    use ffmpeg::ffi;
    let matrix = match space {
        Space::BT709 => ffi::SWS_CS_ITU709,
        Space::BT2020NCL | Space::BT2020CL => ffi::SWS_CS_BT2020,
        Space::SMPTE240M => ffi::SWS_CS_SMPTE240M,
        Space::FCC => ffi::SWS_CS_FCC,
        Space::Unspecified if height >= 720 => ffi::SWS_CS_ITU709,
        _ => ffi::SWS_CS_ITU601,
    };
    let yuv_full = i32::from(range == ffmpeg::color::Range::JPEG);
    let (src_full, dst_full) = if to_yuv { (1, yuv_full) } else { (yuv_full, 1) };
    // SAFETY: the scaler is a live SwsContext; the coefficient table is static in libswscale.
    unsafe {
        let table = ffi::sws_getCoefficients(matrix);
        ffi::sws_setColorspaceDetails(
            scaler.as_mut_ptr(),
            table,
            src_full,
            table,
            dst_full,
            0,
            1 << 16,
            1 << 16,
        );
    }
}
