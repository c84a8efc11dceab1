use super::*;
use crate::atlas::{plan_atlases, AtlasBackend, PlanInput};
use crate::tint::Offset;
use crate::view::Camera;
use glam::DVec2;

/// Four tiles of 8 px (levels 0–3), each page a distinct pattern; `missing` (tile,
/// level) is not resident there, its page-table entry falling back to the next coarser
/// level.
fn atlas(grid: (u32, u32), missing: Option<(u32, usize)>) -> CpuAtlas {
    let (tiles, levels) = (4u32, 4usize);
    let layout = plan_atlases(&PlanInput {
        records: tiles,
        clips: false,
        levels,
        gpu_budget: 1 << 20,
        screen: (64, 48),
        grid,
        cell_shape: crate::view::SQUARE,
        max_layers: 16,
    })
    .unwrap();
    let mut atlas = CpuAtlas::new(&layout, tiles);
    let mut table = vec![[0u32; 2]; tiles as usize * levels];
    for tile in 0..tiles {
        for level in 0..levels {
            let origin = layout.origin(level, tile);
            let size = 1u32 << level;
            let texels: Vec<u8> = (0..size * size * 4)
                .map(|i| (i * 37 + tile * 71 + level as u32 * 113) as u8)
                .collect();
            atlas.write_page(origin, size, &texels);
            let resident = if missing == Some((tile, level)) {
                level - 1
            } else {
                level
            };
            table[tile as usize * levels + level] =
                [layout.origin(resident, tile).code(), resident as u32];
        }
    }
    atlas.write_page_table(&table, &[0]);
    atlas
}

#[test]
fn every_slot_of_every_level_keeps_its_own_page() {
    // Pages are stored whole (page-major in their block): writing every slot of a
    // layout with several layers and blocks per level, no page overwrites another, and
    // each reads back row by row as written.
    let levels = 7;
    let layout = plan_atlases(&PlanInput {
        records: 300,
        clips: false,
        levels,
        gpu_budget: 2 << 20,
        screen: (64, 48),
        grid: (20, 15),
        cell_shape: crate::view::SQUARE,
        max_layers: 16,
    })
    .unwrap();
    assert!(layout.layers > 1, "{layout:?}");
    let pattern =
        |level: usize, slot: u32, i: usize| (i as u32 * 31 + slot * 7 + level as u32 * 57) as u8;
    let mut atlas = CpuAtlas::new(&layout, 300);
    let slots = |level: usize| 0..layout.levels[level].capacity;
    for level in 0..levels {
        let size = 1usize << level;
        for slot in slots(level) {
            let texels: Vec<u8> = (0..size * size * 4)
                .map(|i| pattern(level, slot, i))
                .collect();
            atlas.write_page(layout.origin(level, slot), size as u32, &texels);
        }
    }
    for level in 0..levels {
        let size = 1usize << level;
        for slot in slots(level) {
            let page = atlas.page(layout.origin(level, slot).code(), level);
            for y in 0..size {
                let row: Vec<u8> = (y * size * 4..(y + 1) * size * 4)
                    .map(|i| pattern(level, slot, i))
                    .collect();
                assert_eq!(
                    page.run(0, y, size),
                    &row[..],
                    "level {level} slot {slot} row {y}"
                );
            }
        }
    }
}

#[test]
fn tiny_cells_from_the_small_tables_equal_the_general_path_byte_for_byte() {
    let (cols, rows) = (9u32, 7u32);
    let grid: Vec<u32> = (0..cols * rows).map(|i| (i * 7 + i / cols) % 4).collect();
    // A tint offset per cell, different in each channel.
    let offsets: Vec<Offset> = (0..cols * rows)
        .map(|i| [0.1, -0.2, 0.05].map(|o| half::f16::from_f32(o * (i % 5) as f32).to_bits()))
        .map(|[r, g, b]| [r, g, b, 0])
        .collect();
    let overview = Overview::from_base(cols, rows, vec![128; (cols * rows * 4) as usize]);
    let cases = [
        (1.3, false, 0.0),
        (1.5, false, 0.7),
        (2.6, false, 0.0),
        (3.0, true, 0.0),
        (5.3, false, 0.0),
        (6.5, true, 0.4),
        (7.9, false, 0.0),
    ];
    // Complete tables (tiny cells drawn from them), and a page of level 2 or 3 still
    // loading (frames that draw it go the general way, the coarser page in its place).
    for ((cell_px, debug_lod, tint), missing) in cases
        .into_iter()
        .flat_map(|case| [(case, None), (case, Some((3, 2))), (case, Some((3, 3)))])
    {
        let mut atlas = atlas((cols, rows), missing);
        atlas.write_tint(&offsets);
        let camera = Camera {
            center: DVec2::new(4.1, 3.3),
            cell_px,
        };
        let view = FrameView::new(&camera, 37, 29, cols, rows, 3);
        let style = RenderStyle {
            debug_lod,
            tint,
            tint_fades: false,
            ..Default::default()
        };
        let frame = |small_tables| {
            let mut out = Vec::new();
            let (floor, style) = (false, &style);
            draw(
                &view,
                &grid,
                &atlas,
                &overview,
                style,
                &mut out,
                floor,
                small_tables,
            );
            out
        };
        let (tabled, general) = (frame(true), frame(false));
        assert_eq!(
            tabled, general,
            "{cell_px} px per cell, {missing:?} missing"
        );
    }
}

/// At a power-of-two zoom with the frame's corner on a texel corner, tiny cells are row
/// copies from the small tables (`draw_small_band`), cells cut by the frame's edges too; the
/// copy floor, at any zoom, likewise. Both equal the general path byte for byte, with
/// complete tables and with a page still loading.
#[test]
fn copies_from_the_small_tables_equal_the_general_path_byte_for_byte() {
    let (cols, rows) = (9u32, 7u32);
    let grid: Vec<u32> = (0..cols * rows).map(|i| (i * 5 + i / cols) % 4).collect();
    let overview = Overview::from_base(cols, rows, vec![128; (cols * rows * 4) as usize]);
    let (w, h) = (37u32, 29u32);
    for level in 0..=SMALL_PAGE_LEVEL {
        let size = (1u32 << level) as f64;
        // The frame's corner a texel short of a cell's right edge, half a cell down.
        let corner = DVec2::new(2.0 - 1.0 / size, 1.0 + 0.5 * (size > 1.0) as u32 as f64);
        let exact = Camera {
            center: corner + DVec2::new(w as f64, h as f64) / 2.0 / size,
            cell_px: size,
        };
        let between = Camera {
            cell_px: size * 1.3,
            ..exact
        };
        for missing in [None, Some((2, level)), Some((1, 3))] {
            let atlas = atlas((cols, rows), missing.filter(|&(_, l)| l > 0));
            for (camera, floor) in [(exact, false), (exact, true), (between, true)] {
                let view = FrameView::new(&camera, w, h, cols, rows, 3);
                if !floor {
                    assert_eq!(view.texel_aligned_level(), Some(level));
                }
                let frame = |small_tables| {
                    let mut out = Vec::new();
                    let style = RenderStyle::default();
                    draw(
                        &view,
                        &grid,
                        &atlas,
                        &overview,
                        &style,
                        &mut out,
                        floor,
                        small_tables,
                    );
                    out
                };
                assert_eq!(
                    frame(true),
                    frame(false),
                    "level {level}, floor {floor}, {} px per cell, {missing:?} missing",
                    camera.cell_px
                );
            }
        }
    }
}

/// The small tables are kept in step with the atlas, not gathered again (see
/// `SmallPages`): after each change a tick of playing clips or their uploads make (tiles
/// moved to other pages, a page rewritten in place, a page written where no tile draws, a
/// tile's page leaving a level and coming back), frames drawn from the tables, filtered and
/// copied, equal the general path byte for byte.
#[test]
fn small_tables_follow_page_writes_and_page_table_changes() {
    // Four tiles of two records each (two frames of a clip): record 2t + f, levels 0–3.
    let (tiles, frames, levels) = (4u32, 2u32, 4usize);
    let (cols, rows) = (9u32, 7u32);
    let layout = plan_atlases(&PlanInput {
        records: tiles * frames,
        clips: true,
        levels,
        gpu_budget: 1 << 20,
        screen: (64, 48),
        grid: (cols, rows),
        cell_shape: crate::view::SQUARE,
        max_layers: 16,
    })
    .unwrap();
    let mut atlas = CpuAtlas::new(&layout, tiles);
    let page = |record: u32, level: usize, seed: u32| -> Vec<u8> {
        let size = 1u32 << level;
        (0..size * size * 4)
            .map(|i| (i * 37 + record * 71 + level as u32 * 113 + seed * 29) as u8)
            .collect()
    };
    let write = |atlas: &mut CpuAtlas, record: u32, level: usize, seed: u32| {
        let origin = layout.origin(level, record);
        atlas.write_page(origin, 1 << level, &page(record, level, seed));
    };
    for record in 0..tiles * frames {
        for level in 0..levels {
            write(&mut atlas, record, level, 0);
        }
    }
    // Each tile's row: its record `frame[tile]` at every level, down to `lowest[tile]` (the
    // levels finer than it fall back to it).
    let table = |frame: &[u32], finest: &[usize]| -> Vec<Entry> {
        (0..tiles as usize * levels)
            .map(|i| {
                let (tile, level) = (i / levels, i % levels);
                let drawn = level.min(finest[tile]);
                let record = tile as u32 * frames + frame[tile];
                [layout.origin(drawn, record).code(), drawn as u32]
            })
            .collect()
    };
    let grid: Vec<u32> = (0..cols * rows)
        .map(|i| (i * 7 + i / cols) % tiles)
        .collect();
    let overview = Overview::from_base(cols, rows, vec![128; (cols * rows * 4) as usize]);
    let (w, h) = (37u32, 29u32);
    // Filtered between levels 2 and 3, and copied at exactly level 3 (the frame's corner
    // on a texel corner).
    let corner = DVec2::new(2.0 - 1.0 / 8.0, 1.5);
    let views = [5.3, 8.0].map(|cell_px| {
        let camera = Camera {
            center: corner + DVec2::new(w as f64, h as f64) / 2.0 / cell_px,
            cell_px,
        };
        FrameView::new(&camera, w, h, cols, rows, 3)
    });
    assert_eq!(views[1].texel_aligned_level(), Some(3));
    assert_eq!(views[0].texel_aligned_level(), None);
    let check = |atlas: &CpuAtlas, step: &str| {
        for view in &views {
            let frame = |small_tables| {
                let mut out = Vec::new();
                let style = RenderStyle::default();
                draw(
                    view,
                    &grid,
                    atlas,
                    &overview,
                    &style,
                    &mut out,
                    false,
                    small_tables,
                );
                out
            };
            assert_eq!(
                frame(true),
                frame(false),
                "after {step}, {} px per cell",
                view.cell_px
            );
        }
    };
    let mut frame = vec![0u32; tiles as usize];
    let mut finest = vec![3usize; tiles as usize];
    atlas.write_page_table(&table(&frame, &finest), &[0]);
    check(&atlas, "the first gather");
    // A tick: every tile moves to its other frame.
    frame.iter_mut().for_each(|f| *f = 1 - *f);
    atlas.write_page_table(&table(&frame, &finest), &[0]);
    check(&atlas, "a tick");
    // A drawn page rewritten in place (the page table unchanged), and one no tile draws.
    write(&mut atlas, 2 * frames + frame[2], 3, 1);
    write(&mut atlas, 2 * frames + frame[2], 2, 1);
    write(&mut atlas, frames + (1 - frame[1]), 3, 2);
    check(&atlas, "pages rewritten");
    // Tile 1 loses its level-3 page (level 3 falls back to 2), then moves and gets it back.
    finest[1] = 2;
    atlas.write_page_table(&table(&frame, &finest), &[0]);
    check(&atlas, "a page leaving level 3");
    frame[1] = 1 - frame[1];
    write(&mut atlas, frames + frame[1], 3, 3);
    finest[1] = 3;
    atlas.write_page_table(&table(&frame, &finest), &[0]);
    check(&atlas, "a page coming back");
}
