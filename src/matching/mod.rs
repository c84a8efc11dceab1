//! Matching: every target cell gets the tile whose CIELAB signature is nearest.

pub(crate) mod fidelity;
pub(crate) mod index;
pub(crate) mod pipeline;
pub(crate) mod shortlist;
pub(crate) mod table;

use crate::color::linear_rgb_to_lab;
use crate::library::signature::signature_len;
use crate::library::TileAspect;
pub use fidelity::{grid_delta_e, picture_fidelity, Fidelity, SSIM_SAMPLES};
use image::{imageops, DynamicImage, ImageBuffer, Rgb};
pub use index::{brute_force_nearest, KdIndex};
pub use pipeline::make_mosaic;
use rayon::prelude::*;
pub use table::{ColourTable, FrameMatchOptions, FrameMatcher, DEFAULT_STICKINESS, TABLE_BITS};

/// How the target is cut into cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellSpec {
    /// Exactly `cols × rows` cells (the target is centre-cropped to that aspect).
    /// Exactly `cols × rows` cells.
    Exact {
        /// Cells across.
        cols: u32,
        /// Cells down.
        rows: u32,
    },
    /// `cols` cells across; rows follow from the target's aspect.
    Wide(u32),
}

impl CellSpec {
    /// The grid of square cells for a `width × height` target.
    pub fn resolve(self, width: u32, height: u32) -> (u32, u32) {
        self.resolve_for(width, height, TileAspect::SQUARE)
    }

    /// The grid of cells of `aspect` (the library's tiles') for a `width × height` target:
    /// `Wide` counts rows so the grid keeps the target's aspect.
    pub fn resolve_for(self, width: u32, height: u32, aspect: TileAspect) -> (u32, u32) {
        match self {
            CellSpec::Exact { cols, rows } => (cols, rows),
            CellSpec::Wide(cols) => (cols, aspect.rows_for(cols, width, height)),
        }
    }
}

/// A cell grid that does not parse as `WIDTHxHEIGHT`.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParseCellsError {
    #[error("`{0}`: expected WIDTHxHEIGHT, e.g. 192x108")]
    /// Not `COLSxROWS` or a count.
    Shape(String),
    #[error("`{text}`: {part} is not a positive whole number")]
    /// A part that is not a positive number.
    Count {
        /// What was given.
        text: String,
        /// The part that is not a number.
        part: String,
    },
}

impl std::str::FromStr for CellSpec {
    type Err = ParseCellsError;
    fn from_str(s: &str) -> Result<Self, ParseCellsError> {
        let (c, r) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| ParseCellsError::Shape(s.into()))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| ParseCellsError::Count {
                    text: s.into(),
                    part: v.into(),
                })
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

/// The target's square cells: signatures as `target_signatures` says, and each cell's mean
/// colour (the mean of its sub-cells, in linear light).
pub fn target_cells(target: &DynamicImage, cols: u32, rows: u32, grid: u32) -> TargetCells {
    target_cells_for(target, (cols, rows), grid, TileAspect::SQUARE)
}

/// `target_cells` for cells of `cell_aspect`: the target is centre-cropped to the grid's
/// aspect in pixels, and each cell's `grid × grid` sub-cells have the cell's shape.
pub fn target_cells_for(
    target: &DynamicImage,
    (cols, rows): (u32, u32),
    grid: u32,
    cell_aspect: TileAspect,
) -> TargetCells {
    let (w, h) = (target.width() as f64, target.height() as f64);
    let aspect =
        cols as f64 * cell_aspect.width() as f64 / (rows as f64 * cell_aspect.height() as f64);
    let (cw, ch) = if w / h > aspect {
        ((h * aspect).round().max(1.0), h)
    } else {
        (w, (w / aspect).round().max(1.0))
    };
    let (x0, y0) = (((w - cw) / 2.0) as u32, ((h - ch) / 2.0) as u32);
    let (cw, ch) = (cw as u32, ch as u32);
    let (sw, sh) = (cols * grid, rows * grid);
    let decode = crate::color::srgb8_decode_table();
    let shrink = shrink_factor(cw, ch, sw, sh);
    let linear: ImageBuffer<Rgb<f32>, Vec<f32>> = if shrink > 1 {
        box_shrink_linear(target, (x0, y0, cw, ch), shrink)
    } else {
        let cropped = target.crop_imm(x0, y0, cw, ch).into_rgb8();
        ImageBuffer::from_fn(cropped.width(), cropped.height(), |x, y| {
            Rgb(cropped.get_pixel(x, y).0.map(|v| decode[v as usize]))
        })
    };
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

/// Targets over this many pixels are first averaged down by a whole factor, in linear
/// light, straight from the decoded picture: a linear copy of the whole would take 12
/// bytes a pixel (4.8 GB for a 20,000² target), and the cells need far fewer pixels.
const SHRINK_ABOVE_PIXELS: u64 = 1 << 26;

/// The whole factor a `cw × ch` crop is averaged down by before it is resampled to its
/// `sw × sh` sub-cells: 1 up to `SHRINK_ABOVE_PIXELS`; beyond, enough to get under it,
/// but never below twice the sub-cell grid (the resampling then still filters).
fn shrink_factor(cw: u32, ch: u32, sw: u32, sh: u32) -> u32 {
    let pixels = cw as u64 * ch as u64;
    if pixels <= SHRINK_ABOVE_PIXELS {
        return 1;
    }
    let wanted = (pixels as f64 / SHRINK_ABOVE_PIXELS as f64).sqrt().ceil() as u32;
    let room = (cw / (2 * sw).max(1)).min(ch / (2 * sh).max(1));
    wanted.min(room).max(1)
}

/// The crop `(x0, y0, cw, ch)` of `target`, each `f × f` block averaged in linear light
/// (the last partial row and column of blocks dropped).
fn box_shrink_linear(
    target: &DynamicImage,
    (x0, y0, cw, ch): (u32, u32, u32, u32),
    f: u32,
) -> ImageBuffer<Rgb<f32>, Vec<f32>> {
    let decode = crate::color::srgb8_decode_table();
    // RGB and RGBA pictures are read in place; others (16-bit, greyscale) converted once.
    let converted;
    let (bytes, channels, stride) = match target {
        DynamicImage::ImageRgb8(img) => (img.as_raw().as_slice(), 3, img.width() as usize * 3),
        DynamicImage::ImageRgba8(img) => (img.as_raw().as_slice(), 4, img.width() as usize * 4),
        other => {
            converted = other.to_rgb8();
            (
                converted.as_raw().as_slice(),
                3,
                converted.width() as usize * 3,
            )
        }
    };
    let (ow, oh) = (cw / f, ch / f);
    let mut out = vec![0f32; ow as usize * oh as usize * 3];
    let scale = 1.0 / (f * f) as f32;
    out.par_chunks_mut(ow as usize * 3)
        .enumerate()
        .for_each(|(oy, row)| {
            for (ox, px) in row.chunks_exact_mut(3).enumerate() {
                let mut sum = [0f32; 3];
                for j in 0..f {
                    let y = (y0 + oy as u32 * f + j) as usize;
                    let start = y * stride + (x0 as usize + ox * f as usize) * channels;
                    for p in bytes[start..start + f as usize * channels].chunks_exact(channels) {
                        for c in 0..3 {
                            sum[c] += decode[p[c] as usize];
                        }
                    }
                }
                px.copy_from_slice(&sum.map(|v| v * scale));
            }
        });
    ImageBuffer::from_raw(ow, oh, out).expect("the buffer holds the picture")
}

/// Tiles a repeat radius needs to hold at every cell: a cell excludes the tiles already
/// placed in the `(2r + 1)²` window around it.
pub fn tiles_for_repeat_radius(radius: u32) -> u64 {
    let side = 2 * radius as u64 + 1;
    side * side
}

#[derive(Clone, Copy, Debug, Default)]
/// How tiles are chosen for cells.
pub struct MatchOptions {
    /// A tile may not appear again within this many cells (Chebyshev distance); 0 = no limit.
    pub repeat_radius: u32,
    /// Each tile at most this many times; 0 = no limit.
    pub max_uses: u32,
    /// Every tile at least once, where the grid has a cell for each.
    pub use_all: bool,
    /// How much more a difference in lightness counts than one in colour (CIELAB's L*
    /// scaled by it before matching); `None`: `DEFAULT_LIGHTNESS_WEIGHT` for sub-cell
    /// signatures (`DEFAULT_LIGHTNESS_WEIGHT_REPEATS` under a repeat radius), 1 for 1×1 ones.
    pub lightness_weight: Option<f32>,
    /// Under a repeat radius, keep the greedy match (no `Repeats::refine` passes).
    pub greedy: bool,
}

/// The lightness weight of sub-cell signatures when none is asked for. Shapes inside a cell
/// are read from lightness; measured on the ladybird beside metapixel (docs/performance.md,
/// "Matching quality"), weighting it 3× raises the structure measure (SSIM at 3×) from 0.685 to 0.804
/// for 1.1 ΔE of colour, and with a repeat limit it is what keeps the structure.
pub const DEFAULT_LIGHTNESS_WEIGHT: f32 = 3.0;

/// The lightness weight of sub-cell signatures under a repeat radius: there the refined
/// match with 2.5 beats metapixel's `--distance` on both measures on all three targets
/// measured, where 3 lost on colour on one (docs/performance.md, "Matching quality").
pub const DEFAULT_LIGHTNESS_WEIGHT_REPEATS: f32 = 2.5;

impl MatchOptions {
    /// The lightness weight for signatures of `grid × grid` sub-cells.
    pub fn lightness_weight(&self, grid: u32) -> f32 {
        self.lightness_weight.unwrap_or(if grid <= 1 {
            1.0
        } else if self.repeat_radius > 0 {
            DEFAULT_LIGHTNESS_WEIGHT_REPEATS
        } else {
            DEFAULT_LIGHTNESS_WEIGHT
        })
    }
}

/// Scales the L* of every Lab triple in `signatures` by `weight`.
pub fn weight_lightness(signatures: &mut [f32], weight: f32) {
    if weight != 1.0 {
        signatures.iter_mut().step_by(3).for_each(|l| *l *= weight);
    }
}

impl MatchOptions {
    /// Whether cells depend on each other (else each takes its nearest tile, in parallel).
    fn constrained(&self) -> bool {
        self.repeat_radius > 0 || self.max_uses > 0
    }
}

/// A cell not matched yet.
const UNSET: u32 = u32::MAX;

/// The match grid: for each cell (row-major), the index of the nearest tile in `index`.
///
/// Without constraints cells are independent and matched in parallel. With `--use-all`
/// every tile first takes the free cell nearest it (tiles that match some cell best go
/// first). With a repeat radius or a use limit the other cells go one by one in a shuffled
/// (fixed-seed) order, each taking the nearest tile not placed in the window around it and
/// not used up: an order with no direction leaves no pattern, where raster order cycles the
/// same few tiles along every row of a flat region. Under a radius the greedy grid is then
/// refined (`Repeats::refine`) unless `opts.greedy`. The grid is deterministic.
pub fn match_cells(
    cells: &[f32],
    cols: u32,
    index: &KdIndex,
    dims: usize,
    opts: MatchOptions,
) -> Vec<u32> {
    let n = cells.len() / dims;
    let cols = cols.max(1) as usize;
    let mut grid = vec![UNSET; n];
    let mut uses = vec![0u32; index.len()];
    if opts.use_all {
        place_every_tile(cells, dims, index, &mut grid, &mut uses);
    }
    if !opts.constrained() && dims > 3 && !opts.use_all {
        // Sub-cell signatures: through the mean-colour shortlist (same answer, faster).
        let (grid, stats) = shortlist::match_exact(cells, dims, index);
        tracing::debug!(
            "shortlist match: {} of {n} cells went to the tree",
            stats.fallbacks
        );
        return grid;
    }
    if !opts.constrained() || index.len() == 1 {
        grid.par_chunks_mut(cols)
            .zip(cells.par_chunks(cols * dims))
            .for_each(|(out, row)| {
                let mut guess = None;
                for (o, q) in out.iter_mut().zip(row.chunks_exact(dims)) {
                    if *o == UNSET {
                        *o = index.nearest_from(q, &[], guess).map_or(0, |(id, _)| id);
                    }
                    guess = Some(*o);
                }
            });
        return grid;
    }
    // Tiles still allowed: those used up are removed as they are.
    let mut allowed = index.clone();
    let mut used_up = vec![false; index.len()];
    if opts.max_uses > 0 {
        for (tile, &u) in uses.iter().enumerate() {
            if u >= opts.max_uses {
                allowed.remove(tile as u32);
                used_up[tile] = true;
            }
        }
    }
    // Sub-cell signatures: most cells are settled from their bin's list (see
    // `shortlist`), the rest by the k-d tree.
    let shortlist = (dims > 3).then(|| shortlist::Shortlist::build(cells, dims, index));
    let mut excluded = Vec::new();
    for cell in shuffled(n) {
        if grid[cell] != UNSET {
            continue;
        }
        placed_around(&grid, cols, cell, opts.repeat_radius, &mut excluded);
        let q = &cells[cell * dims..(cell + 1) * dims];
        let listed = shortlist.as_ref().and_then(|s| {
            let ((tile, _), proven) =
                s.nearest(cell, |t| used_up[t as usize] || excluded.contains(&t));
            proven.then_some(tile)
        });
        // Where the radius excludes every tile left, it gives way; where every tile is used
        // up (the caller checks there are enough), the limit does.
        let tile = listed.unwrap_or_else(|| {
            allowed
                .nearest(q, &excluded)
                .or_else(|| allowed.nearest(q, &[]))
                .or_else(|| index.nearest(q, &[]))
                .map_or(0, |(t, _)| t)
        });
        grid[cell] = tile;
        uses[tile as usize] += 1;
        if opts.max_uses > 0 && uses[tile as usize] >= opts.max_uses {
            allowed.remove(tile);
            used_up[tile as usize] = true;
        }
    }
    if opts.repeat_radius > 0 && !opts.greedy {
        let mut repeats = Repeats {
            grid: &mut grid,
            cells,
            dims,
            cols,
            radius: opts.repeat_radius as usize,
            index,
            shortlist: shortlist.as_ref(),
            allowed: &mut allowed,
            used_up: &mut used_up,
            uses: &mut uses,
            max_uses: opts.max_uses,
            use_all: opts.use_all,
        };
        // Every cell at first; then the cells around a move (only their windows changed).
        let mut todo = vec![true; n];
        for pass in 0..REFINE_PASSES {
            let moved = repeats.refine(&mut todo);
            tracing::debug!("repeat refinement pass {pass}: {moved} tiles moved");
            if moved == 0 {
                break;
            }
        }
    }
    grid
}

/// Passes of `Repeats::refine` at most (each finds fewer moves; the third rarely any).
const REFINE_PASSES: usize = 20;

/// A grid matched under a repeat radius, being improved.
struct Repeats<'a> {
    grid: &'a mut [u32],
    cells: &'a [f32],
    dims: usize,
    cols: usize,
    radius: usize,
    index: &'a KdIndex,
    shortlist: Option<&'a shortlist::Shortlist<'a>>,
    /// Tiles not used up (`--max-uses`), and which are.
    allowed: &'a mut KdIndex,
    used_up: &'a mut [bool],
    uses: &'a mut [u32],
    max_uses: u32,
    /// Every tile keeps at least one cell (`--use-all`).
    use_all: bool,
}

impl Repeats<'_> {
    /// One pass over the cells: where a tile a cell matches better than its own sits in its
    /// window (which is why the cell did not get it: whichever of two cells came first in
    /// the shuffled order took it), the tile moves to this cell when that cell gains more
    /// than the other loses, the other taking its best tile still allowed. The radius and
    /// the use limit hold after every move. Visits the cells marked in `todo` and marks
    /// those whose windows a move changed, for the next pass. Returns the moves made.
    fn refine(&mut self, todo: &mut [bool]) -> usize {
        let n = self.grid.len();
        let mut moved = 0;
        let mut better = Vec::new();
        let mut around = Vec::new();
        let mut excluded = Vec::new();
        let mut next = vec![false; n];
        for a in shuffled(n) {
            if !todo[a] {
                continue;
            }
            let qa = self.signature(a);
            let own = distance(qa, self.index.point(self.grid[a]));
            better.clear();
            around.clear();
            for b in self.window(a) {
                let tile = self.grid[b];
                around.push(tile);
                let d = distance(qa, self.index.point(tile));
                if d < own {
                    better.push((d, b));
                }
            }
            better.sort_by(|x, y| x.0.total_cmp(&y.0));
            for &(d_a, b) in &better {
                let tile = self.grid[b];
                // A tile twice in this window (far enough apart from each other) stays.
                if around.iter().filter(|&&t| t == tile).count() != 1 {
                    continue;
                }
                // B's best tile with the move made: its window, `a` holding `tile`.
                excluded.clear();
                excluded.extend(
                    self.window(b)
                        .map(|c| if c == a { tile } else { self.grid[c] }),
                );
                let qb = self.signature(b);
                // The move gains where B's new tile is nearer to it than this.
                let bound = own + distance(qb, self.index.point(tile)) - d_a - own * 1e-6;
                if bound <= 0.0 {
                    continue;
                }
                let old = self.grid[a];
                // A swap (uses unchanged) gains often enough to try first: no search.
                let swap = !excluded.contains(&old) && distance(qb, self.index.point(old)) < bound;
                // Else B's best tile that gains from its bin list, proven B's best or not (a
                // k-d search where the list proves nothing found almost no more moves, at
                // several times the cost). Signatures of one mean colour have no list: a k-d
                // search (it finds twice the gain of swaps alone there, at 3× the time).
                let found = if swap {
                    Some((old, 0.0))
                } else if let Some(s) = self.shortlist {
                    let used_up = &*self.used_up;
                    let skip = |t: u32| used_up[t as usize] || excluded.contains(&t);
                    let (best, _) = s.nearest_within(b, skip, bound);
                    (best.0 != u32::MAX).then_some(best)
                } else {
                    self.allowed.nearest_within(qb, &excluded, Some(old), bound)
                };
                let Some((replacement, _)) = found else {
                    continue;
                };
                if self.use_all && replacement != old && self.uses[old as usize] == 1 {
                    continue;
                }
                self.grid[a] = tile;
                self.grid[b] = replacement;
                self.uses[old as usize] -= 1;
                self.uses[replacement as usize] += 1;
                if self.max_uses > 0 && self.uses[replacement as usize] >= self.max_uses {
                    self.allowed.remove(replacement);
                    self.used_up[replacement as usize] = true;
                }
                for c in self.window(a).chain(self.window(b)) {
                    next[c] = true;
                }
                moved += 1;
                break;
            }
        }
        todo.copy_from_slice(&next);
        moved
    }

    fn signature(&self, cell: usize) -> &[f32] {
        &self.cells[cell * self.dims..(cell + 1) * self.dims]
    }

    /// The cells within the radius of `cell`, itself left out.
    fn window(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        let (r, cols) = (self.radius, self.cols);
        let rows = self.grid.len() / cols;
        let (x, y) = (cell % cols, cell / cols);
        (y.saturating_sub(r)..=(y + r).min(rows - 1))
            .flat_map(move |yy| {
                (x.saturating_sub(r)..=(x + r).min(cols - 1)).map(move |xx| yy * cols + xx)
            })
            .filter(move |&c| c != cell)
    }
}

/// Squared distance between two signatures (what the index ranks by).
fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `--use-all`: each tile takes the free cell nearest it, tiles whose nearest cell is
/// closest going first, until every tile or every cell is placed.
fn place_every_tile(
    cells: &[f32],
    dims: usize,
    index: &KdIndex,
    grid: &mut [u32],
    uses: &mut [u32],
) {
    let mut free = KdIndex::build(cells, dims);
    let mut order: Vec<(u32, f32)> = (0..index.len() as u32)
        .into_par_iter()
        .map(|t| {
            let d = free.nearest(index.point(t), &[]).map_or(0.0, |(_, d)| d);
            (t, d)
        })
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    for (tile, _) in order {
        let Some((cell, _)) = free.nearest(index.point(tile), &[]) else {
            break;
        };
        free.remove(cell);
        grid[cell as usize] = tile;
        uses[tile as usize] += 1;
    }
}

/// `0..n` in a fixed pseudo-random order (Fisher–Yates over SplitMix64).
fn shuffled(n: usize) -> Vec<usize> {
    let mut state = 0x7e55_e7a0_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// The tiles already placed within `radius` cells of `cell` on every side, into `out`.
fn placed_around(grid: &[u32], cols: usize, cell: usize, radius: u32, out: &mut Vec<u32>) {
    out.clear();
    if radius == 0 {
        return;
    }
    let (r, x, y) = (radius as usize, cell % cols, cell / cols);
    let rows = grid.len() / cols;
    for yy in y.saturating_sub(r)..=(y + r).min(rows - 1) {
        for xx in x.saturating_sub(r)..=(x + r).min(cols - 1) {
            let t = grid[yy * cols + xx];
            if t != UNSET {
                out.push(t);
            }
        }
    }
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

    /// `n` tiles on a line: every flat cell (at 0) wants tile 0 most, then 1, 2 …
    fn line_of_tiles(n: usize) -> KdIndex {
        let tiles: Vec<f32> = (0..n).flat_map(|i| [i as f32, 0.0, 0.0]).collect();
        KdIndex::build(&tiles, 3)
    }

    fn options(repeat_radius: u32, max_uses: u32, use_all: bool) -> MatchOptions {
        MatchOptions {
            repeat_radius,
            max_uses,
            use_all,
            ..Default::default()
        }
    }

    #[test]
    fn constrained_sub_cell_matching_takes_the_nearest_allowed_tile_every_time() {
        // 2×2 signatures go through the shortlist; the greedy must still take, cell by cell
        // in its order, exactly the nearest tile neither placed nearby nor used up.
        let mut seed = 21;
        let dims = 12;
        let lcg = crate::matching::index::tests::lcg;
        // A mean colour each, and a little detail: the list proves most answers.
        let mut make = |n: usize| -> Vec<f32> {
            (0..n)
                .flat_map(|_| {
                    let base = [0, 1, 2].map(|_| lcg(&mut seed) * 80.0);
                    (0..dims)
                        .map(|d| base[d % 3] + lcg(&mut seed) * 4.0)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let sigs = make(300);
        let (cols, rows) = (20usize, 15usize);
        let cells = make(cols * rows);
        let index = KdIndex::build(&sigs, dims);
        let opts = MatchOptions {
            greedy: true,
            ..options(1, 2, false)
        };
        let grid = match_cells(&cells, cols as u32, &index, dims, opts);
        let mut want = vec![UNSET; cols * rows];
        let mut uses = vec![0u32; 300];
        let mut near = Vec::new();
        for cell in shuffled(cols * rows) {
            placed_around(&want, cols, cell, 1, &mut near);
            let mut skip = near.clone();
            skip.extend((0..300u32).filter(|&t| uses[t as usize] >= 2));
            let q = &cells[cell * dims..(cell + 1) * dims];
            let (t, _) = index::brute_force_nearest(&sigs, dims, q, &skip).unwrap();
            want[cell] = t;
            uses[t as usize] += 1;
        }
        assert_eq!(grid, want);
    }

    #[test]
    fn refining_a_repeat_limited_match_lowers_its_cost_and_keeps_every_limit() {
        let mut seed = 5;
        let dims = 12;
        let lcg = crate::matching::index::tests::lcg;
        // Few tiles of a few colours and many cells alike: cells compete for the same tiles.
        let mut make = |n: usize, spread: f32| -> Vec<f32> {
            (0..n)
                .flat_map(|_| {
                    let base = [0, 1, 2].map(|_| lcg(&mut seed) * spread);
                    (0..dims)
                        .map(|d| base[d % 3] + lcg(&mut seed) * 10.0)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let sigs = make(60, 40.0);
        let (cols, rows) = (24usize, 16usize);
        let cells = make(cols * rows, 20.0);
        let index = KdIndex::build(&sigs, dims);
        let cost = |grid: &[u32]| -> f32 {
            grid.iter()
                .enumerate()
                .map(|(c, &t)| distance(&cells[c * dims..(c + 1) * dims], index.point(t)))
                .sum()
        };
        for (max_uses, use_all) in [(0, false), (12, false), (12, true)] {
            let opts = options(1, max_uses, use_all);
            let greedy = match_cells(
                &cells,
                cols as u32,
                &index,
                dims,
                MatchOptions {
                    greedy: true,
                    ..opts
                },
            );
            let refined = match_cells(&cells, cols as u32, &index, dims, opts);
            assert!(
                cost(&refined) < cost(&greedy) * 0.99,
                "{max_uses} {use_all}: {} against {}",
                cost(&refined),
                cost(&greedy)
            );
            assert_no_neighbour_repeats(&refined, cols, rows);
            let mut uses = vec![0u32; 60];
            refined.iter().for_each(|&t| uses[t as usize] += 1);
            if max_uses > 0 {
                assert!(uses.iter().all(|&u| u <= max_uses), "{uses:?}");
            }
            if use_all {
                assert!(uses.iter().all(|&u| u >= 1), "{uses:?}");
            }
        }
    }

    #[test]
    fn lightness_weighs_in_for_sub_cell_signatures_only() {
        let mut sig = vec![50.0, 10.0, -10.0, 20.0, 0.0, 5.0];
        weight_lightness(&mut sig, 3.0);
        assert_eq!(sig, vec![150.0, 10.0, -10.0, 60.0, 0.0, 5.0]);
        let auto = MatchOptions::default();
        assert_eq!(auto.lightness_weight(1), 1.0);
        assert_eq!(auto.lightness_weight(3), DEFAULT_LIGHTNESS_WEIGHT);
        let repeats = options(2, 0, false);
        assert_eq!(
            repeats.lightness_weight(3),
            DEFAULT_LIGHTNESS_WEIGHT_REPEATS
        );
        assert_eq!(repeats.lightness_weight(1), 1.0);
        let asked = MatchOptions {
            lightness_weight: Some(1.5),
            ..Default::default()
        };
        assert_eq!(asked.lightness_weight(3), 1.5);
    }

    #[test]
    fn repeat_radius_keeps_tiles_apart() {
        let index = line_of_tiles(9);
        let (cols, rows) = (7usize, 5usize);
        let cells = vec![0.0f32; cols * rows * 3];
        let grid = match_cells(&cells, cols as u32, &index, 3, options(1, 0, false));
        assert_no_neighbour_repeats(&grid, cols, rows);
        let plain = match_cells(&cells, cols as u32, &index, 3, MatchOptions::default());
        assert!(plain.iter().all(|&t| t == 0));
    }

    /// Share of cells whose tile is the same as the one `p` cells to the right.
    fn period_share(grid: &[u32], cols: usize, p: usize) -> f64 {
        let (mut same, mut all) = (0, 0);
        for row in grid.chunks_exact(cols) {
            for x in 0..cols - p {
                same += (row[x] == row[x + p]) as u32;
                all += 1;
            }
        }
        same as f64 / all as f64
    }

    #[test]
    fn a_flat_region_under_a_repeat_radius_shows_no_period() {
        // Raster order made each row cycle the same few tiles (a period at which every cell
        // repeats). Shuffled, the repeats at any distance are about what chance gives with
        // the ~6 tiles a flat region uses (0.12–0.30; 2 apart is likeliest, as neighbours
        // may not repeat).
        let index = line_of_tiles(40);
        let (cols, rows) = (60usize, 40usize);
        let cells = vec![0.0f32; cols * rows * 3];
        let grid = match_cells(&cells, cols as u32, &index, 3, options(1, 0, false));
        assert_no_neighbour_repeats(&grid, cols, rows);
        for p in 2..=8 {
            let share = period_share(&grid, cols, p);
            assert!(share < 0.4, "period {p}: {share:.2} of cells repeat");
        }
    }

    #[test]
    fn a_use_limit_is_held_and_use_all_places_every_tile() {
        let index = line_of_tiles(30);
        let (cols, rows) = (10usize, 8usize);
        // A gradient: cells near 0 want the first tiles, and nobody wants the last ones.
        let cells: Vec<f32> = (0..cols * rows)
            .flat_map(|i| [(i % 7) as f32, 0.0, 0.0])
            .collect();
        let count = |grid: &[u32]| {
            let mut n = vec![0usize; 30];
            grid.iter().for_each(|&t| n[t as usize] += 1);
            n
        };
        let plain = count(&match_cells(
            &cells,
            cols as u32,
            &index,
            3,
            MatchOptions::default(),
        ));
        assert!(plain.iter().max() > Some(&3) && plain.iter().filter(|&&n| n > 0).count() == 7);
        for max in [3, 4] {
            let limited = count(&match_cells(
                &cells,
                cols as u32,
                &index,
                3,
                options(0, max, false),
            ));
            assert!(limited.iter().all(|&n| n <= max as usize), "{limited:?}");
        }
        let all = count(&match_cells(
            &cells,
            cols as u32,
            &index,
            3,
            options(0, 0, true),
        ));
        assert!(all.iter().all(|&n| n >= 1), "{all:?}");
        // All three at once.
        let grid = match_cells(&cells, cols as u32, &index, 3, options(1, 4, true));
        let both = count(&grid);
        assert!(both.iter().all(|&n| (1..=4).contains(&n)), "{both:?}");
        assert_no_neighbour_repeats(&grid, cols, rows);
        // Fewer cells than tiles: each cell a different tile, the best-matching ones.
        let few = count(&match_cells(
            &cells[..10 * 3],
            10,
            &index,
            3,
            options(0, 0, true),
        ));
        assert_eq!(few.iter().filter(|&&n| n == 1).count(), 10);
    }
}
