//! Reads a video file's first video stream frame by frame, with FFmpeg's frame threading on:
//! each frame's time, and the frame as sRGB RGBA at full size, as a small RGB thumbnail, or
//! cut to the tiles' aspect at a tile's size. A phone video's rotation (its display matrix) is
//! applied, so pictures come out upright.

use super::error::{ensure, Context as _, Result};
use super::{init, set_yuv_matrix};
use crate::library::{fit_within, TileAspect, TileFit};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{decoder, frame, media, software::scaling, Packet};
use std::path::{Path, PathBuf};

/// A scaler made for one source format and size and one destination.
struct Scaler {
    context: scaling::Context,
    key: (Pixel, u32, u32, Pixel, u32, u32),
    out: frame::Video,
}

impl Scaler {
    /// Converts `src` to `dst` (`w × h`), remaking the scaler when anything changed.
    fn run<'s>(
        slot: &'s mut Option<Scaler>,
        src: &frame::Video,
        dst: (Pixel, u32, u32),
        flags: scaling::Flags,
    ) -> Result<&'s frame::Video> {
        let key = (src.format(), src.width(), src.height(), dst.0, dst.1, dst.2);
        if slot.as_ref().is_none_or(|s| s.key != key) {
            let mut context =
                scaling::Context::get(key.0, key.1, key.2, key.3, key.4, key.5, flags)?;
            // RGB sources (raw video, PNG and QuickTime RGB codecs) have no YUV matrix:
            // setting one makes swscale treat their values as limited-range.
            if !super::is_rgb(src.format()) {
                set_yuv_matrix(
                    &mut context,
                    src.color_space(),
                    src.color_range(),
                    src.height(),
                    false,
                );
            }
            *slot = Some(Scaler {
                context,
                key,
                out: frame::Video::new(dst.0, dst.1, dst.2),
            });
        }
        let s = slot.as_mut().expect("made above");
        s.context.run(src, &mut s.out)?;
        Ok(&s.out)
    }
}

/// FFmpeg's input format (demuxer or device) named `name`.
fn find_input_format(name: &str) -> Option<ffmpeg::format::format::Input> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: av_find_input_format reads a C string and returns a static descriptor or null.
    let found = unsafe { ffmpeg::ffi::av_find_input_format(name.as_ptr()) };
    // SAFETY: a non-null descriptor lives as long as the process.
    (!found.is_null()).then(|| unsafe { ffmpeg::format::format::Input::wrap(found as *mut _) })
}

/// Packed rows of `row_bytes` from a frame plane whose rows are `stride` apart.
fn packed(plane: &[u8], stride: usize, row_bytes: usize, rows: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(row_bytes * rows);
    for row in plane.chunks(stride).take(rows) {
        out.extend_from_slice(&row[..row_bytes]);
    }
    out
}

/// Largest video side decoded (8K is 7680): a damaged or hostile header claiming more is
/// refused before the decoder allocates frames for it.
pub const MAX_VIDEO_SIDE: u32 = 16_384;

/// Reads a video's frames in order, upright, as RGBA8 (FFmpeg, frame-threaded).
pub struct VideoReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    decoder: decoder::Video,
    /// Seconds per timestamp unit, and the stream's first timestamp.
    time_base: f64,
    start: i64,
    /// Clockwise turns of 90° that make the picture upright (0–3).
    quarter_turns: u32,
    decoded: frame::Video,
    /// `decoded` holds a frame a seek decoded and `advance` has not returned yet.
    pending: bool,
    input_done: bool,
    /// A live source: damaged packets are skipped instead of ending the stream.
    live: bool,
    /// A live source's sound stream, and where its packets go (`tap_sound`).
    sound: Option<(usize, super::LiveSound)>,
    full: Option<Scaler>,
    thumb: Option<Scaler>,
    shaped: Option<Scaler>,
    cells: Option<Scaler>,
}

impl VideoReader {
    /// Opens the video at `path`.
    pub fn open(path: &Path) -> Result<VideoReader> {
        init()?;
        let input = ffmpeg::format::input(path)
            .with_context(|| format!("{}: not a video FFmpeg can open", path.display()))?;
        Self::from_input(input, path, ffmpeg::codec::threading::Type::Frame)
    }

    /// Opens a live source: a device, a stream's URL (`udp://`, `rtsp://`, `srt://` …), a
    /// named pipe, or `-` for standard input; `format` is FFmpeg's input format when it
    /// cannot be guessed (`mpegts`, `v4l2`, `x11grab`), `options` its input options. Frames
    /// are decoded one at a time as they arrive (slice threading: frame threading would
    /// hold a frame per thread back).
    pub fn open_live(
        source: &str,
        format: Option<&str>,
        options: &[(String, String)],
    ) -> Result<VideoReader> {
        init()?;
        let url = if source == "-" { "pipe:0" } else { source };
        let mut dictionary = ffmpeg::Dictionary::new();
        for (key, value) in options {
            dictionary.set(key, value);
        }
        let input = match format {
            Some(name) => {
                let input_format = find_input_format(name).with_context(|| {
                    format!("--live-format {name}: not an input format this FFmpeg has (`ffmpeg -formats` lists them)")
                })?;
                match ffmpeg::format::open_with(url, &ffmpeg::Format::Input(input_format), dictionary) {
                    Ok(ffmpeg::format::context::Context::Input(input)) => Ok(input),
                    Ok(_) => unreachable!("an input format opens an input"),
                    Err(e) => Err(e),
                }
            }
            None => ffmpeg::format::input_with_dictionary(url, dictionary),
        }
        .with_context(|| {
            let hint = match format {
                Some("v4l2") => " (is the camera plugged in and free? `v4l2-ctl --list-devices` lists them)",
                Some("x11grab") => " (is there an X display of that name, e.g. :0, that you may read?)",
                _ => "",
            };
            format!("{source}: cannot open it as a live source{hint}")
        })?;
        Self::from_input(
            input,
            Path::new(source),
            ffmpeg::codec::threading::Type::Slice,
        )
    }

    fn from_input(
        input: ffmpeg::format::context::Input,
        path: &Path,
        threading: ffmpeg::codec::threading::Type,
    ) -> Result<VideoReader> {
        let stream = input
            .streams()
            .best(media::Type::Video)
            .with_context(|| format!("{}: has no video stream", path.display()))?;
        let stream_index = stream.index();
        let time_base = f64::from(stream.time_base());
        let start = match stream.start_time() {
            ffmpeg::ffi::AV_NOPTS_VALUE => 0,
            s => s,
        };
        let quarter_turns = display_quarter_turns(&stream);
        let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())?;
        // Frame threading: several frames decode at once, one per core.
        context.set_threading(ffmpeg::codec::threading::Config {
            kind: threading,
            count: super::decode_threads(),
            ..Default::default()
        });
        let decoder = context
            .decoder()
            .video()
            .with_context(|| format!("{}: no decoder for its video", path.display()))?;
        let (w, h) = (decoder.width(), decoder.height());
        ensure!(
            w <= MAX_VIDEO_SIDE && h <= MAX_VIDEO_SIDE,
            "{}: {w}×{h} video is larger than {MAX_VIDEO_SIDE} px a side",
            path.display()
        );
        Ok(VideoReader {
            path: path.to_path_buf(),
            input,
            stream_index,
            decoder,
            time_base,
            start,
            quarter_turns,
            decoded: frame::Video::empty(),
            pending: false,
            input_done: false,
            live: threading == ffmpeg::codec::threading::Type::Slice,
            sound: None,
            full: None,
            thumb: None,
            shaped: None,
            cells: None,
        })
    }

    /// Frame size as the stream declares it (before rotation).
    pub fn size(&self) -> (u32, u32) {
        (self.decoder.width(), self.decoder.height())
    }

    /// Length in seconds, as the container says (0 when it does not).
    pub fn duration(&self) -> f64 {
        (self.input.duration().max(0) as f64 / ffmpeg::ffi::AV_TIME_BASE as f64).max(0.0)
    }

    /// Moves to `seconds`: the next frame returned is the first at or after it.
    pub fn seek(&mut self, seconds: f64) -> Result<()> {
        let ts = (seconds * ffmpeg::ffi::AV_TIME_BASE as f64) as i64;
        self.input
            .seek(ts, ..ts)
            .with_context(|| format!("{}: cannot seek to {seconds:.2} s", self.path.display()))?;
        self.decoder.flush();
        self.input_done = false;
        // Decode up to the asked time; the caller gets the first frame at or after it.
        while let Some(t) = self.peek_next()? {
            if t + 1e-6 >= seconds {
                self.pending = true;
                break;
            }
        }
        Ok(())
    }
}

impl VideoReader {
    /// Decodes the next frame; returns its time in seconds, or `None` at the end.
    pub fn advance(&mut self) -> Result<Option<f64>> {
        if std::mem::take(&mut self.pending) {
            return Ok(Some(self.time()));
        }
        self.peek_next()
    }

    fn peek_next(&mut self) -> Result<Option<f64>> {
        loop {
            if self.decoder.receive_frame(&mut self.decoded).is_ok() {
                return Ok(Some(self.time()));
            }
            if self.input_done {
                return Ok(None);
            }
            // A packet per read: av_read_frame overwrites a packet without releasing what
            // it held, so reusing one leaked the sound packets read past (2.6 KB a frame of
            // a 720p film with AAC sound: 470 MB over two hours, in bakes too).
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                // A live stream joined mid-way starts with frames whose references were
                // never received, and a lossy network drops packets: skipped, not fatal.
                Ok(()) if packet.stream() == self.stream_index && self.live => {
                    if let Err(e) = self.decoder.send_packet(&packet) {
                        tracing::debug!("{}: a damaged packet skipped ({e})", self.path.display());
                    }
                }
                Ok(())
                    if self
                        .sound
                        .as_ref()
                        .is_some_and(|(i, _)| *i == packet.stream()) =>
                {
                    if let Some((_, sound)) = &self.sound {
                        sound.queue(packet);
                    }
                }
                Ok(()) if packet.stream() == self.stream_index => self
                    .decoder
                    .send_packet(&packet)
                    .with_context(|| format!("{}: corrupt video data", self.path.display()))?,
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => {
                    self.input_done = true;
                    self.decoder.send_eof()?;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("{}: read error", self.path.display()))
                }
            }
        }
    }

    /// The current frame's time on the source's own clock, in seconds (not counted from
    /// the stream's start: a live source's sound is placed by it).
    pub fn stream_time(&self) -> f64 {
        self.time() + self.start as f64 * self.time_base
    }

    /// From now on, the packets of the source's sound stream (if it has one) are queued
    /// for a recording: into `into`'s queue (a source opened again), else a new one.
    pub fn tap_sound(&mut self, into: Option<&super::LiveSound>) -> Option<super::LiveSound> {
        let index = self.input.streams().best(media::Type::Audio)?.index();
        let sound = match into {
            Some(sound) => sound.clone(),
            None => super::LiveSound::new(&self.path.to_string_lossy(), &self.input, index)?,
        };
        self.sound = Some((index, sound.clone()));
        Some(sound)
    }

    /// The current frame's time in seconds from the stream's start.
    fn time(&self) -> f64 {
        let ts = self
            .decoded
            .timestamp()
            .or(self.decoded.pts())
            .unwrap_or(self.start);
        (ts - self.start) as f64 * self.time_base
    }

    /// The next frame as full-size RGBA, or `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<image::RgbaImage>> {
        match self.advance()? {
            Some(_) => self.rgba().map(Some),
            None => Ok(None),
        }
    }

    /// The current frame as full-size sRGB RGBA, upright.
    pub fn rgba(&mut self) -> Result<image::RgbaImage> {
        let (w, h) = (self.decoded.width(), self.decoded.height());
        let out = Scaler::run(
            &mut self.full,
            &self.decoded,
            (Pixel::RGBA, w, h),
            scaling::Flags::BICUBIC,
        )?;
        let pixels = packed(out.data(0), out.stride(0), w as usize * 4, h as usize);
        let img = image::RgbaImage::from_raw(w, h, pixels).expect("w×h×4 bytes");
        Ok(turn(img, self.quarter_turns))
    }

    /// The current frame as a small RGB thumbnail `width` wide (for comparing frames; the
    /// fast bilinear filter is a third of the area filter's cost, and cuts score as high).
    pub fn thumbnail(&mut self, width: u32) -> Result<Vec<u8>> {
        let (w, h) = (self.decoded.width(), self.decoded.height());
        let th = ((width as u64 * h as u64) / w.max(1) as u64).max(1) as u32;
        let out = Scaler::run(
            &mut self.thumb,
            &self.decoded,
            (Pixel::RGB24, width, th),
            scaling::Flags::FAST_BILINEAR,
        )?;
        Ok(packed(
            out.data(0),
            out.stride(0),
            width as usize * 3,
            th as usize,
        ))
    }

    /// The current frame upright, scaled (area filter) into its extent of a `side × side`
    /// sRGB RGBA page, the rest repeating the edge: a clip frame at a tile's size and
    /// shape. Centre-cropped to `aspect` to fill the extent (`TileFit::Crop`), or whole,
    /// centred on black (`TileFit::Pad`).
    pub fn shaped(&mut self, side: u32, aspect: TileAspect, fit: TileFit) -> Result<Vec<u8>> {
        let [ex, ey] = aspect.extent(side);
        // The extent in the stream's own orientation.
        let (cw, ch) = if self.quarter_turns % 2 == 1 {
            (ey, ex)
        } else {
            (ex, ey)
        };
        let (w, h) = (self.decoded.width().max(1), self.decoded.height().max(1));
        let (w64, h64) = (w as u64, h as u64);
        // The size the frame is scaled to: covering cw × ch (its middle then taken), or
        // inside it.
        let (sw, sh) = match fit {
            TileFit::Crop if w64 * ch as u64 >= h64 * cw as u64 => {
                (((w64 * ch as u64).div_ceil(h64) as u32).max(cw), ch)
            }
            TileFit::Crop => (cw, ((h64 * cw as u64).div_ceil(w64) as u32).max(ch)),
            TileFit::Pad => fit_within([w, h], [cw, ch]).into(),
        };
        let out = Scaler::run(
            &mut self.shaped,
            &self.decoded,
            (Pixel::RGBA, sw, sh),
            scaling::Flags::AREA,
        )?;
        let stride = out.stride(0);
        let crop = if sw >= cw && sh >= ch {
            let (x0, y0) = (((sw - cw) / 2) as usize, ((sh - ch) / 2) as usize);
            let centre = &out.data(0)[y0 * stride + x0 * 4..];
            packed(centre, stride, cw as usize * 4, ch as usize)
        } else {
            // Padded: the scaled frame in the middle of black.
            let (x0, y0) = (((cw - sw) / 2) as usize, ((ch - sh) / 2) as usize);
            let mut canvas = [0, 0, 0, 255].repeat((cw * ch) as usize);
            let row_bytes = sw as usize * 4;
            for (y, row) in out.data(0).chunks(stride).take(sh as usize).enumerate() {
                let at = ((y0 + y) * cw as usize + x0) * 4;
                canvas[at..at + row_bytes].copy_from_slice(&row[..row_bytes]);
            }
            canvas
        };
        let crop = image::RgbaImage::from_raw(cw, ch, crop).expect("cw×ch×4 bytes");
        let crop = turn(crop, self.quarter_turns);
        if [ex, ey] == [side, side] {
            return Ok(crop.into_raw());
        }
        // Into the page's top-left, its last column and row repeated to the page's edges.
        let mut page = image::RgbaImage::new(side, side);
        for y in 0..side {
            for x in 0..side {
                *page.get_pixel_mut(x, y) = *crop.get_pixel(x.min(ex - 1), y.min(ey - 1));
            }
        }
        Ok(page.into_raw())
    }

    /// The current frame upright, centre-cropped to the aspect of a `cols × rows` grid of
    /// cells of `aspect` and scaled (area filter) to `samples` sRGB RGB pixels per cell
    /// (across, down): what a video target's cells are averaged from.
    pub fn cells(
        &mut self,
        (cols, rows): (u32, u32),
        [sx, sy]: [u32; 2],
        aspect: TileAspect,
    ) -> Result<Vec<u8>> {
        let (w, h) = (self.decoded.width().max(1), self.decoded.height().max(1));
        let turned = self.quarter_turns % 2 == 1;
        // The wanted size in the stream's own orientation.
        let (cw, ch) = if turned {
            (rows * sy, cols * sx)
        } else {
            (cols * sx, rows * sy)
        };
        let (sw, sh) = if aspect.is_square() && sx == sy {
            // Scale so the frame covers cw × ch, then take the middle.
            let scale = f64::max(cw as f64 / w as f64, ch as f64 / h as f64);
            (
                ((w as f64 * scale).round() as u32).max(cw),
                ((h as f64 * scale).round() as u32).max(ch),
            )
        } else {
            // The largest centred part of the grid's aspect in pixels, scaled on each axis
            // to cw × ch: the rest of the frame scaled alike, then the middle taken.
            let grid =
                (cols as f64 * aspect.width() as f64) / (rows as f64 * aspect.height() as f64);
            let grid = if turned { 1.0 / grid } else { grid };
            let (pw, ph) = if w as f64 / h as f64 > grid {
                (h as f64 * grid, h as f64)
            } else {
                (w as f64, w as f64 / grid)
            };
            (
                ((w as f64 * cw as f64 / pw).round() as u32).max(cw),
                ((h as f64 * ch as f64 / ph).round() as u32).max(ch),
            )
        };
        let out = Scaler::run(
            &mut self.cells,
            &self.decoded,
            (Pixel::RGB24, sw, sh),
            scaling::Flags::AREA,
        )?;
        let (x0, y0) = (((sw - cw) / 2) as usize, ((sh - ch) / 2) as usize);
        let stride = out.stride(0);
        let pixels = packed(
            &out.data(0)[y0 * stride + x0 * 3..],
            stride,
            cw as usize * 3,
            ch as usize,
        );
        if self.quarter_turns == 0 {
            return Ok(pixels);
        }
        let img = image::RgbImage::from_raw(cw, ch, pixels).expect("cw×ch×3 bytes");
        Ok(turn(img, self.quarter_turns).into_raw())
    }

    /// The frame size upright (after the stream's rotation).
    pub fn upright_size(&self) -> (u32, u32) {
        let (w, h) = self.size();
        if self.quarter_turns % 2 == 1 {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The stream's frame rate as a fraction (average rate, else the container's guess).
    pub fn rate(&self) -> Option<(u32, u32)> {
        let stream = self.input.stream(self.stream_index)?;
        [stream.avg_frame_rate(), stream.rate()]
            .into_iter()
            .find(|r| r.numerator() > 0 && r.denominator() > 0)
            .map(|r| (r.numerator() as u32, r.denominator() as u32))
    }
}

/// Turns a picture clockwise by `quarter_turns` × 90°.
fn turn<P: image::Pixel + 'static>(
    img: image::ImageBuffer<P, Vec<P::Subpixel>>,
    quarter_turns: u32,
) -> image::ImageBuffer<P, Vec<P::Subpixel>> {
    match quarter_turns % 4 {
        1 => image::imageops::rotate90(&img),
        2 => image::imageops::rotate180(&img),
        3 => image::imageops::rotate270(&img),
        _ => img,
    }
}

/// Clockwise quarter turns that stand a stream's picture upright, from its display matrix
/// (phones record sideways and say so there).
fn display_quarter_turns(stream: &ffmpeg::format::stream::Stream) -> u32 {
    for data in stream.side_data() {
        if data.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix
            && data.data().len() >= 36
        {
            // SAFETY: a display matrix is nine i32s; av_display_rotation_get only reads them.
            let degrees =
                unsafe { ffmpeg::ffi::av_display_rotation_get(data.data().as_ptr() as *const i32) };
            if degrees.is_finite() {
                // FFmpeg gives the counter-clockwise rotation to apply; turn clockwise.
                let ccw = (degrees.round() as i64).rem_euclid(360);
                return (((360 - ccw) % 360) / 90) as u32;
            }
        }
    }
    0
}
