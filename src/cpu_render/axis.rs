//! One screen axis of a frame: which cell each pixel falls in, and where it samples.

use crate::view::FrameView;

/// The two texels and the weight of the second for bilinear filtering at one coordinate.
#[derive(Clone, Copy)]
pub(super) struct Tap {
    pub(super) i0: usize,
    pub(super) i1: usize,
    pub(super) a: f32,
}

/// The bilinear tap at `uv` (0..1 within a cell) across a tile `size` texels long on this
/// axis (its extent in the page), clamped to it as the shader clamps to the tile.
#[inline]
pub(super) fn tap(uv: f32, size: usize) -> Tap {
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
pub(super) fn nearest_index(uv: f32, size: usize) -> usize {
    ((uv * size as f32 + 1.0 / 1024.0) as usize).min(size - 1)
}

/// Pixels along one screen axis that fall in one cell: `[start, end)`.
#[derive(Clone, Copy)]
pub(super) struct Run {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) cell: i64,
}

/// One screen pixel's place along an axis: its position in its cell, and the filter taps
/// of the frame's two levels there (32 bytes: indexing by pixel is a shift).
#[derive(Clone, Copy)]
pub(super) struct PixelTap {
    /// Position in the cell, 0..1.
    pub(super) frac: f32,
    /// The finer level's bilinear tap.
    pub(super) hi: Tap,
    /// The coarser level's nearest texel.
    pub(super) lo: usize,
}

/// One screen axis of a frame: per pixel its place (`PixelTap`); the runs of pixels that
/// share a cell; which of those runs fall on the mosaic.
pub(super) struct Axis {
    pub(super) taps: Vec<PixelTap>,
    /// Per pixel, its cell (meaningful on the mosaic: `inside_pixels`).
    pub(super) cells: Vec<u32>,
    pub(super) runs: Vec<Run>,
    /// `runs[inside]` are the runs of the mosaic's cells (the rest show the background).
    pub(super) inside: std::ops::Range<usize>,
}

impl Axis {
    pub(super) fn new(view: &FrameView, pixels: usize, axis: usize, mosaic_cells: u32) -> Axis {
        let (hi_size, lo_size) = (
            view.extent(view.levels.hi)[axis],
            view.extent(view.levels.lo)[axis],
        );
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
    pub(super) fn inside_pixels(&self) -> std::ops::Range<usize> {
        match self.inside() {
            [] => 0..0,
            [first, .., last] => first.start..last.end,
            [only] => only.start..only.end,
        }
    }

    /// The runs on the mosaic.
    pub(super) fn inside(&self) -> &[Run] {
        &self.runs[self.inside.clone()]
    }

    /// The runs beside the mosaic.
    pub(super) fn outside(&self) -> impl Iterator<Item = &Run> {
        let (before, after) = (
            &self.runs[..self.inside.start],
            &self.runs[self.inside.end..],
        );
        before.iter().chain(after)
    }
}
