//! Residency: which `(record, level)` pages occupy which atlas slots, and the page table the
//! renderers draw from. Pure bookkeeping, no GPU.
//!
//! A record is one frame: a still is one record, a clip a run of them. Pages are keyed by
//! record, so the atlas, the RAM cache and the loaders never need to know what a clip is.
//! The page table is kept per *tile*: each tile shows one record at a time, its *current*
//! record (a clip's frame for the playback clock), and entry `(tile, level)` names what is
//! drawn when that level is wanted:
//!
//! 1. the current record's page at that level, when resident;
//! 2. else the page last shown at that level, if it is still resident (a late frame shows
//!    the previous frame, sharp, before it shows a coarser level);
//! 3. else whatever the next coarser level draws.
//!
//! Level 0 is resident for every record, so the chain always ends. The table is mirrored
//! verbatim to the shader and the CPU reference; drawing a pixel takes one lookup and no
//! search: the search happens here, once per change.
//!
//! Pinned levels give every record a slot (its own number) and never evict. Paged levels
//! evict the least recently used page, but never one used in the current frame.

use crate::atlas::{AtlasLayout, Entry, PageOrigin, PAGE_TABLE_WIDTH};
use crate::library::store::Clip;
use lru::LruCache;
use std::sync::Arc;

/// A page: one record (a frame) at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageKey {
    pub record: u32,
    pub level: u8,
}

impl PageKey {
    pub fn new(record: u32, level: usize) -> PageKey {
        PageKey {
            record,
            level: level as u8,
        }
    }
}

/// No record shown at a level.
const NONE: u32 = u32::MAX;

/// Record numbers, a bit each: whether a level holds a record's page, answered without a
/// look-up in a map of hundreds of thousands of pages. Most pages asked about in a frame of
/// playing clips (their next frames) are not held, and a map's miss is a cache miss.
#[derive(Clone, Debug, Default)]
pub struct RecordSet(Vec<u64>);

impl RecordSet {
    /// Every record below `records`.
    pub fn all(records: u32) -> RecordSet {
        let mut set = RecordSet(vec![u64::MAX; (records as usize).div_ceil(64)]);
        if let Some(last) = set.0.last_mut().filter(|_| !records.is_multiple_of(64)) {
            *last = (1 << (records % 64)) - 1;
        }
        set
    }
    pub fn contains(&self, record: u32) -> bool {
        let r = record as usize;
        self.0.get(r / 64).is_some_and(|w| w >> (r % 64) & 1 == 1)
    }
    pub fn insert(&mut self, record: u32) {
        let r = record as usize;
        if r / 64 >= self.0.len() {
            self.0.resize(r / 64 + 1, 0);
        }
        self.0[r / 64] |= 1 << (r % 64);
    }
    pub fn remove(&mut self, record: u32) {
        let r = record as usize;
        if let Some(w) = self.0.get_mut(r / 64) {
            *w &= !(1 << (r % 64));
        }
    }
}

enum LevelState {
    /// Every record has a slot, its own number; `loaded` says which hold their page.
    Pinned { loaded: RecordSet, count: u32 },
    /// Slots shared by recency: the free ones, and resident records least recently used
    /// first, each with (frame last used, slot); `loaded` says which records are in `lru`.
    Paged {
        free: Vec<u32>,
        lru: LruCache<u32, (u64, u32)>,
        loaded: RecordSet,
    },
}

/// Why a page could not be made resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Every slot holds a page used this frame.
    Full,
}

/// What an insertion did: where the page goes and the record evicted from there, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub origin: PageOrigin,
    pub evicted: Option<u32>,
}

pub struct Residency {
    layout: AtlasLayout,
    levels: usize,
    records: u32,
    /// Per tile: its records.
    clips: Arc<Vec<Clip>>,
    /// (first record, tile), by first record: the tile a record belongs to.
    by_record: Vec<(u32, u32)>,
    states: Vec<LevelState>,
    /// Per tile: the record the tile shows now.
    current: Vec<u32>,
    /// Per tile × level: the record whose page is drawn at exactly that level, or NONE.
    shown: Vec<u32>,
    /// Per tile × level: what is drawn when that level is wanted (mirrored to the renderers).
    page_table: Vec<Entry>,
    /// Per tile × level: how many of the tile's records have their page of that level
    /// resident (level 0 aside). A row is re-resolved for every playing clip on screen at
    /// each tick; where this is 0 there is nothing to look up in the level's LRU map (two
    /// hash look-ups a level, cache misses once the maps are full: 0.7 ms of a 4 ms tick of
    /// the whole 18,000-clip mosaic).
    resident_pages: Vec<u32>,
    /// Page-table rows (`PAGE_TABLE_WIDTH` entries each) changed since the last upload:
    /// a flag per row and the list of flagged rows, so an upload sends only what changed.
    dirty: Vec<bool>,
    dirty_rows: Vec<u32>,
    evictions: u64,
}

impl Residency {
    /// Residency for tiles `clips` (records `0..records`) laid out as `layout`. Level 0 is
    /// taken as resident for every record: the caller writes it before the first draw.
    /// Every tile starts on its key frame.
    pub fn new(clips: Arc<Vec<Clip>>, records: u32, layout: &AtlasLayout) -> Residency {
        let levels = layout.levels.len();
        let tiles = clips.len();
        let states = layout
            .levels
            .iter()
            .map(|plan| {
                if plan.level == 0 {
                    LevelState::Pinned {
                        loaded: RecordSet::all(records),
                        count: records,
                    }
                } else if plan.pinned {
                    LevelState::Pinned {
                        loaded: RecordSet::default(),
                        count: 0,
                    }
                } else {
                    LevelState::Paged {
                        // Pop from the end: lowest slots first.
                        free: (0..plan.capacity).rev().collect(),
                        lru: LruCache::unbounded(),
                        loaded: RecordSet::default(),
                    }
                }
            })
            .collect();
        let mut by_record: Vec<(u32, u32)> = clips
            .iter()
            .enumerate()
            .map(|(t, c)| (c.first, t as u32))
            .collect();
        by_record.sort_unstable();
        let rows = (tiles * levels).div_ceil(PAGE_TABLE_WIDTH as usize);
        let mut r = Residency {
            layout: layout.clone(),
            levels,
            records,
            current: clips.iter().map(Clip::key_record).collect(),
            clips,
            by_record,
            states,
            shown: vec![NONE; tiles * levels],
            page_table: vec![[0, 0]; tiles * levels],
            resident_pages: vec![0; tiles * levels],
            dirty: vec![false; rows],
            dirty_rows: Vec::new(),
            evictions: 0,
        };
        for t in 0..tiles as u32 {
            r.resolve_row(t);
        }
        r
    }

    pub fn levels(&self) -> usize {
        self.levels
    }
    pub fn tiles(&self) -> u32 {
        self.clips.len() as u32
    }
    pub fn records(&self) -> u32 {
        self.records
    }
    pub fn clip(&self, tile: u32) -> Clip {
        self.clips[tile as usize]
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
        matches!(self.states[level], LevelState::Pinned { .. })
    }

    /// The tile a record belongs to.
    pub fn tile_of(&self, record: u32) -> u32 {
        let i = self
            .by_record
            .partition_point(|&(first, _)| first <= record);
        self.by_record[i - 1].1
    }

    /// Where a resident page is.
    pub fn origin(&self, page: PageKey) -> Option<PageOrigin> {
        let level = page.level as usize;
        self.is_resident(page).then_some(())?;
        let slot = match &self.states[level] {
            LevelState::Pinned { .. } => page.record,
            LevelState::Paged { lru, .. } => lru.peek(&page.record)?.1,
        };
        Some(self.layout.origin(level, slot))
    }
    /// Whether `page` is resident: its level's record set, no look-up in a map.
    pub fn is_resident(&self, page: PageKey) -> bool {
        match &self.states[page.level as usize] {
            LevelState::Pinned { loaded, .. } | LevelState::Paged { loaded, .. } => {
                loaded.contains(page.record)
            }
        }
    }

    /// The record a tile shows now.
    pub fn current(&self, tile: u32) -> u32 {
        self.current[tile as usize]
    }

    /// Makes `record` (one of the tile's) the one `tile` shows, re-resolving its row.
    pub fn set_current(&mut self, tile: u32, record: u32) {
        if self.current[tile as usize] != record {
            debug_assert_eq!(self.tile_of(record), tile);
            self.current[tile as usize] = record;
            self.resolve_row(tile);
        }
    }

    /// The level drawn when `level` is wanted for `tile`.
    pub fn resolve(&self, tile: u32, level: usize) -> usize {
        self.page_table[tile as usize * self.levels + level][1] as usize
    }

    /// The record whose page is drawn when `level` is wanted for `tile`.
    pub fn drawn_record(&self, tile: u32, level: usize) -> u32 {
        let at = tile as usize * self.levels;
        self.shown[at + self.resolve(tile, level)]
    }

    /// Whether wanting `level` of `tile` draws another frame than its current one: the
    /// current frame is late at that level and every coarser one.
    pub fn is_late(&self, tile: u32, level: usize) -> bool {
        self.drawn_record(tile, level) != self.current[tile as usize]
    }

    /// Recomputes a tile's row after its current record changed or one of its pages came
    /// or went (see the module notes for the order of preference).
    fn resolve_row(&mut self, tile: u32) {
        let at = tile as usize * self.levels;
        let cur = self.current[tile as usize];
        let level0 = self
            .origin(PageKey::new(cur, 0))
            .expect("level 0 is resident");
        let mut best = [level0.code(), 0];
        self.shown[at] = cur;
        self.page_table[at] = best;
        for l in 1..self.levels {
            let stale = self.shown[at + l];
            if self.resident_pages[at + l] == 0 {
                self.shown[at + l] = NONE;
            } else if let Some(o) = self.origin(PageKey::new(cur, l)) {
                best = [o.code(), l as u32];
                self.shown[at + l] = cur;
            } else if stale != NONE && self.is_resident(PageKey::new(stale, l)) {
                // Still the page the row names (a resident page keeps its slot, and one
                // that leaves re-resolves the row): no look-up in the level's map, which
                // for every clip at a tick of the whole mosaic took 2.5 ms of a 4.7 ms
                // update once zooms had left pages at the paged levels.
                debug_assert_eq!(
                    Some(self.page_table[at + l][0]),
                    self.origin(PageKey::new(stale, l)).map(|o| o.code())
                );
                best = self.page_table[at + l];
            } else {
                self.shown[at + l] = NONE;
            }
            self.page_table[at + l] = best;
        }
        self.mark_dirty(at);
        self.mark_dirty(at + self.levels - 1);
    }

    /// After `page` came (`came`) or went: its tile's count of resident pages, and the row
    /// of the tile that shows or wants it.
    fn page_changed(&mut self, page: PageKey, came: bool) {
        let tile = self.tile_of(page.record);
        let at = tile as usize * self.levels + page.level as usize;
        let count = &mut self.resident_pages[at];
        *count = if came { *count + 1 } else { *count - 1 };
        if self.current[tile as usize] == page.record || self.shown[at] == page.record {
            self.resolve_row(tile);
        }
    }

    /// The page-table rows holding a tile's entries (one, or two where it straddles).
    fn rows_of(&self, tile: u32) -> [u32; 2] {
        let at = tile as usize * self.levels;
        let width = PAGE_TABLE_WIDTH as usize;
        [(at / width) as u32, ((at + self.levels - 1) / width) as u32]
    }

    /// How many page-table rows not yet changed this frame inserting `page` would change
    /// (the row of the tile that wants it, and of a tile whose shown page it evicts): what
    /// the insertion adds to the upload.
    pub fn new_rows_for_insert(&self, page: PageKey, frame: u64) -> usize {
        let level = page.level as usize;
        let mut rows = Vec::with_capacity(4);
        let tile = self.tile_of(page.record);
        if self.current[tile as usize] == page.record {
            rows.extend(self.rows_of(tile));
        }
        if let Some(victim) = self.victim(level, frame) {
            let vt = self.tile_of(victim);
            if self.shown[vt as usize * self.levels + level] == victim {
                rows.extend(self.rows_of(vt));
            }
        }
        rows.sort_unstable();
        rows.dedup();
        rows.iter().filter(|&&r| !self.dirty[r as usize]).count()
    }

    /// The record whose page of `level` an insertion in `frame` would evict (none while a
    /// slot is free, or on a pinned level).
    fn victim(&self, level: usize, frame: u64) -> Option<u32> {
        match &self.states[level] {
            LevelState::Paged { free, lru, .. } if free.is_empty() => lru
                .peek_lru()
                .filter(|(_, &(f, _))| f < frame)
                .map(|(&record, _)| record),
            _ => None,
        }
    }

    /// Marks a resident page as used in `frame` (it will not be evicted this frame).
    /// Returns whether it is resident, so callers need not ask `is_resident` first.
    pub fn touch(&mut self, page: PageKey, frame: u64) -> bool {
        if !self.is_resident(page) {
            return false;
        }
        if let LevelState::Paged { lru, .. } = &mut self.states[page.level as usize] {
            if let Some(entry) = lru.get_mut(&page.record) {
                entry.0 = entry.0.max(frame);
            }
        }
        true
    }

    /// Resident pages of a level.
    pub fn resident_count(&self, level: usize) -> usize {
        match &self.states[level] {
            LevelState::Pinned { count, .. } => *count as usize,
            LevelState::Paged { lru, .. } => lru.len(),
        }
    }

    /// Bytes of resident pages over all levels.
    pub fn resident_bytes(&self) -> u64 {
        (0..self.levels)
            .map(|l| self.resident_count(l) as u64 * crate::library::page_bytes(l) as u64)
            .sum()
    }

    /// Whether every record's page of `level` is resident (then it needs no further work).
    pub fn level_complete(&self, level: usize) -> bool {
        self.resident_count(level) == self.records as usize
    }

    /// Whether a page of `level` could be made resident in `frame`.
    pub fn has_room(&self, level: usize, frame: u64) -> bool {
        match &self.states[level] {
            LevelState::Pinned { .. } => true,
            LevelState::Paged { free, lru, .. } => {
                !free.is_empty() || lru.peek_lru().is_some_and(|(_, &(f, _))| f < frame)
            }
        }
    }

    /// Gives `page` a slot, evicting the least recently used page of its level if needed.
    pub fn insert(&mut self, page: PageKey, frame: u64) -> Result<Inserted, InsertError> {
        let level = page.level as usize;
        if let Some(origin) = self.origin(page) {
            self.touch(page, frame);
            return Ok(Inserted {
                origin,
                evicted: None,
            });
        }
        let (slot, evicted) = match &mut self.states[level] {
            LevelState::Pinned { loaded, count } => {
                loaded.insert(page.record);
                *count += 1;
                (page.record, None)
            }
            LevelState::Paged { free, lru, loaded } => {
                let (slot, evicted) = match free.pop() {
                    Some(slot) => (slot, None),
                    None => {
                        match lru.peek_lru() {
                            Some((_, &(f, _))) if f < frame => {}
                            _ => return Err(InsertError::Full),
                        }
                        let (victim, (_, slot)) = lru.pop_lru().expect("peeked");
                        loaded.remove(victim);
                        (slot, Some(victim))
                    }
                };
                lru.put(page.record, (frame, slot));
                loaded.insert(page.record);
                (slot, evicted)
            }
        };
        if let Some(victim) = evicted {
            self.evictions += 1;
            self.page_changed(PageKey::new(victim, level), false);
        }
        self.page_changed(page, true);
        Ok(Inserted {
            origin: self.layout.origin(level, slot),
            evicted,
        })
    }

    /// Drops a page of a paged level (pinned pages stay).
    pub fn remove(&mut self, page: PageKey) {
        if let LevelState::Paged { free, lru, loaded } = &mut self.states[page.level as usize] {
            if let Some((_, slot)) = lru.pop(&page.record) {
                loaded.remove(page.record);
                free.push(slot);
                self.page_changed(page, false);
            }
        }
    }

    fn mark_dirty(&mut self, entry: usize) {
        let row = entry / PAGE_TABLE_WIDTH as usize;
        if !self.dirty[row] {
            self.dirty[row] = true;
            self.dirty_rows.push(row as u32);
        }
    }

    /// Marks every row changed (the whole table must be sent: a backend's first upload).
    pub fn mark_all_dirty(&mut self) {
        for row in 0..self.dirty.len() {
            if !self.dirty[row] {
                self.dirty[row] = true;
                self.dirty_rows.push(row as u32);
            }
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

    fn plan(level: usize, first_block: u32, blocks: u32, capacity: u32, pinned: bool) -> LevelPlan {
        LevelPlan {
            level,
            first_block,
            blocks,
            capacity,
            pinned,
        }
    }

    fn stills(n: u32) -> Arc<Vec<Clip>> {
        Arc::new(
            (0..n)
                .map(|t| Clip {
                    first: t,
                    frames: 1,
                    key: 0,
                })
                .collect(),
        )
    }

    /// 10 stills of up to 4 px: levels 0 and 1 pinned, level 2 paged with `capacity` slots.
    fn residency(capacity: u32) -> Residency {
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
        Residency::new(stills(10), 10, &layout)
    }

    #[test]
    fn record_sets_hold_what_was_inserted_and_nothing_past_it() {
        let all = RecordSet::all(70);
        assert!((0..70).all(|r| all.contains(r)));
        assert!(!all.contains(70) && !all.contains(1000));
        let mut set = RecordSet::default();
        for r in [3, 64, 200] {
            set.insert(r);
        }
        set.remove(64);
        set.remove(5000);
        let held: Vec<u32> = (0..300).filter(|&r| set.contains(r)).collect();
        assert_eq!(held, [3, 200]);
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
        // Record 1 was used longest ago: its slot is reused.
        let got = r.insert(PageKey::new(2, 2), 3).unwrap();
        assert_eq!((got.evicted, got.origin), (Some(1), second));
        assert!(!r.is_resident(PageKey::new(1, 2)));
        assert_eq!(
            r.resolve(1, 2),
            0,
            "tile 1 falls back once its page is gone"
        );
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
        let mut r = Residency::new(stills(3000), 3000, &layout);
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

    /// Two clips of 4 frames (records 0–3 and 4–7) and a still (record 8); level 1 paged
    /// with 6 slots.
    fn clips() -> Residency {
        let clips = Arc::new(vec![
            Clip {
                first: 0,
                frames: 4,
                key: 2,
            },
            Clip {
                first: 4,
                frames: 4,
                key: 0,
            },
            Clip {
                first: 8,
                frames: 1,
                key: 0,
            },
        ]);
        let layout = AtlasLayout {
            block: 2,
            layer_size: 8,
            layers: 1,
            levels: vec![plan(0, 0, 3, 9, true), plan(1, 3, 6, 6, false)],
        };
        Residency::new(clips, 9, &layout)
    }

    #[test]
    fn a_clip_starts_on_its_key_frame_and_its_row_follows_the_current_frame() {
        let mut r = clips();
        assert_eq!((r.current(0), r.current(1), r.current(2)), (2, 4, 8));
        assert_eq!(r.tile_of(3), 0);
        assert_eq!(r.tile_of(4), 1);
        assert_eq!(r.tile_of(8), 2);
        let f3 = r.insert(PageKey::new(3, 1), 1).unwrap().origin;
        // Frame 3 is resident but not current: the row still draws frame 2's level 0.
        assert_eq!(r.resolve(0, 1), 0);
        r.set_current(0, 3);
        assert_eq!(r.page_table()[1], [f3.code(), 1], "tile 0, level 1");
        assert!(!r.is_late(0, 1));
        assert_eq!(r.page_table()[0], [r.layout().origin(0, 3).code(), 0]);
    }

    #[test]
    fn a_late_frame_shows_the_previous_frame_before_a_coarser_level() {
        let mut r = clips();
        r.set_current(0, 0);
        let f0 = r.insert(PageKey::new(0, 1), 1).unwrap().origin;
        assert!(!r.is_late(0, 1));
        // The clock moves on to frame 1, whose level-1 page is not here yet: frame 0 stays,
        // sharp, and the frame counts as late.
        r.set_current(0, 1);
        assert_eq!(r.page_table()[1], [f0.code(), 1]);
        assert!(r.is_late(0, 1));
        assert_eq!(r.drawn_record(0, 1), 0);
        // Level 0 always shows the current frame.
        assert_eq!(r.page_table()[0], [r.layout().origin(0, 1).code(), 0]);
        // Frame 1 arrives: it is drawn, not late any more.
        let f1 = r.insert(PageKey::new(1, 1), 2).unwrap().origin;
        assert_eq!(r.page_table()[1], [f1.code(), 1]);
        assert!(!r.is_late(0, 1));
        // Frame 2 is late and the shown frame 1 is evicted meanwhile: coarser, current.
        r.set_current(0, 2);
        assert_eq!(r.drawn_record(0, 1), 1);
        r.remove(PageKey::new(1, 1));
        assert_eq!(r.resolve(0, 1), 0);
        assert_eq!(r.drawn_record(0, 1), 2);
        assert!(
            !r.is_late(0, 1),
            "a coarser current frame is not a late one"
        );
    }

    /// Through inserts (with evictions), removals and ticks in a pseudo-random order, each
    /// row keeps the order of preference (current frame, else the frame last shown, else
    /// coarser) and each tile's count of resident pages stays the true count, which rows
    /// trust to skip levels with none.
    #[test]
    fn rows_keep_their_order_of_preference_through_evictions_and_ticks() {
        let mut r = clips();
        let mut seed = 7u32;
        let mut next = |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 16) % n
        };
        for frame in 1..400u64 {
            let record = next(9);
            let tile = r.tile_of(record);
            match next(3) {
                0 => {
                    let _ = r.insert(PageKey::new(record, 1), frame);
                }
                1 => r.remove(PageKey::new(record, 1)),
                _ => r.set_current(tile, record),
            }
            for tile in 0..3u32 {
                let clip = r.clip(tile);
                let records = clip.first..clip.first + clip.frames;
                let resident = records
                    .filter(|&rec| r.is_resident(PageKey::new(rec, 1)))
                    .count();
                assert_eq!(r.resident_pages[tile as usize * 2 + 1] as usize, resident);
                let current = r.current(tile);
                let entry = r.page_table()[tile as usize * 2 + 1];
                let shown = r.drawn_record(tile, 1);
                let want = match r.origin(PageKey::new(current, 1)) {
                    Some(o) => [o.code(), 1],
                    None if r.resolve(tile, 1) == 1 => {
                        let o = r.origin(PageKey::new(shown, 1));
                        [o.expect("a shown page is resident").code(), 1]
                    }
                    None => [r.layout().origin(0, current).code(), 0],
                };
                assert_eq!(entry, want, "tile {tile} at frame {frame}");
            }
        }
    }
}
