//! The interactive viewer: a winit window drawing the mosaic through the same GPU pipeline
//! and streaming manager as headless rendering.
//!
//! Mouse: wheel zooms at the cursor, left-drag pans. Keys: +/- zoom, arrows pan, Home or 0
//! fits the whole mosaic, L toggles the level overlay, Esc or Q quits. The title bar shows
//! frame time, zoom, and pages still streaming.

use crate::cpu_render::RenderStyle;
use crate::gpu::{GpuContext, GpuMosaic};
use crate::scene::Scene;
use crate::streaming::{StreamConfig, StreamingManager};
use crate::view::Camera;
use glam::DVec2;
use std::path::PathBuf;
use std::sync::Arc;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

pub struct ViewerOptions {
    pub size: (u32, u32),
    pub camera: Option<Camera>,
    pub stream: StreamConfig,
    pub style: RenderStyle,
    pub adapter: Option<String>,
    /// Quit after this many frames (for tests and scripted captures).
    pub exit_after: Option<u64>,
    /// Save the last frame shown to this PNG before quitting.
    pub screenshot: Option<PathBuf>,
}

struct Gpu {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    ctx: GpuContext,
    mosaic: GpuMosaic,
    stream: StreamingManager,
    /// The window size the atlas plan was made for.
    planned: (u32, u32),
}

struct App {
    scene: Scene,
    opts: ViewerOptions,
    gpu: Option<Gpu>,
    camera: Camera,
    cursor: DVec2,
    dragging: bool,
    frames: u64,
    last_frame: std::time::Instant,
    error: Option<anyhow::Error>,
}

/// Opens the window and runs until it is closed.
pub fn run(scene: Scene, opts: ViewerOptions) -> anyhow::Result<()> {
    crate::gpu::quiet_runtime_dir();
    let event_loop = EventLoop::new().map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window: {e} (no display? run under a desktop session or `xvfb-run`)"
        )
    })?;
    let camera = opts
        .camera
        .unwrap_or_else(|| scene.fit(opts.size.0, opts.size.1));
    let mut app = App {
        scene,
        opts,
        gpu: None,
        camera,
        cursor: DVec2::ZERO,
        dragging: false,
        frames: 0,
        last_frame: std::time::Instant::now(),
        error: None,
    };
    event_loop.run_app(&mut app)?;
    match app.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl App {
    fn init(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<Gpu> {
        let attrs = Window::default_attributes()
            .with_title("tessera")
            .with_inner_size(winit::dpi::PhysicalSize::new(
                self.opts.size.0,
                self.opts.size.1,
            ));
        let window = Arc::new(event_loop.create_window(attrs)?);
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let surface = instance.create_surface(window.clone())?;
        let ctx =
            GpuContext::with_instance(instance, Some(&surface), self.opts.adapter.as_deref())?;
        let size = window.inner_size();
        let caps = surface.get_capabilities(&ctx.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb())
            .unwrap_or(caps.formats[0]);
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if self.opts.screenshot.is_some() && caps.usages.contains(wgpu::TextureUsages::COPY_SRC) {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        let config = wgpu::SurfaceConfiguration {
            usage,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: size.width.max(1),
            height: size.height.max(1),
            // lavapipe's default is Immediate; a viewer wants vsync where there is one.
            present_mode: wgpu::PresentMode::AutoVsync,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps.alpha_modes[0],
            view_formats: vec![],
        };
        surface.configure(&ctx.device, &config);
        tracing::info!("viewer on {}, surface {:?}", ctx.describe(), format);
        // Plan the atlas for the largest the window can become (its monitor), so resizing
        // never outgrows the paged levels' share.
        let planned = window
            .current_monitor()
            .map(|m| m.size())
            .map(|m| (m.width.max(config.width), m.height.max(config.height)))
            .unwrap_or((config.width, config.height));
        let layout = self.scene.plan(
            planned,
            self.opts.stream.gpu_budget,
            ctx.device.limits().max_texture_array_layers,
        )?;
        let mut mosaic = GpuMosaic::new(&ctx, &self.scene, &layout, format)?;
        self.scene.release_overview();
        let mut stream = StreamingManager::new(
            self.scene.library.clone(),
            self.scene.grid.clone(),
            self.scene.cols(),
            &layout,
            self.opts.stream,
        );
        stream.init_backend(&mut mosaic, &self.scene.level0);
        Ok(Gpu {
            window,
            surface,
            config,
            ctx,
            mosaic,
            stream,
            planned,
        })
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let Some(gpu) = self.gpu.as_mut() else {
            return Ok(());
        };
        let view = self
            .scene
            .frame_view(&self.camera, gpu.config.width, gpu.config.height);
        let stats = gpu.stream.update(&view, &mut gpu.mosaic);
        let frame = match gpu.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                gpu.window.request_redraw();
                return Ok(());
            }
            other => {
                tracing::debug!("surface {other:?}: reconfiguring");
                gpu.surface.configure(&gpu.ctx.device, &gpu.config);
                gpu.window.request_redraw();
                return Ok(());
            }
        };
        let target = frame.texture.create_view(&Default::default());
        let mut encoder = gpu.ctx.device.create_command_encoder(&Default::default());
        gpu.mosaic
            .encode(&mut encoder, &target, &view, &self.opts.style);
        self.frames += 1;
        let last = self.opts.exit_after.is_some_and(|n| self.frames >= n);
        let capture = if last {
            self.opts.screenshot.as_ref()
        } else {
            None
        };
        let readback = capture.map(|_| {
            if gpu.config.usage.contains(wgpu::TextureUsages::COPY_SRC) {
                // The frame the window shows, copied as is.
                let t = crate::gpu::OffscreenTarget::for_texture(&gpu.ctx, &frame.texture);
                t.encode_copy(&mut encoder);
                t
            } else {
                // Surfaces that cannot be copied from (GL): the same draw once more into an
                // offscreen texture of the surface's format and size.
                let t = crate::gpu::OffscreenTarget::with_format(
                    &gpu.ctx,
                    gpu.config.width,
                    gpu.config.height,
                    gpu.config.format,
                );
                gpu.mosaic
                    .encode(&mut encoder, &t.view, &view, &self.opts.style);
                t.encode_copy(&mut encoder);
                t
            }
        });
        gpu.ctx.queue.submit([encoder.finish()]);
        // Hands finished upload buffers back to the staging belt without blocking.
        let _ = gpu.ctx.device.poll(wgpu::PollType::Poll);
        if let (Some(t), Some(path)) = (readback, capture) {
            let mut rgba = t.read(&gpu.ctx)?;
            if matches!(
                gpu.config.format,
                wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
            ) {
                rgba.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
            }
            image::RgbaImage::from_raw(gpu.config.width, gpu.config.height, rgba)
                .expect("frame size")
                .save(path)?;
        }
        gpu.window.pre_present_notify();
        gpu.ctx.queue.present(frame);

        let now = std::time::Instant::now();
        let ms = (now - self.last_frame).as_secs_f64() * 1e3;
        self.last_frame = now;
        gpu.window.set_title(&format!(
            "tessera — {:.1} px/cell, level {}, {:.1} ms{}",
            self.camera.cell_px,
            view.levels.hi,
            ms,
            if stats.missing > 0 {
                format!(", streaming {} pages", stats.missing)
            } else {
                String::new()
            }
        ));
        if last {
            event_loop.exit();
        } else if stats.missing > 0 || stats.in_flight > 0 || self.opts.exit_after.is_some() {
            gpu.window.request_redraw();
        }
        Ok(())
    }

    fn changed(&self) {
        if let Some(gpu) = &self.gpu {
            gpu.window.request_redraw();
        }
    }

    fn screen(&self) -> (u32, u32) {
        self.gpu
            .as_ref()
            .map(|g| (g.config.width, g.config.height))
            .unwrap_or(self.opts.size)
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gpu.is_some() {
            return;
        }
        match self.init(event_loop) {
            Ok(gpu) => {
                gpu.window.request_redraw();
                self.gpu = Some(gpu);
            }
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        let (w, h) = self.screen();
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                if let Some(gpu) = self.gpu.as_mut() {
                    gpu.config.width = size.width.max(1);
                    gpu.config.height = size.height.max(1);
                    gpu.surface.configure(&gpu.ctx.device, &gpu.config);
                    if gpu.config.width > gpu.planned.0 || gpu.config.height > gpu.planned.1 {
                        tracing::warn!(
                            "window {}×{} is larger than the {}×{} the atlas was planned for: \
                             at some zooms pages may stay one level coarser",
                            gpu.config.width,
                            gpu.config.height,
                            gpu.planned.0,
                            gpu.planned.1
                        );
                        gpu.planned = (gpu.config.width, gpu.config.height); // warn once per growth
                    }
                }
                self.changed();
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw(event_loop) {
                    self.error = Some(e);
                    event_loop.exit();
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                let p = DVec2::new(position.x, position.y);
                if self.dragging {
                    self.camera.pan_pixels(p - self.cursor);
                    self.changed();
                }
                self.cursor = p;
            }
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => self.dragging = state == ElementState::Pressed,
            WindowEvent::MouseWheel { delta, .. } => {
                let steps = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y as f64,
                    MouseScrollDelta::PixelDelta(p) => p.y / 60.0,
                };
                self.camera.zoom_at(1.15f64.powf(steps), self.cursor, w, h);
                self.changed();
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                let center = DVec2::new(w as f64, h as f64) * 0.5;
                let step = w.min(h) as f64 * 0.1;
                match event.logical_key.as_ref() {
                    Key::Named(NamedKey::Escape) | Key::Character("q") => event_loop.exit(),
                    Key::Named(NamedKey::Home) | Key::Character("0") => {
                        self.camera = self.scene.fit(w, h)
                    }
                    Key::Character("+") | Key::Character("=") => {
                        self.camera.zoom_at(2.0, center, w, h)
                    }
                    Key::Character("-") => self.camera.zoom_at(0.5, center, w, h),
                    Key::Named(NamedKey::ArrowLeft) => {
                        self.camera.pan_pixels(DVec2::new(step, 0.0))
                    }
                    Key::Named(NamedKey::ArrowRight) => {
                        self.camera.pan_pixels(DVec2::new(-step, 0.0))
                    }
                    Key::Named(NamedKey::ArrowUp) => self.camera.pan_pixels(DVec2::new(0.0, step)),
                    Key::Named(NamedKey::ArrowDown) => {
                        self.camera.pan_pixels(DVec2::new(0.0, -step))
                    }
                    Key::Character("l") => self.opts.style.debug_lod = !self.opts.style.debug_lod,
                    _ => return,
                }
                self.changed();
            }
            _ => {}
        }
    }
}
