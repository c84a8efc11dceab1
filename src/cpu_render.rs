//! The CPU reference renderer: the fragment shader's exact semantics (level choice,
//! fallback, clamp-to-tile bilinear filtering, level blending with a nearest coarse texel,
//! overview, background) in plain Rust, parallel over rows. It is the oracle for the GPU
//! golden tests and the baseline for benchmarks.

use crate::atlas::{AtlasBackend, AtlasLayout, Entry, PageOrigin, PAGE_TABLE_WIDTH};
use crate::color::{srgb8_decode_table, SrgbEncoder};
use crate::overview::{Overview, OverviewTap};
use crate::style::RenderStyle;
use crate::tint::{self, Offset};
use crate::view::FrameView;
use rayon::prelude::*;
use wide::f32x4;

/// The CPU twin of the GPU atlas: the same layers and page origins, the same page table.
/// Each page's texels are stored contiguously (page-major within each block of a layer),
/// not as a rectangle of a layer image: a filtered cell reads its page's rows one after
/// another from one or two cache-friendly runs instead of one row per layer stride (a new
/// 4 KiB memory page, a TLB miss, per texel row).
pub struct CpuAtlas {
    levels: usize,
    layer_size: usize,
    block: usize,
    layers: Vec<Vec<u8>>,
    page_table: Vec<Entry>,
    /// Per cell, the tint offset (empty until a tint is drawn).
    tint: Vec<Offset>,
    /// Per level up to `SMALL_PAGE_LEVEL`, every tile's page gathered into one table: made
    /// by the first frame that draws the level, dropped when a page of its level or the page
    /// table changes.
    small: [std::sync::OnceLock<SmallPages>; SMALL_PAGE_LEVEL + 1],
    /// Tables dropped since, kept for their buffers: playing clips change the page table
    /// at every tick, and filling fresh allocations (23 MB at levels 2–3 for 18,000 tiles)
    /// cost a page fault per 4 KiB, several milliseconds a tick.
    spare: std::sync::Mutex<Vec<SmallPages>>,
}

impl CpuAtlas {
    pub fn new(layout: &AtlasLayout, tiles: u32) -> CpuAtlas {
        CpuAtlas {
            levels: layout.levels.len(),
            layer_size: layout.layer_size as usize,
            block: layout.block as usize,
            layers: vec![Vec::new(); layout.layers as usize],
            page_table: vec![[0, 0]; tiles as usize * layout.levels.len()],
            tint: Vec::new(),
            small: Default::default(),
            spare: Default::default(),
        }
    }

    /// Every tile's page at `level` (at most `SMALL_PAGE_LEVEL`), packed tile after tile,
    /// so a frame of tiny cells copies from one small table instead of resolving each cell
    /// through the page table. A tile whose page is not resident at `level` is left out:
    /// its cells draw the general way. Kept until the atlas changes.
    fn small_pages(&self, level: usize) -> &SmallPages {
        self.small[level].get_or_init(|| self.gather_small_pages(level))
    }

    /// Drops the small tables of `levels` (their pages or the page table changed).
    fn forget_small_pages(&mut self, levels: std::ops::RangeInclusive<usize>) {
        let spare = self.spare.get_mut().unwrap_or_else(|e| e.into_inner());
        for level in levels {
            spare.extend(self.small[level].take());
        }
    }

    fn gather_small_pages(&self, level: usize) -> SmallPages {
        let size = 1usize << level;
        let bytes = size * size * 4;
        let tiles = self.page_table.len() / self.levels;
        // A dropped table of the same size lends its buffers (every byte is rewritten).
        let spare = {
            let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            let at = spare.iter().position(|t| t.size == size);
            at.map(|i| spare.swap_remove(i))
        };
        let (mut texels, mut resident, linear) = match spare {
            Some(t) => (t.texels, t.resident, t.linear.into_inner()),
            None => (vec![0; tiles * bytes], vec![false; tiles], None),
        };
        self.page_table
            .par_chunks_exact(self.levels)
            .zip(texels.par_chunks_exact_mut(bytes))
            .zip(&mut resident)
            .for_each(|((row, dst), ok)| {
                let (l, code) = resolve(row, level);
                *ok = l == level;
                if *ok {
                    dst.copy_from_slice(self.page(code, level).run(0, 0, size * size));
                }
            });
        SmallPages {
            size,
            texels,
            all_resident: resident.iter().all(|&r| r),
            resident,
            linear: Default::default(),
            linear_spare: std::sync::Mutex::new(linear.unwrap_or_default()),
        }
    }

    fn row(&self, tile: u32) -> &[Entry] {
        &self.page_table[tile as usize * self.levels..][..self.levels]
    }

    /// The page of `level` at `code`.
    fn page(&self, code: u32, level: usize) -> Page<'_> {
        let o = PageOrigin::from_code(code);
        Page {
            texels: &self.layers[o.layer as usize],
            start: self.page_start(o, 1 << level),
            stride: 4 << level,
        }
    }

    /// Where the page of side `size` at `o` starts in its layer's bytes: blocks one after
    /// another, row-major in the layer; in a block, its pages likewise; in a page, its rows.
    fn page_start(&self, o: PageOrigin, size: usize) -> usize {
        let (x, y, block) = (o.x as usize, o.y as usize, self.block);
        let block_index = (y / block) * (self.layer_size / block) + x / block;
        let per_row = block / size;
        let page_index = (y % block / size) * per_row + x % block / size;
        (block_index * block * block + page_index * size * size) * 4
    }
}

/// A resident page: its rows, `stride` bytes apart from `start` in its layer (or table).
#[derive(Clone, Copy)]
struct Page<'a> {
    texels: &'a [u8],
    start: usize,
    stride: usize,
}

impl<'a> Page<'a> {
    /// `n` texels of row `y` from column `x`.
    #[inline]
    fn run(&self, x: usize, y: usize, n: usize) -> &'a [u8] {
        &self.texels[self.start + y * self.stride + x * 4..][..n * 4]
    }
}

impl AtlasBackend for CpuAtlas {
    fn write_page(&mut self, origin: PageOrigin, size: u32, texels: &[u8]) {
        let level = size.trailing_zeros() as usize;
        if level <= SMALL_PAGE_LEVEL {
            self.forget_small_pages(level..=level);
        }
        let (size, bytes) = (size as usize, self.layer_size * self.layer_size * 4);
        let at = self.page_start(origin, size);
        let layer = &mut self.layers[origin.layer as usize];
        if layer.is_empty() {
            layer.resize(bytes, 0);
        }
        layer[at..][..size * size * 4].copy_from_slice(&texels[..size * size * 4]);
    }
    fn write_page_table(&mut self, table: &[Entry], rows: &[u32]) {
        self.forget_small_pages(0..=SMALL_PAGE_LEVEL);
        let width = PAGE_TABLE_WIDTH as usize;
        for &row in rows {
            let range = row as usize * width..((row as usize + 1) * width).min(table.len());
            self.page_table[range.clone()].copy_from_slice(&table[range]);
        }
    }
    fn write_tint(&mut self, offsets: &[Offset]) {
        self.tint = offsets.to_vec();
    }
}

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

/// The two texels and the weight of the second for bilinear filtering at one coordinate.
#[derive(Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    a: f32,
}

/// The bilinear tap at `uv` (0..1 within a cell) in a `size`-texel page, clamped to the page
/// as the shader clamps to the tile.
#[inline]
fn tap(uv: f32, size: usize) -> Tap {
    let s = size as f32;
    let t = (uv * s).clamp(0.5, s - 0.5) - 0.5;
    let i0 = t.floor();
    let i = i0 as usize;
    Tap {
        i0: i,
        i1: (i + 1).min(size - 1),
        a: t - i0,
    }
}

/// The texel under `uv`: the shader's `nearest_page`, for the coarser level of a blend.
#[inline]
fn nearest_index(uv: f32, size: usize) -> usize {
    ((uv * size as f32 + 1.0 / 1024.0) as usize).min(size - 1)
}

/// A linear colour to opaque sRGB RGBA8.
#[inline(always)]
fn encode(encoder: SrgbEncoder, rgb: Rgb) -> [u8; 4] {
    encoder.encode_rgb(rgb)
}

/// Pixels along one screen axis that fall in one cell: `[start, end)`.
#[derive(Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    cell: i64,
}

/// One screen pixel's place along an axis: its position in its cell, and the filter taps
/// of the frame's two levels there (32 bytes: indexing by pixel is a shift).
#[derive(Clone, Copy)]
struct PixelTap {
    /// Position in the cell, 0..1.
    frac: f32,
    /// The finer level's bilinear tap.
    hi: Tap,
    /// The coarser level's nearest texel.
    lo: usize,
}

/// One screen axis of a frame: per pixel its place (`PixelTap`); the runs of pixels that
/// share a cell; which of those runs fall on the mosaic.
struct Axis {
    taps: Vec<PixelTap>,
    /// Per pixel, its cell (meaningful on the mosaic: `inside_pixels`).
    cells: Vec<u32>,
    runs: Vec<Run>,
    /// `runs[inside]` are the runs of the mosaic's cells (the rest show the background).
    inside: std::ops::Range<usize>,
}

impl Axis {
    fn new(view: &FrameView, pixels: usize, axis: usize, mosaic_cells: u32) -> Axis {
        let (hi_size, lo_size) = (1usize << view.levels.hi, 1usize << view.levels.lo);
        let mut taps = Vec::with_capacity(pixels);
        let mut cells = Vec::with_capacity(pixels);
        let mut runs: Vec<Run> = Vec::new();
        for p in 0..pixels {
            let local = view.local(p as u32, axis);
            let f = local.floor();
            let (cell, uv) = (view.origin_int[axis] as i64 + f as i64, local - f);
            taps.push(PixelTap {
                frac: uv,
                hi: tap(uv, hi_size),
                lo: nearest_index(uv, lo_size),
            });
            cells.push(cell.clamp(0, u32::MAX as i64) as u32);
            match runs.last_mut() {
                Some(run) if run.cell == cell => run.end = p + 1,
                _ => runs.push(Run {
                    start: p,
                    end: p + 1,
                    cell,
                }),
            }
        }
        // Cells grow along the axis, so the runs on the mosaic are one range.
        let on_mosaic = |run: &Run| (0..mosaic_cells as i64).contains(&run.cell);
        let start = runs.iter().position(on_mosaic).unwrap_or(runs.len());
        let end = start
            + runs[start..]
                .iter()
                .take_while(|run| on_mosaic(run))
                .count();
        Axis {
            taps,
            cells,
            runs,
            inside: start..end,
        }
    }

    /// The pixels on the mosaic (those of `inside`).
    fn inside_pixels(&self) -> std::ops::Range<usize> {
        match self.inside() {
            [] => 0..0,
            [first, .., last] => first.start..last.end,
            [only] => only.start..only.end,
        }
    }

    /// The runs on the mosaic.
    fn inside(&self) -> &[Run] {
        &self.runs[self.inside.clone()]
    }

    /// The runs beside the mosaic.
    fn outside(&self) -> impl Iterator<Item = &Run> {
        let (before, after) = (
            &self.runs[..self.inside.start],
            &self.runs[self.inside.end..],
        );
        before.iter().chain(after)
    }
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

/// Draws a frame (or its copy `floor`); `small_tables`: whether tiny cells may be filtered
/// from the small-page tables (off only to test that path against the general one).
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
        copies: exact
            .or(floor.then_some(view.levels.hi))
            .filter(|&l| l <= SMALL_PAGE_LEVEL)
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
        for run in runs {
            let cell = band.cell as usize * grid_row.len() + run.cell as usize;
            let tile = grid_row[run.cell as usize];
            self.draw_cell(band, run, tile, cell, out, &mut scratch);
        }
    }

    /// A band of cells drawn from the small-page table: row copies (see `SmallPages`).
    fn draw_small_band(&self, small: &SmallPages, band: Run, grid_row: &[u32], out: &mut [u8]) {
        let cols = grid_row.len();
        let stride = self.view.width as usize * 4;
        // Cells of a few pixels, each a copy of its page: rows copied from the table.
        let size = small.size;
        // Cells whose page is still loading (rare: small levels are pinned), noted on
        // the band's first row, draw the general way after the copies.
        let mut general = Vec::new();
        for (line, py) in out.chunks_exact_mut(stride).zip(band.start..band.end) {
            let ty = if self.floor {
                (py - band.start) % size
            } else {
                (self.rows.taps[py].frac * size as f32) as usize
            };
            for &run in &self.columns.runs {
                let span = &mut line[run.start * 4..run.end * 4];
                match usize::try_from(run.cell) {
                    Ok(x) if x < cols => {
                        let tile = grid_row[x];
                        if !small.resident[tile as usize] {
                            if py == band.start {
                                general.push(run);
                            }
                            continue;
                        }
                        let page = small.page(tile);
                        if self.floor {
                            let texels = page.run(0, ty, size);
                            for chunk in span.chunks_mut(size * 4) {
                                chunk.copy_from_slice(&texels[..chunk.len()]);
                            }
                        } else {
                            let tx = (self.columns.taps[run.start].frac * size as f32) as usize;
                            span.copy_from_slice(page.run(tx, ty, span.len() / 4));
                        }
                    }
                    _ => fill(span, self.background),
                }
            }
        }
        self.draw_cells(band, general, grid_row, out);
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
            let size = (1usize << l_hi) as f32;
            let tx = (self.columns.taps[run.start].frac * size) as usize;
            for (line, py) in lines {
                let ty = (self.rows.taps[py].frac * size) as usize;
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
        // own size; the frame's precomputed ones serve every other cell.
        let (hi_size, lo_size) = (1usize << l_hi, 1usize << l_lo);
        let hi_nominal = l_hi == view.levels.hi;
        let lo_nominal = l_lo == view.levels.lo;
        let offset = self.tint_offset(cell);
        let (columns, rows) = (&self.columns, &self.rows);
        let tx = |px: usize| {
            if hi_nominal {
                columns.taps[px].hi
            } else {
                tap(columns.taps[px].frac, hi_size)
            }
        };
        let nx = |px: usize| {
            if lo_nominal {
                columns.taps[px].lo
            } else {
                nearest_index(columns.taps[px].frac, lo_size)
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
                tap(vy, hi_size)
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
                    nearest_index(vy, lo_size)
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

    /// A band of cells of a pixel or a few, each pixel filtered from its tile's pages in the
    /// small tables of the frame's levels, decoded to linear light
    /// (`SmallPages::decode`): per pixel no page-table lookup, no atlas access, no
    /// decode, no per-cell set-up (a cell is a pixel or two: its set-up and the branch to
    /// its next cell were most of such a frame). The same arithmetic, in the same order, as
    /// `draw_cell`. False, drawing nothing, for a pair of levels it has no code for, while
    /// a table lacks a tile (still loading: the general way draws the coarser fallback), or
    /// for a table too large to keep decoded.
    fn draw_tiny_band(
        &self,
        fine: &SmallPages,
        coarse: Option<&SmallPages>,
        band: Run,
        grid_row: &[u32],
        out: &mut [u8],
    ) -> bool {
        // Decoded (`SmallPages::decode`) only when complete and not too large.
        let Some(fine_linear) = fine.linear.get() else {
            return false;
        };
        let coarse_linear = match coarse.map(|t| t.linear.get()) {
            Some(None) => return false,
            linear => linear.flatten(),
        };
        // Page sizes as constants, so every texel index is checked against them at compile
        // time: bounds checks were 40 % of the instructions of such a frame.
        let draw = match (fine.size, coarse.map(|c| c.size)) {
            (1, None) => Self::tiny_band::<1, 1>,
            (2, None | Some(1)) => Self::tiny_band::<2, 1>,
            (4, None) => Self::tiny_band::<4, 1>,
            (4, Some(2)) => Self::tiny_band::<4, 2>,
            (8, None) => Self::tiny_band::<8, 1>,
            (8, Some(4)) => Self::tiny_band::<8, 4>,
            // Not a pair a frame draws (the coarser level is the next one down).
            _ => return false,
        };
        draw(
            self,
            fine_linear,
            coarse_linear.map(Vec::as_slice),
            band,
            grid_row,
            out,
        );
        true
    }

    /// `draw_tiny_band` for pages of `S` texels a side, blended with the coarser table's
    /// pages of `C` when there is one (both tables decoded to linear light).
    fn tiny_band<const S: usize, const C: usize>(
        &self,
        fine: &[Rgb],
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
        for (line, py) in out.chunks_exact_mut(stride).zip(band.start..band.end) {
            // Taps index pages of their level's size (`tap`, `nearest_index`): the masks
            // change no value, they let the compiler see the indices are in range.
            let PixelTap { hi: ty, lo, .. } = rows.taps[py];
            let (top, bottom, ny) = (ty.i0 & (S - 1), ty.i1 & (S - 1), lo & (C - 1));
            for run in columns.outside() {
                fill(&mut line[run.start * 4..run.end * 4], self.background);
            }
            let pixels = line[on_mosaic.start * 4..on_mosaic.end * 4]
                .as_chunks_mut::<4>()
                .0;
            for ((p, tap), &x) in pixels.iter_mut().zip(taps).zip(cells) {
                let tile = grid_row[x as usize] as usize;
                let page = &fine_pages[tile];
                let column = |i: usize| lerp(page[top][i], page[bottom][i], ty.a);
                let (i0, i1) = (tap.hi.i0 & (S - 1), tap.hi.i1 & (S - 1));
                let c = lerp(column(i0), column(i1), tap.hi.a);
                let blended = coarse_pages.map(|pages| pages[tile][ny][tap.lo & (C - 1)]);
                let offset = self.tint_offset(first_cell + x as usize);
                *p = self.shade(c, blended, offset, level);
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

/// A decoded small table (`SmallPages::linear`) as pages of `S` texels a side, rows of texels.
fn pages<const S: usize>(linear: &[Rgb]) -> &[[[Rgb; S]; S]] {
    linear.as_chunks::<S>().0.as_chunks::<S>().0
}

/// `a` to `b` by `t`, per channel: the one filter step both tiny and general cells use, so
/// the two draw the same bytes.
#[inline(always)]
fn lerp(a: Rgb, b: Rgb, t: f32) -> Rgb {
    a + (b - a) * f32x4::splat(t)
}

/// The largest small table kept decoded to linear light (four times its bytes): level 3 of
/// 18,000 tiles takes 18.4 MB; a library so large that a table would pass this draws tiny
/// cells the general way, so the tables' memory stays bounded.
const LINEAR_TABLE_MAX_BYTES: usize = 64 << 20;

/// Levels whose pages a frame may gather into a `SmallPages` table (8×8 texels, 256 bytes:
/// cells of up to 8 px).
const SMALL_PAGE_LEVEL: usize = 3;

/// Every tile's page at one level, tile-major (see `CpuAtlas::small_pages`).
struct SmallPages {
    size: usize,
    texels: Vec<u8>,
    resident: Vec<bool>,
    /// Whether every tile is resident (`resident` all true): tiny cells filter from the
    /// table only then.
    all_resident: bool,
    /// `texels` in linear light, for frames that filter them (see `decode`).
    linear: std::sync::OnceLock<Vec<Rgb>>,
    /// The buffer `linear` is decoded into: a dropped table's, when one was spare.
    linear_spare: std::sync::Mutex<Vec<Rgb>>,
}

impl SmallPages {
    /// Whether the table is small enough to keep decoded (`decode`).
    fn decodes(&self) -> bool {
        self.texels.len() / 4 * size_of::<Rgb>() <= LINEAR_TABLE_MAX_BYTES
    }

    /// Decodes every tile's page to linear light (`linear`), once, when the table is
    /// complete and small enough to keep so: by the first frame that filters the level,
    /// before its bands are drawn (a band that found it missing would decode inside the
    /// thread pool, where another band waiting for it could be run on the same thread).
    fn decode(&self, lut: &[f32; 256]) {
        if !self.all_resident || !self.decodes() {
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
    fn page(&self, tile: u32) -> Page<'_> {
        let bytes = self.size * self.size * 4;
        Page {
            texels: &self.texels,
            start: tile as usize * bytes,
            stride: self.size * 4,
        }
    }
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

/// The trilinear overview sample of every pixel, as two mips and per-axis taps in each.
struct OverviewTaps {
    mip: usize,
    /// Weight of `mip + 1`.
    weight: f32,
    columns: Vec<[OverviewTap; 2]>,
    rows: Vec<[OverviewTap; 2]>,
    /// Per column, whether it falls on the mosaic (the background shows beside it).
    inside: Vec<bool>,
}

impl OverviewTaps {
    fn new(view: &FrameView, overview: &Overview) -> OverviewTaps {
        let (mip, weight) = overview.mip_pair(view.overview_lod);
        let axis = |pixels: u32, a: usize, cells: u32| -> Vec<[OverviewTap; 2]> {
            (0..pixels)
                .map(|p| {
                    // The pixel centre, normalised over the whole mosaic.
                    let g = (view.origin_int[a] as f32 + view.local(p, a)) / cells as f32;
                    [overview.tap(mip, g, a), overview.tap(mip + 1, g, a)]
                })
                .collect()
        };
        let inside = (0..view.width)
            .map(|p| (0..view.cols as i64).contains(&view.cell_of_pixel(p, 0)))
            .collect();
        OverviewTaps {
            mip,
            weight,
            columns: axis(view.width, 0, view.cols),
            rows: axis(view.height, 1, view.rows),
            inside,
        }
    }
}

#[inline]
fn lod_tint(c: Rgb, level: i32, max_level: usize) -> Rgb {
    let t = debug_tint(level, max_level);
    c * f32x4::splat(0.25) + f32x4::splat(t * 0.75)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::{plan_atlases, PlanInput};
    use crate::view::Camera;
    use glam::DVec2;

    /// Four tiles of 8 px (levels 0–3), each page a distinct pattern; `missing` (tile,
    /// level) is not resident there, its page-table entry falling back to the next coarser
    /// level.
    fn atlas(grid: (u32, u32), missing: Option<(u32, usize)>) -> CpuAtlas {
        let (tiles, levels) = (4u32, 4usize);
        let layout = plan_atlases(&PlanInput {
            records: tiles,
            clips: false,
            levels,
            gpu_budget: 1 << 20,
            screen: (64, 48),
            grid,
            max_layers: 16,
        })
        .unwrap();
        let mut atlas = CpuAtlas::new(&layout, tiles);
        let mut table = vec![[0u32; 2]; tiles as usize * levels];
        for tile in 0..tiles {
            for level in 0..levels {
                let origin = layout.origin(level, tile);
                let size = 1u32 << level;
                let texels: Vec<u8> = (0..size * size * 4)
                    .map(|i| (i * 37 + tile * 71 + level as u32 * 113) as u8)
                    .collect();
                atlas.write_page(origin, size, &texels);
                let resident = if missing == Some((tile, level)) {
                    level - 1
                } else {
                    level
                };
                table[tile as usize * levels + level] =
                    [layout.origin(resident, tile).code(), resident as u32];
            }
        }
        atlas.write_page_table(&table, &[0]);
        atlas
    }

    #[test]
    fn every_slot_of_every_level_keeps_its_own_page() {
        // Pages are stored whole (page-major in their block): writing every slot of a
        // layout with several layers and blocks per level, no page overwrites another, and
        // each reads back row by row as written.
        let levels = 7;
        let layout = plan_atlases(&PlanInput {
            records: 300,
            clips: false,
            levels,
            gpu_budget: 2 << 20,
            screen: (64, 48),
            grid: (20, 15),
            max_layers: 16,
        })
        .unwrap();
        assert!(layout.layers > 1, "{layout:?}");
        let pattern = |level: usize, slot: u32, i: usize| {
            (i as u32 * 31 + slot * 7 + level as u32 * 57) as u8
        };
        let mut atlas = CpuAtlas::new(&layout, 300);
        let slots = |level: usize| 0..layout.levels[level].capacity;
        for level in 0..levels {
            let size = 1usize << level;
            for slot in slots(level) {
                let texels: Vec<u8> = (0..size * size * 4)
                    .map(|i| pattern(level, slot, i))
                    .collect();
                atlas.write_page(layout.origin(level, slot), size as u32, &texels);
            }
        }
        for level in 0..levels {
            let size = 1usize << level;
            for slot in slots(level) {
                let page = atlas.page(layout.origin(level, slot).code(), level);
                for y in 0..size {
                    let row: Vec<u8> = (y * size * 4..(y + 1) * size * 4)
                        .map(|i| pattern(level, slot, i))
                        .collect();
                    assert_eq!(
                        page.run(0, y, size),
                        &row[..],
                        "level {level} slot {slot} row {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn tiny_cells_from_the_small_tables_equal_the_general_path_byte_for_byte() {
        let (cols, rows) = (9u32, 7u32);
        let grid: Vec<u32> = (0..cols * rows).map(|i| (i * 7 + i / cols) % 4).collect();
        // A tint offset per cell, different in each channel.
        let offsets: Vec<Offset> = (0..cols * rows)
            .map(|i| [0.1, -0.2, 0.05].map(|o| half::f16::from_f32(o * (i % 5) as f32).to_bits()))
            .map(|[r, g, b]| [r, g, b, 0])
            .collect();
        let overview = Overview::from_base(cols, rows, vec![128; (cols * rows * 4) as usize]);
        let cases = [
            (1.3, false, 0.0),
            (1.5, false, 0.7),
            (2.6, false, 0.0),
            (3.0, true, 0.0),
            (5.3, false, 0.0),
            (6.5, true, 0.4),
            (7.9, false, 0.0),
        ];
        // Complete tables (tiny cells drawn from them), and a page of level 2 or 3 still
        // loading (frames that draw it go the general way, the coarser page in its place).
        for ((cell_px, debug_lod, tint), missing) in cases
            .into_iter()
            .flat_map(|case| [(case, None), (case, Some((3, 2))), (case, Some((3, 3)))])
        {
            let mut atlas = atlas((cols, rows), missing);
            atlas.write_tint(&offsets);
            let camera = Camera {
                center: DVec2::new(4.1, 3.3),
                cell_px,
            };
            let view = FrameView::new(&camera, 37, 29, cols, rows, 3);
            let style = RenderStyle {
                debug_lod,
                tint,
                tint_fades: false,
                ..Default::default()
            };
            let frame = |small_tables| {
                let mut out = Vec::new();
                let (floor, style) = (false, &style);
                draw(
                    &view,
                    &grid,
                    &atlas,
                    &overview,
                    style,
                    &mut out,
                    floor,
                    small_tables,
                );
                out
            };
            let (tabled, general) = (frame(true), frame(false));
            assert_eq!(
                tabled, general,
                "{cell_px} px per cell, {missing:?} missing"
            );
        }
    }
}
