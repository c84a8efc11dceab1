//! How faithful a mosaic is to its target, by two measures photomosaic tools are compared
//! with: **colour at the grid**, the mean CIELAB ΔE between each cell as seen from afar
//! and the target's cell mean; and **structure at 3× the grid**, the SSIM of the two
//! pictures' luma reduced to three samples a cell, which sees whether edges and shapes
//! inside cells follow the target. Both run on any picture of a whole mosaic (tessera's
//! or another tool's), so they compare like with like.

use crate::color::{linear_rgb_to_lab, srgb8_decode_table};
use crate::library::TileAspect;
use crate::tint;
use image::DynamicImage;

/// The two measures of a picture against its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fidelity {
    /// Mean ΔE (CIE76) at the grid: lower is closer.
    pub delta_e: f64,
    /// Mean SSIM of luma at 3× the grid: 1 is identical structure.
    pub ssim: f64,
}

/// Samples a cell the structure measure takes, per side.
pub const SSIM_SAMPLES: u32 = 3;

/// `picture` (a whole mosaic of `cols × rows` cells of `cell_aspect`, any size of that
/// aspect) against `target` (centre-cropped to the grid's aspect, as matching crops it).
pub fn picture_fidelity(
    picture: &DynamicImage,
    target: &DynamicImage,
    (cols, rows): (u32, u32),
    cell_aspect: TileAspect,
) -> Fidelity {
    let means = |img: &DynamicImage, c: u32, r: u32| {
        super::target_cells_for(img, (c, r), 1, cell_aspect).colours
    };
    let (a, b) = (means(picture, cols, rows), means(target, cols, rows));
    let lut = srgb8_decode_table();
    let lab = |c: &[u8; 3]| linear_rgb_to_lab(c.map(|v| lut[v as usize]));
    let delta_e = a
        .iter()
        .zip(&b)
        .map(|(x, y)| {
            let (x, y) = (lab(x), lab(y));
            (0..3).map(|i| (x[i] - y[i]).powi(2)).sum::<f32>().sqrt() as f64
        })
        .sum::<f64>()
        / a.len().max(1) as f64;
    let (w, h) = (cols * SSIM_SAMPLES, rows * SSIM_SAMPLES);
    let luma = |img: &DynamicImage| -> Vec<f64> {
        means(img, w, h)
            .iter()
            .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
            .collect()
    };
    Fidelity {
        delta_e,
        ssim: ssim(&luma(picture), &luma(target), w as usize, h as usize),
    }
}

/// Mean SSIM of two `w × h` grey images (0..255), with the usual 11-tap Gaussian window
/// (σ = 1.5) and constants (Wang et al. 2004), over the positions where the window fits
/// (the whole image, clamped at the edges, when it is smaller than the window).
pub fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    const RADIUS: i64 = 5;
    let weights: Vec<f64> = (-RADIUS..=RADIUS)
        .map(|i| (-(i * i) as f64 / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let at = |img: &[f64], x: i64, y: i64| {
        img[y.clamp(0, h as i64 - 1) as usize * w + x.clamp(0, w as i64 - 1) as usize]
    };
    let fits = |n: usize| n as i64 > 2 * RADIUS;
    let span = |n: usize| {
        if fits(n) {
            RADIUS..n as i64 - RADIUS
        } else {
            0..n as i64
        }
    };
    let (mut total, mut count) = (0.0, 0usize);
    for y in span(h) {
        for x in span(w) {
            let (mut sw, mut ma, mut mb, mut aa, mut bb, mut ab) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for (j, wy) in weights.iter().enumerate() {
                for (i, wx) in weights.iter().enumerate() {
                    let k = wx * wy;
                    let (dx, dy) = (i as i64 - RADIUS, j as i64 - RADIUS);
                    let (va, vb) = (at(a, x + dx, y + dy), at(b, x + dx, y + dy));
                    sw += k;
                    ma += k * va;
                    mb += k * vb;
                    aa += k * va * va;
                    bb += k * vb * vb;
                    ab += k * va * vb;
                }
            }
            let (ma, mb) = (ma / sw, mb / sw);
            let (va, vb, cov) = (aa / sw - ma * ma, bb / sw - mb * mb, ab / sw - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

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
            let a = linear_rgb_to_lab(tint::tinted_mean(tile_colours, t, offset, tint));
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
    fn ssim_is_one_for_the_same_picture_and_falls_with_lost_structure() {
        let (w, h) = (30, 24);
        // Stripes two samples wide: structure in every window.
        let stripes: Vec<f64> = (0..w * h)
            .map(|i| if (i % w) % 4 < 2 { 40.0 } else { 220.0 })
            .collect();
        let flat = vec![130.0; w * h];
        assert!((ssim(&stripes, &stripes, w, h) - 1.0).abs() < 1e-9);
        assert!(ssim(&stripes, &flat, w, h) < 0.05);
        // Half the contrast: the same structure, weaker.
        let faint: Vec<f64> = stripes.iter().map(|v| 130.0 + (v - 130.0) * 0.5).collect();
        let s = ssim(&stripes, &faint, w, h);
        assert!(s > 0.5 && s < 0.95, "{s}");
    }

    #[test]
    fn a_picture_scores_perfectly_against_itself_at_any_size() {
        let target = DynamicImage::ImageRgb8(image::RgbImage::from_fn(160, 100, |x, y| {
            image::Rgb([
                (x * 255 / 160) as u8,
                (y * 255 / 100) as u8,
                ((x + y) % 256) as u8,
            ])
        }));
        let f = picture_fidelity(&target, &target, (16, 10), TileAspect::SQUARE);
        assert!(f.delta_e < 1e-6 && (f.ssim - 1.0).abs() < 1e-9, "{f:?}");
        let grey = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            320,
            200,
            image::Rgb([128, 128, 128]),
        ));
        let g = picture_fidelity(&grey, &target, (16, 10), TileAspect::SQUARE);
        assert!(g.delta_e > 20.0 && g.ssim < 0.6, "{g:?}");
    }

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
