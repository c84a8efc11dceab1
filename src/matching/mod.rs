//! Matching: every target cell gets the tile whose CIELAB signature is nearest.

pub mod fidelity;
pub mod index;
pub mod pipeline;
pub mod table;

use crate::color::linear_rgb_to_lab;
use crate::library::signature::signature_len;
use image::{imageops, DynamicImage, ImageBuffer, Rgb};
pub use index::KdIndex;
use rayon::prelude::*;

/// How the target is cut into cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellSpec {
    /// Exactly `cols × rows` cells (the target is centre-cropped to that aspect).
    Exact { cols: u32, rows: u32 },
    /// `cols` cells across; rows follow from the target's aspect.
    Wide(u32),
}

impl CellSpec {
    pub fn resolve(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            CellSpec::Exact { cols, rows } => (cols, rows),
            CellSpec::Wide(cols) => {
                let rows = (cols as f64 * height as f64 / width as f64)
                    .round()
                    .max(1.0);
                (cols, rows as u32)
            }
        }
    }
}

impl std::str::FromStr for CellSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (c, r) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, e.g. 192x108"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("`{s}`: {v} is not a positive whole number"))
        };
        Ok(CellSpec::Exact {
            cols: parse(c)?,
            rows: parse(r)?,
        })
    }
}

/// A target picture cut into cells: what matching compares and what `--tint` pulls toward.
pub struct TargetCells {
    /// Per cell, its `grid × grid` CIELAB signature (row-major cells).
    pub signatures: Vec<f32>,
    /// Per cell, its mean colour in linear light, sRGB-encoded.
    pub colours: Vec<[u8; 3]>,
}

/// Per-cell signatures of a target picture: centre-cropped to the grid's aspect, resampled in
/// linear light to `(cols·grid) × (rows·grid)` sub-cells, each converted to CIELAB.
pub fn target_signatures(target: &DynamicImage, cols: u32, rows: u32, grid: u32) -> Vec<f32> {
    target_cells(target, cols, rows, grid).signatures
}

/// The target's cells: signatures as `target_signatures` says, and each cell's mean colour
/// (the mean of its sub-cells, in linear light).
pub fn target_cells(target: &DynamicImage, cols: u32, rows: u32, grid: u32) -> TargetCells {
    let (w, h) = (target.width() as f64, target.height() as f64);
    let aspect = cols as f64 / rows as f64;
    let (cw, ch) = if w / h > aspect {
        ((h * aspect).round().max(1.0), h)
    } else {
        (w, (w / aspect).round().max(1.0))
    };
    let (x0, y0) = (((w - cw) / 2.0) as u32, ((h - ch) / 2.0) as u32);
    let cropped = target.crop_imm(x0, y0, cw as u32, ch as u32).into_rgb8();
    let decode = crate::color::srgb8_decode_table();
    let linear: ImageBuffer<Rgb<f32>, Vec<f32>> =
        ImageBuffer::from_fn(cropped.width(), cropped.height(), |x, y| {
            Rgb(cropped.get_pixel(x, y).0.map(|v| decode[v as usize]))
        });
    let (sw, sh) = (cols * grid, rows * grid);
    let sub = imageops::resize(&linear, sw, sh, imageops::FilterType::Triangle);
    let k = grid as usize;
    let sig_len = signature_len(grid);
    let cells = cols as usize * rows as usize;
    let mut signatures = vec![0f32; cells * sig_len];
    let mut colours = vec![[0u8; 3]; cells];
    signatures
        .par_chunks_mut(cols as usize * sig_len)
        .zip(colours.par_chunks_mut(cols as usize))
        .enumerate()
        .for_each(|(row, (dst, colour_row))| {
            for (col, colour) in colour_row.iter_mut().enumerate() {
                let mut sum = [0f32; 3];
                for j in 0..k {
                    for i in 0..k {
                        let p = sub.get_pixel((col * k + i) as u32, (row * k + j) as u32).0;
                        let at = col * sig_len + (j * k + i) * 3;
                        dst[at..at + 3].copy_from_slice(&linear_rgb_to_lab(p));
                        sum = std::array::from_fn(|c| sum[c] + p[c]);
                    }
                }
                *colour = sum.map(|v| crate::color::linear_to_srgb8(v / (k * k) as f32));
            }
        });
    TargetCells {
        signatures,
        colours,
    }
}

/// Tiles a repeat radius needs to hold at every cell: the greedy raster-order match
/// excludes the tiles placed within the radius above and to the left, `2r² + 2r` cells.
pub fn tiles_for_repeat_radius(radius: u32) -> u64 {
    let r = radius as u64;
    2 * r * r + 2 * r + 1
}

#[derive(Clone, Copy, Debug, Default)]
pub struct MatchOptions {
    /// A tile may not appear again within this many cells (Chebyshev distance); 0 = no limit.
    pub repeat_radius: u32,
}

/// The match grid: for each cell (row-major), the id of the nearest tile.
///
/// Without a repeat limit cells are independent and matched in parallel. With one, cells
/// go in raster order and each excludes the tiles already placed within the radius above
/// and to its left, so the grid is deterministic.
pub fn match_cells(
    cells: &[f32],
    cols: u32,
    index: &KdIndex,
    dims: usize,
    opts: MatchOptions,
) -> Vec<u32> {
    let n = cells.len() / dims;
    let cols = cols as usize;
    if opts.repeat_radius == 0 || index.len() == 1 {
        let mut grid = vec![0u32; n];
        grid.par_chunks_mut(cols.max(1))
            .zip(cells.par_chunks(cols.max(1) * dims))
            .for_each(|(out, row)| {
                for (o, q) in out.iter_mut().zip(row.chunks_exact(dims)) {
                    *o = index.nearest(q, &[]).map(|(id, _)| id).unwrap_or(0);
                }
            });
        return grid;
    }
    let mut grid = vec![u32::MAX; n];
    let mut excluded = Vec::new();
    for cell in 0..n {
        placed_nearby(&grid, cols, cell, opts.repeat_radius, &mut excluded);
        let q = &cells[cell * dims..(cell + 1) * dims];
        // If the radius excludes every tile, fall back to the plain nearest.
        grid[cell] = index
            .nearest(q, &excluded)
            .or_else(|| index.nearest(q, &[]))
            .map(|(id, _)| id)
            .unwrap_or(0);
    }
    grid
}

/// The tiles a raster-order match has already placed within `radius` cells of `cell`
/// (above it, and left of it on its row), into `out`: what a repeat limit excludes there.
pub(crate) fn placed_nearby(
    grid: &[u32],
    cols: usize,
    cell: usize,
    radius: u32,
    out: &mut Vec<u32>,
) {
    let (r, x, y) = (radius as usize, cell % cols, cell / cols);
    out.clear();
    for yy in y.saturating_sub(r)..=y {
        let x_end = if yy == y { x } else { (x + r + 1).min(cols) };
        for xx in x.saturating_sub(r)..x_end {
            out.push(grid[yy * cols + xx]);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// No two cells touching (sides or corners) hold the same tile.
    pub(crate) fn assert_no_neighbour_repeats(grid: &[u32], cols: usize, rows: usize) {
        for y in 0..rows {
            for x in 0..cols {
                for (dx, dy) in [(1i32, 0i32), (0, 1), (1, 1), (-1, 1)] {
                    let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                    if nx >= 0 && (nx as usize) < cols && (ny as usize) < rows {
                        assert_ne!(grid[y * cols + x], grid[ny as usize * cols + nx as usize]);
                    }
                }
            }
        }
    }

    #[test]
    fn cell_spec_parses_and_keeps_aspect() {
        assert_eq!(
            "192x108".parse::<CellSpec>(),
            Ok(CellSpec::Exact {
                cols: 192,
                rows: 108
            })
        );
        assert!("192".parse::<CellSpec>().is_err());
        assert!("0x5".parse::<CellSpec>().is_err());
        assert_eq!(CellSpec::Wide(160).resolve(1920, 1080), (160, 90));
    }

    #[test]
    fn repeat_radius_keeps_tiles_apart() {
        // Every cell wants tile 0 most, then 1, 2, ...: with radius 1 no two neighbours repeat.
        let tiles: Vec<f32> = (0..6).flat_map(|i| [i as f32, 0.0, 0.0]).collect();
        let index = KdIndex::build(&tiles, 3);
        let (cols, rows) = (7usize, 5usize);
        let cells = vec![0.0f32; cols * rows * 3];
        let grid = match_cells(
            &cells,
            cols as u32,
            &index,
            3,
            MatchOptions { repeat_radius: 1 },
        );
        assert_no_neighbour_repeats(&grid, cols, rows);
        let plain = match_cells(&cells, cols as u32, &index, 3, MatchOptions::default());
        assert!(plain.iter().all(|&t| t == 0));
    }
}
