//! Live targets on the command line: `--live SOURCE` (a stream, a pipe, a device) instead
//! of a mosaic file, its grid made from the source's first frame.

use super::args::MosaicArg;
use clap::Args;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::library::Library;
use tessera::matching::CellSpec;
use tessera::motion::{LiveGrids, LiveSource};
use tessera::Scene;

#[derive(Args, Clone)]
#[command(next_help_heading = "Live targets (instead of a mosaic file; needs --library)")]
pub struct LiveArgs {
    /// A live source turned into a mosaic as it plays: a stream's URL (udp://127.0.0.1:5000,
    /// rtsp://…, srt://…), a named pipe, `-` for standard input, or a device with its
    /// --live-format (/dev/video0 with v4l2, an X display such as :0 with x11grab). FFmpeg
    /// opens it.
    #[arg(long, value_name = "SOURCE")]
    pub live: Option<String>,
    /// FFmpeg's input format for the source, where it cannot be guessed (mpegts, y4m; v4l2
    /// for a webcam, x11grab for the X screen, …).
    #[arg(long, value_name = "FORMAT", requires = "live")]
    pub live_format: Option<String>,
    /// An FFmpeg input option for the source, KEY=VALUE (repeat for more), e.g.
    /// video_size=1280x720 or timeout=5000000.
    #[arg(long, value_name = "KEY=VALUE", requires = "live")]
    pub live_option: Vec<String>,
    /// Seconds without a frame after which the last frame stays with a notice (the source
    /// is still waited for; a network source is opened again until it comes back).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", requires = "live")]
    pub live_timeout: f64,
    /// Cell grid of the live mosaic, e.g. 160x90 [default: --cells-wide 160], as `match`
    /// takes it.
    #[arg(
        long = "cells",
        alias = "live-cells",
        value_name = "WxH",
        requires = "live",
        conflicts_with = "cells_wide"
    )]
    pub cells: Option<String>,
    /// Cells across; rows follow the source's aspect.
    #[arg(long, alias = "live-cells-wide", value_name = "N", requires = "live")]
    pub cells_wide: Option<u32>,
    /// A cell keeps its tile from the previous frame unless the new best is more than this
    /// many ΔE closer (so still scenes do not shimmer), as for a video target.
    #[arg(
        long,
        alias = "live-stickiness",
        default_value_t = tessera::motion::DEFAULT_STICKINESS,
        requires = "live"
    )]
    pub stickiness: f32,
}

/// A live source opened, its first frame matched against `library`: the scene to draw
/// (saved nowhere; `output` is where paths in it start from) and the grids to come.
pub struct Live {
    pub scene: Scene,
    pub grids: LiveGrids,
    pub timeout: Duration,
    /// The first frame's time on the source's clock.
    pub first_source_time: f64,
}

impl LiveArgs {
    fn source(&self, text: &str, sound: bool) -> anyhow::Result<LiveSource> {
        let options = self
            .live_option
            .iter()
            .map(|o| {
                o.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| anyhow::anyhow!("--live-option {o}: expected KEY=VALUE"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(LiveSource {
            source: text.to_string(),
            format: self.live_format.clone(),
            options,
            sound,
        })
    }

    fn cells(&self) -> anyhow::Result<CellSpec> {
        Ok(match (&self.cells, self.cells_wide) {
            (Some(c), _) => c.parse()?,
            (None, n) => CellSpec::Wide(n.unwrap_or(super::args::DEFAULT_CELLS_WIDE)),
        })
    }

    /// Opens the source (waiting up to --live-timeout, and at least 10 s, for its first
    /// frame) and makes the live mosaic of `library` from it; with `sound`, the source's
    /// sound is kept for a recording.
    pub fn open(&self, mosaic: &MosaicArg, output: &Path, sound: bool) -> anyhow::Result<Live> {
        let text = self.live.as_deref().expect("called with --live");
        anyhow::ensure!(
            mosaic.file.is_none(),
            "--live makes its own mosaic from the source: give --library, not a mosaic file"
        );
        let library = mosaic.library.as_deref();
        anyhow::ensure!(
            self.live_timeout.is_finite() && self.live_timeout > 0.0,
            "--live-timeout {}: must be a positive number of seconds",
            self.live_timeout
        );
        let library_path = library.ok_or_else(|| {
            anyhow::anyhow!("--live {text}: give the tiles with --library LIB.tlib")
        })?;
        let library = Library::open(library_path)?;
        anyhow::ensure!(
            !library.active_tiles().is_empty(),
            "{}: holds no tiles to match",
            library_path.display()
        );
        let table = Arc::new(tessera::motion::colour_table(&library));
        let options = tessera::matching::FrameMatchOptions {
            repeat_radius: 0,
            stickiness: self.stickiness,
        };
        let timeout = Duration::from_secs_f64(self.live_timeout);
        let grids = LiveGrids::start(
            self.source(text, sound)?,
            (self.cells()?, library.params().tile_aspect),
            table,
            options,
            timeout.max(Duration::from_secs(10)),
        )?;
        let first = grids
            .wait(timeout.max(Duration::from_secs(10)))
            .ok_or_else(|| anyhow::anyhow!("{text}: no frame came through"))?;
        let (cols, rows) = grids.info.cells;
        let first_source_time = first.source_time;
        let grid = Arc::try_unwrap(first.frame.grid).unwrap_or_else(|g| (*g).clone());
        let colours = Arc::try_unwrap(first.frame.colours).unwrap_or_else(|c| (*c).clone());
        let mosaic =
            tessera::mosaic::Mosaic::new(&library, output, cols, rows, grid, text.into(), 0)
                .with_colours(colours);
        let scene = Scene::from_parts(output, mosaic, library)?;
        Ok(Live {
            scene,
            grids,
            timeout,
            first_source_time,
        })
    }
}

/// Latencies kept for the summary: an hour at 60 frames a second.
const MAX_LATENCIES: usize = 1 << 18;
/// Frames the overlay's latency is the median of.
const RECENT: usize = 60;

/// What a live run counts: the frames drawn, and how long after its capture each was
/// shown (presented, encoded, or drawn and waited for).
pub struct LiveTally {
    latencies: Vec<f64>,
    recent: std::collections::VecDeque<f64>,
    drawn: u64,
    started: Instant,
    /// Frames decoded and dropped before the renderer was ready.
    at_start: (u64, u64),
}

impl LiveTally {
    /// Counting from now, when the renderer is ready (the first frame, which made the
    /// mosaic, came before). Frames the source sent while the renderer started are told
    /// apart from those dropped while it runs.
    pub fn new(grids: &LiveGrids) -> LiveTally {
        LiveTally {
            latencies: Vec::new(),
            recent: std::collections::VecDeque::with_capacity(RECENT),
            drawn: 0,
            started: Instant::now(),
            at_start: grids.counts(),
        }
    }

    /// A frame that left the decoder at `arrived` is shown now.
    pub fn shown(&mut self, arrived: Instant) {
        let latency = arrived.elapsed().as_secs_f64();
        self.drawn += 1;
        if self.latencies.len() < MAX_LATENCIES {
            self.latencies.push(latency);
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(latency);
    }

    /// The median and 99th percentile latency of the last frames shown, in seconds.
    pub fn recent_latency(&self) -> Option<(f64, f64)> {
        let mut recent: Vec<f64> = self.recent.iter().copied().collect();
        (!recent.is_empty()).then(|| super::bench::median_p99(&mut recent))
    }

    /// Median and 99th percentile latency, in seconds (`None` before any frame).
    pub fn latency(&mut self) -> Option<(f64, f64)> {
        (!self.latencies.is_empty()).then(|| super::bench::median_p99(&mut self.latencies))
    }

    /// Frames decoded, drawn and dropped since the renderer was ready, and those dropped
    /// while it started.
    pub fn counts(&self, grids: &LiveGrids) -> LiveCounts {
        let (decoded, dropped) = grids.counts();
        let (decoded_before, dropped_before) = self.at_start;
        LiveCounts {
            decoded: decoded - decoded_before,
            drawn: self.drawn,
            dropped: dropped - dropped_before,
            skipped: dropped_before,
        }
    }

    /// The closing line: frames decoded, shown and dropped, and the latency to `to`
    /// ("present", "encoder").
    pub fn summary(&mut self, grids: &LiveGrids, to: &str) -> String {
        let LiveCounts {
            decoded,
            drawn,
            dropped,
            skipped,
        } = self.counts(grids);
        let latency = match self.latency() {
            Some((median, p99)) => format!(
                "capture to {to} median {:.0} ms, p99 {:.0} ms",
                median * 1e3,
                p99 * 1e3
            ),
            None => "no new frame after the first".into(),
        };
        format!(
            "{decoded} source frames in {:.1} s, {} drawn, {dropped} dropped ({:.1} %, newest wins){}{}; {latency}",
            self.started.elapsed().as_secs_f64(),
            drawn,
            dropped as f64 * 100.0 / decoded.max(1) as f64,
            match skipped {
                0 => String::new(),
                n => format!(", {n} skipped while the renderer started"),
            },
            match grids.reopened() {
                0 => String::new(),
                n => format!(", reopened {n}×"),
            },
        )
    }
}

/// What a live run counts (`LiveTally::counts`).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct LiveCounts {
    /// Source frames decoded since the renderer was ready.
    pub decoded: u64,
    /// Of them, drawn.
    pub drawn: u64,
    /// Dropped because a newer frame was ready before a stage took them.
    pub dropped: u64,
    /// Dropped while the renderer started.
    pub skipped: u64,
}

/// Watches a live source for stalls and returns: logs once when no frame came for
/// `timeout`, and once when frames come again.
pub struct StallWatch {
    timeout: Duration,
    stalled: bool,
}

impl StallWatch {
    pub fn new(timeout: Duration) -> StallWatch {
        StallWatch {
            timeout,
            stalled: false,
        }
    }

    /// Called with each frame's news: `fresh` when a new frame came. Returns whether the
    /// source is stalled now.
    pub fn update(&mut self, grids: &LiveGrids, fresh: bool) -> bool {
        let source = &grids.source().source;
        if fresh {
            if self.stalled {
                tracing::warn!("{source}: frames again; the mosaic follows it");
                self.stalled = false;
            }
        } else if !self.stalled && !grids.ended() && grids.silent_for() > self.timeout {
            tracing::warn!(
                "{source}: no frame for {:.0} s; the last one stays while the source is waited for",
                self.timeout.as_secs_f64()
            );
            self.stalled = true;
        }
        self.stalled
    }

    /// How long until a silent source counts as stalled (`None`: it is already, or it
    /// ended).
    pub fn due_in(&self, grids: &LiveGrids) -> Option<Duration> {
        (!self.stalled && !grids.ended()).then(|| self.timeout.saturating_sub(grids.silent_for()))
    }
}
