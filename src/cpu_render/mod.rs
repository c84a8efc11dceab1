//! The CPU reference renderer: the fragment shader's exact semantics (level choice,
//! fallback, clamp-to-tile bilinear filtering, level blending with a nearest coarse texel,
//! overview, background) in plain Rust, parallel over rows. It is the oracle for the GPU
//! golden tests and the baseline for benchmarks.
//!
//! Its parts: `atlas` (the CPU twin of the GPU atlas), `axis` (where each screen pixel
//! falls in its cell and its filter taps), `small` (every tile's tiny page gathered into one
//! table, and the bands of tiny cells drawn from it), `overview_taps` (frames below a pixel
//! per cell); this file draws a frame band by band and its cells the general way.

mod atlas;
mod axis;
mod overview_taps;
mod page;
mod small;
#[cfg(test)]
mod tests;

pub use atlas::CpuAtlas;

use self::axis::{nearest_index, tap, Axis, Run};
use self::overview_taps::OverviewTaps;
use self::small::{SmallPages, SMALL_PAGE_LEVEL};
use crate::atlas::Entry;
use crate::color::{srgb8_decode_table, SrgbEncoder};
use crate::overview::Overview;
use crate::style::RenderStyle;
use crate::tint;
use crate::view::FrameView;
use rayon::prelude::*;
use wide::f32x4;

/// A colour in linear light as the renderer works on it: RGB and a fourth lane, unused, so
/// that a colour is one vector: filtered, blended and tinted by one instruction a step.
/// Each lane does the scalar arithmetic exactly (no fused multiply-adds), so results do not
/// depend on the instruction set.
type Rgb = f32x4;

/// A texel in linear light.
#[inline(always)]
fn decode(lut: &[f32; 256], texel: &[u8; 4]) -> Rgb {
    let [r, g, b, _] = *texel;
    f32x4::new([lut[r as usize], lut[g as usize], lut[b as usize], 0.0])
}

/// What a resolved entry draws: (level, packed origin).
#[inline]
fn resolve(row: &[Entry], level: usize) -> (usize, u32) {
    let [code, l] = row[level];
    (l as usize, code)
}

/// Brightness ramp of the level overlay.
pub fn debug_tint(level: i32, max_level: usize) -> f32 {
    (level + 1) as f32 / (max_level + 1) as f32
}

/// A linear colour to opaque sRGB RGBA8.
#[inline(always)]
fn encode(encoder: SrgbEncoder, rgb: Rgb) -> [u8; 4] {
    encoder.encode_rgb(rgb)
}

/// What every band of one frame shares.
struct Frame<'a> {
    view: &'a FrameView,
    grid: &'a [u32],
    atlas: &'a CpuAtlas,
    overview: &'a Overview,
    style: &'a RenderStyle,
    columns: Axis,
    rows: Axis,
    tint_k: f32,
    /// The coarser and finer levels' weights in a blend, in every lane.
    blend: [Rgb; 2],
    /// The level drawn by row copies (see `FrameView::texel_aligned_level`).
    exact: Option<usize>,
    /// Draw the copy floor instead of the frame (see `copy_floor_into`).
    floor: bool,
    /// Zoomed out below a pixel per cell: where each pixel samples the overview.
    overview_taps: Option<OverviewTaps>,
    /// With `exact` (or the floor) at a level of tiny pages: every tile's page (kept in the
    /// atlas until it changes, see `CpuAtlas::small_pages`), copied a band at a time.
    copies: Option<&'a SmallPages>,
    /// The same tables for the frame's levels of tiny pages when it filters them (see
    /// `draw_tiny_band`).
    small: [Option<&'a SmallPages>; SMALL_PAGE_LEVEL + 1],
    background: [u8; 4],
    lut: &'static [f32; 256],
    encoder: SrgbEncoder,
}

/// Renders one frame into `out`, resized to `width × height` RGBA8. Every byte is written, so
/// a buffer kept from frame to frame costs neither an allocation nor fresh pages.
pub fn render_into(
    view: &FrameView,
    grid: &[u32],
    atlas: &CpuAtlas,
    overview: &Overview,
    style: &RenderStyle,
    out: &mut Vec<u8>,
) {
    draw(view, grid, atlas, overview, style, out, false, true);
}

/// The floor of a frame at a zoom of a pixel per cell or more: the same cells, each pixel
/// row of a cell written with plain copies from one row of the cell's resident page (no
/// filtering, no blending, no tint), into `out` as `render_into` does, on `background`.
/// Benchmarks print its time beside the renderer's, to show how far each zoom is from the
/// cost of writing the frame.
pub fn copy_floor_into(
    view: &FrameView,
    grid: &[u32],
    atlas: &CpuAtlas,
    overview: &Overview,
    background: [u8; 3],
    out: &mut Vec<u8>,
) {
    let style = RenderStyle {
        background,
        ..Default::default()
    };
    draw(view, grid, atlas, overview, &style, out, true, true);
}

/// Draws a frame (or its copy `floor`); `small_tables`: whether tiny cells may be drawn
/// from the small-page tables, copied or filtered (off only to test those paths against
/// the general one).
#[allow(clippy::too_many_arguments)]
fn draw(
    view: &FrameView,
    grid: &[u32],
    atlas: &CpuAtlas,
    overview: &Overview,
    style: &RenderStyle,
    out: &mut Vec<u8>,
    floor: bool,
    small_tables: bool,
) {
    let (w, h) = (view.width as usize, view.height as usize);
    out.resize(w * h * 4, 0);
    let tint_k = style.tint_strength(view);
    // Not with a tint or the level overlay, which change every texel.
    let exact = view
        .texel_aligned_level()
        .filter(|_| tint_k == 0.0 && !style.debug_lod);
    // Filtered tiny cells: drawn from the small tables of the frame's levels (the finer one
    // small).
    let tiny = small_tables
        && exact.is_none()
        && !floor
        && !view.uses_overview()
        && view.levels.hi <= SMALL_PAGE_LEVEL;
    let frame = Frame {
        view,
        grid,
        atlas,
        overview,
        style,
        columns: Axis::new(view, w, 0, view.cols),
        rows: Axis::new(view, h, 1, view.rows),
        tint_k,
        blend: {
            let t = view.levels.weight_hi;
            [f32x4::splat(1.0 - t), f32x4::splat(t)]
        },
        exact,
        floor,
        // (The copy floor's row copies assume square pages.)
        copies: exact
            .or((floor && view.shape == crate::view::SQUARE).then_some(view.levels.hi))
            .filter(|&l| small_tables && l <= SMALL_PAGE_LEVEL)
            .map(|l| atlas.small_pages(l)),
        small: std::array::from_fn(|l| {
            let drawn = l == view.levels.hi || (l == view.levels.lo && view.levels.weight_hi < 1.0);
            (tiny && drawn).then(|| {
                let table = atlas.small_pages(l);
                table.decode(srgb8_decode_table());
                table
            })
        }),
        overview_taps: view
            .uses_overview()
            .then(|| OverviewTaps::new(view, overview)),
        background: [
            style.background[0],
            style.background[1],
            style.background[2],
            255,
        ],
        lut: srgb8_decode_table(),
        encoder: SrgbEncoder::get(),
    };
    // Bands of pixel rows that share a cell row: each cell's page is looked up once a band.
    let mut bands = Vec::with_capacity(frame.rows.runs.len());
    let mut rest = out.as_mut_slice();
    for run in &frame.rows.runs {
        let (band, tail) = rest.split_at_mut((run.end - run.start) * w * 4);
        bands.push((*run, band));
        rest = tail;
    }
    bands
        .into_par_iter()
        .for_each(|(run, band)| frame.draw_band(run, band));
}

impl Frame<'_> {
    fn draw_band(&self, band: Run, out: &mut [u8]) {
        let view = self.view;
        let stride = view.width as usize * 4;
        if band.cell < 0 || band.cell >= view.rows as i64 {
            return fill(out, self.background);
        }
        if let Some(o) = &self.overview_taps {
            for (py, line) in (band.start..band.end).zip(out.chunks_exact_mut(stride)) {
                for (px, (p, x)) in line.chunks_exact_mut(4).zip(&o.columns).enumerate() {
                    if !o.inside[px] {
                        p.copy_from_slice(&self.background);
                        continue;
                    }
                    let y = &o.rows[py];
                    let mut c = self.overview.sample(o.mip, x[0], y[0]);
                    if o.weight > 0.0 {
                        let b = self.overview.sample(o.mip + 1, x[1], y[1]);
                        c = std::array::from_fn(|k| c[k] + (b[k] - c[k]) * o.weight);
                    }
                    let [r, g, b] = c;
                    let mut c = f32x4::new([r, g, b, 0.0]);
                    if self.style.debug_lod {
                        c = lod_tint(c, -1, view.max_level);
                    }
                    p.copy_from_slice(&encode(self.encoder, c));
                }
            }
            return;
        }
        let cols = view.cols as usize;
        let grid_row = &self.grid[band.cell as usize * cols..][..cols];
        if let Some(small) = self.copies {
            return self.draw_small_band(small, band, grid_row, out);
        }
        if let Some(fine) = self.small.get(view.levels.hi).copied().flatten() {
            let blend = view.levels.weight_hi < 1.0 && view.levels.lo != view.levels.hi;
            let coarse = blend.then(|| self.small[view.levels.lo]).flatten();
            if (!blend || coarse.is_some())
                && self.draw_tiny_band(fine, coarse, band, grid_row, out)
            {
                return;
            }
        }
        for run in self.columns.outside() {
            for line in out.chunks_exact_mut(stride) {
                fill(&mut line[run.start * 4..run.end * 4], self.background);
            }
        }
        self.draw_cells(band, self.columns.inside().iter().copied(), grid_row, out);
    }

    /// Cells of one band drawn the general way (`draw_cell`), each on the mosaic.
    fn draw_cells(
        &self,
        band: Run,
        runs: impl IntoIterator<Item = Run>,
        grid_row: &[u32],
        out: &mut [u8],
    ) {
        let mut scratch = Scratch::default();
        let mut runs = runs.into_iter().peekable();
        while let Some(run) = runs.next() {
            if let Some(next) = runs.peek() {
                self.prefetch_pages(grid_row[next.cell as usize]);
            }
            let cell = band.cell as usize * grid_row.len() + run.cell as usize;
            let tile = grid_row[run.cell as usize];
            self.draw_cell(band, run, tile, cell, out, &mut scratch);
        }
    }

    /// Asks for the pages `draw_cell` will read for `tile` while the cell before it is
    /// drawn: a tick of playing clips moves every cell to a page the last frame did not
    /// read. The coarser page only where the cell blends it in.
    #[inline]
    fn prefetch_pages(&self, tile: u32) {
        let row = self.atlas.row(tile);
        let (l_hi, code_hi) = resolve(row, self.view.levels.hi);
        self.atlas.page(code_hi, l_hi).prefetch(l_hi);
        let filtered = !self.floor && self.exact != Some(l_hi);
        if filtered && self.view.levels.weight_hi < 1.0 {
            let (l_lo, code_lo) = resolve(row, self.view.levels.lo);
            if l_lo != l_hi {
                self.atlas.page(code_lo, l_lo).prefetch(l_lo);
            }
        }
    }

    /// The pixels of one cell in one band.
    fn draw_cell(
        &self,
        band: Run,
        run: Run,
        tile: u32,
        cell: usize,
        out: &mut [u8],
        scratch: &mut Scratch,
    ) {
        let (view, atlas) = (self.view, self.atlas);
        let stride = view.width as usize * 4;
        let row = atlas.row(tile);
        let (l_hi, slot_hi) = resolve(row, view.levels.hi);
        let page_hi = atlas.page(slot_hi, l_hi);
        let lines = out.chunks_exact_mut(stride).zip(band.start..band.end);
        if self.floor {
            let size = 1usize << l_hi;
            for (line, py) in lines {
                let texels = page_hi.run(0, (py - band.start) % size, size);
                for chunk in line[run.start * 4..run.end * 4].chunks_mut(size * 4) {
                    chunk.copy_from_slice(&texels[..chunk.len()]);
                }
            }
            return;
        }
        if self.exact == Some(l_hi) {
            // Pixels sit on texel centres one-to-one: filtering returns texels unchanged.
            let [ex, ey] = view.extent(l_hi).map(|e| e as f32);
            let tx = (self.columns.taps[run.start].frac * ex) as usize;
            for (line, py) in lines {
                let ty = (self.rows.taps[py].frac * ey) as usize;
                line[run.start * 4..run.end * 4].copy_from_slice(page_hi.run(
                    tx,
                    ty,
                    run.end - run.start,
                ));
            }
            return;
        }
        let (l_lo, slot_lo) = resolve(row, view.levels.lo);
        let page_lo = atlas.page(slot_lo, l_lo);
        let blend = view.levels.weight_hi < 1.0 && l_lo != l_hi;
        // A page drawn from a coarser level than the frame's (still loading) has taps of its
        // own extent; the frame's precomputed ones serve every other cell.
        let (hi_size, lo_size) = (view.extent(l_hi), view.extent(l_lo));
        let hi_nominal = l_hi == view.levels.hi;
        let lo_nominal = l_lo == view.levels.lo;
        let offset = self.tint_offset(cell);
        let (columns, rows) = (&self.columns, &self.rows);
        let tx = |px: usize| {
            if hi_nominal {
                columns.taps[px].hi
            } else {
                tap(columns.taps[px].frac, hi_size[0])
            }
        };
        let nx = |px: usize| {
            if lo_nominal {
                columns.taps[px].lo
            } else {
                nearest_index(columns.taps[px].frac, lo_size[0])
            }
        };
        // Filtering is separable: each band row first blends the page's two texel rows
        // (every texel column the cell's pixels touch, decoded once) and decodes the coarser
        // level's row, then each pixel blends two of those columns with taps found once a
        // cell.
        let first = tx(run.start).i0;
        let touched = tx(run.end - 1).i1 + 1 - first;
        let lo_first = nx(run.start);
        let lo_touched = if blend {
            nx(run.end - 1) + 1 - lo_first
        } else {
            0
        };
        let Scratch {
            hi: filtered,
            lo,
            taps,
        } = scratch;
        filtered.resize(touched, f32x4::ZERO);
        lo.resize(lo_touched, f32x4::ZERO);
        taps.clear();
        taps.extend((run.start..run.end).map(|px| {
            let x = tx(px);
            CellTap {
                left: x.i0 - first,
                right: x.i1 - first,
                a: x.a,
                lo: if blend { nx(px) - lo_first } else { 0 },
            }
        }));
        for (line, py) in lines {
            let vy = rows.taps[py].frac;
            let ty = if hi_nominal {
                rows.taps[py].hi
            } else {
                tap(vy, hi_size[1])
            };
            let (top, bottom) = (
                page_hi.run(first, ty.i0, touched),
                page_hi.run(first, ty.i1, touched),
            );
            for ((v, a), b) in filtered[..touched]
                .iter_mut()
                .zip(top.as_chunks::<4>().0)
                .zip(bottom.as_chunks::<4>().0)
            {
                *v = lerp(self.decode(a), self.decode(b), ty.a);
            }
            if blend {
                let ny = if lo_nominal {
                    rows.taps[py].lo
                } else {
                    nearest_index(vy, lo_size[1])
                };
                let texels = page_lo.run(lo_first, ny, lo_touched);
                for (v, texel) in lo[..lo_touched].iter_mut().zip(texels.as_chunks::<4>().0) {
                    *v = self.decode(texel);
                }
            }
            let pixels = line[run.start * 4..run.end * 4].as_chunks_mut::<4>().0;
            for (p, t) in pixels.iter_mut().zip(taps.iter()) {
                let fine = lerp(filtered[t.left], filtered[t.right], t.a);
                let coarse = blend.then(|| lo[t.lo]);
                *p = self.shade(fine, coarse, offset, l_hi);
            }
        }
    }

    /// A texel in linear light.
    #[inline(always)]
    fn decode(&self, texel: &[u8; 4]) -> Rgb {
        decode(self.lut, texel)
    }

    /// A cell's tint offset, when the frame draws a tint.
    #[inline]
    fn tint_offset(&self, cell: usize) -> Option<Rgb> {
        self.atlas
            .tint
            .get(cell)
            .filter(|_| self.tint_k > 0.0)
            .map(|o| {
                let [r, g, b] = tint::decode(o);
                f32x4::new([r, g, b, 0.0])
            })
    }

    /// A pixel's output: the finer level's filtered colour, blended with the coarser level's
    /// texel when there is one, tinted, overlaid with the level of `level` (`--debug-lod`),
    /// encoded to sRGB.
    // Always: left to itself the compiler sometimes outlined it (an edit to the encoder did),
    // a call per pixel.
    #[inline(always)]
    fn shade(&self, fine: Rgb, coarse: Option<Rgb>, offset: Option<Rgb>, level: usize) -> [u8; 4] {
        let mut c = fine;
        if let Some(coarse) = coarse {
            let [lo, hi] = self.blend;
            c = coarse * lo + c * hi;
        }
        if let Some(offset) = offset {
            c = f32x4::new(tint::apply(c.to_array(), offset.to_array(), self.tint_k));
        }
        if self.style.debug_lod {
            c = lod_tint(c, level as i32, self.view.max_level);
        }
        encode(self.encoder, c)
    }
}

/// `a` to `b` by `t`, per channel: the one filter step both tiny and general cells use, so
/// the two draw the same bytes.
#[inline(always)]
fn lerp(a: Rgb, b: Rgb, t: f32) -> Rgb {
    a + (b - a) * f32x4::splat(t)
}

/// Decoded texel rows and taps `draw_cell` reuses from cell to cell within a band.
#[derive(Default)]
struct Scratch {
    /// The finer level's two rows, blended vertically.
    hi: Vec<Rgb>,
    /// The coarser level's nearest row.
    lo: Vec<Rgb>,
    /// Per pixel of the cell's run, where it reads `hi` and `lo`.
    taps: Vec<CellTap>,
}

/// A pixel's taps in a cell's decoded rows (`Scratch`): the finer level's two columns and
/// the weight of the right one, the coarser level's column.
struct CellTap {
    left: usize,
    right: usize,
    a: f32,
    lo: usize,
}

fn fill(out: &mut [u8], colour: [u8; 4]) {
    out.chunks_exact_mut(4)
        .for_each(|p| p.copy_from_slice(&colour));
}

#[inline]
fn lod_tint(c: Rgb, level: i32, max_level: usize) -> Rgb {
    let t = debug_tint(level, max_level);
    c * f32x4::splat(0.25) + f32x4::splat(t * 0.75)
}
