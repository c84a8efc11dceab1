//! Colour correction (`--tint`): each tile's colours pulled toward its cell's target colour.
//!
//! Per cell, the *offset* is the target cell's mean colour minus the tile's mean colour, in
//! linear light; a pixel of the tile is drawn as `clamp(c + k · offset, 0, 1)`. At `k = 1`
//! the tile's mean becomes the target's (up to clipping) while its detail, the difference
//! of each pixel from the mean, stays: a small library still makes a faithful mosaic, and
//! the photos still read as photos. Offsets are kept as 16-bit floats, the form the GPU
//! samples, so the shader and its CPU twin add exactly the same numbers.
//!
//! The strength `k` fades with zoom (`strength`): full while a cell is at most an eighth of
//! the frame's short side, nothing once one cell fills it, log-linear between, so a tile
//! zoomed in to fill the screen shows the photo as it is. Pictures meant as one picture
//! (posters, Deep Zoom pyramids) keep the full strength at every scale.

use crate::color::{linear_to_srgb8, srgb8_decode_table};
use half::f16;

/// One cell's offset: linear RGB as 16-bit floats (the fourth is padding, for an RGBA16F
/// texel).
pub type Offset = [u16; 4];

/// Per-cell target colours, sRGB, row-major (the target's cell means in linear light,
/// encoded).
pub type CellColours = std::sync::Arc<Vec<[u8; 3]>>;

/// Cells a fading tint is full up to, as a fraction of the frame's short side: 1/8.
const FADE_OCTAVES: f32 = 3.0;

/// The offsets of every cell: `target - tile mean` in linear light. `tile_colours` holds
/// each tile's mean (its level-0 texel, RGBA8 sRGB, tile-major).
pub fn offsets(grid: &[u32], tile_colours: &[u8], targets: &[[u8; 3]]) -> Vec<Offset> {
    let lut = srgb8_decode_table();
    grid.iter()
        .zip(targets)
        .map(|(&tile, target)| {
            let mean = &tile_colours[tile as usize * 4..][..3];
            let o = |c: usize| f16::from_f32(lut[target[c] as usize] - lut[mean[c] as usize]);
            [o(0).to_bits(), o(1).to_bits(), o(2).to_bits(), 0]
        })
        .collect()
}

/// An offset as the shader reads it.
#[inline]
pub fn decode(offset: &Offset) -> [f32; 3] {
    [0, 1, 2].map(|c| f16::from_bits(offset[c]).to_f32())
}

/// A linear colour pulled by `k` of `offset`: the shader's `tinted`.
#[inline]
pub fn apply<const N: usize>(c: [f32; N], offset: [f32; N], k: f32) -> [f32; N] {
    std::array::from_fn(|i| (c[i] + k * offset[i]).clamp(0.0, 1.0))
}

/// The strength drawn with at `cell_px` pixels per cell in a `width × height` frame, for an
/// asked `tint` in 0..=1. With `fades`, full up to a cell of an eighth of the short side,
/// zero from a cell that fills it; without, `tint` at every scale.
pub fn strength(tint: f32, fades: bool, cell_px: f32, width: u32, height: u32) -> f32 {
    if tint <= 0.0 || !fades {
        return tint.max(0.0);
    }
    let side = width.min(height).max(1) as f32;
    let room = (side / cell_px).log2() / FADE_OCTAVES;
    tint * room.clamp(0.0, 1.0)
}

/// Tile `tile`'s mean (its level-0 texel in `tile_colours`, RGBA8 sRGB, tile-major) as a
/// cell with `offset` draws it at strength `k`, linear.
pub fn tinted_mean(tile_colours: &[u8], tile: u32, offset: &Offset, k: f32) -> [f32; 3] {
    let lut = srgb8_decode_table();
    let mean = &tile_colours[tile as usize * 4..][..3];
    apply([0, 1, 2].map(|i| lut[mean[i] as usize]), decode(offset), k)
}

/// The overview's base level with the tint: each cell's tile mean pulled by `k` toward its
/// target (what a tinted tile's level-0 page would show), sRGB RGBA8.
pub fn overview_base(grid: &[u32], tile_colours: &[u8], offsets: &[Offset], k: f32) -> Vec<u8> {
    let mut texels = Vec::with_capacity(grid.len() * 4);
    for (&tile, offset) in grid.iter().zip(offsets) {
        let c = tinted_mean(tile_colours, tile, offset, k);
        texels.extend_from_slice(&[
            linear_to_srgb8(c[0]),
            linear_to_srgb8(c[1]),
            linear_to_srgb8(c[2]),
            255,
        ]);
    }
    texels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_tint_moves_a_tile_mean_onto_its_target() {
        // Tile 0 is mid grey, tile 1 black; targets red-ish and white.
        let tiles = [128, 128, 128, 255, 0, 0, 0, 255];
        let targets = [[200, 40, 10], [255, 255, 255]];
        let offs = offsets(&[0, 1], &tiles, &targets);
        assert_eq!(
            overview_base(&[0, 1], &tiles, &offs, 1.0),
            vec![200, 40, 10, 255, 255, 255, 255, 255]
        );
        assert_eq!(
            overview_base(&[0, 1], &tiles, &offs, 0.0),
            tiles.to_vec(),
            "no tint leaves the means"
        );
        // Half way sits between, in linear light.
        let half = overview_base(&[1], &tiles, &offs[1..], 0.5);
        assert_eq!(half[..3], [188, 188, 188]);
    }

    #[test]
    fn detail_is_kept_and_clipped_at_the_ends() {
        let c = apply([0.1, 0.5, 0.9], [0.3, 0.3, 0.3], 1.0);
        assert!((c[0] - 0.4).abs() < 1e-6 && (c[1] - 0.8).abs() < 1e-6 && c[2] == 1.0);
        assert_eq!(apply([0.2; 3], [-0.5; 3], 1.0), [0.0; 3]);
    }

    #[test]
    fn the_tint_fades_as_one_cell_fills_the_frame() {
        let at = |px: f32| strength(0.8, true, px, 1920, 1080);
        assert_eq!(at(1.0), 0.8);
        assert_eq!(at(135.0), 0.8, "an eighth of the short side");
        assert!(
            (at(1080.0 / 2.0f32.powf(1.5)) - 0.4).abs() < 1e-5,
            "half way in octaves"
        );
        assert_eq!(at(1080.0), 0.0);
        assert_eq!(at(4096.0), 0.0);
        assert_eq!(
            strength(0.8, false, 4096.0, 1920, 1080),
            0.8,
            "posters keep it"
        );
        assert_eq!(strength(0.0, true, 1.0, 1920, 1080), 0.0);
    }
}
