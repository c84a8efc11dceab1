//! Reads a video file's first video stream frame by frame as sRGB RGBA8.

use super::{init, set_yuv_matrix};
use anyhow::Context as _;
use ffmpeg_next as ffmpeg;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{decoder, frame, media, software::scaling, Packet};
use std::path::{Path, PathBuf};

pub struct VideoReader {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    decoder: decoder::Video,
    /// Made at the first frame (its colour tags pick the matrix), remade if the size changes.
    scaler: Option<(scaling::Context, u32, u32, Pixel)>,
    decoded: frame::Video,
    rgba: frame::Video,
    input_done: bool,
}

impl VideoReader {
    pub fn open(path: &Path) -> anyhow::Result<VideoReader> {
        init()?;
        let input = ffmpeg::format::input(path)
            .with_context(|| format!("{}: not a video FFmpeg can open", path.display()))?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .with_context(|| format!("{}: has no video stream", path.display()))?;
        let stream_index = stream.index();
        let decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())?
            .decoder()
            .video()
            .with_context(|| format!("{}: no decoder for its video", path.display()))?;
        Ok(VideoReader {
            path: path.to_path_buf(),
            input,
            stream_index,
            decoder,
            scaler: None,
            decoded: frame::Video::empty(),
            rgba: frame::Video::empty(),
            input_done: false,
        })
    }

    /// Frame size as the stream declares it.
    pub fn size(&self) -> (u32, u32) {
        (self.decoder.width(), self.decoder.height())
    }

    /// Frames per second as the stream declares it, if it does.
    pub fn frame_rate(&self) -> Option<f64> {
        let rate = self.input.stream(self.stream_index)?.avg_frame_rate();
        (rate.denominator() != 0 && rate.numerator() > 0).then(|| f64::from(rate))
    }

    /// The next frame, or `None` at the end of the stream.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<image::RgbaImage>> {
        let mut packet = Packet::empty();
        loop {
            if self.decoder.receive_frame(&mut self.decoded).is_ok() {
                return self.convert().map(Some);
            }
            if self.input_done {
                return Ok(None);
            }
            match packet.read(&mut self.input) {
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

    fn convert(&mut self) -> anyhow::Result<image::RgbaImage> {
        let f = &self.decoded;
        let (w, h, format) = (f.width(), f.height(), f.format());
        if !matches!(&self.scaler, Some((_, sw, sh, sf)) if (*sw, *sh, *sf) == (w, h, format)) {
            let mut scaler =
                scaling::Context::get(format, w, h, Pixel::RGBA, w, h, scaling::Flags::BICUBIC)?;
            set_yuv_matrix(&mut scaler, f.color_space(), f.color_range(), h, false);
            self.rgba = frame::Video::new(Pixel::RGBA, w, h);
            self.scaler = Some((scaler, w, h, format));
        }
        let (scaler, ..) = self.scaler.as_mut().expect("made above");
        scaler.run(&self.decoded, &mut self.rgba)?;
        let row_bytes = w as usize * 4;
        let stride = self.rgba.stride(0);
        let mut pixels = Vec::with_capacity(row_bytes * h as usize);
        for row in self.rgba.data(0).chunks(stride).take(h as usize) {
            pixels.extend_from_slice(&row[..row_bytes]);
        }
        Ok(image::RgbaImage::from_raw(w, h, pixels).expect("w×h×4 bytes"))
    }
}
