//! Residency: which `(tile, level)` pages occupy which atlas slots. Pure bookkeeping, no GPU:
//! the page table it keeps is mirrored verbatim to the shader (or the CPU reference).
//!
//! Level 0 is resident for every tile at slot = tile id. Pinned levels have a slot for every
//! tile and never evict. Paged levels evict least-recently-used pages, but never a page that
//! was used in the current frame.

use crate::atlas::{LevelLayout, EMPTY_SLOT};
use lru::LruCache;

/// A page: one tile at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageKey {
    pub tile: u32,
    pub level: u8,
}

impl PageKey {
    pub fn new(tile: u32, level: usize) -> PageKey {
        PageKey { tile, level: level as u8 }
    }
}

struct LevelState {
    layout: LevelLayout,
    free: Vec<u32>,
    /// Resident tiles, least recently used first; the value is the frame it was last used.
    lru: LruCache<u32, u64>,
}

/// Why a page could not be made resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Every slot holds a page used this frame.
    Full,
}

/// What an insertion did: the slot taken and the tile evicted from it, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub slot: u32,
    pub evicted: Option<u32>,
}

pub struct Residency {
    tiles: u32,
    levels: usize,
    page_table: Vec<u32>,
    states: Vec<LevelState>,
    dirty: Option<(usize, usize)>,
    evictions: u64,
}

impl Residency {
    pub fn new(tiles: u32, layouts: &[LevelLayout]) -> Residency {
        let levels = layouts.len();
        let mut page_table = vec![EMPTY_SLOT; tiles as usize * levels];
        for t in 0..tiles as usize {
            page_table[t * levels] = t as u32;
        }
        let states = layouts
            .iter()
            .map(|&layout| LevelState {
                layout,
                // Pop from the end: lowest slots first.
                free: if layout.level == 0 { Vec::new() } else { (0..layout.capacity).rev().collect() },
                lru: LruCache::unbounded(),
            })
            .collect();
        Residency { tiles, levels, page_table, states, dirty: Some((0, tiles as usize * levels)), evictions: 0 }
    }

    pub fn levels(&self) -> usize {
        self.levels
    }
    pub fn tiles(&self) -> u32 {
        self.tiles
    }
    pub fn layout(&self, level: usize) -> &LevelLayout {
        &self.states[level].layout
    }
    pub fn layouts(&self) -> Vec<LevelLayout> {
        self.states.iter().map(|s| s.layout).collect()
    }
    pub fn page_table(&self) -> &[u32] {
        &self.page_table
    }
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    pub fn slot(&self, page: PageKey) -> Option<u32> {
        let s = self.page_table[page.tile as usize * self.levels + page.level as usize];
        (s != EMPTY_SLOT).then_some(s)
    }
    pub fn is_resident(&self, page: PageKey) -> bool {
        self.slot(page).is_some()
    }

    /// The finest resident level at or below `level` (level 0 always is).
    pub fn resolve(&self, tile: u32, level: usize) -> usize {
        let row = &self.page_table[tile as usize * self.levels..][..self.levels];
        (1..=level).rev().find(|&l| row[l] != EMPTY_SLOT).unwrap_or(0)
    }

    /// Marks a resident page as used in `frame`.
    pub fn touch(&mut self, page: PageKey, frame: u64) {
        if page.level > 0 {
            if let Some(f) = self.states[page.level as usize].lru.get_mut(&page.tile) {
                *f = frame;
            }
        }
    }

    /// Resident pages of a level.
    pub fn resident_count(&self, level: usize) -> usize {
        if level == 0 {
            self.tiles as usize
        } else {
            self.states[level].lru.len()
        }
    }

    /// Bytes of resident pages over all levels.
    pub fn resident_bytes(&self) -> u64 {
        (0..self.levels)
            .map(|l| self.resident_count(l) as u64 * crate::library::page_bytes(l) as u64)
            .sum()
    }

    /// Whether every page of `level` is resident (then the level needs no further work).
    pub fn level_complete(&self, level: usize) -> bool {
        self.resident_count(level) == self.tiles as usize
    }

    /// Whether the least-recently-used page of `level` could be evicted in `frame`.
    pub fn has_room(&self, level: usize, frame: u64) -> bool {
        let st = &self.states[level];
        !st.free.is_empty() || (!st.layout.pinned && st.lru.peek_lru().is_some_and(|(_, &f)| f < frame))
    }

    /// Gives `page` a slot, evicting the least recently used page of its level if needed.
    pub fn insert(&mut self, page: PageKey, frame: u64) -> Result<Inserted, InsertError> {
        let level = page.level as usize;
        assert!(level > 0, "level 0 is always resident");
        if let Some(slot) = self.slot(page) {
            self.touch(page, frame);
            return Ok(Inserted { slot, evicted: None });
        }
        let st = &mut self.states[level];
        let (slot, evicted) = match st.free.pop() {
            Some(slot) => (slot, None),
            None => {
                if st.layout.pinned {
                    return Err(InsertError::Full);
                }
                match st.lru.peek_lru() {
                    Some((_, &f)) if f < frame => {}
                    _ => return Err(InsertError::Full),
                }
                let (victim, _) = st.lru.pop_lru().expect("peeked");
                let at = victim as usize * self.levels + level;
                let slot = self.page_table[at];
                self.page_table[at] = EMPTY_SLOT;
                self.mark_dirty(at);
                self.evictions += 1;
                (slot, Some(victim))
            }
        };
        self.states[level].lru.put(page.tile, frame);
        let at = page.tile as usize * self.levels + level;
        self.page_table[at] = slot;
        self.mark_dirty(at);
        Ok(Inserted { slot, evicted })
    }

    /// Drops a page (e.g. its load failed permanently); level 0 cannot be dropped.
    pub fn remove(&mut self, page: PageKey) {
        let level = page.level as usize;
        if level == 0 {
            return;
        }
        if let Some(slot) = self.slot(page) {
            self.states[level].lru.pop(&page.tile);
            self.states[level].free.push(slot);
            let at = page.tile as usize * self.levels + level;
            self.page_table[at] = EMPTY_SLOT;
            self.mark_dirty(at);
        }
    }

    fn mark_dirty(&mut self, at: usize) {
        self.dirty = Some(match self.dirty {
            None => (at, at + 1),
            Some((a, b)) => (a.min(at), b.max(at + 1)),
        });
    }

    /// The page-table range changed since the last call, as `(first entry, entries)`.
    pub fn take_dirty(&mut self) -> Option<(usize, &[u32])> {
        let (a, b) = self.dirty.take()?;
        Some((a, &self.page_table[a..b]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn residency(capacity: u32) -> Residency {
        let layouts = vec![
            LevelLayout::with_capacity(0, 10, true),
            LevelLayout::with_capacity(1, 10, true),
            LevelLayout::with_capacity(2, capacity, false),
        ];
        Residency::new(10, &layouts)
    }

    #[test]
    fn level_zero_is_always_resident_and_resolve_falls_back() {
        let mut r = residency(2);
        for t in 0..10 {
            assert_eq!(r.slot(PageKey::new(t, 0)), Some(t));
            assert_eq!(r.resolve(t, 2), 0);
        }
        r.insert(PageKey::new(3, 1), 1).unwrap();
        assert_eq!(r.resolve(3, 2), 1);
        r.insert(PageKey::new(3, 2), 1).unwrap();
        assert_eq!(r.resolve(3, 2), 2);
        assert_eq!(r.resolve(3, 1), 1);
    }

    #[test]
    fn lru_evicts_the_oldest_but_never_a_page_used_this_frame() {
        let mut r = residency(2);
        r.insert(PageKey::new(0, 2), 1).unwrap();
        r.insert(PageKey::new(1, 2), 2).unwrap();
        r.touch(PageKey::new(0, 2), 3);
        // Tile 1 was used longest ago.
        let got = r.insert(PageKey::new(2, 2), 3).unwrap();
        assert_eq!(got.evicted, Some(1));
        assert!(!r.is_resident(PageKey::new(1, 2)));
        // Both resident pages are used in frame 3: nothing can go.
        assert_eq!(r.insert(PageKey::new(4, 2), 3), Err(InsertError::Full));
        assert!(!r.has_room(2, 3));
        assert!(r.has_room(2, 4));
        assert_eq!(r.evictions(), 1);
    }

    #[test]
    fn pinned_levels_never_evict() {
        let mut r = residency(2);
        for t in 0..10 {
            assert_eq!(r.insert(PageKey::new(t, 1), t as u64).unwrap().evicted, None);
        }
        assert!(r.level_complete(1));
        assert_eq!(r.insert(PageKey::new(0, 1), 99).unwrap().evicted, None);
    }

    #[test]
    fn page_table_changes_are_reported_once() {
        let mut r = residency(2);
        assert_eq!(r.take_dirty().unwrap().1.len(), 30);
        assert!(r.take_dirty().is_none());
        let slot = r.insert(PageKey::new(5, 2), 1).unwrap().slot;
        let (first, entries) = r.take_dirty().unwrap();
        assert_eq!((first, entries), (5 * 3 + 2, &[slot][..]));
        r.remove(PageKey::new(5, 2));
        assert_eq!(r.take_dirty().unwrap().1, &[EMPTY_SLOT]);
    }
}
