//! tessera inside someone else's application: the host owns the window, the wgpu instance,
//! device and queue, and its render pass; tessera draws the mosaic into a rectangle of that
//! pass. Here the host clears its frame to a slate colour and keeps a 40-pixel border of
//! its own around the mosaic (where a real application would draw its interface).
//!
//! ```text
//! cargo run --release --example embed -- MOSAIC
//! ```
//! Mouse wheel zooms about the pointer; Esc quits.

use std::path::Path;
use std::sync::Arc;
use tessera::{Camera, MosaicRenderer, RenderOptions, Scene, Streaming, Viewport};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

/// The host's own border around the mosaic, pixels.
const BORDER: u32 = 40;
/// The host's background (sRGB 40, 44, 52 in linear light).
const HOST_CLEAR: wgpu::Color = wgpu::Color {
    r: 0.021_219,
    g: 0.025_187,
    b: 0.034_340,
    a: 1.0,
};

fn main() -> anyhow::Result<()> {
    let mosaic = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: embed MOSAIC"))?;
    run(EventLoop::new()?, mosaic.as_ref(), None)
}

/// What a scripted run does: stop after `frames` frames and hand the last one, read back
/// as RGBA8, to `done`.
struct Script {
    frames: u64,
    done: Box<dyn FnMut(u32, u32, Vec<u8>)>,
}

fn run(event_loop: EventLoop<()>, mosaic: &Path, script: Option<Script>) -> anyhow::Result<()> {
    let mut host = Host {
        scene: Some(Scene::open(mosaic)?),
        gpu: None,
        camera: None,
        cursor: glam::DVec2::ZERO,
        frames: 0,
        script,
        error: None,
    };
    event_loop.run_app(&mut host)?;
    host.error.map_or(Ok(()), Err)
}

/// The host application's GPU state: everything here is the host's, not tessera's.
struct HostGpu {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    device: wgpu::Device,
    queue: wgpu::Queue,
    mosaic: MosaicRenderer,
}

struct Host {
    scene: Option<Scene>,
    gpu: Option<HostGpu>,
    camera: Option<Camera>,
    cursor: glam::DVec2,
    frames: u64,
    script: Option<Script>,
    error: Option<anyhow::Error>,
}

impl Host {
    fn init(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<HostGpu> {
        let window = Arc::new(
            event_loop.create_window(
                Window::default_attributes()
                    .with_title("a host application with tessera inside")
                    .with_inner_size(winit::dpi::PhysicalSize::new(640, 400)),
            )?,
        );
        // The host's usual wgpu set-up.
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let surface = instance.create_surface(window.clone())?;
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            compatible_surface: Some(&surface),
            ..Default::default()
        }))?;
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                required_limits: adapter.limits(),
                ..Default::default()
            }))?;
        let size = window.inner_size();
        let caps = surface.get_capabilities(&adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb())
            .unwrap_or(caps.formats[0]);
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode: wgpu::PresentMode::AutoVsync,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps.alpha_modes[0],
            view_formats: vec![],
        };
        surface.configure(&device, &config);

        // tessera on the host's device, for the host's target format, planned for a
        // viewport up to the window's size.
        let options = RenderOptions {
            width: config.width,
            height: config.height,
            ..Default::default()
        };
        let scene = self.scene.take().expect("opened once");
        let mosaic = MosaicRenderer::new(&device, &queue, format, scene, &options)?;
        let viewport = viewport(&config);
        self.camera = Some(mosaic.scene().fit(viewport.width, viewport.height));
        Ok(HostGpu {
            window,
            surface,
            config,
            device,
            queue,
            mosaic,
        })
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let (Some(gpu), Some(camera)) = (self.gpu.as_mut(), self.camera) else {
            return Ok(());
        };
        let viewport = viewport(&gpu.config);
        // 1. Streaming: what this view needs, within the budgets; never waits for the disk.
        let mosaic = gpu.mosaic.update(&camera, viewport.width, viewport.height);
        let frame = match gpu.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            _ => {
                gpu.surface.configure(&gpu.device, &gpu.config);
                gpu.window.request_redraw();
                return Ok(());
            }
        };
        let target = frame.texture.create_view(&Default::default());
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        // 2. Uploads and uniforms go into the host's encoder, before its pass.
        gpu.mosaic.prepare(&mut encoder, &mosaic, viewport);
        let scripted_end = self.script.as_ref().map(|s| self.frames + 1 >= s.frames);
        let capture = scripted_end.unwrap_or(false).then(|| {
            tessera::render::OffscreenTarget::with_format(
                &gpu.device,
                gpu.config.width,
                gpu.config.height,
                gpu.config.format,
            )
        });
        // 3. The host's render pass: its own clear, then the mosaic in the viewport. (A
        // scripted run draws the same pass into a texture it can read back.)
        for view in std::iter::once(&target).chain(capture.as_ref().map(|c| &c.view)) {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("host pass"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(HOST_CLEAR),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            gpu.mosaic.draw(&mut pass);
        }
        if let Some(c) = &capture {
            c.encode_copy(&mut encoder);
        }
        gpu.queue.submit([encoder.finish()]);
        gpu.window.pre_present_notify();
        gpu.queue.present(frame);
        self.frames += 1;
        if let (Some(c), Some(script)) = (capture, self.script.as_mut()) {
            let mut rgba = c.read()?;
            if matches!(
                gpu.config.format,
                wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
            ) {
                rgba.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
            }
            (script.done)(gpu.config.width, gpu.config.height, rgba);
            event_loop.exit();
        } else if mosaic.stats.missing > 0 || mosaic.stats.in_flight > 0 || self.script.is_some() {
            gpu.window.request_redraw();
        }
        Ok(())
    }
}

/// The host keeps a border of its own: the mosaic gets the rest of the window.
fn viewport(config: &wgpu::SurfaceConfiguration) -> Viewport {
    Viewport {
        x: BORDER,
        y: BORDER,
        width: config.width.saturating_sub(2 * BORDER).max(1),
        height: config.height.saturating_sub(2 * BORDER).max(1),
    }
}

impl ApplicationHandler for Host {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gpu.is_none() {
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
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw(event_loop) {
                    self.error = Some(e);
                    event_loop.exit();
                }
            }
            WindowEvent::Resized(size) => {
                if let Some(gpu) = self.gpu.as_mut() {
                    gpu.config.width = size.width.max(1);
                    gpu.config.height = size.height.max(1);
                    gpu.surface.configure(&gpu.device, &gpu.config);
                    gpu.window.request_redraw();
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                self.cursor = glam::DVec2::new(position.x, position.y);
            }
            WindowEvent::MouseWheel { delta, .. } => {
                if let (Some(gpu), Some(camera)) = (&self.gpu, self.camera.as_mut()) {
                    let steps = match delta {
                        MouseScrollDelta::LineDelta(_, y) => y as f64,
                        MouseScrollDelta::PixelDelta(p) => p.y / 60.0,
                    };
                    let v = viewport(&gpu.config);
                    let at = self.cursor - glam::DVec2::new(v.x as f64, v.y as f64);
                    let shape = gpu.mosaic.scene().cell_shape();
                    camera.zoom_at(1.15f64.powf(steps), at, (v.width, v.height), shape);
                    gpu.window.request_redraw();
                }
            }
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed
                    && event.logical_key == Key::Named(NamedKey::Escape) =>
            {
                event_loop.exit()
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tessera::library::{self, BakeOptions, StoreParams};
    use tessera::matching::{make_mosaic, CellSpec, MatchOptions};
    use tessera::{Backend, HeadlessRenderer};

    #[test]
    fn the_host_window_shows_its_border_and_the_mosaic_in_its_viewport() {
        assert!(
            std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
            "this test opens a window: run it under `xvfb-run -a` (scripts/test.sh does; Debian package xvfb)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tiles = dir.path().join("tiles");
        std::fs::create_dir_all(&tiles).unwrap();
        for i in 0..10u32 {
            image::RgbImage::from_fn(40, 40, |x, y| {
                image::Rgb([(x * 6 + i * 25) as u8, (y * 6) as u8, (i * 23 % 256) as u8])
            })
            .save(tiles.join(format!("t{i}.png")))
            .unwrap();
        }
        let lib = dir.path().join("lib.tlib");
        library::bake(&BakeOptions {
            tiles_dir: tiles,
            out: lib.clone(),
            params: StoreParams::new(32, 1),
            rebuild: false,
            shard: None,
            progress: None,
            shots: Default::default(),
        })
        .unwrap();
        let target = dir.path().join("target.png");
        image::RgbImage::from_fn(90, 60, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 4) as u8, 128])
        })
        .save(&target)
        .unwrap();
        let mosaic = dir.path().join("m.mosaic");
        let library = library::Library::open(&lib).unwrap();
        let cells = CellSpec::Exact { cols: 28, rows: 16 };
        make_mosaic(&library, &target, cells, MatchOptions::default(), &mosaic)
            .unwrap()
            .save(&mosaic)
            .unwrap();

        // Tests run off the main thread; a host doing the same would say so too.
        use winit::platform::x11::EventLoopBuilderExtX11;
        let event_loop = EventLoop::builder().with_any_thread(true).build().unwrap();
        let shot: Arc<Mutex<Option<(u32, u32, Vec<u8>)>>> = Default::default();
        let sink = shot.clone();
        run(
            event_loop,
            &mosaic,
            Some(Script {
                frames: 10,
                done: Box::new(move |w, h, rgba| *sink.lock().unwrap() = Some((w, h, rgba))),
            }),
        )
        .unwrap();
        let (w, h, frame) = shot.lock().unwrap().take().expect("a frame was captured");

        // The host's border is the host's colour.
        let at = |x: u32, y: u32| &frame[((y * w + x) * 4) as usize..][..3];
        for (x, y) in [
            (2, 2),
            (w - 3, h / 2),
            (w / 2, h - 3),
            (BORDER - 1, BORDER - 1),
        ] {
            assert_eq!(at(x, y), [40, 44, 52], "border pixel ({x},{y})");
        }
        // The viewport holds the same frame the CPU reference draws at that size.
        let v = Viewport {
            x: BORDER,
            y: BORDER,
            width: w - 2 * BORDER,
            height: h - 2 * BORDER,
        };
        let opts = RenderOptions {
            width: v.width,
            height: v.height,
            backend: Backend::Cpu,
            ..Default::default()
        };
        let mut cpu = HeadlessRenderer::new(Scene::open(&mosaic).unwrap(), &opts).unwrap();
        let (reference, _) = cpu.render(&cpu.fit()).unwrap();
        let mut worst = 0;
        for y in 0..v.height {
            for x in 0..v.width {
                let got = at(v.x + x, v.y + y);
                let want = &reference.get_pixel(x, y).0[..3];
                for c in 0..3 {
                    worst = worst.max(got[c].abs_diff(want[c]));
                }
            }
        }
        assert!(
            worst <= 2,
            "viewport differs from the CPU reference by {worst}/255"
        );
    }
}
