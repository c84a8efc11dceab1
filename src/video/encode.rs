//! The MP4 writer: frames go over a short bounded channel to an encoder thread (RGBA → YUV
//! 4:2:0 → H.264 → muxer), so encoding overlaps the next frame's render. The file is written
//! under a hidden `.NAME.partial` name and renamed when the trailer is down, so an interrupted
//! render never leaves a truncated video under the name asked for.

use super::{init, set_yuv_matrix};
use anyhow::{bail, ensure, Context as _};
use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::color::{Primaries, Range, Space, TransferCharacteristic};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{codec, encoder, frame, software::scaling, Dictionary, Packet, Rational};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// What to encode. Width and height must be even (4:2:0 chroma is sampled per 2×2 pixels).
#[derive(Clone, Debug)]
pub struct VideoSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// x264 constant rate factor: 0 lossless … 51 worst; 18 looks lossless to most eyes.
    pub crf: u8,
    /// x264 speed/size trade-off: ultrafast … veryslow.
    pub preset: String,
}

impl Default for VideoSettings {
    fn default() -> Self {
        VideoSettings {
            width: 1920,
            height: 1080,
            fps: 30,
            crf: 18,
            preset: "fast".into(),
        }
    }
}

/// What `VideoWriter::finish` reports.
#[derive(Clone, Debug)]
pub struct EncodeSummary {
    pub frames: u64,
    pub bytes: u64,
    /// FFmpeg's name of the encoder used ("libx264", or "mpeg4" where x264 is missing).
    pub codec: String,
    /// Seconds the encoder thread spent converting and encoding (not waiting for frames).
    pub encode_secs: f64,
}

/// Frames in flight between the renderer and the encoder: enough to overlap the two, few
/// enough that a 4K frame queue stays under 100 MB.
const QUEUE_FRAMES: usize = 2;

pub struct VideoWriter {
    settings: VideoSettings,
    path: PathBuf,
    partial: PathBuf,
    frames: Option<Sender<Vec<u8>>>,
    worker: Option<JoinHandle<anyhow::Result<EncodeSummary>>>,
    codec: String,
}

impl VideoWriter {
    /// Opens `path` for writing (MP4, or MOV/MKV by extension) and starts the encoder thread.
    pub fn create(path: &Path, settings: VideoSettings) -> anyhow::Result<VideoWriter> {
        let s = &settings;
        ensure!(
            s.width >= 2 && s.height >= 2 && s.width.is_multiple_of(2) && s.height.is_multiple_of(2),
            "{}: video frames need an even width and height (got {}×{}); pick a --size with even sides",
            path.display(),
            s.width,
            s.height
        );
        ensure!((1..=240).contains(&s.fps), "--fps must be 1..=240");
        ensure!(s.crf <= 51, "--crf must be 0..=51");
        let container = container_for(path)?;
        init()?;
        let name = path
            .file_name()
            .with_context(|| format!("{}: not a file name", path.display()))?;
        let partial = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));

        let (frame_tx, frame_rx) = crossbeam_channel::bounded(QUEUE_FRAMES);
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let worker = {
            let (partial, settings) = (partial.clone(), settings.clone());
            std::thread::Builder::new()
                .name("tessera-encoder".into())
                .spawn(move || encode_thread(&partial, container, &settings, frame_rx, ready_tx))?
        };
        // FFmpeg objects stay on the thread that made them; it tells us whether they opened.
        let codec = match ready_rx.recv() {
            Ok(codec) => codec,
            Err(_) => {
                let err = worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("the encoder thread panicked"))
                    .and_then(|r| r.map(|_| ()))
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("the encoder stopped"));
                let _ = std::fs::remove_file(&partial);
                return Err(err.context(format!("{}: cannot start the video", path.display())));
            }
        };
        Ok(VideoWriter {
            settings,
            path: path.to_path_buf(),
            partial,
            frames: Some(frame_tx),
            worker: Some(worker),
            codec,
        })
    }

    /// The encoder in use ("libx264" or a fallback).
    pub fn codec(&self) -> &str {
        &self.codec
    }

    /// Queues one tightly packed RGBA8 frame; blocks while the encoder is `QUEUE_FRAMES` behind.
    pub fn write_frame(&mut self, rgba: Vec<u8>) -> anyhow::Result<()> {
        let expected = self.settings.width as usize * self.settings.height as usize * 4;
        ensure!(
            rgba.len() == expected,
            "frame of {} bytes, expected {expected} ({}×{} RGBA)",
            rgba.len(),
            self.settings.width,
            self.settings.height
        );
        let sent = self.frames.as_ref().map(|tx| tx.send(rgba).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The encoder hung up: its error says why.
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => bail!("{}: the encoder stopped early", self.path.display()),
        }
    }

    /// Flushes the encoder, writes the trailer and moves the file to its name.
    pub fn finish(mut self) -> anyhow::Result<EncodeSummary> {
        let mut summary = self.join()?;
        std::fs::rename(&self.partial, &self.path).with_context(|| {
            format!(
                "{}: cannot move the finished video here",
                self.path.display()
            )
        })?;
        summary.bytes = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        Ok(summary)
    }

    fn join(&mut self) -> anyhow::Result<EncodeSummary> {
        self.frames = None; // end of stream for the encoder thread
        let worker = self
            .worker
            .take()
            .context("the encoder has already finished")?;
        let result = worker
            .join()
            .map_err(|_| anyhow::anyhow!("the encoder thread panicked"))
            .and_then(|r| r);
        if result.is_err() {
            let _ = std::fs::remove_file(&self.partial);
        }
        result.with_context(|| format!("{}: encoding failed", self.path.display()))
    }
}

impl Drop for VideoWriter {
    /// A writer dropped without `finish` (an error elsewhere) leaves no video behind.
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.join();
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// FFmpeg's muxer name for an output file, from its extension.
fn container_for(path: &Path) -> anyhow::Result<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match ext.as_deref() {
        Some("mp4" | "m4v") => "mp4",
        Some("mov") => "mov",
        Some("mkv") => "matroska",
        _ => bail!(
            "{}: unknown video type; name it .mp4 (or .mov, .mkv)",
            path.display()
        ),
    })
}

/// Is `path` a video file name `VideoWriter` writes (by extension)?
pub fn is_video_path(path: &Path) -> bool {
    container_for(path).is_ok()
}

fn encode_thread(
    partial: &Path,
    container: &str,
    s: &VideoSettings,
    frames: Receiver<Vec<u8>>,
    ready: Sender<String>,
) -> anyhow::Result<EncodeSummary> {
    let (w, h) = (s.width, s.height);
    let mut output = ffmpeg::format::output_as(partial, container)
        .with_context(|| format!("{}: cannot create", partial.display()))?;
    let codec = encoder::find_by_name("libx264")
        .or_else(|| encoder::find(codec::Id::MPEG4))
        .context("this FFmpeg has neither libx264 nor mpeg4; install libavcodec59 from Debian")?;
    let is_x264 = codec.name() == "libx264";
    let global_header = output
        .format()
        .flags()
        .contains(ffmpeg::format::Flags::GLOBAL_HEADER);
    let time_base = Rational::new(1, s.fps as i32);

    let mut config = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()?;
    config.set_width(w);
    config.set_height(h);
    config.set_format(Pixel::YUV420P);
    config.set_time_base(time_base);
    config.set_frame_rate(Some(Rational::new(s.fps as i32, 1)));
    config.set_colorspace(Space::BT709);
    config.set_color_range(Range::MPEG);
    config.set_color_primaries(Primaries::BT709);
    config.set_color_transfer_characteristic(TransferCharacteristic::BT709);
    if global_header {
        config.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut options = Dictionary::new();
    if is_x264 {
        options.set("preset", &s.preset);
        options.set("crf", &s.crf.to_string());
    } else {
        // mpeg4 has no CRF: about 0.25 bit per pixel keeps it watchable.
        config.set_bit_rate((w as usize * h as usize * s.fps as usize) / 4);
    }
    let mut video = config
        .open_with(options)
        .with_context(|| format!("cannot open the {} encoder", codec.name()))?;
    let stream_index = {
        let mut stream = output.add_stream(codec)?;
        stream.set_parameters(&video);
        stream.set_time_base(time_base);
        stream.index()
    };
    output
        .write_header()
        .context("cannot write the video header")?;
    let stream_time_base = output
        .stream(stream_index)
        .context("the muxer lost its stream")?
        .time_base();
    let _ = ready.send(codec.name().to_string());

    let mut rgba = frame::Video::new(Pixel::RGBA, w, h);
    let mut yuv = frame::Video::new(Pixel::YUV420P, w, h);
    let mut scaler = scaling::Context::get(
        Pixel::RGBA,
        w,
        h,
        Pixel::YUV420P,
        w,
        h,
        scaling::Flags::BICUBIC,
    )?;
    set_yuv_matrix(&mut scaler, Space::BT709, Range::MPEG, h, true);
    let mut packet = Packet::empty();
    let mut drain = |video: &mut encoder::Video, output: &mut ffmpeg::format::context::Output| {
        while video.receive_packet(&mut packet).is_ok() {
            packet.set_stream(stream_index);
            // FFmpeg 5.1 does not carry frame durations into packets; without one the
            // muxer under-counts the last frame and the declared rate comes out wrong.
            packet.set_duration(1);
            packet.rescale_ts(time_base, stream_time_base);
            packet.write_interleaved(output)?;
        }
        anyhow::Ok(())
    };

    let mut count = 0u64;
    let mut busy = std::time::Duration::ZERO;
    for pixels in frames.iter() {
        let started = std::time::Instant::now();
        copy_rows(&pixels, w as usize * 4, rgba.stride(0), rgba.data_mut(0));
        scaler.run(&rgba, &mut yuv)?;
        yuv.set_pts(Some(count as i64));
        yuv.set_color_space(Space::BT709);
        yuv.set_color_range(Range::MPEG);
        video.send_frame(&yuv)?;
        drain(&mut video, &mut output)?;
        count += 1;
        busy += started.elapsed();
    }
    let started = std::time::Instant::now();
    video.send_eof()?;
    drain(&mut video, &mut output)?;
    output.write_trailer().context("cannot finish the video")?;
    busy += started.elapsed();
    Ok(EncodeSummary {
        frames: count,
        bytes: 0,
        codec: codec.name().to_string(),
        encode_secs: busy.as_secs_f64(),
    })
}

/// Copies packed rows of `row_bytes` into a plane whose rows are `stride` apart.
pub(crate) fn copy_rows(src: &[u8], row_bytes: usize, stride: usize, dst: &mut [u8]) {
    for (src_row, dst_row) in src.chunks_exact(row_bytes).zip(dst.chunks_mut(stride)) {
        dst_row[..row_bytes].copy_from_slice(src_row);
    }
}
