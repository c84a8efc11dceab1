//! What the viewer does with each window event: keys, the mouse, resizes, redraws.

use super::text::{next_tint, screenshot_name, view_command, KEYS};
use super::*;

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
    /// A live source's new grid (or its end): draw it.
    fn user_event(&mut self, _event_loop: &ActiveEventLoop, _event: ()) {
        self.changed();
    }

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
        // A silent live source: wake when it has been silent long enough to say so.
        if let Some(due) = self.live.as_ref().and_then(|l| l.stall.due_in(&l.grids)) {
            let at = now + due + std::time::Duration::from_millis(50);
            wake = Some(wake.map_or(at, |w: std::time::Instant| w.min(at)));
            if due.is_zero() {
                self.changed();
            }
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
                        let filling = cell_filling(&nav.camera, self.cursor, (w, h), nav.shape);
                        nav.fly_to(filling);
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
                        println!(
                            "{}",
                            view_command(
                                self.args
                                    .mosaic
                                    .file
                                    .as_deref()
                                    .unwrap_or(std::path::Path::new("MOSAIC")),
                                &nav.camera,
                                (w, h),
                            )
                        );
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
