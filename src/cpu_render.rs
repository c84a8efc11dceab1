//! The CPU reference renderer: the fragment shader's exact semantics (level choice,
//! fallback, clamp-to-tile bilinear filtering, level blending with a nearest coarse texel,
//! overview, background) in plain Rust, parallel over rows. It is the oracle for the GPU
//! golden tests and the baseline for benchmarks.

use crate::atlas::{AtlasBackend, AtlasLayout, Entry, PageOrigin, PAGE_TABLE_WIDTH};
use crate::color::{linear_to_srgb8, srgb8_decode_table};
use crate::overview::Overview;
use crate::style::RenderStyle;
use crate::tint::{self, Offset};
use crate::view::FrameView;
use rayon::prelude::*;

/// The CPU twin of the GPU atlas: the same layered texture, the same page table.
pub struct CpuAtlas {
    levels: usize,
    layer_size: usize,
    layers: Vec<Vec<u8>>,
    page_table: Vec<Entry>,
    /// Per cell, the tint offset (empty until a tint is drawn).
    tint: Vec<Offset>,
}

impl CpuAtlas {
    pub fn new(layout: &AtlasLayout, tiles: u32) -> CpuAtlas {
        CpuAtlas {
            levels: layout.levels.len(),
            layer_size: layout.layer_size as usize,
            layers: vec![Vec::new(); layout.layers as usize],
            page_table: vec![[0, 0]; tiles as usize * layout.levels.len()],
            tint: Vec::new(),
        }
    }

    fn row(&self, tile: u32) -> &[Entry] {
        &self.page_table[tile as usize * self.levels..][..self.levels]
    }

    /// A page's texels as (layer image, offset of its top-left texel, row stride), all bytes.
    fn page(&self, code: u32) -> Page<'_> {
        let o = PageOrigin::from_code(code);
        let stride = self.layer_size * 4;
        Page {
            texels: &self.layers[o.layer as usize],
            start: o.y as usize * stride + o.x as usize * 4,
            stride,
        }
    }
}

/// A resident page inside a layer image.
#[derive(Clone, Copy)]
struct Page<'a> {
    texels: &'a [u8],
    start: usize,
    stride: usize,
}

impl Page<'_> {
    #[inline]
    fn at(&self, x: usize, y: usize) -> &[u8] {
        &self.texels[self.start + y * self.stride + x * 4..][..4]
    }
    /// `n` texels of row `y` from column `x`.
    #[inline]
    fn run(&self, x: usize, y: usize, n: usize) -> &[u8] {
        &self.texels[self.start + y * self.stride + x * 4..][..n * 4]
    }
}

impl AtlasBackend for CpuAtlas {
    fn write_page(&mut self, origin: PageOrigin, size: u32, texels: &[u8]) {
        let (stride, size) = (self.layer_size * 4, size as usize);
        let layer = &mut self.layers[origin.layer as usize];
        if layer.is_empty() {
            layer.resize(stride * self.layer_size, 0);
        }
        for (y, src) in texels.chunks_exact(size * 4).enumerate() {
            let at = (origin.y as usize + y) * stride + origin.x as usize * 4;
            layer[at..at + size * 4].copy_from_slice(src);
        }
    }
    fn write_page_table(&mut self, table: &[Entry], rows: &[u32]) {
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

/// One page row pair and weight for bilinear filtering within a `size`-texel page.
#[inline]
fn taps(uv: f32, size: usize) -> (usize, usize, f32) {
    let s = size as f32;
    let t = (uv * s).clamp(0.5, s - 0.5) - 0.5;
    let i0 = t.floor();
    let i = i0 as usize;
    (i, (i + 1).min(size - 1), t - i0)
}

#[inline]
fn bilinear(page: Page<'_>, size: usize, ux: f32, vy: f32) -> [f32; 3] {
    let lut = srgb8_decode_table();
    let (x0, x1, ax) = taps(ux, size);
    let (y0, y1, ay) = taps(vy, size);
    let at = |x: usize, y: usize, c: usize| lut[page.at(x, y)[c] as usize];
    std::array::from_fn(|c| {
        let top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * ax;
        let bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * ax;
        top + (bottom - top) * ay
    })
}

/// The texel under `(ux, vy)`: the shader's `nearest_page`, for the coarser level of a blend.
#[inline]
fn nearest(page: Page<'_>, size: usize, ux: f32, vy: f32) -> [f32; 3] {
    let lut = srgb8_decode_table();
    let index = |u: f32| ((u * size as f32 + 1.0 / 1024.0) as usize).min(size - 1);
    let texel = page.at(index(ux), index(vy));
    std::array::from_fn(|c| lut[texel[c] as usize])
}

#[inline]
fn encode(rgb: [f32; 3]) -> [u8; 4] {
    [
        linear_to_srgb8(rgb[0]),
        linear_to_srgb8(rgb[1]),
        linear_to_srgb8(rgb[2]),
        255,
    ]
}

/// Renders one frame to sRGB RGBA8, `width × height`, row-major.
pub fn render(
    view: &FrameView,
    grid: &[u32],
    atlas: &CpuAtlas,
    overview: &Overview,
    style: &RenderStyle,
) -> Vec<u8> {
    let (w, h) = (view.width as usize, view.height as usize);
    let mut out = vec![0u8; w * h * 4];
    let bg = [
        style.background[0],
        style.background[1],
        style.background[2],
        255,
    ];
    // Per-column cell index and position within the cell (the same for every row).
    let axis = |n: usize, a: usize| -> Vec<(i64, f32)> {
        (0..n)
            .map(|p| {
                let local = view.local(p as u32, a);
                let f = local.floor();
                (view.origin_int[a] as i64 + f as i64, local - f)
            })
            .collect()
    };
    let columns = axis(w, 0);
    let rows = axis(h, 1);
    let (cols_n, rows_n) = (view.cols as i64, view.rows as i64);
    let tint_k = style.tint_strength(view);
    let exact = exact_copy_level(view, style).filter(|_| tint_k == 0.0);

    out.par_chunks_mut(w * 4)
        .enumerate()
        .for_each(|(py, line)| {
            let (cy, vy) = rows[py];
            if cy < 0 || cy >= rows_n {
                line.chunks_exact_mut(4)
                    .for_each(|p| p.copy_from_slice(&bg));
                return;
            }
            let grid_row = &grid[cy as usize * view.cols as usize..][..view.cols as usize];
            let mut px = 0;
            while px < w {
                let (cx, _) = columns[px];
                // The run of pixels in this cell.
                let mut end = px + 1;
                while end < w && columns[end].0 == cx {
                    end += 1;
                }
                let span = &mut line[px * 4..end * 4];
                if cx < 0 || cx >= cols_n {
                    span.chunks_exact_mut(4)
                        .for_each(|p| p.copy_from_slice(&bg));
                } else if view.uses_overview() {
                    for (i, p) in span.chunks_exact_mut(4).enumerate() {
                        let (gx, gy) = overview_coords(view, px + i, py);
                        let c = overview.trilinear(gx, gy, view.overview_lod);
                        p.copy_from_slice(&encode(if style.debug_lod {
                            lod_tint(c, -1, view.max_level)
                        } else {
                            c
                        }));
                    }
                } else {
                    let tile = grid_row[cx as usize];
                    let row = atlas.row(tile);
                    let (l_hi, slot_hi) = resolve(row, view.levels.hi);
                    if exact == Some(l_hi) {
                        // Pixels sit on texel centres one-to-one: filtering returns texels unchanged.
                        let size = 1usize << l_hi;
                        let ty = (vy * size as f32) as usize;
                        let tx = (columns[px].1 * size as f32) as usize;
                        span.copy_from_slice(atlas.page(slot_hi).run(tx, ty, end - px));
                    } else {
                        let (l_lo, slot_lo) = resolve(row, view.levels.lo);
                        let (page_hi, page_lo) = (atlas.page(slot_hi), atlas.page(slot_lo));
                        let cell = cy as usize * view.cols as usize + cx as usize;
                        let offset = atlas
                            .tint
                            .get(cell)
                            .filter(|_| tint_k > 0.0)
                            .map(tint::decode);
                        for (i, p) in span.chunks_exact_mut(4).enumerate() {
                            let ux = columns[px + i].1;
                            let hi = bilinear(page_hi, 1 << l_hi, ux, vy);
                            let mut c = hi;
                            if view.levels.weight_hi < 1.0 && l_lo != l_hi {
                                let lo = nearest(page_lo, 1 << l_lo, ux, vy);
                                let t = view.levels.weight_hi;
                                c = std::array::from_fn(|k| lo[k] * (1.0 - t) + hi[k] * t);
                            }
                            if let Some(offset) = offset {
                                c = tint::apply(c, offset, tint_k);
                            }
                            if style.debug_lod {
                                c = lod_tint(c, l_hi as i32, view.max_level);
                            }
                            p.copy_from_slice(&encode(c));
                        }
                    }
                }
                px = end;
            }
        });
    out
}

/// Normalised overview coordinates of a pixel centre.
#[inline]
fn overview_coords(view: &FrameView, px: usize, py: usize) -> (f32, f32) {
    let gx = view.origin_int[0] as f32 + view.local(px as u32, 0);
    let gy = view.origin_int[1] as f32 + view.local(py as u32, 1);
    (gx / view.cols as f32, gy / view.rows as f32)
}

#[inline]
fn lod_tint(c: [f32; 3], level: i32, max_level: usize) -> [f32; 3] {
    let t = debug_tint(level, max_level);
    c.map(|v| v * 0.25 + t * 0.75)
}

/// The level whose texels land one-to-one on pixel centres in this view, if any: `cell_px`
/// is exactly `2^level`, only that level is drawn, and the view's origin is a whole number
/// of texels. Then bilinear filtering returns texels unchanged and a span is a row copy.
fn exact_copy_level(view: &FrameView, style: &RenderStyle) -> Option<usize> {
    let l = view.levels.hi;
    let size = (1u32 << l) as f32;
    let aligned = |f: f32| (f * size).fract() == 0.0;
    (!style.debug_lod
        && !view.uses_overview()
        && view.levels.weight_hi == 1.0
        && view.cells_per_px * size == 1.0
        && aligned(view.origin_frac[0])
        && aligned(view.origin_frac[1]))
    .then_some(l)
}
