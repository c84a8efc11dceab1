//! Live targets, over a library of flat colours: a named pipe the test feeds in real time
//! with a known pattern (a flat colour that changes every second) is recorded as it plays
//! and ends cleanly when the pipe closes; a UDP stream (sent by the test through
//! `tessera::video::LiveSender`, loopback only) that stops and comes back is followed
//! across the gap, with a notice; the window shows a live stream, woken by each new frame;
//! the X screen (`x11grab`, on an Xvfb of the test's own) is a source; a stream's sound
//! (sent by an `ffmpeg` process) is recorded in step with its pictures; bad live arguments
//! and absent devices are refused by name in one line.

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

/// A named pipe `name` in `dir`, fed the pattern in real time (see `feed`) once opened.
fn fed_pipe(dir: &Path, name: &str) -> (std::path::PathBuf, std::thread::JoinHandle<()>) {
    let fifo = dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    let sender = feed(&fifo);
    (fifo, sender)
}

/// Frames in the video at `path`.
fn frame_count(path: &Path) -> usize {
    let mut reader = tessera::video::VideoReader::open(path).unwrap();
    let mut frames = 0;
    while reader.advance().unwrap().is_some() {
        frames += 1;
    }
    frames
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

/// The arguments that record `source` live over `library` into `out` (16×9 cells,
/// 160×90 pixels, the CPU renderer), with `more`.
fn record_args<'a>(
    library: &'a Path,
    source: &'a str,
    out: &'a Path,
    more: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "render",
        "--library",
        library.to_str().unwrap(),
        "--live",
        source,
        "--cells",
        "16x9",
        "-o",
        out.to_str().unwrap(),
        "--size",
        "160x90",
        "--renderer",
        "cpu",
    ];
    args.extend(more);
    args
}

/// Runs `record_args`: (exit code, stdout, stderr).
fn record(library: &Path, source: &str, out: &Path, more: &[&str]) -> (i32, String, String) {
    common::tessera(&record_args(library, source, out, more))
}

#[test]
fn a_named_pipe_is_recorded_as_it_plays_and_ends_when_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let (fifo, sender) = fed_pipe(dir.path(), "live.y4m");
    let out = dir.path().join("live.mp4");
    let started = Instant::now();
    let (code, stdout, err) = record(
        &library,
        fifo.to_str().unwrap(),
        &out,
        &["--duration", "30"],
    );
    sender.join().unwrap();
    assert_eq!(code, 0, "{stdout}{err}");
    // It ended with the pipe, not at --duration.
    assert!(started.elapsed() < Duration::from_secs(20), "{stdout}");
    assert!(
        stdout.contains("dropped") && stdout.contains("capture to encoder"),
        "{stdout}"
    );

    // A whole MP4 whose frames follow the pattern: red, then green, then blue.
    let seen = colours_seen(&out);
    assert!(seen.starts_with(&[0]) || seen.starts_with(&[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&2), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the colours went back: {seen:?}"
    );
}

/// The pattern colour (an index into `PATTERN`) nearest each change of `video`'s frames.
fn colours_seen(video: &Path) -> Vec<usize> {
    let mut reader = tessera::video::VideoReader::open(video).unwrap();
    let mut seen = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let nearest = nearest_colour(&frame);
        if seen.last() != Some(&nearest) {
            seen.push(nearest);
        }
    }
    seen
}

/// The pattern colour (an index into `PATTERN`) nearest the mean of `frame`.
fn nearest_colour(frame: &image::RgbaImage) -> usize {
    let n = (frame.width() * frame.height()) as u64;
    let mut sum = [0u64; 3];
    for p in frame.pixels() {
        for c in 0..3 {
            sum[c] += p[c] as u64;
        }
    }
    let mean = sum.map(|s| (s / n) as u8);
    PATTERN
        .iter()
        .position(|(_, rgb)| {
            PATTERN
                .iter()
                .all(|(_, other)| distance(mean, *rgb) <= distance(mean, *other))
        })
        .unwrap()
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
                "/dev/video77",
                "--live-format",
                "v4l2",
                "-o",
                out,
            ],
            "/dev/video77",
        ),
        (
            vec![
                "--library",
                lib,
                "--live",
                ":77",
                "--live-format",
                "x11grab",
                "-o",
                out,
            ],
            ":77",
        ),
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
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!Path::new(out).exists());
    }
}

/// A free UDP port on loopback (nothing else is sent there while the test runs).
fn udp_url() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    format!("udp://127.0.0.1:{}", socket.local_addr().unwrap().port())
}

/// Sends `colour` (sRGB) to `url` as an MPEG-TS stream for `seconds`, in real time, then
/// ends the stream.
fn send_udp(url: &str, colour: [u8; 3], seconds: f64) {
    let mut sender =
        tessera::video::LiveSender::open(&format!("{url}?pkt_size=1316"), "mpegts", (64, 36), 10)
            .unwrap();
    let frame: Vec<u8> = std::iter::repeat_n([colour[0], colour[1], colour[2], 255], 64 * 36)
        .flatten()
        .collect();
    let started = Instant::now();
    for n in 0..(seconds * 10.0) as u64 {
        sender.send(&frame).unwrap();
        let due = Duration::from_millis((n + 1) * 100);
        std::thread::sleep(due.saturating_sub(started.elapsed()));
    }
    sender.finish().unwrap();
}

#[test]
fn a_udp_stream_that_stops_and_comes_back_is_followed_across_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let url = udp_url();
    // Red for 5 s, silence for 2.5 s (a sender restarting), then green for 7 s.
    let sender = {
        let url = url.clone();
        std::thread::spawn(move || {
            send_udp(&url, PATTERN[0].1, 5.0);
            std::thread::sleep(Duration::from_millis(2500));
            send_udp(&url, PATTERN[1].1, 7.0);
        })
    };
    let out = dir.path().join("udp.mp4");
    let (code, stdout, err) = record(
        &library,
        &url,
        &out,
        &["--live-timeout", "1", "--duration", "10"],
    );
    sender.join().unwrap();
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        err.contains("no frame for 1 s") && err.contains("frames again"),
        "the stall and the return are told: {err}"
    );
    // The last red frame stays through the gap; green follows when the sender is back.
    assert_eq!(colours_seen(&out), [0, 1], "{stdout}{err}");
}

#[test]
fn the_window_shows_a_live_stream_woken_by_each_frame() {
    assert!(
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
        "the live viewer test needs a display: run it under `xvfb-run -a` (scripts/test.sh does; Debian package xvfb)"
    );
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let url = udp_url();
    let sender = {
        let url = url.clone();
        std::thread::spawn(move || send_udp(&url, PATTERN[2].1, 8.0))
    };
    let (code, stdout, err) = common::tessera(&[
        "view",
        "--library",
        library.to_str().unwrap(),
        "--live",
        &url,
        "--cells",
        "16x9",
        "--size",
        "320x180",
        "--renderer",
        "cpu",
        "--quit-after",
        "4",
    ]);
    sender.join().unwrap();
    assert_eq!(code, 0, "{stdout}{err}");
    // The window sleeps between frames: only new grids wake it, so about 10 a second are
    // drawn (not 1, were nothing waking it; the source sends no more).
    let line = stdout
        .lines()
        .find(|l| l.starts_with("live "))
        .expect(&stdout);
    let drawn: u64 = line
        .split(", ")
        .find_map(|p| p.strip_suffix(" drawn")?.parse().ok())
        .expect(line);
    assert!((15..=45).contains(&drawn), "{line}");
    assert!(line.contains("capture to present median"), "{line}");
}

#[test]
fn the_x_screen_is_a_live_source() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let out = dir.path().join("screen.mp4");
    // An X server of the test's own, its screen painted red, then green.
    let script = format!(
        "xsetroot -solid '#ff0000' && (sleep 5; xsetroot -solid '#00ff00') & \
         sleep 0.5; exec {} render --library {} --live \"$DISPLAY+8,8\" --live-format x11grab \
         --live-option video_size=64x36 --live-option framerate=10 --cells 16x9 \
         --size 160x90 --duration 6 --renderer cpu -o {}",
        env!("CARGO_BIN_EXE_tessera"),
        library.display(),
        out.display()
    );
    let (code, stdout, err) = common::output(std::process::Command::new("xvfb-run").args([
        "-a",
        "-s",
        "-screen 0 320x200x24",
        "sh",
        "-c",
        &script,
    ]));
    assert_eq!(
        code, 0,
        "needs xvfb-run (Debian xvfb) and xsetroot (x11-xserver-utils): {stdout}{err}"
    );
    assert_eq!(colours_seen(&out), [0, 1], "{stdout}{err}");
}

/// When `video`'s sound first rises above a whisper (seconds), if it has sound.
fn sound_onset(video: &Path) -> Option<f64> {
    use ffmpeg_next as ffmpeg;
    ffmpeg::init().unwrap();
    let mut input = ffmpeg::format::input(&video).unwrap();
    let stream = input.streams().best(ffmpeg::media::Type::Audio)?;
    let (index, time_base) = (stream.index(), f64::from(stream.time_base()));
    let context = ffmpeg::codec::context::Context::from_parameters(stream.parameters()).unwrap();
    let mut decoder = context.decoder().audio().unwrap();
    let mut frame = ffmpeg::frame::Audio::empty();
    for (s, packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        decoder.send_packet(&packet).unwrap();
        while decoder.receive_frame(&mut frame).is_ok() {
            // AAC decodes to planar float.
            let samples = &frame.plane::<f32>(0)[..frame.samples()];
            let rms = (samples.iter().map(|v| v * v).sum::<f32>() / samples.len() as f32).sqrt();
            if rms > 0.05 {
                return Some(frame.pts().unwrap_or(0) as f64 * time_base);
            }
        }
    }
    None
}

#[test]
fn a_streams_sound_is_recorded_in_step_with_its_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let url = udp_url();
    // Red and silent for 4 s, then green with a tone: both change at one instant.
    let mut sender = std::process::Command::new("ffmpeg")
        .args([
            "-v", "error", "-re",
            "-f", "lavfi", "-i",
            "color=c=red:s=64x36:r=10:d=4[r];color=c=lime:s=64x36:r=10:d=6[g];[r][g]concat=n=2:v=1:a=0[out0]",
            "-f", "lavfi", "-i",
            "anullsrc=r=48000:cl=mono:d=4[s];sine=f=440:r=48000:d=6[t];[s][t]concat=n=2:v=0:a=1[out0]",
            "-c:v", "libx264", "-g", "10", "-preset", "ultrafast", "-tune", "zerolatency",
            "-c:a", "aac", "-f", "mpegts", &url,
        ])
        .spawn()
        .expect("needs the ffmpeg command (Debian package ffmpeg)");
    let out = dir.path().join("sound.mp4");
    let (code, stdout, err) = record(&library, &url, &out, &["--duration", "7"]);
    let _ = sender.kill();
    let _ = sender.wait();
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("with its sound"), "{stdout}");
    // The first green frame and the tone's onset, in the recording's time.
    let mut reader = tessera::video::VideoReader::open(&out).unwrap();
    let mut green = None;
    while let Some(t) = reader.advance().unwrap() {
        if nearest_colour(&reader.rgba().unwrap()) == 1 {
            green = Some(t);
            break;
        }
    }
    let green = green.expect("the recording turns green");
    let tone = sound_onset(&out).expect("the recording has the tone");
    assert!(
        (green - tone).abs() <= 0.2,
        "pictures turn at {green:.2} s, sound at {tone:.2} s"
    );
}

#[test]
fn ctrl_c_ends_a_live_recording_with_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let url = udp_url();
    let sender = {
        let url = url.clone();
        std::thread::spawn(move || send_udp(&url, PATTERN[1].1, 8.0))
    };
    let out = dir.path().join("stopped.mp4");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(record_args(&library, &url, &out, &[]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Recording has begun once its hidden temporary exists; two seconds of it, then Ctrl-C.
    let started = Instant::now();
    let recording = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
    };
    while !recording() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(recording(), "the recording started");
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: sends SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let result = child.wait_with_output().unwrap();
    sender.join().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    // A live recording has no end of its own: Ctrl-C is how it ends, with the file whole.
    assert!(result.status.success(), "{stdout}{stderr}");
    let frames = frame_count(&out);
    assert!(frames >= 10, "{frames} frames: {stdout}");
}

#[test]
fn bench_measures_a_live_source_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let library = flat_library(dir.path());
    let (fifo, sender) = fed_pipe(dir.path(), "bench.y4m");
    let (code, stdout, err) = common::tessera(&[
        "bench",
        "--library",
        library.to_str().unwrap(),
        "--live",
        fifo.to_str().unwrap(),
        "--cells",
        "16x9",
        "--size",
        "160x90",
        "--renderer",
        "cpu",
        "--json",
    ]);
    sender.join().unwrap();
    assert_eq!(code, 0, "{stdout}{err}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    // The pipe's 30 frames, less the first (it made the mosaic) and those sent while the
    // renderer started; at 10 fps nothing falls behind.
    let decoded = report["decoded"].as_u64().unwrap();
    assert!((10..30).contains(&decoded), "{report}");
    // Every one drawn (one more where a frame decoded before the start waited its turn).
    let drawn = report["drawn"].as_u64().unwrap();
    assert!((decoded..=decoded + 1).contains(&drawn), "{report}");
    assert_eq!(report["dropped"], 0, "{report}");
    let median = report["latency_ms_median"].as_f64().unwrap();
    let p99 = report["latency_ms_p99"].as_f64().unwrap();
    assert!(median > 0.0 && median <= p99 && p99 < 1000.0, "{report}");
    assert_eq!(report["cells"], serde_json::json!([16, 9]), "{report}");
    assert!(report["minutes"][0]["rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn the_live_demo_records_a_stream_it_sends_itself() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (code, stdout, err) = common::tessera(&[
        "demo",
        "--live",
        "--seconds",
        "3",
        "--cache",
        cache.to_str().unwrap(),
        "-o",
        dir.path().to_str().unwrap(),
        "--renderer",
        "cpu",
    ]);
    assert_eq!(
        code, 0,
        "needs Debian's mate-backgrounds (scripts/setup.sh installs it): {stdout}{err}"
    );
    assert!(stdout.contains("--live udp://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("--live-format v4l2"), "{stdout}");
    let out = dir.path().join("demo-live.mp4");
    let reader = tessera::video::VideoReader::open(&out).unwrap();
    assert_eq!(reader.size(), (1280, 720));
    assert_eq!(frame_count(&out), 90, "3 s at the stream's 30 fps");
}
