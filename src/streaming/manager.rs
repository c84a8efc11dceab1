//! The streaming manager: each frame, from the view, decide which pages are wanted, upload
//! what is ready (within the upload budget), request the rest from the loaders, and keep the
//! page table in step. The render thread only moves bytes it already holds; every read is
//! done by loader threads (or, in synchronous mode, inline and deterministic).

use super::cache::PageCache;
use super::loader::LoaderPool;
use super::{FrameStats, Heuristics, PageSource, StreamConfig};
use crate::atlas::{upload_cost, AtlasBackend, AtlasLayout};
use crate::library::page_bytes;
use crate::residency::{PageKey, Residency};
use crate::view::{CellRect, FrameView};
use std::sync::Arc;

pub struct StreamingManager {
    source: Arc<dyn PageSource>,
    grid: Arc<Vec<u32>>,
    cols: u32,
    residency: Residency,
    cache: PageCache,
    loader: Option<LoaderPool>,
    config: StreamConfig,
    frame: u64,
    /// Per tile: the frame it was last found visible, and its distance² to the screen centre.
    seen: Vec<(u64, f32)>,
    failed: std::collections::HashSet<PageKey>,
    errors_logged: usize,
    last_view: Option<(f64, glam::DVec2)>,
    uploaded_total: u64,
}

/// A wanted page and its priority: lower is more urgent.
#[derive(Clone, Copy, Debug)]
struct Want {
    key: PageKey,
    priority: (u8, f32),
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
            grid,
            cols,
            loader,
            config,
            frame: 0,
            seen: vec![(0, 0.0); tiles as usize],
            failed: Default::default(),
            errors_logged: 0,
            last_view: None,
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
        if let Some(dirty) = self.residency.take_dirty() {
            backend.write_page_table(self.residency.page_table(), dirty);
        }
        // The end of set-up: the scene's build and the pinned reads are freed by now.
        super::return_freed_memory();
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

    /// Prepares residency for drawing `view`: uploads, evictions, requests. Returns the
    /// frame's statistics; `missing == 0` means the frame draws every page it wants.
    pub fn update(&mut self, view: &FrameView, backend: &mut dyn AtlasBackend) -> FrameStats {
        self.frame += 1;
        let frame = self.frame;
        let mut stats = FrameStats {
            frame,
            ..Default::default()
        };
        let evictions_before = self.residency.evictions();

        // 1. Take in what the loaders finished.
        if let Some(loader) = &self.loader {
            for (key, result) in loader.drain() {
                self.accept(key, result);
            }
        }

        // 2. Wanted pages, most urgent first.
        let visible = view.visible_cells();
        let mut wants = self.visible_wants(view, visible);
        let h = self.config.heuristics;
        if h.ordered {
            wants.sort_by(|a, b| {
                a.priority
                    .0
                    .cmp(&b.priority.0)
                    .then(a.priority.1.total_cmp(&b.priority.1))
            });
        } else {
            wants.sort_by_key(|w| (w.key.tile, w.key.level));
        }
        stats.wanted = wants.len();

        // 3. Mark what this frame draws (wanted pages or their fallbacks) as used.
        for w in &wants {
            let drawn = self.residency.resolve(w.key.tile, w.key.level as usize);
            self.residency.touch(PageKey::new(w.key.tile, drawn), frame);
        }

        // 4. Upload ready pages within the budget; collect what must still be read.
        let budget = if self.config.synchronous {
            u64::MAX
        } else {
            self.config.upload_budget
        };
        let mut uploaded = 0u64;
        let mut requests = Vec::new();
        for w in &wants {
            let key = w.key;
            if self.residency.is_resident(key) {
                continue;
            }
            if self.failed.contains(&key) {
                stats.missing += 1;
                continue;
            }
            if !self.cache.contains(&key) && self.config.synchronous {
                let mut page = vec![0u8; page_bytes(key.level as usize)];
                let result = self
                    .source
                    .read_page(key.tile, key.level as usize, &mut page)
                    .map(|()| page);
                self.accept(key, result);
            }
            let room = self.residency.has_room(key.level as usize, frame);
            if self.cache.contains(&key) && uploaded < budget && room {
                self.upload(key, backend);
                uploaded += upload_cost(key.level as usize);
                stats.uploaded_pages += 1;
                continue;
            }
            stats.missing += 1;
            // With no slot free of this frame's pages (a view larger than the budget), a
            // read could only be evicted unused: ask again when the view changes.
            if room && !self.cache.contains(&key) && !self.failed.contains(&key) {
                requests.push(key);
            }
        }
        stats.resident = stats.wanted - stats.missing;

        // 5. Prefetch behind the visible requests, then hand the list to the loaders.
        if self.loader.is_some() && h.prefetch {
            let prefetch = self.prefetch_wants(view, visible);
            requests.extend(prefetch.into_iter().filter(|k| {
                !self.residency.is_resident(*k)
                    && !self.cache.contains(k)
                    && !self.failed.contains(k)
            }));
        }
        if let Some(loader) = &self.loader {
            loader.submit(&requests, h.cancel);
            stats.queue_depth = loader.queue_depth();
            stats.in_flight = loader.in_flight();
            stats.cancelled = loader.cancelled();
        }
        self.last_view = Some((view.cell_px, view.origin()));

        if let Some(dirty) = self.residency.take_dirty() {
            backend.write_page_table(self.residency.page_table(), dirty);
        }
        self.uploaded_total += uploaded;
        stats.uploaded_bytes = uploaded;
        stats.evictions = self.residency.evictions() - evictions_before;
        stats.cache_bytes = self.cache.bytes();
        stats.atlas_resident_bytes = self.residency.resident_bytes();
        stats.failed_pages = self.failed.len();
        stats
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

    /// Pages of the drawn levels for every tile in `rect`, prioritised coarse first, then by
    /// distance of the tile's nearest cell to the screen centre.
    fn visible_wants(&mut self, view: &FrameView, rect: CellRect) -> Vec<Want> {
        if view.uses_overview() || rect.is_empty() {
            return Vec::new();
        }
        let levels: Vec<usize> = view
            .levels
            .drawn_levels()
            .filter(|&l| l > 0 && !self.residency.level_complete(l))
            .collect();
        if levels.is_empty() {
            return Vec::new();
        }
        self.tiles_in(rect, view)
            .into_iter()
            .flat_map(|(tile, d2)| {
                levels.iter().map(move |&l| Want {
                    key: PageKey::new(tile, l),
                    priority: (l as u8, d2),
                })
            })
            .collect()
    }

    /// Distinct tiles in `rect` with the distance² of their nearest cell to the screen centre.
    fn tiles_in(&mut self, rect: CellRect, view: &FrameView) -> Vec<(u32, f32)> {
        let stamp = self.frame;
        let center_x = view.origin_int[0] as f32
            + view.origin_frac[0]
            + view.width as f32 * 0.5 * view.cells_per_px;
        let center_y = view.origin_int[1] as f32
            + view.origin_frac[1]
            + view.height as f32 * 0.5 * view.cells_per_px;
        let mut tiles = Vec::new();
        for y in rect.y0..rect.y1 {
            let dy = y as f32 + 0.5 - center_y;
            let row = &self.grid[(y * self.cols) as usize..][..self.cols as usize];
            for x in rect.x0..rect.x1 {
                let tile = row[x as usize];
                let dx = x as f32 + 0.5 - center_x;
                let d2 = dx * dx + dy * dy;
                let seen = &mut self.seen[tile as usize];
                if seen.0 != stamp {
                    *seen = (stamp, d2);
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

    /// Pages worth loading before they are visible: while zooming in, the next finer level
    /// around the centre; while panning, a ring of cells ahead of the motion.
    fn prefetch_wants(&mut self, view: &FrameView, visible: CellRect) -> Vec<PageKey> {
        let Some((last_px, last_origin)) = self.last_view else {
            return Vec::new();
        };
        if view.uses_overview() || visible.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let (cols, rows) = (view.cols, view.rows);
        if view.cell_px > last_px * 1.001 && view.levels.hi < view.max_level {
            let next = view.levels.hi + 1;
            if !self.residency.level_complete(next) {
                // What the screen will show after zooming in by 2×: the central half.
                let (w, h) = (visible.x1 - visible.x0, visible.y1 - visible.y0);
                let inner = CellRect {
                    x0: visible.x0 + w / 4,
                    y0: visible.y0 + h / 4,
                    x1: visible.x1 - w / 4,
                    y1: visible.y1 - h / 4,
                };
                let mut tiles = self.tiles_in(if inner.is_empty() { visible } else { inner }, view);
                tiles.sort_by(|a, b| a.1.total_cmp(&b.1));
                out.extend(tiles.into_iter().map(|(t, _)| PageKey::new(t, next)));
            }
        }
        let motion = view.origin() - last_origin;
        if (view.cell_px - last_px).abs() < 1e-9 && motion.length() > 1e-6 {
            let (w, h) = (visible.x1 - visible.x0, visible.y1 - visible.y0);
            let (mx, my) = ((w / 4).max(1), (h / 4).max(1));
            let ahead = CellRect {
                x0: if motion.x < 0.0 {
                    visible.x0.saturating_sub(mx)
                } else {
                    visible.x0
                },
                x1: if motion.x > 0.0 {
                    (visible.x1 + mx).min(cols)
                } else {
                    visible.x1
                },
                y0: if motion.y < 0.0 {
                    visible.y0.saturating_sub(my)
                } else {
                    visible.y0
                },
                y1: if motion.y > 0.0 {
                    (visible.y1 + my).min(rows)
                } else {
                    visible.y1
                },
            };
            let levels: Vec<usize> = view
                .levels
                .drawn_levels()
                .filter(|&l| l > 0 && !self.residency.level_complete(l))
                .collect();
            let mut ring: Vec<(u32, f32)> = self.tiles_in(ahead, view);
            ring.sort_by(|a, b| a.1.total_cmp(&b.1));
            for (t, _) in ring {
                for &l in &levels {
                    out.push(PageKey::new(t, l));
                }
            }
        }
        out
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
