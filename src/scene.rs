//! A mosaic opened for drawing: its grid, its library, the overview chain and the atlas plan.

use crate::atlas::{plan_atlases, AtlasLayout, PlanInput};
use crate::library::Library;
use crate::mosaic::Mosaic;
use crate::overview::Overview;
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
    /// Every tile's 1×1 page, tile-major RGBA8: always resident.
    pub level0: Vec<u8>,
}

impl Scene {
    pub fn open(path: &Path) -> anyhow::Result<Scene> {
        let mut mosaic = Mosaic::load(path)?;
        let library = mosaic.open_library(path)?;
        // The grid lives once, shared with the streaming manager.
        let grid = Arc::new(std::mem::take(&mut mosaic.grid));
        let level0 = library.read_level(0)?;
        let overview = Overview::build(&grid, mosaic.cols(), mosaic.rows(), &level0);
        Ok(Scene {
            path: path.to_path_buf(),
            grid,
            mosaic,
            library: Arc::new(library),
            overview,
            level0,
        })
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
    ) -> anyhow::Result<AtlasLayout> {
        plan_atlases(&PlanInput {
            tiles: self.library.tile_count(),
            levels: self.library.levels(),
            gpu_budget,
            screen,
            grid: (self.cols(), self.rows()),
            max_layers,
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
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
