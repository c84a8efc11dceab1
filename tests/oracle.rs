//! An oracle that shares no code with either renderer: expected frames built from the store
//! alone (`Library::read_page`, the mosaic's grid) with arithmetic written out here, so a
//! bug in the view math, level choice, page table, slot packing or overview shared by the
//! GPU path and its CPU twin cannot pass by agreeing with itself: pages at powers of two,
//! the overview below one pixel per cell, bilinear magnification past the finest level,
//! the blend of two levels between powers of two, the tint, a clip's frame at a moment,
//! and cells of other aspects than 1:1 (the tile's part of each page). Plus stored reference pictures, as wgpu's own examples keep, with a tolerance
//! per adapter.

mod common;

use glam::DVec2;
use tessera::library::{page_bytes, Library};
use tessera::mosaic::Mosaic;
use tessera::render::StreamConfig;
use tessera::{Backend, Camera, HeadlessRenderer};

use common::BACKGROUND;

/// A synchronous renderer (every page read before the frame is drawn).
fn renderer(fx: &common::Fixture, backend: Backend, w: u32, h: u32) -> HeadlessRenderer {
    let sync = StreamConfig {
        synchronous: true,
        ..Default::default()
    };
    common::renderer(fx, backend, w, h, sync)
}

/// The camera whose top-left screen corner is cell `(x0, y0)` exactly.
fn aligned(x0: f64, y0: f64, cell_px: f64, w: u32, h: u32) -> Camera {
    Camera {
        center: DVec2::new(x0 + w as f64 / 2.0 / cell_px, y0 + h as f64 / 2.0 / cell_px),
        cell_px,
    }
}

fn to_srgb(l: f64) -> f64 {
    let c = if l <= 0.0031308 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    c * 255.0
}

#[test]
fn at_a_power_of_two_every_cell_is_its_stored_page_byte_for_byte() {
    let fx = common::fixture(30, 32, (12, 9));
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    for backend in [Backend::Gpu, Backend::Cpu] {
        for level in 0..=5usize {
            let side = 1u32 << level;
            // Cells 2..9 across and 1..7 down, one more cell partly off the right edge
            // when wide enough: the background there must be the background.
            let (cols_shown, rows_shown) = (11u32.min(4096 / side), 6u32);
            let (w, h) = (cols_shown * side, rows_shown * side);
            let (x0, y0) = (2u32, 1u32);
            let mut r = renderer(&fx, backend, w, h);
            let (frame, stats) = r
                .render(&aligned(x0 as f64, y0 as f64, side as f64, w, h))
                .unwrap();
            assert_eq!(stats.missing, 0);
            let mut page = vec![0u8; 4 * (side * side) as usize];
            for cy in 0..rows_shown {
                for cx in 0..cols_shown {
                    let (gx, gy) = (x0 + cx, y0 + cy);
                    let expected_bg = gx >= mosaic.cols() || gy >= mosaic.rows();
                    if !expected_bg {
                        library
                            .read_page(mosaic.tile_at(gx, gy), level, &mut page)
                            .unwrap();
                    }
                    for ty in 0..side {
                        for tx in 0..side {
                            let got = frame.get_pixel(cx * side + tx, cy * side + ty).0;
                            let want: [u8; 3] = if expected_bg {
                                BACKGROUND
                            } else {
                                let at = 4 * (ty * side + tx) as usize;
                                [page[at], page[at + 1], page[at + 2]]
                            };
                            assert_eq!(
                                &got[..3],
                                &want,
                                "{backend:?}, level {level}: cell ({gx},{gy}) texel ({tx},{ty})"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn below_one_pixel_per_cell_each_pixel_is_the_mean_of_its_cells() {
    // 16×12 cells: at 1/2 and 1/4 px per cell with an aligned origin, pixel (x, y) covers
    // exactly the cells [x·k, x·k + k) × [y·k, y·k + k), and shows their level-0 colours'
    // mean in linear light. Tolerance: the overview is a mip chain rounded to 8 bits at
    // every step, so each halving may add half a code: 1/255 at k = 2, 2/255 at k = 4.
    let fx = common::fixture(30, 16, (16, 12));
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let mut level0 = vec![[0u8; 4]; library.tile_count() as usize];
    for (t, px) in level0.iter_mut().enumerate() {
        library.read_page(t as u32, 0, px).unwrap();
    }
    for backend in [Backend::Gpu, Backend::Cpu] {
        for (k, tolerance) in [(1u32, 0.0), (2, 1.0), (4, 2.0)] {
            let (w, h) = (16 / k, 12 / k);
            let mut r = renderer(&fx, backend, w, h);
            let (frame, _) = r.render(&aligned(0.0, 0.0, 1.0 / k as f64, w, h)).unwrap();
            let mut worst = 0f64;
            for y in 0..h {
                for x in 0..w {
                    let mut sum = [0f64; 3];
                    for cy in y * k..(y + 1) * k {
                        for cx in x * k..(x + 1) * k {
                            let c = level0[mosaic.tile_at(cx, cy) as usize];
                            for i in 0..3 {
                                sum[i] += common::srgb8_to_linear(c[i]);
                            }
                        }
                    }
                    let got = frame.get_pixel(x, y).0;
                    for i in 0..3 {
                        let want = to_srgb(sum[i] / (k * k) as f64);
                        worst = worst.max((got[i] as f64 - want).abs());
                    }
                }
            }
            // Half a code is rounding alone.
            assert!(
                worst <= tolerance + 0.5,
                "{backend:?} at 1/{k} px per cell: off by {worst:.2}/255 (allowed {:.1})",
                tolerance + 0.5
            );
        }
    }
}

/// The stored reference pictures: (file, frame size, camera). Regenerate them with
/// `TESSERA_BLESS=1 cargo test --release --test oracle` after a change that is meant to
/// alter what is drawn, and look at them before committing.
fn references() -> Vec<(&'static str, (u32, u32), Camera)> {
    let at = |x: f64, y: f64, px: f64| Camera {
        center: DVec2::new(x, y),
        cell_px: px,
    };
    vec![
        ("whole.png", (160, 96), Camera::fit(40, 24, 160, 96)),
        ("blend-7.3.png", (200, 120), at(13.3, 9.7, 7.3)),
        ("magnified-90.png", (240, 160), at(21.2, 11.6, 90.0)),
    ]
}

/// How far a frame may be from the stored picture: the software rasteriser the pictures
/// were made with matches them to rounding; other adapters filter with their own precision.
fn tolerance(adapter: &str) -> (f64, u8) {
    if adapter.contains("llvmpipe") || adapter.starts_with("CPU renderer") {
        (0.3, 1)
    } else {
        (1.0, 4)
    }
}

#[test]
fn frames_match_the_stored_reference_pictures() {
    let fx = common::fixture(40, 64, (40, 24));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let bless = std::env::var_os("TESSERA_BLESS").is_some();
    // The CPU reference first: when blessing, it writes the pictures the GPU is held to.
    for backend in [Backend::Cpu, Backend::Gpu] {
        for (name, (w, h), camera) in references() {
            let mut r = renderer(&fx, backend, w, h);
            let (frame, _) = r.render(&camera).unwrap();
            let path = dir.join(name);
            if bless && backend == Backend::Cpu {
                std::fs::create_dir_all(&dir).unwrap();
                frame.save(&path).unwrap();
                continue;
            }
            let stored = image::open(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (bless with TESSERA_BLESS=1)", path.display()))
                .to_rgba8();
            let (mean, max) = common::compare(frame.as_raw(), stored.as_raw());
            let adapter = r.describe();
            let (mean_ok, max_ok) = tolerance(&adapter);
            eprintln!("{name} on {adapter}: mean {mean:.3}/255, max {max}/255");
            assert!(
                mean <= mean_ok && max <= max_ok,
                "{name} on {adapter}: mean {mean:.3}/255, max {max}/255 from the reference (allowed {mean_ok}, {max_ok})"
            );
        }
    }
}

/// The CPU renderer keeps its frame buffer from frame to frame: whatever the last frame left
/// there (another zoom, the overview, a copy floor), the next frame is the one a fresh
/// renderer draws, byte for byte.
#[test]
fn a_reused_cpu_frame_buffer_leaves_nothing_of_the_last_frame() {
    let fx = common::fixture(30, 32, (12, 9));
    let (w, h) = (120, 80);
    let at = |x: f64, y: f64, cell_px: f64| Camera {
        center: DVec2::new(x, y),
        cell_px,
    };
    // Zoomed in, the whole mosaic beside the background, a blend, a copy, the overview.
    let cameras = [
        at(6.2, 4.7, 37.0),
        at(6.0, 4.5, 3.3),
        at(2.0, 1.0, 5.5),
        aligned(1.0, 1.0, 4.0, w, h),
        at(6.0, 4.5, 0.4),
        at(-3.0, 2.0, 9.0),
    ];
    let mut reused = renderer(&fx, Backend::Cpu, w, h);
    for (i, camera) in cameras.iter().enumerate() {
        if i % 2 == 1 {
            let other = reused.update(&at(6.0, 4.5, 1.0 + i as f64));
            assert!(reused.draw_copy_floor(&other));
        }
        let (frame, _) = reused.render(camera).unwrap();
        let (fresh, _) = renderer(&fx, Backend::Cpu, w, h).render(camera).unwrap();
        assert!(
            frame == fresh,
            "camera {i} ({camera:?}) differs after reuse"
        );
    }
}

/// Where every cell is a row copy of its page (a power-of-two zoom, the screen's corner on a
/// cell corner), the copy floor writes the very frame; elsewhere it is a different picture.
#[test]
fn the_copy_floor_is_the_frame_where_the_frame_is_a_copy() {
    let fx = common::fixture(30, 32, (12, 9));
    let (w, h) = (128, 96);
    let mut r = renderer(&fx, Backend::Cpu, w, h);
    for level in 0..=5u32 {
        let camera = aligned(1.0, 2.0, (1u32 << level) as f64, w, h);
        let (frame, _) = r.render(&camera).unwrap();
        let settled = r.update(&camera);
        assert!(r.draw_copy_floor(&settled));
        let floor = r.pixels().unwrap();
        assert!(
            floor == frame.into_raw(),
            "level {level}: the copy floor differs from the frame"
        );
    }
    let between = aligned(1.0, 2.0, 5.0, w, h);
    let (frame, _) = r.render(&between).unwrap();
    let settled = r.update(&between);
    assert!(r.draw_copy_floor(&settled));
    assert!(r.pixels().unwrap() != frame.into_raw());
    // Below a pixel per cell there is no floor to draw.
    let whole = Camera::fit(12, 9, w, h);
    let zoomed_out = Camera {
        cell_px: 0.5,
        ..whole
    };
    let zoomed_out = r.update(&zoomed_out);
    assert!(!r.draw_copy_floor(&zoomed_out));
}

/// Bilinear sample, in linear light, of a `side × side` RGBA page at `uv` (0..1 across the
/// page), clamped half a texel inside it, as graphics hardware filters a texture: texel
/// centres at `i + 0.5`.
fn bilinear(page: &[u8], side: u32, uv: (f64, f64)) -> [f64; 3] {
    bilinear_in(page, side, (side, side), uv)
}

#[test]
fn magnified_past_the_finest_level_each_pixel_is_the_bilinear_page() {
    // Tiles of 32 px at 96 px per cell: the finest page magnified 3×, filtered bilinearly
    // in linear light. Cells 9..12 across, one past the mosaic's edge (background).
    // Tolerance: 8-bit filter weights and the encode's rounding, 2/255.
    let fx = common::fixture(30, 32, (12, 9));
    let worst = magnified_worst(&fx, (96.0, 96.0), (32, 32), (4, 3));
    eprintln!("magnified 3×, worst {worst:?}/255");
}

/// Renders `fx` (32-px pages) with cells of `cell` pixels from cell (9, 2), `shown` cells
/// across and down, on both renderers, and holds each pixel to the bilinear sample of the
/// tile's `extent` of its finest page (2/255); returns the worst error of each.
fn magnified_worst(
    fx: &common::Fixture,
    (cw, ch): (f64, f64),
    extent: (u32, u32),
    shown: (u32, u32),
) -> [f64; 2] {
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let (side, level) = (32u32, 5usize);
    let (x0, y0) = (9u32, 2u32);
    let (w, h) = ((shown.0 as f64 * cw) as u32, (shown.1 as f64 * ch) as u32);
    [Backend::Gpu, Backend::Cpu].map(|backend| {
        let camera = Camera {
            center: DVec2::new(
                x0 as f64 + w as f64 / 2.0 / cw,
                y0 as f64 + h as f64 / 2.0 / ch,
            ),
            cell_px: cw.max(ch),
        };
        let mut r = renderer(fx, backend, w, h);
        let (frame, stats) = r.render(&camera).unwrap();
        assert_eq!(stats.missing, 0);
        let mut page = vec![0u8; page_bytes(level)];
        let mut worst = 0f64;
        for y in 0..h {
            for x in 0..w {
                let (cx, cy) = ((x as f64 + 0.5) / cw, (y as f64 + 0.5) / ch);
                let (gx, gy) = (x0 + cx.floor() as u32, y0 + cy.floor() as u32);
                let got = frame.get_pixel(x, y).0;
                if gx >= mosaic.cols() || gy >= mosaic.rows() {
                    assert_eq!(
                        &got[..3],
                        &BACKGROUND,
                        "{backend:?}: ({x},{y}) past the edge"
                    );
                    continue;
                }
                library
                    .read_page(mosaic.tile_at(gx, gy), level, &mut page)
                    .unwrap();
                let want = bilinear_in(&page, side, extent, (cx.fract(), cy.fract()));
                for c in 0..3 {
                    worst = worst.max((got[c] as f64 - to_srgb(want[c])).abs());
                }
            }
        }
        assert!(worst <= 2.0, "{backend:?}: off by {worst:.2}/255");
        worst
    })
}

/// The `w × h` pixels from `(x0, y0)` of `frame` are the top-left texels of `page` (`side`
/// texels a side), byte for byte.
fn assert_cell_shows_page(
    frame: &image::RgbaImage,
    (x0, y0): (u32, u32),
    (w, h): (u32, u32),
    page: &[u8],
    side: u32,
    what: &str,
) {
    for ty in 0..h {
        for tx in 0..w {
            let got = frame.get_pixel(x0 + tx, y0 + ty).0;
            let at = 4 * (ty * side + tx) as usize;
            assert_eq!(&got[..3], &page[at..at + 3], "{what}: texel ({tx},{ty})");
        }
    }
}

/// `bilinear` over the top-left `extent` of a `side`-texel page: a tile of another aspect
/// than 1:1 fills that much of its page (FORMAT.md), and is clamped half a texel inside it.
fn bilinear_in(page: &[u8], side: u32, (ex, ey): (u32, u32), uv: (f64, f64)) -> [f64; 3] {
    let t = |u: f64, e: u32| (u * e as f64).clamp(0.5, e as f64 - 0.5) - 0.5;
    let (tx, ty) = (t(uv.0, ex), t(uv.1, ey));
    let (x0, y0) = (tx.floor() as u32, ty.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(ex - 1), (y0 + 1).min(ey - 1));
    let (fx, fy) = (tx - x0 as f64, ty - y0 as f64);
    let texel =
        |x: u32, y: u32, c: usize| common::srgb8_to_linear(page[4 * (y * side + x) as usize + c]);
    std::array::from_fn(|c| {
        let top = texel(x0, y0, c) * (1.0 - fx) + texel(x1, y0, c) * fx;
        let bottom = texel(x0, y1, c) * (1.0 - fx) + texel(x1, y1, c) * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

#[test]
fn cells_of_other_aspects_show_the_tile_part_of_their_pages() {
    // 2:1 tiles of 32 px at a power of two: a cell of 2^l × 2^(l-1) pixels is the top half
    // of its stored page, byte for byte. 16:9 tiles magnified to 96 px per cell (96×54):
    // each pixel the bilinear sample of the page's 32×18 texels, clamped inside them.
    let wide = common::fixture_shaped(30, 32, (12, 9), "2:1".parse().unwrap());
    let library = Library::open(&wide.library).unwrap();
    let mosaic = Mosaic::load(&wide.mosaic).unwrap();
    for backend in [Backend::Gpu, Backend::Cpu] {
        for level in 1..=5usize {
            let side = 1u32 << level;
            let (cw, ch) = (side, side / 2);
            let (cols_shown, rows_shown) = (8u32, 6u32);
            let (w, h) = (cols_shown * cw, rows_shown * ch);
            let (x0, y0) = (3u32, 2u32);
            let camera = Camera {
                center: DVec2::new(
                    x0 as f64 + w as f64 / 2.0 / cw as f64,
                    y0 as f64 + h as f64 / 2.0 / ch as f64,
                ),
                cell_px: side as f64,
            };
            let mut r = renderer(&wide, backend, w, h);
            let (frame, _) = r.render(&camera).unwrap();
            let mut page = vec![0u8; page_bytes(level)];
            for cy in 0..rows_shown {
                for cx in 0..cols_shown {
                    let (gx, gy) = (x0 + cx, y0 + cy);
                    library
                        .read_page(mosaic.tile_at(gx, gy), level, &mut page)
                        .unwrap();
                    let what = format!("{backend:?}, 2:1 level {level}: cell ({gx},{gy})");
                    assert_cell_shows_page(
                        &frame,
                        (cx * cw, cy * ch),
                        (cw, ch),
                        &page,
                        side,
                        &what,
                    );
                }
            }
        }
    }
    let fx = common::fixture_shaped(30, 32, (12, 9), "16:9".parse().unwrap());
    // round(32 × 9 / 16) = 18 texels of each 32-px page.
    magnified_worst(&fx, (96.0, 54.0), (32, 18), (4, 3));
}

/// Nearest texel, in linear light, of a `side × side` page at `uv`: texel edges nudged
/// 1/1024 texel, the convention both renderers share where the last bit would decide.
fn nearest(page: &[u8], side: u32, uv: (f64, f64)) -> [f64; 3] {
    let t = |u: f64| ((u * side as f64 + 1.0 / 1024.0) as u32).min(side - 1);
    let (x, y) = (t(uv.0), t(uv.1));
    std::array::from_fn(|c| common::srgb8_to_linear(page[4 * (y * side + x) as usize + c]))
}

#[test]
fn between_two_levels_each_pixel_blends_them_by_the_zoom() {
    // At a zoom between 2^(l-1) and 2^l px per cell a pixel is the finer page filtered
    // bilinearly and the coarser one's nearest texel, mixed in linear light with the
    // finer's weight log2(cell_px) - (l - 1). Tolerance 2/255, as above.
    let fx = common::fixture(30, 32, (12, 9));
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let (w, h) = (200u32, 200u32);
    let (x0, y0) = (1u32, 0u32);
    for cell_px in [5.5f64, 12.0, 20.0] {
        let hi = cell_px.log2().ceil() as usize;
        let weight_hi = cell_px.log2() - (hi - 1) as f64;
        for backend in [Backend::Gpu, Backend::Cpu] {
            let mut r = renderer(&fx, backend, w, h);
            let (frame, stats) = r
                .render(&aligned(x0 as f64, y0 as f64, cell_px, w, h))
                .unwrap();
            assert_eq!(stats.missing, 0);
            let (mut fine, mut coarse) = (vec![0u8; page_bytes(hi)], vec![0u8; page_bytes(hi - 1)]);
            let mut worst = 0f64;
            for y in 0..h {
                for x in 0..w {
                    let (cx, cy) = ((x as f64 + 0.5) / cell_px, (y as f64 + 0.5) / cell_px);
                    // A pixel centre on a cell's or a coarse texel's edge (at 5.5 px per
                    // cell some lie exactly there) is decided by the renderers' last bit
                    // of 32-bit arithmetic: left out.
                    let on_edge = |v: f64| {
                        let t = (v * (1u32 << (hi - 1)) as f64).fract();
                        !(1e-3..=1.0 - 1e-3).contains(&t)
                    };
                    if on_edge(cx) || on_edge(cy) {
                        continue;
                    }
                    let (gx, gy) = (x0 + cx.floor() as u32, y0 + cy.floor() as u32);
                    let got = frame.get_pixel(x, y).0;
                    if gx >= mosaic.cols() || gy >= mosaic.rows() {
                        assert_eq!(
                            &got[..3],
                            &BACKGROUND,
                            "{backend:?} at {cell_px}: ({x},{y})"
                        );
                        continue;
                    }
                    let tile = mosaic.tile_at(gx, gy);
                    library.read_page(tile, hi, &mut fine).unwrap();
                    library.read_page(tile, hi - 1, &mut coarse).unwrap();
                    let uv = (cx.fract(), cy.fract());
                    let c_hi = bilinear(&fine, 1 << hi, uv);
                    let c_lo = nearest(&coarse, 1 << (hi - 1), uv);
                    for c in 0..3 {
                        let want = c_lo[c] * (1.0 - weight_hi) + c_hi[c] * weight_hi;
                        worst = worst.max((got[c] as f64 - to_srgb(want)).abs());
                    }
                }
            }
            assert!(
                worst <= 2.0,
                "{backend:?} at {cell_px} px/cell: off by {worst:.2}/255"
            );
            eprintln!("{backend:?} at {cell_px} px/cell: worst {worst:.2}/255");
        }
    }
}

#[test]
fn a_tint_adds_its_share_of_the_cells_target_in_linear_light() {
    // At 8 px per cell on a 200-px frame a cell is small enough for the full tint: each
    // pixel is its page's texel plus 0.6 × (the cell's target mean − the tile's mean), in
    // linear light, clamped. Offsets are kept as 16-bit floats; and where a tint takes most
    // of a bright tile away, llvmpipe's sRGB decode (good to ~1e-3 in linear light) shows
    // in the darks, where the curve is steepest: 3/255 there, as the golden tests allow.
    let fx = common::fixture(30, 32, (12, 9));
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let colours = mosaic.colours.clone().expect("matched with cell colours");
    let (tint, side, level) = (0.6, 8u32, 3usize);
    let (w, h) = (200u32, 200u32);
    for backend in [Backend::Gpu, Backend::Cpu] {
        let options = tessera::RenderOptions {
            width: w,
            height: h,
            backend,
            style: tessera::RenderStyle {
                background: BACKGROUND,
                tint,
                ..Default::default()
            },
            stream: StreamConfig {
                synchronous: true,
                ..Default::default()
            },
            adapter: None,
        };
        let mut r =
            HeadlessRenderer::new(tessera::Scene::open(&fx.mosaic).unwrap(), &options).unwrap();
        let (frame, _) = r.render(&aligned(0.0, 0.0, side as f64, w, h)).unwrap();
        let (mut page, mut mean) = (vec![0u8; page_bytes(level)], [0u8; 4]);
        let mut worst = 0f64;
        for gy in 0..mosaic.rows() {
            for gx in 0..mosaic.cols() {
                let tile = mosaic.tile_at(gx, gy);
                library.read_page(tile, level, &mut page).unwrap();
                library.read_page(tile, 0, &mut mean).unwrap();
                let target = colours[(gy * mosaic.cols() + gx) as usize];
                for ty in 0..side {
                    for tx in 0..side {
                        let got = frame.get_pixel(gx * side + tx, gy * side + ty).0;
                        let at = 4 * (ty * side + tx) as usize;
                        for c in 0..3 {
                            let offset = common::srgb8_to_linear(target[c])
                                - common::srgb8_to_linear(mean[c]);
                            let want = (common::srgb8_to_linear(page[at + c])
                                + tint as f64 * offset)
                                .clamp(0.0, 1.0);
                            worst = worst.max((got[c] as f64 - to_srgb(want)).abs());
                        }
                    }
                }
            }
        }
        assert!(worst <= 3.0, "{backend:?}: off by {worst:.2}/255");
        eprintln!("{backend:?}: tint {tint}, worst {worst:.2}/255");
    }
}

#[test]
fn at_a_moment_each_clip_shows_its_frame_for_the_clock() {
    // With every clip started together (`Phase::Zero`), at time t a clip of F frames shows
    // frame floor(t · rate) mod F: at a power of two, that record's page byte for byte.
    let fx = common::clip_fixture(4, 8, 5, 16, 16, (6, 4));
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let rate = library.params().clip_fps as f64;
    let (side, level) = (16u32, 4usize);
    let (w, h) = (6 * side, 4 * side);
    let playing = (0..mosaic.rows())
        .flat_map(|y| (0..mosaic.cols()).map(move |x| (x, y)))
        .filter(|&(x, y)| library.manifest.tiles[mosaic.tile_at(x, y) as usize].frames > 1)
        .count();
    assert!(playing > 0, "the grid shows no clip");
    for backend in [Backend::Gpu, Backend::Cpu] {
        let mut r = renderer(&fx, backend, w, h);
        for time in [0.0, 0.09, 0.26, 1.7] {
            r.set_playback(tessera::Playback {
                time,
                still: false,
                phase: tessera::Phase::Zero,
            });
            let (frame, _) = r.render(&aligned(0.0, 0.0, side as f64, w, h)).unwrap();
            let mut page = vec![0u8; page_bytes(level)];
            for gy in 0..mosaic.rows() {
                for gx in 0..mosaic.cols() {
                    let tile = &library.manifest.tiles[mosaic.tile_at(gx, gy) as usize];
                    let shown = (time * rate + 1e-9).floor() as u32 % tile.frames;
                    library
                        .read_records(tile.first_record + shown, 1, level, &mut page)
                        .unwrap();
                    let what = format!("{backend:?} at {time} s: cell ({gx},{gy}) frame {shown}");
                    let cell = (side, side);
                    assert_cell_shows_page(
                        &frame,
                        (gx * side, gy * side),
                        cell,
                        &page,
                        side,
                        &what,
                    );
                }
            }
        }
    }
}
