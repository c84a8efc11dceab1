//! Small tables: every tile's page of a tiny level in one table, and the bands of tiny
//! cells drawn from them.

use super::axis::{PixelTap, Run};
use super::page::Page;
use super::{decode, fill, lerp, Frame, Rgb};
use crate::atlas::Entry;
use crate::color::srgb8_decode_table;
use rayon::prelude::*;

/// The largest small table kept decoded to linear light (four times its bytes): level 3 of
/// 18,000 tiles takes 18.4 MB; a library so large that a table would pass this draws tiny
/// cells the general way, so the tables' memory stays bounded.
const LINEAR_TABLE_MAX_BYTES: usize = 64 << 20;

/// Levels whose pages a frame may gather into a `SmallPages` table (8×8 texels, 256 bytes:
/// cells of up to 8 px).
pub(super) const SMALL_PAGE_LEVEL: usize = 3;

/// Every tile's page at one level, tile-major (see `CpuAtlas::small_pages`), kept in step
/// with the atlas: a page written where a tile's entry came from, or a page-table row that
/// moves tiles to other pages, patches those tiles' entries (`patch_page`, `refresh`).
/// Playing clips' uploads of their next frames, between ticks, touch no entry; a tick moves
/// every tile on screen, patched in parallel as a gather would be.
pub(super) struct SmallPages {
    pub(super) size: usize,
    pub(super) texels: Vec<u8>,
    /// Per tile, the code of the page its entry holds; `None` where the tile's page at
    /// this level is not resident (its cells draw the general way).
    codes: Vec<Option<u32>>,
    /// Each entry's page code and tile, by code, for `patch_page`: made when a page of
    /// this level is first written after entries changed (`None` until then), since a
    /// tick changes every entry and most levels' pages are never written after the load.
    by_code: Option<Vec<(u32, u32)>>,
    /// Tiles with no entry.
    missing: usize,
    /// `texels` in linear light, for frames that filter them (see `decode`).
    linear: std::sync::OnceLock<Vec<Rgb>>,
    /// The buffer `linear` is decoded into: a dropped table's, when one was spare.
    linear_spare: std::sync::Mutex<Vec<Rgb>>,
}

impl SmallPages {
    /// A table of `tiles` pages of `size` texels a side, every entry missing until
    /// `refresh`ed; `spare` (a dropped table of the same size) lends its buffers.
    pub(super) fn empty(size: usize, tiles: usize, spare: Option<SmallPages>) -> SmallPages {
        let bytes = size * size * 4;
        let (mut texels, mut codes, linear) = match spare {
            Some(t) => (t.texels, t.codes, t.linear.into_inner()),
            None => Default::default(),
        };
        // Every byte of an entry is rewritten when it is refreshed.
        texels.resize(tiles * bytes, 0);
        codes.clear();
        codes.resize(tiles, None);
        SmallPages {
            size,
            texels,
            codes,
            by_code: None,
            missing: tiles,
            linear: Default::default(),
            linear_spare: std::sync::Mutex::new(linear.unwrap_or_default()),
        }
    }

    /// Whether `tile` has an entry.
    pub(super) fn is_resident(&self, tile: u32) -> bool {
        self.codes[tile as usize].is_some()
    }

    /// Whether every tile of `tiles` has an entry.
    pub(super) fn holds(&self, mut tiles: impl Iterator<Item = u32>) -> bool {
        self.missing == 0 || tiles.all(|t| self.is_resident(t))
    }

    /// The table in linear light, when decoded (entries of tiles without one hold no
    /// page: see `holds`).
    pub(super) fn linear(&self) -> Option<&[Rgb]> {
        self.linear.get().map(Vec::as_slice)
    }

    /// Whether the table is small enough to keep decoded (`decode`).
    fn decodes(&self) -> bool {
        self.texels.len() / 4 * size_of::<Rgb>() <= LINEAR_TABLE_MAX_BYTES
    }

    /// Decodes every tile's page to linear light (`linear`), once, when the table is small
    /// enough to keep so: by the first frame that filters the level, before its bands are
    /// drawn (a band that found it missing would decode inside the thread pool, where
    /// another band waiting for it could be run on the same thread). Patches keep it
    /// decoded after that.
    pub(super) fn decode(&self, lut: &[f32; 256]) {
        if !self.decodes() {
            return;
        }
        self.linear.get_or_init(|| {
            let mut linear =
                std::mem::take(&mut *self.linear_spare.lock().unwrap_or_else(|e| e.into_inner()));
            linear.clear();
            let texels = self.texels.as_chunks::<4>().0;
            linear.par_extend(texels.par_iter().map(|t| decode(lut, t)));
            linear
        });
    }

    /// `tile`'s page (resident at this level).
    pub(super) fn page(&self, tile: u32) -> Page<'_> {
        let bytes = self.size * self.size * 4;
        Page {
            texels: &self.texels,
            start: tile as usize * bytes,
            stride: self.size * 4,
        }
    }

    /// The page at `code` was written with `texels`: the entry filled from it, if any,
    /// takes them.
    pub(super) fn patch_page(&mut self, code: u32, texels: &[u8]) {
        let codes = &self.codes;
        let by_code = self.by_code.get_or_insert_with(|| {
            let mut by_code: Vec<(u32, u32)> = (codes.iter().enumerate())
                .filter_map(|(tile, code)| code.map(|c| (c, tile as u32)))
                .collect();
            by_code.par_sort_unstable();
            by_code
        });
        let Ok(at) = by_code.binary_search_by_key(&code, |&(c, _)| c) else {
            return;
        };
        let bytes = self.size * self.size * 4;
        let at = by_code[at].1 as usize * bytes;
        self.texels[at..at + bytes].copy_from_slice(&texels[..bytes]);
        if let Some(linear) = self.linear.get_mut() {
            decode_with(
                srgb8_decode_table(),
                &mut linear[at / 4..][..bytes / 4],
                texels,
            );
        }
    }

    /// Brings the entries of the tiles from `first` up to date with their page-table rows
    /// (`rows`, `levels` entries a tile): a tile whose row now draws another page of this
    /// level (`level`) takes that page's texels from `page`, one that no longer draws this
    /// level loses its entry.
    pub(super) fn refresh<'a>(
        &mut self,
        level: usize,
        first: usize,
        rows: &[Entry],
        levels: usize,
        page: impl Fn(u32) -> Page<'a> + Sync,
    ) {
        // Tiles a task, and how far ahead a task asks for the pages it reads next: a tick
        // moves every tile to a page the last one did not read, scattered over the atlas.
        const TASK: usize = 256;
        const AHEAD: usize = 8;
        let (size, bytes) = (self.size, self.size * self.size * 4);
        let range = first..first + rows.len() / levels;
        let lut = srgb8_decode_table();
        let drawn = |&[code, l]: &Entry| (l as usize == level).then_some(code);
        // A task's tiles: each one's new code, written in with its texels where it changed.
        // Returns (tiles changed, the change in missing entries).
        let task = |rows: &[Entry],
                    codes: &mut [Option<u32>],
                    texels: &mut [u8],
                    mut linear: Option<&mut [Rgb]>| {
            let (mut changed, mut missing) = (0usize, 0isize);
            for (i, code) in codes.iter_mut().enumerate() {
                if let Some(ahead) = rows.get((i + AHEAD) * levels + level).and_then(drawn) {
                    page(ahead).prefetch(level);
                }
                let new = drawn(&rows[i * levels + level]);
                if new == *code {
                    continue;
                }
                let old = std::mem::replace(code, new);
                changed += 1;
                missing += new.is_none() as isize - old.is_none() as isize;
                if let Some(new) = new {
                    let dst = &mut texels[i * bytes..][..bytes];
                    dst.copy_from_slice(page(new).run(0, 0, size * size));
                    if let Some(linear) = linear.as_deref_mut() {
                        decode_with(lut, &mut linear[i * bytes / 4..][..bytes / 4], dst);
                    }
                }
            }
            (changed, missing)
        };
        let codes = &mut self.codes[range.clone()];
        let texels = &mut self.texels[range.start * bytes..range.end * bytes];
        let linear: Vec<Option<&mut [Rgb]>> = match self.linear.get_mut() {
            Some(linear) => linear[range.start * bytes / 4..range.end * bytes / 4]
                .chunks_mut(TASK * bytes / 4)
                .map(Some)
                .collect(),
            None => codes.chunks(TASK).map(|_| None).collect(),
        };
        let (changed, missing) = (rows.par_chunks(TASK * levels))
            .zip(codes.par_chunks_mut(TASK))
            .zip(texels.par_chunks_mut(TASK * bytes))
            .zip(linear)
            .map(|(((rows, codes), texels), linear)| task(rows, codes, texels, linear))
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        self.missing = (self.missing as isize + missing) as usize;
        if changed > 0 {
            self.by_code = None;
        }
    }
}

/// Decodes sRGB texels to linear light.
fn decode_with(lut: &[f32; 256], linear: &mut [Rgb], texels: &[u8]) {
    for (v, t) in linear.iter_mut().zip(texels.as_chunks::<4>().0) {
        *v = decode(lut, t);
    }
}

/// A decoded small table (`SmallPages::linear`) as pages of `S` texels a side, rows of texels.
fn pages<const S: usize>(linear: &[Rgb]) -> &[[[Rgb; S]; S]] {
    linear.as_chunks::<S>().0.as_chunks::<S>().0
}

impl Frame<'_> {
    /// A band of cells drawn from the small-page table: row copies (see `SmallPages`).
    pub(super) fn draw_small_band(
        &self,
        small: &SmallPages,
        band: Run,
        grid_row: &[u32],
        out: &mut [u8],
    ) {
        // The page size as a constant: a cell's row is then a copy of a fixed size, inlined,
        // where one of the run's length was a call to `memmove` per cell (42 % of a frame of
        // the whole mosaic at a pixel per cell).
        match small.size {
            1 => self.small_band::<1>(small, band, grid_row, out),
            2 => self.small_band::<2>(small, band, grid_row, out),
            4 => self.small_band::<4>(small, band, grid_row, out),
            _ => self.small_band::<8>(small, band, grid_row, out),
        }
    }

    /// `draw_small_band` for pages of `S` texels a side.
    fn small_band<const S: usize>(
        &self,
        small: &SmallPages,
        band: Run,
        grid_row: &[u32],
        out: &mut [u8],
    ) {
        debug_assert_eq!(small.size, S);
        let cols = grid_row.len();
        let stride = self.view.width as usize * 4;
        // Cells whose page is still loading (rare: small levels are pinned), noted on
        // the band's first row, draw the general way after the copies.
        let mut general = Vec::new();
        // The tile's extent in its page (the page, for square tiles).
        let [ex, ey] = self.view.extent(self.view.levels.hi).map(|e| e as f32);
        for (line, py) in out.chunks_exact_mut(stride).zip(band.start..band.end) {
            let ty = if self.floor {
                (py - band.start) % S
            } else {
                (self.rows.taps[py].frac * ey) as usize
            };
            for &run in &self.columns.runs {
                let span = line[run.start * 4..run.end * 4].as_chunks_mut::<4>().0;
                match usize::try_from(run.cell) {
                    Ok(x) if x < cols => {
                        let tile = grid_row[x];
                        if !small.is_resident(tile) {
                            if py == band.start {
                                general.push(run);
                            }
                            continue;
                        }
                        let row = small.page(tile).run(0, ty, S).as_chunks::<4>().0;
                        let row: &[[u8; 4]; S] = row.try_into().expect("a page row of S texels");
                        if let Ok(span) = <&mut [[u8; 4]; S]>::try_from(&mut *span) {
                            // A whole cell: its page's row (the floor's and an exact
                            // zoom's alike).
                            *span = *row;
                        } else if self.floor {
                            // Narrower than its page (between powers of two, or cut by
                            // the frame's edge): the floor copies the row from its start.
                            for chunk in span.chunks_mut(S) {
                                chunk.copy_from_slice(&row[..chunk.len()]);
                            }
                        } else {
                            let tx = (self.columns.taps[run.start].frac * ex) as usize;
                            span.copy_from_slice(&row[tx..][..span.len()]);
                        }
                    }
                    _ => fill(span.as_flattened_mut(), self.background),
                }
            }
        }
        self.draw_cells(band, general, grid_row, out);
    }

    /// A band of cells of a pixel or a few, each pixel filtered from its tile's pages in the
    /// small tables of the frame's levels, decoded to linear light
    /// (`SmallPages::decode`): per pixel no page-table lookup, no atlas access, no
    /// decode, no per-cell set-up (a cell is a pixel or two: its set-up and the branch to
    /// its next cell were most of such a frame). The same arithmetic, in the same order, as
    /// `draw_cell`. False, drawing nothing, for a pair of levels it has no code for, while
    /// a table lacks a tile of the band that it cannot draw from the coarser table (the
    /// general way draws whatever the page table falls back to), or for a table too large
    /// to keep decoded.
    pub(super) fn draw_tiny_band(
        &self,
        fine: &SmallPages,
        coarse: Option<&SmallPages>,
        band: Run,
        grid_row: &[u32],
        out: &mut [u8],
    ) -> bool {
        // Decoded (`SmallPages::decode`) only when not too large.
        let Some(fine_linear) = fine.linear() else {
            return false;
        };
        let coarse_linear = match coarse.map(SmallPages::linear) {
            Some(None) => return false,
            linear => linear.flatten(),
        };
        let tiles = || (self.columns.inside().iter()).map(|run| grid_row[run.cell as usize]);
        // A tile of the band without its finer page (a zoom has just reached the level and
        // its pages are still coming) draws its coarser page, the coarser table's entry,
        // as the general path does: checked a pixel at a time, only in such bands.
        let fallback = !fine.holds(tiles());
        // The coarser table must hold every tile of the band: blended in, or drawn instead.
        if coarse.is_some_and(|c| !c.holds(tiles())) || (fallback && coarse.is_none()) {
            return false;
        }
        // Page sizes as constants, so every texel index is checked against them at compile
        // time: bounds checks were 40 % of the instructions of such a frame.
        let draw = match (fine.size, coarse.map(|c| c.size), fallback) {
            (1, None, false) => Self::tiny_band::<1, 1, false>,
            (2, None | Some(1), false) => Self::tiny_band::<2, 1, false>,
            (2, Some(1), true) => Self::tiny_band::<2, 1, true>,
            (4, None, false) => Self::tiny_band::<4, 1, false>,
            (4, Some(2), false) => Self::tiny_band::<4, 2, false>,
            (4, Some(2), true) => Self::tiny_band::<4, 2, true>,
            (8, None, false) => Self::tiny_band::<8, 1, false>,
            (8, Some(4), false) => Self::tiny_band::<8, 4, false>,
            (8, Some(4), true) => Self::tiny_band::<8, 4, true>,
            // Not a pair a frame draws (the coarser level is the next one down).
            _ => return false,
        };
        draw(
            self,
            (fine_linear, fine),
            coarse_linear,
            band,
            grid_row,
            out,
        );
        true
    }

    /// `draw_tiny_band` for pages of `S` texels a side, blended with the coarser table's
    /// pages of `C` when there is one (both tables decoded to linear light); with
    /// `FALLBACK`, a tile without an entry in the finer table draws its coarser page.
    fn tiny_band<const S: usize, const C: usize, const FALLBACK: bool>(
        &self,
        (fine, fine_table): (&[Rgb], &SmallPages),
        coarse: Option<&[Rgb]>,
        band: Run,
        grid_row: &[u32],
        out: &mut [u8],
    ) {
        let (cols, stride) = (grid_row.len(), self.view.width as usize * 4);
        let level = self.view.levels.hi;
        let (columns, rows) = (&self.columns, &self.rows);
        let fine_pages = pages::<S>(fine);
        let coarse_pages = coarse.map(pages::<C>);
        let on_mosaic = columns.inside_pixels();
        let (taps, cells) = (
            &columns.taps[on_mosaic.clone()],
            &columns.cells[on_mosaic.clone()],
        );
        let first_cell = band.cell as usize * cols;
        // A fallback page's taps span the tile's extent at its level (its page, for square
        // tiles).
        let [cx_extent, cy_extent] = self.view.extent(self.view.levels.lo);
        for (line, py) in out.chunks_exact_mut(stride).zip(band.start..band.end) {
            // Taps index pages of their level's size (`tap`, `nearest_index`): the masks
            // change no value, they let the compiler see the indices are in range.
            let PixelTap { hi: ty, lo, frac } = rows.taps[py];
            let (top, bottom, ny) = (ty.i0 & (S - 1), ty.i1 & (S - 1), lo & (C - 1));
            // A fallback page's rows: bilinear taps of its own extent.
            let cy = super::axis::tap(frac, cy_extent);
            for run in columns.outside() {
                fill(&mut line[run.start * 4..run.end * 4], self.background);
            }
            let pixels = line[on_mosaic.start * 4..on_mosaic.end * 4]
                .as_chunks_mut::<4>()
                .0;
            for ((p, tap), &x) in pixels.iter_mut().zip(taps).zip(cells) {
                let tile = grid_row[x as usize] as usize;
                let offset = self.tint_offset(first_cell + x as usize);
                if let Some(pages) =
                    coarse_pages.filter(|_| FALLBACK && !fine_table.is_resident(tile as u32))
                {
                    let (page, cx) = (&pages[tile], super::axis::tap(tap.frac, cx_extent));
                    let column =
                        |i: usize| lerp(page[cy.i0 & (C - 1)][i], page[cy.i1 & (C - 1)][i], cy.a);
                    let c = lerp(column(cx.i0 & (C - 1)), column(cx.i1 & (C - 1)), cx.a);
                    *p = self.shade(c, None, offset, self.view.levels.lo);
                    continue;
                }
                let page = &fine_pages[tile];
                let column = |i: usize| lerp(page[top][i], page[bottom][i], ty.a);
                let (i0, i1) = (tap.hi.i0 & (S - 1), tap.hi.i1 & (S - 1));
                let c = lerp(column(i0), column(i1), tap.hi.a);
                let blended = coarse_pages.map(|pages| pages[tile][ny][tap.lo & (C - 1)]);
                *p = self.shade(c, blended, offset, level);
            }
        }
    }
}
