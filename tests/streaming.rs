//! Streaming: bounded memory, no holes, deterministic synchronous mode, failed loads. The
//! streaming manager is the same whichever renderer draws, so these run on the CPU
//! reference renderer (no GPU needed) except where the GPU atlas itself is under test.

mod common;

use glam::DVec2;
use tessera::render::StreamConfig;
use tessera::{Backend, Camera};

use common::{renderer, BACKGROUND};

/// Asserts no background pixel lies inside the mosaic (the view is inside it entirely).
fn assert_no_holes(pixels: &[u8]) {
    for p in pixels.chunks_exact(4) {
        assert_ne!(
            &p[..3],
            &BACKGROUND,
            "a hole (background) inside the mosaic"
        );
    }
}

#[test]
fn a_tiny_budget_still_draws_every_visible_cell_within_budget() {
    let fx = common::fixture(40, 64, (16, 12));
    // The minimum is one 64-px block per level (7 × 16 KiB); this is a little more.
    let budget = 160 << 10;
    let stream = StreamConfig {
        gpu_budget: budget,
        ram_budget: 32 << 10,
        ..Default::default()
    };
    for backend in [Backend::Gpu, Backend::Cpu] {
        let mut r = renderer(&fx, backend, 320, 240, stream);
        // Level 6 pages are 16 KiB: the budget holds a few, the view shows ~20 tiles.
        let cam = Camera {
            center: DVec2::new(8.0, 6.0),
            cell_px: 64.0,
        };
        let frame = r.settle(&cam, std::time::Duration::from_secs(10));
        let stats = frame.stats;
        assert!(stats.missing > 0, "the view should not fit the budget");
        // Layers round to whole pages; the plan keeps at least one slot per level.
        assert!(
            r.atlas_bytes() <= budget,
            "{} bytes of atlas over a {budget}-byte budget",
            r.atlas_bytes()
        );
        assert!(stats.cache_bytes <= 32 << 10);
        r.draw(&frame, true).unwrap();
        assert_no_holes(&r.pixels().unwrap());
    }
}

/// For the 30-tile, 64 px fixtures: levels 0–5 (160 KiB) fit and are pinned, loaded up
/// front; level 6 (480 KiB for every tile) does not, so it is paged and streamed.
const PAGED_FINEST: StreamConfig = StreamConfig {
    gpu_budget: 480 << 10,
    ram_budget: 512 << 20,
    upload_budget: 8 << 20,
    loader_threads: 2,
    synchronous: false,
    heuristics: tessera::render::Heuristics::ALL,
    accept_time: tessera::render::ACCEPT_TIME,
};

#[test]
fn streaming_converges_to_the_synchronous_frame() {
    let fx = common::fixture(30, 64, (12, 9));
    let cam = Camera {
        center: DVec2::new(5.3, 4.1),
        cell_px: 120.0,
    };
    let mut sync = renderer(
        &fx,
        Backend::Cpu,
        300,
        200,
        StreamConfig {
            synchronous: true,
            ..PAGED_FINEST
        },
    );
    let (a, _) = sync.render(&cam).unwrap();
    let (b, _) = sync.render(&cam).unwrap();
    assert_eq!(a, b, "synchronous mode must be deterministic");
    // Also with no time to take in loaded pages beyond a batch a frame: nothing is lost
    // (this view never has more than a batch ready; tests/clips.rs checks the batch limit).
    for accept_time in [tessera::render::ACCEPT_TIME, std::time::Duration::ZERO] {
        let mut streamed = renderer(
            &fx,
            Backend::Cpu,
            300,
            200,
            StreamConfig {
                upload_budget: 16 << 10,
                accept_time,
                ..PAGED_FINEST
            },
        );
        // The first frame after a cold start is incomplete; it still has no holes.
        let first = streamed.update(&cam);
        assert!(first.stats.missing > 0);
        streamed.draw(&first, true).unwrap();
        assert_no_holes(&streamed.pixels().unwrap());
        let (c, stats) = streamed.render(&cam).unwrap();
        assert_eq!(stats.missing, 0);
        assert_eq!(
            a, c,
            "the streamed frame, once sharp, equals the synchronous one ({accept_time:?})"
        );
    }
}

#[test]
fn failed_loads_draw_fallbacks_log_once_and_do_not_retry() {
    let fx = common::fixture(30, 64, (12, 9));
    let mut r = renderer(&fx, Backend::Cpu, 300, 200, PAGED_FINEST);
    let cam = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 120.0,
    };
    // The store loses its finest pages while the renderer runs.
    let level6 = fx.library.join("frames-06.bin");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&level6)
        .unwrap()
        .set_len(0)
        .unwrap();
    let stats = r.settle(&cam, std::time::Duration::from_secs(10)).stats;
    assert!(stats.failed_pages > 0, "{stats:?}");
    assert!(stats.missing > 0);
    assert_eq!(r.stream().errors_logged(), 1);
    // Nothing is retried in a loop: after a few more frames the loaders are idle.
    for _ in 0..5 {
        let s = r.update(&cam).stats;
        assert_eq!(s.queue_depth + s.in_flight, 0, "{s:?}");
    }
    // ... and streaming says it is at rest, pages missing and all (the viewer stops
    // redrawing on it).
    let frame = r.update(&cam);
    let s = frame.stats;
    assert!(s.at_rest() && s.missing > 0, "{s:?}");
    r.draw(&frame, true).unwrap();
    assert_no_holes(&r.pixels().unwrap());
}

#[test]
fn memory_and_uploads_stay_within_budgets_along_a_camera_path() {
    let fx = common::fixture(60, 64, (40, 30));
    let upload_budget = 32 << 10;
    let stream = StreamConfig {
        gpu_budget: 256 << 10,
        ram_budget: 128 << 10,
        upload_budget,
        ..Default::default()
    };
    let mut r = renderer(&fx, Backend::Cpu, 320, 240, stream);
    let path = tessera::camera::camera_path(
        tessera::camera::PathName::Tour,
        40,
        30,
        320,
        240,
        240,
        tessera::camera::SQUARE,
    );
    let (mut uploaded, mut rows, mut peak_cache, mut deferred) = (0, 0, 0, 0);
    for f in &path {
        let frame = r.update(&f.camera);
        let stats = frame.stats;
        deferred += stats.deferred_pages;
        // Pages and page-table rows together stay within the budget (a 64-px page is 16 KiB
        // and a table row 16 KiB, so the budget holds at least one page and its row).
        assert!(stats.uploaded_bytes <= upload_budget, "{stats:?}");
        uploaded += stats.uploaded_bytes;
        rows += stats.table_rows;
        peak_cache = peak_cache.max(stats.cache_bytes);
        assert!(stats.atlas_resident_bytes <= r.atlas_bytes());
        r.draw(&frame, false).unwrap();
    }
    assert!(r.atlas_bytes() <= 256 << 10);
    assert!(peak_cache <= 128 << 10);
    assert!(
        uploaded > 0 && rows > 0 && r.stream().evictions() > 0 && deferred > 0,
        "the path should stream, defer uploads and evict"
    );
    // Once the camera stops, what was deferred or on its way drains: streaming comes to rest
    // (the viewer stops redrawing on it).
    let last = &path.last().unwrap().camera;
    let rested = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(2));
        r.update(last).stats.at_rest()
    });
    assert!(rested, "streaming never came to rest where the path ends");
}

#[test]
fn pinned_levels_are_loaded_up_front() {
    let fx = common::fixture(30, 64, (12, 9));
    // A small screen, so a screenful of each level is fewer pages than the library holds,
    // and 42 blocks of 64² texels: every page up to 32 px (14 blocks) plus three screenfuls
    // of 64 px pages (27) fit; every 64 px page (30 more) does not. So 0–5 are pinned.
    let stream = StreamConfig {
        gpu_budget: 42 * 64 * 64 * 4,
        ..PAGED_FINEST
    };
    let mut r = renderer(&fx, Backend::Cpu, 64, 48, stream);
    let residency = r.stream().residency();
    let levels = residency.levels();
    let pinned: Vec<usize> = (0..levels).filter(|&l| residency.is_pinned(l)).collect();
    assert!(pinned.len() >= 3 && pinned.len() < levels, "{pinned:?}");
    for level in 0..levels {
        if residency.is_pinned(level) {
            assert!(residency.level_complete(level), "pinned level {level}");
        } else {
            assert_eq!(residency.resident_count(level), 0, "paged level {level}");
        }
    }
    // A view drawn from pinned levels only needs nothing more, and asks for nothing.
    let finest_pinned = *pinned.last().unwrap();
    let cam = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 0.7 * (1u32 << finest_pinned) as f64,
    };
    let stats = r.update(&cam).stats;
    assert_eq!(
        (
            stats.wanted,
            stats.missing,
            stats.uploaded_pages,
            stats.queue_depth
        ),
        (0, 0, 0, 0),
        "{stats:?}"
    );
}
