//! The RAM page cache: pages read from the store, kept within a byte budget so a page that
//! leaves the GPU atlas (or was prefetched) can be uploaded again without touching disk.

use crate::residency::{PageKey, RecordSet};
use lru::LruCache;

/// Bytes a page costs beyond its texels: its texel vector's header (24 B) and allocation
/// header and rounding (~16 B), and in the cache its LRU node (key, stamp, two links) and
/// hash slot. Small pages are mostly overhead (a 4×4 page is 64 B of texels), and a clip
/// library moves hundreds of thousands of them: counting texels alone, a playing tour held
/// ~1,000,000 pages (heaptrack) where the budgets expected far fewer bytes.
pub const ENTRY_OVERHEAD: u64 = 96;

/// What a page of `texels` bytes costs in memory, as the budgets count it.
pub fn cost(texels: usize) -> u64 {
    texels as u64 + ENTRY_OVERHEAD
}

pub struct PageCache {
    /// Per level: tile → (texels, frame last used), least recently used first. The texels
    /// are a page's extent (`StreamingManager::packed`), so entries vary in size.
    levels: Vec<LruCache<u32, (Vec<u8>, u64)>>,
    /// Per level, the records in its map: most pages asked about are not cached (see
    /// `RecordSet`).
    present: Vec<RecordSet>,
    bytes: u64,
    budget: u64,
    /// Evict by age scaled by 2^level, so coarse pages (cheap, and every finer page's
    /// fallback) outlive fine ones; otherwise plain LRU across levels.
    level_weighted: bool,
    evictions: u64,
}

impl PageCache {
    pub fn new(levels: usize, budget: u64, level_weighted: bool) -> PageCache {
        PageCache {
            levels: (0..levels).map(|_| LruCache::unbounded()).collect(),
            present: vec![RecordSet::default(); levels],
            bytes: 0,
            budget,
            level_weighted,
            evictions: 0,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    pub fn contains(&self, key: &PageKey) -> bool {
        self.present[key.level as usize].contains(key.record)
    }

    pub fn get(&mut self, key: &PageKey, frame: u64) -> Option<&[u8]> {
        self.contains(key).then_some(())?;
        let (texels, used) = self.levels[key.level as usize].get_mut(&key.record)?;
        *used = frame;
        Some(texels)
    }

    pub fn remove(&mut self, key: &PageKey) {
        if let Some((texels, _)) = self.levels[key.level as usize].pop(&key.record) {
            self.present[key.level as usize].remove(key.record);
            self.bytes -= cost(texels.len());
        }
    }

    /// Inserts a page, evicting others until the cache fits its budget. A page larger than
    /// the whole budget is not kept.
    pub fn insert(&mut self, key: PageKey, texels: Vec<u8>, frame: u64) {
        let size = cost(texels.len());
        if size > self.budget {
            return;
        }
        if self.levels[key.level as usize]
            .put(key.record, (texels, frame))
            .is_none()
        {
            self.present[key.level as usize].insert(key.record);
            self.bytes += size;
        }
        while self.bytes > self.budget {
            let victim = self.victim(key);
            let Some(level) = victim else { break };
            if let Some((record, (texels, _))) = self.levels[level].pop_lru() {
                self.present[level].remove(record);
                self.bytes -= cost(texels.len());
                self.evictions += 1;
            }
        }
    }

    /// The level whose least recently used page goes next (never the page just inserted).
    fn victim(&self, keep: PageKey) -> Option<usize> {
        let now = self
            .levels
            .iter()
            .filter_map(|l| l.peek_mru().map(|(_, (_, f))| *f))
            .max()
            .unwrap_or(0);
        self.levels
            .iter()
            .enumerate()
            .filter_map(|(level, lru)| {
                let (&tile, (_, used)) = lru.peek_lru()?;
                if level == keep.level as usize && tile == keep.record {
                    return None;
                }
                let age = (now - used.min(&now) + 1) as f64;
                let score = if self.level_weighted {
                    age * (1u64 << level) as f64
                } else {
                    age
                };
                Some((level, score))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(level, _)| level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_budget_evicting_least_recent() {
        let mut c = PageCache::new(3, 3 * cost(16), false);
        for t in 0..3 {
            c.insert(PageKey::new(t, 1), vec![0; 16], t as u64);
        }
        c.get(&PageKey::new(0, 1), 5);
        c.insert(PageKey::new(9, 1), vec![0; 16], 6);
        assert_eq!(c.bytes(), 3 * cost(16));
        assert!(c.contains(&PageKey::new(0, 1)));
        assert!(
            !c.contains(&PageKey::new(1, 1)),
            "tile 1 was least recently used"
        );
        assert_eq!(c.evictions(), 1);
    }

    #[test]
    fn level_weighting_keeps_coarse_pages_longer() {
        // An old level-1 page and a newer level-2 page: weighted eviction drops the fine one.
        for (weighted, evicted_level) in [(true, 2usize), (false, 1)] {
            let mut c = PageCache::new(3, cost(16) + cost(64), weighted);
            c.insert(PageKey::new(0, 1), vec![0; 16], 1);
            c.insert(PageKey::new(0, 2), vec![0; 64], 2);
            c.insert(PageKey::new(1, 1), vec![0; 16], 3);
            assert!(
                !c.contains(&PageKey::new(0, evicted_level)),
                "weighted={weighted}"
            );
        }
    }
}
