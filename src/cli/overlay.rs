//! The viewer's overlay, drawn with egui over the mosaic: a minimap of the whole mosaic with
//! the view on it (click or drag there to move), the tile under the pointer (its source
//! file and how often it is used), the frame's figures, and toggles for the level overlay
//! and the tint. `H` hides it. It draws after the mosaic in the same frame; screenshots are
//! copied before it, so they show the mosaic alone.

use glam::DVec2;
use std::sync::Arc;
use tessera::render::Overview;
use tessera::Camera;
use winit::window::Window;

/// The minimap's longest side, in texels.
const MINIMAP_SIDE: u32 = 220;
/// The level the tile under the pointer is shown at (64 px), or the library's finest.
const THUMBNAIL_LEVEL: usize = 6;

/// Reads the hovered tile's thumbnail on a thread of its own: the render thread never
/// touches the disk.
struct Thumbnails {
    ask: crossbeam_channel::Sender<u32>,
    done: crossbeam_channel::Receiver<(u32, egui::ColorImage)>,
    /// The tile last asked for, and the one shown.
    asked: Option<u32>,
    shown: Option<(u32, egui::TextureHandle)>,
}

impl Thumbnails {
    fn start(library: Arc<tessera::library::Library>) -> Thumbnails {
        let (ask, asks) = crossbeam_channel::unbounded::<u32>();
        let (send, done) = crossbeam_channel::unbounded();
        let level = THUMBNAIL_LEVEL.min(library.max_level());
        let side = 1usize << level;
        // Ends when the overlay (the sender) is dropped.
        let _ = std::thread::Builder::new()
            .name("tessera-thumbnails".into())
            .spawn(move || {
                while let Ok(mut tile) = asks.recv() {
                    // Only the newest request matters while the pointer moves.
                    while let Ok(newer) = asks.try_recv() {
                        tile = newer;
                    }
                    let mut texels = vec![0u8; side * side * 4];
                    // A page that cannot be read shows grey.
                    if let Err(e) = library.read_page(tile, level, &mut texels) {
                        tracing::debug!("thumbnail of tile {tile}: {e}");
                        texels.fill(128);
                    }
                    let image = egui::ColorImage::from_rgba_unmultiplied([side, side], &texels);
                    if send.send((tile, image)).is_err() {
                        return;
                    }
                }
            });
        Thumbnails {
            ask,
            done,
            asked: None,
            shown: None,
        }
    }

    /// The thumbnail of `tile` if it is ready (asking for it if not yet asked).
    fn get(&mut self, ctx: &egui::Context, tile: u32) -> Option<&egui::TextureHandle> {
        if self.asked != Some(tile) {
            self.asked = Some(tile);
            let _ = self.ask.send(tile);
        }
        while let Ok((t, image)) = self.done.try_recv() {
            let texture = ctx.load_texture("thumbnail", image, egui::TextureOptions::LINEAR);
            self.shown = Some((t, texture));
        }
        self.shown
            .as_ref()
            .filter(|(t, _)| *t == tile)
            .map(|(_, texture)| texture)
    }
}

pub struct Overlay {
    ctx: egui::Context,
    state: egui_winit::State,
    renderer: egui_wgpu::Renderer,
    pub visible: bool,
    minimap_image: Option<egui::ColorImage>,
    minimap: Option<egui::TextureHandle>,
    thumbnails: Thumbnails,
}

/// What the panel shows and may change this frame.
pub struct Panel<'a> {
    /// The frame's figures (the window title's text).
    pub figures: &'a str,
    pub camera: Camera,
    pub screen: (u32, u32),
    pub grid: (u32, u32),
    /// The cells' shape (`TileAspect::shape`): the minimap is drawn in it.
    pub shape: [f64; 2],
    /// The tile under the pointer: its source and how many cells use it.
    pub hovered: Option<(String, u32, usize)>,
    pub debug_lod: &'a mut bool,
    /// `None` when the mosaic has no target colours to tint toward.
    pub tint: Option<&'a mut f32>,
}

/// What the user asked of the view through the panel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// Centre the view on this cell position.
    CenterOn(DVec2),
}

impl Overlay {
    /// Shows `image` as the minimap from the next frame on (a video or live mosaic's grid
    /// changed).
    pub fn replace_minimap(&mut self, image: Option<egui::ColorImage>) {
        match (&mut self.minimap, image) {
            (Some(texture), Some(image)) => texture.set(image, egui::TextureOptions::LINEAR),
            (_, image) => self.minimap_image = image,
        }
    }

    pub fn new(
        window: &Arc<Window>,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        minimap: Option<egui::ColorImage>,
        library: Arc<tessera::library::Library>,
    ) -> Overlay {
        let ctx = egui::Context::default();
        let state = egui_winit::State::new(
            ctx.clone(),
            egui::ViewportId::ROOT,
            window,
            Some(window.scale_factor() as f32),
            None,
            Some(device.limits().max_texture_dimension_2d as usize),
        );
        let renderer = egui_wgpu::Renderer::new(device, format, Default::default());
        Overlay {
            ctx,
            state,
            renderer,
            visible: true,
            minimap_image: minimap,
            minimap: None,
            thumbnails: Thumbnails::start(library),
        }
    }

    /// Lets the overlay see a window event first; true when it took it (the pointer is
    /// over the panel), so the mosaic should not.
    pub fn on_event(&mut self, window: &Window, event: &winit::event::WindowEvent) -> bool {
        // egui asks to repaint on every redraw; that would redraw forever.
        if !self.visible || matches!(event, winit::event::WindowEvent::RedrawRequested) {
            return false;
        }
        let response = self.state.on_window_event(window, event);
        if response.repaint {
            window.request_redraw();
        }
        response.consumed || self.ctx.egui_wants_pointer_input()
    }

    /// Lays out the panel and draws it over `target` (already holding the mosaic).
    pub fn draw(
        &mut self,
        window: &Window,
        gpu: (&wgpu::Device, &wgpu::Queue),
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        panel: Panel<'_>,
    ) -> Option<Action> {
        if !self.visible {
            return None;
        }
        let (device, queue) = gpu;
        if self.minimap.is_none() {
            if let Some(image) = self.minimap_image.take() {
                self.minimap = Some(self.ctx.load_texture(
                    "minimap",
                    image,
                    egui::TextureOptions::LINEAR,
                ));
            }
        }
        let input = self.state.take_egui_input(window);
        let mut action = None;
        let minimap = self.minimap.clone();
        let thumbnail = match &panel.hovered {
            Some((_, tile, _)) => self.thumbnails.get(&self.ctx, *tile).cloned(),
            None => None,
        };
        if thumbnail.is_none() && panel.hovered.is_some() {
            // Draw again when the thumbnail has been read.
            window.request_redraw();
        }
        let mut panel = panel;
        let mut output = self.ctx.run_ui(input, |ui| {
            action = show_panel(ui, &mut panel, minimap.as_ref(), thumbnail.as_ref());
        });
        self.state
            .handle_platform_output(window, output.platform_output);
        // egui's own animations and its first layout passes ask for the next frame now.
        if output
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay.is_zero())
        {
            window.request_redraw();
        }
        let jobs = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [panel.screen.0, panel.screen.1],
            pixels_per_point: output.pixels_per_point,
        };
        for (id, deltas) in &output.textures_delta.set {
            for delta in deltas {
                self.renderer.update_texture(device, queue, *id, delta);
            }
        }
        let extra = self
            .renderer
            .update_buffers(device, queue, encoder, &jobs, &screen);
        if !extra.is_empty() {
            queue.submit(extra);
        }
        {
            let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("overlay"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            self.renderer
                .render(&mut pass.forget_lifetime(), &jobs, &screen);
        }
        for id in &output.textures_delta.free {
            self.renderer.free_texture(id);
        }
        // Applied above (egui asserts, in debug builds, that every delta is taken).
        output.textures_delta.clear();
        action
    }
}

/// The panel's contents.
fn show_panel(
    ui: &mut egui::Ui,
    panel: &mut Panel<'_>,
    minimap: Option<&egui::TextureHandle>,
    thumbnail: Option<&egui::TextureHandle>,
) -> Option<Action> {
    let mut action = None;
    egui::Window::new("tessera")
        .anchor(egui::Align2::LEFT_TOP, [8.0, 8.0])
        .resizable(false)
        .collapsible(true)
        .show(ui.ctx(), |ui| {
            if let Some(tex) = minimap {
                action = show_minimap(ui, tex, panel);
            }
            ui.label(panel.figures.trim_start_matches("tessera — "));
            match &panel.hovered {
                Some((source, id, uses)) => {
                    ui.horizontal(|ui| {
                        if let Some(tex) = thumbnail {
                            ui.image((tex.id(), egui::vec2(64.0, 64.0)));
                        }
                        ui.label(format!("tile {id}\n{source}\nused {uses}×"));
                    });
                }
                None => {
                    ui.label("tile: (point at one)");
                }
            }
            ui.checkbox(panel.debug_lod, "level overlay (L)");
            if let Some(tint) = panel.tint.as_deref_mut() {
                ui.add(egui::Slider::new(tint, 0.0..=1.0).text("tint (T)"));
            }
            ui.small("H hides this, ? lists the keys");
        });
    action
}

/// The minimap with the view's rectangle; a click or drag there centres the view.
fn show_minimap(ui: &mut egui::Ui, tex: &egui::TextureHandle, panel: &Panel<'_>) -> Option<Action> {
    // Scaled to the same size whatever the grid (a small grid's overview is small), a texel
    // a cell drawn in the cells' shape.
    let shaped = tex.size_vec2() * egui::vec2(panel.shape[0] as f32, panel.shape[1] as f32);
    let size = shaped * (MINIMAP_SIDE as f32 / shaped.max_elem());
    let rect = ui.add(egui::Image::new((tex.id(), size))).rect;
    let response = ui.interact(rect, minimap_id(), egui::Sense::click_and_drag());
    let (cols, rows) = (panel.grid.0 as f64, panel.grid.1 as f64);
    let to_map = |cell: DVec2| {
        egui::pos2(
            rect.min.x + (cell.x / cols) as f32 * rect.width(),
            rect.min.y + (cell.y / rows) as f32 * rect.height(),
        )
    };
    let (w, h) = panel.screen;
    let top_left = panel.camera.screen_to_cell(DVec2::ZERO, w, h, panel.shape);
    let bottom_right =
        panel
            .camera
            .screen_to_cell(DVec2::new(w as f64, h as f64), w, h, panel.shape);
    let view = egui::Rect::from_two_pos(to_map(top_left), to_map(bottom_right));
    ui.painter().rect_stroke(
        view.intersect(rect.expand(2.0)),
        0.0,
        egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 220, 60)),
        egui::StrokeKind::Middle,
    );
    let pointer = response.interact_pointer_pos()?;
    (response.clicked() || response.dragged()).then(|| {
        let u = ((pointer.x - rect.min.x) / rect.width()) as f64;
        let v = ((pointer.y - rect.min.y) / rect.height()) as f64;
        Action::CenterOn(DVec2::new(u * cols, v * rows))
    })
}

/// The minimap's widget (named, so its response can be read back: the tests click on it).
fn minimap_id() -> egui::Id {
    egui::Id::unique("tessera minimap")
}

/// The minimap: the first overview mip no longer than `MINIMAP_SIDE` on either side.
pub fn minimap_image(overview: &Overview) -> Option<egui::ColorImage> {
    let mip = overview
        .mips
        .iter()
        .find(|m| m.width <= MINIMAP_SIDE && m.height <= MINIMAP_SIDE)?;
    Some(egui::ColorImage::from_rgba_unmultiplied(
        [mip.width as usize, mip.height as usize],
        &mip.texels,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One frame of the panel on an 800×600 screen at `time` with `events`, as the viewer
    /// lays it out: what it asks of the view.
    fn frame(
        ctx: &egui::Context,
        minimap: &egui::TextureHandle,
        time: f64,
        events: Vec<egui::Event>,
    ) -> Option<Action> {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(800.0, 600.0),
            )),
            time: Some(time),
            events,
            ..Default::default()
        };
        let (mut debug_lod, mut tint) = (false, 0.0);
        let mut panel = Panel {
            figures: "tessera — 4.0 px/cell",
            camera: Camera {
                center: DVec2::new(100.0, 50.0),
                cell_px: 4.0,
            },
            screen: (800, 600),
            grid: (200, 100),
            shape: tessera::camera::SQUARE,
            hovered: None,
            debug_lod: &mut debug_lod,
            tint: Some(&mut tint),
        };
        let mut action = None;
        let mut output = ctx.run_ui(input, |ui| {
            action = show_panel(ui, &mut panel, Some(minimap), None);
        });
        // No renderer takes the font atlas here (egui asserts that someone does).
        output.textures_delta.clear();
        action
    }

    fn button(pos: egui::Pos2, pressed: bool) -> egui::Event {
        egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        }
    }

    #[test]
    fn a_click_or_a_drag_on_the_minimap_centres_the_view_there() {
        let ctx = egui::Context::default();
        // A 200×100-cell mosaic's minimap (2:1, as its overview mip would be).
        let image = egui::ColorImage::filled([200, 100], egui::Color32::GRAY);
        let minimap = ctx.load_texture("minimap", image, egui::TextureOptions::LINEAR);
        // The first passes lay the panel out; nothing is asked.
        for t in 0..3 {
            assert_eq!(frame(&ctx, &minimap, t as f64 * 0.1, vec![]), None);
        }
        let rect = ctx
            .read_response(minimap_id())
            .expect("the minimap is shown")
            .rect;
        assert!(
            rect.width() > 100.0 && (rect.aspect_ratio() - 2.0).abs() < 0.05,
            "{rect:?}"
        );
        // A click a quarter across and three quarters down: cell (50, 75).
        let at = rect.lerp_inside(egui::vec2(0.25, 0.75));
        let moved = egui::Event::PointerMoved(at);
        assert_eq!(
            frame(&ctx, &minimap, 1.0, vec![moved, button(at, true)]),
            None
        );
        let clicked = frame(&ctx, &minimap, 1.05, vec![button(at, false)]);
        let Some(Action::CenterOn(cell)) = clicked else {
            panic!("a click on the minimap did nothing: {clicked:?}");
        };
        assert!((cell - DVec2::new(50.0, 75.0)).length() < 0.5, "{cell}");
        // Dragging along it follows the pointer.
        let start = rect.lerp_inside(egui::vec2(0.5, 0.5));
        let end = rect.lerp_inside(egui::vec2(0.9, 0.1));
        let press = vec![egui::Event::PointerMoved(start), button(start, true)];
        frame(&ctx, &minimap, 2.0, press);
        let dragged = frame(&ctx, &minimap, 2.1, vec![egui::Event::PointerMoved(end)]);
        let Some(Action::CenterOn(cell)) = dragged else {
            panic!("a drag on the minimap did nothing: {dragged:?}");
        };
        assert!((cell - DVec2::new(180.0, 10.0)).length() < 0.5, "{cell}");
        frame(&ctx, &minimap, 2.2, vec![button(end, false)]);
        // A click beside the minimap asks nothing of the view.
        let beside = egui::pos2(rect.max.x + 300.0, rect.max.y + 200.0);
        let events = vec![egui::Event::PointerMoved(beside), button(beside, true)];
        assert_eq!(frame(&ctx, &minimap, 3.0, events), None);
        assert_eq!(
            frame(&ctx, &minimap, 3.05, vec![button(beside, false)]),
            None
        );
    }

    #[test]
    fn the_minimap_is_the_first_overview_mip_that_fits() {
        let level0 = [10, 20, 30, 255, 200, 100, 50, 255];
        let grid: Vec<u32> = (0..1000 * 500).map(|i| (i % 2) as u32).collect();
        let overview = Overview::build(&grid, 1000, 500, &level0);
        let image = minimap_image(&overview).expect("a mip fits");
        assert_eq!(image.size, [125, 62]);
        let small = Overview::build(&[0, 1], 2, 1, &level0);
        assert_eq!(minimap_image(&small).unwrap().size, [2, 1]);
    }
}
