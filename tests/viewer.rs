//! The viewer: a real winit window on a real X display (Xvfb in CI), drawing the same
//! frame as the CPU reference, with the GPU renderer and with the CPU renderer's frames
//! blitted to the window.

mod common;

use tessera::render::Playback;
use tessera::render::StreamConfig;
use tessera::RenderStyle;
use tessera::{Backend, HeadlessRenderer, RenderOptions, Scene};

#[test]
fn the_window_shows_the_mosaic_with_either_renderer() {
    let fx = common::fixture(16, 32, (24, 16));
    for renderer in ["gpu", "cpu"] {
        let log =
            window_matches_the_cpu_reference(&fx, &["--renderer", renderer], Playback::default());
        let says = format!("draws with {} renderer", renderer.to_uppercase());
        assert!(log.contains(&says), "--renderer {renderer}: {log}");
    }
}

#[test]
fn the_window_picks_the_renderer_for_its_adapter() {
    assert_display();
    let fx = common::fixture(8, 32, (16, 9));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["-v", "view", fx.mosaic.to_str().unwrap()])
        .args(["--size", "320x180", "--exit-after", "2"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "viewer failed: {log}");
    // "adapter: llvmpipe (LLVM …) (Gl, Cpu)": a software rasteriser, where the CPU
    // renderer is the faster.
    let adapter = log
        .lines()
        .find(|l| l.contains("adapter: "))
        .unwrap_or_else(|| panic!("no adapter logged: {log}"));
    let expected = if adapter.ends_with(", Cpu)") {
        "draws with CPU renderer: the only GPU adapter"
    } else {
        "draws with GPU renderer"
    };
    assert!(
        log.contains(expected),
        "{adapter}, expected `{expected}`: {log}"
    );
}

#[test]
fn the_window_shows_key_frames_of_clips_with_still() {
    let fx = common::clip_fixture(4, 6, 5, 32, 16, (24, 16));
    let still = Playback {
        still: true,
        ..Default::default()
    };
    window_matches_the_cpu_reference(&fx, &["--still", "--renderer", "gpu"], still);
}

/// Opens the viewer on `fx` at 20 px per cell with `args`, compares its last frame with
/// the CPU reference drawing `playback`, and returns its log (`-v`).
fn window_matches_the_cpu_reference(
    fx: &common::Fixture,
    args: &[&str],
    playback: Playback,
) -> String {
    assert_display();
    let shot = fx.dir.path().join("window.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "-v",
            "view",
            fx.mosaic.to_str().unwrap(),
            "--size",
            "480x320",
            "--cell-px",
            "20",
            "--exit-after",
            "12",
            "--screenshot",
            shot.to_str().unwrap(),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "viewer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let window = image::open(&shot)
        .expect("the viewer saved its last frame")
        .to_rgba8();
    assert_eq!(window.dimensions(), (480, 320));

    let scene = Scene::open(&fx.mosaic).unwrap();
    let mut camera = scene.fit(480, 320);
    camera.cell_px = 20.0;
    let opts = RenderOptions {
        width: 480,
        height: 320,
        backend: Backend::Cpu,
        style: RenderStyle::default(),
        stream: StreamConfig {
            synchronous: true,
            ..Default::default()
        },
        adapter: None,
    };
    let mut reference = HeadlessRenderer::new(scene, &opts).unwrap();
    reference.set_playback(playback);
    let (reference, _) = reference.render(&camera).unwrap();
    let (mean, max) = common::compare(window.as_raw(), reference.as_raw());
    assert!(
        mean < 0.5 && max <= 2,
        "window ({args:?}) vs CPU reference: mean {mean}, max {max}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_default_window_fits_the_monitor_and_closes_promptly() {
    let fx = common::fixture(8, 32, (16, 9));
    let shot = fx.dir.path().join("window.png");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "-v",
            "view",
            fx.mosaic.to_str().unwrap(),
            "--exit-after",
            "3",
            "--screenshot",
            shot.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "viewer failed: {log}");
    // "window W×H on a MW×MH monitor"
    let line = log
        .lines()
        .find(|l| l.contains("window ") && l.contains("monitor"))
        .unwrap_or_else(|| panic!("no window size logged: {log}"));
    let nums: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let (w, h, mw, mh) = (
        nums[nums.len() - 4],
        nums[nums.len() - 3],
        nums[nums.len() - 2],
        nums[nums.len() - 1],
    );
    assert!(w <= mw && h <= mh, "{line}");
    let window = image::open(&shot).unwrap();
    assert_eq!((window.width(), window.height()), (w, h));
    eprintln!("viewer: 3 frames and exit in {elapsed:?}");
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "took {elapsed:?}"
    );
}

#[test]
fn an_idle_window_draws_nothing() {
    // With the overlay on: egui asks to repaint on every redraw, which once kept the window
    // drawing 30+ frames a second with nothing moving.
    assert_display();
    let fx = common::fixture(16, 32, (24, 16));
    let frames = frames_in(&fx.mosaic, 4.0, &[]);
    // The first frames stream the view in and lay the overlay out; then nothing moves.
    assert!(
        (1..40).contains(&frames),
        "{frames} frames in 4 s of idling"
    );
}

#[test]
fn a_window_of_playing_clips_draws_at_their_ticks_not_the_displays_rate() {
    // Clips change frames 12 times a second; with nothing else moving or streaming the
    // window waits for the next tick instead of redrawing as fast as it can (~50 frames a
    // second here before, 140-190 in 3-4 s).
    assert_display();
    let fx = common::clip_fixture(8, 24, 6, 64, 16, (12, 9));
    // At least a frame for a third of the ticks (start-up under load takes some of the 4 s):
    // the clips keep playing.
    let frames = frames_in(&fx.mosaic, 4.0, &[]);
    assert!(
        (16..=80).contains(&frames),
        "{frames} frames in 4 s of clips playing at 12 fps"
    );
    // Paused (still playback), the window is idle.
    let frames = frames_in(&fx.mosaic, 2.0, &["--still"]);
    assert!(frames < 20, "{frames} frames in 2 s of key frames");
}

#[test]
fn a_window_whose_pages_fail_to_load_draws_the_fallback_and_rests() {
    // Pages that fail their checksum stay missing: more frames would draw the same fallback,
    // so the window waits for input instead of redrawing at the display's rate (it did, as
    // long as a failed page was in view: 150+ frames in 4 s).
    assert_display();
    let fx = common::fixture(30, 64, (12, 9));
    let finest = fx.library.join("frames-06.bin");
    let mut bytes = std::fs::read(&finest).unwrap();
    bytes.iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(&finest, bytes).unwrap();
    let view = ["--center", "6,4.5", "--cell-px", "120"];
    let (frames, log) = frames_and_log(&fx.mosaic, 4.0, &view);
    assert!(
        log.contains("fails its checksum"),
        "the failed read is logged: {log}"
    );
    assert!(
        (1..40).contains(&frames),
        "{frames} frames in 4 s over pages that failed"
    );
}

/// Runs the viewer on `mosaic` for `seconds` and returns the frames it drew.
fn frames_in(mosaic: &std::path::Path, seconds: f64, extra: &[&str]) -> u64 {
    frames_and_log(mosaic, seconds, extra).0
}

/// `frames_in`, and the viewer's log (`-v`).
fn frames_and_log(mosaic: &std::path::Path, seconds: f64, extra: &[&str]) -> (u64, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["view", mosaic.to_str().unwrap(), "--size", "480x320"])
        .args(["--quit-after", &seconds.to_string(), "-v"])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let frames = err
        .split("event loop ended after ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count logged: {err}"));
    (frames, err.into_owned())
}

/// Fails loudly without a display, naming what provides one.
fn assert_display() {
    assert!(
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
        "the viewer test needs a display: run it under `xvfb-run -a` (scripts/test.sh does; Debian package xvfb)"
    );
}
