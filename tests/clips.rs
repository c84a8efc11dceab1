//! Tiles that play: the frame each cell shows follows the clock, GPU and CPU agree at every
//! moment, a late frame holds the previous one, still playback shows key frames, and
//! playing stays within the budgets.

mod common;

use common::{renderer, BACKGROUND};
use glam::DVec2;
use tessera::library::Library;
use tessera::mosaic::Mosaic;
use tessera::render::StreamConfig;
use tessera::{Backend, Camera, Phase, Playback};

const FPS: f64 = 12.0;

fn sync() -> StreamConfig {
    StreamConfig {
        synchronous: true,
        ..Default::default()
    }
}

fn at(time: f64) -> Playback {
    Playback {
        time,
        still: false,
        phase: Phase::Zero,
    }
}

/// 8 stills and 24 clips of 6 frames at 64 px, clips kept raw up to 16 px (their 32 and
/// 64 px frames are JPEG), 12×9 cells.
fn fixture() -> common::Fixture {
    common::clip_fixture(8, 24, 6, 64, 16, (12, 9))
}

#[test]
fn each_cell_shows_its_clips_frame_for_the_clock_byte_for_byte() {
    let fx = fixture();
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    assert!(library.has_clips());
    let clips_in_grid = mosaic
        .grid
        .iter()
        .filter(|&&t| library.clip(t).frames > 1)
        .count();
    assert!(
        clips_in_grid > 20,
        "the mosaic should use clips: {clips_in_grid}"
    );
    for backend in [Backend::Gpu, Backend::Cpu] {
        // Raw levels (2, 4) and JPEG levels (5, 6) of the clips.
        for (level, time) in [(2usize, 0.0), (4, 0.25), (5, 1.3), (6, 0.6)] {
            let side = 1u32 << level;
            let (cols, rows) = (6u32.min(1024 / side), 4u32);
            let (w, h) = (cols * side, rows * side);
            let mut r = renderer(&fx, backend, w, h, sync());
            r.set_playback(at(time));
            let camera = Camera {
                center: DVec2::new(3.0 + cols as f64 / 2.0, 2.0 + rows as f64 / 2.0),
                cell_px: side as f64,
            };
            let (frame, stats) = r.render(&camera).unwrap();
            assert_eq!(stats.missing, 0);
            let mut page = vec![0u8; (4 * side * side) as usize];
            for cy in 0..rows {
                for cx in 0..cols {
                    let tile = mosaic.tile_at(3 + cx, 2 + cy);
                    let clip = library.clip(tile);
                    // Frame floor(t · fps) mod frames, computed here, not by the clock.
                    let f = if clip.frames > 1 {
                        (time * FPS).floor() as u32 % clip.frames
                    } else {
                        0
                    };
                    library.read_frames(tile, f, 1, level, &mut page).unwrap();
                    for ty in 0..side {
                        for tx in 0..side {
                            let got = frame.get_pixel(cx * side + tx, cy * side + ty).0;
                            let at = (4 * (ty * side + tx)) as usize;
                            assert_eq!(
                                &got[..3],
                                &page[at..at + 3],
                                "{backend:?} level {level} t={time}: tile {tile} frame {f}, texel ({tx},{ty})"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gpu_matches_cpu_at_several_moments_and_zooms() {
    let fx = fixture();
    for (time, cell_px, phase) in [
        (0.0, 7.3, Phase::Random),
        (0.41, 20.0, Phase::Random),
        (1.9, 45.0, Phase::Zero),
        (3.05, 150.0, Phase::Random),
        (2.2, 0.6, Phase::Random),
    ] {
        let camera = Camera {
            center: DVec2::new(5.3, 4.2),
            cell_px,
        };
        let moment = Playback {
            time,
            still: false,
            phase,
        };
        let mut frames = Vec::new();
        for backend in [Backend::Gpu, Backend::Cpu] {
            let mut r = renderer(&fx, backend, 240, 160, sync());
            r.set_playback(moment);
            frames.push(r.render(&camera).unwrap().0);
        }
        let (mean, max) = common::compare(frames[0].as_raw(), frames[1].as_raw());
        assert!(
            mean < 0.5 && max <= 1,
            "t={time} at {cell_px} px/cell: mean {mean}, max {max}"
        );
    }
}

#[test]
fn clips_move_with_time_and_still_playback_shows_key_frames() {
    let fx = fixture();
    let camera = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 16.0,
    };
    let mut r = renderer(&fx, Backend::Cpu, 192, 144, sync());
    let mut render_at = |p: Playback| {
        r.set_playback(p);
        r.render(&camera).unwrap().0
    };
    let t0 = render_at(at(0.0));
    let t1 = render_at(at(1.0 / FPS));
    let loop_ = render_at(at(6.0 / FPS));
    assert_ne!(t0, t1, "a tick later the clips show their next frame");
    assert_eq!(t0, loop_, "6 frames later they have looped");
    // Still playback: every clip on its key frame, at any time.
    let still = |time| Playback {
        time,
        still: true,
        phase: Phase::Zero,
    };
    let s0 = render_at(still(0.0));
    let s1 = render_at(still(2.7));
    assert_eq!(s0, s1);
    let library = Library::open(&fx.library).unwrap();
    let mosaic = Mosaic::load(&fx.mosaic).unwrap();
    let tile = mosaic.tile_at(6, 4);
    let clip = library.clip(tile);
    let mut page = vec![0u8; 16 * 16 * 4];
    library
        .read_frames(tile, clip.key, 1, 4, &mut page)
        .unwrap();
    // Pixel (96, 64) is cell (6, 4)'s first texel: the key frame's.
    let px = s0.get_pixel(96, 64).0;
    assert_eq!(&px[..3], &page[..3]);
}

#[test]
fn a_late_frame_holds_the_previous_frame_then_catches_up() {
    // 64 px clips are paged here (a small atlas), read by loader threads, and uploaded at
    // most one page per frame: when the clock ticks, the next frames cannot all arrive at
    // once, so the clips show their previous frame, sharp, until theirs is up.
    let fx = fixture();
    let stream = StreamConfig {
        gpu_budget: 1 << 20,
        upload_budget: 16 << 10,
        ..Default::default()
    };
    let mut r = renderer(&fx, Backend::Cpu, 256, 192, stream);
    let camera = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 64.0,
    };
    r.set_playback(at(0.0));
    let settled = r.settle(&camera, std::time::Duration::from_secs(10));
    assert_eq!(settled.stats.missing, 0);
    r.set_playback(at(1.0 / FPS));
    let first = r.update(&camera);
    assert!(first.stats.tile_frames_shown > 0);
    assert!(first.stats.late_tile_frames > 0, "{first:?}");
    r.draw(&first, true).unwrap();
    for p in r.pixels().unwrap().chunks_exact(4) {
        assert_ne!(&p[..3], &BACKGROUND, "a late frame must not leave a hole");
    }
    let mut frames = 1;
    let caught_up = loop {
        let frame = r.update(&camera);
        if frame.stats.late_tile_frames == 0 {
            break frame;
        }
        frames += 1;
        assert!(frames < 400, "never caught up: {frame:?}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    // Caught up: the frame equals the synchronous render of that moment.
    r.draw(&caught_up, true).unwrap();
    let streamed = r.pixels().unwrap();
    let mut reference = renderer(&fx, Backend::Cpu, 256, 192, sync());
    reference.set_playback(at(1.0 / FPS));
    let (expected, _) = reference.render(&camera).unwrap();
    assert_eq!(streamed, expected.into_raw());
}

#[test]
fn playing_along_a_camera_path_stays_within_the_budgets() {
    let fx = common::clip_fixture(10, 50, 12, 64, 64, (40, 30));
    let stream = StreamConfig {
        gpu_budget: 1 << 20,
        ram_budget: 1 << 20,
        upload_budget: 64 << 10,
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
    let (mut shown, mut peak_cache) = (0, 0);
    for (n, f) in path.iter().enumerate() {
        r.set_playback(Playback {
            time: n as f64 / 30.0,
            ..Default::default()
        });
        let frame = r.update(&f.camera);
        let stats = frame.stats;
        assert!(stats.uploaded_bytes <= 64 << 10, "{stats:?}");
        shown += stats.tile_frames_shown;
        peak_cache = peak_cache.max(stats.cache_bytes);
        r.draw(&frame, false).unwrap();
    }
    assert!(shown > 1000, "clips were on screen: {shown}");
    assert!(r.atlas_bytes() <= 1 << 20);
    assert!(peak_cache <= 1 << 20);
}

#[test]
fn a_clip_whose_store_is_truncated_while_playing_freezes_and_logs_once() {
    // Clips of 48 frames: more than one read ahead takes (24), so later frames must be read
    // while they play.
    let fx = common::clip_fixture(8, 24, 48, 64, 16, (12, 9));
    let camera = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 64.0,
    };
    let (w, h) = (256, 192);
    // What the first two moments look like, while the store is whole.
    let moments: Vec<Vec<u8>> = [0.0, 1.0]
        .iter()
        .map(|&tick| {
            let mut reference = renderer(&fx, Backend::Cpu, w, h, sync());
            reference.set_playback(at(tick / FPS));
            reference.render(&camera).unwrap().0.into_raw()
        })
        .collect();
    let stream = StreamConfig {
        gpu_budget: 1 << 20,
        ..Default::default()
    };
    let mut r = renderer(&fx, Backend::Cpu, w, h, stream);
    r.set_playback(at(0.0));
    assert_eq!(
        r.settle(&camera, std::time::Duration::from_secs(10))
            .stats
            .missing,
        0
    );
    // The clips' 64 px frames (JPEG) are lost while they play.
    std::fs::OpenOptions::new()
        .write(true)
        .open(fx.library.join("clips-06.bin"))
        .unwrap()
        .set_len(0)
        .unwrap();
    let draw_at = |r: &mut tessera::HeadlessRenderer, tick: f64| {
        r.set_playback(at(tick / FPS));
        let mut frame = r.update(&camera);
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            frame = r.update(&camera);
        }
        r.draw(&frame, true).unwrap();
        (r.pixels().unwrap(), frame.stats)
    };
    let (a, stats) = draw_at(&mut r, 30.0);
    assert!(stats.failed_pages > 0, "{stats:?}");
    let (b, _) = draw_at(&mut r, 36.0);
    assert_eq!(a, b, "a clip with no more frames holds the last one it had");
    assert_eq!(r.stream().errors_logged(), 1);
    // Each cell holds a frame it played before the loss (its first, or the next one, read
    // ahead of the clock), sharp: never a hole, never a coarser level.
    let cell_of = |x: u32, y: u32| {
        let c = camera.center
            + (DVec2::new(x as f64, y as f64) + 0.5 - DVec2::new(w as f64, h as f64) / 2.0)
                / camera.cell_px;
        (c.x.floor() as i32, c.y.floor() as i32)
    };
    let mut cells = std::collections::HashMap::<(i32, i32), [bool; 2]>::new();
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 4) as usize;
            let same = cells.entry(cell_of(x, y)).or_insert([true, true]);
            for (m, moment) in moments.iter().enumerate() {
                same[m] &= a[i..i + 4] == moment[i..i + 4];
            }
        }
    }
    for (cell, same) in cells {
        assert!(
            same[0] || same[1],
            "cell {cell:?} shows neither frame it played"
        );
    }
}

/// A tick whose tiles' next frames are all resident (1 px per cell: level 0, pinned) only
/// moves them there: the update that does so plans, and the manager is at rest at once,
/// the next updates of the same tick not planning again.
#[test]
fn a_tick_over_resident_frames_plans_once() {
    let fx = fixture();
    let mut r = renderer(&fx, Backend::Cpu, 240, 160, StreamConfig::default());
    let camera = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 1.0,
    };
    r.set_playback(at(0.0));
    r.settle(&camera, std::time::Duration::from_secs(10));
    r.update(&camera);
    let plans = r.stream().plans_made();
    r.set_playback(at(1.0 / FPS));
    let tick = r.update(&camera).stats;
    assert!(
        tick.table_rows > 0 && tick.uploaded_pages == 0 && tick.tile_frames_shown > 0,
        "the tick moves playing tiles to resident frames: {tick:?}"
    );
    for _ in 0..3 {
        let stats = r.update(&camera).stats;
        assert_eq!(stats.table_rows, 0, "rows are written once: {stats:?}");
        assert_eq!(stats.tile_frames_shown, tick.tile_frames_shown);
    }
    assert_eq!(r.stream().plans_made(), plans + 1, "the tick planned again");
}

/// Between two ticks of playing clips, with the view at rest and nothing arriving, an update
/// has nothing to do: once one has found that, the next ones do not plan again (their cost
/// grows with the tiles on screen), until the tick, the view or a delivery changes.
#[test]
fn updates_at_rest_between_ticks_do_not_plan_again() {
    let fx = fixture();
    let mut r = renderer(&fx, Backend::Cpu, 240, 160, StreamConfig::default());
    let camera = Camera {
        center: DVec2::new(6.0, 4.5),
        cell_px: 20.0,
    };
    r.set_playback(at(0.0));
    r.settle(&camera, std::time::Duration::from_secs(10));
    // The next tick's frames are read and uploaded ahead; then the manager is at rest.
    let quiet_after = |r: &mut tessera::HeadlessRenderer, camera: &Camera| {
        // Generous: the loaders share two cores with the other tests.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let before = r.stream().plans_made();
            let frame = r.update(camera);
            if r.stream().plans_made() == before {
                return frame;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the manager never came to rest");
    };
    let rest = quiet_after(&mut r, &camera).stats;
    let plans = r.stream().plans_made();
    for _ in 0..10 {
        let stats = r.update(&camera).stats;
        assert_eq!(stats.missing, rest.missing);
        assert_eq!(stats.tile_frames_shown, rest.tile_frames_shown);
        assert!(
            stats.tile_frames_shown > 0,
            "clips play on screen: {stats:?}"
        );
    }
    assert_eq!(
        r.stream().plans_made(),
        plans,
        "updates at rest planned again"
    );
    // A later moment of the same tick is the same frame: still at rest.
    r.set_playback(at(0.5 / FPS));
    r.update(&camera);
    assert_eq!(r.stream().plans_made(), plans);
    // The next tick plans (its frames are due), and so does a moved view.
    r.set_playback(at(1.0 / FPS));
    r.update(&camera);
    assert_eq!(r.stream().plans_made(), plans + 1);
    quiet_after(&mut r, &camera);
    let plans = r.stream().plans_made();
    let moved = Camera {
        center: DVec2::new(6.5, 4.5),
        ..camera
    };
    r.update(&moved);
    assert_eq!(r.stream().plans_made(), plans + 1);
    // What is drawn after quiet updates is the synchronous renderer's frame at that moment.
    let quiet = quiet_after(&mut r, &moved);
    r.draw(&quiet, true).unwrap();
    let mut sync_r = renderer(&fx, Backend::Cpu, 240, 160, sync());
    sync_r.set_playback(at(1.0 / FPS));
    let settled = sync_r.settle(&moved, std::time::Duration::from_secs(10));
    sync_r.draw(&settled, true).unwrap();
    assert!(
        r.pixels().unwrap() == sync_r.pixels().unwrap(),
        "frames differ"
    );
}

/// While the view moves (frames come anyway), the pages playing clips need at the next
/// tick are read and uploaded a share at a time over the frames before it, not all in the
/// frames just after a tick; and they are all there when the tick comes.
#[test]
fn a_moving_view_loads_the_next_ticks_frames_over_the_frames_before_it() {
    let fx = fixture();
    // 64 px clip frames paged (an atlas smaller than they are), read by loader threads.
    let stream = StreamConfig {
        gpu_budget: 2 << 20,
        ..Default::default()
    };
    let mut r = renderer(&fx, Backend::Cpu, 256, 192, stream);
    // Off the cell grid, so panning a little keeps the same 5×4 cells on screen.
    let mut camera = Camera {
        center: DVec2::new(6.3, 4.3),
        cell_px: 64.0,
    };
    r.set_playback(at(0.0));
    assert_eq!(
        r.settle(&camera, std::time::Duration::from_secs(10))
            .stats
            .missing,
        0
    );
    // Ten frames a tick; the loaders get 25 ms of wall time a frame.
    const FRAMES_PER_TICK: usize = 10;
    let mut uploads = Vec::new();
    for n in 1..=3 * FRAMES_PER_TICK {
        camera.center.x += 0.001;
        r.set_playback(at(n as f64 / (FPS * FRAMES_PER_TICK as f64)));
        let stats = r.update(&camera).stats;
        assert!(
            stats.tile_frames_shown > 0,
            "clips play on screen: {stats:?}"
        );
        if n % FRAMES_PER_TICK == 0 && n > FRAMES_PER_TICK {
            assert_eq!(
                stats.late_tile_frames, 0,
                "the tick's frames were all there at frame {n}: {stats:?}"
            );
        }
        uploads.push(stats.uploaded_pages);
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    // The second tick's interval: every page uploaded is one the third tick needs.
    let interval = &uploads[2 * FRAMES_PER_TICK - 1..3 * FRAMES_PER_TICK - 1];
    let total: usize = interval.iter().sum();
    let busiest = interval.iter().copied().max().unwrap_or(0);
    let frames_uploading = interval.iter().filter(|&&n| n > 0).count();
    assert!(
        total >= 8,
        "the clips on screen need their next frames: {interval:?}"
    );
    assert!(
        busiest * 3 <= total && frames_uploading >= 4,
        "spread over the frames between ticks: {interval:?}"
    );
}

/// A frame takes in loaded pages only within its time for them: with none, one batch of 256
/// a frame; the rest wait in the loader channel, still in flight (not asked for again),
/// for the frames after, and none is lost.
#[test]
fn a_frame_takes_in_loaded_pages_only_within_its_time() {
    // 400 clips of two 16 px frames on 40×30 cells; the atlas pins levels 0–3 and pages
    // level 4, so the first frame asks for every clip's current and next frame at once.
    let fx = common::clip_fixture(0, 400, 2, 16, 16, (40, 30));
    let stream = StreamConfig {
        gpu_budget: 768 << 10,
        accept_time: std::time::Duration::ZERO,
        ..Default::default()
    };
    let mut r = renderer(&fx, Backend::Cpu, 640, 480, stream);
    let camera = Camera {
        center: DVec2::new(20.0, 15.0),
        cell_px: 16.0,
    };
    r.set_playback(at(0.0));
    let first = r.update(&camera).stats;
    let asked = first.queue_depth + first.in_flight;
    assert!(asked > 2 * 256, "{first:?}");
    // Until the loaders have sent every page.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.stream().pages_waiting() < asked {
        assert!(
            std::time::Instant::now() < deadline,
            "the loaders never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = r.stream().cache_bytes();
    let second = r.update(&camera).stats;
    assert_eq!(
        r.stream().pages_waiting(),
        asked - 256,
        "one batch taken in"
    );
    assert_eq!(
        second.in_flight,
        asked - 256,
        "the rest are still in flight: {second:?}"
    );
    assert!(second.cache_bytes > before);
    // The next frames take in the rest, a batch each, and the view comes out sharp.
    let mut frames = 0;
    while r.stream().pages_waiting() > 0 {
        r.update(&camera);
        frames += 1;
        assert!(frames < asked, "the waiting pages never went down");
    }
    assert_eq!(frames, (asked - 256).div_ceil(256));
    let settled = r.settle(&camera, std::time::Duration::from_secs(10)).stats;
    assert_eq!(settled.missing, 0, "{settled:?}");
}
