//! The embeddable GPU renderer: a mosaic drawn on a `wgpu::Device` someone else owns, into a
//! render pass someone else begins. The headless renderer and the viewer are built on it;
//! `examples/embed.rs` shows a host application doing the same in its own window.
//!
//! Streaming is `Renderer`'s (shared with the CPU renderer). Per frame, in this order:
//! 1. `update`: streaming (residency, uploads within the budget, requests to the loaders);
//! 2. `prepare`: records the staged uploads and the frame's uniforms into the host's encoder
//!    (copies cannot go inside a render pass);
//! 3. `draw`: inside the host's render pass, one triangle over the viewport, or a quad per
//!    visible cell when cells are large (see `GpuMosaic::draw`).

use super::GpuMosaic;
use crate::error::Result;
use crate::renderer::{Frame, RenderOptions, Renderer};
use crate::scene::Scene;

/// Where in the render target the mosaic is drawn, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewport {
    /// Left edge, pixels from the target's left.
    pub x: u32,
    /// Top edge, pixels from the target's top.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Viewport {
    /// The whole of a `width × height` target.
    pub fn full(width: u32, height: u32) -> Viewport {
        Viewport {
            x: 0,
            y: 0,
            width,
            height,
        }
    }
}

/// The GPU renderer: frames drawn into a host's wgpu render pass.
pub type MosaicRenderer = Renderer<GpuMosaic>;

impl MosaicRenderer {
    /// Prepares `scene` for drawing on `device` into targets of `target_format`: plans the
    /// atlas for viewports up to `opts.width × opts.height` within `opts.stream`'s budgets,
    /// allocates it, starts the loader threads and loads the pinned levels.
    /// (`opts.backend` and `opts.adapter` choose a device for the headless renderer and are
    /// ignored here.)
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        target_format: wgpu::TextureFormat,
        mut scene: Scene,
        opts: &RenderOptions,
    ) -> Result<MosaicRenderer> {
        let layout = scene.plan(
            (opts.width, opts.height),
            opts.stream.gpu_budget,
            device.limits().max_texture_array_layers,
        )?;
        let mosaic = GpuMosaic::new(device, queue, &scene, &layout, target_format)?;
        // The GPU holds the overview now.
        scene.release_overview();
        Renderer::start(scene, layout, mosaic, opts)
    }

    /// Bytes of atlas allocated on the GPU.
    pub fn atlas_bytes(&self) -> u64 {
        self.backend.atlas_bytes()
    }

    /// Records the uploads and the uniforms of `frame` (made by `update` for `viewport`'s
    /// size) into `encoder`, to be drawn at `viewport`. Call before the render pass that
    /// `draw`s.
    pub fn prepare(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        frame: &Frame,
        viewport: Viewport,
    ) {
        debug_assert_eq!(
            (frame.view.width, frame.view.height),
            (viewport.width, viewport.height),
            "a frame is drawn at the size it was made for"
        );
        let rect = [viewport.x, viewport.y, viewport.width, viewport.height];
        let style = self.sync_tint();
        self.backend.prepare(encoder, &frame.view, rect, &style);
    }

    /// Draws the prepared frame into `pass` (setting its viewport and scissor to the
    /// prepared rectangle).
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        self.backend.draw(pass);
    }

    /// `prepare`, then a render pass of its own into `target` (cleared first) that `draw`s:
    /// the whole target, of `frame`'s size.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        frame: &Frame,
    ) {
        let style = self.sync_tint();
        self.backend.encode(encoder, target, &frame.view, &style);
    }
}
