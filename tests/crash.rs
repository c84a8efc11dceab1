//! Crashes at any instant: `tessera bake` killed with SIGKILL at pseudo-random moments
//! (seeded), then run again. Whatever the moment, the library never opens half-written, no
//! stale lock blocks the next run, and the finished library equals one baked without
//! interruption: the same tiles, records, clip frames, key frames, signatures and pages.
//! Likewise `render` (a poster, a video), `export --dzi` and `match`: their output is absent
//! or whole.
//!
//! `TESSERA_CRASH_TRIALS=50 cargo test --release --test crash` runs more trials (a
//! handful by default, so the suite stays short).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};
use tessera::library::{page_bytes, Library};
use tessera::video::{VideoSettings, VideoWriter};

/// A video of `shots` flat colours, 25 fps (a rate whose ticks at the library's 12 fps
/// fall between frames), each shot with a bar that moves, so cuts are cuts and motion is
/// not.
fn write_shots(path: &Path, shots: &[u32]) {
    let (w, h) = (160u32, 96u32);
    let mut video = VideoWriter::create(
        path,
        VideoSettings {
            width: w,
            height: h,
            fps: 25.into(),
            crf: 18,
            preset: "ultrafast".into(),
            audio: None,
        },
    )
    .unwrap();
    let palette = [[200, 40, 40], [40, 180, 60], [30, 50, 210], [225, 205, 60]];
    for (k, &frames) in shots.iter().enumerate() {
        let colour = palette[k % palette.len()];
        for f in 0..frames {
            let bar = (f * 3) % w;
            let frame: Vec<u8> = (0..w * h)
                .flat_map(|i| {
                    let x = i % w;
                    let [r, g, b] = if x.abs_diff(bar) < 6 {
                        [245, 245, 245]
                    } else {
                        colour
                    };
                    [r, g, b, 255]
                })
                .collect();
            video.write_frame(frame).unwrap();
        }
    }
    video.finish().unwrap();
}

/// What a library holds, in the terms a resumed bake must reproduce.
#[derive(Debug, PartialEq)]
struct Contents {
    tiles: Vec<String>,
    signatures: Vec<u32>,
    pages: Vec<u32>,
}

fn contents(dir: &Path) -> Contents {
    let library = Library::open(dir).unwrap_or_else(|e| panic!("{e}"));
    let tiles = library
        .manifest
        .tiles
        .iter()
        .map(|t| {
            format!(
                "{} first {} frames {} key {} shot {:?} retired {}",
                t.source.path, t.first_record, t.frames, t.key, t.shot, t.retired
            )
        })
        .collect();
    let signatures = library.signatures().iter().map(|v| v.to_bits()).collect();
    // Every tile's key frame at every level, as a checksum each.
    let mut pages = Vec::new();
    for tile in 0..library.tile_count() {
        for level in 0..library.levels() {
            let mut page = vec![0u8; page_bytes(level)];
            library.read_page(tile, level, &mut page).unwrap();
            pages.push(crc32fast::hash(&page));
        }
    }
    Contents {
        tiles,
        signatures,
        pages,
    }
}

/// Equal, or a short account of the first difference.
fn assert_same(got: &Contents, expected: &Contents, when: &str) {
    if let Some((a, b)) = got.tiles.iter().zip(&expected.tiles).find(|(a, b)| a != b) {
        panic!("{when}: a tile differs:\n  resumed: {a}\n  clean:   {b}");
    }
    assert_eq!(got.tiles.len(), expected.tiles.len(), "{when}: tile count");
    assert!(
        got.signatures == expected.signatures,
        "{when}: signatures differ"
    );
    assert!(got.pages == expected.pages, "{when}: pages differ");
}

fn bake(tiles: &Path, out: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args([
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-tile",
        "32",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    cmd
}

#[test]
fn a_bake_killed_at_any_instant_resumes_to_the_uninterrupted_library() {
    let trials: u64 = std::env::var("TESSERA_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..12 {
        common::picture(i, 48 + (i as u32 * 13) % 90, 40 + (i as u32 * 7) % 70)
            .save(tiles.join(format!("p{i:03}.png")))
            .unwrap();
    }
    // Most of the bake is the video, so most kills land between its shots.
    let shots: Vec<u32> = (0..24).map(|k| 27 + (k * 7) % 19).collect();
    write_shots(&tiles.join("shots.mp4"), &shots);

    let clean = dir.path().join("clean.tlib");
    let started = Instant::now();
    assert!(bake(&tiles, &clean).status().unwrap().success());
    let whole = started.elapsed();
    let expected = contents(&clean);
    assert!(
        expected.tiles.iter().any(|t| t.contains("shot Some")),
        "clips were baked"
    );

    let mut rng = common::Rng(0x5eed);
    let out = dir.path().join("killed.tlib");
    for trial in 0..trials {
        let _ = std::fs::remove_dir_all(&out);
        // Anywhere from the start to a little past the end of an uninterrupted bake.
        let at = whole.mul_f64(rng.below(1100) as f64 / 1000.0);
        let mut child = bake(&tiles, &out).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let finished = child.wait().unwrap().success();
        // Killed: the library does not open as valid. Finished first: it is whole.
        match Library::open(&out) {
            Ok(_) => assert_same(
                &contents(&out),
                &expected,
                &format!("trial {trial}: finished at {at:?}"),
            ),
            Err(_) => assert!(!finished, "trial {trial}: a finished bake does not open"),
        }
        // The next run is not blocked by the dead one's lock, and ends where a clean one
        // does.
        let status = bake(&tiles, &out).status().unwrap();
        assert!(
            status.success(),
            "trial {trial}: killed at {at:?}, the re-bake failed"
        );
        let when = format!(
            "trial {trial}: killed at {} ms of {} ms",
            at.as_millis(),
            whole.as_millis()
        );
        assert_same(&contents(&out), &expected, &when);
    }
    // The trials reached into the bake, not only its start.
    assert!(whole > Duration::from_millis(50), "the bake took {whole:?}");
}

/// `render` (a picture, a poster in bands, a video) and `export --dzi` killed at any
/// instant leave the asked output absent or whole: a picture that decodes to its size, a
/// video with every frame, a pyramid whose descriptor is there only with all its tiles.
#[test]
fn outputs_killed_at_any_instant_are_absent_or_whole() {
    let trials: u64 = std::env::var("TESSERA_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let fx = common::fixture(12, 32, (24, 16));
    let d = fx.dir.path();
    let mosaic = fx.mosaic.to_str().unwrap();
    let poster = d.join("poster.png");
    let video = d.join("zoom.mp4");
    let pyramid = d.join("dz");
    let again = d.join("again.mosaic");
    let target = d.join("target.png");
    let runs: [(&str, Vec<String>); 4] = [
        (
            "poster",
            [
                "render",
                mosaic,
                "-o",
                poster.to_str().unwrap(),
                "--size",
                "4800x3200",
                "--renderer",
                "cpu",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "video",
            [
                "render",
                mosaic,
                "-o",
                video.to_str().unwrap(),
                "--size",
                "320x240",
                "--frames",
                "90",
                "--renderer",
                "cpu",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "export",
            [
                "export",
                mosaic,
                "--dzi",
                pyramid.to_str().unwrap(),
                "--name",
                "m",
                "--cell-px",
                "64",
                "--renderer",
                "cpu",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "match",
            [
                "match",
                "--library",
                fx.library.to_str().unwrap(),
                "--target",
                target.to_str().unwrap(),
                "--cells",
                "320x240",
                "-o",
                again.to_str().unwrap(),
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    let mut rng = common::Rng(0xdead);
    for (what, args) in &runs {
        let run = || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
            cmd.args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            cmd
        };
        let started = Instant::now();
        assert!(run().status().unwrap().success(), "{what}");
        let whole = started.elapsed();
        for trial in 0..trials {
            let _ = std::fs::remove_file(&poster);
            let _ = std::fs::remove_file(&video);
            let _ = std::fs::remove_dir_all(&pyramid);
            let _ = std::fs::remove_file(&again);
            let at = whole.mul_f64(rng.below(1100) as f64 / 1000.0);
            let mut child = run().spawn().unwrap();
            std::thread::sleep(at);
            let _ = child.kill();
            let _ = child.wait();
            let when = format!(
                "{what}, trial {trial}: killed at {} of {} ms",
                at.as_millis(),
                whole.as_millis()
            );
            match *what {
                "poster" if poster.exists() => {
                    let img = image::open(&poster).unwrap_or_else(|e| panic!("{when}: {e}"));
                    assert_eq!((img.width(), img.height()), (4800, 3200), "{when}");
                }
                "video" if video.exists() => {
                    let mut reader = tessera::video::VideoReader::open(&video)
                        .unwrap_or_else(|e| panic!("{when}: {e:#}"));
                    let mut frames = 0;
                    while reader.next_frame().unwrap().is_some() {
                        frames += 1;
                    }
                    assert_eq!(frames, 90, "{when}");
                }
                "export" if pyramid.join("m.dzi").exists() => {
                    let layout = tessera::export::DziLayout::new(24 * 64, 16 * 64, 256, 1);
                    for level in 0..=layout.max_level() {
                        let (cols, rows) = layout.tiles(level);
                        for (c, r) in (0..cols).flat_map(|c| (0..rows).map(move |r| (c, r))) {
                            let tile = pyramid.join(format!("m_files/{level}/{c}_{r}.jpg"));
                            image::open(&tile)
                                .unwrap_or_else(|e| panic!("{when}: {}: {e}", tile.display()));
                        }
                    }
                }
                "match" if again.exists() => {
                    let mosaic = tessera::mosaic::Mosaic::load(&again)
                        .unwrap_or_else(|e| panic!("{when}: {e}"));
                    assert_eq!(mosaic.grid.len(), 320 * 240, "{when}");
                }
                _ => {}
            }
            // The next run is not hindered by what the killed one left, and removes its
            // temporaries.
            assert!(
                run().status().unwrap().success(),
                "{when}: the next run failed"
            );
            let left: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".partial"))
                .collect();
            assert!(left.is_empty(), "{when}: temporaries left: {left:?}");
        }
    }
}
