//! Live targets: `render --live` on a named pipe the test feeds in real time with a known
//! pattern (a flat colour that changes every second), over a library of flat colours. The
//! recording follows the pattern, ends cleanly when the pipe closes (a whole MP4, before
//! its --duration), and bad live arguments are refused by name.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const W: usize = 64;
const H: usize = 36;
const FPS: u64 = 10;
/// The pattern, a second each: red, green, blue (as full-range YCbCr, and as sRGB).
const PATTERN: [([u8; 3], [u8; 3]); 3] = [
    ([76, 85, 255], [255, 0, 0]),
    ([150, 44, 21], [0, 255, 0]),
    ([29, 255, 107], [0, 0, 255]),
];

/// Writes the pattern to `fifo` as a YUV4MPEG2 stream in real time, then closes it.
fn feed(fifo: &Path) -> std::thread::JoinHandle<()> {
    let fifo = fifo.to_path_buf();
    std::thread::spawn(move || {
        let mut out = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        writeln!(out, "YUV4MPEG2 W{W} H{H} F{FPS}:1 Ip A1:1 C420jpeg").unwrap();
        let started = Instant::now();
        for n in 0..3 * FPS {
            let [y, cb, cr] = PATTERN[(n / FPS) as usize].0;
            let mut frame = b"FRAME\n".to_vec();
            frame.extend(std::iter::repeat_n(y, W * H));
            frame.extend(std::iter::repeat_n(cb, W * H / 4));
            frame.extend(std::iter::repeat_n(cr, W * H / 4));
            if out.write_all(&frame).is_err() {
                return;
            }
            let due = Duration::from_millis(n * 1000 / FPS);
            std::thread::sleep(due.saturating_sub(started.elapsed()));
        }
    })
}

/// A library of flat colours: the pattern's and a few others.
fn flat_library(dir: &Path) -> std::path::PathBuf {
    let tiles = dir.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    let colours = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [128, 128, 128],
        [255, 255, 0],
        [0, 0, 0],
    ];
    for (i, c) in colours.iter().enumerate() {
        image::RgbImage::from_pixel(32, 32, image::Rgb(*c))
            .save(tiles.join(format!("c{i}.png")))
            .unwrap();
    }
    let library = dir.join("flat.tlib");
    let (code, _, err) = common::tessera(&[
        "bake",
        "--tiles",
        tiles.to_str().unwrap(),
        "-o",
        library.to_str().unwrap(),
        "--max-tile",
        "32",
    ]);
    assert_eq!(code, 0, "{err}");
    library
}

#[test]
fn a_named_pipe_is_recorded_as_it_plays_and_ends_when_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let fifo = dir.path().join("live.y4m");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.path().join("live.mp4");
    let sender = feed(&fifo);
    let started = Instant::now();
    let (code, stdout, err) = common::tessera(&[
        "render",
        "--library",
        library.to_str().unwrap(),
        "--live",
        fifo.to_str().unwrap(),
        "--live-cells",
        "16x9",
        "-o",
        out.to_str().unwrap(),
        "--size",
        "160x90",
        "--duration",
        "30",
        "--renderer",
        "cpu",
    ]);
    sender.join().unwrap();
    assert_eq!(code, 0, "{stdout}{err}");
    // It ended with the pipe, not at --duration.
    assert!(started.elapsed() < Duration::from_secs(20), "{stdout}");
    assert!(
        stdout.contains("dropped") && stdout.contains("capture to encoder"),
        "{stdout}"
    );

    // A whole MP4 whose frames follow the pattern: red, then green, then blue.
    let mut reader = tessera::video::VideoReader::open(&out).unwrap();
    let mut seen = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let n = (frame.width() * frame.height()) as u64;
        let mut sum = [0u64; 3];
        for p in frame.pixels() {
            for c in 0..3 {
                sum[c] += p[c] as u64;
            }
        }
        let mean = sum.map(|s| (s / n) as u8);
        let nearest = PATTERN
            .iter()
            .position(|(_, rgb)| {
                PATTERN
                    .iter()
                    .all(|(_, other)| distance(mean, *rgb) <= distance(mean, *other))
            })
            .unwrap();
        if seen.last() != Some(&nearest) {
            seen.push(nearest);
        }
    }
    assert!(seen.starts_with(&[0]) || seen.starts_with(&[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&2), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the colours went back: {seen:?}"
    );
}

fn distance(a: [u8; 3], b: [u8; 3]) -> u32 {
    (0..3)
        .map(|i| (a[i] as i32 - b[i] as i32).unsigned_abs())
        .sum()
}

#[test]
fn bad_live_arguments_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let lib = library.to_str().unwrap();
    let out = dir.path().join("x.mp4");
    let out = out.to_str().unwrap();
    let missing = dir.path().join("nothing-here");
    for (args, says) in [
        (vec!["--live", "x.fifo", "-o", out], "--library"),
        (
            vec![
                "--library",
                lib,
                "--live",
                missing.to_str().unwrap(),
                "-o",
                out,
            ],
            "nothing-here",
        ),
        (
            vec![
                "--library",
                lib,
                "--live",
                "x",
                "--live-format",
                "no-such-format",
                "-o",
                out,
            ],
            "no-such-format",
        ),
        (vec!["--library", lib, "--live", "x", "-o", "x.png"], ".mp4"),
        (
            vec![
                "--library",
                lib,
                "--live",
                "x",
                "--live-option",
                "novalue",
                "-o",
                out,
            ],
            "KEY=VALUE",
        ),
    ] {
        let mut full = vec!["render"];
        full.extend(args);
        let (code, stdout, err) = common::tessera(&full);
        assert!(
            code != 0 && code != 101 && !err.contains("panicked"),
            "{full:?}: {stdout}{err}"
        );
        assert!(err.contains(says), "{full:?}: {err}");
        assert!(!Path::new(out).exists());
    }
}
