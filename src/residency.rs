//! Residency: which `(tile, level)` pages occupy which atlas slots. Pure bookkeeping, no GPU.
//!
//! The page table it keeps is *resolved*: entry `(tile, level)` names the finest resident
//! level at or below `level` and that page's packed origin (see `atlas`). It is mirrored
//! verbatim to the shader and the CPU reference, so drawing a pixel takes one lookup and no
//! search for a fallback; the search happens here, once per residency change.
//!
//! Level 0 is resident for every tile at slot = tile id. Pinned levels have a slot for every
//! tile and never evict. Paged levels evict least-recently-used pages, but never a page that
//! was used in the current frame.

use crate::atlas::{AtlasLayout, Entry, PageOrigin, EMPTY_SLOT, PAGE_TABLE_WIDTH};
use lru::LruCache;

/// A page: one tile at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageKey {
    pub tile: u32,
    pub level: u8,
}

impl PageKey {
    pub fn new(tile: u32, level: usize) -> PageKey {
        PageKey {
            tile,
            level: level as u8,
        }
    }
}

struct LevelState {
    pinned: bool,
    free: Vec<u32>,
    /// Resident tiles, least recently used first: (frame last used, slot).
    lru: LruCache<u32, (u64, u32)>,
}

/// Why a page could not be made resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Every slot holds a page used this frame.
    Full,
}

/// What an insertion did: where the page goes and the tile evicted from there, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub origin: PageOrigin,
    pub evicted: Option<u32>,
}

pub struct Residency {
    layout: AtlasLayout,
    tiles: u32,
    levels: usize,
    /// Per tile × level: the packed origin of that exact page, or EMPTY.
    codes: Vec<u32>,
    /// Per tile × level: what is drawn when that level is wanted (mirrored to the renderers).
    page_table: Vec<Entry>,
    states: Vec<LevelState>,
    /// Page-table rows (`PAGE_TABLE_WIDTH` entries each) changed since the last upload:
    /// a flag per row and the list of flagged rows, so an upload sends only what changed.
    dirty: Vec<bool>,
    dirty_rows: Vec<u32>,
    evictions: u64,
}

impl Residency {
    pub fn new(tiles: u32, layout: &AtlasLayout) -> Residency {
        let levels = layout.levels.len();
        let mut codes = vec![EMPTY_SLOT; tiles as usize * levels];
        let mut page_table = vec![[0, 0]; tiles as usize * levels];
        for t in 0..tiles as usize {
            let code = layout.origin(0, t as u32).code();
            codes[t * levels] = code;
            page_table[t * levels..(t + 1) * levels].fill([code, 0]);
        }
        let states = layout
            .levels
            .iter()
            .map(|plan| LevelState {
                pinned: plan.pinned,
                // Pop from the end: lowest slots first.
                free: if plan.level == 0 {
                    Vec::new()
                } else {
                    (0..plan.capacity).rev().collect()
                },
                lru: LruCache::unbounded(),
            })
            .collect();
        let rows = (tiles as usize * levels).div_ceil(PAGE_TABLE_WIDTH as usize);
        Residency {
            layout: layout.clone(),
            tiles,
            levels,
            codes,
            page_table,
            states,
            dirty: vec![true; rows],
            dirty_rows: (0..rows as u32).collect(),
            evictions: 0,
        }
    }

    pub fn levels(&self) -> usize {
        self.levels
    }
    pub fn tiles(&self) -> u32 {
        self.tiles
    }
    pub fn layout(&self) -> &AtlasLayout {
        &self.layout
    }
    pub fn page_table(&self) -> &[Entry] {
        &self.page_table
    }
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    pub fn is_pinned(&self, level: usize) -> bool {
        self.states[level].pinned
    }

    /// Where a resident page is.
    pub fn origin(&self, page: PageKey) -> Option<PageOrigin> {
        let code = self.codes[page.tile as usize * self.levels + page.level as usize];
        (code != EMPTY_SLOT).then(|| PageOrigin::from_code(code))
    }
    pub fn is_resident(&self, page: PageKey) -> bool {
        self.codes[page.tile as usize * self.levels + page.level as usize] != EMPTY_SLOT
    }

    /// The finest resident level at or below `level` (level 0 always is).
    pub fn resolve(&self, tile: u32, level: usize) -> usize {
        self.page_table[tile as usize * self.levels + level][1] as usize
    }

    /// Recomputes a tile's resolved row after one of its pages came or went.
    fn resolve_row(&mut self, tile: u32) {
        let at = tile as usize * self.levels;
        let mut best = [self.codes[at], 0];
        for l in 0..self.levels {
            if self.codes[at + l] != EMPTY_SLOT {
                best = [self.codes[at + l], l as u32];
            }
            self.page_table[at + l] = best;
        }
        self.mark_dirty(at);
        self.mark_dirty(at + self.levels - 1);
    }

    /// The page-table rows holding a tile's entries (one, or two where it straddles).
    fn rows_of(&self, tile: u32) -> [u32; 2] {
        let at = tile as usize * self.levels;
        let width = PAGE_TABLE_WIDTH as usize;
        [(at / width) as u32, ((at + self.levels - 1) / width) as u32]
    }

    /// How many page-table rows not yet changed this frame inserting `page` would change
    /// (its tile's, and an evicted tile's): what the insertion adds to the upload.
    pub fn new_rows_for_insert(&self, page: PageKey, frame: u64) -> usize {
        let mut rows = self.rows_of(page.tile).to_vec();
        if let Some(victim) = self.victim(page.level as usize, frame) {
            rows.extend(self.rows_of(victim));
        }
        rows.sort_unstable();
        rows.dedup();
        rows.iter().filter(|&&r| !self.dirty[r as usize]).count()
    }

    /// The tile whose page of `level` an insertion in `frame` would evict (none while a
    /// slot is free).
    fn victim(&self, level: usize, frame: u64) -> Option<u32> {
        let st = &self.states[level];
        if !st.free.is_empty() || st.pinned {
            return None;
        }
        st.lru
            .peek_lru()
            .filter(|(_, &(f, _))| f < frame)
            .map(|(&tile, _)| tile)
    }

    /// Marks a resident page as used in `frame`.
    pub fn touch(&mut self, page: PageKey, frame: u64) {
        if page.level > 0 {
            if let Some(entry) = self.states[page.level as usize].lru.get_mut(&page.tile) {
                entry.0 = frame;
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

    /// Whether a page of `level` could be made resident in `frame`.
    pub fn has_room(&self, level: usize, frame: u64) -> bool {
        let st = &self.states[level];
        !st.free.is_empty()
            || (!st.pinned && st.lru.peek_lru().is_some_and(|(_, &(f, _))| f < frame))
    }

    /// Gives `page` a slot, evicting the least recently used page of its level if needed.
    pub fn insert(&mut self, page: PageKey, frame: u64) -> Result<Inserted, InsertError> {
        let level = page.level as usize;
        assert!(level > 0, "level 0 is always resident");
        if let Some(origin) = self.origin(page) {
            self.touch(page, frame);
            return Ok(Inserted {
                origin,
                evicted: None,
            });
        }
        let st = &mut self.states[level];
        let (slot, evicted) = match st.free.pop() {
            Some(slot) => (slot, None),
            None => {
                match st.lru.peek_lru() {
                    Some((_, &(f, _))) if !st.pinned && f < frame => {}
                    _ => return Err(InsertError::Full),
                }
                let (victim, (_, slot)) = st.lru.pop_lru().expect("peeked");
                self.codes[victim as usize * self.levels + level] = EMPTY_SLOT;
                self.resolve_row(victim);
                self.evictions += 1;
                (slot, Some(victim))
            }
        };
        self.states[level].lru.put(page.tile, (frame, slot));
        let origin = self.layout.origin(level, slot);
        self.codes[page.tile as usize * self.levels + level] = origin.code();
        self.resolve_row(page.tile);
        Ok(Inserted { origin, evicted })
    }

    /// Drops a page; level 0 cannot be dropped.
    pub fn remove(&mut self, page: PageKey) {
        let level = page.level as usize;
        if level == 0 {
            return;
        }
        if let Some((_, slot)) = self.states[level].lru.pop(&page.tile) {
            self.states[level].free.push(slot);
            self.codes[page.tile as usize * self.levels + level] = EMPTY_SLOT;
            self.resolve_row(page.tile);
        }
    }

    fn mark_dirty(&mut self, entry: usize) {
        let row = entry / PAGE_TABLE_WIDTH as usize;
        if !self.dirty[row] {
            self.dirty[row] = true;
            self.dirty_rows.push(row as u32);
        }
    }

    /// Page-table rows changed since the last call, ascending (empty when none did).
    pub fn take_dirty_rows(&mut self) -> Vec<u32> {
        let mut rows = std::mem::take(&mut self.dirty_rows);
        for &r in &rows {
            self.dirty[r as usize] = false;
        }
        rows.sort_unstable();
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atlas::LevelPlan;

    /// 10 tiles of up to 4 px: levels 0 and 1 pinned, level 2 paged with `capacity` slots.
    fn residency(capacity: u32) -> Residency {
        let plan = |level, first_block, blocks, capacity, pinned| LevelPlan {
            level,
            first_block,
            blocks,
            capacity,
            pinned,
        };
        let layout = AtlasLayout {
            block: 4,
            layer_size: 4,
            layers: 6,
            levels: vec![
                plan(0, 0, 1, 10, true),
                plan(1, 1, 3, 10, true),
                plan(2, 4, capacity, capacity, false),
            ],
        };
        Residency::new(10, &layout)
    }

    #[test]
    fn level_zero_is_always_resident_and_resolve_falls_back() {
        let mut r = residency(2);
        for t in 0..10 {
            assert!(r.is_resident(PageKey::new(t, 0)));
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
        let first = r.insert(PageKey::new(0, 2), 1).unwrap().origin;
        let second = r.insert(PageKey::new(1, 2), 2).unwrap().origin;
        assert_ne!(first, second);
        r.touch(PageKey::new(0, 2), 3);
        // Tile 1 was used longest ago: its slot is reused.
        let got = r.insert(PageKey::new(2, 2), 3).unwrap();
        assert_eq!((got.evicted, got.origin), (Some(1), second));
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
            assert_eq!(
                r.insert(PageKey::new(t, 1), t as u64).unwrap().evicted,
                None
            );
        }
        assert!(r.level_complete(1));
        assert_eq!(r.insert(PageKey::new(0, 1), 99).unwrap().evicted, None);
    }

    #[test]
    fn page_table_is_resolved_and_changes_are_reported_once() {
        let mut r = residency(2);
        assert_eq!(r.take_dirty_rows(), vec![0]);
        assert!(r.take_dirty_rows().is_empty());
        let base = r.page_table()[5 * 3];
        assert_eq!(base[1], 0);
        // Level 2 arrives: levels 0, 1 still draw level 0; level 2 draws itself.
        let origin = r.insert(PageKey::new(5, 2), 1).unwrap().origin;
        assert_eq!(r.take_dirty_rows(), vec![0]);
        assert_eq!(&r.page_table()[15..18], &[base, base, [origin.code(), 2]]);
        // Level 1 arrives: wanting level 1 draws it; level 2 still draws level 2.
        let one = r.insert(PageKey::new(5, 1), 1).unwrap().origin;
        assert_eq!(
            &r.page_table()[15..18],
            &[base, [one.code(), 1], [origin.code(), 2]]
        );
        // Level 2 goes: wanting level 2 falls back to level 1.
        r.remove(PageKey::new(5, 2));
        assert_eq!(
            &r.page_table()[15..18],
            &[base, [one.code(), 1], [one.code(), 1]]
        );
        assert_eq!(r.resolve(5, 2), 1);
    }

    #[test]
    fn only_changed_page_table_rows_are_reported_and_costed() {
        // 3,000 tiles × 3 levels = 9,000 entries: five rows of 2,048.
        let plan = |level, first_block, blocks, capacity, pinned| LevelPlan {
            level,
            first_block,
            blocks,
            capacity,
            pinned,
        };
        let layout = AtlasLayout {
            block: 4,
            layer_size: 256,
            layers: 4,
            levels: vec![
                plan(0, 0, 188, 3000, true),
                plan(1, 188, 1, 4, false),
                plan(2, 189, 1, 1, false),
            ],
        };
        let mut r = Residency::new(3000, &layout);
        assert_eq!(r.take_dirty_rows(), vec![0, 1, 2, 3, 4]);
        // A change at tile 5 and one at tile 2,900: rows 0 and 4, nothing between.
        assert_eq!(r.new_rows_for_insert(PageKey::new(5, 2), 1), 1);
        r.insert(PageKey::new(5, 2), 1).unwrap();
        assert_eq!(
            r.new_rows_for_insert(PageKey::new(6, 1), 1),
            0,
            "row 0 is dirty already"
        );
        r.insert(PageKey::new(2900, 1), 1).unwrap();
        assert_eq!(r.take_dirty_rows(), vec![0, 4]);
        // Level 2 has one slot: inserting tile 1,400's page evicts tile 5's, touching both rows.
        assert_eq!(r.new_rows_for_insert(PageKey::new(1400, 2), 2), 2);
        let got = r.insert(PageKey::new(1400, 2), 2).unwrap();
        assert_eq!(got.evicted, Some(5));
        assert_eq!(r.take_dirty_rows(), vec![0, 2]);
    }
}
