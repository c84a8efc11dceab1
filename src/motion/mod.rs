//! Targets that move: a video turned into a mosaic video, through a threaded pipeline.
//!
//! ```text
//!  decode thread        match thread          render thread (caller)          encoder thread
//!  target → cell    ─►  colour table →    ─►  presenter (clock) → set_grid →  ─► H.264 + audio
//!  colours (FFmpeg)     grid per frame        stream pages → draw              (file) or present
//!                                              ▲ loader threads (pages)        (window)
//! ```
//!
//! Grids are matched live, never stored: a mosaic file records the video and its cell grid
//! (and the first frame's grid, so everything that reads a still mosaic still works), and
//! the [`ColourTable`] matcher turns a frame's cell colours into a grid in a few
//! milliseconds. Storing grids would cost 4 bytes a cell a frame (160×90 cells at 25 fps:
//! 5 GB an hour before compression) and a pass over the whole video before the first view;
//! matching live costs one core part of the time and starts at once, anywhere in the video.
//! What live matching gives up: stickiness (`--stickiness`) depends on the previous frame,
//! so after a seek the first frame is matched afresh.
//!
//! Stages are joined by bounded channels (`stream`), so memory stays flat however long the
//! video, and a stage that falls behind slows the ones before it instead of queueing. The
//! render thread paces frames by the target's timestamps (`presenter`): in a window it
//! never waits (a late grid leaves the previous one on screen, counted as late); writing a
//! file it takes every frame in lockstep.

mod capture;
mod live;
mod offline;
mod presenter;
mod stream;

pub use capture::{LiveFrame, LiveGrids, LiveInfo, LiveSource};
pub use live::LivePlayer;
pub use offline::{drain, record_target, TargetRecording, TargetSpan};
pub use presenter::{Next, PresentStats, Presenter};
pub use stream::{GridStream, StageTimes, TargetInfo};

use crate::library::{Library, TileAspect};
use crate::matching::table::{ColourTable, FrameMatchOptions};
use crate::matching::CellSpec;
use crate::mosaic::{Mosaic, VideoTarget};
use crate::scene::Scene;
use crate::video::error::{ensure, Context as _, MediaError, Result};
use crate::video::VideoReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::matching::table::DEFAULT_STICKINESS;

/// One target frame's grid.
#[derive(Clone, Debug)]
pub struct TargetFrame {
    /// Frames since the stream started.
    pub index: u64,
    /// Seconds from the start of the video.
    pub time: f64,
    /// Tile ids, row-major.
    pub grid: Arc<Vec<u32>>,
    /// The frame's cell means (sRGB, row-major): what `--tint` pulls tiles toward.
    pub colours: crate::tint::CellColours,
}

/// The colour table over a library's active tiles (retired tiles are never matched).
pub fn colour_table(library: &Library) -> ColourTable {
    let (ids, signatures, dims) = crate::matching::pipeline::active_signatures(library);
    ColourTable::build(ids, &signatures, dims)
}

/// What a video mosaic needs to play: its target, grid size, matcher and rate.
pub struct VideoMosaic {
    /// The target video.
    pub path: PathBuf,
    /// The target as the mosaic recorded it.
    pub target: VideoTarget,
    /// Grid size: cells across and down.
    pub cells: (u32, u32),
    /// The cells' (the library's tiles') aspect.
    pub tile_aspect: TileAspect,
    /// How frames are matched.
    pub options: FrameMatchOptions,
    table: Arc<ColourTable>,
}

impl VideoMosaic {
    /// The video side of `scene`; `None` for a still mosaic.
    pub fn open(scene: &Scene) -> Result<Option<VideoMosaic>> {
        let (Some(target), Some(path)) = (scene.video(), scene.video_path()) else {
            return Ok(None);
        };
        ensure!(
            path.is_file(),
            "{}: its target video {} is missing; put it back or re-run `tessera match`",
            scene.path.display(),
            path.display()
        );
        check_unchanged(&scene.path, &path, target)?;
        let started = std::time::Instant::now();
        let table = Arc::new(colour_table(&scene.library));
        tracing::info!(
            "colour table over {} tiles built in {:.2} s",
            table.tiles(),
            started.elapsed().as_secs_f64()
        );
        Ok(Some(VideoMosaic {
            path,
            target: target.clone(),
            cells: (scene.cols(), scene.rows()),
            tile_aspect: scene.tile_aspect(),
            options: FrameMatchOptions {
                repeat_radius: scene.mosaic.header.repeat_radius,
                stickiness: target.stickiness,
            },
            table,
        }))
    }

    /// Grids from `start` seconds on, decoded and matched on threads of their own.
    pub fn stream(&self, start: f64) -> Result<GridStream> {
        GridStream::start(
            &self.path,
            start.max(0.0),
            (self.cells, self.tile_aspect),
            self.table.clone(),
            self.options,
        )
    }

    /// The frame shown at `time` (the last frame at or before it; the first frame before
    /// the video starts). Matched without history, as after a seek.
    pub fn frame_at(&self, time: f64) -> Result<TargetFrame> {
        // Start a little before `time`: the frame showing at `time` began up to a frame
        // period earlier.
        let from = (time - 1.0 / self.target.fps()).max(0.0);
        let stream = self.stream(from)?;
        let mut presenter = Presenter::new(self.target.fps());
        let mut shown = None;
        loop {
            if let Some(f) = presenter.poll(time, || stream.next_blocking()) {
                shown = Some(f);
            }
            if presenter.ended() || presenter.pending_after(time) {
                break;
            }
        }
        if let Some(e) = stream.take_error() {
            return Err(e);
        }
        shown.with_context(|| {
            format!(
                "{}: no frame at {time:.2} s (the video is {:.2} s long)",
                self.path.display(),
                self.target.duration
            )
        })
    }

    /// The target's frames per second.
    pub fn fps(&self) -> f64 {
        self.target.fps()
    }
}

/// Refuses a target video that is not the one the mosaic was matched from (replaced,
/// overwritten, re-encoded at another size or length): its grids would not fit the mosaic.
fn check_unchanged(mosaic: &Path, path: &Path, recorded: &VideoTarget) -> Result<()> {
    let probe = VideoReader::open(path)?;
    let (width, height) = probe.upright_size();
    let duration = probe.duration();
    // Within a frame: the same file probes the same, and a re-mux of it (new timestamps,
    // another container) may round its length by a frame; another video differs by more.
    let same_length = (duration - recorded.duration).abs() <= 1.0 / recorded.fps().max(1.0) + 1e-3;
    ensure!(
        (width, height) == (recorded.width, recorded.height) && same_length,
        "{}: its target video {} has changed since it was matched (then {}×{}, {:.2} s; now {width}×{height}, {duration:.2} s); put the original back or re-run `tessera match`",
        mosaic.display(),
        path.display(),
        recorded.width,
        recorded.height,
        recorded.duration
    );
    Ok(())
}

/// Samples per cell, across and down, that a `w × h` frame's `cols × rows` cells of
/// `aspect` are averaged from: up to 4 along the cell's longer side, in its shape.
pub(crate) fn cell_samples(
    (w, h): (u32, u32),
    (cols, rows): (u32, u32),
    aspect: TileAspect,
) -> [u32; 2] {
    let sub = (w / cols.max(1)).min(h / rows.max(1)).clamp(1, 4);
    aspect
        .shape()
        .map(|s| ((sub as f64 * s).round() as u32).max(1))
}

/// Matches the first frame of video `target` against `library` and returns the mosaic of
/// the video (not yet saved): its grid size, rate and length, and the first frame's grid.
pub fn make_video_mosaic(
    library: &Library,
    target: &Path,
    cells: CellSpec,
    options: FrameMatchOptions,
    mosaic_path: &Path,
) -> Result<Mosaic> {
    // The probe is closed before the decode thread opens the video again.
    let (width, height, (fps_num, fps_den), duration) = {
        let probe = VideoReader::open(target)?;
        let (width, height) = probe.upright_size();
        let rate = probe.rate().with_context(|| {
            format!(
                "{}: the video does not say its frame rate; remux it with ffmpeg first",
                target.display()
            )
        })?;
        (width, height, rate, probe.duration())
    };
    let aspect = library.params().tile_aspect;
    let (cols, rows) = cells.resolve_for(width, height, aspect);
    ensure!(
        cols as u64 * rows as u64 <= 16 << 20,
        "{cols}×{rows} cells is more than a video mosaic handles (16 M a frame); choose a smaller --cells"
    );
    let table = Arc::new(colour_table(library));
    let stream = GridStream::start(target, 0.0, ((cols, rows), aspect), table, options)?;
    let first = match stream.next_blocking() {
        Next::Ready(f) => f,
        _ => {
            return Err(stream.take_error().unwrap_or_else(|| {
                MediaError::Failed(format!("{}: the video has no frames", target.display()))
            }))
        }
    };
    drop(stream);
    let grid = Arc::try_unwrap(first.grid).unwrap_or_else(|g| (*g).clone());
    let colours = Arc::try_unwrap(first.colours).unwrap_or_else(|c| (*c).clone());
    let mosaic = Mosaic::new(
        library,
        mosaic_path,
        cols,
        rows,
        grid,
        target.display().to_string(),
        options.repeat_radius,
    )
    .with_colours(colours);
    Ok(mosaic.with_video(
        mosaic_path,
        VideoTarget {
            path: target.display().to_string(),
            fps_num,
            fps_den,
            duration,
            width,
            height,
            stickiness: options.stickiness,
        },
    ))
}
