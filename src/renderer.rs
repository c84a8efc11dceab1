//! The embeddable renderer, generic over where the atlas lives: `Renderer<GpuMosaic>` is the
//! `MosaicRenderer` (`gpu/renderer.rs` adds drawing into a host's wgpu pass) and
//! `Renderer<CpuAtlas>` is the `CpuRenderer` (draws into a byte buffer). Both stream the
//! same way; `AnyRenderer` holds either, and `Backend::Auto` picks the faster one for the
//! adapter there is (`choose_backend`).

use crate::atlas::{AtlasBackend, AtlasLayout};
use crate::cpu_render::{self, CpuAtlas};
use crate::error::Result;
use crate::playback::Playback;
use crate::scene::Scene;
use crate::streaming::{FrameStats, StreamConfig, StreamingManager};
use crate::style::RenderStyle;
use crate::tint::{self, CellColours};
use crate::view::{Camera, FrameView};
use std::sync::Arc;
use std::time::Duration;

/// Which renderer draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The GPU path on a hardware adapter; the CPU renderer where the only adapter is a
    /// software rasteriser (it is faster there) or there is none (`choose_backend`).
    Auto,
    /// wgpu: the best adapter there is, or Mesa's software rasteriser (llvmpipe).
    Gpu,
    /// The CPU renderer (also the reference the GPU path is tested against).
    Cpu,
}

#[derive(Clone, Debug)]
/// How a renderer is made: frame size, which renderer, look and budgets.
pub struct RenderOptions {
    /// Frame size (for an embedded renderer: the largest viewport it plans for).
    pub width: u32,
    /// Frame height (see `width`).
    pub height: u32,
    /// Which renderer draws.
    pub backend: Backend,
    /// How frames look.
    pub style: RenderStyle,
    /// Memory and upload budgets.
    pub stream: StreamConfig,
    /// Adapter name substring (GPU only).
    pub adapter: Option<String>,
}

impl Default for RenderOptions {
    /// 1920×1080 on the faster renderer for this machine, default style and budgets.
    fn default() -> Self {
        RenderOptions {
            width: 1920,
            height: 1080,
            backend: Backend::Auto,
            style: RenderStyle::default(),
            stream: StreamConfig::default(),
            adapter: None,
        }
    }
}

/// Why a renderer asked for by name draws.
pub const ASKED: &str = "asked for";

/// What `Backend::Auto` runs, and why (for the log and the viewer's title).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// `Backend::Gpu` or `Backend::Cpu`.
    pub backend: Backend,
    /// Why, in words.
    pub why: String,
}

/// `Backend::Auto`'s choice, given the adapter the GPU path would use (`None`: there is
/// none) as its name and type, and whether the user named it (`--adapter`): the GPU path
/// on a hardware adapter or a named one; the CPU renderer on a software rasteriser (faster
/// than llvmpipe at every zoom measured but one, where they are level: docs/performance.md,
/// "Frame time per zoom") or with no adapter at all.
pub fn choose_backend(adapter: Option<(&str, wgpu::DeviceType)>, named: bool) -> Choice {
    let (backend, why) = match adapter {
        None => (Backend::Cpu, "no GPU adapter here".to_string()),
        Some((name, _)) if named => (Backend::Gpu, format!("--adapter picked {name}")),
        Some((name, wgpu::DeviceType::Cpu)) => (
            Backend::Cpu,
            format!(
                "the only GPU adapter, {name}, is a software rasteriser, slower than the CPU \
                 renderer (--renderer gpu uses it anyway)"
            ),
        ),
        Some((name, _)) => (Backend::Gpu, format!("{name} is a GPU")),
    };
    Choice { backend, why }
}

/// One frame's plan, made once by `update` or `settle` and drawn by whichever renderer made
/// it: where the camera is on this frame's viewport (levels, culling, offsets) and what
/// streaming left resident for it.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Where the camera is on this frame's viewport.
    pub view: FrameView,
    /// What streaming did for it.
    pub stats: FrameStats,
}

/// What every renderer does between frames, whichever way it draws: follow a camera,
/// streaming pages into its atlas, with the grid, the clips' moment and the style it is
/// given. `Renderer` implements it; `AnyRenderer` dereferences to it, so a host calls these
/// without knowing which renderer it holds.
pub trait Streaming {
    /// The mosaic being drawn.
    fn scene(&self) -> &Scene;
    /// The streaming manager (residency, figures).
    fn stream(&self) -> &StreamingManager;
    /// How the atlas is split between levels.
    fn layout(&self) -> &AtlasLayout;
    /// How frames look.
    fn style(&self) -> &RenderStyle;
    /// How frames look; may be changed between frames.
    fn style_mut(&mut self) -> &mut RenderStyle;
    /// Draws `grid` from the next `update` on (a video target's next frame, whose cell
    /// means are `colours`).
    fn set_grid(&mut self, grid: Arc<Vec<u32>>, colours: CellColours);
    /// The moment clips are drawn at (and whether they play), from the next `update` on.
    fn set_playback(&mut self, playback: Playback);
    /// One step of streaming for `camera` on a `width × height` viewport: uploads what is
    /// ready within the upload budget, requests the rest, and returns the frame to draw.
    /// Never waits for the disk.
    fn update(&mut self, camera: &Camera, width: u32, height: u32) -> Frame;
    /// Streams until the view is complete (or `timeout`): for frames that must be sharp.
    fn settle(&mut self, camera: &Camera, width: u32, height: u32, timeout: Duration) -> Frame;
}

/// A mosaic being streamed into an atlas of type `B`, and how its frames look. Built in one
/// place (`start`), so the plan, the backend and the streaming manager always agree.
pub struct Renderer<B: AtlasBackend> {
    pub(crate) scene: Scene,
    pub(crate) backend: B,
    stream: StreamingManager,
    layout: AtlasLayout,
    /// How frames look; may be changed between frames.
    pub style: RenderStyle,
    /// The backend holds the current grid's tint offsets (sent the first time a tint is
    /// drawn, then with every grid).
    tint_sent: bool,
    /// The tint the overview (the scene's and the backend's) was built with.
    overview_tint: f32,
}

/// The CPU renderer: frames drawn into RGBA8 buffers in memory.
pub type CpuRenderer = Renderer<CpuAtlas>;

impl<B: AtlasBackend> Renderer<B> {
    /// Starts streaming `scene` into `backend` (laid out as `layout`): loader threads, then
    /// level 0, the pinned levels and the page table written to the backend.
    pub(crate) fn start(
        scene: Scene,
        layout: AtlasLayout,
        mut backend: B,
        opts: &RenderOptions,
    ) -> Result<Self> {
        let mut stream = StreamingManager::new(
            scene.library.clone(),
            scene.grid.clone(),
            scene.cols(),
            scene.clock.clone(),
            &layout,
            opts.stream,
        );
        // Level 0 is every page's fallback: without it nothing can be drawn.
        stream.init_backend(&mut backend)?;
        Ok(Renderer {
            scene,
            backend,
            stream,
            layout,
            style: opts.style,
            tint_sent: false,
            overview_tint: 0.0,
        })
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

    /// Makes the backend ready to draw the style's tint and returns the style to draw with:
    /// the cell offsets are sent the first time a tint is asked for, and the overview is
    /// rebuilt when the tint changes. A mosaic without target colours draws untinted.
    pub(crate) fn sync_tint(&mut self) -> RenderStyle {
        let tint = if self.scene.colours.is_some() {
            self.style.tint.clamp(0.0, 1.0)
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
        RenderStyle { tint, ..self.style }
    }
}

impl<B: AtlasBackend> Streaming for Renderer<B> {
    fn scene(&self) -> &Scene {
        &self.scene
    }
    fn stream(&self) -> &StreamingManager {
        &self.stream
    }
    fn layout(&self) -> &AtlasLayout {
        &self.layout
    }
    fn style(&self) -> &RenderStyle {
        &self.style
    }
    fn style_mut(&mut self) -> &mut RenderStyle {
        &mut self.style
    }

    /// The streaming planner, the overview, the tint and the backend's copies all change
    /// together.
    fn set_grid(&mut self, grid: Arc<Vec<u32>>, colours: CellColours) {
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

    fn set_playback(&mut self, playback: Playback) {
        self.stream.set_playback(playback);
    }

    fn update(&mut self, camera: &Camera, width: u32, height: u32) -> Frame {
        let view = self.scene.frame_view(camera, width, height);
        let stats = self.stream.update(&view, &mut self.backend);
        Frame { view, stats }
    }

    fn settle(&mut self, camera: &Camera, width: u32, height: u32, timeout: Duration) -> Frame {
        let view = self.scene.frame_view(camera, width, height);
        let stats = self.stream.settle(&view, &mut self.backend, timeout);
        Frame { view, stats }
    }
}

/// The CPU twin honours the same layer limit as the software Vulkan adapter.
const CPU_MAX_LAYERS: u32 = 2048;

impl CpuRenderer {
    /// Prepares `scene` for drawing frames up to `opts.width × opts.height` within
    /// `opts.stream`'s budgets (the GPU budget bounds the atlas in memory here), starts the
    /// loader threads and loads the pinned levels.
    pub fn new(scene: Scene, opts: &RenderOptions) -> Result<CpuRenderer> {
        let layout = scene.plan(
            (opts.width, opts.height),
            opts.stream.gpu_budget,
            CPU_MAX_LAYERS,
        )?;
        let atlas = CpuAtlas::new(&layout, scene.library.tile_count());
        Renderer::start(scene, layout, atlas, opts)
    }

    /// Draws `frame` with whatever is resident into `out` (resized to fit; a buffer kept
    /// from frame to frame is reused as is).
    pub fn draw_into(&mut self, frame: &Frame, out: &mut Vec<u8>) {
        let style = self.sync_tint();
        let scene = &self.scene;
        cpu_render::render_into(
            &frame.view,
            &scene.grid,
            &self.backend,
            &scene.overview,
            &style,
            out,
        );
    }

    /// Draws `frame`'s copy floor (`cpu_render::copy_floor_into`) into `out`. False,
    /// drawing nothing, below a pixel per cell.
    pub fn draw_copy_floor(&mut self, frame: &Frame, out: &mut Vec<u8>) -> bool {
        if frame.view.uses_overview() {
            return false;
        }
        let scene = &self.scene;
        cpu_render::copy_floor_into(
            &frame.view,
            &scene.grid,
            &self.backend,
            &scene.overview,
            self.style.background,
            out,
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::DeviceType;

    #[test]
    fn auto_draws_on_a_gpu_and_on_the_cpu_where_the_adapter_is_software_or_missing() {
        let pick = |adapter, named| choose_backend(adapter, named).backend;
        assert_eq!(
            pick(Some(("NVIDIA H200", DeviceType::DiscreteGpu)), false),
            Backend::Gpu
        );
        assert_eq!(
            pick(Some(("Intel Iris", DeviceType::IntegratedGpu)), false),
            Backend::Gpu
        );
        assert_eq!(
            pick(Some(("llvmpipe", DeviceType::Cpu)), false),
            Backend::Cpu
        );
        assert_eq!(pick(None, false), Backend::Cpu);
        // Naming an adapter asks for the GPU path on it, even a software one.
        assert_eq!(
            pick(Some(("llvmpipe", DeviceType::Cpu)), true),
            Backend::Gpu
        );
        let why = choose_backend(Some(("llvmpipe", DeviceType::Cpu)), false).why;
        assert!(
            why.contains("llvmpipe") && why.contains("--renderer gpu"),
            "{why}"
        );
    }
}
