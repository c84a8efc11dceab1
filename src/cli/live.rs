//! Live targets on the command line: `--live SOURCE` (a stream, a pipe, a device) instead
//! of a mosaic file, its grid made from the source's first frame.

use clap::Args;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tessera::library::Library;
use tessera::matching::CellSpec;
use tessera::motion::{LiveGrids, LiveSource};
use tessera::Scene;

#[derive(Args, Clone)]
#[command(next_help_heading = "Live targets (instead of a mosaic file; needs --library)")]
pub struct LiveArgs {
    /// A live source turned into a mosaic as it plays: a stream's URL (udp://127.0.0.1:5000,
    /// rtsp://…, srt://…), a named pipe, a device, or `-` for standard input. FFmpeg opens it.
    #[arg(long, value_name = "SOURCE")]
    pub live: Option<String>,
    /// FFmpeg's input format for the source, where it cannot be guessed (mpegts, y4m, …).
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
    /// Cell grid of the live mosaic, e.g. 160x90 [default: --live-cells-wide 160].
    #[arg(
        long,
        value_name = "WxH",
        requires = "live",
        conflicts_with = "live_cells_wide"
    )]
    pub live_cells: Option<String>,
    /// Cells across; rows follow the source's aspect.
    #[arg(long, value_name = "N", requires = "live")]
    pub live_cells_wide: Option<u32>,
    /// A cell keeps its tile from the previous frame unless the new best is more than this
    /// many ΔE closer (so still scenes do not shimmer).
    #[arg(long, default_value_t = tessera::motion::DEFAULT_STICKINESS, requires = "live")]
    pub live_stickiness: f32,
}

/// A live source opened, its first frame matched against `library`: the scene to draw
/// (saved nowhere; `output` is where paths in it start from) and the grids to come.
pub struct Live {
    pub scene: Scene,
    pub grids: LiveGrids,
    pub timeout: Duration,
}

impl LiveArgs {
    fn source(&self, text: &str) -> anyhow::Result<LiveSource> {
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
        })
    }

    fn cells(&self) -> anyhow::Result<CellSpec> {
        Ok(match (&self.live_cells, self.live_cells_wide) {
            (Some(c), _) => c.parse()?,
            (None, n) => CellSpec::Wide(n.unwrap_or(super::args::DEFAULT_CELLS_WIDE)),
        })
    }

    /// Opens the source (waiting up to --live-timeout, and at least 10 s, for its first
    /// frame) and makes the live mosaic of `library` from it.
    pub fn open(&self, library: Option<&Path>, output: &Path) -> anyhow::Result<Live> {
        let text = self.live.as_deref().expect("called with --live");
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
            stickiness: self.live_stickiness,
        };
        let timeout = Duration::from_secs_f64(self.live_timeout);
        let grids = LiveGrids::start(
            self.source(text)?,
            self.cells()?,
            table,
            options,
            timeout.max(Duration::from_secs(10)),
        )?;
        let first = grids
            .wait(timeout.max(Duration::from_secs(10)))
            .ok_or_else(|| anyhow::anyhow!("{text}: no frame came through"))?;
        let (cols, rows) = grids.info.cells;
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
        })
    }
}

/// Capture-to-present latencies, in seconds: median and 99th percentile.
pub fn latency_summary(latencies: &mut [f64]) -> Option<(f64, f64)> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.99)))
}
