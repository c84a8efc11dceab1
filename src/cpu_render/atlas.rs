//! The CPU renderer's atlas.

use super::resolve;
use super::small::{SmallPages, SMALL_PAGE_LEVEL};
use crate::atlas::{AtlasBackend, AtlasLayout, Entry, PageOrigin, PAGE_TABLE_WIDTH};
use crate::tint::Offset;
use rayon::prelude::*;

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
    pub(super) fn small_pages(&self, level: usize) -> &SmallPages {
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

/// Most bytes of a page `Page::prefetch` asks for: larger pages are read over many bands,
/// row after row, which the hardware prefetcher follows.
const PREFETCH_BYTES: usize = 1024;

/// A resident page: its rows, `stride` bytes apart from `start` in its layer (or table).
#[derive(Clone, Copy)]
pub(super) struct Page<'a> {
    pub(super) texels: &'a [u8],
    pub(super) start: usize,
    pub(super) stride: usize,
}

impl<'a> Page<'a> {
    /// `n` texels of row `y` from column `x`.
    #[inline]
    pub(super) fn run(&self, x: usize, y: usize, n: usize) -> &'a [u8] {
        &self.texels[self.start + y * self.stride + x * 4..][..n * 4]
    }

    /// Asks the memory system for the page (its first `PREFETCH_BYTES` when larger), a page
    /// of `level`, ahead of reading it. Pages are scattered over the atlas: one not read
    /// lately costs a TLB walk and a cache miss per line.
    #[inline]
    pub(super) fn prefetch(&self, level: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            let bytes = (4usize << (2 * level)).min(PREFETCH_BYTES);
            for line in self.texels[self.start..][..bytes].chunks(64) {
                // SAFETY: a prefetch only hints; the address is in the layer.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8)
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = level;
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
