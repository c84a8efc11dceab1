//! How faithful a mosaic is to its target, measured at the grid: each cell's colour as a
//! viewer sees it from afar (its tile's mean, pulled by the tint) against the target's cell
//! mean, as CIELAB ΔE.

use crate::color::{linear_rgb_to_lab, srgb8_decode_table};
use crate::tint;

/// Mean ΔE (CIE76) over the cells between the target's cell colours and the tiles' means
/// drawn with `tint` (`tile_colours`: each tile's level-0 texel, RGBA8, tile-major).
pub fn grid_delta_e(grid: &[u32], tile_colours: &[u8], targets: &[[u8; 3]], tint: f32) -> f64 {
    let lut = srgb8_decode_table();
    let offsets = tint::offsets(grid, tile_colours, targets);
    let total: f64 = grid
        .iter()
        .zip(targets)
        .zip(&offsets)
        .map(|((&t, target), offset)| {
            let mean = &tile_colours[t as usize * 4..][..3];
            let shown = tint::apply(
                [0, 1, 2].map(|c| lut[mean[c] as usize]),
                tint::decode(offset),
                tint,
            );
            let a = linear_rgb_to_lab(shown);
            let b = linear_rgb_to_lab(target.map(|v| lut[v as usize]));
            let d2: f32 = (0..3).map(|i| (a[i] - b[i]) * (a[i] - b[i])).sum();
            d2.sqrt() as f64
        })
        .sum();
    total / grid.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_tile_scores_zero_and_the_tint_closes_the_gap() {
        let tiles = [255, 255, 255, 255, 100, 100, 100, 255];
        assert!(grid_delta_e(&[0], &tiles, &[[255, 255, 255]], 0.0) < 1e-3);
        let far = grid_delta_e(&[1], &tiles, &[[200, 30, 30]], 0.0);
        let half = grid_delta_e(&[1], &tiles, &[[200, 30, 30]], 0.5);
        let full = grid_delta_e(&[1], &tiles, &[[200, 30, 30]], 1.0);
        assert!(
            far > 40.0 && half < far && full < 1.0,
            "{far} {half} {full}"
        );
    }
}
