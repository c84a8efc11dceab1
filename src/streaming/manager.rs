//! The streaming manager: each frame, the planner says which pages are wanted; the manager
//! uploads what is ready (within the upload budget), requests the rest from the loaders, and
//! keeps the page table in step. The render thread only moves bytes it already holds; every
//! read is done by loader threads (or, in synchronous mode, inline and deterministic).

use super::cache::PageCache;
use super::loader::LoaderPool;
use super::planner::{Planner, Want};
use super::{FrameStats, Heuristics, PageSource, StreamConfig};
use crate::atlas::{upload_cost, AtlasBackend, AtlasLayout, PAGE_TABLE_ROW_BYTES};
use crate::library::page_bytes;
use crate::residency::{PageKey, Residency};
use crate::view::FrameView;
use std::sync::Arc;

pub struct StreamingManager {
    source: Arc<dyn PageSource>,
    planner: Planner,
    residency: Residency,
    cache: PageCache,
    loader: Option<LoaderPool>,
    config: StreamConfig,
    frame: u64,
    failed: std::collections::HashSet<PageKey>,
    errors_logged: usize,
    uploaded_total: u64,
}

impl StreamingManager {
    pub fn new(
        source: Arc<dyn PageSource>,
        grid: Arc<Vec<u32>>,
        cols: u32,
        layout: &AtlasLayout,
        config: StreamConfig,
    ) -> StreamingManager {
        let tiles = source.tile_count();
        let largest_page = page_bytes(layout.levels.len().saturating_sub(1)) as u64;
        // Loaded pages may queue up to two frames of uploads: enough to keep the budget busy.
        let channel_bytes = (2 * config.upload_budget)
            .min(config.ram_budget / 4)
            .max(largest_page);
        // --ram-budget covers every page held on the CPU: what waits in the channel or is
        // being read comes off the cache's share (which keeps at least half, so tiny budgets
        // still stream).
        let in_transit = if config.synchronous {
            0
        } else {
            channel_bytes + config.loader_threads.max(1) as u64 * largest_page
        };
        let cache_budget = config
            .ram_budget
            .saturating_sub(in_transit)
            .max(config.ram_budget / 2);
        let loader = (!config.synchronous).then(|| {
            LoaderPool::new(
                source.clone(),
                config.loader_threads,
                channel_bytes as usize,
            )
        });
        StreamingManager {
            residency: Residency::new(tiles, layout),
            cache: PageCache::new(
                layout.levels.len(),
                cache_budget,
                config.heuristics.level_weighted_cache,
            ),
            source,
            planner: Planner::new(grid, cols, tiles, config.heuristics),
            loader,
            config,
            frame: 0,
            failed: Default::default(),
            errors_logged: 0,
            uploaded_total: 0,
        }
    }

    pub fn residency(&self) -> &Residency {
        &self.residency
    }
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Writes level 0 and every pinned level for every tile, and the initial page table.
    /// Call once per backend.
    pub fn init_backend(&mut self, backend: &mut dyn AtlasBackend, level0: &[u8]) {
        for (tile, page) in level0.chunks_exact(4).enumerate() {
            backend.write_page(self.residency.layout().origin(0, tile as u32), 1, page);
        }
        self.load_pinned_levels(backend);
        let rows = self.residency.take_dirty_rows();
        backend.write_page_table(self.residency.page_table(), &rows);
        backend.flush();
    }

    /// Reads every page of every pinned level (the fast pool) and uploads it, once. With
    /// those levels complete, a zoomed-out frame wants nothing and scans no cells; lazily
    /// filled, they never complete (a mosaic rarely uses every tile) and every zoomed-out
    /// frame would walk its two million cells. Reads run in parallel, in chunks of about
    /// 4 MiB so the transient buffer stays small; a page that fails is drawn from the
    /// finest coarser page resident, and logged once.
    fn load_pinned_levels(&mut self, backend: &mut dyn AtlasBackend) {
        use rayon::prelude::*;
        const CHUNK_BYTES: usize = 4 << 20;
        let started = std::time::Instant::now();
        let tiles = self.source.tile_count() as usize;
        let source = self.source.clone();
        let mut loaded = 0u64;
        for level in 1..self.residency.levels() {
            if !self.residency.is_pinned(level) {
                continue;
            }
            let bytes = page_bytes(level);
            let per_chunk = (CHUNK_BYTES / bytes).max(1);
            let mut chunk = vec![0u8; per_chunk.min(tiles) * bytes];
            for first in (0..tiles).step_by(per_chunk) {
                let count = per_chunk.min(tiles - first);
                let results: Vec<Result<(), String>> = chunk[..count * bytes]
                    .par_chunks_exact_mut(bytes)
                    .enumerate()
                    .map(|(i, page)| source.read_page((first + i) as u32, level, page))
                    .collect();
                for (i, result) in results.into_iter().enumerate() {
                    let key = PageKey::new((first + i) as u32, level);
                    if let Err(e) = result {
                        self.accept(key, Err(e));
                        continue;
                    }
                    if let Ok(inserted) = self.residency.insert(key, 0) {
                        let page = &chunk[i * bytes..][..bytes];
                        backend.write_page(inserted.origin, 1 << level, page);
                        loaded += bytes as u64;
                    }
                }
                backend.flush();
            }
        }
        tracing::info!(
            "pinned levels loaded: {:.1} MiB in {:.2} s",
            loaded as f64 / (1 << 20) as f64,
            started.elapsed().as_secs_f64()
        );
    }

    /// Prepares residency for drawing `view`: plans the frame, then applies the plan
    /// (uploads within the budget, evictions, requests) and mirrors the page table. Returns
    /// the frame's statistics; `missing == 0` means the frame draws every page it wants.
    pub fn update(&mut self, view: &FrameView, backend: &mut dyn AtlasBackend) -> FrameStats {
        self.frame += 1;
        let mut stats = FrameStats {
            frame: self.frame,
            ..Default::default()
        };
        let evictions_before = self.residency.evictions();

        // Take in what the loaders finished.
        if let Some(loader) = &self.loader {
            for (key, result) in loader.drain() {
                self.accept(key, result);
            }
        }

        let plan = self
            .planner
            .plan(view, &self.residency, self.loader.is_some());
        stats.wanted = plan.wants.len();
        // What this frame draws (wanted pages or their fallbacks) is in use: not evictable.
        for w in &plan.wants {
            let drawn = self.residency.resolve(w.key.tile, w.key.level as usize);
            self.residency
                .touch(PageKey::new(w.key.tile, drawn), self.frame);
        }
        let mut requests = self.upload_or_request(&plan.wants, backend, &mut stats);
        requests.extend(plan.prefetch.into_iter().filter(|k| {
            !self.residency.is_resident(*k) && !self.cache.contains(k) && !self.failed.contains(k)
        }));
        if let Some(loader) = &self.loader {
            loader.submit(&requests, self.config.heuristics.cancel);
            stats.queue_depth = loader.queue_depth();
            stats.in_flight = loader.in_flight();
            stats.cancelled = loader.cancelled();
        }

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
        let budget = if self.config.synchronous {
            u64::MAX
        } else {
            self.config.upload_budget
        };
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
                let mut page = vec![0u8; page_bytes(key.level as usize)];
                let result = self
                    .source
                    .read_page(key.tile, key.level as usize, &mut page)
                    .map(|()| page);
                self.accept(key, result);
            }
            let room = self.residency.has_room(key.level as usize, self.frame);
            if self.cache.contains(&key) && room {
                let rows = self.residency.new_rows_for_insert(key, self.frame) as u64;
                let cost = upload_cost(key.level as usize) + rows * PAGE_TABLE_ROW_BYTES;
                // The first upload always goes, so a page larger than the budget still does.
                if stats.uploaded_bytes == 0 || stats.uploaded_bytes + cost <= budget {
                    self.upload(key, backend);
                    stats.uploaded_bytes += cost;
                    stats.uploaded_pages += 1;
                    continue;
                }
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

    fn accept(&mut self, key: PageKey, result: Result<Vec<u8>, String>) {
        match result {
            Ok(texels) => self.cache.insert(key, texels, self.frame),
            Err(e) => {
                if self.errors_logged == 0 {
                    tracing::error!("cannot load tile pages: {e}; drawing coarser levels instead (further failures are counted, not logged)");
                    self.errors_logged += 1;
                } else {
                    tracing::debug!("page load failed: {e}");
                }
                self.failed.insert(key);
            }
        }
    }

    fn upload(&mut self, key: PageKey, backend: &mut dyn AtlasBackend) {
        let level = key.level as usize;
        let Ok(inserted) = self.residency.insert(key, self.frame) else {
            return;
        };
        let texels = self.cache.get(&key, self.frame).expect("checked by caller");
        backend.write_page(inserted.origin, 1 << level, texels);
        if self.residency.is_pinned(level) {
            // A pinned page never leaves the atlas: no reason to keep a RAM copy.
            self.cache.remove(&key);
        }
    }

    /// Error lines logged for failed loads (one, however many pages fail).
    pub fn errors_logged(&self) -> usize {
        self.errors_logged
    }
    pub fn cache_bytes(&self) -> u64 {
        self.cache.bytes()
    }
    pub fn uploaded_total(&self) -> u64 {
        self.uploaded_total
    }
    pub fn evictions(&self) -> u64 {
        self.residency.evictions() + self.cache.evictions()
    }
    pub fn heuristics(&self) -> Heuristics {
        self.config.heuristics
    }
}
