//! Video out through FFmpeg: what the writer puts in a file is what the reader gets back,
//! bad settings are refused before anything is written, an abandoned video leaves nothing,
//! and `tessera render -o x.mp4` films the same pixels the PNG path renders.

mod common;

use std::path::Path;
use tessera::video::{VideoReader, VideoSettings, VideoWriter};

/// A smooth gradient with a bright square at a place that moves with `i`, so frame order and
/// frame identity are both visible after lossy compression.
fn frame(i: u32, w: u32, h: u32) -> Vec<u8> {
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let in_square = (x / 8 == i % (w / 8)) && y / 8 == 2;
            let rgb = if in_square {
                [250, 250, 240]
            } else {
                [(x * 200 / w) as u8 + 20, (y * 180 / h) as u8 + 30, 90]
            };
            px.extend_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
    }
    px
}

fn settings(w: u32, h: u32) -> VideoSettings {
    VideoSettings {
        width: w,
        height: h,
        fps: 25.into(),
        crf: 12,
        preset: "veryfast".into(),
        audio: None,
    }
}

fn read_all(path: &Path) -> Vec<image::RgbaImage> {
    let mut reader = VideoReader::open(path).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        frames.push(f);
    }
    frames
}

#[test]
fn frames_written_come_back_in_order_and_close_to_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("round.mp4");
    let (w, h, n) = (96, 64, 12);
    let mut writer = VideoWriter::create(&path, settings(w, h)).unwrap();
    assert_eq!(writer.codec(), "libx264");
    for i in 0..n {
        writer.write_frame(frame(i, w, h)).unwrap();
    }
    let summary = writer.finish().unwrap();
    assert_eq!(summary.frames, n as u64);
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());

    let reader = VideoReader::open(&path).unwrap();
    assert_eq!(reader.size(), (w, h));
    assert_eq!(reader.rate(), Some((25, 1)));
    let frames = read_all(&path);
    assert_eq!(frames.len(), n as usize);
    for (i, got) in frames.iter().enumerate() {
        let want = frame(i as u32, w, h);
        let (mean, _) = common::compare(got.as_raw(), &want);
        assert!(mean < 2.5, "frame {i}: mean error {mean:.2}/255");
        // The square is where frame i put it, not where a neighbour did.
        let at = |f: &[u8], x: u32| f[((2 * 8 + 4) * w + x * 8 + 4) as usize * 4 + 2]; // blue
        let col = i as u32 % (w / 8);
        assert!(at(got.as_raw(), col) > 200, "frame {i}: square missing");
        assert!(at(got.as_raw(), (col + 1) % (w / 8)) < 200);
    }
    // No temporary file is left beside the video.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn bad_settings_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let odd = VideoWriter::create(&dir.path().join("odd.mp4"), settings(95, 64));
    let msg = format!("{:#}", odd.err().unwrap());
    assert!(msg.contains("even width and height"), "{msg}");
    let gif = VideoWriter::create(&dir.path().join("x.gif"), settings(96, 64));
    let msg = format!("{:#}", gif.err().unwrap());
    assert!(msg.contains(".mp4"), "{msg}");
    let mut ok = VideoWriter::create(&dir.path().join("ok.mp4"), settings(96, 64)).unwrap();
    assert!(ok.write_frame(vec![0; 10]).is_err(), "wrong frame size");
    drop(ok);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_abandoned_video_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mp4");
    let mut writer = VideoWriter::create(&path, settings(64, 32)).unwrap();
    for i in 0..5 {
        writer.write_frame(frame(i, 64, 32)).unwrap();
    }
    drop(writer); // an error elsewhere: no finish()
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_corrupt_video_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.mp4");
    std::fs::write(&path, b"not a video at all").unwrap();
    let msg = format!("{:#}", VideoReader::open(&path).err().unwrap());
    assert!(msg.contains("junk.mp4"), "{msg}");
}

/// The CLI's zoom film starts and ends on the fitted view: its first and last frames match
/// the PNG `render` makes of that view, and the middle is zoomed in (a different picture).
#[test]
fn render_films_the_zoom_path_on_the_gpu() {
    let fx = common::fixture(12, 32, (16, 12));
    let d = fx.dir.path();
    let (mp4, png) = (d.join("zoom.mp4"), d.join("fit.png"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("render")
            .arg(&fx.mosaic)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let size = ["--size", "160x120"];
    let out = run(&[
        &["-o", mp4.to_str().unwrap(), "--frames", "10", "--crf", "8"],
        &size[..],
    ]
    .concat());
    assert!(
        out.contains("10 frames") && out.contains("libx264"),
        "{out}"
    );
    run(&[&["-o", png.to_str().unwrap()], &size[..]].concat());

    let frames = read_all(&mp4);
    assert_eq!(frames.len(), 10);
    let fit = image::open(&png).unwrap().to_rgba8();
    // 4:2:0 video keeps one colour per 2×2 pixels and a fitted mosaic changes colour every
    // pixel or two, so compare 4×4 block averages: what the eye sees of it.
    let blocks = |img: &image::RgbaImage| {
        image::imageops::resize(img, 40, 30, image::imageops::FilterType::Triangle).into_raw()
    };
    for i in [0, 9] {
        let (mean, _) = common::compare(&blocks(&frames[i]), &blocks(&fit));
        assert!(
            mean < 2.5,
            "frame {i} vs the fitted PNG: mean error {mean:.2}/255"
        );
    }
    let (mean, _) = common::compare(&blocks(&frames[5]), &blocks(&fit));
    assert!(
        mean > 8.0,
        "the middle frame should be zoomed in (differs by {mean:.2})"
    );
}
