//! Colour signatures: a `k × k` grid of CIELAB means per tile or target cell.
//!
//! Sub-cell `(i, j)` covers columns `[i·n/k, (i+1)·n/k)` of an `n`-texel square, the same
//! partition for tiles and for target cells, so distances compare like with like.

use super::pyramid::LinearTile;
use crate::color::linear_rgb_to_lab;

/// Floats in one signature: `k·k` Lab triples.
pub fn signature_len(grid: u32) -> usize {
    (grid * grid * 3) as usize
}

/// Block boundaries of an `n`-texel side cut into `k` parts.
pub fn block_bounds(n: usize, k: usize, i: usize) -> (usize, usize) {
    (i * n / k, ((i + 1) * n / k).max(i * n / k + 1))
}

/// The `k × k` CIELAB signature of a linear-light tile, row-major, `[L, a, b]` per sub-cell.
pub fn tile_signature(tile: &LinearTile, grid: u32) -> Vec<f32> {
    let n = tile.size as usize;
    let k = grid as usize;
    let mut sig = Vec::with_capacity(signature_len(grid));
    for j in 0..k {
        let (y0, y1) = block_bounds(n, k, j);
        for i in 0..k {
            let (x0, x1) = block_bounds(n, k, i);
            sig.extend_from_slice(&linear_rgb_to_lab(tile.block_mean(x0, x1, y0, y1)));
        }
    }
    sig
}
