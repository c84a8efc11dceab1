//! A mosaic opened for drawing (its grid, its library, the overview chain, the atlas plan),
//! and the one place where a scene, an atlas backend and a streaming manager are wired
//! together, whichever renderer draws.

use crate::atlas::{plan_atlases, AtlasBackend, AtlasLayout, PlanInput};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::mosaic::Mosaic;
use crate::overview::Overview;
use crate::playback::Clock;
use crate::streaming::{FrameStats, StreamConfig, StreamingManager};
use crate::style::RenderStyle;
use crate::tint::{self, CellColours};
use crate::view::{Camera, FrameView};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Scene {
    pub path: PathBuf,
    /// The mosaic's header; its grid has moved to `grid`.
    pub mosaic: Mosaic,
    pub library: Arc<Library>,
    pub grid: Arc<Vec<u32>>,
    pub overview: Overview,
    /// Every tile's frames, and the rate clips play at.
    pub clock: Clock,
    /// The target's mean colour per cell, which a tint pulls tiles toward (`None` for a
    /// mosaic matched before they were recorded).
    pub colours: Option<CellColours>,
    /// Each tile's key frame at level 0 (its average colour, RGBA8): what a new grid's
    /// overview is built from.
    tile_colours: Vec<u8>,
}

impl Scene {
    /// Opens the mosaic at `path` with its library, found where the mosaic records it.
    pub fn open(path: &Path) -> Result<Scene> {
        Self::open_with_library(path, None)
    }

    /// Opens the mosaic at `path` with its library at `library` when given (a library
    /// moved away from where the mosaic records it), else found as `open` finds it.
    pub fn open_with_library(path: &Path, library: Option<&Path>) -> Result<Scene> {
        let mut mosaic = Mosaic::load(path)?;
        let library = mosaic.open_library(path, library)?;
        // The grid lives once, shared with the streaming manager.
        let grid = Arc::new(std::mem::take(&mut mosaic.grid));
        let colours = mosaic.colours.take().map(Arc::new);
        // Below one pixel per cell a cell is its tile's key frame's average colour.
        let level0 = library.read_key_level(0)?;
        let overview = Overview::build(&grid, mosaic.cols(), mosaic.rows(), &level0);
        let clock = Clock::new(Arc::new(library.clips()), library.params().clip_fps);
        Ok(Scene {
            path: path.to_path_buf(),
            grid,
            mosaic,
            library: Arc::new(library),
            overview,
            clock,
            colours,
            tile_colours: level0,
        })
    }

    /// Every cell's tint offset for the current grid (empty without target colours).
    pub fn tint_offsets(&self) -> Vec<tint::Offset> {
        self.colours.as_ref().map_or_else(Vec::new, |colours| {
            tint::offsets(&self.grid, &self.tile_colours, colours)
        })
    }

    /// Each tile's mean colour: its key frame's level-0 texel (RGBA8 sRGB, tile-major).
    pub fn tile_colours(&self) -> &[u8] {
        &self.tile_colours
    }

    /// The overview of the current grid, its cells pulled `tint` by `offsets` (the current
    /// grid's, `tint_offsets`) toward their targets.
    fn build_overview(&self, tint: f32, offsets: &[tint::Offset]) -> Overview {
        let (cols, rows) = (self.cols(), self.rows());
        if tint > 0.0 && !offsets.is_empty() {
            let base = tint::overview_base(&self.grid, &self.tile_colours, offsets, tint);
            Overview::from_base(cols, rows, base)
        } else {
            Overview::build(&self.grid, cols, rows, &self.tile_colours)
        }
    }

    /// The video target, when the mosaic has one.
    pub fn video(&self) -> Option<&crate::mosaic::VideoTarget> {
        self.mosaic.header.video.as_ref()
    }

    /// The video target's file, when the mosaic has one.
    pub fn video_path(&self) -> Option<PathBuf> {
        self.mosaic.video_path(&self.path)
    }

    /// The still target's file as recorded at matching time, if it is still there.
    pub fn target_path(&self) -> Option<PathBuf> {
        self.mosaic.target_path(&self.path)
    }

    /// Frees the CPU copy of the overview once a GPU holds its own (11 MiB for a 1920×1080
    /// grid). Only GPU paths call this: the CPU reference renderer samples it.
    pub fn release_overview(&mut self) {
        self.overview = Overview::default();
    }

    pub fn cols(&self) -> u32 {
        self.mosaic.cols()
    }
    pub fn rows(&self) -> u32 {
        self.mosaic.rows()
    }
    pub fn max_level(&self) -> usize {
        self.library.max_level()
    }

    /// How `gpu_budget` bytes of atlas are split between levels for a `screen`-sized view.
    pub fn plan(
        &self,
        screen: (u32, u32),
        gpu_budget: u64,
        max_layers: u32,
    ) -> Result<AtlasLayout> {
        plan_atlases(&PlanInput {
            records: self.library.record_count(),
            clips: self.library.has_clips(),
            levels: self.library.levels(),
            gpu_budget,
            screen,
            grid: (self.cols(), self.rows()),
            max_layers,
        })
        .map_err(|e| Error::Options(e.to_string()))
    }

    pub fn frame_view(&self, camera: &Camera, width: u32, height: u32) -> FrameView {
        FrameView::new(
            camera,
            width,
            height,
            self.cols(),
            self.rows(),
            self.max_level(),
        )
    }

    pub fn fit(&self, width: u32, height: u32) -> Camera {
        Camera::fit(self.cols(), self.rows(), width, height)
    }
}

/// A scene streamed into an atlas backend (the GPU's, or the CPU reference's twin): every
/// renderer is one of these plus a way to draw. Built in one place, so the plan, the
/// backend and the streaming manager always agree.
pub struct StreamedScene<B: AtlasBackend> {
    pub scene: Scene,
    pub backend: B,
    pub stream: StreamingManager,
    pub layout: AtlasLayout,
    /// The backend holds the current grid's tint offsets (sent the first time a tint is
    /// drawn, then with every grid).
    tint_sent: bool,
    /// The tint the overview (the scene's and the backend's) was built with.
    overview_tint: f32,
}

impl<B: AtlasBackend> StreamedScene<B> {
    /// Starts streaming `scene` into `backend` (laid out as `layout`): loader threads, then
    /// level 0, the pinned levels and the page table written to the backend.
    pub fn new(
        scene: Scene,
        layout: AtlasLayout,
        mut backend: B,
        config: StreamConfig,
    ) -> Result<Self> {
        let mut stream = StreamingManager::new(
            scene.library.clone(),
            scene.grid.clone(),
            scene.cols(),
            scene.clock.clone(),
            &layout,
            config,
        );
        // Level 0 is every page's fallback: without it nothing can be drawn.
        stream.init_backend(&mut backend)?;
        Ok(StreamedScene {
            scene,
            backend,
            stream,
            layout,
            tint_sent: false,
            overview_tint: 0.0,
        })
    }

    /// Draws `grid` (a video target's next frame, whose cell means are `colours`) from the
    /// next update on: the streaming planner, the overview, the tint and the backend's
    /// copies all change together.
    pub fn set_grid(&mut self, grid: Arc<Vec<u32>>, colours: CellColours) {
        let scene = &mut self.scene;
        assert_eq!(grid.len(), scene.cols() as usize * scene.rows() as usize);
        assert_eq!(colours.len(), grid.len());
        scene.grid = grid.clone();
        scene.colours = Some(colours);
        self.stream.set_grid(grid);
        // The new grid's offsets, once, where the backend or the overview uses them.
        let offsets = if self.tint_sent || self.overview_tint > 0.0 {
            self.scene.tint_offsets()
        } else {
            Vec::new()
        };
        if self.tint_sent {
            self.backend.write_tint(&offsets);
        }
        self.rebuild_overview(&offsets);
    }

    /// Rebuilds the overview of the current grid at the current tint (with `offsets`, the
    /// grid's, when it is tinted), for the backend and (where it samples its own) the scene.
    fn rebuild_overview(&mut self, offsets: &[tint::Offset]) {
        let overview = self.scene.build_overview(self.overview_tint, offsets);
        self.backend.write_grid(&self.scene.grid, &overview);
        // Only the CPU reference samples the scene's own overview (GPU paths released it).
        if !self.scene.overview.mips.is_empty() {
            self.scene.overview = overview;
        }
    }

    /// Makes the backend ready to draw `style`'s tint and returns the style to draw with:
    /// the cell offsets are sent the first time a tint is asked for, and the overview is
    /// rebuilt when the tint changes. A mosaic without target colours draws untinted.
    pub fn sync_tint(&mut self, style: &RenderStyle) -> RenderStyle {
        let tint = if self.scene.colours.is_some() {
            style.tint.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let send = tint > 0.0 && !self.tint_sent;
        let rebuild = tint != self.overview_tint;
        if send || (rebuild && tint > 0.0) {
            let offsets = self.scene.tint_offsets();
            if send {
                self.backend.write_tint(&offsets);
                self.tint_sent = true;
            }
            if rebuild {
                self.overview_tint = tint;
                self.rebuild_overview(&offsets);
            }
        } else if rebuild {
            self.overview_tint = tint;
            self.rebuild_overview(&[]);
        }
        RenderStyle { tint, ..*style }
    }

    /// The moment (and mode) clips are drawn at from the next update on.
    pub fn set_playback(&mut self, playback: crate::playback::Playback) {
        self.stream.set_playback(playback);
    }

    /// One step of streaming for `camera` on a `width × height` view.
    pub fn update(&mut self, camera: &Camera, width: u32, height: u32) -> FrameStats {
        let view = self.scene.frame_view(camera, width, height);
        self.stream.update(&view, &mut self.backend)
    }

    /// Streams until the view is complete (or `timeout`).
    pub fn settle(
        &mut self,
        camera: &Camera,
        width: u32,
        height: u32,
        timeout: std::time::Duration,
    ) -> FrameStats {
        let view = self.scene.frame_view(camera, width, height);
        self.stream.settle(&view, &mut self.backend, timeout)
    }
}
