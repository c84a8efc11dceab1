//! How a frame looks beyond the tiles themselves: shared by every renderer.

#[derive(Clone, Copy, Debug, PartialEq)]
/// How frames look: background, tint, the level debug view.
pub struct RenderStyle {
    /// Outside the mosaic, sRGB.
    pub background: [u8; 3],
    /// Tint each pixel by the level it drew from: brighter = finer.
    pub debug_lod: bool,
    /// Colour correction, 0..=1: how far each tile is pulled toward its cell's target
    /// colour (see `tint`). Needs a mosaic that recorded its target's colours.
    pub tint: f32,
    /// The tint fades out as one cell grows to fill the frame (the viewer, videos); off
    /// for pictures meant as one picture (posters, Deep Zoom pyramids).
    pub tint_fades: bool,
}

impl RenderStyle {
    /// The tint strength a frame of `view` draws its tiles with.
    pub fn tint_strength(&self, view: &crate::view::FrameView) -> f32 {
        crate::tint::strength(
            self.tint,
            self.tint_fades,
            1.0 / view.cells_per_px[0].min(view.cells_per_px[1]),
            view.width,
            view.height,
        )
    }
}

impl Default for RenderStyle {
    fn default() -> Self {
        RenderStyle {
            background: [20, 20, 24],
            debug_lod: false,
            tint: 0.0,
            tint_fades: true,
        }
    }
}
