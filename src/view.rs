//! View math: camera, level choice, culling. Pure arithmetic, shared by the GPU shader's
//! uniforms and the CPU reference renderer, and unit tested without a GPU.
//!
//! Cell coordinates: cell `(c, r)` covers `[c, c+1) × [r, r+1)`. The camera is the cell
//! coordinate at the screen's centre plus `cell_px`, screen pixels per cell: per cell side
//! for square tiles, and for tiles of another aspect per longer side, the shorter side
//! `shape` of it (`TileAspect::shape`: 16:9 is `[1, 0.5625]`), so the level drawn is the
//! same for any aspect.

use crate::library::TileAspect;
use glam::DVec2;

#[derive(Clone, Copy, Debug, PartialEq)]
/// Where the view is: its centre in cells and its zoom in screen pixels per cell.
pub struct Camera {
    /// The screen centre, in cells (cell `(x, y)` spans `x..x+1`, `y..y+1`).
    pub center: DVec2,
    /// Screen pixels per cell.
    pub cell_px: f64,
}

/// Zoom limits: from a fraction of a pixel per cell out to 4096 pixels per cell.
pub const MIN_CELL_PX: f64 = 1.0 / 64.0;
/// The closest zoom: a cell 4096 pixels wide.
pub const MAX_CELL_PX: f64 = 4096.0;

/// Square cells' shape.
pub const SQUARE: [f64; 2] = [1.0, 1.0];

impl Camera {
    /// The whole mosaic of square cells, centred, as large as fits.
    pub fn fit(cols: u32, rows: u32, width: u32, height: u32) -> Camera {
        Self::fit_shaped(cols, rows, width, height, SQUARE)
    }

    /// The whole mosaic of cells of `shape`, centred, as large as fits.
    pub fn fit_shaped(cols: u32, rows: u32, width: u32, height: u32, shape: [f64; 2]) -> Camera {
        let cell_px =
            (width as f64 / (cols as f64 * shape[0])).min(height as f64 / (rows as f64 * shape[1]));
        Camera {
            center: DVec2::new(cols as f64 / 2.0, rows as f64 / 2.0),
            cell_px: cell_px.clamp(MIN_CELL_PX, MAX_CELL_PX),
        }
    }

    /// Cell coordinate under screen point `p` (pixels, origin top-left), for cells of
    /// `shape` (`SQUARE`, or `TileAspect::shape`).
    pub fn screen_to_cell(&self, p: DVec2, width: u32, height: u32, shape: [f64; 2]) -> DVec2 {
        self.center
            + (p - DVec2::new(width as f64, height as f64) * 0.5)
                / (self.cell_px * DVec2::from(shape))
    }

    /// Screen point of cell coordinate `c`, for cells of `shape`.
    pub fn cell_to_screen(&self, c: DVec2, width: u32, height: u32, shape: [f64; 2]) -> DVec2 {
        (c - self.center) * (self.cell_px * DVec2::from(shape))
            + DVec2::new(width as f64, height as f64) * 0.5
    }

    /// Multiplies the zoom by `factor`, keeping the cell under screen point `anchor` in
    /// place (cells of `shape`).
    pub fn zoom_at(
        &mut self,
        factor: f64,
        anchor: DVec2,
        (width, height): (u32, u32),
        shape: [f64; 2],
    ) {
        let under = self.screen_to_cell(anchor, width, height, shape);
        self.cell_px = (self.cell_px * factor).clamp(MIN_CELL_PX, MAX_CELL_PX);
        let after = self.screen_to_cell(anchor, width, height, shape);
        self.center += under - after;
    }

    /// Moves the view by a screen-space drag of `delta` pixels (cells of `shape`).
    pub fn pan_pixels(&mut self, delta: DVec2, shape: [f64; 2]) {
        self.center -= delta / (self.cell_px * DVec2::from(shape));
    }
}

/// Which tile levels a zoom draws, and how they blend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelChoice {
    /// The finer level: the smallest with `2^level ≥ cell_px` (clamped to the pyramid).
    pub hi: usize,
    /// The next coarser level, blended in with weight `1 - weight_hi`.
    pub lo: usize,
    /// Weight of `hi`; 1 when `cell_px` is a power of two, so the drawn level is exact there.
    pub weight_hi: f32,
}

impl LevelChoice {
    pub fn for_cell_px(cell_px: f64, max_level: usize) -> LevelChoice {
        let lod = cell_px.max(f64::MIN_POSITIVE).log2();
        if lod <= 0.0 {
            return LevelChoice {
                hi: 0,
                lo: 0,
                weight_hi: 1.0,
            };
        }
        if lod >= max_level as f64 {
            return LevelChoice {
                hi: max_level,
                lo: max_level.saturating_sub(1),
                weight_hi: 1.0,
            };
        }
        let hi = lod.ceil() as usize;
        LevelChoice {
            hi,
            lo: hi - 1,
            weight_hi: (lod - (hi - 1) as f64) as f32,
        }
    }

    /// The levels that carry weight this frame (one or two).
    pub fn drawn_levels(&self) -> impl Iterator<Item = usize> {
        let lo = (self.weight_hi < 1.0).then_some(self.lo);
        std::iter::once(self.hi).chain(lo)
    }
}

/// An inclusive-exclusive rectangle of cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CellRect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl CellRect {
    pub fn is_empty(&self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }
    pub fn cells(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            (self.x1 - self.x0) as u64 * (self.y1 - self.y0) as u64
        }
    }
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
    /// The central half on each axis: what a view shows after zooming in 2× about its centre.
    pub fn shrunk_to_centre_half(&self) -> CellRect {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        CellRect {
            x0: self.x0 + w / 4,
            y0: self.y0 + h / 4,
            x1: self.x1 - w / 4,
            y1: self.y1 - h / 4,
        }
    }

    /// Extended by a quarter of its size (at least a cell) on each side `motion` moves
    /// towards, clamped to the grid: what a pan brings on screen next.
    pub fn extended_towards(&self, motion: DVec2, cols: u32, rows: u32) -> CellRect {
        let (mx, my) = (
            ((self.x1 - self.x0) / 4).max(1),
            ((self.y1 - self.y0) / 4).max(1),
        );
        let lower = |v: u32, m: u32, d: f64| if d < 0.0 { v.saturating_sub(m) } else { v };
        let upper = |v: u32, m: u32, d: f64, n: u32| if d > 0.0 { (v + m).min(n) } else { v };
        CellRect {
            x0: lower(self.x0, mx, motion.x),
            y0: lower(self.y0, my, motion.y),
            x1: upper(self.x1, mx, motion.x, cols),
            y1: upper(self.y1, my, motion.y, rows),
        }
    }
}

/// Everything a renderer needs to draw one frame: the camera reduced to f32/i32 numbers that
/// the shader and the CPU reference both use, so both compute identical cell coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameView {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Cells across the mosaic.
    pub cols: u32,
    /// Cells down the mosaic.
    pub rows: u32,
    /// Integer part of the cell coordinate at the screen's top-left corner.
    pub origin_int: [i32; 2],
    /// Fractional part, in `[0, 1)`.
    pub origin_frac: [f32; 2],
    /// Cells per screen pixel, across and down (`1 / (cell_px × shape)`).
    pub cells_per_px: [f32; 2],
    /// Screen pixels per cell (its longer side).
    pub cell_px: f64,
    /// The cell's sides against its longer one (`[1, 1]` for square tiles).
    pub shape: [f64; 2],
    /// The texels a tile fills of its top level's page, across and down (the whole page
    /// for square tiles; see `TileAspect::extent`).
    pub top_extent: [u32; 2],
    /// The levels drawn and their blend.
    pub levels: LevelChoice,
    /// `log2(1 / cell_px)` when zoomed out below one pixel per cell (the overview is drawn),
    /// else negative.
    pub overview_lod: f32,
    /// The library's finest level.
    pub max_level: usize,
}

impl FrameView {
    /// What `camera` shows on a `width × height` frame of a `cols × rows` mosaic whose
    /// finest level is `max_level`.
    pub fn new(
        camera: &Camera,
        width: u32,
        height: u32,
        cols: u32,
        rows: u32,
        max_level: usize,
    ) -> FrameView {
        Self::shaped(
            camera,
            (width, height),
            (cols, rows),
            max_level,
            TileAspect::SQUARE,
        )
    }

    /// `new` for tiles of `aspect`.
    pub fn shaped(
        camera: &Camera,
        (width, height): (u32, u32),
        (cols, rows): (u32, u32),
        max_level: usize,
        aspect: TileAspect,
    ) -> FrameView {
        let shape = aspect.shape();
        let cells_per_px64 = shape.map(|s| 1.0 / (camera.cell_px * s));
        let cells_per_px = cells_per_px64.map(|c| c as f32);
        // From the exact scale, not its f32 rounding: a 16:9 cell 16 px wide is 9 px tall, and
        // 1/9 rounded would put a centred origin a hair off the texel edge it sits on.
        let origin = camera.center
            - DVec2::new(width as f64, height as f64) * 0.5 * DVec2::from_array(cells_per_px64);
        let floor = origin.floor();
        FrameView {
            width,
            height,
            cols,
            rows,
            origin_int: [floor.x as i32, floor.y as i32],
            origin_frac: [(origin.x - floor.x) as f32, (origin.y - floor.y) as f32],
            cells_per_px,
            cell_px: camera.cell_px,
            shape,
            top_extent: aspect.extent(1 << max_level),
            levels: LevelChoice::for_cell_px(camera.cell_px, max_level),
            overview_lod: if camera.cell_px < 1.0 {
                (1.0 / camera.cell_px).log2() as f32
            } else {
                -1.0
            },
            max_level,
        }
    }

    /// Cell offset of a pixel centre from `origin_int` along one axis. A fused multiply-add
    /// (one rounding), mirrored by `fma` in the shader, so CPU and GPU agree to the bit.
    #[inline]
    pub fn local(&self, pixel: u32, axis: usize) -> f32 {
        (pixel as f32 + 0.5).mul_add(self.cells_per_px[axis], self.origin_frac[axis])
    }

    /// The texels a tile fills of its page at `level`, across and down: the top level's
    /// extent halved level by level, rounding up, as the pyramid was built (the shader
    /// computes the same).
    #[inline]
    pub fn extent(&self, level: usize) -> [usize; 2] {
        let down = self.max_level.saturating_sub(level);
        self.top_extent.map(|e| (((e - 1) >> down) + 1) as usize)
    }

    /// The screen's top-left corner in cell coordinates.
    pub fn origin(&self) -> glam::DVec2 {
        glam::DVec2::new(
            self.origin_int[0] as f64 + self.origin_frac[0] as f64,
            self.origin_int[1] as f64 + self.origin_frac[1] as f64,
        )
    }

    /// The cells the screen overlaps, clamped to the mosaic.
    pub fn visible_cells(&self) -> CellRect {
        let span = |axis: usize, pixels: u32, cells: u32| {
            let end =
                self.origin_frac[axis] as f64 + pixels as f64 / (self.cell_px * self.shape[axis]);
            let first = self.origin_int[axis] as i64;
            let last = self.origin_int[axis] as i64 + end.ceil() as i64;
            (
                first.clamp(0, cells as i64) as u32,
                last.clamp(0, cells as i64) as u32,
            )
        };
        let (x0, x1) = span(0, self.width, self.cols);
        let (y0, y1) = span(1, self.height, self.rows);
        CellRect { x0, y0, x1, y1 }
    }

    /// Whether the overview (the grid's own mip chain) is drawn instead of tile pages.
    pub fn uses_overview(&self) -> bool {
        self.overview_lod > 0.0
    }

    /// The level whose texels land one to one on pixel centres in this view, if any:
    /// a cell is exactly the tile's extent at that level in pixels (`cell_px` is `2^level`
    /// for square tiles), only that level is drawn, and the origin is a whole number of
    /// texels. There bilinear filtering returns texels unchanged, so a renderer
    /// may copy or load them instead.
    pub fn texel_aligned_level(&self) -> Option<usize> {
        let l = self.levels.hi;
        let extent = self.extent(l);
        // Per axis: a texel of the tile's extent a pixel, and the origin on a texel edge.
        let aligned = |axis: usize| {
            let e = extent[axis] as f32;
            self.cells_per_px[axis] * e == 1.0 && (self.origin_frac[axis] * e).fract() == 0.0
        };
        (!self.uses_overview() && self.levels.weight_hi == 1.0 && aligned(0) && aligned(1))
            .then_some(l)
    }

    /// The parts of the screen beside the mosaic, as up to four rectangles `[x0, y0, x1, y1]`
    /// of whole pixels (empty ones are all zero): above, below, left and right of it. A
    /// pixel is in one exactly when `cell_of_pixel` puts its centre outside the grid.
    pub fn background_rects(&self) -> [[f32; 4]; 4] {
        let left = self.first_pixel_at(0, 0) as f32;
        let right = self.first_pixel_at(self.cols as i64, 0) as f32;
        let top = self.first_pixel_at(0, 1) as f32;
        let bottom = self.first_pixel_at(self.rows as i64, 1) as f32;
        let (w, h) = (self.width as f32, self.height as f32);
        let rect = |x0: f32, y0: f32, x1: f32, y1: f32| {
            if x0 < x1 && y0 < y1 {
                [x0, y0, x1, y1]
            } else {
                [0.0; 4]
            }
        };
        [
            rect(0.0, 0.0, w, top),
            rect(0.0, bottom, w, h),
            rect(0.0, top, left, bottom),
            rect(right, top, w, bottom),
        ]
    }

    /// The cell (along `axis`, in grid coordinates) that holds the centre of `pixel`.
    #[inline]
    pub fn cell_of_pixel(&self, pixel: u32, axis: usize) -> i64 {
        self.origin_int[axis] as i64 + self.local(pixel, axis).floor() as i64
    }

    /// The first pixel along `axis` whose centre is in cell `cell` or beyond (the screen's
    /// size in pixels when none is).
    pub fn first_pixel_at(&self, cell: i64, axis: usize) -> u32 {
        let pixels = if axis == 0 { self.width } else { self.height };
        // Cells grow with the pixel: a binary search for the first at or past `cell`.
        let (mut lo, mut hi) = (0, pixels);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.cell_of_pixel(mid, axis) < cell {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The most cells of `shape` a `width × height` screen can show at `cell_px`, capped by
/// the mosaic size.
pub fn max_visible_cells(
    (width, height): (u32, u32),
    cell_px: f64,
    (cols, rows): (u32, u32),
    shape: [f64; 2],
) -> u64 {
    let across = (width as f64 / (cell_px * shape[0])).ceil() as u64 + 1;
    let down = (height as f64 / (cell_px * shape[1])).ceil() as u64 + 1;
    across.min(cols as u64) * down.min(rows as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_choice_follows_cell_size() {
        let l = |px| LevelChoice::for_cell_px(px, 8);
        assert_eq!(
            l(0.25),
            LevelChoice {
                hi: 0,
                lo: 0,
                weight_hi: 1.0
            }
        );
        assert_eq!(
            l(1.0),
            LevelChoice {
                hi: 0,
                lo: 0,
                weight_hi: 1.0
            }
        );
        assert_eq!(
            l(2.0),
            LevelChoice {
                hi: 1,
                lo: 0,
                weight_hi: 1.0
            }
        );
        assert_eq!(
            l(64.0),
            LevelChoice {
                hi: 6,
                lo: 5,
                weight_hi: 1.0
            }
        );
        assert_eq!(l(256.0).hi, 8);
        assert_eq!(
            l(1000.0),
            LevelChoice {
                hi: 8,
                lo: 7,
                weight_hi: 1.0
            }
        );
        let mid = l(7.3);
        assert_eq!((mid.hi, mid.lo), (3, 2));
        assert!((mid.weight_hi - (7.3f64.log2() - 2.0) as f32).abs() < 1e-6);
        // Continuity: just above a power of two, the new finer level starts at weight ~0.
        let above = l(64.0 * 1.0001);
        assert_eq!(above.hi, 7);
        assert!(above.weight_hi < 0.001);
        assert_eq!(l(64.0).drawn_levels().collect::<Vec<_>>(), vec![6]);
        assert_eq!(l(48.0).drawn_levels().collect::<Vec<_>>(), vec![6, 5]);
    }

    #[test]
    fn screen_and_cell_round_trip() {
        let cam = Camera {
            center: DVec2::new(10.5, 4.25),
            cell_px: 7.3,
        };
        for p in [
            DVec2::ZERO,
            DVec2::new(333.0, 17.5),
            DVec2::new(1000.0, 332.0),
        ] {
            for shape in [SQUARE, [1.0, 0.5625], [2.0 / 3.0, 1.0]] {
                let cell = cam.screen_to_cell(p, 1001, 333, shape);
                let back = cam.cell_to_screen(cell, 1001, 333, shape);
                assert!((back - p).length() < 1e-9);
            }
        }
        // The screen centre shows the camera centre.
        assert_eq!(
            cam.screen_to_cell(DVec2::new(500.5, 166.5), 1001, 333, SQUARE),
            cam.center
        );
        // A 16:9 cell's row is 9/16 of its column's pixels.
        let below = cam.screen_to_cell(DVec2::new(500.5, 166.5 + 9.0), 1001, 333, [1.0, 0.5625]);
        assert!((below.y - cam.center.y - 9.0 / (cam.cell_px * 0.5625)).abs() < 1e-12);
    }

    #[test]
    fn zoom_keeps_the_anchor_fixed() {
        let mut cam = Camera {
            center: DVec2::new(50.0, 50.0),
            cell_px: 4.0,
        };
        let anchor = DVec2::new(100.0, 700.0);
        let shape = [1.0, 0.5625];
        let before = cam.screen_to_cell(anchor, 800, 800, shape);
        cam.zoom_at(3.0, anchor, (800, 800), shape);
        assert!((cam.screen_to_cell(anchor, 800, 800, shape) - before).length() < 1e-9);
        assert_eq!(cam.cell_px, 12.0);
    }

    #[test]
    fn visible_rect_covers_the_screen_and_clamps() {
        // 10×10 cells of 10 px on a 100×100 screen: exactly all cells.
        let cam = Camera::fit(10, 10, 100, 100);
        let v = FrameView::new(&cam, 100, 100, 10, 10, 8);
        assert_eq!(
            v.visible_cells(),
            CellRect {
                x0: 0,
                y0: 0,
                x1: 10,
                y1: 10
            }
        );
        // Centred on the top-left corner: a quarter is visible.
        let cam = Camera {
            center: DVec2::ZERO,
            cell_px: 10.0,
        };
        let v = FrameView::new(&cam, 100, 100, 10, 10, 8);
        assert_eq!(
            v.visible_cells(),
            CellRect {
                x0: 0,
                y0: 0,
                x1: 5,
                y1: 5
            }
        );
        // Entirely off the mosaic: empty.
        let cam = Camera {
            center: DVec2::new(-100.0, 5.0),
            cell_px: 10.0,
        };
        assert!(FrameView::new(&cam, 100, 100, 10, 10, 8)
            .visible_cells()
            .is_empty());
        // Fractional zoom: a cell only partly on screen still counts.
        let cam = Camera {
            center: DVec2::new(5.0, 5.0),
            cell_px: 7.3,
        };
        let r = FrameView::new(&cam, 100, 100, 10, 10, 8).visible_cells();
        assert_eq!((r.x0, r.x1), (0, 10));
        assert!(r.cells() <= max_visible_cells((100, 100), 7.3, (10, 10), SQUARE));
    }

    #[test]
    fn fit_shows_the_whole_mosaic() {
        let cam = Camera::fit(1920, 1080, 960, 540);
        assert_eq!(cam.cell_px, 0.5);
        let v = FrameView::new(&cam, 960, 540, 1920, 1080, 8);
        assert!(v.uses_overview());
        assert_eq!(v.overview_lod, 1.0);
        assert_eq!(
            v.visible_cells(),
            CellRect {
                x0: 0,
                y0: 0,
                x1: 1920,
                y1: 1080
            }
        );
    }

    /// Every pixel centre falls in a visible cell or in exactly one background rectangle,
    /// as `local` classifies it: what per-cell quads and their background draw.
    #[test]
    fn background_rects_and_visible_cells_partition_the_screen() {
        let (w, h, cols, rows) = (64, 48, 10, 7);
        for (center, cell_px) in [
            (DVec2::new(5.0, 3.5), 6.0),
            (DVec2::new(0.3, 0.2), 7.3),
            (DVec2::new(9.9, 6.8), 4.5),
            (DVec2::new(-20.0, 3.0), 5.0),
            (DVec2::new(5.0, 3.5), 1.5),
        ] {
            let v = FrameView::new(&Camera { center, cell_px }, w, h, cols, rows, 8);
            let (cells, rects) = (v.visible_cells(), v.background_rects());
            for py in 0..h {
                for px in 0..w {
                    let (cx, cy) = (v.cell_of_pixel(px, 0), v.cell_of_pixel(py, 1));
                    let inside = (0..cols as i64).contains(&cx) && (0..rows as i64).contains(&cy);
                    let (x, y) = (px as f32 + 0.5, py as f32 + 0.5);
                    let in_rects = rects
                        .iter()
                        .filter(|r| r[0] <= x && x < r[2] && r[1] <= y && y < r[3])
                        .count();
                    assert_eq!(in_rects, !inside as usize, "{center} {cell_px}: {px},{py}");
                    if inside {
                        assert!(cells.contains(cx as u32, cy as u32));
                    }
                }
            }
        }
    }

    #[test]
    fn texel_aligned_level_only_on_exact_aligned_zooms() {
        let at = |center: DVec2, cell_px: f64| {
            FrameView::new(&Camera { center, cell_px }, 64, 64, 100, 100, 8).texel_aligned_level()
        };
        assert_eq!(at(DVec2::new(50.0, 50.0), 8.0), Some(3));
        // Half a texel off: filtering mixes two texels.
        assert_eq!(at(DVec2::new(50.0 + 1.0 / 16.0, 50.0), 8.0), None);
        // Between powers of two (levels blended), and below a pixel per cell.
        assert_eq!(at(DVec2::new(50.0, 50.0), 6.0), None);
        assert_eq!(at(DVec2::new(50.0, 50.0), 0.5), None);
    }

    /// 16:9 cells 16, 32 and 64 px wide are 9, 18 and 36 px tall: with the screen's centre
    /// on a cell corner, pixels are texels one to one (the origin is found from the exact
    /// scale; 1/9 rounded to f32 would miss the texel edge). At 8 px a cell is 4.5 px tall
    /// and nothing aligns.
    #[test]
    fn wide_cells_align_where_their_height_is_whole() {
        let aspect: TileAspect = "16:9".parse().unwrap();
        let at = |cell_px: f64| {
            let camera = Camera {
                center: DVec2::new(960.0, 540.0),
                cell_px,
            };
            FrameView::shaped(&camera, (1920, 1080), (1920, 1080), 6, aspect).texel_aligned_level()
        };
        assert_eq!(at(64.0), Some(6));
        assert_eq!(at(32.0), Some(5));
        assert_eq!(at(16.0), Some(4));
        assert_eq!(at(8.0), None);
    }

    /// The shader's `first_pixel` (an estimate and one correction, in f32) finds the pixel
    /// `first_pixel_at` finds by search, at every cell edge of many views: per-cell quads
    /// cover exactly the pixels the CPU puts in their cells.
    #[test]
    fn shader_first_pixel_matches_the_search() {
        let shader = |v: &FrameView, edge: f32, axis: usize| -> f32 {
            let (cpp, frac) = (v.cells_per_px[axis], v.origin_frac[axis]);
            let mut p = ((edge - frac) / cpp - 0.5).ceil();
            if (p + 0.5).mul_add(cpp, frac).floor() < edge {
                p += 1.0;
            } else if (p - 0.5).mul_add(cpp, frac).floor() >= edge {
                p -= 1.0;
            }
            p
        };
        let mut checked = 0;
        // Views with edges through pixel centres (the first: x = 16.5), then many others.
        let ties = [
            (DVec2::new(5.3, 4.2), 45.0, 240, 160),
            (DVec2::new(5.3, 4.2), 30.0, 240, 160),
        ];
        let others = (0..400).map(|i| {
            let cell_px = 24.0 + (i as f64 * 7.37) % 500.0;
            let center = DVec2::new(
                3.0 + (i as f64 * 0.731) % 40.0,
                2.0 + (i as f64 * 0.377) % 30.0,
            );
            (center, cell_px, 1920, 1080)
        });
        for (center, cell_px, w, h) in ties.into_iter().chain(others) {
            let v = FrameView::new(&Camera { center, cell_px }, w, h, 50, 40, 9);
            for axis in 0..2 {
                let n = if axis == 0 { v.width } else { v.height };
                for edge in -2..(n as f64 / cell_px) as i64 + 3 {
                    let want = v.first_pixel_at(v.origin_int[axis] as i64 + edge, axis);
                    let got = shader(&v, edge as f32, axis).clamp(0.0, n as f32);
                    assert_eq!(
                        got, want as f32,
                        "{center} {cell_px} axis {axis} edge {edge}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 5000);
    }
}
