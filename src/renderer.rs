//! The embeddable renderer, generic over where the atlas lives: `Renderer<GpuMosaic>` is the
//! `MosaicRenderer` (`gpu/renderer.rs` adds drawing into a host's wgpu pass) and
//! `Renderer<CpuAtlas>` is the `CpuRenderer` (draws into a byte buffer). Both stream the
//! same way; `AnyRenderer` holds either, and `Backend::Auto` picks the faster one for the
//! adapter there is (`choose_backend`).

use crate::atlas::{AtlasBackend, AtlasLayout};
use crate::cpu_render::{self, CpuAtlas};
use crate::error::Result;
use crate::scene::{Scene, StreamedScene};
use crate::streaming::{FrameStats, StreamConfig, StreamingManager};
use crate::style::RenderStyle;
use crate::tint::CellColours;
use crate::view::Camera;

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
pub struct RenderOptions {
    /// Frame size (for an embedded renderer: the largest viewport it plans for).
    pub width: u32,
    pub height: u32,
    pub backend: Backend,
    pub style: RenderStyle,
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

/// A mosaic being streamed into an atlas of type `B`, and how its frames look.
pub struct Renderer<B: AtlasBackend> {
    pub(crate) inner: StreamedScene<B>,
    /// How frames look; may be changed between frames.
    pub style: RenderStyle,
}

/// The CPU renderer: frames drawn into RGBA8 buffers in memory.
pub type CpuRenderer = Renderer<CpuAtlas>;

impl<B: AtlasBackend> Renderer<B> {
    pub fn scene(&self) -> &Scene {
        &self.inner.scene
    }
    pub fn stream(&self) -> &StreamingManager {
        &self.inner.stream
    }
    pub fn layout(&self) -> &AtlasLayout {
        &self.inner.layout
    }

    /// Draws `grid` from the next `update` on (a video target's next frame, whose cell
    /// means are `colours`).
    pub fn set_grid(&mut self, grid: std::sync::Arc<Vec<u32>>, colours: CellColours) {
        self.inner.set_grid(grid, colours);
    }

    /// The moment clips are drawn at (and whether they play), from the next `update` on.
    pub fn set_playback(&mut self, playback: crate::playback::Playback) {
        self.inner.set_playback(playback);
    }

    /// One step of streaming for `camera` on a `width × height` viewport: uploads what is
    /// ready within the upload budget, requests the rest. Never waits for the disk.
    pub fn update(&mut self, camera: &Camera, width: u32, height: u32) -> FrameStats {
        self.inner.update(camera, width, height)
    }

    /// Streams until the view is complete (or `timeout`): for frames that must be sharp.
    pub fn settle(
        &mut self,
        camera: &Camera,
        width: u32,
        height: u32,
        timeout: std::time::Duration,
    ) -> FrameStats {
        self.inner.settle(camera, width, height, timeout)
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
        Ok(Renderer {
            inner: StreamedScene::new(scene, layout, atlas, opts.stream)?,
            style: opts.style,
        })
    }

    /// Draws `camera` on a `width × height` frame with whatever is resident, into `out`
    /// (resized to fit; a buffer kept from frame to frame is reused as is).
    pub fn draw_into(&mut self, camera: &Camera, width: u32, height: u32, out: &mut Vec<u8>) {
        let view = self.inner.scene.frame_view(camera, width, height);
        let style = self.inner.sync_tint(&self.style);
        let scene = &self.inner.scene;
        cpu_render::render_into(
            &view,
            &scene.grid,
            &self.inner.backend,
            &scene.overview,
            &style,
            out,
        );
    }

    /// Draws `camera`'s copy floor (`cpu_render::copy_floor_into`) into `out`. False,
    /// drawing nothing, below a pixel per cell.
    pub fn draw_copy_floor(
        &mut self,
        camera: &Camera,
        width: u32,
        height: u32,
        out: &mut Vec<u8>,
    ) -> bool {
        let scene = &self.inner.scene;
        let view = scene.frame_view(camera, width, height);
        if view.uses_overview() {
            return false;
        }
        cpu_render::copy_floor_into(
            &view,
            &scene.grid,
            &self.inner.backend,
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
