//! Sends frames as a live stream: H.264 with a keyframe every second (so a receiver that
//! joins late starts within a second), muxed as MPEG-TS or another format and written to
//! whatever FFmpeg can write to: `udp://127.0.0.1:5000`, a named pipe, a file. It is the
//! source every machine has, for `tessera demo --live` and the live tests.

use super::encode::{open_h264, RgbaToYuv};
use super::error::{ensure, Context as _, Result};
use super::{init, FrameRate};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::{encoder, Dictionary, Packet, Rational};

/// A live H.264 stream being sent, frame by frame as the caller paces them.
pub struct LiveSender {
    url: String,
    output: ffmpeg::format::context::Output,
    video: encoder::Video,
    convert: RgbaToYuv,
    stream_index: usize,
    time_base: Rational,
    stream_time_base: Rational,
    size: (u32, u32),
    sent: u64,
}

impl LiveSender {
    /// Opens `url` for writing as `format` (FFmpeg's muxer name, e.g. `mpegts`) and an
    /// encoder for `width × height` frames at `fps`, tuned for latency (no B-frames, no
    /// look-ahead).
    pub fn open(
        url: &str,
        format: &str,
        (width, height): (u32, u32),
        fps: u32,
    ) -> Result<LiveSender> {
        ensure!(
            width >= 2 && height >= 2 && width % 2 == 0 && height % 2 == 0,
            "{url}: a live stream needs an even width and height (got {width}×{height})"
        );
        ensure!((1..=240).contains(&fps), "{url}: {fps} fps is not 1..=240");
        init()?;
        let keyint = fps.to_string();
        let (video, codec, time_base) = open_h264(
            width,
            height,
            FrameRate::from(fps),
            false,
            &[
                ("preset", "ultrafast"),
                ("tune", "zerolatency"),
                ("crf", "23"),
                ("g", &keyint),
            ],
        )?;
        // Each packet goes out as it is written, not when the muxer's buffer fills.
        let mut options = Dictionary::new();
        options.set("flush_packets", "1");
        let mut output = ffmpeg::format::output_as_with(url, format, options)
            .with_context(|| format!("{url}: cannot send a {format} stream there"))?;
        let stream_index = {
            let mut stream = output.add_stream(codec)?;
            stream.set_parameters(&video);
            stream.set_time_base(time_base);
            stream.index()
        };
        output
            .write_header()
            .with_context(|| format!("{url}: cannot start the stream"))?;
        let stream_time_base = output
            .stream(stream_index)
            .context("the muxer lost its stream")?
            .time_base();
        Ok(LiveSender {
            url: url.to_string(),
            output,
            video,
            convert: RgbaToYuv::new(width, height)?,
            stream_index,
            time_base,
            stream_time_base,
            size: (width, height),
            sent: 0,
        })
    }

    /// Encodes and sends one tightly packed RGBA8 frame of the size given to `open`.
    pub fn send(&mut self, rgba: &[u8]) -> Result<()> {
        let (w, h) = self.size;
        ensure!(
            rgba.len() == w as usize * h as usize * 4,
            "frame of {} bytes, expected {w}×{h} RGBA",
            rgba.len()
        );
        let frame = self.convert.frame(rgba, self.sent as i64)?;
        self.video.send_frame(frame)?;
        self.sent += 1;
        self.write_packets()
    }

    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Flushes the encoder and ends the stream.
    pub fn finish(mut self) -> Result<()> {
        self.video.send_eof()?;
        self.write_packets()?;
        self.output
            .write_trailer()
            .with_context(|| format!("{}: cannot end the stream", self.url))
    }

    fn write_packets(&mut self) -> Result<()> {
        let mut packet = Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            packet.set_stream(self.stream_index);
            packet.set_duration(1);
            packet.rescale_ts(self.time_base, self.stream_time_base);
            // One stream: nothing to interleave, so nothing is held back.
            packet
                .write(&mut self.output)
                .with_context(|| format!("{}: cannot send", self.url))?;
        }
        Ok(())
    }
}
