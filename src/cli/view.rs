//! `tessera view`: the interactive viewer, a winit window drawing the mosaic through the
//! embeddable GPU renderer, or with the CPU renderer whose frames are uploaded and blitted
//! where the only adapter is a software rasteriser (`--renderer`; the same pipelines and
//! streaming manager as headless rendering).
//!
//! Mouse: wheel zooms at the cursor, left-drag pans (and glides on when flung), a
//! double-click flies into a cell. Keys: +/- zoom, arrows pan, Home or 0 flies back to the
//! whole mosaic, F fullscreen, S screenshot, V prints the view as a render command, T tint,
//! L level overlay, H hides the overlay panel (`overlay.rs`: minimap, tile under the
//! pointer, figures, toggles), Space pauses clips (and a video mosaic), ? lists the keys,
//! Esc or Q quits. A video mosaic plays its target: ←/→ seek 5 s (Shift+←/→ pan). Motion is eased
//! (`tessera::navigate`), and the window redraws only while something moves, streams or
//! plays.
//! The title bar shows the zoom, the level drawn, the draw time, the pages still streaming,
//! while clips play how many of the tiles on screen show a late frame, and for a video
//! mosaic the time and the target frames that came late; it ends with which renderer draws.

use super::args::{EngineArgs, PlaybackArgs, ViewArgs};
use super::overlay::{Action, Overlay, Panel};
use super::util::parse_size;
use clap::Args;
use glam::DVec2;
use std::path::PathBuf;
use std::sync::Arc;
use tessera::gpu::{FrameBlit, GpuContext, OffscreenTarget};
use tessera::motion::{LivePlayer, VideoMosaic};
use tessera::navigate::{cell_filling, Navigator};
use tessera::playback::WallClock;
use tessera::renderer::Choice;
use tessera::{
    AnyRenderer, Backend, Camera, CpuRenderer, MosaicRenderer, RenderOptions, Scene, Viewport,
};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

#[derive(Args)]
pub struct ViewCmdArgs {
    /// Mosaic file.
    mosaic: PathBuf,
    /// Window size [default: 1920x1080, or 90 % of a smaller monitor].
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Quit after this many frames (scripted captures, tests).
    #[arg(long)]
    exit_after: Option<u64>,
    /// Quit after this many seconds, drawing only what input, motion, streaming and
    /// playback ask for (scripted checks that an idle window draws nothing).
    #[arg(long, value_name = "SECONDS", conflicts_with = "exit_after")]
    quit_after: Option<f64>,
    /// With --exit-after: save the last frame shown to this PNG.
    #[arg(long, requires = "exit_after")]
    screenshot: Option<PathBuf>,
    /// Start with the overlay (minimap, tile under the pointer, figures) hidden; H shows it.
    #[arg(long)]
    no_overlay: bool,
}

/// Draw times kept for the closing log (an hour at 60 fps is 216,000).
const MAX_DRAW_TIMES: usize = 1 << 18;

/// The window size when none is asked for, unless the monitor is smaller.
const DEFAULT_SIZE: (u32, u32) = (1920, 1080);

pub fn command(a: ViewCmdArgs) -> anyhow::Result<()> {
    let scene = Scene::open(&a.mosaic)?;
    a.view.tint.check(&scene)?;
    let event_loop = EventLoop::new().map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window: {e} (no display? run under a desktop session or `xvfb-run`)"
        )
    })?;
    let mut app = App {
        scene: Some(scene),
        args: a,
        gpu: None,
        nav: None,
        cursor: DVec2::ZERO,
        dragging: false,
        last_frame: None,
        last_move: std::time::Instant::now(),
        last_click: None,
        shot: None,
        figures: String::new(),
        clock_started: std::time::Instant::now(),
        frames: 0,
        draw_ms: Vec::new(),
        clock: WallClock::start(std::time::Instant::now()),
        error: None,
        player: None,
        next_tick: None,
        shift: false,
    };
    event_loop.run_app(&mut app)?;
    let mut draw_ms = std::mem::take(&mut app.draw_ms);
    draw_ms.sort_by(f64::total_cmp);
    tracing::info!(
        "event loop ended after {} frames; median draw {:.1} ms",
        app.frames,
        draw_ms.get(draw_ms.len() / 2).copied().unwrap_or(0.0)
    );
    if let Some(p) = &app.player {
        let s = p.stats();
        tracing::info!(
            "video target: {} frames shown, {} late, {} dropped",
            s.shown,
            s.late,
            s.dropped
        );
    }
    let t = std::time::Instant::now();
    let error = app.error.take();
    drop(app);
    tracing::debug!("viewer torn down in {:?}", t.elapsed());
    error.map_or(Ok(()), Err)
}

struct Gpu {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    ctx: GpuContext,
    /// The CPU renderer comes with its frame and the blit that shows it.
    renderer: AnyRenderer<(), (Vec<u8>, FrameBlit)>,
    /// The window size the atlas plan was made for.
    planned: (u32, u32),
    overlay: Overlay,
    /// Cells each tile fills (the overlay's "used N×"; a video mosaic's first frame).
    uses: Vec<u32>,
}

struct App {
    /// Until the window opens; then the renderer owns it.
    scene: Option<Scene>,
    args: ViewCmdArgs,
    gpu: Option<Gpu>,
    /// The camera, and how it is moving.
    nav: Option<Navigator>,
    cursor: DVec2,
    dragging: bool,
    /// When the last frame was drawn: animations advance by the time between frames.
    last_frame: Option<std::time::Instant>,
    /// When the pointer last moved (a drag's speed, and whether it was held still).
    last_move: std::time::Instant,
    /// The last left press, for double-clicks.
    last_click: Option<(std::time::Instant, DVec2)>,
    /// `S` asked for a screenshot of the next frame, to this file.
    shot: Option<PathBuf>,
    /// The last frame's figures (the title's text), for the overlay.
    figures: String,
    /// When the viewer started (`--quit-after` counts from it).
    clock_started: std::time::Instant,
    frames: u64,
    /// Each frame's draw time (the title's), for the median logged at the end; the first
    /// `MAX_DRAW_TIMES` frames.
    draw_ms: Vec<f64>,
    /// Playback time of the clips and the video target (Space pauses it).
    clock: WallClock,
    error: Option<anyhow::Error>,
    /// A video mosaic's target, playing.
    player: Option<LivePlayer>,
    /// Tiles play and nothing else moves or streams: the next frame is drawn at their next
    /// tick, when their frames change, not as fast as the display allows.
    next_tick: Option<std::time::Instant>,
    shift: bool,
}

impl App {
    fn init(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<Gpu> {
        let monitor = event_loop
            .primary_monitor()
            .or_else(|| event_loop.available_monitors().next())
            .map(|m| m.size());
        let size = self.args.size.unwrap_or_else(|| match monitor {
            // Fit the monitor it opens on, with room for the desktop's bars.
            Some(m) => (
                DEFAULT_SIZE.0.min(m.width * 9 / 10).max(1),
                DEFAULT_SIZE.1.min(m.height * 9 / 10).max(1),
            ),
            None => DEFAULT_SIZE,
        });
        tracing::info!(
            "window {}×{}{}",
            size.0,
            size.1,
            monitor
                .map(|m| format!(" on a {}×{} monitor", m.width, m.height))
                .unwrap_or_default()
        );
        let attrs = Window::default_attributes()
            .with_title("tessera")
            .with_inner_size(winit::dpi::PhysicalSize::new(size.0, size.1));
        let window = Arc::new(event_loop.create_window(attrs)?);
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let surface = instance.create_surface(window.clone())?;
        let adapter = self.args.engine.adapter.as_deref();
        let asked = Backend::from(self.args.engine.renderer);
        let ctx =
            GpuContext::with_instance(instance, Some(&surface), adapter, asked != Backend::Gpu)?;
        let choice = match asked {
            Backend::Auto => tessera::gpu::auto_choice(&ctx.adapter, adapter),
            asked => Choice {
                backend: asked,
                why: tessera::renderer::ASKED.into(),
            },
        };
        let cpu = choice.backend == Backend::Cpu;
        let inner = window.inner_size();
        let caps = surface.get_capabilities(&ctx.adapter);
        // The GPU renderer writes linear colour to an sRGB target. The CPU renderer's bytes
        // are sRGB already: a plain target takes them as they are, where an sRGB one would
        // cost the blit a decode and an encode per pixel for the same bytes.
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb() != cpu)
            .unwrap_or(caps.formats[0]);
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if self.args.screenshot.is_some() && caps.usages.contains(wgpu::TextureUsages::COPY_SRC) {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        let config = wgpu::SurfaceConfiguration {
            usage,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: inner.width.max(1),
            height: inner.height.max(1),
            // lavapipe's default is Immediate; a viewer wants vsync where there is one.
            present_mode: wgpu::PresentMode::AutoVsync,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps.alpha_modes[0],
            view_formats: vec![],
        };
        surface.configure(&ctx.device, &config);
        tracing::info!("viewer on {}, surface {:?}", ctx.describe(), format);
        tracing::debug!(
            "surface formats {:?}, usages {:?}",
            caps.formats,
            caps.usages
        );
        // Plan the atlas for the largest the window can become (its monitor), so resizing
        // never outgrows the paged levels' share.
        let planned = monitor
            .map(|m| (m.width.max(config.width), m.height.max(config.height)))
            .unwrap_or((config.width, config.height));
        let scene = self.scene.take().expect("the window opens once");
        // The overlay's minimap and use counts, before the renderer takes the scene.
        let minimap = super::overlay::minimap_image(&scene.overview);
        let mut uses = vec![0u32; scene.library.tile_count() as usize];
        scene.grid.iter().for_each(|&t| uses[t as usize] += 1);
        let opts: RenderOptions = self
            .args
            .engine
            .options(planned, self.args.view.style(), false);
        let renderer = if cpu {
            let renderer = CpuRenderer::new(scene, &opts)?;
            let blit = FrameBlit::new(&ctx.device, format);
            AnyRenderer::Cpu(Box::new(renderer), (Vec::new(), blit))
        } else {
            let renderer = MosaicRenderer::new(&ctx.device, &ctx.queue, format, scene, &opts)?;
            AnyRenderer::Gpu(Box::new(renderer), ())
        };
        tracing::info!("draws with {}: {}", renderer.name(), choice.why);
        super::return_freed_memory();
        if let Some(video) = VideoMosaic::open(renderer.scene())? {
            self.player = Some(LivePlayer::new(video, 0.0)?);
        }

        let fitted = renderer.scene().fit(config.width, config.height);
        self.nav = Some(Navigator::new(if self.args.view.is_given() {
            self.args
                .view
                .camera(renderer.scene(), (config.width, config.height))
        } else {
            fitted
        }));
        let library = renderer.scene().library.clone();
        let mut overlay = Overlay::new(&window, &ctx.device, format, minimap, library);
        overlay.visible = !self.args.no_overlay;
        Ok(Gpu {
            window,
            surface,
            config,
            ctx,
            renderer,
            planned,
            overlay,
            uses,
        })
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let (Some(gpu), Some(nav)) = (self.gpu.as_mut(), self.nav.as_mut()) else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let (w, h) = (gpu.config.width, gpu.config.height);
        // Motion advances by the time since the last frame; after an idle spell, by one
        // frame's worth, so an animation starts from where it was asked.
        let dt = self
            .last_frame
            .map_or(0.0, |t| (started - t).as_secs_f64().min(1.0 / 30.0));
        self.last_frame = Some(started);
        let animating = nav.step(dt, w, h);
        let camera = nav.camera;
        // The first frame is drawn at 0 s; the clock runs from when it is up (below).
        let now = if self.frames == 0 {
            0.0
        } else {
            self.clock.time(started)
        };
        if let Some(frame) = self.player.as_mut().and_then(|p| p.poll(now)) {
            gpu.renderer.set_grid(frame.grid, frame.colours);
        }
        let playback = self.args.playback.at(now);
        gpu.renderer.set_playback(playback);
        let stats = gpu.renderer.update(&camera, w, h);
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
        match &mut gpu.renderer {
            AnyRenderer::Gpu(r, ()) => r.encode(&mut encoder, &target, &camera, w, h),
            AnyRenderer::Cpu(r, (pixels, blit)) => {
                r.draw_into(&camera, w, h, pixels);
                blit.resize(&gpu.ctx.device, w, h);
                blit.upload(&gpu.ctx.queue, pixels);
                blit.encode(&mut encoder, &target);
            }
        }
        self.frames += 1;
        let last = self.args.exit_after.is_some_and(|n| self.frames >= n);
        let asked = self.shot.take();
        let capture = if last {
            self.args.screenshot.as_ref()
        } else {
            asked.as_ref()
        };
        let readback = capture.map(|_| {
            let t = if gpu.config.usage.contains(wgpu::TextureUsages::COPY_SRC) {
                // The frame the window shows, copied as is.
                OffscreenTarget::for_texture(&gpu.ctx.device, &frame.texture)
            } else {
                // Surfaces that cannot be copied from (GL): the same frame once more into an
                // offscreen texture of the surface's format and size.
                let t = OffscreenTarget::with_format(&gpu.ctx.device, w, h, gpu.config.format);
                match &mut gpu.renderer {
                    AnyRenderer::Gpu(r, ()) => {
                        r.prepare(&mut encoder, &camera, Viewport::full(w, h));
                        let mut pass =
                            tessera::gpu::begin_cleared_pass(&mut encoder, "screenshot", &t.view);
                        r.draw(&mut pass);
                    }
                    AnyRenderer::Cpu(_, (_, blit)) => blit.encode(&mut encoder, &t.view),
                }
                t
            };
            t.encode_copy(&mut encoder);
            t
        });
        // The overlay goes over the mosaic after any screenshot copy (screenshots show the
        // mosaic alone).
        let hovered = {
            let scene = gpu.renderer.scene();
            let cell = camera.screen_to_cell(self.cursor, w, h).floor();
            let (cols, rows) = (scene.cols() as f64, scene.rows() as f64);
            (cell.x >= 0.0 && cell.y >= 0.0 && cell.x < cols && cell.y < rows).then(|| {
                let tile = scene.grid[(cell.y * cols + cell.x) as usize];
                let source = scene.library.manifest.tiles[tile as usize]
                    .source
                    .path
                    .clone();
                (
                    source,
                    tile,
                    gpu.uses.get(tile as usize).copied().unwrap_or(0) as usize,
                )
            })
        };
        let has_colours = gpu.renderer.scene().colours.is_some();
        let grid = (gpu.renderer.scene().cols(), gpu.renderer.scene().rows());
        let style = gpu.renderer.style_mut();
        let panel = Panel {
            figures: &self.figures,
            camera,
            screen: (w, h),
            grid,
            hovered,
            debug_lod: &mut style.debug_lod,
            tint: has_colours.then_some(&mut style.tint),
        };
        let action = gpu.overlay.draw(
            &gpu.window,
            (&gpu.ctx.device, &gpu.ctx.queue),
            &mut encoder,
            &target,
            panel,
        );
        if let Some(Action::CenterOn(cell)) = action {
            nav.stop();
            nav.camera.center = cell;
            gpu.window.request_redraw();
        }
        gpu.ctx.queue.submit([encoder.finish()]);
        // Hands finished upload buffers back to the staging belt without blocking.
        let _ = gpu.ctx.device.poll(wgpu::PollType::Poll);
        if let (Some(t), Some(path)) = (readback, capture) {
            let mut rgba = t.read()?;
            if matches!(
                gpu.config.format,
                wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
            ) {
                rgba.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
            }
            let img = image::RgbaImage::from_raw(w, h, rgba).expect("frame size");
            super::render::save_picture(path, image::ImageFormat::Png, img)?;
            if asked.is_some() {
                println!("screenshot {}", path.display());
            }
        }
        gpu.window.pre_present_notify();
        gpu.ctx.queue.present(frame);
        if self.frames == 1 && !self.clock.is_paused() {
            // Playback starts once the first frame is up (it waits for the shaders to build,
            // and the target's first frames would otherwise be due, and dropped, at once).
            self.clock = WallClock::start(std::time::Instant::now());
        }
        let draw_ms = started.elapsed().as_secs_f64() * 1e3;
        if self.draw_ms.len() < MAX_DRAW_TIMES {
            self.draw_ms.push(draw_ms);
        }

        let level = gpu.renderer.scene().frame_view(&camera, w, h).levels.hi;
        let clips = (stats.tile_frames_shown > 0 || self.clock.is_paused())
            .then_some((stats.late_tile_frames, self.clock.is_paused()));
        let mut text = title(
            camera.cell_px,
            level,
            draw_ms,
            (stats.missing, stats.at_rest()),
            clips,
        );
        let tint = gpu.renderer.style().tint;
        if tint > 0.0 {
            text += &format!(", tint {tint:.1}");
        }
        let mut video_playing = false;
        if let Some(p) = &self.player {
            let ended = p.ended(now);
            text += &video_title(
                now.min(p.video().target.duration),
                p.video().target.duration,
                p.stats().late,
                ended,
            );
            video_playing = !ended && !self.clock.is_paused();
        }
        text += &format!(" — {}", gpu.renderer.name());
        gpu.window.set_title(&text);
        self.figures = text;
        let tiles_play = stats.tile_frames_shown > 0 && !self.clock.is_paused();
        // Pages on their way (the next tick's too) are drawn and uploaded frame by frame.
        // Pages missing at rest (a failed read, a view larger than the budget) would not
        // change with more frames.
        let streaming = !stats.at_rest();
        self.next_tick = None;
        if last {
            event_loop.exit();
        } else if animating || streaming || video_playing || self.args.exit_after.is_some() {
            gpu.window.request_redraw();
        } else if tiles_play {
            let wait = gpu.renderer.scene().clock.seconds_to_next_tick(&playback);
            self.next_tick = wait.map(|s| started + std::time::Duration::from_secs_f64(s));
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
            .unwrap_or(DEFAULT_SIZE)
    }
}

/// The window title: zoom, level drawn, how long the last frame took to draw (streaming,
/// recording, submitting and presenting it; not the idle time since the one before), the
/// pages missing `(count, streaming at rest)`, and with clips on screen `(late tile-frames,
/// paused)`.
fn title(
    cell_px: f64,
    level: usize,
    draw_ms: f64,
    (missing, at_rest): (usize, bool),
    clips: Option<(usize, bool)>,
) -> String {
    let mut t = format!("tessera — {cell_px:.1} px/cell, level {level}, draw {draw_ms:.1} ms");
    match (missing, at_rest) {
        (0, _) => {}
        // Failed reads, or a view larger than the budget: no more frames will change it.
        (n, true) => t += &format!(", {n} pages drawn coarser"),
        (n, false) => t += &format!(", streaming {n} pages"),
    }
    match clips {
        Some((_, true)) => t += ", paused",
        Some((late, false)) if late > 0 => t += &format!(", {late} clips late"),
        _ => {}
    }
    t
}

/// What `?` prints.
const KEYS: &str = "\
tessera viewer
  wheel          zoom about the pointer        drag        pan (it glides on when flung)
  double-click   fly into that cell            + / -       zoom about the centre
  arrows         pan (←/→ seek a video mosaic; Shift+arrows pan there)
  0 / Home       fly back to the whole mosaic  Space       pause / play clips and video
  F              fullscreen                    S           save a screenshot (PNG, here)
  V              print this view as a `tessera render` command
  T              tint: off, ½, full            L           level overlay
  H              hide / show the overlay panel (minimap: click or drag to move there)
  ?              these keys                    Esc / Q     quit";

/// A new file name for a screenshot in the working folder.
fn screenshot_name() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    PathBuf::from(format!("tessera-{stamp}.png"))
}

/// The `tessera render` command that draws `camera` as the window shows it.
fn view_command(mosaic: &std::path::Path, camera: &Camera, (w, h): (u32, u32)) -> String {
    format!(
        "tessera render {} -o view.png --size {w}x{h} --center {:.4},{:.4} --cell-px {:.4}",
        mosaic.display(),
        camera.center.x,
        camera.center.y,
        camera.cell_px
    )
}

/// The `T` key's steps: off, half, full, off …
fn next_tint(tint: f32) -> f32 {
    if tint < 0.5 {
        0.5
    } else if tint < 1.0 {
        1.0
    } else {
        0.0
    }
}

/// The video part of the title: where playback is, and target frames that came late.
fn video_title(time: f64, duration: f64, late: u64, ended: bool) -> String {
    let mut t = format!(" — video {time:.1} / {duration:.1} s");
    if ended {
        t += ", ended";
    } else if late > 0 {
        t += &format!(", {late} frames late");
    }
    t
}

impl App {
    /// Moves a video mosaic's playback by `seconds` (no video: nothing).
    fn seek_by(&mut self, seconds: f64) -> anyhow::Result<bool> {
        let Some(player) = self.player.as_mut() else {
            return Ok(false);
        };
        let now = std::time::Instant::now();
        let time = player.seek(self.clock.time(now) + seconds)?;
        self.clock.set(time, now);
        Ok(true)
    }
}

impl ApplicationHandler for App {
    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        let now = std::time::Instant::now();
        let mut wake = None;
        if let Some(seconds) = self.args.quit_after {
            let deadline =
                self.clock_started + std::time::Duration::from_secs_f64(seconds.max(0.0));
            if now >= deadline {
                return event_loop.exit();
            }
            wake = Some(deadline);
        }
        if let Some(tick) = self.next_tick {
            if now >= tick {
                self.next_tick = None;
                self.changed();
            } else {
                wake = Some(wake.map_or(tick, |w: std::time::Instant| w.min(tick)));
            }
        }
        event_loop.set_control_flow(match wake {
            Some(t) => winit::event_loop::ControlFlow::WaitUntil(t),
            None => winit::event_loop::ControlFlow::Wait,
        });
    }

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
        // The overlay sees input first; what it takes (the pointer over its panel) the
        // mosaic does not. A release always reaches the mosaic, so a drag cannot stick.
        let input = matches!(
            event,
            WindowEvent::CursorMoved { .. }
                | WindowEvent::MouseWheel { .. }
                | WindowEvent::KeyboardInput { .. }
                | WindowEvent::MouseInput {
                    state: ElementState::Pressed,
                    ..
                }
        );
        if let Some(gpu) = self.gpu.as_mut() {
            let taken = gpu.overlay.on_event(&gpu.window, &event);
            if taken && input && !self.dragging {
                if let WindowEvent::CursorMoved { position, .. } = event {
                    self.cursor = DVec2::new(position.x, position.y);
                }
                return;
            }
        }
        let Some(nav) = self.nav.as_mut() else {
            if matches!(event, WindowEvent::CloseRequested) {
                event_loop.exit();
            }
            return;
        };
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
                let now = std::time::Instant::now();
                if self.dragging {
                    let dt = (now - self.last_move).as_secs_f64();
                    nav.drag(p - self.cursor, dt);
                    self.changed();
                }
                self.last_move = now;
                self.cursor = p;
            }
            WindowEvent::ModifiersChanged(mods) => self.shift = mods.state().shift_key(),
            WindowEvent::MouseInput {
                state,
                button: MouseButton::Left,
                ..
            } => {
                let now = std::time::Instant::now();
                self.dragging = state == ElementState::Pressed;
                if self.dragging {
                    nav.grab();
                    // A second press within 0.4 s and a few pixels: fly into that cell.
                    let double = self.last_click.is_some_and(|(t, p)| {
                        now - t < std::time::Duration::from_millis(400)
                            && (p - self.cursor).length() < 6.0
                    });
                    if double {
                        nav.fly_to(cell_filling(&nav.camera, self.cursor, w, h));
                        self.last_click = None;
                    } else {
                        self.last_click = Some((now, self.cursor));
                    }
                } else {
                    nav.release((now - self.last_move).as_secs_f64());
                }
                self.changed();
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let steps = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y as f64,
                    MouseScrollDelta::PixelDelta(p) => p.y / 60.0,
                };
                nav.zoom_at(1.15f64.powf(steps), self.cursor);
                self.changed();
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                let seek = match event.logical_key.as_ref() {
                    Key::Named(NamedKey::ArrowLeft) if !self.shift => -5.0,
                    Key::Named(NamedKey::ArrowRight) if !self.shift => 5.0,
                    _ => 0.0,
                };
                if seek != 0.0 {
                    match self.seek_by(seek) {
                        Ok(true) => return self.changed(),
                        Ok(false) => {}
                        Err(e) => {
                            self.error = Some(e);
                            return event_loop.exit();
                        }
                    }
                }
                let Some(nav) = self.nav.as_mut() else {
                    return;
                };
                let center = DVec2::new(w as f64, h as f64) * 0.5;
                let step = w.min(h) as f64 * 0.1;
                match event.logical_key.as_ref() {
                    Key::Named(NamedKey::Escape) | Key::Character("q") => event_loop.exit(),
                    Key::Named(NamedKey::Home) | Key::Character("0") => {
                        if let Some(gpu) = &self.gpu {
                            nav.fly_to(gpu.renderer.scene().fit(w, h));
                        }
                    }
                    Key::Character("+") | Key::Character("=") => nav.zoom_at(2.0, center),
                    Key::Character("-") => nav.zoom_at(0.5, center),
                    Key::Named(NamedKey::ArrowLeft) => nav.pan(DVec2::new(step, 0.0)),
                    Key::Named(NamedKey::ArrowRight) => nav.pan(DVec2::new(-step, 0.0)),
                    Key::Named(NamedKey::ArrowUp) => nav.pan(DVec2::new(0.0, step)),
                    Key::Named(NamedKey::ArrowDown) => nav.pan(DVec2::new(0.0, -step)),
                    Key::Character("f") => {
                        if let Some(gpu) = &self.gpu {
                            let full = gpu.window.fullscreen().is_none();
                            gpu.window.set_fullscreen(
                                full.then_some(winit::window::Fullscreen::Borderless(None)),
                            );
                        }
                    }
                    Key::Character("s") => self.shot = Some(screenshot_name()),
                    Key::Character("v") => {
                        println!("{}", view_command(&self.args.mosaic, &nav.camera, (w, h)));
                        return;
                    }
                    Key::Character("h") => {
                        if let Some(gpu) = self.gpu.as_mut() {
                            gpu.overlay.visible = !gpu.overlay.visible;
                        }
                    }
                    Key::Character("?") => {
                        println!("{KEYS}");
                        return;
                    }
                    Key::Named(NamedKey::Space) => self.clock.toggle(std::time::Instant::now()),
                    Key::Character("l") => {
                        if let Some(gpu) = self.gpu.as_mut() {
                            let style = gpu.renderer.style_mut();
                            style.debug_lod = !style.debug_lod;
                        }
                    }
                    Key::Character("t") => {
                        if let Some(gpu) = self.gpu.as_mut() {
                            if gpu.renderer.scene().colours.is_none() {
                                tracing::warn!("this mosaic has no target colours to tint toward (matched by an older tessera): re-run `tessera match`");
                                return;
                            }
                            let style = gpu.renderer.style_mut();
                            style.tint = next_tint(style.tint);
                        }
                    }
                    _ => return,
                }
                self.changed();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_labels_the_draw_time() {
        assert_eq!(
            title(12.34, 4, 8.06, (0, true), None),
            "tessera — 12.3 px/cell, level 4, draw 8.1 ms"
        );
        assert!(title(1.0, 0, 1.0, (7, false), None).ends_with(", streaming 7 pages"));
        assert!(title(1.0, 0, 1.0, (7, true), None).ends_with(", 7 pages drawn coarser"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((3, false))).ends_with(", 3 clips late"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((0, false))).ends_with(" ms"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((3, true))).ends_with(", paused"));
    }

    #[test]
    fn the_view_command_names_the_view() {
        let camera = Camera {
            center: DVec2::new(96.5, 54.25),
            cell_px: 12.0,
        };
        let line = view_command(std::path::Path::new("x.mosaic"), &camera, (800, 600));
        assert_eq!(
            line,
            "tessera render x.mosaic -o view.png --size 800x600 --center 96.5000,54.2500 --cell-px 12.0000"
        );
    }

    #[test]
    fn the_tint_key_steps_off_half_full() {
        assert_eq!(next_tint(0.0), 0.5);
        assert_eq!(next_tint(0.5), 1.0);
        assert_eq!(next_tint(1.0), 0.0);
        assert_eq!(next_tint(0.3), 0.5, "from --tint 0.3");
    }
}
