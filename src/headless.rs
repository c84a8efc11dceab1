//! Headless rendering: one API over the GPU path (a device of its own and an offscreen
//! target) and the CPU renderer, both fed by the same streaming manager, for `tessera
//! render`, the benchmarks, the example and the tests. `Backend::Auto` is decided here,
//! before any device is opened.

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, MosaicRenderer, OffscreenTarget, OFFSCREEN_FORMAT};
use crate::playback::Playback;
use crate::renderer::{Backend, Choice, CpuRenderer, Frame, RenderOptions, Streaming, ASKED};
use crate::scene::Scene;
use crate::streaming::{FrameStats, StreamingManager};
use crate::style::RenderStyle;
use crate::tint::CellColours;
use crate::view::Camera;
use std::sync::Arc;
use std::time::Duration;

/// The device and offscreen target the GPU renderer draws with.
struct GpuTarget {
    ctx: GpuContext,
    target: OffscreenTarget,
}

/// Frame sizes the headless renderer accepts, per side.
pub const MAX_FRAME_SIDE: u32 = 16384;

/// Frames to memory, on the GPU (a device and an offscreen target of its own) or the CPU
/// renderer: for `tessera render`, the benchmarks, tests and programs without a window.
pub struct HeadlessRenderer {
    /// The GPU renderer with its device and target, or the CPU one with its last frame.
    renderer: AnyRenderer<GpuTarget, Vec<u8>>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
}

impl HeadlessRenderer {
    /// Opens the renderer `opts.backend` asks for (`Auto`: the faster for this machine),
    /// sized `opts.width × opts.height`, and starts streaming `scene`.
    pub fn new(scene: Scene, opts: &RenderOptions) -> Result<HeadlessRenderer> {
        let (w, h) = (opts.width, opts.height);
        if !(1..=MAX_FRAME_SIDE).contains(&w) || !(1..=MAX_FRAME_SIDE).contains(&h) {
            return Err(Error::Options(format!(
                "frame size {w}×{h}: each side must be 1..={MAX_FRAME_SIDE}"
            )));
        }
        let adapter = opts.adapter.as_deref();
        let (device, why) = match opts.backend {
            Backend::Gpu => (Some(GpuContext::headless(adapter)?), ASKED.into()),
            Backend::Cpu => (None, ASKED.into()),
            Backend::Auto => match GpuContext::headless_adapter(adapter) {
                Ok((instance, chosen)) => {
                    let Choice { backend, why } = crate::gpu::auto_choice(&chosen, adapter);
                    let device = (backend == Backend::Gpu)
                        .then(|| GpuContext::open(instance, chosen))
                        .transpose()?;
                    (device, why)
                }
                // A named adapter that is not there is the user's mistake, not a reason to
                // fall back.
                Err(e) if adapter.is_some() => return Err(e),
                Err(e) => {
                    tracing::debug!("no GPU adapter: {e}");
                    (None, crate::renderer::choose_backend(None, false).why)
                }
            },
        };
        let renderer = match device {
            Some(ctx) => {
                let renderer =
                    MosaicRenderer::new(&ctx.device, &ctx.queue, OFFSCREEN_FORMAT, scene, opts)?;
                let target = OffscreenTarget::new(&ctx.device, w, h);
                AnyRenderer::Gpu(Box::new(renderer), GpuTarget { ctx, target })
            }
            None => AnyRenderer::Cpu(Box::new(CpuRenderer::new(scene, opts)?), Vec::new()),
        };
        let r = HeadlessRenderer {
            renderer,
            width: w,
            height: h,
        };
        tracing::info!("draws with {}: {why}", r.describe());
        Ok(r)
    }

    /// The renderer inside: its scene, streaming figures, style and layout.
    pub fn renderer(&self) -> &dyn Streaming {
        &*self.renderer
    }
    /// The mosaic being drawn.
    pub fn scene(&self) -> &Scene {
        self.renderer.scene()
    }
    /// The streaming manager (residency, figures).
    pub fn stream(&self) -> &StreamingManager {
        self.renderer.stream()
    }

    /// Atlas bytes allocated (GPU) or planned (CPU).
    pub fn atlas_bytes(&self) -> u64 {
        match &self.renderer {
            AnyRenderer::Gpu(r, _) => r.atlas_bytes(),
            AnyRenderer::Cpu(r, _) => r.layout().bytes(),
        }
    }

    /// The GPU device this renderer draws with (none for the CPU renderer).
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        match &self.renderer {
            AnyRenderer::Gpu(_, g) => Some(&g.ctx),
            AnyRenderer::Cpu(..) => None,
        }
    }

    /// "adapter (backend, type)" or "CPU renderer (N threads)".
    pub fn describe(&self) -> String {
        match &self.renderer {
            AnyRenderer::Gpu(_, g) => g.ctx.describe(),
            AnyRenderer::Cpu(..) => format!(
                "{} ({} threads)",
                self.renderer.name(),
                rayon::current_num_threads()
            ),
        }
    }

    /// The whole mosaic, as large as fits the frame.
    pub fn fit(&self) -> Camera {
        self.scene().fit(self.width, self.height)
    }

    /// The moment clips are drawn at (and whether they play), from the next update on.
    pub fn set_playback(&mut self, playback: Playback) {
        self.renderer.set_playback(playback);
    }

    /// Draws `grid` from the next update on (a video target's next frame, whose cell means
    /// are `colours`).
    pub fn set_grid(&mut self, grid: Arc<Vec<u32>>, colours: CellColours) {
        self.renderer.set_grid(grid, colours);
    }

    /// How frames look; may be changed between frames.
    pub fn style_mut(&mut self) -> &mut RenderStyle {
        self.renderer.style_mut()
    }

    /// One frame of streaming for `camera` (no drawing): the frame to `draw`.
    pub fn update(&mut self, camera: &Camera) -> Frame {
        self.renderer.update(camera, self.width, self.height)
    }

    /// Streams until `camera`'s view is complete (or `timeout`): the frame to `draw`.
    pub fn settle(&mut self, camera: &Camera, timeout: Duration) -> Frame {
        self.renderer
            .settle(camera, self.width, self.height, timeout)
    }

    /// Draws `frame` with whatever is resident and waits for it to finish; `read_back`
    /// also copies it to memory (see `pixels`).
    pub fn draw(&mut self, frame: &Frame, read_back: bool) -> Result<()> {
        match &mut self.renderer {
            AnyRenderer::Gpu(renderer, GpuTarget { ctx, target }) => {
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                renderer.encode(&mut encoder, &target.view, frame);
                if read_back {
                    target.encode_copy(&mut encoder);
                }
                ctx.queue.submit([encoder.finish()]);
                ctx.wait_idle();
            }
            AnyRenderer::Cpu(renderer, pixels) => renderer.draw_into(frame, pixels),
        }
        Ok(())
    }

    /// CPU renderer: draws `frame`'s copy floor (see `cpu_render::copy_floor_into`) into
    /// the frame buffer. False, drawing nothing, on the GPU or below a pixel per cell.
    pub fn draw_copy_floor(&mut self, frame: &Frame) -> bool {
        match &mut self.renderer {
            AnyRenderer::Cpu(r, pixels) => r.draw_copy_floor(frame, pixels),
            AnyRenderer::Gpu(..) => false,
        }
    }

    /// The last drawn frame as RGBA8 (GPU: the frame must have been drawn with `read_back`).
    pub fn pixels(&mut self) -> Result<Vec<u8>> {
        match &self.renderer {
            AnyRenderer::Gpu(_, g) => g.target.read(),
            AnyRenderer::Cpu(_, pixels) => Ok(pixels.clone()),
        }
    }

    /// Settles, draws and reads back one sharp frame.
    pub fn render(&mut self, camera: &Camera) -> Result<(image::RgbaImage, FrameStats)> {
        let frame = self.settle(camera, Duration::from_secs(60));
        self.draw(&frame, true)?;
        let pixels = self.pixels()?;
        let img = image::RgbaImage::from_raw(self.width, self.height, pixels).expect("frame size");
        Ok((img, frame.stats))
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
    /// Frames written.
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
        let frame = match pacing {
            Pacing::Sharp => self.settle(camera, Duration::from_secs(60)),
            Pacing::Live => self.update(camera),
        };
        self.draw(&frame, true)?;
        Ok((self.pixels()?, frame.stats))
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
            self.record_frame(&camera, playback, pacing, video, &mut summary)?;
            progress(summary.frames);
        }
        Ok(summary)
    }

    /// One frame of a recording: `camera` with clips at `playback`, streamed as `pacing`
    /// says, drawn, read back and handed to `video`, counted in `summary`.
    pub fn record_frame(
        &mut self,
        camera: &Camera,
        playback: Playback,
        pacing: Pacing,
        video: &mut crate::video::VideoWriter,
        summary: &mut RecordSummary,
    ) -> Result<()> {
        self.set_playback(playback);
        let started = std::time::Instant::now();
        let (pixels, stats) = self.video_frame(camera, pacing)?;
        summary.render_secs += started.elapsed().as_secs_f64();
        summary.max_missing = summary.max_missing.max(stats.missing);
        video.write_frame(pixels)?;
        summary.frames += 1;
        Ok(())
    }
}

/// The GPU or the CPU renderer, behind one set of streaming calls, each with what its host
/// keeps beside it to show frames: `G` with the GPU renderer, `C` with the CPU one (a
/// headless target, a window's blit and frame buffer). Held together, a host cannot pair a
/// renderer with the other one's companion.
pub enum AnyRenderer<G = (), C = ()> {
    /// The GPU renderer, and what its host keeps beside it.
    Gpu(Box<MosaicRenderer>, G),
    /// The CPU renderer, and what its host keeps beside it.
    Cpu(Box<CpuRenderer>, C),
}

impl<G, C> AnyRenderer<G, C> {
    /// "GPU renderer" or "CPU renderer", for logs and the viewer's title.
    pub fn name(&self) -> &'static str {
        match self {
            AnyRenderer::Gpu(..) => "GPU renderer",
            AnyRenderer::Cpu(..) => "CPU renderer",
        }
    }
}

/// Whichever renderer it is, streaming is the same calls.
impl<G, C> std::ops::Deref for AnyRenderer<G, C> {
    type Target = dyn Streaming;
    fn deref(&self) -> &Self::Target {
        match self {
            AnyRenderer::Gpu(r, _) => &**r,
            AnyRenderer::Cpu(r, _) => &**r,
        }
    }
}

impl<G, C> std::ops::DerefMut for AnyRenderer<G, C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            AnyRenderer::Gpu(r, _) => &mut **r,
            AnyRenderer::Cpu(r, _) => &mut **r,
        }
    }
}
