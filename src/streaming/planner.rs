//! The streaming planner: from a frame's view, the match grid, the playback clock and what
//! is resident, the tiles on screen, the pages the frame wants (most urgent first), the
//! frames playing clips need next, and the pages worth prefetching. Pure: no GPU, no
//! threads, no I/O, so every rule here is unit tested in microseconds. The manager applies
//! the plan (uploads, requests); see `manager`.

use super::tile_blocks::{distinct_tiles, take_ascending, TileBlocks};
use super::Heuristics;
use crate::playback::{Clock, Playback};
use crate::residency::{PageKey, Residency};
use crate::view::{CellRect, FrameView};
use std::sync::Arc;

/// A wanted page and its priority: lower is more urgent (coarse level first, then the
/// squared distance of the tile's nearest visible cell to the screen centre).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Want {
    /// The tile on screen that wants the page (its current frame).
    pub tile: u32,
    pub key: PageKey,
    pub priority: (u8, f32),
}

/// What one frame needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FramePlan {
    /// The tiles on screen (each once, ascending), where they matter: empty while every
    /// tile shows its key frame (stills, or clips still since the start) and the drawn
    /// levels are complete (nothing to want, no frame to move). Ascending, so that moving
    /// them all to a tick's frames walks the residency's per-tile rows in memory order.
    pub visible: Vec<u32>,
    /// Pages of the drawn levels for every visible tile's current frame, in request order.
    /// Complete levels (and level 0, always resident) are left out: they need no work.
    pub wants: Vec<Want>,
    /// The next frame of every visible playing clip at the drawn levels, centre first:
    /// uploaded ahead of the clock so the frame is there when its tick comes.
    pub ahead: Vec<PageKey>,
    /// Pages not on screen yet that the motion says will be: the next finer level around
    /// the centre while zooming in, a ring ahead of a pan. Best first; may include pages
    /// already resident (the manager filters).
    pub prefetch: Vec<PageKey>,
}

pub struct Planner {
    grid: Arc<Vec<u32>>,
    cols: u32,
    heuristics: Heuristics,
    /// Per tile: the scan that last found it, and its distance² to the screen centre then.
    /// Scans number from 1, so one scan's tiles are told apart from another's without
    /// clearing the array.
    seen: Vec<(u32, f32)>,
    scan: u32,
    /// The previous frame's zoom and top-left corner, to tell zooming from panning.
    last_view: Option<(f64, glam::DVec2)>,
    /// The last view planned and its tiles on screen (see `tiles_on_screen`).
    on_screen: Option<OnScreen>,
    /// A bit per tile, set when `distinct_tiles_in` finds it (all clear between scans).
    found: Vec<u64>,
    tiles: u32,
    /// Which tiles each block of the grid holds (see `TileBlocks`).
    blocks: GridBlocks,
    /// Whether a frame was planned with clips playing, so that a tile may show another
    /// frame than its key frame (the residency starts every tile on its key frame).
    moved: bool,
}

/// Plans over one grid before its `TileBlocks` are made: making them scans every cell, a
/// waste for a video target's grid, which changes at the video's frame rate.
const PLANS_BEFORE_BLOCKS: u32 = 8;

/// The grid's `TileBlocks`: not made yet (the plans over this grid so far), or made (none
/// where they would be too large).
enum GridBlocks {
    Waiting(u32),
    Made(Option<TileBlocks>),
}

/// The tiles a view showed, each with its distance² to the screen centre (0 without
/// `distances`).
struct OnScreen {
    view: FrameView,
    distances: bool,
    tiles: Vec<(u32, f32)>,
    /// The same tiles ascending (`FramePlan::visible`).
    ascending: Vec<u32>,
}

impl Planner {
    pub fn new(grid: Arc<Vec<u32>>, cols: u32, tiles: u32, heuristics: Heuristics) -> Planner {
        Planner {
            grid,
            cols,
            heuristics,
            seen: vec![(0, 0.0); tiles as usize],
            scan: 0,
            last_view: None,
            on_screen: None,
            found: vec![0; (tiles as usize).div_ceil(64)],
            tiles,
            blocks: GridBlocks::Waiting(0),
            moved: false,
        }
    }

    /// Plans one frame at `playback`'s moment. `prefetch` says whether to look ahead at all
    /// (the manager asks only when there are loader threads to serve it).
    pub fn plan(
        &mut self,
        view: &FrameView,
        residency: &Residency,
        clock: &Clock,
        playback: &Playback,
        prefetch: bool,
    ) -> FramePlan {
        if let GridBlocks::Waiting(plans) = &mut self.blocks {
            *plans += 1;
        }
        let visible = view.visible_cells();
        let levels = if view.uses_overview() {
            Vec::new()
        } else {
            incomplete_drawn_levels(view, residency)
        };
        // The tiles on screen matter for the pages they want and the frames they show: with
        // every drawn level complete, for nothing while every tile shows its key frame (a
        // library of stills, or clips still since the start), and finding them is a scan of
        // every visible cell (1.4 million at 1.2 px per cell on 1080p, a few ms on one
        // core, in every frame of a zoom).
        self.moved |= !playback.still && !clock.is_static();
        let needs_tiles = !levels.is_empty() || self.moved;
        let (on_screen, ascending) = if view.uses_overview() || visible.is_empty() || !needs_tiles {
            (Vec::new(), Vec::new())
        } else {
            // Distances order the wants; with none (every drawn level complete: clips
            // at pinned levels), only which tiles are on screen matters.
            self.tiles_on_screen(visible, view, !levels.is_empty())
        };
        // `on_screen` is nearest the centre first, so taken level by level, coarsest first,
        // it is already in priority order (the wants were sorted at every plan: 32,000 of
        // them at each tick of a view at rest over playing clips at 16 px per cell).
        let mut coarsest_first = levels.clone();
        coarsest_first.sort_unstable();
        let mut wants: Vec<Want> = coarsest_first
            .iter()
            .flat_map(|&l| {
                on_screen.iter().map(move |&(tile, d2)| Want {
                    tile,
                    key: PageKey::new(clock.record(tile, playback), l),
                    priority: (l as u8, d2),
                })
            })
            .collect();
        if !self.heuristics.ordered {
            wants.sort_by_key(|w| (w.key.record, w.key.level));
        }
        let playing: Vec<(u32, f32)> = on_screen
            .iter()
            .copied()
            .filter(|&(t, _)| clock.plays(t, playback))
            .collect();
        let ahead = playing
            .iter()
            .flat_map(|&(t, _)| {
                let next = clock.next_record(t, clock.record(t, playback));
                levels.iter().map(move |&l| PageKey::new(next, l))
            })
            .collect();
        let prefetch = if prefetch && self.heuristics.prefetch {
            self.prefetch_wants(view, visible, residency, clock, playback)
        } else {
            Vec::new()
        };
        self.last_view = Some((view.cell_px, view.origin()));
        FramePlan {
            visible: ascending,
            wants,
            ahead,
            prefetch,
        }
    }

    /// Plans over `grid` from now on (same size as before).
    pub fn set_grid(&mut self, grid: Arc<Vec<u32>>) {
        debug_assert_eq!(grid.len(), self.grid.len());
        self.grid = grid;
        self.on_screen = None;
        self.blocks = GridBlocks::Waiting(0);
    }

    /// Forgets the previous view: the next frame is a cut, with no motion to extrapolate.
    #[cfg(test)]
    pub fn reset_motion(&mut self) {
        self.last_view = None;
    }

    /// The distinct tiles of `view`'s visible cells (`rect`), as `tiles_in` finds them,
    /// nearest the screen centre first, and the same tiles ascending; the last view's are
    /// kept, since a view at rest over playing clips plans again at every tick (at 1 px per
    /// cell on 1080p, a scan of two million cells each time). Without `distances`, each
    /// tile's distance is 0 and the scan is the cheaper `distinct_tiles_in`, ascending.
    fn tiles_on_screen(
        &mut self,
        rect: CellRect,
        view: &FrameView,
        distances: bool,
    ) -> (Vec<(u32, f32)>, Vec<u32>) {
        match &self.on_screen {
            Some(seen) if seen.view == *view && seen.distances == distances => {
                (seen.tiles.clone(), seen.ascending.clone())
            }
            _ => {
                let (tiles, ascending) = if distances {
                    // Nearest first (ties in scan order), sorted once per view: the wants
                    // and the playing clips take this order.
                    let mut tiles = self.tiles_in(rect, view);
                    tiles.sort_by(|a, b| a.1.total_cmp(&b.1));
                    let ascending = self.ascending(&tiles);
                    (tiles, ascending)
                } else {
                    let ascending = self.distinct_tiles_in(rect);
                    (ascending.iter().map(|&t| (t, 0.0)).collect(), ascending)
                };
                self.on_screen = Some(OnScreen {
                    view: *view,
                    distances,
                    tiles: tiles.clone(),
                    ascending: ascending.clone(),
                });
                (tiles, ascending)
            }
        }
    }

    /// `tiles` (distinct) in ascending order, through the bit set: a pass over them and
    /// one over its words, where a sort cost ~0.3 ms in every frame of a zoom. Tiles in
    /// scan or distance order are scattered over the tile numbers: moving 18,000 of them to
    /// a tick's frames in that order missed the cache on every residency row (at 4 px per
    /// cell, 2–3.6 ms a tick).
    fn ascending(&mut self, tiles: &[(u32, f32)]) -> Vec<u32> {
        for &(tile, _) in tiles {
            self.found[tile as usize / 64] |= 1u64 << (tile % 64);
        }
        take_ascending(&mut self.found)
    }

    /// Distinct tiles in `rect`, ascending, no distances: one bit a tile (2.2 KiB for
    /// 18,000 tiles, so the set stays in the nearest cache while the grid streams past),
    /// whole blocks of cells at a time once the grid has stayed (see `TileBlocks`).
    fn distinct_tiles_in(&mut self, rect: CellRect) -> Vec<u32> {
        if matches!(self.blocks, GridBlocks::Waiting(p) if p >= PLANS_BEFORE_BLOCKS) {
            self.blocks = GridBlocks::Made(TileBlocks::build(&self.grid, self.cols, self.tiles));
        }
        let blocks = match &self.blocks {
            GridBlocks::Made(blocks) => blocks.as_ref(),
            GridBlocks::Waiting(_) => None,
        };
        distinct_tiles(&self.grid, self.cols, rect, blocks, &mut self.found)
    }

    /// Distinct tiles in `rect`, each with the distance² of its nearest cell there to the
    /// screen centre, in scan order. Each call is a scan of its own: a tile already found by
    /// another call this frame is found again.
    fn tiles_in(&mut self, rect: CellRect, view: &FrameView) -> Vec<(u32, f32)> {
        self.scan = self.scan.wrapping_add(1).max(1);
        if self.scan == 1 {
            // Wrapped (or first use): old stamps could collide with new ones.
            self.seen.fill((0, 0.0));
        }
        let scan = self.scan;
        let center = view.origin().as_vec2()
            + glam::Vec2::new(view.width as f32, view.height as f32)
                * 0.5
                * glam::Vec2::from(view.cells_per_px);
        let mut tiles = Vec::new();
        for y in rect.y0..rect.y1 {
            let dy = y as f32 + 0.5 - center.y;
            let row = &self.grid[(y * self.cols) as usize..][..self.cols as usize];
            for x in rect.x0..rect.x1 {
                let tile = row[x as usize];
                let dx = x as f32 + 0.5 - center.x;
                let d2 = dx * dx + dy * dy;
                let seen = &mut self.seen[tile as usize];
                if seen.0 != scan {
                    *seen = (scan, d2);
                    tiles.push(tile);
                } else if d2 < seen.1 {
                    seen.1 = d2;
                }
            }
        }
        tiles
            .into_iter()
            .map(|t| (t, self.seen[t as usize].1))
            .collect()
    }

    /// While zooming in, the next finer level around the centre; while panning, a ring of
    /// cells ahead of the motion at the drawn levels. Nearest the centre first.
    fn prefetch_wants(
        &mut self,
        view: &FrameView,
        visible: CellRect,
        residency: &Residency,
        clock: &Clock,
        playback: &Playback,
    ) -> Vec<PageKey> {
        let Some((last_px, last_origin)) = self.last_view else {
            return Vec::new();
        };
        if view.uses_overview() || visible.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let zooming_in = view.cell_px > last_px * 1.001;
        if zooming_in && view.levels.hi < view.max_level {
            let next = view.levels.hi + 1;
            if !residency.level_complete(next) {
                // What the screen shows after zooming in by 2×: the central half.
                let inner = visible.shrunk_to_centre_half();
                let rect = if inner.is_empty() { visible } else { inner };
                let mut tiles = self.tiles_in(rect, view);
                tiles.sort_by(|a, b| a.1.total_cmp(&b.1));
                out.extend(
                    tiles
                        .into_iter()
                        .map(|(t, _)| PageKey::new(clock.record(t, playback), next)),
                );
            }
        }
        let motion = view.origin() - last_origin;
        let panning = (view.cell_px - last_px).abs() < 1e-9 && motion.length() > 1e-6;
        if panning {
            let ahead = visible.extended_towards(motion, view.cols, view.rows);
            let levels = incomplete_drawn_levels(view, residency);
            let mut ring = self.tiles_in(ahead, view);
            ring.sort_by(|a, b| a.1.total_cmp(&b.1));
            for (t, _) in ring {
                let record = clock.record(t, playback);
                out.extend(levels.iter().map(|&l| PageKey::new(record, l)));
            }
        }
        out
    }
}

/// The levels a view draws that still need pages (level 0 and complete levels never do).
fn incomplete_drawn_levels(view: &FrameView, residency: &Residency) -> Vec<usize> {
    view.levels
        .drawn_levels()
        .filter(|&l| l > 0 && !residency.level_complete(l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::{AtlasLayout, LevelPlan};
    use crate::library::store::Clip;
    use crate::view::Camera;
    use glam::DVec2;

    /// 1,200 stills (record = tile), or with `frames` > 1 as many clips of that length.
    fn clock(frames: u32) -> Clock {
        let clips = (0..1200)
            .map(|t| Clip {
                first: t * frames,
                frames,
                key: 0,
            })
            .collect();
        Clock::new(Arc::new(clips), 12)
    }

    fn plan_frame(
        planner: &mut Planner,
        residency: &Residency,
        view: &FrameView,
        prefetch: bool,
    ) -> FramePlan {
        planner.plan(view, residency, &clock(1), &Playback::default(), prefetch)
    }

    /// A 40×30 grid whose cell (x, y) holds tile y·40 + x (every tile once), over a library
    /// of 1,200 tiles of up to 64 px; the budget pins the small levels and pages the rest.
    fn setup() -> (Planner, Residency, FrameView) {
        let (cols, rows) = (40u32, 30u32);
        let grid: Vec<u32> = (0..cols * rows).collect();
        // Levels 0–3 pinned (every tile has a slot), 4–6 paged.
        let mut first = 0;
        let levels = [
            (1, true),
            (2, true),
            (5, true),
            (19, true),
            (20, false),
            (40, false),
            (100, false),
        ]
        .iter()
        .enumerate()
        .map(|(level, &(blocks, pinned))| {
            let plan = LevelPlan {
                level,
                first_block: first,
                blocks,
                capacity: (blocks * (64u32 >> level).pow(2)).min(cols * rows),
                pinned,
            };
            first += blocks;
            plan
        })
        .collect();
        let layout = AtlasLayout {
            block: 64,
            layer_size: 512,
            layers: 3,
            levels,
        };
        let residency = Residency::new(clock(1).clips().clone(), cols * rows, &layout);
        let planner = Planner::new(Arc::new(grid), cols, cols * rows, Heuristics::ALL);
        let view = frame(20.5, 15.5, 24.0);
        (planner, residency, view)
    }

    fn frame(x: f64, y: f64, cell_px: f64) -> FrameView {
        FrameView::new(
            &Camera {
                center: DVec2::new(x, y),
                cell_px,
            },
            320,
            240,
            40,
            30,
            6,
        )
    }

    #[test]
    fn wants_every_visible_tile_coarse_first_then_centre_first() {
        let (mut planner, residency, view) = setup();
        // 24 px per cell blends levels 5 (hi) and 4 (lo); the view shows 14×11 cells.
        assert_eq!((view.levels.hi, view.levels.lo), (5, 4));
        let plan = plan_frame(&mut planner, &residency, &view, true);
        let visible = view.visible_cells();
        assert_eq!(plan.wants.len() as u64, 2 * visible.cells());
        let (lo, hi) = plan.wants.split_at(plan.wants.len() / 2);
        assert!(lo.iter().all(|w| w.key.level == 4) && hi.iter().all(|w| w.key.level == 5));
        // The first want is the tile under the screen centre (cell 20, 15).
        assert_eq!(plan.wants[0].key, PageKey::new(15 * 40 + 20, 4));
        assert!(lo.windows(2).all(|w| w[0].priority.1 <= w[1].priority.1));
        // No previous view: nothing to extrapolate.
        assert!(plan.prefetch.is_empty());
    }

    #[test]
    fn zooming_in_on_a_paged_level_prefetches_the_next_finer_level() {
        let (mut planner, residency, _) = setup();
        plan_frame(&mut planner, &residency, &frame(20.5, 15.5, 20.0), true);
        // Zooming in: levels 5 and 4 drawn (neither complete), so level 6 around the centre
        // is prefetched, even though those tiles were already found visible this frame.
        let view = frame(20.5, 15.5, 22.0);
        let plan = plan_frame(&mut planner, &residency, &view, true);
        assert!(!plan.wants.is_empty(), "the drawn levels are incomplete");
        let next: Vec<_> = plan.prefetch.iter().filter(|k| k.level == 6).collect();
        assert!(!next.is_empty(), "no level-6 prefetch: {:?}", plan.prefetch);
        assert_eq!(next[0].record, 15 * 40 + 20, "the centre first");
        // Only the central half of the view, where a 2× zoom will look.
        let visible = view.visible_cells();
        assert!(next.len() as u64 <= visible.cells() / 2);
        // Without a loader (synchronous mode) there is nothing to prefetch with.
        let plan = plan_frame(&mut planner, &residency, &frame(20.5, 15.5, 23.0), false);
        assert!(plan.prefetch.is_empty());
        // Zooming out prefetches nothing finer.
        let plan = plan_frame(&mut planner, &residency, &frame(20.5, 15.5, 21.0), true);
        assert!(plan.prefetch.iter().all(|k| k.level != 6));
    }

    #[test]
    fn panning_prefetches_a_ring_ahead_of_the_motion() {
        let (mut planner, residency, _) = setup();
        plan_frame(&mut planner, &residency, &frame(10.0, 15.0, 32.0), true);
        let view = frame(10.5, 15.0, 32.0);
        let plan = plan_frame(&mut planner, &residency, &view, true);
        let visible = view.visible_cells();
        let cols_of = |keys: &[PageKey]| keys.iter().map(|k| k.record % 40).collect::<Vec<_>>();
        let ahead = cols_of(&plan.prefetch);
        assert!(!ahead.is_empty());
        assert!(ahead.iter().any(|&c| c >= visible.x1), "ring extends right");
        assert!(
            ahead.iter().all(|&c| c >= visible.x0),
            "nothing behind the motion"
        );
        assert!(plan.prefetch.iter().all(|k| k.level == 5));
    }

    #[test]
    fn the_tiles_on_screen_follow_the_grid_when_the_view_stays() {
        let (mut planner, residency, view) = setup();
        let first = plan_frame(&mut planner, &residency, &view, true);
        assert_eq!(first.visible.len() as u64, view.visible_cells().cells());
        // The same view again: the same tiles (found once, kept).
        assert_eq!(plan_frame(&mut planner, &residency, &view, true), first);
        // A new grid (a video target's next frame) under the same view: found anew.
        planner.set_grid(Arc::new(vec![7; 1200]));
        let plan = plan_frame(&mut planner, &residency, &view, true);
        assert_eq!(plan.visible, [7]);
    }

    #[test]
    fn complete_levels_and_the_overview_want_nothing() {
        let (mut planner, residency, _) = setup();
        // 6 px per cell draws levels 3 and 2, both pinned and (once loaded) complete; here
        // the residency is fresh, so they are incomplete and wanted.
        let plan = plan_frame(&mut planner, &residency, &frame(20.5, 15.5, 6.0), true);
        assert!(plan
            .wants
            .iter()
            .all(|w| w.key.level == 3 || w.key.level == 2));
        // Below one pixel per cell the overview is drawn: no pages at all.
        let plan = plan_frame(&mut planner, &residency, &frame(20.5, 15.5, 0.5), true);
        assert_eq!(plan, FramePlan::default());
        // Level 1 complete: a view at exactly 2 px per cell wants nothing.
        let mut residency = residency;
        for t in 0..1200 {
            residency.insert(PageKey::new(t, 1), 1).unwrap();
        }
        let view = frame(20.5, 15.5, 2.0);
        let plan = plan_frame(&mut planner, &residency, &view, true);
        assert!(plan.wants.is_empty());
        // Nor does it look for the tiles on screen: stills never change frame.
        assert!(plan.visible.is_empty());
        // Nor for clips still since the start (on their key frames, where they began).
        let clips = clock(2);
        let residency = Residency::new(clips.clips().clone(), 2400, residency.layout());
        let view = frame(20.5, 15.5, 1.0);
        let still = Playback {
            still: true,
            ..Default::default()
        };
        let plan = planner.plan(&view, &residency, &clips, &still, true);
        assert!(plan.wants.is_empty() && plan.visible.is_empty());
        // Once they have played, they do, even still, with nothing to want (level 0, always
        // resident): their tiles are moved to the frame the clock says.
        for still in [false, true] {
            let at = Playback {
                still,
                ..Default::default()
            };
            let plan = planner.plan(&view, &residency, &clips, &at, true);
            assert!(plan.wants.is_empty());
            assert_eq!(plan.visible.len() as u64, view.visible_cells().cells());
        }
        // Each tile once, ascending, however often and in whatever order it repeats (and
        // again next scan).
        planner.set_grid(Arc::new((0..1200).map(|i| (i * 7) % 37).collect()));
        for _ in 0..2 {
            let plan = planner.plan(&view, &residency, &clips, &Playback::default(), true);
            assert_eq!(plan.visible, (0..37).collect::<Vec<u32>>());
            planner.reset_motion();
            planner.set_grid(Arc::new((0..1200).map(|i| (i * 7) % 37).collect()));
        }
    }

    #[test]
    fn block_sets_find_the_tiles_a_scan_of_every_cell_finds() {
        // 400 × 300 cells over the 1,200 tiles, scattered, so that a 320 × 240 view at
        // 1 px per cell (level 0 only: complete, so no wants and no distances) shows part.
        let (cols, rows) = (400u32, 300u32);
        let grid: Vec<u32> = (0..cols * rows).map(|i| (i * 7919) % 1200).collect();
        let (_, residency, _) = setup();
        let mut planner = Planner::new(Arc::new(grid.clone()), cols, 1200, Heuristics::ALL);
        let clips = clock(2);
        let residency = Residency::new(clips.clips().clone(), 2400, residency.layout());
        for i in 0..3 * PLANS_BEFORE_BLOCKS {
            // A new view each plan (no plan reuses the last one's tiles).
            let view = FrameView::new(
                &Camera {
                    center: DVec2::new(60.0 + 17.0 * i as f64, 100.0 + 5.0 * i as f64),
                    cell_px: 1.0,
                },
                320,
                240,
                cols,
                rows,
                6,
            );
            let plan = planner.plan(&view, &residency, &clips, &Playback::default(), true);
            let r = view.visible_cells();
            let mut want: Vec<u32> = (r.y0..r.y1)
                .flat_map(|y| {
                    let row = &grid[(y * cols) as usize..][..cols as usize];
                    row[r.x0 as usize..r.x1 as usize].iter().copied()
                })
                .collect();
            want.sort_unstable();
            want.dedup();
            assert!(want.len() < 1200, "the view shows part of the library");
            assert_eq!(plan.visible, want, "plan {i}");
        }
        assert!(matches!(planner.blocks, GridBlocks::Made(Some(_))));
        // A new grid (a video target's next frame) waits again before its sets are made.
        planner.set_grid(Arc::new(grid));
        assert!(matches!(planner.blocks, GridBlocks::Waiting(0)));
    }

    #[test]
    fn without_ordering_requests_go_in_tile_order() {
        let (_, residency, view) = setup();
        let grid: Vec<u32> = (0..1200).collect();
        let mut planner = Planner::new(
            Arc::new(grid),
            40,
            1200,
            Heuristics {
                ordered: false,
                ..Heuristics::ALL
            },
        );
        let plan = plan_frame(&mut planner, &residency, &view, true);
        assert!(plan
            .wants
            .windows(2)
            .all(|w| (w[0].key.record, w[0].key.level) < (w[1].key.record, w[1].key.level)));
    }

    #[test]
    fn playing_clips_want_their_current_frame_now_and_the_next_one_ahead() {
        let (mut planner, _, view) = setup();
        let frames = 4;
        let clock = clock(frames);
        let layout = setup().1.layout().clone();
        let residency = Residency::new(clock.clips().clone(), 1200 * frames, &layout);
        let at = Playback {
            time: 2.0 / 12.0,
            still: false,
            phase: crate::playback::Phase::Zero,
        };
        let plan = planner.plan(&view, &residency, &clock, &at, true);
        // Frame 2 of every visible clip now, frame 3 ahead; the centre tile first in both.
        let centre = 15 * 40 + 20;
        assert_eq!(plan.wants[0].key.record, centre * frames + 2);
        assert!(plan.wants.iter().all(|w| w.key.record % frames == 2));
        assert_eq!(plan.ahead[0].record, centre * frames + 3);
        assert_eq!(plan.ahead.len(), plan.wants.len());
        assert_eq!(plan.visible.len() as u64, view.visible_cells().cells());
        // Still playback: key frames, nothing ahead.
        let still = Playback { still: true, ..at };
        let plan = planner.plan(&view, &residency, &clock, &still, true);
        assert!(plan.wants.iter().all(|w| w.key.record % frames == 0));
        assert!(plan.ahead.is_empty());
    }
}
