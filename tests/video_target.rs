//! Video targets: a video matched frame by frame into a mosaic video, through the threaded
//! pipeline, to a file (with the target's sound), a picture at a time, and the window.
//!
//! The fixture makes the answer known: tiles are eight flat colours, and every cell of
//! target frame k is one of them, chosen by a hash of (cell, k), so each output frame's
//! cells say which target frame they were matched from.

mod common;

use std::path::{Path, PathBuf};
use tessera::library::{self, BakeOptions, StoreParams};
use tessera::motion::{Next, VideoMosaic};
use tessera::video::{VideoReader, VideoSettings, VideoWriter};
use tessera::{Backend, HeadlessRenderer, RenderOptions, RenderStyle, Scene};

const PALETTE: [[u8; 3]; 8] = [
    [200, 40, 40],
    [40, 200, 40],
    [40, 40, 200],
    [210, 210, 40],
    [200, 40, 200],
    [40, 200, 200],
    [235, 235, 235],
    [25, 25, 25],
];
const COLS: u32 = 16;
const ROWS: u32 = 9;
/// Target pixels per cell.
const CELL: u32 = 8;
const FPS: u32 = 10;
const FRAMES: u32 = 15;

/// The palette entry of cell (x, y) in target frame k.
fn colour_index(x: u32, y: u32, k: u32) -> usize {
    let mut h = (x as u64 * 73_856_093) ^ (y as u64 * 19_349_663) ^ (k as u64 * 83_492_791);
    h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 40) % 8) as usize
}

fn target_frame(k: u32) -> Vec<u8> {
    let (w, h) = (COLS * CELL, ROWS * CELL);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = PALETTE[colour_index(x / CELL, y / CELL, k)];
            rgba.extend_from_slice(&[r, g, b, 255]);
        }
    }
    rgba
}

struct Fixture {
    dir: tempfile::TempDir,
    target: PathBuf,
    mosaic: PathBuf,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The palette baked as tiles, and `frames` target frames written to `target_name`.
fn fixture(target_name: &str, frames: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for (i, c) in PALETTE.iter().enumerate() {
        image::RgbImage::from_pixel(32, 32, image::Rgb(*c))
            .save(tiles.join(format!("c{i}.png")))
            .unwrap();
    }
    let library = dir.path().join("palette.tlib");
    library::bake(&BakeOptions {
        tiles_dir: tiles,
        out: library.clone(),
        params: StoreParams::new(32, 1),
        rebuild: false,
        shard: None,
        progress: None,
        shots: Default::default(),
    })
    .unwrap();
    let target = dir.path().join(target_name);
    write_target(&target, frames);
    let mosaic = dir.path().join("v.mosaic");
    let (code, out, err) = common::tessera(&[
        "match",
        "--library",
        library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        &format!("{COLS}x{ROWS}"),
        "--stickiness",
        "0",
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "match failed: {err}");
    assert!(out.contains("video mosaic"), "{out}");
    Fixture {
        dir,
        target,
        mosaic,
    }
}

fn write_target(path: &Path, frames: u32) {
    let settings = VideoSettings {
        width: COLS * CELL,
        height: ROWS * CELL,
        fps: FPS.into(),
        crf: 10,
        preset: "ultrafast".into(),
        audio: None,
    };
    let mut video = VideoWriter::create(path, settings).unwrap();
    for k in 0..frames {
        video.write_frame(target_frame(k)).unwrap();
    }
    video.finish().unwrap();
}

/// The palette entry nearest each cell's middle in a `COLS·s × ROWS·s` RGBA frame.
fn cells_of(rgba: &[u8], s: u32) -> Vec<usize> {
    let w = COLS * s;
    let mut out = Vec::new();
    for y in 0..ROWS {
        for x in 0..COLS {
            let at = (((y * s + s / 2) * w + x * s + s / 2) * 4) as usize;
            let p = &rgba[at..at + 3];
            let nearest = (0..8)
                .min_by_key(|&i| {
                    (0..3)
                        .map(|c| (p[c] as i32 - PALETTE[i][c] as i32).pow(2))
                        .sum::<i32>()
                })
                .unwrap();
            out.push(nearest);
        }
    }
    out
}

/// Cells of `cells` equal to target frame k's.
fn agreement(cells: &[usize], k: u32) -> usize {
    (0..ROWS)
        .flat_map(|y| (0..COLS).map(move |x| (x, y)))
        .zip(cells)
        .filter(|&((x, y), &c)| colour_index(x, y, k) == c)
        .count()
}

/// `tessera render MOSAIC -o OUT ARGS…`: (exit code, stdout, stderr).
fn render(mosaic: &Path, out: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec![
        "render",
        mosaic.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    common::tessera(&all)
}

fn read_frames(path: &Path) -> (Vec<Vec<u8>>, VideoReader) {
    let mut reader = VideoReader::open(path).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        frames.push(f.into_raw());
    }
    (frames, reader)
}

fn has_sound(path: &Path) -> bool {
    ffmpeg_next::init().unwrap();
    let input = ffmpeg_next::format::input(&path).unwrap();
    let found = input
        .streams()
        .best(ffmpeg_next::media::Type::Audio)
        .is_some();
    found
}

#[test]
fn each_output_frame_is_matched_from_its_own_target_frame() {
    let fx = fixture("target.mp4", FRAMES);
    let out = fx.path("out.mp4");
    let (code, stdout, err) = render(&fx.mosaic, &out, &["--size", "256x144"]);
    assert_eq!(code, 0, "render failed: {err}");
    assert!(stdout.contains("end to end"), "{stdout}");
    let (_, info, _) = common::tessera(&["info", fx.mosaic.to_str().unwrap()]);
    assert!(info.contains("1.50 s at 10.000 fps, 128×72"), "{info}");
    let (frames, reader) = read_frames(&out);
    assert_eq!(
        frames.len() as u32,
        FRAMES,
        "one output frame per target frame"
    );
    assert_eq!(reader.rate(), Some((FPS, 1)));
    let (_, target) = read_frames(&fx.target);
    assert!((reader.duration() - target.duration()).abs() < 0.05);
    for (k, frame) in frames.iter().enumerate() {
        let cells = cells_of(frame, 16);
        let own = agreement(&cells, k as u32);
        assert!(
            own >= cells.len() * 97 / 100,
            "frame {k}: {own} of {} cells",
            cells.len()
        );
        for j in (0..FRAMES).filter(|&j| j != k as u32) {
            assert!(agreement(&cells, j) < own / 2, "frame {k} looks like {j}");
        }
    }
}

#[test]
fn a_moment_is_the_same_on_the_gpu_the_cpu_and_the_command_line() {
    let fx = fixture("target.mp4", FRAMES);
    // 0.72 s shows frame 7 (the frame nearest in time: 0.7).
    let scene = Scene::open(&fx.mosaic).unwrap();
    let video = VideoMosaic::open(&scene).unwrap().expect("a video mosaic");
    let frame = video.frame_at(0.72).unwrap();
    let mut frames = Vec::new();
    for backend in [Backend::Gpu, Backend::Cpu] {
        let opts = RenderOptions {
            width: 128,
            height: 72,
            backend,
            ..Default::default()
        };
        let mut r = HeadlessRenderer::new(Scene::open(&fx.mosaic).unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{backend:?} renderer unavailable: {e:#}"));
        r.set_grid(frame.grid.clone(), frame.colours.clone());
        let (img, _) = r.render(&r.fit()).unwrap();
        assert_eq!(
            agreement(&cells_of(img.as_raw(), 8), 7),
            (COLS * ROWS) as usize
        );
        frames.push(img.into_raw());
    }
    let (mean, max) = common::compare(&frames[0], &frames[1]);
    assert!(mean < 0.5 && max <= 2, "GPU vs CPU: mean {mean}, max {max}");
    let png = fx.path("t.png");
    let (code, _, err) = render(&fx.mosaic, &png, &["--size", "128x72", "--time", "0.72"]);
    assert_eq!(code, 0, "{err}");
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(
        agreement(&cells_of(img.as_raw(), 8), 7),
        (COLS * ROWS) as usize
    );
}

#[test]
fn a_tinted_video_mosaic_is_tinted_toward_each_target_frame() {
    let fx = fixture("target.mp4", FRAMES);
    let scene = Scene::open(&fx.mosaic).unwrap();
    let video = VideoMosaic::open(&scene).unwrap().expect("a video mosaic");
    let (first, later) = (video.frame_at(0.0).unwrap(), video.frame_at(0.72).unwrap());
    let mut shown_by = Vec::new();
    for backend in [Backend::Gpu, Backend::Cpu] {
        let renderer = |tint: f32, frame: &tessera::motion::TargetFrame| {
            let opts = RenderOptions {
                width: 128,
                height: 72,
                backend,
                style: RenderStyle {
                    tint,
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut r = HeadlessRenderer::new(Scene::open(&fx.mosaic).unwrap(), &opts)
                .unwrap_or_else(|e| panic!("{backend:?} renderer unavailable: {e:#}"));
            r.set_grid(frame.grid.clone(), frame.colours.clone());
            r
        };
        let draw = |r: &mut HeadlessRenderer| r.render(&r.fit()).unwrap().0.into_raw();
        // Tinted while the target plays: drawn at its first frame, then at a later one.
        let mut playing = renderer(1.0, &first);
        draw(&mut playing);
        playing.set_grid(later.grid.clone(), later.colours.clone());
        let shown = draw(&mut playing);
        // The same as a renderer that started at the later frame: the tint follows the new
        // grid and its target colours, not the first frame's.
        let expected = draw(&mut renderer(1.0, &later));
        let (mean, max) = common::compare(&shown, &expected);
        assert!(
            mean < 0.01 && max <= 1,
            "{backend:?}: stale tint: mean {mean}, max {max}"
        );
        let untinted = draw(&mut renderer(0.0, &later));
        let (changed, _) = common::compare(&shown, &untinted);
        assert!(
            changed > 1.0,
            "{backend:?}: the tint changed nothing ({changed})"
        );
        shown_by.push(shown);
    }
    let (mean, max) = common::compare(&shown_by[0], &shown_by[1]);
    assert!(
        mean < 0.5 && max <= 2,
        "GPU vs CPU, tinted: mean {mean}, max {max}"
    );
}

#[test]
fn the_targets_sound_is_copied_or_said_to_be_left_out() {
    let fx = fixture("silent.mkv", FRAMES);
    // The same pictures with 1.5 s of PCM sound (which MP4 cannot hold).
    let target = fx.path("target.mkv");
    common::write_with_sound(Some(&fx.target), &target, 1.5);
    std::fs::rename(&target, &fx.target).unwrap();
    let mkv = fx.path("out.mkv");
    let render = |out: &Path| render(&fx.mosaic, out, &["--size", "128x72", "--start", "0.5"]);
    let (code, stdout, err) = render(&mkv);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("with sound"), "{stdout}");
    assert!(has_sound(&mkv));
    let (frames, reader) = read_frames(&mkv);
    assert_eq!(frames.len(), 10, "from 0.5 s to the end at 10 fps");
    assert_eq!(reader.duration().round(), 1.0);
    // From --start on: output frame 0 is target frame 5.
    assert!(agreement(&cells_of(&frames[0], 8), 5) >= 140);

    let mp4 = fx.path("out.mp4");
    let (code, stdout, err) = render(&mp4);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("left out") && stdout.contains("no sound"),
        "{err}"
    );
    assert!(!has_sound(&mp4));
}

/// Opus sound, which MOV's muxer lists and then refuses in its header: a .mov is written
/// without it and says so rather than failing, a .mkv keeps it.
#[test]
fn a_sound_the_container_refuses_is_left_out_not_fatal() {
    let fx = fixture("silent.mkv", FRAMES);
    let target = fx.path("target.mkv");
    common::write_with_sound_as(Some(&fx.target), &target, 1.5, common::Sound::Opus);
    std::fs::rename(&target, &fx.target).unwrap();
    let mov = fx.path("out.mov");
    let (code, stdout, err) = render(&fx.mosaic, &mov, &["--size", "128x72"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("refuses its sound")
            && err.contains("left out")
            && stdout.contains("no sound"),
        "{stdout}{err}"
    );
    assert!(!has_sound(&mov));
    assert_eq!(read_frames(&mov).0.len(), FRAMES as usize);
    let mkv = fx.path("out.mkv");
    let (code, stdout, err) = render(&fx.mosaic, &mkv, &["--size", "128x72"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("with sound") && has_sound(&mkv),
        "{stdout}{err}"
    );
}

#[test]
fn the_output_follows_timestamps_at_any_rate() {
    let fx = fixture("target.mp4", FRAMES);
    // At 25 fps frame n shows the target frame of n / 25 s: 2 or 3 output frames each.
    let out = fx.path("fast.mp4");
    let (code, _, err) = render(
        &fx.mosaic,
        &out,
        &["--size", "128x72", "--fps", "25", "--duration", "1"],
    );
    assert_eq!(code, 0, "{err}");
    let (frames, _) = read_frames(&out);
    assert_eq!(frames.len(), 25);
    for (n, f) in frames.iter().enumerate() {
        // The newest target frame due by n/25 s (half a target period of slack).
        let k = ((n as f64 / 25.0 + 0.05) * FPS as f64).floor() as u32;
        let cells = cells_of(f, 8);
        assert!(
            agreement(&cells, k) >= cells.len() * 97 / 100,
            "output frame {n} should show target frame {k}"
        );
    }
}

#[test]
fn stopping_at_any_stage_ends_every_thread() {
    let fx = fixture("target.mp4", 60);
    let scene = Scene::open(&fx.mosaic).unwrap();
    let video = VideoMosaic::open(&scene).unwrap().unwrap();
    // Dropped after two frames, while the decoder and matcher are blocked on full channels.
    let started = std::time::Instant::now();
    let stream = video.stream(0.0).unwrap();
    for _ in 0..2 {
        assert!(matches!(stream.next_blocking(), Next::Ready(_)));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    drop(stream);
    // Read to the end: the last call says End, and keeps saying it.
    let stream = video.stream(0.0).unwrap();
    assert_eq!(tessera::motion::drain(&stream, 1000), 60);
    assert!(matches!(stream.next_blocking(), Next::End));
    assert!(stream.take_error().is_none());
    drop(stream);
    assert!(started.elapsed().as_secs() < 20, "threads joined promptly");

    // Ctrl-C during a render: it stops between frames and leaves no file behind.
    let out = fx.path("interrupted.mp4");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--size",
            "1280x720",
            "--fps",
            "60",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The render's temporary: `.interrupted.mp4.PID-N.partial`.
    let partial = || {
        std::fs::read_dir(fx.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".interrupted.mp4.") && n.ends_with(".partial"))
    };
    let waited = std::time::Instant::now();
    while partial().is_none() && waited.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(partial().is_some(), "the render started");
    // SAFETY: sends SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    // 128 + SIGINT, as shells report a command Ctrl-C stopped.
    assert_eq!(status.code(), Some(130));
    assert!(!out.exists() && partial().is_none(), "no partial output");
}

#[test]
fn bad_targets_get_one_clear_line_and_no_file() {
    let fx = fixture("target.mp4", 5);
    let library = fx.path("palette.tlib");
    let try_match = |target: &Path| {
        let out = fx.path("bad.mosaic");
        let _ = std::fs::remove_file(&out);
        let r = common::tessera(&[
            "match",
            "--library",
            library.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        (r, out.exists())
    };
    // No video stream.
    let sound_only = fx.path("sound.mkv");
    common::write_with_sound(None, &sound_only, 1.0);
    let ((code, _, err), made) = try_match(&sound_only);
    assert!(
        code != 0 && !made && err.contains("no video stream"),
        "{err}"
    );
    // Not a video at all, and a truncated one.
    let junk = fx.path("junk.mp4");
    std::fs::write(&junk, b"this is not a video").unwrap();
    let ((code, _, err), made) = try_match(&junk);
    assert!(code != 0 && !made && err.contains("junk.mp4"), "{err}");
    let bytes = std::fs::read(&fx.target).unwrap();
    let cut = fx.path("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let ((code, _, err), made) = try_match(&cut);
    assert!(code != 0 && !made && err.contains("cut.mp4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A video with no frames.
    let empty = fx.path("empty.mp4");
    VideoWriter::create(
        &empty,
        VideoSettings {
            width: 64,
            height: 64,
            ..Default::default()
        },
    )
    .unwrap()
    .finish()
    .unwrap();
    let ((code, _, err), made) = try_match(&empty);
    assert!(code != 0 && !made && err.contains("empty.mp4"), "{err}");
    // A target removed after matching: view and render say which file is missing.
    let moved = fx.path("moved.mp4");
    std::fs::rename(&fx.target, &moved).unwrap();
    let (code, _, err) = render(&fx.mosaic, &fx.path("x.mp4"), &[]);
    assert!(
        code != 0 && err.contains("target.mp4") && err.contains("missing"),
        "{err}"
    );
    assert!(!fx.path("x.mp4").exists());
}

#[test]
fn odd_sizes_and_phone_rotation_are_matched_upright() {
    // A 75×43 raw RGB video (odd sides; x264 cannot even write it), one flat palette
    // colour per frame.
    let fx = fixture("target.mp4", 2);
    let odd = fx.path("odd.nut");
    write_raw_rgb(&odd, 75, 43, &[0, 1, 2]);
    let scene_of = |target: &Path, name: &str| {
        let out = fx.path(name);
        let (code, _, err) = common::tessera(&[
            "match",
            "--library",
            fx.path("palette.tlib").to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--cells-wide",
            "15",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        Scene::open(&out).unwrap()
    };
    let scene = scene_of(&odd, "odd.mosaic");
    assert_eq!(
        (scene.cols(), scene.rows()),
        (15, 9),
        "rows from the aspect"
    );
    let video = VideoMosaic::open(&scene).unwrap().unwrap();
    let tile_of = |k: f64| video.frame_at(k).unwrap().grid[0];
    let lib = &scene.library;
    let name = |t: u32| lib.manifest.tiles[t as usize].source.path.clone();
    assert_eq!(name(tile_of(0.0)), "c0.png");
    assert_eq!(name(tile_of(0.1)), "c1.png");
    assert_eq!(name(tile_of(0.22)), "c2.png");
    drop(video);
    // A phone video: stored 72×128 (portrait) with its left half c0 and right half c1,
    // tagged as phones do (`ffprobe` says rotation=-90: players turn it 90° clockwise):
    // upright it is 128×72, top half c0.
    let sideways = fx.path("sideways.mp4");
    let mut video = VideoWriter::create(
        &sideways,
        VideoSettings {
            width: 72,
            height: 128,
            fps: FPS.into(),
            crf: 10,
            preset: "ultrafast".into(),
            audio: None,
        },
    )
    .unwrap();
    let stored: Vec<u8> = (0..72 * 128)
        .flat_map(|i| {
            let [r, g, b] = PALETTE[if i % 72 < 36 { 0 } else { 1 }];
            [r, g, b, 255]
        })
        .collect();
    video.write_frame(stored).unwrap();
    video.finish().unwrap();
    let turned = fx.path("turned.mp4");
    tag_rotation(&sideways, &turned, 90.0);
    let scene = scene_of(&turned, "turned.mosaic");
    assert_eq!(
        (scene.cols(), scene.rows()),
        (15, 8),
        "upright: wider than tall"
    );
    let grid = VideoMosaic::open(&scene)
        .unwrap()
        .unwrap()
        .frame_at(0.0)
        .unwrap()
        .grid;
    let lib = &scene.library;
    let name = |t: u32| lib.manifest.tiles[t as usize].source.path.clone();
    assert_eq!(name(grid[0]), "c0.png", "top row");
    assert_eq!(name(grid[grid.len() - 1]), "c1.png", "bottom row");
    // The stored video, untagged, stands upright as a portrait: its mosaic renders in that
    // orientation unless --size says otherwise.
    let portrait = scene_of(&sideways, "portrait.mosaic");
    assert!(portrait.rows() > portrait.cols());
    drop(portrait);
    let png = fx.path("portrait.png");
    let (code, _, err) = render(&fx.path("portrait.mosaic"), &png, &["--renderer", "cpu"]);
    assert_eq!(code, 0, "{err}");
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (1080, 1920));
}

/// Writes raw RGB24 frames of `w × h` at 10 fps, frame i a flat `PALETTE[colours[i]]`.
fn write_raw_rgb(path: &Path, w: u32, h: u32, colours: &[usize]) {
    use ffmpeg_next as ffmpeg;
    ffmpeg::init().unwrap();
    let mut out = ffmpeg::format::output(&path).unwrap();
    let mut params = ffmpeg::codec::Parameters::new();
    // SAFETY: fills the fields of parameters this test owns.
    unsafe {
        let p = params.as_mut_ptr();
        (*p).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
        (*p).codec_id = ffmpeg::ffi::AVCodecID::AV_CODEC_ID_RAWVIDEO;
        (*p).width = w as i32;
        (*p).height = h as i32;
        (*p).format = ffmpeg::ffi::AVPixelFormat::AV_PIX_FMT_RGB24 as i32;
        // Raw video says its layout by tag (without one NUT guesses RGB555).
        (*p).codec_tag =
            ffmpeg::ffi::avcodec_pix_fmt_to_codec_tag(ffmpeg::ffi::AVPixelFormat::AV_PIX_FMT_RGB24);
        (*p).bits_per_coded_sample = 24;
    }
    let mut stream = out.add_stream(ffmpeg::codec::Id::None).unwrap();
    stream.set_parameters(params);
    stream.set_time_base((1, 10));
    stream.set_avg_frame_rate((10, 1));
    out.write_header().unwrap();
    let tb = out.stream(0).unwrap().time_base();
    for (i, &c) in colours.iter().enumerate() {
        let bytes: Vec<u8> = (0..w * h).flat_map(|_| PALETTE[c]).collect();
        let mut packet = ffmpeg::Packet::copy(&bytes);
        packet.set_pts(Some(i as i64));
        packet.set_dts(Some(i as i64));
        packet.set_duration(1);
        packet.set_flags(ffmpeg::packet::Flags::KEY);
        packet.rescale_ts((1, 10), tb);
        packet.set_stream(0);
        packet.write_interleaved(&mut out).unwrap();
    }
    out.write_trailer().unwrap();
}

/// Copies `src` to `dst` with a display matrix saying "turn `degrees` counter-clockwise".
fn tag_rotation(src: &Path, dst: &Path, degrees: f64) {
    use ffmpeg_next as ffmpeg;
    let mut input = ffmpeg::format::input(&src).unwrap();
    let mut out = ffmpeg::format::output(&dst).unwrap();
    let s = input.streams().best(ffmpeg::media::Type::Video).unwrap();
    let (index, in_tb, rate) = (s.index(), s.time_base(), s.avg_frame_rate());
    let mut stream = out.add_stream(ffmpeg::codec::Id::None).unwrap();
    stream.set_parameters(s.parameters());
    stream.set_avg_frame_rate(rate);
    common::set_display_rotation(&mut stream, degrees);
    out.write_header().unwrap();
    let out_tb = out.stream(0).unwrap().time_base();
    for (s, mut packet) in input.packets() {
        if s.index() == index {
            packet.rescale_ts(in_tb, out_tb);
            packet.set_stream(0);
            packet.set_position(-1);
            packet.write_interleaved(&mut out).unwrap();
        }
    }
    out.write_trailer().unwrap();
}

#[test]
fn the_window_plays_a_video_mosaic() {
    assert!(
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
        "the viewer test needs a display: run it under `xvfb-run -a` (scripts/test.sh does; Debian package xvfb)"
    );
    let fx = fixture("target.mp4", FRAMES);
    let shot = fx.path("window.png");
    let (code, _, err) = common::tessera(&[
        "view",
        fx.mosaic.to_str().unwrap(),
        "--size",
        "256x144",
        "--exit-after",
        "20",
        "--screenshot",
        shot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "viewer failed: {err}");
    let img = image::open(&shot).unwrap().to_rgba8();
    // Whichever frame was on screen, the window showed one target frame's grid whole.
    let cells = cells_of(img.as_raw(), 16);
    let best = (0..FRAMES).map(|k| agreement(&cells, k)).max().unwrap();
    assert!(
        best >= cells.len() * 97 / 100,
        "{best} of {} cells",
        cells.len()
    );
}

#[test]
fn a_variable_frame_rate_is_followed_by_timestamps() {
    // The fixture's frames re-stamped 0.06 s and 0.14 s apart in turn (10 fps on average),
    // after the first off the output's 0.05 s grid, so no frame time ties with an output
    // time (times count from the first frame).
    let fx = fixture("cfr.mkv", FRAMES);
    let times: Vec<f64> = (0..FRAMES as usize)
        .map(|i| match i {
            0 => 0.0,
            _ => 0.01 + (i / 2) as f64 * 0.2 + if i % 2 == 1 { 0.06 } else { 0.0 },
        })
        .collect();
    let vfr = fx.path("vfr.mkv");
    common::remux(&fx.target, &vfr, &times, None);
    std::fs::rename(&vfr, &fx.target).unwrap();
    let scene = Scene::open(&fx.mosaic).unwrap();
    let half_period = 0.5 / scene.video().unwrap().fps();
    let out = fx.path("out.mp4");
    let (code, _, err) = render(
        &fx.mosaic,
        &out,
        &["--size", "128x72", "--fps", "20", "--duration", "1.4"],
    );
    assert_eq!(code, 0, "{err}");
    let (frames, _) = read_frames(&out);
    assert_eq!(frames.len(), 28);
    for (n, f) in frames.iter().enumerate() {
        let t = n as f64 / 20.0;
        let k = times
            .iter()
            .rposition(|&s| s <= t + half_period + 1e-9)
            .unwrap() as u32;
        let cells = cells_of(f, 8);
        assert!(
            agreement(&cells, k) >= cells.len() * 97 / 100,
            "output frame {n} ({t:.2} s) should show target frame {k}"
        );
    }
}

#[test]
fn a_target_that_goes_bad_part_way_ends_the_video_there_or_writes_nothing() {
    let fx = fixture("target.mkv", 30);
    // Matched while whole; then cut at 60 %.
    let bytes = std::fs::read(&fx.target).unwrap();
    std::fs::write(&fx.target, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let out = fx.path("out.mp4");
    let (code, _, err) = render(&fx.mosaic, &out, &["--size", "128x72"]);
    assert!(!err.contains("panicked"), "{err}");
    if code == 0 {
        let (frames, _) = read_frames(&out);
        assert!((1..30).contains(&frames.len()), "{} frames", frames.len());
        for (k, f) in frames.iter().enumerate() {
            assert!(agreement(&cells_of(f, 8), k as u32) >= 140, "frame {k}");
        }
    } else {
        assert!(!out.exists() && err.contains("target.mkv"), "{err}");
    }
}

/// `render -o` naming the mosaic's own target video is refused and the footage kept; a
/// target replaced since matching (another size or length) is refused naming both.
#[test]
fn the_target_is_never_overwritten_and_a_changed_one_is_refused() {
    let fx = fixture("target.mp4", FRAMES);
    let footage = std::fs::read(&fx.target).unwrap();
    let (code, _, err) = render(&fx.mosaic, &fx.target, &["--size", "128x72"]);
    assert!(code != 0 && err.contains("target video"), "{err}");
    assert_eq!(
        std::fs::read(&fx.target).unwrap(),
        footage,
        "the footage changed"
    );

    // Another video under the target's name: half the length.
    write_target(&fx.target, FRAMES / 2);
    let out = fx.path("out.mp4");
    let (code, _, err) = render(&fx.mosaic, &out, &["--size", "128x72"]);
    assert!(
        code != 0
            && err.contains("has changed")
            && err.contains("1.50 s")
            && err.contains("0.70 s"),
        "{err}"
    );
    assert!(!out.exists());
    // A picture of a moment is refused the same way.
    let (code, _, err) = render(&fx.mosaic, &fx.path("t.png"), &["--size", "128x72"]);
    assert!(code != 0 && err.contains("has changed"), "{err}");
}
