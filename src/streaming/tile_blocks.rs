//! Which tiles each 64×64-cell block of the match grid holds, one bit set per block, so
//! that finding the distinct tiles of a zoomed-out view ORs the sets of the blocks it
//! covers whole and scans only the cells around them. At 1–2 px per cell on 1080p a view
//! holds one or two million cells, and a zoom plans every frame: the scan of every cell
//! took 1.4–2.2 ms of each such frame (18,000 tiles); the blocks' sets are 1.1 MB.

use crate::view::CellRect;

/// Cells a block spans on each axis.
const BLOCK: u32 = 64;

/// The most memory the block sets may take (a grid of many cells over a library of many
/// tiles): past it, views are scanned cell by cell.
const MAX_BYTES: usize = 64 << 20;

pub(super) struct TileBlocks {
    blocks_x: u32,
    /// Words (64 tiles each) in one block's set.
    words: usize,
    bits: Vec<u64>,
}

impl TileBlocks {
    /// The block sets of `grid` (`cols` cells a row, tile numbers below `tiles`): one scan
    /// of every cell. None where they would take more than `MAX_BYTES`.
    pub(super) fn build(grid: &[u32], cols: u32, tiles: u32) -> Option<TileBlocks> {
        let rows = grid.len() as u32 / cols.max(1);
        let blocks_x = cols.div_ceil(BLOCK);
        let words = (tiles as usize).div_ceil(64);
        let len = blocks_x as usize * rows.div_ceil(BLOCK) as usize * words;
        if len * 8 > MAX_BYTES {
            return None;
        }
        let mut bits = vec![0u64; len];
        for (y, row) in grid.chunks_exact(cols as usize).enumerate() {
            let first_block = y / BLOCK as usize * blocks_x as usize;
            for (x, &tile) in row.iter().enumerate() {
                let block = first_block + x / BLOCK as usize;
                bits[block * words + tile as usize / 64] |= 1u64 << (tile % 64);
            }
        }
        Some(TileBlocks {
            blocks_x,
            words,
            bits,
        })
    }
}

/// The cells of `rect` in blocks it covers whole (empty when none): a block at the grid's
/// right or bottom edge, narrower than `BLOCK`, counts when `rect` reaches that edge.
fn covered(rect: CellRect, cols: u32, rows: u32) -> CellRect {
    let whole = |lo: u32, hi: u32, n: u32| {
        let first = lo.div_ceil(BLOCK) * BLOCK;
        let end = if hi == n { n } else { hi / BLOCK * BLOCK };
        (first.min(end), end)
    };
    let (x0, x1) = whole(rect.x0, rect.x1, cols);
    let (y0, y1) = whole(rect.y0, rect.y1, rows);
    CellRect { x0, y0, x1, y1 }
}

/// The distinct tiles of `grid`'s cells in `rect`, ascending: the sets of the blocks
/// `rect` covers whole (with `blocks`), the other cells one by one. `found` is a bit per
/// tile, all clear, and left so.
pub(super) fn distinct_tiles(
    grid: &[u32],
    cols: u32,
    rect: CellRect,
    blocks: Option<&TileBlocks>,
    found: &mut [u64],
) -> Vec<u32> {
    let rows = grid.len() as u32 / cols.max(1);
    let inner = match blocks {
        Some(b) if !rect.is_empty() => {
            let inner = covered(rect, cols, rows);
            if !inner.is_empty() {
                for by in inner.y0 / BLOCK..inner.y1.div_ceil(BLOCK) {
                    for bx in inner.x0 / BLOCK..inner.x1.div_ceil(BLOCK) {
                        let block = (by * b.blocks_x + bx) as usize;
                        let set = &b.bits[block * b.words..][..b.words];
                        for (f, s) in found.iter_mut().zip(set) {
                            *f |= s;
                        }
                    }
                }
            }
            inner
        }
        _ => CellRect::default(),
    };
    let mut mark = |cells: &[u32]| {
        for &tile in cells {
            found[tile as usize / 64] |= 1u64 << (tile % 64);
        }
    };
    for y in rect.y0..rect.y1 {
        let row = &grid[(y * cols) as usize..][..cols as usize];
        if inner.is_empty() || !(inner.y0..inner.y1).contains(&y) {
            mark(&row[rect.x0 as usize..rect.x1 as usize]);
        } else {
            mark(&row[rect.x0 as usize..inner.x0 as usize]);
            mark(&row[inner.x1 as usize..rect.x1 as usize]);
        }
    }
    take_ascending(found)
}

/// The tiles whose bits are set in `found`, ascending; clears them.
pub(super) fn take_ascending(found: &mut [u64]) -> Vec<u32> {
    let mut tiles = Vec::new();
    for (w, word) in found.iter_mut().enumerate() {
        let mut bits = std::mem::take(word);
        while bits != 0 {
            tiles.push(w as u32 * 64 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distinct tiles of `rect`, ascending, the plain way.
    fn brute(grid: &[u32], cols: u32, rect: CellRect) -> Vec<u32> {
        let mut tiles: Vec<u32> = (rect.y0..rect.y1)
            .flat_map(|y| (rect.x0..rect.x1).map(move |x| grid[(y * cols + x) as usize]))
            .collect();
        tiles.sort_unstable();
        tiles.dedup();
        tiles
    }

    #[test]
    fn blocks_find_the_same_tiles_as_a_scan_of_every_cell() {
        // 200 × 150 cells (neither a multiple of 64: partial blocks at both far edges)
        // over 1,000 tiles, scattered by a small hash.
        let (cols, rows, tiles) = (200u32, 150u32, 1000u32);
        let grid: Vec<u32> = (0..cols * rows)
            .map(|i| i.wrapping_mul(2_654_435_761) % tiles)
            .collect();
        let blocks = TileBlocks::build(&grid, cols, tiles).expect("small enough");
        let mut found = vec![0u64; (tiles as usize).div_ceil(64)];
        let rects = [
            CellRect {
                x0: 0,
                y0: 0,
                x1: cols,
                y1: rows,
            },
            CellRect {
                x0: 1,
                y0: 3,
                x1: 199,
                y1: 149,
            },
            CellRect {
                x0: 64,
                y0: 64,
                x1: 128,
                y1: 128,
            },
            CellRect {
                x0: 63,
                y0: 10,
                x1: 129,
                y1: 140,
            },
            CellRect {
                x0: 130,
                y0: 70,
                x1: cols,
                y1: rows,
            },
            CellRect {
                x0: 5,
                y0: 5,
                x1: 40,
                y1: 30,
            },
            CellRect {
                x0: 7,
                y0: 7,
                x1: 7,
                y1: 9,
            },
        ];
        for rect in rects {
            let want = brute(&grid, cols, rect);
            for b in [Some(&blocks), None] {
                let got = distinct_tiles(&grid, cols, rect, b, &mut found);
                assert_eq!(got, want, "{rect:?}, blocks: {}", b.is_some());
                assert!(found.iter().all(|&w| w == 0), "found left clear");
            }
        }
        // Only what is in view: a tile outside it is not found.
        let mut grid = vec![1u32; (cols * rows) as usize];
        grid[0] = 2;
        let blocks = TileBlocks::build(&grid, cols, tiles).unwrap();
        let rect = CellRect {
            x0: 1,
            y0: 0,
            x1: cols,
            y1: rows,
        };
        assert_eq!(
            distinct_tiles(&grid, cols, rect, Some(&blocks), &mut found),
            [1]
        );
    }

    #[test]
    fn covered_blocks_stay_inside_the_view() {
        let r = |x0, y0, x1, y1| CellRect { x0, y0, x1, y1 };
        assert_eq!(covered(r(0, 0, 200, 150), 200, 150), r(0, 0, 200, 150));
        assert_eq!(covered(r(1, 0, 199, 150), 200, 150), r(64, 0, 192, 150));
        assert!(covered(r(1, 1, 127, 127), 200, 150).is_empty());
        assert_eq!(covered(r(0, 0, 128, 64), 200, 150), r(0, 0, 128, 64));
    }

    #[test]
    fn a_summary_too_large_is_not_built() {
        // 1,024 × 1,024 cells (256 blocks) over four million tiles: 128 MiB of sets.
        let grid = vec![0u32; 1024 * 1024];
        assert!(TileBlocks::build(&grid, 1024, 1 << 22).is_none());
        assert!(TileBlocks::build(&grid, 1024, 1 << 16).is_some());
    }
}
