//! Headless rendering: one API over the GPU path (a device of its own and an offscreen
//! target) and the CPU reference, both fed by the same streaming manager, for `tessera
//! render`, the benchmarks, the example and the tests.

use crate::atlas::AtlasLayout;
use crate::cpu_render::{self, CpuAtlas};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, MosaicRenderer, OffscreenTarget, OFFSCREEN_FORMAT};
use crate::scene::{Scene, StreamedScene};
use crate::streaming::{FrameStats, StreamConfig, StreamingManager};
use crate::style::RenderStyle;
use crate::view::{Camera, FrameView};

/// Which renderer draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// wgpu: the best adapter there is, or Mesa's software rasteriser (llvmpipe).
    Gpu,
    /// The CPU reference renderer.
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
    /// 1920×1080 on the best GPU adapter, default style and budgets.
    fn default() -> Self {
        RenderOptions {
            width: 1920,
            height: 1080,
            backend: Backend::Gpu,
            style: RenderStyle::default(),
            stream: StreamConfig::default(),
            adapter: None,
        }
    }
}

struct GpuEngine {
    ctx: GpuContext,
    renderer: MosaicRenderer,
    target: OffscreenTarget,
}

/// Frame sizes the headless renderer accepts, per side.
pub const MAX_FRAME_SIDE: u32 = 16384;

enum Engine {
    Gpu(Box<GpuEngine>),
    Cpu {
        inner: Box<StreamedScene<CpuAtlas>>,
        style: RenderStyle,
        frame: Vec<u8>,
    },
}

pub struct HeadlessRenderer {
    engine: Engine,
    pub width: u32,
    pub height: u32,
}

impl HeadlessRenderer {
    pub fn new(scene: Scene, opts: &RenderOptions) -> Result<HeadlessRenderer> {
        let (w, h) = (opts.width, opts.height);
        if !(1..=MAX_FRAME_SIDE).contains(&w) || !(1..=MAX_FRAME_SIDE).contains(&h) {
            return Err(Error::Options(format!(
                "frame size {w}×{h}: each side must be 1..={MAX_FRAME_SIDE}"
            )));
        }
        let engine = match opts.backend {
            Backend::Gpu => {
                let ctx = GpuContext::headless(opts.adapter.as_deref())?;
                let renderer =
                    MosaicRenderer::new(&ctx.device, &ctx.queue, OFFSCREEN_FORMAT, scene, opts)?;
                let target = OffscreenTarget::new(&ctx.device, w, h);
                Engine::Gpu(Box::new(GpuEngine {
                    ctx,
                    renderer,
                    target,
                }))
            }
            Backend::Cpu => {
                // The CPU twin honours the same layer limit as the software Vulkan adapter.
                let layout = scene.plan((w, h), opts.stream.gpu_budget, 2048)?;
                let atlas = CpuAtlas::new(&layout, scene.library.tile_count());
                let inner = StreamedScene::new(scene, layout, atlas, opts.stream)?;
                Engine::Cpu {
                    inner: Box::new(inner),
                    style: opts.style,
                    frame: Vec::new(),
                }
            }
        };
        Ok(HeadlessRenderer {
            engine,
            width: w,
            height: h,
        })
    }

    pub fn scene(&self) -> &Scene {
        match &self.engine {
            Engine::Gpu(g) => g.renderer.scene(),
            Engine::Cpu { inner, .. } => &inner.scene,
        }
    }
    pub fn layout(&self) -> &AtlasLayout {
        match &self.engine {
            Engine::Gpu(g) => g.renderer.layout(),
            Engine::Cpu { inner, .. } => &inner.layout,
        }
    }
    pub fn stream(&self) -> &StreamingManager {
        match &self.engine {
            Engine::Gpu(g) => g.renderer.stream(),
            Engine::Cpu { inner, .. } => &inner.stream,
        }
    }
    pub fn style(&self) -> &RenderStyle {
        match &self.engine {
            Engine::Gpu(g) => &g.renderer.style,
            Engine::Cpu { style, .. } => style,
        }
    }

    /// Atlas bytes allocated (GPU) or planned (CPU).
    pub fn atlas_bytes(&self) -> u64 {
        match &self.engine {
            Engine::Gpu(g) => g.renderer.atlas_bytes(),
            Engine::Cpu { inner, .. } => inner.layout.bytes(),
        }
    }

    /// The GPU device this renderer draws with (none for the CPU reference).
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        match &self.engine {
            Engine::Gpu(g) => Some(&g.ctx),
            Engine::Cpu { .. } => None,
        }
    }

    /// "adapter (backend, type)" or "cpu reference (N threads)".
    pub fn describe(&self) -> String {
        match &self.engine {
            Engine::Gpu(g) => g.ctx.describe(),
            Engine::Cpu { .. } => {
                format!("cpu reference ({} threads)", rayon::current_num_threads())
            }
        }
    }

    pub fn frame_view(&self, camera: &Camera) -> FrameView {
        self.scene().frame_view(camera, self.width, self.height)
    }

    /// The whole mosaic, as large as fits the frame.
    pub fn fit(&self) -> Camera {
        self.scene().fit(self.width, self.height)
    }

    /// The moment clips are drawn at (and whether they play), from the next update on.
    pub fn set_playback(&mut self, playback: crate::playback::Playback) {
        match &mut self.engine {
            Engine::Gpu(g) => g.renderer.set_playback(playback),
            Engine::Cpu { inner, .. } => inner.set_playback(playback),
        }
    }

    /// Draws `grid` from the next update on (a video target's next frame, whose cell means
    /// are `colours`).
    pub fn set_grid(&mut self, grid: std::sync::Arc<Vec<u32>>, colours: crate::tint::CellColours) {
        match &mut self.engine {
            Engine::Gpu(g) => g.renderer.set_grid(grid, colours),
            Engine::Cpu { inner, .. } => inner.set_grid(grid, colours),
        }
    }

    /// One frame of streaming for `camera` (no drawing).
    pub fn update(&mut self, camera: &Camera) -> FrameStats {
        let (w, h) = (self.width, self.height);
        match &mut self.engine {
            Engine::Gpu(g) => g.renderer.update(camera, w, h),
            Engine::Cpu { inner, .. } => inner.update(camera, w, h),
        }
    }

    /// Streams until `camera`'s view is complete (or `timeout`).
    pub fn settle(&mut self, camera: &Camera, timeout: std::time::Duration) -> FrameStats {
        let (w, h) = (self.width, self.height);
        match &mut self.engine {
            Engine::Gpu(g) => g.renderer.settle(camera, w, h, timeout),
            Engine::Cpu { inner, .. } => inner.settle(camera, w, h, timeout),
        }
    }

    /// Draws `camera` with whatever is resident and waits for it to finish; `read_back`
    /// also copies it to memory (see `pixels`).
    pub fn draw(&mut self, camera: &Camera, read_back: bool) -> Result<()> {
        let (w, h) = (self.width, self.height);
        match &mut self.engine {
            Engine::Gpu(g) => {
                let GpuEngine {
                    ctx,
                    renderer,
                    target,
                } = g.as_mut();
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                renderer.encode(&mut encoder, &target.view, camera, w, h);
                if read_back {
                    target.encode_copy(&mut encoder);
                }
                ctx.queue.submit([encoder.finish()]);
                ctx.wait_idle();
            }
            Engine::Cpu {
                inner,
                style,
                frame,
            } => {
                let view = inner.scene.frame_view(camera, w, h);
                let style = inner.sync_tint(style);
                cpu_render::render_into(
                    &view,
                    &inner.scene.grid,
                    &inner.backend,
                    &inner.scene.overview,
                    &style,
                    frame,
                );
            }
        }
        Ok(())
    }

    /// CPU renderer: draws `camera`'s copy floor (see `cpu_render::copy_floor_into`) into
    /// the frame buffer. False, drawing nothing, on the GPU or below a pixel per cell.
    pub fn draw_copy_floor(&mut self, camera: &Camera) -> bool {
        let (w, h) = (self.width, self.height);
        let Engine::Cpu {
            inner,
            frame,
            style,
        } = &mut self.engine
        else {
            return false;
        };
        let view = inner.scene.frame_view(camera, w, h);
        if view.uses_overview() {
            return false;
        }
        cpu_render::copy_floor_into(
            &view,
            &inner.scene.grid,
            &inner.backend,
            &inner.scene.overview,
            style.background,
            frame,
        );
        true
    }

    /// The last drawn frame as RGBA8 (GPU: the frame must have been drawn with `read_back`).
    pub fn pixels(&mut self) -> Result<Vec<u8>> {
        match &mut self.engine {
            Engine::Gpu(g) => g.target.read(),
            Engine::Cpu { frame, .. } => Ok(frame.clone()),
        }
    }

    /// Settles, draws and reads back one sharp frame.
    pub fn render(&mut self, camera: &Camera) -> Result<(image::RgbaImage, FrameStats)> {
        let stats = self.settle(camera, std::time::Duration::from_secs(60));
        self.draw(camera, true)?;
        let pixels = self.pixels()?;
        let img = image::RgbaImage::from_raw(self.width, self.height, pixels).expect("frame size");
        Ok((img, stats))
    }
}

/// How `HeadlessRenderer::record` streams pages between frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pacing {
    /// Every frame waits until all its pages are resident: what a film should look like.
    Sharp,
    /// One streaming step per frame under the upload budget, as the viewer runs: frames show
    /// coarser levels while pages arrive.
    Live,
}

/// What `HeadlessRenderer::record` reports.
#[derive(Clone, Debug, Default)]
pub struct RecordSummary {
    pub frames: usize,
    /// Most pages drawn from a coarser level in one frame (0 with `Pacing::Sharp` unless a
    /// view needs more than the GPU budget holds).
    pub max_missing: usize,
    /// Seconds spent streaming, drawing and reading back (not waiting for the encoder).
    pub render_secs: f64,
}

impl HeadlessRenderer {
    /// One frame of a video: streamed as `pacing` says, drawn and read back (RGBA8).
    pub fn video_frame(
        &mut self,
        camera: &Camera,
        pacing: Pacing,
    ) -> Result<(Vec<u8>, FrameStats)> {
        let stats = match pacing {
            Pacing::Sharp => self.settle(camera, std::time::Duration::from_secs(60)),
            Pacing::Live => self.update(camera),
        };
        self.draw(camera, true)?;
        Ok((self.pixels()?, stats))
    }

    /// Renders `frames` (each a view and a playback moment) in order and hands each to
    /// `video`; `progress` is called after every frame with the count so far.
    pub fn record(
        &mut self,
        frames: impl IntoIterator<Item = (Camera, crate::playback::Playback)>,
        pacing: Pacing,
        video: &mut crate::video::VideoWriter,
        mut progress: impl FnMut(usize),
    ) -> Result<RecordSummary> {
        let mut summary = RecordSummary::default();
        for (camera, playback) in frames {
            self.set_playback(playback);
            let started = std::time::Instant::now();
            let (pixels, stats) = self.video_frame(&camera, pacing)?;
            summary.render_secs += started.elapsed().as_secs_f64();
            summary.max_missing = summary.max_missing.max(stats.missing);
            video
                .write_frame(pixels)
                .map_err(|e| Error::Video(format!("{e:#}")))?;
            summary.frames += 1;
            progress(summary.frames);
        }
        Ok(summary)
    }
}
