//! Options several commands share: the view, the engine (renderer and budgets), the cell
//! grid of a match.

use super::util::{parse_bytes, parse_cell_px, parse_point, parse_size};
use clap::{Args, ValueEnum};
use tessera::matching::CellSpec;
use tessera::render::{Heuristics, StreamConfig};
use tessera::{Backend, Camera, Phase, Playback, RenderOptions, RenderStyle, Scene};

/// The mosaic a command opens, and where its library is when it moved.
#[derive(Args, Clone)]
pub struct MosaicArg {
    /// Mosaic file (`render` and `view` take `--live SOURCE --library DIR` instead).
    #[arg(id = "mosaic", value_name = "MOSAIC")]
    pub file: Option<std::path::PathBuf>,
    /// The mosaic's library, when it is neither where the mosaic was matched nor beside the
    /// mosaic (a library of the same id in the mosaic's folder is found on its own).
    #[arg(long, value_name = "DIR")]
    pub library: Option<std::path::PathBuf>,
}

impl MosaicArg {
    pub fn open(&self) -> anyhow::Result<Scene> {
        Ok(Scene::open_with_library(
            self.path()?,
            self.library.as_deref(),
        )?)
    }

    /// The mosaic file given.
    pub fn path(&self) -> anyhow::Result<&std::path::Path> {
        self.file.as_deref().ok_or_else(|| {
            anyhow::anyhow!("no mosaic given: name a mosaic file (tessera match makes one)")
        })
    }
}

/// Cells across when neither --cells nor --cells-wide is given.
pub const DEFAULT_CELLS_WIDE: u32 = 160;

#[derive(Args, Clone)]
pub struct CellArgs {
    /// Cell grid, e.g. 192x108 (the target is centre-cropped to its aspect).
    #[arg(long, conflicts_with = "cells_wide")]
    pub cells: Option<CellSpec>,
    /// Cells across; rows follow the target's aspect [default: 160 when --cells is not given].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub cells_wide: Option<u32>,
    /// A tile may not repeat within this many cells (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub repeat_radius: u32,
    /// Each tile at most this many times (0: no limit); still targets.
    #[arg(long, default_value_t = 0)]
    pub max_uses: u32,
    /// Every tile at least once (where the grid has a cell for each); still targets.
    #[arg(long)]
    pub use_all: bool,
    /// With --repeat-radius: keep the greedy match, without the passes that then move
    /// tiles to the cells that want them more (faster on grids of millions of cells; the
    /// mosaic is less faithful).
    #[arg(long)]
    pub greedy: bool,
    /// How much more lightness counts than colour when matching, 0.1 to 10 [default: 3
    /// with sub-cell signatures (shapes read from lightness), 2.5 with --repeat-radius,
    /// 1 with --grid 1].
    #[arg(long, value_parser = parse_lightness)]
    pub lightness_weight: Option<f32>,
    /// Video targets: a cell keeps its tile from the previous frame unless the new best is
    /// more than this many ΔE (CIELAB distance) closer, so still shots do not shimmer
    /// (0: every frame matched afresh).
    #[arg(long, default_value_t = tessera::matching::DEFAULT_STICKINESS, value_parser = parse_stickiness)]
    pub stickiness: f32,
}

fn parse_lightness(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| (0.1..=10.0).contains(v))
        .ok_or_else(|| format!("`{s}`: expected a weight from 0.1 to 10"))
}

fn parse_stickiness(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| (0.0..=100.0).contains(v))
        .ok_or_else(|| format!("`{s}`: expected a ΔE from 0 to 100"))
}

impl CellArgs {
    /// The options of a still target's match.
    pub fn match_options(&self) -> tessera::matching::MatchOptions {
        tessera::matching::MatchOptions {
            repeat_radius: self.repeat_radius,
            max_uses: self.max_uses,
            use_all: self.use_all,
            lightness_weight: self.lightness_weight,
            greedy: self.greedy,
        }
    }

    pub fn spec(&self) -> CellSpec {
        self.cells.unwrap_or(CellSpec::Wide(
            self.cells_wide.unwrap_or(DEFAULT_CELLS_WIDE),
        ))
    }
}

#[derive(Args, Clone)]
pub struct ViewArgs {
    /// View centre in cell coordinates, e.g. 96,54 (default: the mosaic's centre); may be
    /// negative (-10,5).
    #[arg(long, value_parser = parse_point, allow_hyphen_values = true)]
    pub center: Option<(f64, f64)>,
    /// Screen pixels per cell, 1/64 to 4096 (default: fit the whole mosaic).
    #[arg(long, value_parser = parse_cell_px)]
    pub cell_px: Option<f64>,
    /// Tint each pixel by the level it drew from (brighter = finer).
    #[arg(long)]
    pub debug_lod: bool,
    #[command(flatten)]
    pub tint: TintArg,
}

impl ViewArgs {
    pub fn style(&self) -> RenderStyle {
        RenderStyle {
            debug_lod: self.debug_lod,
            tint: self.tint.tint,
            ..Default::default()
        }
    }

    /// The asked view of `scene` on a `width × height` frame: the fitted view, with
    /// --center and --cell-px where given.
    pub fn camera(&self, scene: &Scene, (width, height): (u32, u32)) -> Camera {
        let mut cam = scene.fit(width, height);
        if let Some(px) = self.cell_px {
            cam.cell_px = px;
        }
        if let Some((x, y)) = self.center {
            cam.center = glam::DVec2::new(x, y);
        }
        let half = glam::DVec2::new(width as f64, height as f64)
            / (2.0 * cam.cell_px * glam::DVec2::from(scene.cell_shape()));
        let (low, high) = (cam.center - half, cam.center + half);
        let (cols, rows) = (scene.cols() as f64, scene.rows() as f64);
        if high.x <= 0.0 || high.y <= 0.0 || low.x >= cols || low.y >= rows {
            tracing::warn!(
                "the view around {:.1},{:.1} at {} px per cell shows no cell of the {}×{} mosaic: the picture is all background",
                cam.center.x,
                cam.center.y,
                cam.cell_px,
                scene.cols(),
                scene.rows()
            );
        }
        cam
    }

    /// Whether the view was asked for (else the fitted view).
    pub fn is_given(&self) -> bool {
        self.center.is_some() || self.cell_px.is_some()
    }
}

/// Colour correction: `--tint`.
#[derive(Args, Clone)]
pub struct TintArg {
    /// Colour correction, 0 to 1: pull each tile's colours toward its cell's target colour
    /// (1: the tile's mean becomes the target's; its detail stays). Fades out as one tile
    /// grows to fill the frame; posters and Deep Zoom exports keep it at every scale.
    #[arg(long, default_value_t = 0.0, value_parser = parse_tint)]
    pub tint: f32,
}

fn parse_tint(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("`{s}`: expected a strength from 0 to 1"))
}

impl TintArg {
    /// Refuses a tint for a mosaic that has no target colours to pull toward.
    pub fn check(&self, scene: &Scene) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.tint == 0.0 || scene.colours.is_some(),
            "{}: matched by an older tessera, it has no target colours for --tint; re-run `tessera match` (or leave out --tint)",
            scene.path.display()
        );
        Ok(())
    }
}

/// Frame size: `--size WxH`.
#[derive(Args, Clone)]
pub struct SizeArg {
    /// Frame size [default: 1920x1080, or 1080x1920 for a mosaic taller than wide (a
    /// portrait target)].
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
}

impl SizeArg {
    /// The size asked for, else the default in the orientation of `scene`'s grid; kept,
    /// so every later `get` says the same.
    pub fn resolve(&mut self, scene: &Scene) -> (u32, u32) {
        let [sx, sy] = scene.cell_shape();
        let portrait = scene.rows() as f64 * sy > scene.cols() as f64 * sx;
        *self
            .size
            .get_or_insert(if portrait { (1080, 1920) } else { (1920, 1080) })
    }

    /// The size (after `resolve`; 1920×1080 before).
    pub fn get(&self) -> (u32, u32) {
        self.size.unwrap_or((1920, 1080))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RendererArg {
    /// The GPU path on a GPU; the CPU renderer where the only adapter is a software
    /// rasteriser (it is faster there) or there is none. -v logs the choice and why.
    Auto,
    /// wgpu: the best adapter there is (or --adapter), Mesa's llvmpipe if nothing else.
    Gpu,
    /// The CPU renderer, on every core.
    Cpu,
}

impl From<RendererArg> for Backend {
    fn from(r: RendererArg) -> Backend {
        match r {
            RendererArg::Auto => Backend::Auto,
            RendererArg::Gpu => Backend::Gpu,
            RendererArg::Cpu => Backend::Cpu,
        }
    }
}

#[derive(Args, Clone)]
pub struct EngineArgs {
    /// Which renderer draws.
    #[arg(long, value_enum, default_value = "auto")]
    pub renderer: RendererArg,
    /// GPU adapter by name substring (also $TESSERA_ADAPTER), e.g. llvmpipe.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Atlas memory, all levels.
    #[arg(long, default_value = "512MiB", value_parser = parse_bytes)]
    pub gpu_budget: u64,
    /// RAM for pages read but not (or no longer) on the GPU.
    #[arg(long, default_value = "512MiB", value_parser = parse_bytes)]
    pub ram_budget: u64,
    /// Most bytes uploaded to the GPU per frame (pages and page-table rows).
    #[arg(long, default_value = "8MiB", value_parser = parse_bytes)]
    pub upload_budget: u64,
    /// Loader threads reading pages from the store.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub loaders: u16,
    /// Turn a streaming heuristic off (repeatable).
    #[arg(long = "no", value_name = "HEURISTIC", value_enum)]
    pub disable: Vec<HeuristicArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HeuristicArg {
    /// Requests coarse before fine, centre before edge.
    Order,
    /// The next finer level while zooming in, a ring ahead of a pan.
    Prefetch,
    /// Drop queued requests that left the screen.
    Cancel,
    /// The RAM cache keeps coarse pages longer.
    CacheWeighting,
}

impl EngineArgs {
    /// Render options for frames of `size`; `synchronous` reads every page inline (stills).
    pub fn options(
        &self,
        size: (u32, u32),
        style: RenderStyle,
        synchronous: bool,
    ) -> RenderOptions {
        let mut heuristics = Heuristics::default();
        for h in &self.disable {
            match h {
                HeuristicArg::Order => heuristics.ordered = false,
                HeuristicArg::Prefetch => heuristics.prefetch = false,
                HeuristicArg::Cancel => heuristics.cancel = false,
                HeuristicArg::CacheWeighting => heuristics.level_weighted_cache = false,
            }
        }
        RenderOptions {
            width: size.0,
            height: size.1,
            backend: self.renderer.into(),
            style,
            adapter: self.adapter.clone(),
            stream: StreamConfig {
                gpu_budget: self.gpu_budget,
                ram_budget: self.ram_budget,
                upload_budget: self.upload_budget,
                loader_threads: self.loaders as usize,
                synchronous,
                heuristics,
                accept_time: tessera::render::ACCEPT_TIME,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhaseArg {
    /// Each clip starts at a frame of its own, so the wall of clips does not cut at once.
    Random,
    /// Every clip starts at its first frame.
    Zero,
}

/// How clips play (libraries with video tiles).
#[derive(Args, Clone)]
#[command(next_help_heading = "Clips (tiles cut from videos)")]
pub struct PlaybackArgs {
    /// Show every clip's key frame instead of playing it (image mode).
    #[arg(long)]
    pub still: bool,
    /// Whether clips start in step.
    #[arg(long, value_enum, default_value = "random")]
    pub phase: PhaseArg,
}

impl PlaybackArgs {
    /// The playback state at `time` seconds.
    pub fn at(&self, time: f64) -> Playback {
        Playback {
            time,
            still: self.still,
            phase: match self.phase {
                PhaseArg::Random => Phase::Random,
                PhaseArg::Zero => Phase::Zero,
            },
        }
    }
}

/// Seconds: a finite number, not negative.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{s}`: expected seconds, a number from 0 up"))
}
