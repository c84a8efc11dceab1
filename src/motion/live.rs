//! Playing a video mosaic live (the viewer, the benchmark): grids arrive from the pipeline
//! threads and are taken by the presentation clock without ever waiting; seeking restarts
//! the pipeline at the new time.

use super::{GridStream, PresentStats, Presenter, TargetFrame, VideoMosaic};
use crate::video::error::Result;

/// A video target played in real time: grids decoded and matched ahead, shown by the wall
/// clock.
pub struct LivePlayer {
    video: VideoMosaic,
    stream: GridStream,
    presenter: Presenter,
    /// Totals of the presenters before the last seek.
    earlier: PresentStats,
    error_logged: bool,
}

impl LivePlayer {
    /// Starts the pipeline at `start` seconds and waits for its first frame, so the clock
    /// can start with it.
    pub fn new(video: VideoMosaic, start: f64) -> Result<LivePlayer> {
        let stream = video.stream(start)?;
        let presenter = Presenter::new(video.fps());
        let mut player = LivePlayer {
            video,
            stream,
            presenter,
            earlier: PresentStats::default(),
            error_logged: false,
        };
        player.prime();
        Ok(player)
    }

    /// Waits until the stream's first frame is ready (or the stream ended); shows nothing.
    fn prime(&mut self) {
        let stream = &self.stream;
        self.presenter
            .poll(f64::NEG_INFINITY, || stream.next_blocking());
    }

    /// The video mosaic being played.
    pub fn video(&self) -> &VideoMosaic {
        &self.video
    }

    /// Restarts the pipeline at `time` (clamped to the video) and waits for its first frame
    /// (tens of milliseconds: a seek is the one time the caller waits); returns the time it
    /// starts.
    pub fn seek(&mut self, time: f64) -> Result<f64> {
        let last = (self.video.target.duration - 1.0 / self.video.fps()).max(0.0);
        let time = time.clamp(0.0, last);
        let stats = self.stats();
        self.stream = self.video.stream(time)?;
        self.presenter = Presenter::new(self.video.fps());
        self.earlier = stats;
        self.prime();
        Ok(time)
    }

    /// The frame to draw at playback time `time`, when it changed. Never waits.
    pub fn poll(&mut self, time: f64) -> Option<TargetFrame> {
        let stream = &self.stream;
        let frame = self.presenter.poll(time, || stream.next_ready());
        if !self.error_logged {
            if let Some(e) = self.stream.take_error() {
                tracing::warn!("{e:#}; the last frame stays on screen");
                self.error_logged = true;
            }
        }
        frame
    }

    /// The video has played to its end at `time`.
    pub fn ended(&self, time: f64) -> bool {
        self.presenter.finished_at(time)
    }

    /// Frames shown, late and dropped since the start (seeks included).
    pub fn stats(&self) -> PresentStats {
        let now = self.presenter.stats;
        PresentStats {
            shown: self.earlier.shown + now.shown,
            late: self.earlier.late + now.late,
            dropped: self.earlier.dropped + now.dropped,
        }
    }

    /// The grid stream feeding it.
    pub fn stream(&self) -> &GridStream {
        &self.stream
    }
}
