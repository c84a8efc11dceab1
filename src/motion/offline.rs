//! Writing a video mosaic to a file: the render thread takes each target frame's grid in
//! lockstep (blocking, so no frame is skipped), draws it, and hands the frame to the
//! encoder thread, while the decode and match threads work on the frames ahead.

use super::{Next, PresentStats, Presenter, VideoMosaic};
use crate::error::{Error, Result};
use crate::headless::{HeadlessRenderer, Pacing, RecordSummary};
use crate::playback::Playback;
use crate::video::{MediaError, VideoWriter};
use crate::view::Camera;
use std::sync::atomic::{AtomicBool, Ordering};

/// The part of the target to render, and the output's frame rate.
#[derive(Clone, Copy, Debug)]
pub struct TargetSpan {
    /// Seconds into the target.
    pub start: f64,
    /// Seconds to render (to the end of the target when `None`).
    pub duration: Option<f64>,
    /// Output frames per second (the target's rate gives one output frame per target frame).
    pub fps: f64,
}

/// What `record_target` did.
#[derive(Clone, Debug, Default)]
pub struct TargetRecording {
    /// Frames written, the render thread's time on them, pages drawn coarser.
    pub recorded: RecordSummary,
    /// Target frames shown, late and dropped.
    pub present: PresentStats,
    /// Seconds from the first frame asked to the last handed to the encoder.
    pub wall_secs: f64,
    /// Rates the decode and match stages would run at alone.
    pub decode_fps: f64,
    /// Rate the match stage would run at alone.
    pub match_fps: f64,
    /// The target failed part-way (the frames before it were written).
    pub stopped_early: Option<String>,
}

/// Renders `span` of `video`'s target through `renderer` into `writer`: output frame `n`
/// is drawn at `start + n / fps` with the grid of the latest target frame by then, the
/// view `camera_at(n)` and clips at `playback_at(t)`. Stops at the end of the span or the
/// target, or when `interrupted` is set (an error: the caller's writer then leaves no file).
#[allow(clippy::too_many_arguments)]
pub fn record_target(
    renderer: &mut HeadlessRenderer,
    video: &VideoMosaic,
    span: TargetSpan,
    camera_at: impl Fn(u64) -> Camera,
    playback_at: impl Fn(f64) -> Playback,
    pacing: Pacing,
    writer: &mut VideoWriter,
    interrupted: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> Result<TargetRecording> {
    let stream = video.stream(span.start)?;
    let mut presenter = Presenter::new(video.fps());
    let end = span.duration.map(|d| span.start + d);
    let mut out = TargetRecording::default();
    let started = std::time::Instant::now();
    for n in 0u64.. {
        if interrupted.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let t = span.start + n as f64 / span.fps;
        if end.is_some_and(|e| t >= e - 1e-9) {
            break;
        }
        if let Some(frame) = presenter.poll(t, || stream.next_blocking()) {
            renderer.set_grid(frame.grid, frame.colours);
        }
        if presenter.finished_at(t) {
            break;
        }
        renderer.record_frame(
            &camera_at(n),
            playback_at(t),
            pacing,
            writer,
            &mut out.recorded,
        )?;
        progress(out.recorded.frames as u64);
    }
    out.wall_secs = started.elapsed().as_secs_f64();
    out.present = presenter.stats;
    out.decode_fps = stream.times().decode_fps();
    out.match_fps = stream.times().match_fps();
    if let Some(e) = stream.take_error() {
        if out.present.shown == 0 {
            return Err(e.into());
        }
        out.stopped_early = Some(format!("{e:#}"));
    } else if out.present.shown == 0 {
        return Err(Error::Video(MediaError::Failed(format!(
            "{}: no frames from {:.2} s on",
            video.path.display(),
            span.start
        ))));
    }
    Ok(out)
}

/// Drains a stream without drawing, for measuring the decode and match stages alone.
pub fn drain(stream: &super::GridStream, limit: u64) -> u64 {
    let mut n = 0;
    while n < limit {
        match stream.next_blocking() {
            Next::Ready(_) => n += 1,
            _ => break,
        }
    }
    n
}
