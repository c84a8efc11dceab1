//! Texture streaming: memory bounded by the screen, not by the library.

mod cache;
mod loader;
mod manager;
mod planner;
mod tile_blocks;

pub use loader::Fetch;
pub use manager::StreamingManager;

use crate::library::store::{pack_page, stored_bytes};
use crate::library::StoreError;

/// A page of `level` as the RAM cache keeps it: the texels of its tile's `extent`
/// (`PageSource::extent`; the whole page for square tiles), so a budget holds as many
/// pages of 16:9 tiles as their texels allow. Made by the loader threads, off the render
/// thread; the manager makes the page whole again as it uploads it.
pub(crate) fn cached_page(page: &[u8], level: usize, extent: [u32; 2]) -> Vec<u8> {
    let mut texels = Vec::with_capacity(stored_bytes(extent));
    pack_page(page, level, extent, &mut texels);
    texels
}

/// Where pages come from: the store, or anything that can produce a record's page.
pub trait PageSource: Send + Sync {
    /// Records (frames) there are: ids run `0..record_count`.
    fn record_count(&self) -> u32;
    /// Fills `out` (`count × page_bytes(level)`) with records `first .. first + count` at
    /// `level`, or says why it cannot.
    fn read_records(
        &self,
        first: u32,
        count: u32,
        level: usize,
        out: &mut [u8],
    ) -> Result<(), StoreError>;
    /// Records from `record` to the end of its clip (1 for a still): how far one read
    /// ahead may run and still be frames the same tile will show.
    fn run_from(&self, record: u32) -> u32;
    /// The texels of a page of `level` its tile fills, `[width, height]` from the page's
    /// top-left (the rest repeats their edge): the whole page for square tiles. The RAM
    /// cache keeps only these.
    fn extent(&self, level: usize) -> [u32; 2] {
        [1 << level; 2]
    }
}

impl PageSource for crate::library::Library {
    fn record_count(&self) -> u32 {
        crate::library::Library::record_count(self)
    }
    fn read_records(
        &self,
        first: u32,
        count: u32,
        level: usize,
        out: &mut [u8],
    ) -> Result<(), StoreError> {
        // Large levels are read a tile at a time (a clip's frames are one JPEG blob).
        let bytes = crate::library::page_bytes(level);
        let mut at = first;
        while at < first + count {
            let n = if level < self.params().raw_levels() {
                first + count - at
            } else {
                self.run_from(at).min(first + count - at).max(1)
            };
            let dst =
                &mut out[((at - first) as usize) * bytes..((at - first + n) as usize) * bytes];
            crate::library::Library::read_records(self, at, n, level, dst)?;
            at += n;
        }
        Ok(())
    }
    fn run_from(&self, record: u32) -> u32 {
        self.locate(record)
            .map(|(tile, frame)| self.manifest.tiles[tile as usize].frames - frame)
            .unwrap_or(1)
    }
    fn extent(&self, level: usize) -> [u32; 2] {
        self.params().stored_extent(level)
    }
}

/// Streaming heuristics beyond plain LRU, each switchable so its effect can be measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heuristics {
    /// Request coarse levels before fine, and the screen centre before its edges.
    pub ordered: bool,
    /// Prefetch the next finer level while zooming in, and a ring ahead of a pan.
    pub prefetch: bool,
    /// Drop queued requests that went off screen before a loader took them.
    pub cancel: bool,
    /// RAM cache evicts by age × 2^level: coarse pages stay longer than fine ones.
    pub level_weighted_cache: bool,
}

impl Heuristics {
    /// Every heuristic on (the default).
    pub const ALL: Heuristics = Heuristics {
        ordered: true,
        prefetch: true,
        cancel: true,
        level_weighted_cache: true,
    };
}

impl Default for Heuristics {
    fn default() -> Self {
        Heuristics::ALL
    }
}

/// The default `StreamConfig::accept_time`.
pub const ACCEPT_TIME: std::time::Duration = std::time::Duration::from_millis(2);

#[derive(Clone, Copy, Debug)]
/// Memory and upload budgets, and how streaming behaves.
pub struct StreamConfig {
    /// Bytes of atlas textures, all levels.
    pub gpu_budget: u64,
    /// Bytes of pages kept in RAM.
    pub ram_budget: u64,
    /// Most bytes uploaded to the atlases per frame (as staged: see `atlas::upload_cost`).
    pub upload_budget: u64,
    /// Threads reading pages from disk.
    pub loader_threads: usize,
    /// Read pages inline, upload without a budget: deterministic, for tests and stills.
    pub synchronous: bool,
    /// Which heuristics beyond plain LRU are on.
    pub heuristics: Heuristics,
    /// Most time a frame spends taking in pages the loaders finished (checked between
    /// batches; the rest waits in the loader channel for the next frame). Taking in a
    /// page can evict dozens of small ones from the RAM cache: a zoom that brought a
    /// thousand 16 KiB pages at once spent 8–13 ms of a frame there.
    pub accept_time: std::time::Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            gpu_budget: 512 << 20,
            ram_budget: 512 << 20,
            upload_budget: 8 << 20,
            loader_threads: 2,
            synchronous: false,
            heuristics: Heuristics::default(),
            accept_time: ACCEPT_TIME,
        }
    }
}

/// What one frame of streaming did and saw.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct FrameStats {
    /// Frames since the manager started.
    pub frame: u64,
    /// Pages the view draws at its wanted levels.
    pub wanted: usize,
    /// ... of which resident.
    pub resident: usize,
    /// ... of which drawn from a coarser fallback instead.
    pub missing: usize,
    /// Pages uploaded this frame.
    pub uploaded_pages: usize,
    /// Bytes staged for upload: pages (rows padded as copies need) and page-table rows.
    pub uploaded_bytes: u64,
    /// Page-table rows uploaded (`PAGE_TABLE_ROW_BYTES` each, counted in `uploaded_bytes`).
    pub table_rows: usize,
    /// Pages evicted from the atlas so far.
    pub evictions: u64,
    /// Requests waiting for a loader.
    pub queue_depth: usize,
    /// Requests being read, or read and not yet taken in.
    pub in_flight: usize,
    /// Requests cancelled so far (they left the screen before a loader took them).
    pub cancelled: u64,
    /// Bytes in the RAM cache.
    pub cache_bytes: u64,
    /// Bytes of resident pages in the atlas.
    pub atlas_resident_bytes: u64,
    /// Pages that failed to load so far (drawn coarser).
    pub failed_pages: usize,
    /// Playing clips on screen this frame.
    pub tile_frames_shown: usize,
    /// ... of which drawing a frame the clock has passed (their current one is late).
    pub late_tile_frames: usize,
    /// Pages read and wanted (now or a tick ahead) that the upload budget left for a later
    /// frame.
    pub deferred_pages: usize,
}

impl FrameStats {
    /// Nothing is on its way: no read queued or in flight, no upload deferred. Until the
    /// view or the clips' tick changes, later frames draw what this one drew (a page that
    /// failed, or that waits for room the view leaves none of, stays missing at rest).
    pub fn at_rest(&self) -> bool {
        self.deferred_pages == 0 && self.queue_depth + self.in_flight == 0
    }
}
