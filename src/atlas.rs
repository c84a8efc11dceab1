//! Atlas layout and budget plan: where each resident page lives on the GPU (or its CPU
//! twin), and how a GPU memory budget is split between levels. Pure arithmetic, no GPU.
//!
//! One `texture_2d_array` of `layer_size²` layers holds every level. It is cut into blocks
//! of `block = max_tile` texels; each block belongs to one level and is cut into that level's
//! `2^level`-texel slots. A page-table entry is the page's texel origin, packed as
//! `layer << 22 | x << 11 | y`, so the shader samples one texture at one computed place,
//! whatever the level. (One texture per level would need a switch over bindings, and a
//! software rasteriser runs every branch of a divergent switch: measured 20× slower.)
//!
//! Level 0 is always resident for every tile (slot = tile id), so a lookup can always fall
//! back to it. Pinned levels hold a slot for every tile; paged levels stream.

use crate::view::max_visible_cells;

/// Layers are addressed with 10 bits, texels with 11: limits of the packed entry.
pub const MAX_ATLAS_LAYERS: u32 = 1023;
pub const MAX_LAYER_SIZE: u32 = 2048;
/// The GPU holds the page table as a 2D texture this many entries wide (a software
/// rasteriser fetches texels much faster than it gathers from storage buffers).
pub const PAGE_TABLE_WIDTH: u32 = 2048;
/// Bytes of one page-table row as uploaded (`Rg32Uint` texels): what a changed row costs
/// against the per-frame upload budget.
pub const PAGE_TABLE_ROW_BYTES: u64 = PAGE_TABLE_WIDTH as u64 * 8;

/// A resolved page-table entry: `[packed origin, level]` of the page drawn when a level is
/// wanted (see `residency`). Mirrored verbatim to the shader and the CPU reference.
pub type Entry = [u32; 2];

/// Texel origin of a page in the atlas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageOrigin {
    pub layer: u32,
    pub x: u32,
    pub y: u32,
}

impl PageOrigin {
    pub fn code(self) -> u32 {
        (self.layer << 22) | (self.x << 11) | self.y
    }
    pub fn from_code(code: u32) -> PageOrigin {
        PageOrigin {
            layer: code >> 22,
            x: (code >> 11) & 0x7ff,
            y: code & 0x7ff,
        }
    }
}

/// One level's share of the atlas: `blocks` consecutive blocks from `first_block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelPlan {
    pub level: usize,
    pub first_block: u32,
    pub blocks: u32,
    /// Slots available to the residency manager (≤ blocks × slots per block).
    pub capacity: u32,
    /// Every tile's page fits: loaded once, never evicted.
    pub pinned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtlasLayout {
    /// Block side in texels: the largest page.
    pub block: u32,
    /// Layer side in texels: `block · 2^k`.
    pub layer_size: u32,
    pub layers: u32,
    pub levels: Vec<LevelPlan>,
}

impl AtlasLayout {
    /// Slots of `level` in one block.
    pub fn slots_per_block(&self, level: usize) -> u32 {
        (self.block >> level).pow(2)
    }
    pub fn blocks_per_layer(&self) -> u32 {
        (self.layer_size / self.block).pow(2)
    }
    /// Where slot `slot` of `level` lives.
    pub fn origin(&self, level: usize, slot: u32) -> PageOrigin {
        let plan = &self.levels[level];
        let per_block = self.slots_per_block(level);
        let block = plan.first_block + slot / per_block;
        let within = slot % per_block;
        let per_row = self.block >> level;
        let blocks_per_row = self.layer_size / self.block;
        let in_layer = block % self.blocks_per_layer();
        PageOrigin {
            layer: block / self.blocks_per_layer(),
            x: (in_layer % blocks_per_row) * self.block + ((within % per_row) << level),
            y: (in_layer / blocks_per_row) * self.block + ((within / per_row) << level),
        }
    }
    /// Cuts the run of slots `first .. first + count` of `level` into rectangles of whole
    /// pages that each lie in one block: `(first slot of the piece, pages in it, pages
    /// across)`. Consecutive slots fill a block's rows of pages left to right, so a run is
    /// at most a partial row, whole rows, and a partial row per block: one copy each
    /// instead of one per page.
    pub fn run_pieces(&self, level: usize, first: u32, count: u32) -> Vec<(u32, u32, u32)> {
        let per_row = self.block >> level;
        let per_block = self.slots_per_block(level);
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < count {
            let slot = first + at;
            let within = slot % per_block;
            let col = within % per_row;
            let left = count - at;
            let piece = if col == 0 && left >= per_row {
                // Whole rows of pages, down to the block's end or the run's.
                let rows = left.min(per_block - within) / per_row;
                (slot, rows * per_row, per_row)
            } else {
                let n = left.min(per_row - col);
                (slot, n, n)
            };
            pieces.push(piece);
            at += piece.1;
        }
        pieces
    }

    /// Bytes of the texture (RGBA8).
    pub fn bytes(&self) -> u64 {
        self.layers as u64 * (self.layer_size as u64).pow(2) * 4
    }
    pub fn block_bytes(&self) -> u64 {
        (self.block as u64).pow(2) * 4
    }
    /// The smallest atlas possible for a library: one block per level.
    pub fn minimum_bytes(max_tile: u32, levels: usize) -> u64 {
        (max_tile as u64).pow(2) * 4 * levels as u64
    }
}

/// What the plan is made for.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput {
    /// Pages per level: one per still, one per frame of each clip.
    pub records: u32,
    /// Whether tiles play: a visible clip holds two frames per level (the one drawn and
    /// the one uploaded for the next tick).
    pub clips: bool,
    pub levels: usize,
    pub gpu_budget: u64,
    pub screen: (u32, u32),
    pub grid: (u32, u32),
    /// A cell's sides against its longer one (`[1, 1]` for square tiles).
    pub cell_shape: [f64; 2],
    pub max_layers: u32,
}

/// Screenfuls of headroom a paged level gets: the visible set, the prefetch ring and the
/// pages of the previous view while the next one streams in.
pub const PAGED_HEADROOM: u64 = 3;

/// Pages of `level` one screen can show at most (when `level` is the finer drawn level at its
/// smallest zoom), with headroom, capped by the library size.
pub fn screen_pages(level: usize, input: &PlanInput) -> u32 {
    (one_screen(level, input) * PAGED_HEADROOM).min(input.records as u64) as u32
}

/// Frames each visible tile holds per level: the one drawn, and for clips the next.
fn frames_in_flight(input: &PlanInput) -> u64 {
    if input.clips {
        2
    } else {
        1
    }
}

/// Cells of the largest view drawn from `level` (at its smallest zoom), without headroom.
fn one_screen(level: usize, input: &PlanInput) -> u64 {
    let smallest_px = if level == 0 {
        1.0
    } else {
        (1u64 << (level - 1)) as f64 * 1.0001
    };
    max_visible_cells(input.screen, smallest_px, input.grid, input.cell_shape)
        * frames_in_flight(input)
}

/// Why a GPU budget cannot be laid out as atlases.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("a GPU budget of {budget} bytes is below this library's minimum of {min} (one {block}-px page per level)")]
    BelowMinimum { budget: u64, min: u64, block: u32 },
    #[error("a GPU budget of {budget} bytes needs more atlas layers than this adapter has ({max_layers}); use a smaller --gpu-budget")]
    TooManyLayers { budget: u64, max_layers: u64 },
}

/// Splits the budget: coarse levels are pinned while holding all of a level still leaves
/// every finer level room for its screenfuls (levels no bigger than a screenful are pinned
/// whenever they fit); the rest of the budget is shared by the paged levels in proportion
/// to those screenfuls. Errors if the budget is below one block
/// per level, or more than the adapter's layers can hold.
pub fn plan_atlases(input: &PlanInput) -> Result<AtlasLayout, PlanError> {
    let block = 1u32 << (input.levels - 1);
    let block_bytes = (block as u64).pow(2) * 4;
    let min = AtlasLayout::minimum_bytes(block, input.levels);
    if input.gpu_budget < min {
        return Err(PlanError::BelowMinimum {
            budget: input.gpu_budget,
            min,
            block,
        });
    }
    let per_block = |l: usize| ((block >> l) as u64).pow(2);
    let blocks_for = |l: usize, pages: u64| pages.div_ceil(per_block(l)).max(1);
    let need = |l: usize| blocks_for(l, screen_pages(l, input) as u64);
    let budget_blocks = input.gpu_budget / block_bytes;

    let mut counts = Vec::new();
    let mut pinned = Vec::new();
    let mut used = 0u64;
    let mut level = 0;
    while level < input.levels {
        let full = blocks_for(level, input.records as u64);
        // A level no bigger than one screenful of it costs no more pinned than paged: pin it
        // whenever the finer levels keep a block each. (Left paged under a tight budget, the
        // small levels never complete and every zoomed-out frame streams.)
        let screenful = blocks_for(level, one_screen(level, input).min(input.records as u64));
        let reserve_above: u64 = if full <= screenful {
            (input.levels - level - 1) as u64
        } else {
            (level + 1..input.levels).map(need).sum()
        };
        if level == 0 || used + full + reserve_above <= budget_blocks {
            used += full;
            counts.push(full);
            pinned.push(true);
            level += 1;
        } else {
            break;
        }
    }
    let paged: Vec<usize> = (level..input.levels).collect();
    let total_need: u64 = paged.iter().map(|&l| need(l)).sum();
    let left = budget_blocks.saturating_sub(used).max(paged.len() as u64);
    for &l in &paged {
        let share = (left as u128 * need(l) as u128 / total_need.max(1) as u128) as u64;
        counts.push(share.clamp(1, blocks_for(l, input.records as u64)));
        pinned.push(false);
    }
    // Widen layers until the blocks fit the adapter's layer count.
    let max_layers = input.max_layers.min(MAX_ATLAS_LAYERS) as u64;
    let mut layer_size = block;
    while counts
        .iter()
        .sum::<u64>()
        .div_ceil(((layer_size / block) as u64).pow(2))
        > max_layers
    {
        if layer_size * 2 > MAX_LAYER_SIZE {
            return Err(PlanError::TooManyLayers {
                budget: input.gpu_budget,
                max_layers,
            });
        }
        layer_size *= 2;
    }
    let blocks_per_layer = ((layer_size / block) as u64).pow(2);
    // Whole layers are allocated: trim the largest paged shares until they fit the budget.
    let allowed = (budget_blocks / blocks_per_layer).max(1) * blocks_per_layer;
    while counts.iter().sum::<u64>() > allowed {
        let Some(biggest) = (0..counts.len())
            .filter(|&l| !pinned[l] && counts[l] > 1)
            .max_by_key(|&l| counts[l])
        else {
            break;
        };
        counts[biggest] -= 1;
    }
    let total_blocks: u64 = counts.iter().sum();
    let mut first = 0u64;
    let levels = counts
        .iter()
        .zip(&pinned)
        .enumerate()
        .map(|(l, (&n, &pin))| {
            let plan = LevelPlan {
                level: l,
                first_block: first as u32,
                blocks: n as u32,
                capacity: (n * per_block(l)).min(input.records as u64) as u32,
                pinned: pin,
            };
            first += n;
            plan
        })
        .collect();
    Ok(AtlasLayout {
        block,
        layer_size,
        layers: total_blocks.div_ceil(blocks_per_layer) as u32,
        levels,
    })
}

/// Bytes one page of `level` costs to upload: its rows padded to the 256 bytes a
/// buffer-to-texture copy needs (a 2×2 page stages 512 bytes, not 16). The per-frame upload
/// budget is charged this, so staging memory is bounded by the budget.
pub fn upload_cost(level: usize) -> u64 {
    let side = 1u64 << level;
    (side * 4).next_multiple_of(256) * side
}

/// Where resident pages are written: the GPU atlas, or its CPU twin. Both keep the same
/// layout and the same page table, so the CPU reference draws exactly what the GPU draws.
pub trait AtlasBackend {
    /// Stores `texels` (RGBA8 sRGB, a `size × size` page) at `origin`.
    fn write_page(&mut self, origin: PageOrigin, size: u32, texels: &[u8]);
    /// Mirrors the resolved page table; only the rows in `rows` (each `PAGE_TABLE_WIDTH`
    /// entries, ascending) changed since the last call.
    fn write_page_table(&mut self, table: &[Entry], rows: &[u32]);
    /// Sends what is staged now. Bulk loads call this between chunks, so staging memory
    /// holds one chunk rather than growing through the load.
    fn flush(&mut self) {}
    /// Stores the pages of `level` for the consecutive slots from `first` (`pages` holds them
    /// one after another). Bulk loads use it; a backend where each write has a fixed cost
    /// (a GPU copy command) writes whole rectangles of pages (`AtlasLayout::run_pieces`).
    fn write_run(&mut self, layout: &AtlasLayout, level: usize, first: u32, pages: &[u8]) {
        let size = 1u32 << level;
        let bytes = (size * size * 4) as usize;
        for (i, page) in pages.chunks_exact(bytes).enumerate() {
            self.write_page(layout.origin(level, first + i as u32), size, page);
        }
    }
    /// Replaces the match grid and its overview (a video target's next frame). Backends
    /// that draw from the scene's own copies (the CPU reference) need do nothing.
    fn write_grid(&mut self, _grid: &[u32], _overview: &crate::overview::Overview) {}
    /// Stores every cell's tint offset (`tint::offsets`), row-major like the grid: called
    /// the first time a tint is drawn, and with every new grid after that.
    fn write_tint(&mut self, offsets: &[crate::tint::Offset]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlanInput {
        PlanInput {
            records: 18_000,
            clips: false,
            levels: 9,
            gpu_budget: 512 << 20,
            screen: (1920, 1080),
            grid: (1920, 1080),
            cell_shape: crate::view::SQUARE,
            max_layers: 2048,
        }
    }

    #[test]
    fn runs_cut_into_rectangles_of_pages_within_blocks() {
        let layout = plan_atlases(&input()).unwrap();
        for level in [0usize, 2, 5] {
            let per_row = layout.block >> level;
            let per_block = layout.slots_per_block(level);
            for (first, count) in [(0, 1), (3, per_row * 3 + 5), (per_block - 2, per_block + 9)] {
                let pieces = layout.run_pieces(level, first, count);
                // The pieces cover the run in order, each inside one block, each a rectangle
                // whose pages' origins are where the piece's shape puts them.
                let mut next = first;
                for &(slot, n, across) in &pieces {
                    assert_eq!(slot, next);
                    assert!(n % across == 0 && across <= per_row);
                    let o = layout.origin(level, slot);
                    for i in 0..n {
                        let p = layout.origin(level, slot + i);
                        assert_eq!(p.layer, o.layer);
                        assert_eq!(
                            p.x,
                            o.x + ((i % across) << level),
                            "level {level} slot {}",
                            slot + i
                        );
                        assert_eq!(p.y, o.y + ((i / across) << level));
                    }
                    next += n;
                }
                assert_eq!(next, first + count);
                assert!(pieces.len() as u32 <= 3 * count.div_ceil(per_block) + 2);
            }
        }
    }

    #[test]
    fn origins_are_distinct_inside_their_blocks_and_round_trip() {
        let layout = plan_atlases(&PlanInput {
            records: 300,
            clips: false,
            levels: 6,
            gpu_budget: 1 << 20,
            screen: (320, 200),
            grid: (40, 30),
            cell_shape: crate::view::SQUARE,
            max_layers: 64,
        })
        .unwrap();
        let mut seen = std::collections::HashSet::new();
        for plan in &layout.levels {
            let size = 1u32 << plan.level;
            for slot in 0..plan.capacity {
                let o = layout.origin(plan.level, slot);
                assert!(
                    o.layer < layout.layers
                        && o.x + size <= layout.layer_size
                        && o.y + size <= layout.layer_size
                );
                assert_eq!(PageOrigin::from_code(o.code()), o);
                // Consecutive slots fill a block's rows left to right (`run_pieces`).
                let across = layout.block >> plan.level;
                if slot % across != across - 1 && slot + 1 < plan.capacity {
                    let next = layout.origin(plan.level, slot + 1);
                    assert_eq!((next.layer, next.x, next.y), (o.layer, o.x + size, o.y));
                }
                // No two pages overlap: every texel of the page is claimed once.
                for dy in 0..size {
                    for dx in 0..size {
                        assert!(
                            seen.insert((o.layer, o.x + dx, o.y + dy)),
                            "{plan:?} slot {slot}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn budget_pins_coarse_levels_and_pages_fine_ones() {
        let layout = plan_atlases(&input()).unwrap();
        assert_eq!(layout.levels.len(), 9);
        assert!(layout.bytes() <= 512 << 20, "{} > budget", layout.bytes());
        assert!(layout.levels[..5]
            .iter()
            .all(|l| l.pinned && l.capacity == 18_000));
        assert!(!layout.levels[8].pinned);
        for l in layout.levels.iter().filter(|l| !l.pinned) {
            assert!(
                l.capacity as u64 >= screen_pages(l.level, &input()) as u64 / PAGED_HEADROOM,
                "{l:?}"
            );
        }
        let small = plan_atlases(&PlanInput {
            records: 300,
            clips: false,
            grid: (64, 36),
            ..input()
        })
        .unwrap();
        assert!(small.levels.iter().all(|l| l.pinned));
    }

    #[test]
    fn a_tight_budget_still_pins_the_small_levels() {
        // At 128 and 256 MiB the screenfuls of 32–256 px pages with headroom do not fit
        // beside every 32 px page; levels up to 16 px are smaller than one screenful of them
        // (18 MiB in all) and are pinned regardless.
        for budget in [128u64 << 20, 256 << 20] {
            let layout = plan_atlases(&PlanInput {
                gpu_budget: budget,
                ..input()
            })
            .unwrap();
            assert!(layout.bytes() <= budget);
            assert!(layout.levels[..5].iter().all(|l| l.pinned), "{layout:?}");
            assert!(layout.levels[5..].iter().all(|l| !l.pinned), "{layout:?}");
        }
    }

    #[test]
    fn small_budgets_are_honoured_and_too_small_ones_refused() {
        let min = AtlasLayout::minimum_bytes(256, 9);
        let tiny = plan_atlases(&PlanInput {
            gpu_budget: min,
            ..input()
        })
        .unwrap();
        assert!(tiny.bytes() <= min);
        assert!(tiny.levels.iter().all(|l| l.capacity >= 1));
        assert!(plan_atlases(&PlanInput {
            gpu_budget: min - 1,
            ..input()
        })
        .is_err());
        // Few layers: the layer side grows instead.
        let wide = plan_atlases(&PlanInput {
            max_layers: 64,
            ..input()
        })
        .unwrap();
        assert!(wide.layers <= 64 && wide.layer_size > 256);
        assert!(wide.bytes() <= 512 << 20);
    }
}
