//! Opening the viewer's window and drawing each frame into it.

use super::text::{live_title, title, video_title, LiveState};
use super::*;

impl App {
    pub(super) fn init(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<Gpu> {
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
            Backend::Auto => tessera::render::auto_choice(&ctx.adapter, adapter),
            asked => Choice {
                backend: asked,
                why: tessera::render::ASKED.into(),
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
        let minimap = crate::cli::overlay::minimap_image(&scene.overview);
        let uses = tile_uses(&scene);
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
        crate::cli::return_freed_memory();
        if let Some(video) = VideoMosaic::open(renderer.scene())? {
            self.player = Some(LivePlayer::new(video, 0.0)?);
        }

        let fitted = renderer.scene().fit(config.width, config.height);
        let mut nav = Navigator::new(if self.args.view.is_given() {
            self.args
                .view
                .camera(renderer.scene(), (config.width, config.height))
        } else {
            fitted
        });
        nav.shape = renderer.scene().cell_shape();
        self.nav = Some(nav);
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
            panel_refreshed: std::time::Instant::now(),
        })
    }

    pub(super) fn redraw(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
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
        let played = self.player.as_mut().and_then(|p| p.poll(now));
        let fresh = self.live.as_ref().and_then(|l| l.grids.latest());
        if let Some(frame) = played.or_else(|| fresh.as_ref().map(|f| f.frame.clone())) {
            gpu.renderer.set_grid(frame.grid, frame.colours);
            gpu.follow_grid();
        }
        let playback = self.args.playback.at(now);
        gpu.renderer.set_playback(playback);
        let mosaic = gpu.renderer.update(&camera, w, h);
        let stats = mosaic.stats;
        let Some(frame) = gpu.next_surface_texture() else {
            return Ok(());
        };
        let target = frame.texture.create_view(&Default::default());
        let mut encoder = gpu.ctx.device.create_command_encoder(&Default::default());
        gpu.encode_mosaic(&mut encoder, &target, &mosaic);
        self.frames += 1;
        let last = self.args.exit_after.is_some_and(|n| self.frames >= n);
        let asked = self.shot.take();
        let capture = if last {
            self.args.screenshot.as_ref()
        } else {
            asked.as_ref()
        };
        let readback = capture.map(|_| gpu.copy_for_screenshot(&mut encoder, &frame, &mosaic));
        // The overlay goes over the mosaic after any screenshot copy (screenshots show the
        // mosaic alone).
        let hovered = gpu.tile_under(self.cursor, &camera);
        let has_colours = gpu.renderer.scene().colours.is_some();
        let grid = (gpu.renderer.scene().cols(), gpu.renderer.scene().rows());
        let style = gpu.renderer.style_mut();
        let panel = Panel {
            figures: &self.figures,
            camera,
            screen: (w, h),
            grid,
            shape: nav.shape,
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
            gpu.save_screenshot(t, path)?;
            if asked.is_some() {
                println!("screenshot {}", path.display());
            }
        }
        gpu.window.pre_present_notify();
        gpu.ctx.queue.present(frame);
        let live_text = self.live.as_mut().map(|live| {
            let stalled = live.stall.update(&live.grids, fresh.is_some());
            if let Some(f) = &fresh {
                live.tally.shown(f.arrived);
            }
            let state = if live.grids.ended() {
                LiveState::Ended
            } else if stalled {
                LiveState::Stalled(live.grids.silent_for().as_secs_f64())
            } else {
                LiveState::Playing(live.tally.recent_latency())
            };
            let info = &live.grids.info;
            live_title((info.width, info.height), state, live.grids.counts().1)
        });
        if self.frames == 1 {
            // A live source is counted from here: what came before waited for the window.
            if let Some(live) = self.live.as_mut() {
                live.tally = LiveTally::new(&live.grids);
            }
        }
        if self.frames == 1 && !self.clock.is_paused() {
            // Playback starts once the first frame is up (it waits for the shaders to build,
            // and the target's first frames would otherwise be due, and dropped, at once).
            self.clock = WallClock::start(std::time::Instant::now());
        }
        let draw_ms = started.elapsed().as_secs_f64() * 1e3;
        if self.draw_ms.len() < MAX_DRAW_TIMES {
            self.draw_ms.push(draw_ms);
        }

        let (text, video_playing) = gpu.title(
            camera.cell_px,
            &mosaic,
            draw_ms,
            now,
            &self.clock,
            self.player.as_ref(),
        );
        let text = format!(
            "{text}{} — {}",
            live_text.unwrap_or_default(),
            gpu.renderer.name()
        );
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

    pub(super) fn changed(&self) {
        if let Some(gpu) = &self.gpu {
            gpu.window.request_redraw();
        }
    }

    pub(super) fn screen(&self) -> (u32, u32) {
        self.gpu
            .as_ref()
            .map(|g| (g.config.width, g.config.height))
            .unwrap_or(DEFAULT_SIZE)
    }
}

/// Cells each tile of `scene` fills.
fn tile_uses(scene: &Scene) -> Vec<u32> {
    let mut uses = vec![0u32; scene.library.tile_count() as usize];
    scene.grid.iter().for_each(|&t| uses[t as usize] += 1);
    uses
}

/// How often the overlay's minimap and use counts follow a changing grid.
const PANEL_REFRESH: std::time::Duration = std::time::Duration::from_millis(250);

impl Gpu {
    /// After a new grid: the minimap and the use counts follow it, a few times a second.
    fn follow_grid(&mut self) {
        if self.panel_refreshed.elapsed() < PANEL_REFRESH || !self.overlay.visible {
            return;
        }
        self.panel_refreshed = std::time::Instant::now();
        let scene = self.renderer.scene();
        self.uses = tile_uses(scene);
        let minimap = crate::cli::overlay::minimap_image(&scene.overview);
        self.overlay.replace_minimap(minimap);
    }

    /// The surface's next texture, or `None` (and a redraw asked for) when there is none
    /// this time: timed out, occluded, or lost and reconfigured.
    fn next_surface_texture(&mut self) -> Option<wgpu::SurfaceTexture> {
        match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => Some(f),
            wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                self.window.request_redraw();
                None
            }
            other => {
                tracing::debug!("surface {other:?}: reconfiguring");
                self.surface.configure(&self.ctx.device, &self.config);
                self.window.request_redraw();
                None
            }
        }
    }

    /// The mosaic into `target`: drawn by the GPU path, or by the CPU renderer and blitted.
    fn encode_mosaic(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        mosaic: &Frame,
    ) {
        let (w, h) = (self.config.width, self.config.height);
        match &mut self.renderer {
            AnyRenderer::Gpu(r, ()) => r.encode(encoder, target, mosaic),
            AnyRenderer::Cpu(r, (pixels, blit)) => {
                r.draw_into(mosaic, pixels);
                blit.resize(&self.ctx.device, w, h);
                blit.upload(&self.ctx.queue, pixels);
                blit.encode(encoder, target);
            }
        }
    }

    /// A copy of the frame the window shows, for a screenshot: the surface's texture as it
    /// is, or where a surface cannot be copied from (GL), the same frame drawn once more
    /// into an offscreen texture of its format and size.
    fn copy_for_screenshot(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        frame: &wgpu::SurfaceTexture,
        mosaic: &Frame,
    ) -> OffscreenTarget {
        let (w, h) = (self.config.width, self.config.height);
        let t = if self.config.usage.contains(wgpu::TextureUsages::COPY_SRC) {
            OffscreenTarget::for_texture(&self.ctx.device, &frame.texture)
        } else {
            let t = OffscreenTarget::with_format(&self.ctx.device, w, h, self.config.format);
            match &mut self.renderer {
                AnyRenderer::Gpu(r, ()) => {
                    r.prepare(encoder, mosaic, Viewport::full(w, h));
                    let mut pass =
                        tessera::render::begin_cleared_pass(encoder, "screenshot", &t.view);
                    r.draw(&mut pass);
                }
                AnyRenderer::Cpu(_, (_, blit)) => blit.encode(encoder, &t.view),
            }
            t
        };
        t.encode_copy(encoder);
        t
    }

    /// The tile under the pointer: its source file, id and the cells it fills.
    fn tile_under(&self, cursor: DVec2, camera: &tessera::Camera) -> Option<(String, u32, usize)> {
        let scene = self.renderer.scene();
        let cell = camera
            .screen_to_cell(
                cursor,
                self.config.width,
                self.config.height,
                scene.cell_shape(),
            )
            .floor();
        let (cols, rows) = (scene.cols() as f64, scene.rows() as f64);
        (cell.x >= 0.0 && cell.y >= 0.0 && cell.x < cols && cell.y < rows).then(|| {
            let tile = scene.grid[(cell.y * cols + cell.x) as usize];
            let source = scene.library.manifest.tiles[tile as usize]
                .source
                .path
                .clone();
            let uses = self.uses.get(tile as usize).copied().unwrap_or(0) as usize;
            (source, tile, uses)
        })
    }

    /// Writes a screenshot read back from `t` to `path` as PNG (BGRA surfaces swapped to
    /// RGBA).
    fn save_screenshot(&self, t: OffscreenTarget, path: &std::path::Path) -> anyhow::Result<()> {
        let mut rgba = t.read()?;
        if matches!(
            self.config.format,
            wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
        ) {
            rgba.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
        }
        let img = image::RgbaImage::from_raw(self.config.width, self.config.height, rgba)
            .expect("frame size");
        crate::cli::render::save_picture(path, image::ImageFormat::Png, img)
    }

    /// The window's title up to a live source's words and the renderer's name: zoom,
    /// level, draw time, streaming, clips and a video target's time, the tint; and whether a
    /// video target is playing.
    fn title(
        &self,
        cell_px: f64,
        mosaic: &Frame,
        draw_ms: f64,
        now: f64,
        clock: &WallClock,
        player: Option<&LivePlayer>,
    ) -> (String, bool) {
        let (stats, level) = (&mosaic.stats, mosaic.view.levels.hi);
        let clips = (stats.tile_frames_shown > 0 || clock.is_paused())
            .then_some((stats.late_tile_frames, clock.is_paused()));
        let mut text = title(
            cell_px,
            level,
            draw_ms,
            (stats.missing, stats.at_rest()),
            clips,
        );
        let tint = self.renderer.style().tint;
        if tint > 0.0 {
            text += &format!(", tint {tint:.1}");
        }
        let mut video_playing = false;
        if let Some(p) = player {
            let ended = p.ended(now);
            text += &video_title(
                now.min(p.video().target.duration),
                p.video().target.duration,
                p.stats().late,
                ended,
            );
            video_playing = !ended && !clock.is_paused();
        }
        (text, video_playing)
    }
}
