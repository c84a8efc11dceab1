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
    tile_signature_in(tile, grid, [tile.size; 2])
}

/// The signature of the part of `tile` a tile of another aspect fills: its top-left
/// `extent` (`TileAspect::extent`), cut into `k × k` sub-cells of its shape.
pub fn tile_signature_in(tile: &LinearTile, grid: u32, [ex, ey]: [u32; 2]) -> Vec<f32> {
    let k = grid as usize;
    let mut sig = Vec::with_capacity(signature_len(grid));
    for j in 0..k {
        let (y0, y1) = block_bounds(ey as usize, k, j);
        for i in 0..k {
            let (x0, x1) = block_bounds(ex as usize, k, i);
            sig.extend_from_slice(&linear_rgb_to_lab(tile.block_mean(x0, x1, y0, y1)));
        }
    }
    sig
}

/// A clip's signature and key frame from its frames' signatures: the mean signature, and the
/// frame whose own signature is nearest it (the clip's most typical frame, shown when clips
/// are still).
pub fn clip_signature(frames: &[Vec<f32>]) -> (Vec<f32>, u32) {
    assert!(!frames.is_empty());
    let n = frames[0].len();
    let mut mean = vec![0f32; n];
    for f in frames {
        for (m, v) in mean.iter_mut().zip(f) {
            *m += v / frames.len() as f32;
        }
    }
    let distance =
        |f: &Vec<f32>| -> f32 { f.iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum() };
    let key = (0..frames.len())
        .min_by(|&a, &b| distance(&frames[a]).total_cmp(&distance(&frames[b])))
        .unwrap_or(0);
    (mean, key as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_signature_is_the_mean_and_its_key_the_most_typical_frame() {
        let frames = vec![
            vec![0.0, 0.0, 0.0],
            vec![10.0, 0.0, 0.0],
            vec![4.0, 0.0, 0.0],
            vec![30.0, 0.0, 0.0],
        ];
        let (mean, key) = clip_signature(&frames);
        assert_eq!(mean, vec![11.0, 0.0, 0.0]);
        assert_eq!(key, 1);
    }
}
