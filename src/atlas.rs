//! Atlas layout and budget plan: how each level's resident pages are laid out in a
//! `texture_2d_array` (or its CPU twin), and how a GPU memory budget is split between levels.
//! Pure arithmetic, no GPU.
//!
//! Level `l` pages are `2^l` texels square. A layer of side `layer_size` holds
//! `(layer_size / 2^l)²` slots, row-major; slot `s` lives in layer `s / slots_per_layer`.
//! Level 0 is always resident for every tile with slot = tile id, so a lookup can always
//! fall back to it.

use crate::library::page_bytes;
use crate::view::max_visible_cells;

/// Largest layer side used: small enough for every adapter's 2D limit.
pub const MAX_LAYER_SIZE: u32 = 2048;
/// Page-table entry of a page that is not resident.
pub const EMPTY_SLOT: u32 = u32::MAX;
/// Most levels a pyramid may have (1024-texel tiles); the shader binds this many atlases.
pub const MAX_LEVELS: usize = 11;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelLayout {
    pub level: usize,
    pub layer_size: u32,
    pub layers: u32,
    /// Slots in use by the plan (≤ layers × slots_per_layer).
    pub capacity: u32,
    /// Every tile's page fits: loaded once, never evicted.
    pub pinned: bool,
}

impl LevelLayout {
    /// A layout holding at least `capacity` pages of `level`.
    pub fn with_capacity(level: usize, capacity: u32, pinned: bool) -> LevelLayout {
        let tile = 1u32 << level;
        let side_slots = (capacity.max(1) as f64).sqrt().ceil() as u32;
        let layer_size = (side_slots.next_power_of_two() * tile).clamp(tile, MAX_LAYER_SIZE.max(tile));
        let per_layer = (layer_size / tile).pow(2);
        let layers = capacity.max(1).div_ceil(per_layer);
        LevelLayout { level, layer_size, layers, capacity: capacity.max(1), pinned }
    }
    /// The largest paged layout of `level` whose texture fits in `bytes` (at least one
    /// slot, so a level always has somewhere to stream to), for at most `tiles` pages.
    pub fn within_bytes(level: usize, bytes: u64, tiles: u32, max_layers: u32) -> LevelLayout {
        let tile = 1u32 << level;
        let pages = (bytes / page_bytes(level) as u64).clamp(1, tiles.max(1) as u64);
        // Widest power-of-two square of slots that fits both the pages and the layer limit.
        let mut side = 1u32;
        while (side as u64 * 2).pow(2) <= pages && side * 2 * tile <= MAX_LAYER_SIZE.max(tile) {
            side *= 2;
        }
        let per_layer = side as u64 * side as u64;
        let layers = (pages / per_layer).clamp(1, max_layers as u64) as u32;
        LevelLayout { level, layer_size: side * tile, layers, capacity: (layers as u64 * per_layer).min(tiles.max(1) as u64) as u32, pinned: false }
    }

    pub fn tile_size(&self) -> u32 {
        1 << self.level
    }
    pub fn slots_per_row(&self) -> u32 {
        self.layer_size >> self.level
    }
    pub fn slots_per_layer(&self) -> u32 {
        self.slots_per_row().pow(2)
    }
    /// `(layer, x, y)` of a slot's top-left texel.
    pub fn slot_origin(&self, slot: u32) -> (u32, u32, u32) {
        let per_row = self.slots_per_row();
        let layer = slot / self.slots_per_layer();
        let within = slot % self.slots_per_layer();
        (layer, (within % per_row) << self.level, (within / per_row) << self.level)
    }
    /// Bytes of the texture (all layers, RGBA8).
    pub fn bytes(&self) -> u64 {
        self.layers as u64 * (self.layer_size as u64).pow(2) * 4
    }
}

/// What the plan is made for.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput {
    pub tiles: u32,
    pub levels: usize,
    pub gpu_budget: u64,
    pub screen: (u32, u32),
    pub grid: (u32, u32),
    pub max_layers: u32,
}

/// Screenfuls of headroom a paged level gets: the visible set, the prefetch ring and the
/// pages of the previous view while the next one streams in.
pub const PAGED_HEADROOM: u64 = 3;

/// Pages of `level` one screen can show at most (when `level` is the finer drawn level at its
/// smallest zoom), with headroom, capped by the library size.
pub fn screen_pages(level: usize, input: &PlanInput) -> u32 {
    let smallest_px = if level == 0 { 1.0 } else { (1u64 << (level - 1)) as f64 * 1.0001 };
    let (w, h) = input.screen;
    let cells = max_visible_cells(w, h, smallest_px, input.grid.0, input.grid.1);
    (cells * PAGED_HEADROOM).min(input.tiles as u64) as u32
}

/// Splits the budget: coarse levels are pinned while holding all of a level still leaves
/// every finer level room for its screenfuls; the rest of the budget is shared by the
/// paged levels in proportion to those screenfuls.
pub fn plan_atlases(input: &PlanInput) -> Vec<LevelLayout> {
    let need = |l: usize| screen_pages(l, input) as u64 * page_bytes(l) as u64;
    let reserve_above = |l: usize| (l + 1..input.levels).map(need).sum::<u64>();
    let mut plan = Vec::new();
    let mut used = 0u64;
    let mut level = 0;
    while level < input.levels {
        let full = LevelLayout::with_capacity(level, input.tiles, true);
        let fits_layers = full.layers <= input.max_layers;
        if level == 0 || (fits_layers && used + full.bytes() + reserve_above(level) <= input.gpu_budget) {
            used += full.bytes();
            plan.push(full);
            level += 1;
        } else {
            break;
        }
    }
    let paged: Vec<usize> = (level..input.levels).collect();
    let total_need: u64 = paged.iter().map(|&l| need(l)).sum();
    let left = input.gpu_budget.saturating_sub(used);
    for &l in &paged {
        let share = if total_need == 0 { 0 } else { (left as u128 * need(l) as u128 / total_need as u128) as u64 };
        plan.push(LevelLayout::within_bytes(l, share, input.tiles, input.max_layers));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_tile_the_layer() {
        let l = LevelLayout::with_capacity(3, 100, false);
        assert!(l.layers * l.slots_per_layer() >= 100);
        let mut seen = std::collections::HashSet::new();
        for s in 0..l.layers * l.slots_per_layer() {
            let (layer, x, y) = l.slot_origin(s);
            assert!(layer < l.layers && x + 8 <= l.layer_size && y + 8 <= l.layer_size);
            assert!(seen.insert((layer, x, y)));
        }
    }

    #[test]
    fn level_zero_slot_is_the_tile_id_layout() {
        let l = LevelLayout::with_capacity(0, 18_000, true);
        assert_eq!(l.layer_size, 256);
        assert_eq!(l.layers, 1);
        assert_eq!(l.slot_origin(257), (0, 1, 1));
    }

    #[test]
    fn budget_pins_coarse_levels_and_pages_fine_ones() {
        let input = PlanInput {
            tiles: 18_000,
            levels: 9,
            gpu_budget: 512 << 20,
            screen: (1920, 1080),
            grid: (1920, 1080),
            max_layers: 256,
        };
        let plan = plan_atlases(&input);
        assert_eq!(plan.len(), 9);
        let total: u64 = plan.iter().map(|l| l.bytes()).sum();
        assert!(total <= input.gpu_budget, "{total} > budget");
        assert!(plan[..5].iter().all(|l| l.pinned && l.capacity == 18_000));
        assert!(!plan[8].pinned);
        // Every paged level still holds its screenful.
        for l in plan.iter().filter(|l| !l.pinned) {
            assert!(l.capacity >= screen_pages(l.level, &input) / PAGED_HEADROOM as u32, "{l:?}");
        }
        // A tiny budget is never exceeded (beyond one page per level).
        let tiny = plan_atlases(&PlanInput { gpu_budget: 4 << 20, ..input });
        let total: u64 = tiny.iter().map(|l| l.bytes()).sum();
        assert!(total <= 4 << 20, "{total}");
        assert!(tiny.iter().all(|l| l.capacity >= 1));
        // A small library fits whole.
        let small = plan_atlases(&PlanInput { tiles: 300, grid: (64, 36), ..input });
        assert!(small.iter().all(|l| l.pinned));
    }
}

/// Where resident pages are written: the GPU atlases, or their CPU twin. Both keep the same
/// slots and the same page table, so the CPU reference draws exactly what the GPU draws.
pub trait AtlasBackend {
    /// Stores `texels` (RGBA8 sRGB, one page of `level`) in `slot`.
    fn write_page(&mut self, level: usize, slot: u32, texels: &[u8]);
    /// Replaces page-table entries `first..first + entries.len()`.
    fn write_page_table(&mut self, first: usize, entries: &[u32]);
}
