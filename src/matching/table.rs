//! Matching built for video: a precomputed colour → tile table.
//!
//! The k-d tree matches 1920×1080 cells in ~0.4 s, far too slow for 25–40 frames a second.
//! Every cell colour that can occur is one of 2²⁴ sRGB bytes; quantised to 6 bits a channel
//! that is 262,144 bins, and the table holds each bin's nearest tile (by CIELAB distance to
//! the bin's centre), found once with the k-d tree when the table is built (~0.2 s). A cell
//! then costs one lookup. Quantising moves a colour at most 2 sRGB codes a channel, about
//! one ΔE: `tessera bench` on a video mosaic and `cargo bench --bench matching` report the
//! share of cells that still get the exact nearest tile and the mean ΔE given up.
//!
//! The table matches on the mean colour of a cell. Libraries baked with `--grid 1` (the
//! default) describe tiles the same way; with a finer grid each tile's sub-cells are
//! averaged into one colour for this matcher.
//!
//! Per frame the matcher also keeps the mosaic steady: with `stickiness` a cell keeps the
//! tile it had in the previous frame unless the new best is more than that many ΔE closer,
//! so a static shot with sensor noise does not shimmer. A repeat radius is honoured the
//! same way the still matcher does it (raster order, excluding tiles placed above and to
//! the left), with the k-d tree finding the nearest allowed tile when the table's is taken.

use super::KdIndex;
use crate::color::{linear_rgb_to_lab, SrgbEncoder};
use rayon::prelude::*;

/// Default `--stickiness`: about the ΔE of sensor noise between frames of a static shot.
pub const DEFAULT_STICKINESS: f32 = 2.0;

/// Bits kept per sRGB channel.
pub const TABLE_BITS: u32 = 6;
const SIDE: usize = 1 << TABLE_BITS;
const DROP: u32 = 8 - TABLE_BITS;

/// The bin of an sRGB colour.
#[inline]
fn bin(rgb: [u8; 3]) -> usize {
    ((rgb[0] as usize >> DROP) << (2 * TABLE_BITS))
        | ((rgb[1] as usize >> DROP) << TABLE_BITS)
        | (rgb[2] as usize >> DROP)
}

/// The CIELAB colour at the centre of bin `b`.
fn bin_centre_lab(b: usize) -> [f32; 3] {
    let half = ((1u32 << DROP) as f32 - 1.0) / 2.0;
    let channel = |shift: u32| {
        let q = ((b >> shift) & (SIDE - 1)) as f32;
        crate::color::srgb_to_linear((q * (1 << DROP) as f32 + half) / 255.0)
    };
    linear_rgb_to_lab([channel(2 * TABLE_BITS), channel(TABLE_BITS), channel(0)])
}

/// Grids at least this large are matched on every core.
const PARALLEL_CELLS: usize = 1 << 16;

/// How one video frame is matched.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameMatchOptions {
    /// A tile may not appear again within this many cells (Chebyshev distance); 0 = no limit.
    pub repeat_radius: u32,
    /// A cell keeps its previous tile unless the new best is more than this many ΔE closer.
    pub stickiness: f32,
}

/// Per colour bin, the nearest tiles: a video frame's cells matched by lookup.
pub struct ColourTable {
    /// Per bin, the nearest tile (an index into `ids`).
    best: Vec<u32>,
    /// Per bin, the CIELAB colour of its centre (the colour cells in it are matched as).
    bin_lab: Vec<[f32; 3]>,
    /// Per tile (index into `ids`), its mean CIELAB colour.
    tile_lab: Vec<[f32; 3]>,
    /// The library's tile ids, in the order the table indexes them.
    ids: Vec<u32>,
    index: KdIndex,
}

impl ColourTable {
    /// Builds the table over tiles `ids` whose signatures (`grid × grid` CIELAB triples each,
    /// `signature_len(grid)` floats) are `signatures`, in the same order.
    pub fn build(ids: Vec<u32>, signatures: &[f32], dims: usize) -> ColourTable {
        assert!(!ids.is_empty() && signatures.len() == ids.len() * dims && dims.is_multiple_of(3));
        let sub = (dims / 3) as f32;
        let tile_lab: Vec<[f32; 3]> = signatures
            .chunks_exact(dims)
            .map(|s| {
                let mut m = [0f32; 3];
                for t in s.chunks_exact(3) {
                    for c in 0..3 {
                        m[c] += t[c] / sub;
                    }
                }
                m
            })
            .collect();
        let flat: Vec<f32> = tile_lab.iter().flatten().copied().collect();
        let index = KdIndex::build(&flat, 3);
        let bin_lab: Vec<[f32; 3]> = (0..SIDE * SIDE * SIDE)
            .into_par_iter()
            .map(bin_centre_lab)
            .collect();
        let best = bin_lab
            .par_iter()
            .map(|lab| index.nearest(lab, &[]).map_or(0, |(i, _)| i))
            .collect();
        ColourTable {
            best,
            bin_lab,
            tile_lab,
            ids,
            index,
        }
    }

    /// Tiles the table chooses from.
    pub fn tiles(&self) -> usize {
        self.ids.len()
    }

    /// The tile for one sRGB colour (library id).
    pub fn lookup(&self, rgb: [u8; 3]) -> u32 {
        self.ids[self.best[bin(rgb)] as usize]
    }

    /// ΔE between `lab` and the mean colour of the tile at table index `i`.
    fn distance(&self, lab: &[f32; 3], i: u32) -> f32 {
        let t = &self.tile_lab[i as usize];
        ((lab[0] - t[0]).powi(2) + (lab[1] - t[1]).powi(2) + (lab[2] - t[2]).powi(2)).sqrt()
    }
}

/// Matches a stream of frames: the table, and the previous frame's grid for stickiness.
pub struct FrameMatcher {
    table: std::sync::Arc<ColourTable>,
    options: FrameMatchOptions,
    /// The previous frame's grid as table indices (empty before the first frame).
    previous: Vec<u32>,
}

impl FrameMatcher {
    /// A matcher over `table` with `options`, remembering each cell's last tile.
    pub fn new(table: std::sync::Arc<ColourTable>, options: FrameMatchOptions) -> FrameMatcher {
        FrameMatcher {
            table,
            options,
            previous: Vec::new(),
        }
    }

    /// Forgets the previous frame (after a seek: the next frame is matched afresh).
    pub fn reset(&mut self) {
        self.previous.clear();
    }

    /// The grid (library tile ids, row-major) for one frame's cell colours (sRGB, one
    /// triple per cell, `cols` to a row).
    pub fn match_frame(&mut self, cells: &[[u8; 3]], cols: u32) -> Vec<u32> {
        let table = &*self.table;
        let sticky = self.options.stickiness > 0.0 && self.previous.len() == cells.len();
        let previous = std::mem::take(&mut self.previous);
        let choose = |cell: usize, rgb: [u8; 3]| -> u32 {
            let b = bin(rgb);
            let best = table.best[b];
            if sticky {
                let prev = previous[cell];
                if prev != best {
                    let lab = &table.bin_lab[b];
                    if table.distance(lab, prev)
                        <= table.distance(lab, best) + self.options.stickiness
                    {
                        return prev;
                    }
                }
            }
            best
        };
        let cols = cols.max(1) as usize;
        let mut grid = vec![0u32; cells.len()];
        if self.options.repeat_radius == 0 || table.tiles() == 1 {
            let row = |(y, (out, colours)): (usize, (&mut [u32], &[[u8; 3]]))| {
                for (x, (o, &rgb)) in out.iter_mut().zip(colours).enumerate() {
                    *o = choose(y * cols + x, rgb);
                }
            };
            // Small grids take microseconds: handing them to the pool costs more than that
            // while the renderer keeps every core busy.
            if cells.len() >= PARALLEL_CELLS {
                grid.par_chunks_mut(cols)
                    .zip(cells.par_chunks(cols))
                    .enumerate()
                    .for_each(row);
            } else {
                grid.chunks_mut(cols)
                    .zip(cells.chunks(cols))
                    .enumerate()
                    .for_each(row);
            }
        } else {
            let mut excluded = Vec::new();
            for cell in 0..cells.len() {
                super::placed_nearby(&grid, cols, cell, self.options.repeat_radius, &mut excluded);
                let wanted = choose(cell, cells[cell]);
                grid[cell] = if excluded.contains(&wanted) {
                    let lab = &table.bin_lab[bin(cells[cell])];
                    table
                        .index
                        .nearest(lab, &excluded)
                        .map_or(wanted, |(i, _)| i)
                } else {
                    wanted
                };
            }
        }
        let ids = grid.iter().map(|&i| table.ids[i as usize]).collect();
        self.previous = grid;
        ids
    }
}

/// Mean colour of each cell of a frame cut into `cols × rows` cells: `rgb` is
/// `(cols·sx) × (rows·sy)` packed sRGB, each cell `sx × sy` pixels averaged in linear light.
pub fn cell_means(rgb: &[u8], cols: u32, rows: u32, sx: u32, sy: u32) -> Vec<[u8; 3]> {
    let (cols, rows, sx, sy) = (cols as usize, rows as usize, sx as usize, sy as usize);
    let width = cols * sx;
    assert_eq!(rgb.len(), width * rows * sy * 3);
    if sx == 1 && sy == 1 {
        return rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    }
    let decode = crate::color::srgb8_decode_table();
    let encode = SrgbEncoder::get();
    let n = (sx * sy) as f32;
    let mut out = vec![[0u8; 3]; cols * rows];
    let average_row = |(row, dst): (usize, &mut [[u8; 3]])| {
        let mut sums = vec![[0f32; 3]; cols];
        for line in rgb[row * sy * width * 3..][..sy * width * 3].chunks_exact(width * 3) {
            for (x, p) in line.chunks_exact(3).enumerate() {
                let s = &mut sums[x / sx];
                s[0] += decode[p[0] as usize];
                s[1] += decode[p[1] as usize];
                s[2] += decode[p[2] as usize];
            }
        }
        for (d, s) in dst.iter_mut().zip(&sums) {
            *d = s.map(|v| encode.encode(v / n));
        }
    };
    if cols * rows >= PARALLEL_CELLS {
        out.par_chunks_mut(cols).enumerate().for_each(average_row);
    } else {
        out.chunks_mut(cols).enumerate().for_each(average_row);
    }
    out
}

/// How close a table's matching comes to exact matching on a set of cell colours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TableAccuracy {
    /// Share of cells given the exact nearest tile (or one exactly as near).
    pub exact_share: f64,
    /// Mean over cells of (ΔE to the table's tile − ΔE to the nearest tile).
    pub mean_excess_de: f64,
}

impl ColourTable {
    /// Compares the table's choice for each colour with exhaustive nearest search on the
    /// cell's own (unquantised) colour.
    pub fn accuracy(&self, cells: &[[u8; 3]]) -> TableAccuracy {
        let (exact, excess) = cells
            .par_iter()
            .map(|&rgb| {
                let lab = crate::color::srgb8_to_lab(rgb);
                let chosen = self.best[bin(rgb)];
                let (nearest, d2) = self.index.nearest(&lab, &[]).expect("tiles exist");
                let excess = (self.distance(&lab, chosen) - d2.sqrt()).max(0.0);
                ((chosen == nearest || excess < 1e-4) as u64, excess as f64)
            })
            .reduce(|| (0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let n = cells.len().max(1) as f64;
        TableAccuracy {
            exact_share: exact as f64 / n,
            mean_excess_de: excess / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Tiles of eight solid colours (the corners of the RGB cube), mean-colour signatures.
    fn corners() -> ColourTable {
        let sigs: Vec<f32> = (0..8u8)
            .flat_map(|i| {
                let c = |bit: u8| if i & bit != 0 { 255 } else { 0 };
                crate::color::srgb8_to_lab([c(4), c(2), c(1)])
            })
            .collect();
        ColourTable::build((100..108).collect(), &sigs, 3)
    }

    #[test]
    fn a_colour_gets_its_nearest_tile_by_library_id() {
        let table = corners();
        assert_eq!(table.lookup([250, 3, 4]), 104); // red
        assert_eq!(table.lookup([10, 240, 250]), 103); // cyan
        assert_eq!(table.lookup([0, 0, 0]), 100);
        let acc = table.accuracy(&[[255, 0, 0], [0, 0, 255], [255, 255, 255]]);
        assert_eq!(acc.exact_share, 1.0);
        assert!(acc.mean_excess_de < 1e-3);
    }

    #[test]
    fn the_table_agrees_with_exact_search_almost_everywhere() {
        // 512 tiles spread over the colour cube: quantising to 6 bits may pick a slightly
        // farther tile near a boundary, never a far one.
        let mut seed = 1u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 56) as u8
        };
        let sigs: Vec<f32> = (0..512)
            .flat_map(|_| crate::color::srgb8_to_lab([next(), next(), next()]))
            .collect();
        let table = ColourTable::build((0..512).collect(), &sigs, 3);
        let cells: Vec<[u8; 3]> = (0..20_000).map(|_| [next(), next(), next()]).collect();
        let acc = table.accuracy(&cells);
        assert!(acc.exact_share > 0.8, "{acc:?}");
        assert!(acc.mean_excess_de < 0.5, "{acc:?}");
    }

    #[test]
    fn stickiness_keeps_a_tile_while_the_new_best_is_barely_better() {
        // Two greys 4 ΔE apart; a cell drifting from one to the other.
        let sigs: Vec<f32> = [[50.0f32, 0.0, 0.0], [54.0, 0.0, 0.0]]
            .into_iter()
            .flatten()
            .collect();
        let table = Arc::new(ColourTable::build(vec![7, 9], &sigs, 3));
        let grey = |l: f32| {
            // The sRGB grey whose L* is nearest `l`.
            (0..=255u8)
                .min_by(|&a, &b| {
                    let da = (crate::color::srgb8_to_lab([a; 3])[0] - l).abs();
                    let db = (crate::color::srgb8_to_lab([b; 3])[0] - l).abs();
                    da.total_cmp(&db)
                })
                .map(|v| [v; 3])
                .unwrap()
        };
        let mut plain = FrameMatcher::new(table.clone(), FrameMatchOptions::default());
        let mut sticky = FrameMatcher::new(
            table,
            FrameMatchOptions {
                stickiness: 3.0,
                ..Default::default()
            },
        );
        assert_eq!(plain.match_frame(&[grey(50.0)], 1), vec![7]);
        assert_eq!(sticky.match_frame(&[grey(50.0)], 1), vec![7]);
        // 53: the other tile is nearer (1 vs 3 ΔE), but by less than 3 ΔE.
        assert_eq!(plain.match_frame(&[grey(53.0)], 1), vec![9]);
        assert_eq!(sticky.match_frame(&[grey(53.0)], 1), vec![7]);
        // 60: nearer by 4 ΔE; the cell changes. After a reset, no memory.
        assert_eq!(sticky.match_frame(&[grey(60.0)], 1), vec![9]);
        sticky.reset();
        assert_eq!(sticky.match_frame(&[grey(52.5)], 1), vec![9]);
    }

    #[test]
    fn repeat_radius_holds_per_frame() {
        let table = Arc::new(corners());
        let mut m = FrameMatcher::new(
            table,
            FrameMatchOptions {
                repeat_radius: 1,
                ..Default::default()
            },
        );
        let (cols, rows) = (6usize, 4usize);
        let grid = m.match_frame(&vec![[255, 0, 0]; cols * rows], cols as u32);
        crate::matching::tests::assert_no_neighbour_repeats(&grid, cols, rows);
        assert_eq!(grid[0], 104, "the first cell gets the best tile");
    }

    #[test]
    fn cell_means_average_in_linear_light() {
        // 2×1 cells of 2×2 pixels: black+white halves average to linear grey (sRGB 188).
        let mut rgb = Vec::new();
        for _ in 0..2 {
            rgb.extend_from_slice(&[0, 0, 0, 255, 255, 255, 10, 20, 30, 10, 20, 30]);
        }
        let means = cell_means(&rgb, 2, 1, 2, 2);
        assert_eq!(means[0], [188, 188, 188]);
        assert_eq!(means[1], [10, 20, 30]);
        assert_eq!(cell_means(&[1, 2, 3], 1, 1, 1, 1), vec![[1, 2, 3]]);
    }
}
