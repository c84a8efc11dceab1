//! Every bad input a new user hit, end to end through the binary: no panic, no silent
//! damage, no partial file under the asked name, no false claim. One test per case.

mod common;

use common::{output, tessera};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the binary with files limited to `bytes` (RLIMIT_FSIZE): a write past it fails
/// with "File too large", as a full disk fails a write. SIGXFSZ is ignored so the write
/// returns the error instead of killing the process.
fn with_file_limit(args: &[&str], bytes: u64) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    output(&mut cmd)
}

fn assert_no_panic(err: &str) {
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

/// Files in `dir` whose names start with a dot (temporaries) or contain "tmp".
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("tmp") || n.contains("partial"))
        .collect()
}

/// A noisy picture whose JPEG is well over 20 KB.
fn photo_like(seed: u64) -> image::RgbImage {
    let mut rng = common::Rng(seed);
    image::RgbImage::from_fn(400, 300, |x, y| {
        let n = rng.below(100) as u8;
        image::Rgb([(x / 3) as u8 + n, (y / 3) as u8 + n / 2, 100 + n])
    })
}

#[test]
fn zero_cells_wide_is_refused_by_the_argument_parser() {
    let fx = common::fixture(6, 16, (4, 3));
    let target = fx.dir.path().join("target.png");
    let out = fx.dir.path().join("z.mosaic");
    for cmd in [
        vec![
            "match",
            "--library",
            fx.library.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--cells-wide",
            "0",
            "-o",
            out.to_str().unwrap(),
        ],
        vec![
            "bake",
            "--tiles",
            fx.tiles.to_str().unwrap(),
            "--library",
            fx.library.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--cells-wide",
            "0",
            "-o",
            out.to_str().unwrap(),
        ],
    ] {
        let (code, _, err) = tessera(&cmd);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--cells-wide"), "{err}");
        assert_no_panic(&err);
    }
    assert!(!out.exists());
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let fx = common::fixture(6, 16, (4, 3));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["info", fx.mosaic.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -0`: the reader goes away before the first line.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "{err}");
    assert_ne!(out.status.code(), Some(101), "a panic exits 101");
}

#[test]
fn a_truncated_jpeg_tile_is_named_and_skipped() {
    let fx = common::fixture(6, 16, (4, 3));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(photo_like(3))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    assert!(jpeg.len() > 30_000, "{} bytes", jpeg.len());
    std::fs::write(fx.tiles.join("cut.jpg"), &jpeg[..20_000]).unwrap();
    let (code, out, err) = tessera(&[
        "bake",
        "--tiles",
        fx.tiles.to_str().unwrap(),
        "-o",
        fx.library.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 skipped") && out.contains("cut.jpg") && out.contains("truncated"),
        "{out}"
    );
    assert!(err.contains("cut.jpg"), "warned by name: {err}");
    let lib = tessera::library::Library::open(&fx.library).unwrap();
    assert!(!lib
        .manifest
        .tiles
        .iter()
        .any(|t| t.source.path == "cut.jpg"));
    assert_eq!(lib.manifest.skipped.len(), 1);
}

#[test]
fn a_truncated_jpeg_target_is_refused_by_name() {
    let fx = common::fixture(6, 16, (4, 3));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(photo_like(4))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let target = fx.dir.path().join("half.jpg");
    std::fs::write(&target, &jpeg[..20_000]).unwrap();
    let out = fx.dir.path().join("x.mosaic");
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("half.jpg") && err.contains("truncated"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn an_impossible_repeat_radius_is_reported_as_broken_not_claimed() {
    // Twelve tiles cannot keep a tile from repeating within 3 cells (that needs 49).
    let fx = common::fixture(12, 16, (4, 3));
    let target = fx.dir.path().join("target.png");
    let out = fx.dir.path().join("r.mosaic");
    let (code, stdout, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "20x15",
        "--repeat-radius",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("needs at least 49 tiles"), "{err}");
    assert!(stdout.contains("repeat limit 3 broken at"), "{stdout}");
    let (_, info, _) = tessera(&["info", out.to_str().unwrap()]);
    assert!(
        info.contains("within 3 cells: broken at") && !info.contains("held"),
        "{info}"
    );
    // A radius the library can hold is reported as held.
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "20x15",
        "--repeat-radius",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, info, _) = tessera(&["info", out.to_str().unwrap()]);
    assert!(
        info.contains("within 1 cells: held at every cell"),
        "{info}"
    );
}

#[test]
fn use_limits_are_held_recorded_and_impossible_ones_refused() {
    let fx = common::fixture(12, 16, (4, 3));
    let out = fx.dir.path().join("u.mosaic");
    let run = |extra: &[&str]| {
        let args = fx.match_args("10x6", &out, extra);
        tessera(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // 12 tiles × 4 uses cannot cover 60 cells: refused with the least that can, nothing written.
    let (code, _, err) = run(&["--max-uses", "4"]);
    assert_ne!(code, 0);
    assert!(err.contains("--max-uses 5 or more"), "{err}");
    assert_no_panic(&err);
    assert!(!out.exists());
    // The tightest limit that fits: every tile exactly 5 times.
    let (code, _, err) = run(&["--max-uses", "5", "--use-all"]);
    assert_eq!(code, 0, "{err}");
    let (_, info, _) = tessera(&["info", out.to_str().unwrap()]);
    for line in [
        "tiles used   12 distinct of 12",
        "each tile at most 5×: held",
        "every tile at least once",
    ] {
        assert!(info.contains(line), "{line}: {info}");
    }
    let (code, _, err) = run(&["--use-all", "--repeat-radius", "1"]);
    assert_eq!(code, 0, "{err}");
    let (_, info, _) = tessera(&["info", out.to_str().unwrap()]);
    for line in ["tiles used   12 distinct of 12", "within 1 cells: held"] {
        assert!(info.contains(line), "{line}: {info}");
    }
}

#[test]
fn jpeg_output_is_written_and_unknown_types_are_refused_before_any_file() {
    let fx = common::fixture(6, 16, (4, 3));
    let jpg = fx.dir.path().join("x.jpg");
    let (code, _, err) = tessera(&[
        "render",
        fx.mosaic.to_str().unwrap(),
        "-o",
        jpg.to_str().unwrap(),
        "--size",
        "120x90",
        "--renderer",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    let img = image::open(&jpg).unwrap();
    assert_eq!((img.width(), img.height()), (120, 90));
    assert_eq!(
        image::ImageFormat::from_path(&jpg).unwrap(),
        image::guess_format(&std::fs::read(&jpg).unwrap()).unwrap()
    );
    let odd = fx.dir.path().join("x.xyz");
    let (code, _, err) = tessera(&[
        "render",
        fx.mosaic.to_str().unwrap(),
        "-o",
        odd.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("x.xyz") && err.contains(".png"), "{err}");
    assert!(!odd.exists());
}

#[test]
fn a_full_disk_leaves_no_picture_and_no_temporary() {
    let fx = common::fixture(6, 16, (4, 3));
    let png = fx.dir.path().join("big.png");
    let (code, _, err) = with_file_limit(
        &[
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
            "--size",
            "1200x900",
            "--cell-px",
            "100",
            "--renderer",
            "cpu",
        ],
        64 << 10,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("big.png") && err.contains("too large"),
        "{err}"
    );
    assert!(
        !png.exists(),
        "a truncated picture was left under the asked name"
    );
    assert!(
        leftovers(fx.dir.path()).is_empty(),
        "{:?}",
        leftovers(fx.dir.path())
    );
}

#[test]
fn a_full_disk_during_match_leaves_no_temporary() {
    let fx = common::fixture(6, 16, (4, 3));
    let out = fx.dir.path().join("big.mosaic");
    // 400×300 cells: a 480 KB grid against a 64 KB limit.
    let args = fx.match_args("400x300", &out, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = with_file_limit(&args, 64 << 10);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("big.mosaic"), "{err}");
    assert!(!out.exists());
    assert!(
        leftovers(fx.dir.path()).is_empty(),
        "{:?}",
        leftovers(fx.dir.path())
    );
}

#[test]
fn meaningless_zooms_and_centres_are_refused_with_the_valid_range() {
    let fx = common::fixture(6, 16, (4, 3));
    let png = fx.dir.path().join("v.png");
    for (flag, value) in [
        ("--cell-px", "0"),
        ("--cell-px", "-4"),
        ("--cell-px", "1e-9"),
        ("--cell-px", "NaN"),
        ("--cell-px", "inf"),
        ("--center", "NaN,NaN"),
        ("--center", "1,inf"),
        ("--tint", "1.5"),
        ("--tint", "-0.1"),
        ("--tint", "NaN"),
    ] {
        let arg = format!("{flag}={value}");
        let (code, _, err) = tessera(&[
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
            &arg,
        ]);
        assert_eq!(code, 2, "{flag} {value}: {err}");
        assert!(err.contains(flag), "{flag} {value}: {err}");
        if flag == "--cell-px" {
            assert!(err.contains("4096"), "names the range: {err}");
        }
        if flag == "--tint" {
            assert!(err.contains("0 to 1"), "names the range: {err}");
        }
        assert_no_panic(&err);
    }
    assert!(!png.exists());
    // A negative centre is a centre (written with a space, not taken for a flag); one that
    // shows no cell draws the background and says so.
    let (code, _, err) = tessera(&[
        "render",
        fx.mosaic.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--center",
        "-1000,-1000",
        "--cell-px",
        "4",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("shows no cell"), "{err}");
    assert!(png.exists());
}

#[test]
fn a_symlink_loop_is_counted_with_the_skipped_files() {
    let fx = common::fixture(6, 16, (4, 3));
    std::os::unix::fs::symlink(&fx.tiles, fx.tiles.join("loop")).unwrap();
    let (code, out, err) = tessera(&[
        "bake",
        "--tiles",
        fx.tiles.to_str().unwrap(),
        "-o",
        fx.library.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 skipped") && out.contains("loop"), "{out}");
    let (_, info, _) = tessera(&["info", fx.library.to_str().unwrap()]);
    assert!(
        info.contains("skipped      1 files") && info.contains("loop"),
        "{info}"
    );
}

#[test]
fn a_huge_picture_is_baked_in_bounded_memory() {
    // An 8000² PNG: 192 MB decoded as RGB. Baking it once took ~1.2 GB (an RGBA copy and a
    // float copy of the whole picture); now the decoded picture and little else.
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    let big = image::RgbImage::from_fn(8000, 8000, |x, y| {
        image::Rgb([(x / 32) as u8, (y / 32) as u8, ((x + y) / 64) as u8])
    });
    big.save(tiles.join("huge.png")).unwrap();
    drop(big);
    let lib = dir.path().join("lib.tlib");
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "bake",
            "--tiles",
            tiles.to_str().unwrap(),
            "-o",
            lib.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    // The largest resident set of any child this test process waited for: only this one.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let peak_mb = usage.ru_maxrss as f64 / 1024.0;
    eprintln!("bake of an 8000² PNG: peak RSS {peak_mb:.0} MB");
    assert!(peak_mb < 450.0, "peak RSS {peak_mb:.0} MB");
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let fx = common::fixture(6, 16, (4, 3));
    let (code, _, err) = tessera(&[
        "-v",
        "bake",
        "--tiles",
        fx.tiles.to_str().unwrap(),
        "-o",
        fx.library.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn match_help_explains_every_option_and_the_default_grid() {
    let (code, out, _) = tessera(&["match", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("The tile library to match against"), "{out}");
    assert!(out.contains("The picture the mosaic reproduces"), "{out}");
    assert!(out.contains("default: 160"), "{out}");
}
