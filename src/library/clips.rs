//! Video sources become clip tiles. Each video is decoded once, end to end (FFmpeg's frame
//! threading on), on a thread of its own; the bake thread cuts the frames into shots (see
//! `video::shots`) and turns each shot into one tile: its frames sampled at the library's
//! clip rate, centre-cropped square, a pyramid per frame (in linear light, in parallel), a
//! key frame and a signature over the frames. Every shot is appended and journaled as soon
//! as it ends, so an interrupted bake of a long video resumes after its last whole shot.

use super::aspect::{TileAspect, TileFit};
use super::pyramid::{build_shaped_pyramid, LinearTile};
use super::signature::{clip_signature, tile_signature_in};
use super::store::{ClipFrame, Shot, SourceKey, StoreParams, StoreWriter, TileEntry};
use crate::video::error::{MediaError, Result};
use crate::video::shots::{Boundary, ShotDetector, ShotOptions, THUMB_WIDTH};
use crate::video::VideoReader;
use rayon::prelude::*;
use std::ops::ControlFlow;
use std::path::Path;

/// Demuxers whose files are videos (FFmpeg would also open pictures, animations and even
/// text files as "video": those are pictures to the bake, or not tiles at all).
const VIDEO_DEMUXERS: &[&str] = &[
    "mov",
    "mp4",
    "matroska",
    "webm",
    "avi",
    "mpeg",
    "mpegts",
    "mpegvideo",
    "flv",
    "asf",
    "ogg",
    "h264",
    "hevc",
    "m4v",
    "yuv4mpegpipe",
    "nut",
    "mxf",
    "dv",
    "rm",
    "wtv",
];

/// Whether FFmpeg reads `path` as a video container or stream (not a picture or text).
pub fn is_video(path: &Path) -> bool {
    crate::video::demuxer_name(path)
        .is_some_and(|name| name.split(',').any(|n| VIDEO_DEMUXERS.contains(&n)))
}

/// One decoded frame, as the bake needs it.
struct Decoded {
    time: f64,
    thumb: Vec<u8>,
    /// The frame at the clip rate's grid: its centre square at the tile size.
    sample: Option<Vec<u8>>,
}

/// What baking one video did.
#[derive(Debug, Default)]
pub struct VideoBake {
    /// The video's tiles: journaled ones it resumed after, then the new ones.
    pub tiles: Vec<TileEntry>,
    /// Shots baked now.
    pub baked: usize,
    /// Seconds of video decoded now.
    pub seconds: f64,
    /// Decoding stopped early (a damaged file): the shots before are kept.
    pub warning: Option<String>,
}

/// Why a video was not baked.
#[derive(Debug)]
pub enum VideoError {
    /// The video cannot be used (no video stream, no decoder, no frames): skip it.
    Source(String),
    /// The library could not be written: stop the bake.
    Store(super::store::StoreError),
    /// The caller asked to stop (the progress callback said so): the shots journaled so
    /// far are kept for the next bake to resume after.
    Interrupted,
}

impl From<super::store::StoreError> for VideoError {
    fn from(e: super::store::StoreError) -> Self {
        VideoError::Store(e)
    }
}

/// Bakes the video at `path` (`key`) into clip tiles, after the `journaled` shots an
/// interrupted bake already appended. `progress` is told the seconds decoded so far and
/// the video's length after each frame; returning `Break` stops the bake there (the shots
/// already appended stay journaled, the shot under way is dropped).
pub fn bake_video(
    path: &Path,
    key: &SourceKey,
    writer: &mut StoreWriter,
    journaled: Vec<TileEntry>,
    options: ShotOptions,
    mut progress: impl FnMut(f64, f64) -> ControlFlow<()>,
) -> Result<VideoBake, VideoError> {
    let source = |e: MediaError| VideoError::Source(format!("{e:#}"));
    let params = writer.params();
    let resume = journaled.last().and_then(|t| t.shot);
    let (start, mut index) = resume.map_or((0.0, 0), |s| (s.end, s.index + 1));
    let (tx, rx) = crossbeam_channel::bounded(48);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let fps = params.clip_fps as f64;
    let (side, aspect, fit) = (params.max_tile, params.tile_aspect, params.tile_fit);
    let owned = path.to_path_buf();
    // FFmpeg's objects stay on the thread that made them; it says whether the video opened.
    let decoder = std::thread::Builder::new()
        .name("tessera-video-decode".into())
        .spawn(move || {
            // A resumed bake decodes from a little before where it stopped, so that the
            // clip rate's ticks stand where an uninterrupted bake has them (see
            // `decode_frames`).
            let from = (start - RESUME_LEAD).max(0.0);
            let reader = VideoReader::open(&owned).and_then(|mut r| {
                if from > 0.0 {
                    r.seek(from)?;
                }
                Ok(r)
            });
            match reader {
                Ok(r) => {
                    let _ = ready_tx.send(Ok(r.duration()));
                    decode_frames(r, from, start, fps, (side, aspect, fit), tx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .map_err(|e| VideoError::Source(e.to_string()))?;
    let duration = match ready_rx.recv() {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            let _ = decoder.join();
            return Err(source(e));
        }
        Err(_) => {
            let _ = decoder.join();
            return Err(VideoError::Source("the decoder stopped".into()));
        }
    };

    let mut bake = VideoBake {
        tiles: journaled,
        ..Default::default()
    };
    let mut detector = ShotDetector::new(options, start);
    // The current shot's frames, made ready as they arrive (a few at a time, in parallel,
    // so the work overlaps decoding instead of piling up at the end of each shot).
    let mut shot = ShotFrames::default();
    let (mut shot_start, mut last_time) = (start, start);
    let mut frame_gap = 1.0 / 25.0;
    let (mut error, mut interrupted) = (None, false);
    for item in rx.iter() {
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        if frame.time > last_time {
            frame_gap = (frame.time - last_time).min(1.0);
        }
        last_time = frame.time;
        if detector.push(frame.time, frame.thumb) != Boundary::Same {
            finish_shot(
                writer, key, &params, &mut shot, index, shot_start, frame.time, &mut bake,
            )?;
            index += 1;
            shot_start = frame.time;
        }
        if let Some(sample) = frame.sample {
            shot.add(sample, &params);
        }
        bake.seconds = frame.time - start;
        if progress(frame.time, duration).is_break() {
            interrupted = true;
            break;
        }
    }
    drop(rx); // a decoder still sending stops at its next frame
    let _ = decoder.join();
    if interrupted {
        return Err(VideoError::Interrupted);
    }
    // The last shot runs to the end of its last frame.
    finish_shot(
        writer,
        key,
        &params,
        &mut shot,
        index,
        shot_start,
        last_time + frame_gap,
        &mut bake,
    )?;
    if let Some(e) = error {
        if bake.tiles.is_empty() {
            return Err(VideoError::Source(format!("{e:#}")));
        }
        bake.warning = Some(format!(
            "decoding stopped at {last_time:.1} s ({e:#}); kept the {} shots before",
            bake.tiles.len()
        ));
    } else if bake.tiles.is_empty() {
        return Err(VideoError::Source("no video frames".into()));
    }
    Ok(bake)
}

/// How far before the end of its last journaled shot a resumed bake starts decoding.
/// A tick of the clip rate that falls between the last frame of a shot and the first of
/// the next is sampled from that first frame; where the ticks stand at a cut depends on
/// the frames before it, so a resumed bake replays a second of them (at least one frame
/// crosses a tick in a second) without sending them, and samples the frames after the cut
/// exactly as an uninterrupted bake does.
const RESUME_LEAD: f64 = 1.0;

/// The decoder thread (the reader positioned at `from`): every frame's time and thumbnail
/// from `start` on, and at each tick of the clip rate's grid (`k / fps` seconds) the
/// frame cut (or padded, as `fit` says) to the tiles' aspect in a page of `side` px.
/// Frames before `start` only move the ticks on.
fn decode_frames(
    mut reader: VideoReader,
    from: f64,
    start: f64,
    fps: f64,
    (side, aspect, fit): (u32, TileAspect, TileFit),
    tx: crossbeam_channel::Sender<Result<Decoded>>,
) {
    // Ticks of the clip rate are counted in whole numbers (k / fps s): a float "next time"
    // would drift by an ulp and sample some ticks twice.
    let tick = |time: f64| time * fps + 1e-6;
    let mut next_tick = (from * fps - 1e-6).ceil() as i64;
    loop {
        let frame = (|| -> Result<Option<Decoded>> {
            loop {
                let Some(time) = reader.advance()? else {
                    return Ok(None);
                };
                let samples = tick(time) >= next_tick as f64;
                if samples {
                    next_tick = tick(time).floor() as i64 + 1;
                }
                if time + 1e-6 < start {
                    continue; // before the resume point: journaled already
                }
                let thumb = reader.thumbnail(THUMB_WIDTH)?;
                let sample = if samples {
                    Some(reader.shaped(side, aspect, fit)?)
                } else {
                    None
                };
                return Ok(Some(Decoded {
                    time,
                    thumb,
                    sample,
                }));
            }
        })();
        let item = match frame {
            Ok(Some(f)) => Ok(f),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        let stop = item.is_err();
        if tx.send(item).is_err() || stop {
            return;
        }
    }
}

/// Frames per batch made ready in parallel.
const BATCH: usize = 4;

/// A shot's sampled frames: those made ready (pyramid, JPEG, signature) and those waiting.
#[derive(Default)]
struct ShotFrames {
    ready: Vec<(ClipFrame, Vec<f32>)>,
    waiting: Vec<Vec<u8>>,
}

impl ShotFrames {
    fn add(&mut self, rgba: Vec<u8>, params: &StoreParams) {
        self.waiting.push(rgba);
        if self.waiting.len() >= BATCH {
            self.flush(params);
        }
    }

    /// Makes every waiting frame ready: pyramid in linear light, large levels as JPEG,
    /// signature.
    fn flush(&mut self, params: &StoreParams) {
        let ready: Vec<(ClipFrame, Vec<f32>)> = self
            .waiting
            .par_drain(..)
            .map(|rgba| {
                let top = LinearTile::from_srgb8(params.max_tile, &rgba);
                let aspect = params.tile_aspect;
                let signature =
                    tile_signature_in(&top, params.grid, aspect.extent(params.max_tile));
                (
                    ClipFrame::new(build_shaped_pyramid(&top, rgba, aspect), params),
                    signature,
                )
            })
            .collect();
        self.ready.extend(ready);
    }
}

/// Turns a shot's sampled frames into one clip tile and appends it.
#[allow(clippy::too_many_arguments)]
fn finish_shot(
    writer: &mut StoreWriter,
    key: &SourceKey,
    params: &StoreParams,
    shot: &mut ShotFrames,
    index: u32,
    start: f64,
    end: f64,
    bake: &mut VideoBake,
) -> Result<(), VideoError> {
    shot.flush(params);
    if shot.ready.is_empty() {
        return Ok(());
    }
    let (frames, signatures): (Vec<ClipFrame>, Vec<Vec<f32>>) = shot.ready.drain(..).unzip();
    let (signature, key_frame) = clip_signature(&signatures);
    let shot = Shot { index, start, end };
    let tile = writer.append_clip(key.clone(), Some(shot), &frames, key_frame, signature)?;
    writer.checkpoint()?;
    bake.tiles.push(tile);
    bake.baked += 1;
    Ok(())
}
