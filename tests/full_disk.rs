//! A full disk, made by a file-size limit (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so that a
//! write past it fails with EFBIG, as a write to a full disk fails with ENOSPC, instead of
//! killing the process): `bake`, `merge`, `match`, `render` (PNG, poster, MP4) and `export` stop with
//! an error naming the file, leave no output that opens as valid, and leave the library as
//! it was; the same command without the limit then succeeds.

mod common;

use std::path::Path;
use std::process::Command;

/// `tessera args`, unable to write any file past `limit` bytes: (exit code, stderr).
fn limited(limit: u64, args: &[&str]) -> (i32, String) {
    // POSIX `ulimit -f` counts 512-byte blocks; an ignored signal stays ignored across exec.
    let blocks = (limit / 512).to_string();
    let (code, _, err) = common::output(
        Command::new("sh")
            .arg("-c")
            .arg(r#"trap '' XFSZ; ulimit -f "$1"; shift; exec "$@""#)
            .arg("sh")
            .arg(&blocks)
            .arg(env!("CARGO_BIN_EXE_tessera"))
            .args(args),
    );
    (code, err)
}

/// The refusal a full disk gets: an error, the file named, no panic.
fn assert_refused(code: i32, err: &str, what: &str, names: &str) {
    assert!(
        code != 0 && code != 101 && !err.contains("panicked"),
        "{what}: code {code}\n{err}"
    );
    assert!(
        err.contains("too large") && err.contains(names),
        "{what}: the error does not say what failed where:\n{err}"
    );
}

/// The files in `dir` (names), to see that nothing was left behind.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_bake_that_fills_the_disk_leaves_the_library_as_it_was() {
    let fx = common::fixture(16, 64, (8, 6));
    let before = tessera::library::Library::open(&fx.library).unwrap();
    let tiles_before = before.manifest.tiles.len();
    let manifest_before = std::fs::read(fx.library.join("manifest.json")).unwrap();
    drop(before);
    for i in 0..8 {
        common::picture(500 + i, 90, 70)
            .save(fx.tiles.join(format!("new{i}.png")))
            .unwrap();
    }
    let (tiles, library) = (fx.tiles.to_str().unwrap(), fx.library.to_str().unwrap());
    let args = [
        "bake",
        "--tiles",
        tiles,
        "-o",
        library,
        "--max-tile",
        "64",
        "--grid",
        "2",
    ];
    // The finest level's file already holds more than 64 KiB: its first append fails.
    let (code, err) = limited(64 << 10, &args);
    assert_refused(code, &err, "bake", "lib.tlib");
    assert_eq!(
        std::fs::read(fx.library.join("manifest.json")).unwrap(),
        manifest_before,
        "the committed library changed"
    );
    let after = tessera::library::Library::open(&fx.library).unwrap();
    assert_eq!(after.manifest.tiles.len(), tiles_before);
    // The mosaic matched before renders as before.
    let (code, _, err) = common::tessera(&[
        "render",
        fx.mosaic.to_str().unwrap(),
        "-o",
        fx.dir.path().join("after.png").to_str().unwrap(),
        "--size",
        "64x48",
        "--renderer",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    // With room, the same bake resumes and finishes (no stale lock, nothing to clean).
    let (code, _, err) = common::tessera(&args);
    assert_eq!(code, 0, "{err}");
    let done = tessera::library::Library::open(&fx.library).unwrap();
    assert_eq!(done.manifest.tiles.len(), tiles_before + 8);
}

#[test]
fn a_merge_that_fills_the_disk_publishes_nothing() {
    let fx = common::fixture(16, 64, (8, 6));
    let d = fx.dir.path();
    let tiles = fx.tiles.to_str().unwrap();
    let shard = |k: u32| d.join(format!("s{k}.tlib")).to_str().unwrap().to_string();
    for k in 1..=2 {
        let (code, _, err) = common::tessera(&[
            "bake",
            "--tiles",
            tiles,
            "-o",
            &shard(k),
            "--max-tile",
            "64",
            "--shard",
            &format!("{k}/2"),
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let merged = d.join("all.tlib");
    let args = [
        "merge",
        &shard(1),
        &shard(2),
        "-o",
        merged.to_str().unwrap(),
    ];
    // 16 finest pages of 16 KiB do not fit under 64 KiB.
    let (code, err) = limited(64 << 10, &args);
    assert_refused(code, &err, "merge", "all.tlib");
    assert!(
        tessera::library::Library::open(&merged).is_err(),
        "a merge that failed opens as a library"
    );
    // With room, the same merge resumes and finishes.
    let (code, _, err) = common::tessera(&args);
    assert_eq!(code, 0, "{err}");
    let done = tessera::library::Library::open(&merged).unwrap();
    assert_eq!(done.manifest.tiles.len(), 16);
}

#[test]
fn outputs_that_fill_the_disk_are_refused_and_leave_nothing() {
    let fx = common::fixture(12, 32, (24, 16));
    let d = fx.dir.path();
    let mosaic = fx.mosaic.to_str().unwrap();
    let out = |name: &str| d.join(name).to_str().unwrap().to_string();
    let target = out("target.png");
    let runs: Vec<(&str, String, Vec<String>)> = vec![
        (
            "picture",
            "frame.png".into(),
            [
                "render",
                mosaic,
                "-o",
                &out("frame.png"),
                "--size",
                "320x240",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "poster",
            "poster.png".into(),
            [
                "render",
                mosaic,
                "-o",
                &out("poster.png"),
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
            "zoom.mp4".into(),
            [
                "render",
                mosaic,
                "-o",
                &out("zoom.mp4"),
                "--size",
                "320x240",
                "--frames",
                "30",
                "--renderer",
                "cpu",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "export",
            "dz".into(),
            [
                "export",
                mosaic,
                "--dzi",
                &out("dz"),
                "--name",
                "m",
                "--cell-px",
                "16",
                "--renderer",
                "cpu",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "match",
            "again.mosaic".into(),
            [
                "match",
                "--library",
                fx.library.to_str().unwrap(),
                "--target",
                &target,
                "--cells",
                "64x48",
                "-o",
                &out("again.mosaic"),
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    let before = listing(d);
    for (what, output, args) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // 4 KiB: less than any of these outputs, more than nothing.
        let (code, err) = limited(4 << 10, &args);
        let name = if *what == "export" { "m_files" } else { output };
        assert_refused(code, &err, what, name);
        if *what == "export" {
            // Tiles may have been written; the descriptor that makes them a pyramid was not.
            assert!(!d.join("dz/m.dzi").exists(), "export left a descriptor");
            std::fs::remove_dir_all(d.join("dz")).unwrap();
        }
        assert_eq!(listing(d), before, "{what} left a file behind");
        // With room, the same command succeeds.
        let (code, _, err) =
            common::output(Command::new(env!("CARGO_BIN_EXE_tessera")).args(&args));
        assert_eq!(code, 0, "{what} with room: {err}");
        assert!(d.join(output).exists());
        let path = d.join(output);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
}
