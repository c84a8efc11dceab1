//! The streaming manager: each frame, the planner says which tiles are on screen and which
//! pages they want; the manager moves each visible tile to its frame for the playback
//! clock, uploads what is ready (within the upload budget: the frames wanted now, then the
//! frames playing clips need next), requests the rest from the loaders, and keeps the page
//! table in step. The render thread only moves bytes it already holds; every read is done
//! by loader threads (or, in synchronous mode, inline and deterministic).

use super::cache::PageCache;
use super::loader::{Fetch, LoaderPool};
use super::planner::{Planner, Want};
use super::{cached_page, FrameStats, Heuristics, PageSource, StreamConfig};
use crate::atlas::{upload_cost, AtlasBackend, AtlasLayout, PAGE_TABLE_ROW_BYTES};
use crate::library::store::unpack_page;
use crate::library::{page_bytes, StoreError};
use crate::playback::{Clock, Playback};
use crate::residency::{PageKey, Residency};
use crate::view::FrameView;
use std::sync::Arc;
use std::time::Instant;

/// Loaded pages taken from the loader channel at a time, between looks at the clock (see
/// `StreamConfig::accept_time`).
const ACCEPT_BATCH: usize = 256;

/// What an update depends on besides the manager's own state: the view and the moment (a
/// tile's frame is a function of the tick). An update that did nothing (no upload, no read,
/// no eviction, loaders idle; at most page-table rows written) would do nothing again for
/// the same inputs until a loader delivers, so it is not repeated: frames between two ticks
/// of playing clips, or of a view at rest, skip the plan, whose cost grows with the tiles
/// on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Quiet {
    view: FrameView,
    tick: Option<i64>,
    phase: crate::playback::Phase,
}

/// Keeps the pages a view needs resident within the budgets: plans each frame, asks the
/// loaders, uploads what arrived, evicts the least recently drawn.
pub struct StreamingManager {
    source: Arc<dyn PageSource>,
    planner: Planner,
    clock: Clock,
    playback: Playback,
    residency: Residency,
    cache: PageCache,
    /// Where requests are read: loader threads; `None` in synchronous mode (read inline).
    loader: Option<Box<dyn Fetch>>,
    config: StreamConfig,
    frame: u64,
    failed: std::collections::HashSet<PageKey>,
    errors_logged: usize,
    uploaded_total: u64,
    /// The last update that found nothing to do, and what it saw (see `Quiet`).
    quiet: Option<(Quiet, FrameStats)>,
    /// Updates that planned (the rest were quiet).
    plans: u64,
    /// The last update's view and playback moment, and the time between the last two
    /// moments: whether the view moves, and how many frames are left before the next tick
    /// (see `ahead_share`).
    last_moment: Option<(FrameView, f64)>,
    frame_seconds: Option<f64>,
    /// Per level, the texels of a page its tile fills (`PageSource::extent`): what the RAM
    /// cache keeps of a page of another aspect than 1:1.
    extents: Vec<[u32; 2]>,
    /// A page made whole again from its extent, for upload.
    unpacked: Vec<u8>,
}

impl StreamingManager {
    /// A manager for `library`'s `grid` (`cols` wide) in an atlas laid out as `layout`,
    /// with its loader threads.
    pub fn new(
        source: Arc<dyn PageSource>,
        grid: Arc<Vec<u32>>,
        cols: u32,
        clock: Clock,
        layout: &AtlasLayout,
        config: StreamConfig,
    ) -> StreamingManager {
        let largest_page = page_bytes(layout.levels.len().saturating_sub(1)) as u64;
        // Loaded pages may queue up to two frames of uploads: enough to keep the budget busy.
        let channel_bytes = (2 * config.upload_budget)
            .min(config.ram_budget / 4)
            .max(largest_page);
        // --ram-budget covers every page held on the CPU: what waits in the channel or is
        // being read comes off the cache's share (which keeps at least half, so tiny budgets
        // still stream).
        // A loader holds one read (up to READ_AHEAD_BYTES of a clip's frames, or one large
        // page) twice over while it splits it into pages.
        let per_loader = 2 * largest_page.max(super::loader::READ_AHEAD_BYTES as u64);
        let in_transit = if config.synchronous {
            0
        } else {
            channel_bytes + config.loader_threads.max(1) as u64 * per_loader
        };
        let cache_budget = config
            .ram_budget
            .saturating_sub(in_transit)
            .max(config.ram_budget / 2);
        let loader = (!config.synchronous).then(|| {
            Box::new(LoaderPool::new(
                source.clone(),
                config.loader_threads,
                channel_bytes as usize,
            )) as Box<dyn Fetch>
        });
        StreamingManager::assemble(
            source,
            grid,
            cols,
            clock,
            layout,
            config,
            cache_budget,
            loader,
        )
    }

    /// The manager over `fetch` instead of loader threads (the unit tests serve requests by
    /// hand), its RAM cache the whole `--ram-budget`.
    #[cfg(test)]
    fn with_fetch(
        source: Arc<dyn PageSource>,
        grid: Arc<Vec<u32>>,
        cols: u32,
        clock: Clock,
        layout: &AtlasLayout,
        config: StreamConfig,
        fetch: Box<dyn Fetch>,
    ) -> StreamingManager {
        let cache_budget = config.ram_budget;
        StreamingManager::assemble(
            source,
            grid,
            cols,
            clock,
            layout,
            config,
            cache_budget,
            Some(fetch),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        source: Arc<dyn PageSource>,
        grid: Arc<Vec<u32>>,
        cols: u32,
        clock: Clock,
        layout: &AtlasLayout,
        config: StreamConfig,
        cache_budget: u64,
        loader: Option<Box<dyn Fetch>>,
    ) -> StreamingManager {
        let tiles = clock.clips().len() as u32;
        let extents = (0..layout.levels.len()).map(|l| source.extent(l)).collect();
        StreamingManager {
            residency: Residency::new(clock.clips().clone(), source.record_count(), layout),
            cache: PageCache::new(
                layout.levels.len(),
                cache_budget,
                config.heuristics.level_weighted_cache,
            ),
            source,
            planner: Planner::new(grid, cols, tiles, config.heuristics),
            clock,
            playback: Playback::default(),
            loader,
            config,
            frame: 0,
            failed: Default::default(),
            errors_logged: 0,
            uploaded_total: 0,
            quiet: None,
            plans: 0,
            last_moment: None,
            frame_seconds: None,
            extents,
            unpacked: Vec::new(),
        }
    }

    /// Which pages are resident, and where.
    pub fn residency(&self) -> &Residency {
        &self.residency
    }
    /// The budgets it runs under.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }
    /// The moment clips are drawn at.
    pub fn playback(&self) -> &Playback {
        &self.playback
    }
    /// The match grid the next frames are planned over (a video target's next frame).
    pub fn set_grid(&mut self, grid: Arc<Vec<u32>>) {
        self.planner.set_grid(grid);
        self.quiet = None;
    }

    /// The moment and mode the next frames are drawn at.
    pub fn set_playback(&mut self, playback: Playback) {
        self.playback = playback;
    }

    /// Writes level 0 of every record, every pinned level, and the whole page table to a
    /// fresh backend. Call once per backend. Fails only when level 0 cannot be read: it is
    /// every other page's fallback.
    pub fn init_backend(&mut self, backend: &mut dyn AtlasBackend) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        self.load_level(backend, 0)?;
        let mut loaded = 0u64;
        for level in 1..self.residency.levels() {
            if self.residency.is_pinned(level) {
                // A pinned page that fails is drawn from the finest coarser page resident,
                // and logged once.
                if let Err(e) = self.load_level(backend, level) {
                    self.log_failure(&e);
                }
                loaded += self.residency.resident_count(level) as u64 * page_bytes(level) as u64;
            }
        }
        tracing::info!(
            "level 0 and pinned levels loaded: {:.1} MiB in {:.2} s",
            loaded as f64 / (1 << 20) as f64,
            started.elapsed().as_secs_f64()
        );
        self.residency.mark_all_dirty();
        let rows = self.residency.take_dirty_rows();
        backend.write_page_table(self.residency.page_table(), &rows);
        backend.flush();
        Ok(())
    }

    /// Reads every record's page of `level` and uploads it, once: level 0 (every page's
    /// fallback) and the pinned levels (the fast pool). With those complete, a zoomed-out
    /// frame wants nothing and scans no cells; lazily filled, they never complete (a mosaic
    /// rarely uses every tile) and every zoomed-out frame would walk its two million cells.
    /// Reads run in parallel, in chunks of about 4 MiB so the transient buffer stays small.
    fn load_level(
        &mut self,
        backend: &mut dyn AtlasBackend,
        level: usize,
    ) -> Result<(), StoreError> {
        use rayon::prelude::*;
        const CHUNK_BYTES: usize = 4 << 20;
        const RUN: usize = 256;
        let records = self.source.record_count() as usize;
        let bytes = page_bytes(level);
        let per_chunk = (CHUNK_BYTES / bytes).max(1).min(records.max(1));
        let mut chunk = vec![0u8; per_chunk * bytes];
        let mut first_error = None;
        for first in (0..records).step_by(per_chunk) {
            let count = per_chunk.min(records - first);
            let source = &self.source;
            let results: Vec<(usize, usize, Result<(), StoreError>)> = chunk[..count * bytes]
                .par_chunks_mut(RUN * bytes)
                .enumerate()
                .map(|(i, run)| {
                    let at = first + i * RUN;
                    let n = run.len() / bytes;
                    (at, n, source.read_records(at as u32, n as u32, level, run))
                })
                .collect();
            for (at, n, result) in results {
                if let Err(e) = result {
                    first_error.get_or_insert(e);
                    if level == 0 {
                        break;
                    }
                    continue;
                }
                // Level 0 and pinned levels give record r slot r: the run is one run of
                // slots, written as a few rectangles rather than page by page.
                if level > 0 {
                    for r in at..at + n {
                        let inserted = self.residency.insert(PageKey::new(r as u32, level), 0);
                        debug_assert!(inserted.is_ok_and(
                            |i| i.origin == self.residency.layout().origin(level, r as u32)
                        ));
                    }
                }
                let pages = &chunk[(at - first) * bytes..][..n * bytes];
                backend.write_run(self.residency.layout(), level, at as u32, pages);
            }
            if level == 0 && first_error.is_some() {
                break;
            }
            backend.flush();
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Prepares residency for drawing `view`: takes in what the loaders finished, plans the
    /// frame, applies the plan (uploads within the budget, evictions, requests) and mirrors
    /// the page table. Returns the frame's statistics; `missing == 0` means the frame draws
    /// every page it wants.
    pub fn update(&mut self, view: &FrameView, backend: &mut dyn AtlasBackend) -> FrameStats {
        self.frame += 1;
        let moving = self.note_moment(view);
        let evictions_before = self.residency.evictions();
        let arrived = self.take_in_loaded();
        let quiet = Quiet {
            view: *view,
            tick: self.clock.tick(&self.playback),
            phase: self.playback.phase,
        };
        if let Some((_, seen)) = self.quiet.filter(|(q, _)| !arrived && *q == quiet) {
            return FrameStats {
                frame: self.frame,
                ..seen
            };
        }

        self.plans += 1;
        let plan = self.planner.plan(
            view,
            &self.residency,
            &self.clock,
            &self.playback,
            self.loader.is_some(),
        );
        let mut stats = FrameStats {
            frame: self.frame,
            wanted: plan.wants.len(),
            ..Default::default()
        };
        self.show_current_frames(&plan.visible);
        self.hold_drawn_pages(&plan.wants);
        let mut requests = self.upload_or_request(&plan.wants, backend, &mut stats);
        self.take_ahead(&plan.ahead, moving, backend, &mut stats, &mut requests);
        requests.extend(plan.prefetch.into_iter().filter(|k| {
            !self.residency.is_resident(*k) && !self.cache.contains(k) && !self.failed.contains(k)
        }));
        self.count_playing(view, &plan.visible, &mut stats);
        let requests_made = requests.len();
        if let Some(loader) = &self.loader {
            loader.submit(&requests, self.config.heuristics.cancel);
            stats.queue_depth = loader.queue_depth();
            stats.in_flight = loader.in_flight();
            stats.cancelled = loader.cancelled();
        }
        self.report(backend, quiet, requests_made, evictions_before, stats)
    }

    /// Records this update's view and moment; says whether the view moved since the last.
    fn note_moment(&mut self, view: &FrameView) -> bool {
        let time = self.playback.time;
        let last = self.last_moment.replace((*view, time));
        self.frame_seconds = last
            .map(|(_, last_time)| time - last_time)
            .filter(|&dt| dt > 0.0)
            .or(self.frame_seconds);
        last.is_some_and(|(last_view, _)| last_view != *view)
    }

    /// Takes in what the loaders finished, a batch at a time, while the frame's
    /// `accept_time` lasts; the rest waits for the next frame. Says whether anything came.
    fn take_in_loaded(&mut self) -> bool {
        let mut arrived = false;
        let started = Instant::now();
        // The loader is borrowed a batch at a time: taking a page in needs `self` mutably.
        while let Some(loader) = &self.loader {
            let batch = loader.drain(ACCEPT_BATCH);
            if batch.is_empty() {
                break;
            }
            arrived = true;
            for (key, result) in batch {
                self.accept(key, result);
            }
            if started.elapsed() >= self.config.accept_time {
                break;
            }
        }
        arrived
    }

    /// Every tile on screen shows its frame for the clock.
    fn show_current_frames(&mut self, visible: &[u32]) {
        for &tile in visible {
            let record = self.clock.record(tile, &self.playback);
            self.residency.set_current(tile, record);
        }
    }

    /// What this frame draws (the wanted pages, or their fallbacks) is in use: not evictable.
    fn hold_drawn_pages(&mut self, wants: &[Want]) {
        for w in wants {
            let level = w.key.level as usize;
            let drawn = self.residency.resolve(w.tile, level);
            let record = self.residency.drawn_record(w.tile, level);
            self.residency
                .touch(PageKey::new(record, drawn), self.frame);
        }
    }

    /// The frames playing clips need next, after everything wanted now: uploaded if read
    /// and the budget allows, else read; while the view moves, a share at a time (see
    /// `ahead_share`).
    fn take_ahead(
        &mut self,
        ahead: &[PageKey],
        moving: bool,
        backend: &mut dyn AtlasBackend,
        stats: &mut FrameStats,
        requests: &mut Vec<PageKey>,
    ) {
        let mut pending = Vec::new();
        for &key in ahead {
            if !self.residency.touch(key, self.frame) && !self.failed.contains(&key) {
                pending.push(key);
            }
        }
        let share = if moving && !self.config.synchronous {
            self.ahead_share(pending.len())
        } else {
            pending.len()
        };
        for key in pending.into_iter().take(share) {
            if !self.cache.contains(&key) {
                requests.push(key);
            } else if self.residency.has_room(key.level as usize, self.frame)
                && !self.try_upload(key, backend, stats)
            {
                stats.deferred_pages += 1;
            }
        }
    }

    /// Counts the playing clips on screen, and those drawing a frame the clock has passed.
    fn count_playing(&self, view: &FrameView, visible: &[u32], stats: &mut FrameStats) {
        if view.uses_overview() {
            return;
        }
        let hi = view.levels.hi;
        for &tile in visible {
            if self.clock.plays(tile, &self.playback) {
                stats.tile_frames_shown += 1;
                stats.late_tile_frames += self.residency.is_late(tile, hi) as usize;
            }
        }
    }

    /// Mirrors the page table's changed rows, fills in the frame's totals, and remembers a
    /// frame that did nothing (see `Quiet`).
    fn report(
        &mut self,
        backend: &mut dyn AtlasBackend,
        quiet: Quiet,
        requests_made: usize,
        evictions_before: u64,
        mut stats: FrameStats,
    ) -> FrameStats {
        let rows = self.residency.take_dirty_rows();
        if !rows.is_empty() {
            backend.write_page_table(self.residency.page_table(), &rows);
        }
        stats.table_rows = rows.len();
        self.uploaded_total += stats.uploaded_bytes;
        stats.evictions = self.residency.evictions() - evictions_before;
        stats.cache_bytes = self.cache.bytes();
        stats.atlas_resident_bytes = self.residency.resident_bytes();
        stats.failed_pages = self.failed.len();
        // Page-table rows do not count: they follow from the plan (tiles moved to the
        // tick's frames, pages accepted), and planning the same inputs again moves nothing,
        // so a tick that only moves tiles whose frames are resident is at rest at once.
        let idle = stats.uploaded_pages == 0
            && stats.evictions == 0
            && requests_made == 0
            && stats.queue_depth + stats.in_flight == 0;
        self.quiet = idle.then_some((
            quiet,
            FrameStats {
                table_rows: 0,
                ..stats
            },
        ));
        stats
    }

    /// Uploads the wanted pages the RAM cache holds, in order, while the upload budget
    /// lasts; returns the pages that must still be read. A page costs its staged bytes plus
    /// every page-table row it changes that no earlier upload this frame changed (its own
    /// tile's, and an evicted tile's). In synchronous mode pages are read inline and the
    /// budget is unlimited.
    fn upload_or_request(
        &mut self,
        wants: &[Want],
        backend: &mut dyn AtlasBackend,
        stats: &mut FrameStats,
    ) -> Vec<PageKey> {
        let mut requests = Vec::new();
        for w in wants {
            let key = w.key;
            if self.residency.is_resident(key) {
                continue;
            }
            if self.failed.contains(&key) {
                stats.missing += 1;
                continue;
            }
            if self.config.synchronous && !self.cache.contains(&key) {
                let level = key.level as usize;
                let mut page = vec![0u8; page_bytes(level)];
                let result = self
                    .source
                    .read_records(key.record, 1, level, &mut page)
                    .map(|()| cached_page(&page, level, self.extents[level]));
                self.accept(key, result);
            }
            let room = self.residency.has_room(key.level as usize, self.frame);
            if self.cache.contains(&key) && room {
                if self.try_upload(key, backend, stats) {
                    continue;
                }
                stats.deferred_pages += 1;
            }
            stats.missing += 1;
            // With no slot free of this frame's pages (a view larger than the budget), a
            // read could only be evicted unused: ask again when the view changes.
            if room && !self.cache.contains(&key) && !self.failed.contains(&key) {
                requests.push(key);
            }
        }
        stats.resident = stats.wanted - stats.missing;
        requests
    }

    /// Streams until `view` is complete (or nothing more can be done): for headless renders
    /// that must be sharp. Returns the last frame's statistics.
    pub fn settle(
        &mut self,
        view: &FrameView,
        backend: &mut dyn AtlasBackend,
        timeout: std::time::Duration,
    ) -> FrameStats {
        let start = std::time::Instant::now();
        loop {
            let stats = self.update(view, backend);
            let stuck = stats.queue_depth == 0 && stats.in_flight == 0 && stats.uploaded_pages == 0;
            if stats.missing == 0 || stuck || start.elapsed() > timeout {
                return stats;
            }
            if let Some(loader) = &self.loader {
                let done = loader.wait(std::time::Duration::from_millis(20));
                for (key, result) in done {
                    self.accept(key, result);
                }
            }
        }
    }

    /// How many of the `pending` pages playing clips need at the next tick (to read or to
    /// upload) a frame of a moving view takes on: an even share of the frames left before
    /// the tick (less two, see below). A tick's next frames (every visible clip's page at
    /// each paged level drawn: 3,664 pages at 9.3 px per cell on 1080p) then load over the
    /// frames between ticks, not all in the two after it (4–7 ms of update each on 2
    /// cores). A view at rest takes them all at once: a viewer draws it only when
    /// something changes, so there may be no frames in between.
    fn ahead_share(&self, pending: usize) -> usize {
        let (Some(frame), Some(to_tick)) = (
            self.frame_seconds,
            self.clock.seconds_to_next_tick(&self.playback),
        ) else {
            return pending;
        };
        // This frame and those after it before the tick, less two: the last share's reads
        // arrive a frame later, and are uploaded then.
        let frames_before_tick = 1 + (to_tick / frame) as usize;
        pending.div_ceil(frames_before_tick.saturating_sub(2).max(1))
    }

    /// Uploads `key` (read, with a slot free) if the frame's upload budget allows: the one
    /// budget rule, for pages wanted now and pages wanted next. The first upload of a frame
    /// always goes, so a page larger than the budget still does.
    fn try_upload(
        &mut self,
        key: PageKey,
        backend: &mut dyn AtlasBackend,
        stats: &mut FrameStats,
    ) -> bool {
        let cost = self.upload_cost(key);
        if stats.uploaded_bytes > 0 && stats.uploaded_bytes + cost > self.budget() {
            return false;
        }
        self.upload(key, backend);
        stats.uploaded_bytes += cost;
        stats.uploaded_pages += 1;
        true
    }

    /// Bytes that may be uploaded this frame.
    fn budget(&self) -> u64 {
        if self.config.synchronous {
            u64::MAX
        } else {
            self.config.upload_budget
        }
    }

    /// What uploading `key` now costs against the budget: its staged bytes, and every
    /// page-table row it changes that no earlier upload this frame changed.
    fn upload_cost(&self, key: PageKey) -> u64 {
        let rows = self.residency.new_rows_for_insert(key, self.frame) as u64;
        upload_cost(key.level as usize) + rows * PAGE_TABLE_ROW_BYTES
    }

    /// Takes in a loaded page (as `cached_page` keeps it), or its failure.
    fn accept(&mut self, key: PageKey, result: Result<Vec<u8>, StoreError>) {
        match result {
            Ok(texels) => self.cache.insert(key, texels, self.frame),
            Err(e) => {
                self.log_failure(&e);
                self.failed.insert(key);
            }
        }
    }

    /// Logs the first page that fails to load; counts the rest.
    fn log_failure(&mut self, e: &StoreError) {
        if self.errors_logged == 0 {
            tracing::error!("cannot load tile pages: {e}; drawing coarser levels instead (further failures are counted, not logged)");
            self.errors_logged += 1;
        } else {
            tracing::debug!("page load failed: {e}");
        }
    }

    fn upload(&mut self, key: PageKey, backend: &mut dyn AtlasBackend) {
        let level = key.level as usize;
        let Ok(inserted) = self.residency.insert(key, self.frame) else {
            return;
        };
        let texels = self.cache.get(&key, self.frame).expect("checked by caller");
        let extent = self.extents[level];
        let page = if extent == [1 << level; 2] {
            texels
        } else {
            self.unpacked.resize(page_bytes(level), 0);
            unpack_page(texels, level, extent, &mut self.unpacked);
            &self.unpacked
        };
        backend.write_page(inserted.origin, 1 << level, page);
        if self.residency.is_pinned(level) {
            // A pinned page never leaves the atlas: no reason to keep a RAM copy.
            self.cache.remove(&key);
        }
    }

    /// Error lines logged for failed loads (one, however many pages fail).
    /// How many updates have planned a frame: the others repeated a quiet one (see `Quiet`).
    pub fn plans_made(&self) -> u64 {
        self.plans
    }

    /// Pages the loaders finished that no frame has taken in yet (see
    /// `StreamConfig::accept_time`).
    pub fn pages_waiting(&self) -> usize {
        self.loader.as_ref().map_or(0, |l| l.waiting())
    }

    /// Load errors logged (each failing page is logged once).
    pub fn errors_logged(&self) -> usize {
        self.errors_logged
    }
    /// Bytes of pages in the RAM cache.
    pub fn cache_bytes(&self) -> u64 {
        self.cache.bytes()
    }
    /// Bytes uploaded since it started.
    pub fn uploaded_total(&self) -> u64 {
        self.uploaded_total
    }
    /// Pages evicted from the atlas since it started.
    pub fn evictions(&self) -> u64 {
        self.residency.evictions() + self.cache.evictions()
    }
    /// The heuristics in use.
    pub fn heuristics(&self) -> Heuristics {
        self.config.heuristics
    }
}

#[cfg(test)]
mod tests {
    //! The manager alone: a page source in memory, requests served by the test (no loader
    //! threads, no sleeps), an atlas backend that only counts.
    use super::*;
    use crate::atlas::{plan_atlases, Entry, PageOrigin, PlanInput};
    use crate::library::store::Clip;
    use crate::streaming::loader::LoadResult;
    use crate::view::{Camera, FrameView};
    use std::collections::{HashSet, VecDeque};
    use std::sync::Mutex;

    /// Largest page: 16 px (levels 0–4).
    const LEVELS: usize = 5;
    /// The grid: 8×8 cells, tile `i` at cell `i`.
    const SIDE: u32 = 8;

    /// Every record's page filled with its number; the records in `failing` fail past
    /// level 0 (level 0 is every page's fallback and must read). With `wide`, tiles of 2:1
    /// instead: a page's upper half is texels `[record, x, y, 255]`, the rest repeats its
    /// last row.
    struct Pages {
        records: u32,
        failing: HashSet<u32>,
        wide: bool,
    }

    impl Pages {
        /// The page of `record` at `level` when `wide`.
        fn wide_page(record: u32, level: usize) -> Vec<u8> {
            let side = 1u32 << level;
            let rows = (side / 2).max(1);
            (0..side * side)
                .flat_map(|i| {
                    [
                        record as u8,
                        (i % side) as u8,
                        (i / side).min(rows - 1) as u8,
                        255,
                    ]
                })
                .collect()
        }
    }

    impl PageSource for Pages {
        fn record_count(&self) -> u32 {
            self.records
        }
        fn read_records(
            &self,
            first: u32,
            count: u32,
            level: usize,
            out: &mut [u8],
        ) -> Result<(), StoreError> {
            for (i, page) in out.chunks_exact_mut(page_bytes(level)).enumerate() {
                let record = first + i as u32;
                if level > 0 && self.failing.contains(&record) {
                    return Err(StoreError::Corrupt {
                        path: "pages".into(),
                        what: format!("record {record} fails"),
                    });
                }
                if self.wide {
                    page.copy_from_slice(&Pages::wide_page(record, level));
                } else {
                    page.fill(record as u8);
                }
            }
            debug_assert_eq!(out.len(), count as usize * page_bytes(level));
            Ok(())
        }
        fn run_from(&self, _record: u32) -> u32 {
            1
        }
        fn extent(&self, level: usize) -> [u32; 2] {
            let side = 1 << level;
            if self.wide {
                [side, (side / 2).max(1)]
            } else {
                [side; 2]
            }
        }
    }

    /// Requests queue up; the test reads them with `serve`, the manager takes them in.
    #[derive(Default)]
    struct Hand {
        queue: VecDeque<PageKey>,
        ready: VecDeque<LoadResult>,
        cancelled: u64,
    }

    #[derive(Clone)]
    struct HandServed(Arc<Mutex<Hand>>, Arc<Pages>);

    impl HandServed {
        /// Reads up to `n` queued requests, best first; returns which.
        fn serve(&self, n: usize) -> Vec<PageKey> {
            let mut hand = self.0.lock().unwrap();
            let mut served = Vec::new();
            for _ in 0..n {
                let Some(key) = hand.queue.pop_front() else {
                    break;
                };
                served.push(key);
                let level = key.level as usize;
                let mut page = vec![0u8; page_bytes(level)];
                let result = self
                    .1
                    .read_records(key.record, 1, level, &mut page)
                    .map(|()| cached_page(&page, level, self.1.extent(level)));
                hand.ready.push_back((key, result));
            }
            served
        }
        fn queued(&self) -> Vec<PageKey> {
            self.0.lock().unwrap().queue.iter().copied().collect()
        }
    }

    impl Fetch for HandServed {
        fn submit(&self, requests: &[PageKey], cancel: bool) {
            let mut hand = self.0.lock().unwrap();
            let old = std::mem::take(&mut hand.queue);
            let mut queued = HashSet::new();
            for &key in requests {
                if queued.insert(key) {
                    hand.queue.push_back(key);
                }
            }
            for key in old {
                if queued.insert(key) {
                    if cancel {
                        hand.cancelled += 1;
                    } else {
                        hand.queue.push_back(key);
                    }
                }
            }
        }
        fn drain(&self, max: usize) -> Vec<LoadResult> {
            let mut hand = self.0.lock().unwrap();
            let n = max.min(hand.ready.len());
            hand.ready.drain(..n).collect()
        }
        fn wait(&self, _timeout: std::time::Duration) -> Vec<LoadResult> {
            self.drain(usize::MAX)
        }
        fn queue_depth(&self) -> usize {
            self.0.lock().unwrap().queue.len()
        }
        fn waiting(&self) -> usize {
            self.0.lock().unwrap().ready.len()
        }
        fn in_flight(&self) -> usize {
            self.waiting()
        }
        fn cancelled(&self) -> u64 {
            self.0.lock().unwrap().cancelled
        }
    }

    /// Counts what the manager writes, and keeps the pages of 2 px and more.
    #[derive(Default)]
    struct Counting {
        pages: usize,
        table_writes: usize,
        written: Vec<(u32, Vec<u8>)>,
    }

    impl AtlasBackend for Counting {
        fn write_page(&mut self, _origin: PageOrigin, size: u32, texels: &[u8]) {
            self.pages += 1;
            if size > 1 {
                self.written.push((size, texels.to_vec()));
            }
        }
        fn write_page_table(&mut self, _table: &[Entry], _rows: &[u32]) {
            self.table_writes += 1;
        }
        fn write_tint(&mut self, _offsets: &[crate::tint::Offset]) {}
    }

    struct Rig {
        manager: StreamingManager,
        fetch: HandServed,
        backend: Counting,
    }

    /// 64 tiles on 8×8 cells, `clips` of them playing 4-frame clips (the rest stills), a
    /// 64×64-px screen, and the budgets of `config`.
    fn new_rig(config: StreamConfig, failing: &[u32], clips: u32) -> Rig {
        new_rig_of(config, failing, clips, false)
    }

    /// `new_rig`, of 2:1 tiles with `wide` (see `Pages`).
    fn new_rig_of(config: StreamConfig, failing: &[u32], clips: u32, wide: bool) -> Rig {
        let mut list = Vec::new();
        let mut first = 0;
        for t in 0..SIDE * SIDE {
            let frames = if t < clips { 4 } else { 1 };
            list.push(Clip {
                first,
                frames,
                key: 0,
            });
            first += frames;
        }
        let pages = Arc::new(Pages {
            records: first,
            failing: failing.iter().copied().collect(),
            wide,
        });
        let layout = plan_atlases(&PlanInput {
            records: first,
            clips: clips > 0,
            levels: LEVELS,
            gpu_budget: config.gpu_budget,
            screen: (64, 64),
            grid: (SIDE, SIDE),
            cell_shape: crate::view::SQUARE,
            max_layers: 256,
        })
        .unwrap();
        let fetch = HandServed(Default::default(), pages.clone());
        let grid = Arc::new((0..SIDE * SIDE).collect());
        let clock = Clock::new(Arc::new(list), 12);
        let mut manager = StreamingManager::with_fetch(
            pages,
            grid,
            SIDE,
            clock,
            &layout,
            config,
            Box::new(fetch.clone()),
        );
        let mut backend = Counting::default();
        manager.init_backend(&mut backend).unwrap();
        Rig {
            manager,
            fetch,
            backend,
        }
    }

    /// An atlas budget that pins the coarse levels and pages the two finest.
    fn config() -> StreamConfig {
        StreamConfig {
            gpu_budget: 60 << 10,
            ram_budget: 1 << 20,
            ..Default::default()
        }
    }

    /// The view centred on `(x, y)` cells at `cell_px`, on the 64×64 screen.
    fn view(x: f64, y: f64, cell_px: f64) -> FrameView {
        let camera = Camera {
            center: glam::DVec2::new(x, y),
            cell_px,
        };
        FrameView::new(&camera, 64, 64, SIDE, SIDE, LEVELS - 1)
    }

    impl Rig {
        fn update(&mut self, view: &FrameView) -> FrameStats {
            self.manager.update(view, &mut self.backend)
        }

        /// Every tile the view wants draws a resident page: its own or a coarser one.
        fn assert_no_hole(&self, view: &FrameView) {
            let residency = self.manager.residency();
            let level = view.levels.hi;
            for tile in 0..SIDE * SIDE {
                let drawn = residency.resolve(tile, level);
                let record = residency.drawn_record(tile, level);
                assert!(drawn <= level);
                assert!(
                    residency.is_resident(PageKey::new(record, drawn)),
                    "tile {tile} draws a page that is not resident"
                );
            }
        }
    }

    #[test]
    fn nothing_read_yet_draws_coarser_never_a_hole() {
        let mut rig = new_rig(config(), &[], 0);
        let close = view(4.0, 4.0, 16.0);
        let stats = rig.update(&close);
        assert!(
            stats.wanted > 0 && stats.missing == stats.wanted,
            "{stats:?}"
        );
        assert_eq!(
            stats.queue_depth, stats.wanted,
            "every missing page requested"
        );
        rig.assert_no_hole(&close);
        // Read, taken in and uploaded: the view is sharp.
        rig.fetch.serve(usize::MAX);
        let stats = rig.update(&close);
        assert_eq!(stats.missing, 0, "{stats:?}");
        rig.assert_no_hole(&close);
    }

    /// Tiles of 2:1: the RAM cache keeps each page's upper half (its tile's extent), and
    /// every page it uploads is whole again, its last row repeated below.
    #[test]
    fn the_ram_cache_keeps_a_wide_tile_extent_and_uploads_it_whole() {
        let mut rig = new_rig_of(config(), &[], 0, true);
        let close = view(4.0, 4.0, 16.0);
        rig.update(&close);
        rig.backend.written.clear();
        let served = rig.fetch.serve(usize::MAX);
        assert_eq!(rig.update(&close).missing, 0);
        let residency = rig.manager.residency();
        let kept: u64 = (served.iter())
            .filter(|k| !residency.is_pinned(k.level as usize))
            .map(|k| {
                let side = 1usize << k.level;
                super::super::cache::cost(side * (side / 2).max(1) * 4)
            })
            .sum();
        assert!(kept > 0);
        assert_eq!(rig.manager.cache_bytes(), kept);
        assert!(!rig.backend.written.is_empty());
        for (size, page) in &rig.backend.written {
            let level = size.trailing_zeros() as usize;
            assert!(
                *page == Pages::wide_page(page[0] as u32, level),
                "a {size} px page"
            );
        }
    }

    #[test]
    fn uploads_hold_the_budget_and_the_first_always_goes() {
        let page = upload_cost(4);
        // Less than one 16-px page and its page-table row: one page a frame.
        let mut rig = new_rig(
            StreamConfig {
                upload_budget: page,
                ..config()
            },
            &[],
            0,
        );
        let close = view(4.0, 4.0, 16.0);
        let wanted = rig.update(&close).wanted;
        rig.fetch.serve(usize::MAX);
        let mut frames = 0;
        loop {
            let stats = rig.update(&close);
            assert!(stats.uploaded_pages <= 1, "over the budget: {stats:?}");
            if stats.missing == 0 {
                break;
            }
            assert_eq!(
                stats.uploaded_pages, 1,
                "a page larger than the budget still goes"
            );
            assert!(stats.deferred_pages > 0);
            rig.assert_no_hole(&close);
            frames += 1;
            assert!(frames <= wanted, "streaming does not converge");
        }
        // A budget of several pages uploads several a frame, never more than it allows.
        let mut wide = new_rig(
            StreamConfig {
                upload_budget: 40 * page,
                ..config()
            },
            &[],
            0,
        );
        wide.update(&close);
        wide.fetch.serve(usize::MAX);
        let stats = wide.update(&close);
        assert!(
            stats.uploaded_pages > 1 && stats.uploaded_bytes <= 40 * page,
            "{stats:?}"
        );
    }

    #[test]
    fn a_page_that_fails_is_drawn_coarser_logged_once_and_not_asked_again() {
        let mut rig = new_rig(config(), &[18, 27, 36], 0);
        let close = view(4.0, 4.0, 16.0);
        rig.update(&close);
        rig.fetch.serve(usize::MAX);
        let stats = rig.update(&close);
        assert!(stats.failed_pages >= 3 && stats.missing >= 3, "{stats:?}");
        assert_eq!(rig.manager.errors_logged(), 1);
        rig.assert_no_hole(&close);
        rig.update(&close);
        let asked: Vec<u32> = rig.fetch.queued().iter().map(|k| k.record).collect();
        assert!(
            !asked.iter().any(|r| [18, 27, 36].contains(r)),
            "a failed page was requested again: {asked:?}"
        );
    }

    #[test]
    fn requests_that_left_the_screen_are_cancelled_unless_told_not_to() {
        for cancel in [true, false] {
            let mut rig = new_rig(
                StreamConfig {
                    heuristics: Heuristics {
                        cancel,
                        ..Default::default()
                    },
                    ..config()
                },
                &[],
                0,
            );
            // The top-left quarter, then the bottom-right one, nothing read in between.
            let first = view(1.0, 1.0, 32.0);
            rig.update(&first);
            let before: HashSet<PageKey> = rig.fetch.queued().into_iter().collect();
            rig.update(&view(7.0, 7.0, 32.0));
            let kept = rig
                .fetch
                .queued()
                .into_iter()
                .filter(|k| before.contains(k));
            if cancel {
                assert_eq!(kept.count(), 0);
                assert!(rig.fetch.cancelled() > 0);
            } else {
                assert_eq!(kept.count(), before.len());
            }
        }
    }

    #[test]
    fn a_frame_takes_in_one_batch_when_it_has_no_time_for_more() {
        let mut rig = new_rig(
            StreamConfig {
                accept_time: std::time::Duration::ZERO,
                ..config()
            },
            &[],
            0,
        );
        // Every page of the finest level: more than one batch.
        let whole = view(4.0, 4.0, 16.0);
        rig.update(&whole);
        let wanted = rig.fetch.queued();
        rig.fetch.0.lock().unwrap().queue.extend(
            (0..SIDE * SIDE * 8).map(|r| PageKey::new(r % (SIDE * SIDE), 1 + (r as usize % 3))),
        );
        rig.fetch.serve(usize::MAX);
        let ready = rig.manager.pages_waiting();
        assert!(
            ready > ACCEPT_BATCH,
            "{ready} ready, {} wanted",
            wanted.len()
        );
        rig.update(&whole);
        assert_eq!(rig.manager.pages_waiting(), ready - ACCEPT_BATCH);
    }

    #[test]
    fn a_late_clip_frame_holds_the_previous_one_then_catches_up() {
        let mut rig = new_rig(config(), &[], SIDE * SIDE);
        let close = view(4.0, 4.0, 16.0);
        let level = close.levels.hi;
        // Only the frames wanted now are read, not the next ones asked for ahead.
        let wanted = rig.update(&close).wanted;
        rig.fetch.serve(wanted);
        let stats = rig.update(&close);
        assert_eq!(stats.missing, 0, "{stats:?}");
        let tile = 27;
        let shown = rig.manager.residency().drawn_record(tile, level);
        // The next tick: the tile's next frame is wanted and not read yet.
        rig.manager.set_playback(Playback {
            time: 1.0 / 12.0 + 1e-6,
            ..*rig.manager.playback()
        });
        let stats = rig.update(&close);
        assert!(stats.late_tile_frames > 0, "{stats:?}");
        let residency = rig.manager.residency();
        assert!(residency.is_late(tile, level));
        assert_eq!(
            residency.drawn_record(tile, level),
            shown,
            "a late tile keeps its previous frame at its level"
        );
        assert_ne!(residency.current(tile), shown);
        rig.assert_no_hole(&close);
        // Read: the next frame catches up.
        rig.fetch.serve(usize::MAX);
        let stats = rig.update(&close);
        assert_eq!(stats.late_tile_frames, 0, "{stats:?}");
        let residency = rig.manager.residency();
        assert_eq!(residency.drawn_record(tile, level), residency.current(tile));
    }

    /// The pages of `view`'s visible tiles at its finest level (stills: a tile's record is
    /// its id, and the grid is the identity).
    fn pages_of(view: &FrameView) -> Vec<PageKey> {
        let cells = view.visible_cells();
        (cells.y0..cells.y1)
            .flat_map(|y| (cells.x0..cells.x1).map(move |x| y * SIDE + x))
            .map(|tile| PageKey::new(tile, view.levels.hi))
            .collect()
    }

    impl Rig {
        /// Updates until `view` is sharp, serving every request.
        fn settle(&mut self, view: &FrameView) {
            for _ in 0..100 {
                self.fetch.serve(usize::MAX);
                if self.update(view).missing == 0 {
                    return;
                }
            }
            panic!("the view never came sharp");
        }
    }

    #[test]
    fn the_least_recently_drawn_pages_are_evicted_first() {
        let mut rig = new_rig(config(), &[], 0);
        // Four views over the four quarters of the grid, each drawn sharp in turn.
        let quarters =
            [(2.0, 2.0), (6.0, 2.0), (2.0, 6.0), (6.0, 6.0)].map(|(x, y)| view(x, y, 16.0));
        let level = quarters[0].levels.hi;
        let capacity = rig.manager.residency().layout().levels[level].capacity as usize;
        let per_view = pages_of(&quarters[0]).len();
        assert!(
            !rig.manager.residency().is_pinned(level) && capacity < 4 * per_view,
            "the level must be paged and too small for every quarter: {capacity} slots"
        );
        for quarter in &quarters {
            rig.settle(quarter);
            rig.assert_no_hole(quarter);
        }
        assert!(rig.manager.residency().evictions() > 0);
        // What stayed is the most recent views' pages: once an older view has a page
        // resident, every newer view has all of its own.
        let residency = rig.manager.residency();
        let kept: Vec<usize> = quarters
            .iter()
            .map(|q| {
                pages_of(q)
                    .iter()
                    .filter(|&&k| residency.is_resident(k))
                    .count()
            })
            .collect();
        assert_eq!(kept[3], per_view, "the view on screen lost pages: {kept:?}");
        for older in 0..3 {
            if kept[older] > 0 {
                assert!(
                    kept[older + 1..].iter().all(|&k| k == per_view),
                    "a newer view lost pages while an older one kept some: {kept:?}"
                );
            }
        }
        assert_eq!(kept[0], 0, "the oldest view's pages went first: {kept:?}");
    }

    #[test]
    fn a_pan_asks_for_the_pages_ahead_of_it_only_with_prefetch() {
        for prefetch in [true, false] {
            let mut rig = new_rig(
                StreamConfig {
                    heuristics: Heuristics {
                        prefetch,
                        ..Default::default()
                    },
                    ..config()
                },
                &[],
                0,
            );
            // Panning right a cell a frame over the top rows, each frame sharp.
            let mut x = 2.0;
            for _ in 0..2 {
                rig.settle(&view(x, 2.0, 16.0));
                x += 1.0;
            }
            let now = view(x, 2.0, 16.0);
            rig.update(&now);
            let on_screen: HashSet<PageKey> = pages_of(&now).into_iter().collect();
            let ahead: Vec<PageKey> = rig
                .fetch
                .queued()
                .into_iter()
                .filter(|k| !on_screen.contains(k) && k.level as usize == now.levels.hi)
                .collect();
            let cells = now.visible_cells();
            if prefetch {
                assert!(!ahead.is_empty(), "nothing asked for ahead of the pan");
                // Ahead is to the right: the column past the screen's right edge.
                assert!(
                    ahead.iter().all(|k| k.record % SIDE >= cells.x1),
                    "pages asked for behind the pan: {ahead:?}"
                );
            } else {
                assert!(ahead.is_empty(), "asked for pages off screen: {ahead:?}");
            }
        }
    }
}
