//! The MP4 writer: frames go over a short bounded channel to an encoder thread (RGBA → YUV
//! 4:2:0 → H.264 → muxer), so encoding overlaps the next frame's render. The file is written
//! under a hidden temporary name of its own (`fsutil::partial_path`) and renamed when the
//! trailer is down, so an interrupted render never leaves a truncated video under the name
//! asked for, and two renders to one name never write into one file.

use super::error::{bail, ensure, Context as _, MediaError, Result};
use super::live_sound::LiveCopy;
use super::{
    container_for, init, set_yuv_matrix, AudioSource, EncodeSummary, FrameRate, Sound,
    VideoSettings,
};
use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::color::{Primaries, Range, Space, TransferCharacteristic};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{codec, encoder, frame, software::scaling, Dictionary, Packet, Rational};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Frames in flight between the renderer and the encoder: enough to overlap the two, few
/// enough that a 4K frame queue stays under 100 MB.
const QUEUE_FRAMES: usize = 2;

/// Writes frames to an MP4 (or MOV, MKV) file: H.264 on an encoder thread, renamed into
/// place when finished.
pub struct VideoWriter {
    settings: VideoSettings,
    path: PathBuf,
    partial: PathBuf,
    frames: Option<Sender<Vec<u8>>>,
    worker: Option<JoinHandle<Result<EncodeSummary>>>,
    codec: String,
}

impl VideoWriter {
    /// Opens `path` for writing (MP4, or MOV/MKV by extension) and starts the encoder thread.
    pub fn create(path: &Path, settings: VideoSettings) -> Result<VideoWriter> {
        let s = &settings;
        ensure!(
            s.width >= 2 && s.height >= 2 && s.width.is_multiple_of(2) && s.height.is_multiple_of(2),
            "{}: video frames need an even width and height (got {}×{}); pick a --size with even sides",
            path.display(),
            s.width,
            s.height
        );
        ensure!(
            s.fps.den > 0 && (1.0..=240.0).contains(&s.fps.as_f64()),
            "--fps must be 1..=240"
        );
        ensure!(s.crf <= 51, "--crf must be 0..=51");
        let container = container_for(path)?;
        init()?;
        path.file_name()
            .with_context(|| format!("{}: not a file name", path.display()))?;
        crate::fsutil::remove_stale_partials(path);
        let partial = crate::fsutil::partial_path(path);

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
                    .map_err(|_| MediaError::Failed("the encoder thread panicked".into()))
                    .and_then(|r| r.map(|_| ()))
                    .err()
                    .unwrap_or_else(|| MediaError::Failed("the encoder stopped".into()));
                let _ = std::fs::remove_file(&partial);
                return Err(err)
                    .with_context(|| format!("{}: cannot start the video", path.display()));
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
    pub fn write_frame(&mut self, rgba: Vec<u8>) -> Result<()> {
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
    pub fn finish(mut self) -> Result<EncodeSummary> {
        let mut summary = self.join()?;
        // Measured before the rename: the summary describes this video, whatever another
        // process later moves over the same name.
        summary.bytes = std::fs::metadata(&self.partial)
            .map(|m| m.len())
            .unwrap_or(0);
        std::fs::rename(&self.partial, &self.path).with_context(|| {
            format!(
                "{}: cannot move the finished video here",
                self.path.display()
            )
        })?;
        Ok(summary)
    }

    fn join(&mut self) -> Result<EncodeSummary> {
        self.frames = None; // end of stream for the encoder thread
        let worker = self
            .worker
            .take()
            .context("the encoder has already finished")?;
        let result = worker
            .join()
            .map_err(|_| MediaError::Failed("the encoder thread panicked".into()))
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

fn encode_thread(
    partial: &Path,
    container: &str,
    s: &VideoSettings,
    frames: Receiver<Vec<u8>>,
    ready: Sender<String>,
) -> Result<EncodeSummary> {
    let (w, h) = (s.width, s.height);
    let global_header = muxer_wants_global_header(container);
    let (mut video, codec, time_base) = open_h264(
        w,
        h,
        s.fps,
        global_header,
        &[("preset", &s.preset), ("crf", &s.crf.to_string())],
    )?;
    // The muxer, its video stream and (when asked and it can be added) the target's sound.
    let open_output = |with_audio: bool| -> Result<Muxer> {
        let mut output = ffmpeg::format::output_as(partial, container)
            .with_context(|| format!("{}: cannot create", partial.display()))?;
        let stream_index = {
            let mut stream = output.add_stream(codec)?;
            stream.set_parameters(&video);
            stream.set_time_base(time_base);
            stream.index()
        };
        let opened = match s.audio.as_ref().filter(|_| with_audio) {
            Some(Sound::File(source)) => {
                Some(AudioCopy::open(source, &mut output).map(SoundCopy::File))
            }
            Some(Sound::Live(sound)) => {
                Some(LiveCopy::open(sound, &mut output).map(SoundCopy::Live))
            }
            None => None,
        };
        let (audio, left_out) = match opened {
            Some(Ok(copy)) => (Some(copy), None),
            Some(Err(why)) => {
                tracing::warn!("{why}");
                (None, Some(why.to_string()))
            }
            None => (None, None),
        };
        Ok((output, stream_index, audio, left_out))
    };
    let (mut output, mut stream_index, mut audio, mut audio_left_out) = open_output(true)?;
    // A container may list a sound codec it then refuses in its header (Opus in MOV): the
    // video is written without the sound, as for any codec it cannot hold.
    if let Err(e) = output.write_header() {
        let Some(source) = audio.take().map(|_| s.audio.as_ref().expect("asked for")) else {
            return Err(e).context("cannot write the video header");
        };
        let why = SoundLeftOut::Refused {
            path: source.name(),
            source: e,
        };
        tracing::warn!("{why}");
        drop(output);
        (output, stream_index, audio, _) = open_output(false)?;
        audio_left_out = Some(why.to_string());
        output
            .write_header()
            .context("cannot write the video header")?;
    }
    if let Some(a) = audio.as_mut() {
        let time_base = output
            .stream(a.out_index())
            .context("the muxer lost its audio stream")?
            .time_base();
        a.set_out_time_base(time_base);
    }
    let stream_time_base = output
        .stream(stream_index)
        .context("the muxer lost its stream")?
        .time_base();
    let _ = ready.send(codec.name().to_string());

    let mut convert = RgbaToYuv::new(w, h)?;
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
        Ok::<(), MediaError>(())
    };

    let mut count = 0u64;
    let mut busy = std::time::Duration::ZERO;
    for pixels in frames.iter() {
        let started = std::time::Instant::now();
        video.send_frame(convert.frame(&pixels, count as i64)?)?;
        drain(&mut video, &mut output)?;
        count += 1;
        // Sound up to the end of this frame (a live source's: what has arrived), so the
        // file stays interleaved.
        match audio.as_mut() {
            Some(SoundCopy::File(a)) => a.copy_until(count as f64 / s.fps.as_f64(), &mut output)?,
            Some(SoundCopy::Live(a)) => a.copy_arrived(&mut output)?,
            None => {}
        }
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
        audio_left_out,
    })
}

/// Why a video target's sound was left out of the video (the video is written without it).
#[derive(Debug, thiserror::Error)]
pub(super) enum SoundLeftOut {
    #[error("{}: cannot read its sound ({source}); the video has none", path.display())]
    Unreadable {
        path: PathBuf,
        source: ffmpeg::Error,
    },
    #[error("{}: has no sound; the video is silent", path.display())]
    NoSound { path: PathBuf },
    #[error("{}: its sound ({codec}) cannot be copied into this container; left out (write a .mkv to keep it)", path.display())]
    DoesNotFit { path: PathBuf, codec: String },
    #[error("{}: cannot add its sound ({source}); left out", path.display())]
    CannotAdd {
        path: PathBuf,
        source: ffmpeg::Error,
    },
    #[error("{}: this container refuses its sound ({source}); left out (write a .mkv to keep it)", path.display())]
    Refused {
        path: PathBuf,
        source: ffmpeg::Error,
    },
}

/// Whether the muxer `container` (a name `container_for` gives) wants codec headers in the
/// stream parameters rather than in the stream (MP4, MOV, MKV: yes).
fn muxer_wants_global_header(container: &str) -> bool {
    let name = std::ffi::CString::new(container).expect("muxer names have no NUL");
    // SAFETY: a NUL-terminated name; av_guess_format returns a static muxer description or
    // null, and only reads its arguments.
    let format =
        unsafe { ffmpeg::ffi::av_guess_format(name.as_ptr(), std::ptr::null(), std::ptr::null()) };
    // SAFETY: non-null muxer descriptions are static and live for the program.
    !format.is_null() && unsafe { (*format).flags } & ffmpeg::ffi::AVFMT_GLOBALHEADER != 0
}

/// An opened muxer: the output, its video stream's index, the sound being copied (if any)
/// and why the sound asked for was left out (if it was).
type Muxer = (
    ffmpeg::format::context::Output,
    usize,
    Option<SoundCopy>,
    Option<String>,
);

/// Sound being copied into a video: a file's, or a live source's as it arrives.
enum SoundCopy {
    File(AudioCopy),
    Live(LiveCopy),
}

impl SoundCopy {
    fn out_index(&self) -> usize {
        match self {
            SoundCopy::File(a) => a.out_index,
            SoundCopy::Live(a) => a.out_index(),
        }
    }

    /// The time base the muxer chose for the sound stream (known after the header).
    fn set_out_time_base(&mut self, time_base: Rational) {
        match self {
            SoundCopy::File(a) => a.out_time_base = time_base,
            SoundCopy::Live(a) => a.out_time_base = time_base,
        }
    }
}

/// Copies the packets of a file's audio stream into the output, shifted so that `start`
/// in the source is 0 in the output.
struct AudioCopy {
    input: ffmpeg::format::context::Input,
    in_index: usize,
    in_time_base: Rational,
    out_index: usize,
    out_time_base: Rational,
    /// `start` in the source stream's time base (its first timestamp included).
    start_ts: i64,
    done: bool,
}

impl AudioCopy {
    /// Adds the output stream (before the header is written). Fails, saying why, when the
    /// source has no sound or its codec cannot go into this container.
    fn open(
        source: &AudioSource,
        output: &mut ffmpeg::format::context::Output,
    ) -> Result<AudioCopy, SoundLeftOut> {
        let path = source.path.clone();
        let mut input =
            ffmpeg::format::input(&source.path).map_err(|e| SoundLeftOut::Unreadable {
                path: path.clone(),
                source: e,
            })?;
        let stream = input
            .streams()
            .best(ffmpeg::media::Type::Audio)
            .ok_or_else(|| SoundLeftOut::NoSound { path: path.clone() })?;
        let (in_index, in_time_base) = (stream.index(), stream.time_base());
        let first = match stream.start_time() {
            ffmpeg::ffi::AV_NOPTS_VALUE => 0,
            t => t,
        };
        let out_index = add_sound_stream(output, &stream.parameters(), path)?;
        let start_ts = first + (source.start / f64::from(in_time_base)).round() as i64;
        if source.start > 0.0 {
            let ts = (source.start * ffmpeg::ffi::AV_TIME_BASE as f64) as i64;
            // A failed seek just reads from the beginning and skips what is early.
            let _ = input.seek(ts, ..ts);
        }
        Ok(AudioCopy {
            input,
            in_index,
            in_time_base,
            out_index,
            out_time_base: in_time_base,
            start_ts,
            done: false,
        })
    }

    /// Copies packets until one starts at or after `until` seconds (output time).
    fn copy_until(
        &mut self,
        until: f64,
        output: &mut ffmpeg::format::context::Output,
    ) -> Result<()> {
        let limit = self.start_ts + (until / f64::from(self.in_time_base)).floor() as i64;
        while !self.done {
            // A packet per read (see `VideoReader::peek_next`).
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.in_index => {
                    let Some(pts) = packet.pts().or(packet.dts()) else {
                        continue;
                    };
                    if pts < self.start_ts {
                        continue;
                    }
                    if pts >= limit {
                        // Past this frame: stop here; the next call starts a new read, so
                        // this packet is written now (it begins inside the next frame).
                        self.write(&mut packet, output)?;
                        return Ok(());
                    }
                    self.write(&mut packet, output)?;
                }
                Ok(()) => {}
                Err(_) => self.done = true,
            }
        }
        Ok(())
    }

    fn write(
        &self,
        packet: &mut Packet,
        output: &mut ffmpeg::format::context::Output,
    ) -> Result<()> {
        packet.set_pts(packet.pts().map(|t| t - self.start_ts));
        packet.set_dts(packet.dts().map(|t| t - self.start_ts));
        packet.rescale_ts(self.in_time_base, self.out_time_base);
        packet.set_position(-1);
        packet.set_stream(self.out_index);
        packet
            .write_interleaved(output)
            .context("cannot write the sound")
    }
}

/// Adds a stream for sound of `parameters` (from `path`) to `output`, to be copied into it
/// as it is. Fails, saying why, when the codec cannot go into this container.
pub(super) fn add_sound_stream(
    output: &mut ffmpeg::format::context::Output,
    parameters: &ffmpeg::codec::Parameters,
    path: PathBuf,
) -> Result<usize, SoundLeftOut> {
    let id = parameters.id();
    // SAFETY: both pointers are live for the call; FFmpeg only reads them.
    let fits = unsafe {
        ffmpeg::ffi::avformat_query_codec(
            output.format().as_ptr(),
            id.into(),
            ffmpeg::ffi::FF_COMPLIANCE_NORMAL,
        )
    };
    if fits != 1 {
        return Err(SoundLeftOut::DoesNotFit {
            path,
            codec: format!("{id:?}"),
        });
    }
    let mut out = output
        .add_stream(ffmpeg::encoder::find(codec::Id::None))
        .map_err(|e| SoundLeftOut::CannotAdd { path, source: e })?;
    out.set_parameters(parameters.clone());
    // SAFETY: the stream's codec parameters are live; a tag from another container may not
    // fit this one, and 0 lets the muxer choose.
    unsafe { (*out.parameters().as_mut_ptr()).codec_tag = 0 };
    Ok(out.index())
}

/// Opens an H.264 encoder for `w × h` frames at `fps` (one tick per frame: the time base it
/// returns): libx264 with `x264` options, or FFmpeg's mpeg4 at about 0.25 bit per pixel
/// where x264 is missing. BT.709 limited range, the tags every player assumes for HD.
pub(super) fn open_h264(
    w: u32,
    h: u32,
    fps: FrameRate,
    global_header: bool,
    x264: &[(&str, &str)],
) -> Result<(encoder::Video, ffmpeg::Codec, Rational)> {
    let codec = encoder::find_by_name("libx264")
        .or_else(|| encoder::find(codec::Id::MPEG4))
        .context("this FFmpeg has neither libx264 nor mpeg4; install libavcodec59 from Debian")?;
    let time_base = Rational::new(fps.den as i32, fps.num as i32);
    let mut config = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()?;
    config.set_width(w);
    config.set_height(h);
    config.set_format(Pixel::YUV420P);
    config.set_time_base(time_base);
    config.set_frame_rate(Some(Rational::new(fps.num as i32, fps.den as i32)));
    config.set_colorspace(Space::BT709);
    config.set_color_range(Range::MPEG);
    config.set_color_primaries(Primaries::BT709);
    config.set_color_transfer_characteristic(TransferCharacteristic::BT709);
    if global_header {
        config.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut options = Dictionary::new();
    if codec.name() == "libx264" {
        for (key, value) in x264 {
            options.set(key, value);
        }
    } else {
        config.set_bit_rate((w as f64 * h as f64 * fps.as_f64() / 4.0) as usize);
    }
    let video = config
        .open_with(options)
        .with_context(|| format!("cannot open the {} encoder", codec.name()))?;
    Ok((video, codec, time_base))
}

/// Turns packed RGBA8 frames into the encoder's YUV 4:2:0 (BT.709, limited range).
pub(super) struct RgbaToYuv {
    rgba: frame::Video,
    yuv: frame::Video,
    scaler: scaling::Context,
}

impl RgbaToYuv {
    pub(super) fn new(w: u32, h: u32) -> Result<RgbaToYuv> {
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
        Ok(RgbaToYuv {
            rgba: frame::Video::new(Pixel::RGBA, w, h),
            yuv: frame::Video::new(Pixel::YUV420P, w, h),
            scaler,
        })
    }

    /// `pixels` (tightly packed RGBA8 of the size given) as a YUV frame stamped `pts`.
    pub(super) fn frame(&mut self, pixels: &[u8], pts: i64) -> Result<&frame::Video> {
        let row = self.rgba.width() as usize * 4;
        let stride = self.rgba.stride(0);
        copy_rows(pixels, row, stride, self.rgba.data_mut(0));
        self.scaler.run(&self.rgba, &mut self.yuv)?;
        self.yuv.set_pts(Some(pts));
        self.yuv.set_color_space(Space::BT709);
        self.yuv.set_color_range(Range::MPEG);
        Ok(&self.yuv)
    }
}

/// Copies packed rows of `row_bytes` into a plane whose rows are `stride` apart.
pub(crate) fn copy_rows(src: &[u8], row_bytes: usize, stride: usize, dst: &mut [u8]) {
    for (src_row, dst_row) in src.chunks_exact(row_bytes).zip(dst.chunks_mut(stride)) {
        dst_row[..row_bytes].copy_from_slice(src_row);
    }
}
