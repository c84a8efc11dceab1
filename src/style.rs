//! How a frame looks beyond the tiles themselves: shared by every renderer.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderStyle {
    /// Outside the mosaic, sRGB.
    pub background: [u8; 3],
    /// Tint each pixel by the level it drew from: brighter = finer.
    pub debug_lod: bool,
}

impl Default for RenderStyle {
    fn default() -> Self {
        RenderStyle {
            background: [20, 20, 24],
            debug_lod: false,
        }
    }
}
