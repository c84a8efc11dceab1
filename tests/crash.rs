//! Crashes at any instant: `tessera bake` killed with SIGKILL at pseudo-random moments
//! (seeded), then run again. Whatever the moment, the library never opens half-written, no
//! stale lock blocks the next run, and the finished library equals one baked without
//! interruption: the same tiles, records, clip frames, key frames, signatures and pages.
//! A `merge` of shards killed likewise resumes to the merge that was not interrupted.
//! `render` (a poster, a video), `export --dzi` and `match`: their output is absent or whole.
//!
//! `TESSERA_CRASH_TRIALS=50 cargo test --release --test crash` runs more trials (a
//! handful by default, so the suite stays short).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};
use tessera::library::{page_bytes, Library};

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
    quiet(&[
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-tile",
        "32",
    ])
}

/// `tessera args`, its output thrown away.
fn quiet(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

fn trials() -> u64 {
    std::env::var("TESSERA_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

#[test]
fn a_bake_killed_at_any_instant_resumes_to_the_uninterrupted_library() {
    let trials = trials();
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
    common::write_shots(&tiles.join("shots.mp4"), &shots);

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

#[test]
fn a_merge_killed_at_any_instant_resumes_to_the_uninterrupted_merge() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..150 {
        common::picture(i, 40 + (i as u32 * 13) % 50, 36 + (i as u32 * 7) % 40)
            .save(tiles.join(format!("p{i:03}.png")))
            .unwrap();
    }
    let shots: Vec<u32> = (0..24).map(|k| 27 + (k * 7) % 19).collect();
    common::write_shots(&tiles.join("shots.mp4"), &shots);
    // Large levels above 16 px: stills' raw pages and clips' JPEG blobs are both copied.
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let tiles = tiles.to_str().unwrap();
    for k in ["1/2", "2/2"] {
        let out = path(&format!("s{}.tlib", &k[..1]));
        let args = [
            "bake",
            "--tiles",
            tiles,
            "-o",
            &out,
            "--max-tile",
            "64",
            "--raw-max",
            "16",
            "--shard",
            k,
        ];
        assert!(quiet(&args).status().unwrap().success());
    }
    let (s1, s2) = (path("s1.tlib"), path("s2.tlib"));
    let clean = path("clean.tlib");
    let started = Instant::now();
    assert!(quiet(&["merge", &s1, &s2, "-o", &clean])
        .status()
        .unwrap()
        .success());
    let whole = started.elapsed();
    let expected = contents(Path::new(&clean));

    let out = path("killed.tlib");
    let merge = || quiet(&["merge", &s1, &s2, "-o", &out]);
    let mut rng = common::Rng(0x3e43);
    for trial in 0..trials() {
        let _ = std::fs::remove_dir_all(&out);
        let at = whole.mul_f64(rng.below(1100) as f64 / 1000.0);
        let mut child = merge().spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let finished = child.wait().unwrap().success();
        match Library::open(&out) {
            Ok(_) => assert_same(
                &contents(Path::new(&out)),
                &expected,
                &format!("trial {trial}: finished"),
            ),
            Err(_) => assert!(!finished, "trial {trial}: a finished merge does not open"),
        }
        assert!(
            merge().status().unwrap().success(),
            "trial {trial}: the merge again failed"
        );
        let when = format!(
            "trial {trial}: killed at {} ms of {} ms",
            at.as_millis(),
            whole.as_millis()
        );
        assert_same(&contents(Path::new(&out)), &expected, &when);
    }
}

/// `render` (a picture, a poster in bands, a video) and `export --dzi` killed at any
/// instant leave the asked output absent or whole: a picture that decodes to its size, a
/// video with every frame, a pyramid whose descriptor is there only with all its tiles.
#[test]
fn outputs_killed_at_any_instant_are_absent_or_whole() {
    let trials = trials();
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
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = || quiet(&args);
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
