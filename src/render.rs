//! Headless rendering: one API over the GPU path and the CPU reference, both fed by the
//! same streaming manager, for `tessera render`, the benchmarks, the example and the tests.

use crate::atlas::AtlasLayout;
use crate::cpu_render::{self, CpuAtlas, RenderStyle};
use crate::gpu::{GpuContext, GpuMosaic, OffscreenTarget, OFFSCREEN_FORMAT};
use crate::scene::Scene;
use crate::streaming::{FrameStats, StreamConfig, StreamingManager};
use crate::view::{Camera, FrameView};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// wgpu: the best adapter there is, or Mesa's software rasteriser (llvmpipe).
    Gpu,
    /// The CPU reference renderer.
    Cpu,
}

#[derive(Clone, Debug)]
pub struct RenderOptions {
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

enum Engine {
    Gpu {
        ctx: GpuContext,
        mosaic: Box<GpuMosaic>,
        target: OffscreenTarget,
    },
    Cpu {
        atlas: CpuAtlas,
        frame: Vec<u8>,
    },
}

pub struct HeadlessRenderer {
    pub scene: Scene,
    engine: Engine,
    stream: StreamingManager,
    layout: AtlasLayout,
    pub width: u32,
    pub height: u32,
    pub style: RenderStyle,
}

impl HeadlessRenderer {
    pub fn new(mut scene: Scene, opts: &RenderOptions) -> anyhow::Result<HeadlessRenderer> {
        let (w, h) = (opts.width, opts.height);
        anyhow::ensure!(
            w > 0 && h > 0 && w <= 16384 && h <= 16384,
            "frame size {w}×{h}: each side must be 1..=16384"
        );
        let (engine, layout) = match opts.backend {
            Backend::Gpu => {
                let ctx = GpuContext::headless(opts.adapter.as_deref())?;
                let layout = scene.plan(
                    (w, h),
                    opts.stream.gpu_budget,
                    ctx.device.limits().max_texture_array_layers,
                )?;
                let mosaic = Box::new(GpuMosaic::new(&ctx, &scene, &layout, OFFSCREEN_FORMAT)?);
                scene.release_overview();
                let target = OffscreenTarget::new(&ctx, w, h);
                (
                    Engine::Gpu {
                        ctx,
                        mosaic,
                        target,
                    },
                    layout,
                )
            }
            Backend::Cpu => {
                // The CPU twin honours the same layer limit as the software Vulkan adapter.
                let layout = scene.plan((w, h), opts.stream.gpu_budget, 2048)?;
                (
                    Engine::Cpu {
                        atlas: CpuAtlas::new(&layout, scene.library.tile_count()),
                        frame: Vec::new(),
                    },
                    layout,
                )
            }
        };
        let mut stream = StreamingManager::new(
            scene.library.clone(),
            scene.grid.clone(),
            scene.cols(),
            &layout,
            opts.stream,
        );
        let mut engine = engine;
        stream.init_backend(backend_of(&mut engine), &scene.level0);
        Ok(HeadlessRenderer {
            scene,
            engine,
            stream,
            layout,
            width: w,
            height: h,
            style: opts.style,
        })
    }

    pub fn layout(&self) -> &AtlasLayout {
        &self.layout
    }
    pub fn stream(&self) -> &StreamingManager {
        &self.stream
    }

    /// Atlas bytes allocated (GPU) or planned (CPU).
    pub fn atlas_bytes(&self) -> u64 {
        match &self.engine {
            Engine::Gpu { mosaic, .. } => mosaic.atlas_bytes(),
            Engine::Cpu { .. } => self.layout.bytes(),
        }
    }

    pub fn is_gpu(&self) -> bool {
        matches!(self.engine, Engine::Gpu { .. })
    }

    /// "adapter (backend, type)" or "cpu reference".
    pub fn describe(&self) -> String {
        match &self.engine {
            Engine::Gpu { ctx, .. } => ctx.describe(),
            Engine::Cpu { .. } => {
                format!("cpu reference ({} threads)", rayon::current_num_threads())
            }
        }
    }

    pub fn frame_view(&self, camera: &Camera) -> FrameView {
        self.scene.frame_view(camera, self.width, self.height)
    }

    /// One frame of streaming for `camera` (no drawing).
    pub fn update(&mut self, camera: &Camera) -> FrameStats {
        let view = self.frame_view(camera);
        self.stream.update(&view, backend_of(&mut self.engine))
    }

    /// Streams until `camera`'s view is complete (or `timeout`).
    pub fn settle(&mut self, camera: &Camera, timeout: std::time::Duration) -> FrameStats {
        let view = self.frame_view(camera);
        self.stream
            .settle(&view, backend_of(&mut self.engine), timeout)
    }

    /// Draws `camera` with whatever is resident and waits for it to finish; `read_back`
    /// also copies it to memory (see `pixels`).
    pub fn draw(&mut self, camera: &Camera, read_back: bool) -> anyhow::Result<()> {
        let view = self.frame_view(camera);
        match &mut self.engine {
            Engine::Gpu {
                ctx,
                mosaic,
                target,
            } => {
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                mosaic.encode(&mut encoder, &target.view, &view, &self.style);
                if read_back {
                    target.encode_copy(&mut encoder);
                }
                ctx.queue.submit([encoder.finish()]);
                ctx.wait_idle();
            }
            Engine::Cpu { atlas, frame } => {
                *frame = cpu_render::render(
                    &view,
                    &self.scene.grid,
                    atlas,
                    &self.scene.overview,
                    &self.style,
                );
            }
        }
        Ok(())
    }

    /// Times the one-fetch floor shader with read-back at this frame size: `(median, p99)` ms
    /// over `frames` frames. `None` on the CPU engine.
    pub fn floor_ms(&mut self, frames: usize) -> Option<(f64, f64)> {
        let Engine::Gpu { ctx, target, .. } = &self.engine else {
            return None;
        };
        let probe = crate::gpu::FloorProbe::new(ctx, self.width, self.height, OFFSCREEN_FORMAT);
        let mut times = Vec::with_capacity(frames);
        for i in 0..frames + 3 {
            let t = std::time::Instant::now();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            probe.encode(&mut encoder, &target.view);
            target.encode_copy(&mut encoder);
            ctx.queue.submit([encoder.finish()]);
            target.read(ctx).ok()?;
            if i >= 3 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        Some(crate::bench::median_p99(&mut times))
    }

    /// The last drawn frame as RGBA8 (GPU: the frame must have been drawn with `read_back`).
    pub fn pixels(&mut self) -> anyhow::Result<Vec<u8>> {
        match &mut self.engine {
            Engine::Gpu { ctx, target, .. } => target.read(ctx),
            Engine::Cpu { frame, .. } => Ok(frame.clone()),
        }
    }

    /// Settles, draws and reads back one sharp frame.
    pub fn render(&mut self, camera: &Camera) -> anyhow::Result<(image::RgbaImage, FrameStats)> {
        let stats = self.settle(camera, std::time::Duration::from_secs(60));
        self.draw(camera, true)?;
        let pixels = self.pixels()?;
        let img = image::RgbaImage::from_raw(self.width, self.height, pixels).expect("frame size");
        Ok((img, stats))
    }
}

/// How `HeadlessRenderer::record` streams pages between frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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
    /// Renders `cameras` in order and hands each frame to `video`; `progress` is called after
    /// every frame with the count so far.
    pub fn record(
        &mut self,
        cameras: impl IntoIterator<Item = Camera>,
        pacing: Pacing,
        video: &mut crate::video::VideoWriter,
        mut progress: impl FnMut(usize),
    ) -> anyhow::Result<RecordSummary> {
        let mut summary = RecordSummary::default();
        for camera in cameras {
            let started = std::time::Instant::now();
            let stats = match pacing {
                Pacing::Sharp => self.settle(&camera, std::time::Duration::from_secs(60)),
                Pacing::Live => self.update(&camera),
            };
            self.draw(&camera, true)?;
            let pixels = self.pixels()?;
            summary.render_secs += started.elapsed().as_secs_f64();
            summary.max_missing = summary.max_missing.max(stats.missing);
            video.write_frame(pixels)?;
            summary.frames += 1;
            progress(summary.frames);
        }
        Ok(summary)
    }
}

fn backend_of(engine: &mut Engine) -> &mut dyn crate::atlas::AtlasBackend {
    match engine {
        Engine::Gpu { mosaic, .. } => mosaic.as_mut(),
        Engine::Cpu { atlas, .. } => atlas,
    }
}
