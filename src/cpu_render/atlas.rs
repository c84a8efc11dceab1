//! The CPU renderer's atlas.

use super::page::Page;
use super::small::{SmallPages, SMALL_PAGE_LEVEL};
use crate::atlas::{AtlasBackend, AtlasLayout, Entry, PageOrigin, PAGE_TABLE_WIDTH};
use crate::tint::Offset;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

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
    pub(super) tint: Vec<Offset>,
    /// Per level up to `SMALL_PAGE_LEVEL`, every tile's page gathered into one table: made
    /// by the first frame that draws the level, patched as pages and the page table change
    /// while frames keep drawing it, dropped at the first page-table change after a frame
    /// that did not.
    small: [std::sync::OnceLock<SmallPages>; SMALL_PAGE_LEVEL + 1],
    /// Whether a frame has drawn from each table since the page table last changed.
    small_used: [AtomicBool; SMALL_PAGE_LEVEL + 1],
    /// Tables dropped since, kept for their buffers: filling fresh allocations (23 MB at
    /// levels 2–3 for 18,000 tiles) costs a page fault per 4 KiB.
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
            small_used: Default::default(),
            spare: Default::default(),
        }
    }

    /// Every tile's page at `level` (at most `SMALL_PAGE_LEVEL`), packed tile after tile,
    /// so a frame of tiny cells copies from one small table instead of resolving each cell
    /// through the page table. A tile whose page is not resident at `level` is left out:
    /// its cells draw the general way.
    pub(super) fn small_pages(&self, level: usize) -> &SmallPages {
        self.small_used[level].store(true, Ordering::Relaxed);
        self.small[level].get_or_init(|| self.gather_small_pages(level))
    }

    fn gather_small_pages(&self, level: usize) -> SmallPages {
        let size = 1usize << level;
        let tiles = self.page_table.len() / self.levels;
        // A dropped table of the same size lends its buffers.
        let spare = {
            let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            let at = spare.iter().position(|t| t.size == size);
            at.map(|i| spare.swap_remove(i))
        };
        let mut table = SmallPages::empty(size, tiles, spare);
        self.refresh_small_pages(&mut table, level, 0..tiles);
        table
    }

    /// Brings `table`'s entries of `tiles` up to date with the page table.
    fn refresh_small_pages(&self, table: &mut SmallPages, level: usize, tiles: Range<usize>) {
        let rows = &self.page_table[tiles.start * self.levels..tiles.end * self.levels];
        table.refresh(level, tiles.start, rows, self.levels, |code| {
            self.page(code, level)
        });
    }

    pub(super) fn row(&self, tile: u32) -> &[Entry] {
        &self.page_table[tile as usize * self.levels..][..self.levels]
    }

    /// The page of `level` at `code`.
    pub(super) fn page(&self, code: u32, level: usize) -> Page<'_> {
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

impl AtlasBackend for CpuAtlas {
    fn write_page(&mut self, origin: PageOrigin, size: u32, texels: &[u8]) {
        let level = size.trailing_zeros() as usize;
        let (size, bytes) = (size as usize, self.layer_size * self.layer_size * 4);
        let at = self.page_start(origin, size);
        let layer = &mut self.layers[origin.layer as usize];
        if layer.is_empty() {
            layer.resize(bytes, 0);
        }
        let texels = &texels[..size * size * 4];
        layer[at..][..texels.len()].copy_from_slice(texels);
        if let Some(table) = self.small.get_mut(level).and_then(|t| t.get_mut()) {
            table.patch_page(origin.code(), texels);
        }
    }
    fn write_page_table(&mut self, table: &[Entry], rows: &[u32]) {
        let (width, levels) = (PAGE_TABLE_WIDTH as usize, self.levels);
        // The tiles whose rows changed, as runs of consecutive rows.
        let mut runs: Vec<Range<usize>> = Vec::new();
        for &row in rows {
            let entries = row as usize * width..((row as usize + 1) * width).min(table.len());
            self.page_table[entries.clone()].copy_from_slice(&table[entries.clone()]);
            let tiles = entries.start / levels..entries.end.div_ceil(levels);
            match runs.last_mut() {
                Some(last) if last.end >= tiles.start => last.end = last.end.max(tiles.end),
                _ => runs.push(tiles),
            }
        }
        for level in 0..=SMALL_PAGE_LEVEL {
            let Some(mut small) = self.small[level].take() else {
                continue;
            };
            if !self.small_used[level].swap(false, Ordering::Relaxed) {
                // No frame drew from it since the last change: not worth keeping in step.
                self.spare
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(small);
                continue;
            }
            for tiles in &runs {
                self.refresh_small_pages(&mut small, level, tiles.clone());
            }
            let _ = self.small[level].set(small);
        }
    }
    fn write_tint(&mut self, offsets: &[Offset]) {
        self.tint = offsets.to_vec();
    }
}
