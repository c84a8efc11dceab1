//! A mosaic opened for drawing: its grid, its library, the overview chain, the atlas plan.

use crate::atlas::{plan_atlases, AtlasLayout, PlanInput};
use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::TileAspect;
use crate::mosaic::Mosaic;
use crate::overview::Overview;
use crate::playback::Clock;
use crate::tint::{self, CellColours};
use crate::view::{Camera, FrameView};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A mosaic opened for drawing: its grid, library, overview and clips' clock.
pub struct Scene {
    /// The mosaic file.
    pub path: PathBuf,
    /// The mosaic's header; its grid has moved to `grid`.
    pub mosaic: Mosaic,
    /// The tile library it was matched against.
    pub library: Arc<Library>,
    /// Tile id per cell, row-major (a video target's current frame).
    pub grid: Arc<Vec<u32>>,
    /// The grid below one pixel per cell.
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
        let mosaic = Mosaic::load(path)?;
        let library = mosaic.open_library(path, library)?;
        Self::from_parts(path, mosaic, library)
    }

    /// A scene of a mosaic made in memory (a live target's, from its first frame) over
    /// `library`; `path` is where it would be saved, which relative paths start from.
    pub fn from_parts(path: &Path, mut mosaic: Mosaic, library: Library) -> Result<Scene> {
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
    pub(crate) fn build_overview(&self, tint: f32, offsets: &[tint::Offset]) -> Overview {
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

    /// The input of this mosaic that writing `path` would destroy, if any, as what it is
    /// and its path: the mosaic file, its target (video or picture), or the library, which
    /// no output may lie inside. Any spelling of a path counts (links, `..`).
    pub fn input_at(&self, path: &Path) -> Option<(&'static str, PathBuf)> {
        let inputs = [
            (Some(self.path.clone()), "the mosaic itself"),
            (self.video_path(), "the mosaic's target video"),
            (self.target_path(), "the mosaic's target picture"),
        ];
        for (input, what) in inputs {
            if let Some(input) = input.filter(|p| crate::fsutil::same_file(path, p)) {
                return Some((what, input));
            }
        }
        crate::fsutil::is_within(path, &self.library.dir)
            .then(|| ("inside the mosaic's library", self.library.dir.clone()))
    }

    /// Whether the library was found somewhere other than where the mosaic records it
    /// (moved, renamed, or given with `--library`).
    pub fn library_moved(&self) -> bool {
        !crate::fsutil::same_file(&self.library.dir, &self.mosaic.library_path(&self.path))
    }

    /// Frees the CPU copy of the overview once a GPU holds its own (11 MiB for a 1920×1080
    /// grid). Only GPU paths call this: the CPU reference renderer samples it.
    pub fn release_overview(&mut self) {
        self.overview = Overview::default();
    }

    /// Cells across.
    pub fn cols(&self) -> u32 {
        self.mosaic.cols()
    }
    /// Cells down.
    pub fn rows(&self) -> u32 {
        self.mosaic.rows()
    }
    /// The library's finest level.
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
            cell_shape: self.cell_shape(),
            max_layers,
        })
        .map_err(|e| Error::Options(e.to_string()))
    }

    /// What `camera` shows on a `width × height` frame.
    pub fn frame_view(&self, camera: &Camera, width: u32, height: u32) -> FrameView {
        FrameView::shaped(
            camera,
            (width, height),
            (self.cols(), self.rows()),
            self.max_level(),
            self.tile_aspect(),
        )
    }

    /// The camera that shows the whole mosaic on a `width × height` frame.
    pub fn fit(&self, width: u32, height: u32) -> Camera {
        Camera::fit_shaped(
            self.cols(),
            self.rows(),
            width,
            height,
            self.tile_aspect().shape(),
        )
    }

    /// The library's tile aspect: every cell's shape.
    pub fn tile_aspect(&self) -> TileAspect {
        self.library.params().tile_aspect
    }

    /// A cell's sides against its longer one (`TileAspect::shape`).
    pub fn cell_shape(&self) -> [f64; 2] {
        self.tile_aspect().shape()
    }
}
