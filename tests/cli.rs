//! The `tessera` command line: the real binary, real files, real exit codes.

mod common;

use common::tessera;
use std::path::Path;

#[test]
fn help_lists_every_command() {
    let (code, out, _) = tessera(&["--help"]);
    assert_eq!(code, 0);
    for cmd in [
        "bake", "match", "info", "render", "view", "demo", "synth", "bench", "export",
    ] {
        assert!(out.contains(cmd), "--help lacks {cmd}");
    }
}

#[test]
fn bake_match_info_render_end_to_end() {
    let fx = common::fixture(12, 32, (8, 6));
    let d = fx.dir.path();
    let lib = d.join("cli.tlib");
    let mosaic = d.join("cli.mosaic");
    let target = d.join("target.png");
    let (code, out, err) = tessera(&[
        "bake",
        "--tiles",
        fx.tiles.to_str().unwrap(),
        "-o",
        lib.to_str().unwrap(),
        "--max-tile",
        "32",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12 tiles"), "{out}");
    let (code, out, err) = tessera(&[
        "match",
        "--library",
        lib.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells-wide",
        "20",
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("20×15 cells"), "{out}");
    let (code, out, _) = tessera(&["info", mosaic.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("distinct") && out.contains("most used") && out.contains("level  5"),
        "{out}"
    );
    // The default signature is 3×3, and info scores the mosaic against its target.
    assert!(out.contains("signature 3×3"), "{out}");
    let score = |line: &str| -> (f64, f64) {
        let after = |key: &str| -> f64 {
            let rest =
                &line[line.find(key).unwrap_or_else(|| panic!("{key}: {line}")) + key.len()..];
            rest.split_whitespace().next().unwrap().parse().unwrap()
        };
        (after("ΔE "), after("SSIM "))
    };
    let info_line = out
        .lines()
        .find(|l| l.contains("fidelity"))
        .expect("a fidelity line");
    let (de, ssim) = score(info_line);
    assert!(de < 30.0 && (0.0..=1.0).contains(&ssim), "{info_line}");
    // `tessera fidelity` scores any picture: the target itself is perfect, the mosaic less.
    let whole = d.join("whole.png");
    let (code, _, err) = tessera(&[
        "render",
        mosaic.to_str().unwrap(),
        "-o",
        whole.to_str().unwrap(),
        "--size",
        "160x120",
        "--renderer",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    let fidelity = |picture: &std::path::Path| {
        let (code, out, err) = tessera(&[
            "fidelity",
            picture.to_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
            "--cells",
            "20x15",
        ]);
        assert_eq!(code, 0, "{err}");
        score(&out)
    };
    let (de_self, ssim_self) = fidelity(&target);
    assert!(de_self < 0.05 && ssim_self > 0.999, "{de_self} {ssim_self}");
    let (de_mosaic, ssim_mosaic) = fidelity(&whole);
    assert!(
        (de_mosaic - de).abs() < 1.5,
        "{de_mosaic} against info's {de}"
    );
    assert!(
        ssim_mosaic < 0.99 && (ssim_mosaic - ssim).abs() < 0.1,
        "{ssim_mosaic} {ssim}"
    );
    let png = d.join("f.png");
    let (code, _, err) = tessera(&[
        "render",
        mosaic.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
        "--size",
        "101x67",
        "--cell-px",
        "9.5",
    ]);
    assert_eq!(code, 0, "{err}");
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (101, 67));
}

#[test]
fn bad_input_gets_one_clear_line_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("no-such-folder");
    let (code, _, err) = tessera(&[
        "bake",
        "--tiles",
        missing.to_str().unwrap(),
        "-o",
        d.join("x.tlib").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no-such-folder") && err.contains("not found"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let junk = d.join("junk.mosaic");
    std::fs::write(&junk, b"hello").unwrap();
    for cmd in [
        &["info", junk.to_str().unwrap()][..],
        &[
            "render",
            junk.to_str().unwrap(),
            "-o",
            d.join("o.png").to_str().unwrap(),
        ],
    ] {
        let (code, _, err) = tessera(cmd);
        assert_eq!(code, 1);
        assert!(
            err.contains("not a tessera mosaic") && err.contains("junk.mosaic"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = tessera(&["render", junk.to_str().unwrap(), "--size", "0x10"]);
    assert_eq!(code, 2, "clap rejects a zero size: {err}");
}

#[test]
fn a_library_grows_without_breaking_its_mosaics() {
    let fx = common::fixture(8, 32, (6, 4));
    let rebake = |extra: &[&str]| {
        let mut args = vec![
            "bake",
            "--tiles",
            fx.tiles.to_str().unwrap(),
            "-o",
            fx.library.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        tessera(&args)
    };
    let png = fx.dir.path().join("x.png");
    let render = || {
        tessera(&[
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
            "--size",
            "64x48",
            "--renderer",
            "cpu",
        ])
    };
    let manifest = fx.library.join("manifest.json");
    let before = std::fs::read(&manifest).unwrap();
    // The fixture's library has 32 px tiles and 2×2 signatures: asking for other ones is
    // refused with the fix, and leaving them out keeps the library's.
    let (code, _, err) = rebake(&["--grid", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--max-tile 32 --grid 2") && err.contains("--rebuild"),
        "{err}"
    );
    // Nothing changed: nothing is written, and the mosaic still opens.
    let (code, out, err) = rebake(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("unchanged, 8 tiles"), "{out}");
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        before,
        "a no-op re-bake rewrote the manifest"
    );
    let (code, _, err) = render();
    assert_eq!(code, 0, "a no-op re-bake broke the mosaic: {err}");

    // A new picture: appended, every earlier tile keeps its id, the mosaic still opens.
    let ids = |lib: &tessera::library::Library| -> Vec<String> {
        lib.manifest
            .tiles
            .iter()
            .map(|t| t.source.path.clone())
            .collect()
    };
    let old_ids = ids(&tessera::library::Library::open(&fx.library).unwrap());
    common::picture(4242, 80, 80)
        .save(fx.tiles.join("a-late.png"))
        .unwrap();
    let (code, out, err) = rebake(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("9 tiles (1 baked, 8 reused)"), "{out}");
    let new_ids = ids(&tessera::library::Library::open(&fx.library).unwrap());
    assert_eq!(&new_ids[..8], &old_ids[..], "ids were reordered");
    assert_eq!(new_ids[8], "a-late.png");
    let (code, _, err) = render();
    assert_eq!(code, 0, "adding a picture broke the mosaic: {err}");

    // Removing a picture the mosaic uses retires its tile: the mosaic is refused, naming it.
    let mosaic = tessera::mosaic::Mosaic::load(&fx.mosaic).unwrap();
    let (_, used, _) = mosaic.usage();
    let gone = &old_ids[used as usize];
    std::fs::remove_file(fx.tiles.join(gone)).unwrap();
    let (code, out, err) = rebake(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 retired"), "{out}");
    let (code, _, err) = render();
    assert_eq!(code, 1);
    assert!(
        err.contains(gone.as_str())
            && err.contains("removed or changed")
            && err.contains("tessera match"),
        "{err}"
    );
    // Matching again never picks the retired tile.
    let target = fx.dir.path().join("target.png");
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "6x4",
        "-o",
        fx.mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rematched = tessera::mosaic::Mosaic::load(&fx.mosaic).unwrap();
    assert!(!rematched.grid.contains(&used));
    assert_eq!(render().0, 0);
    // `--rebuild` starts the ids over: the mosaic is refused with the fix.
    let (code, _, err) = rebake(&["--rebuild"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = render();
    assert_eq!(code, 1);
    assert!(
        err.contains("rebuilt") && err.contains("tessera match"),
        "{err}"
    );
}

#[test]
fn match_never_overwrites_a_foreign_file() {
    let fx = common::fixture(8, 32, (6, 4));
    let precious = fx.dir.path().join("notes.mosaic");
    std::fs::write(&precious, b"my notes").unwrap();
    let target = fx.dir.path().join("target.png");
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "4x3",
        "-o",
        precious.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a tessera mosaic"), "{err}");
    assert_eq!(std::fs::read(&precious).unwrap(), b"my notes");
}

/// Runs `tessera bench MOSAIC --path PATH --frames N --size 160x120 --json` plus `extra`:
/// (the report, its text).
fn bench_json(
    mosaic: &Path,
    path: &str,
    frames: &str,
    extra: &[&str],
) -> (serde_json::Value, String) {
    let mut args = vec![
        "bench",
        mosaic.to_str().unwrap(),
        "--path",
        path,
        "--frames",
        frames,
        "--size",
        "160x120",
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = tessera(&args);
    assert_eq!(code, 0, "{err}");
    (serde_json::from_str(&out).unwrap(), out)
}

/// The JSON lines of a `bench --trace` file.
fn trace_lines(trace: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bench_reports_the_documented_keys_and_traces_every_frame() {
    let fx = common::fixture(12, 32, (20, 15));
    let trace = fx.dir.path().join("frames.jsonl");
    let (report, out) = bench_json(
        &fx.mosaic,
        "tour",
        "48",
        &["--trace", trace.to_str().unwrap()],
    );
    for key in [
        "frames",
        "frame_ms_median",
        "frame_ms_p99",
        "time_to_sharp_ms",
        "max_missing_pages",
        "missing_page_frames",
        "bytes_uploaded",
        "evictions",
        "peak_rss_bytes",
        "peak_gpu_atlas_bytes",
        "adapter",
    ] {
        assert!(report.get(key).is_some(), "no `{key}` in {out}");
    }
    assert_eq!(report["frames"], 48);
    let lines = trace_lines(&trace);
    assert_eq!(lines.len(), 48);
    assert!(lines.iter().all(|l| l["ms"].as_f64().unwrap() > 0.0));
    // Streaming is a part of each frame's time.
    assert!(lines.iter().all(|l| {
        let update = l["update_ms"].as_f64().unwrap();
        update > 0.0 && update < l["ms"].as_f64().unwrap()
    }));
    let missing: u64 = lines.iter().map(|l| l["missing"].as_u64().unwrap()).sum();
    assert_eq!(missing, report["missing_page_frames"].as_u64().unwrap());
    assert_eq!(report["tile_frames_shown"], 0, "stills only");
}

#[test]
fn bench_counts_the_clip_frames_it_shows_and_the_late_ones() {
    let fx = common::clip_fixture(2, 6, 12, 32, 8, (6, 4));
    let trace = fx.dir.path().join("frames.jsonl");
    let (report, out) = bench_json(
        &fx.mosaic,
        "zoom",
        "40",
        &["--trace", trace.to_str().unwrap()],
    );
    for key in ["late_tile_frames", "late_percent_after_1s", "decode_fps"] {
        assert!(report.get(key).is_some(), "no `{key}` in {out}");
    }
    let lines = trace_lines(&trace);
    let sum = |k: &str| -> u64 { lines.iter().map(|l| l[k].as_u64().unwrap()).sum() };
    assert!(sum("tile_frames_shown") > 0, "clips on screen play");
    assert_eq!(
        sum("tile_frames_shown"),
        report["tile_frames_shown"].as_u64().unwrap()
    );
    assert_eq!(
        sum("late_tile_frames"),
        report["late_tile_frames"].as_u64().unwrap()
    );
    // Null when every frame was resident from the start (a library this small is pinned).
    assert!(
        report["decode_fps"].as_f64().is_none_or(|f| f > 0.0),
        "{out}"
    );
    // With --still nothing plays.
    let (report, _) = bench_json(&fx.mosaic, "zoom", "10", &["--still"]);
    assert_eq!(report["tile_frames_shown"], 0);
}

#[test]
fn bench_levels_times_each_zoom_and_traces_its_frames() {
    let fx = common::clip_fixture(2, 6, 12, 32, 8, (6, 4));
    let trace = fx.dir.path().join("levels.jsonl");
    let (report, out) = bench_json(
        &fx.mosaic,
        "levels",
        "5",
        &[
            "--zooms",
            "1,3",
            "--renderer",
            "cpu",
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    let rows = report["levels"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    for key in [
        "cell_px",
        "frame_ms_median",
        "frame_ms_p99",
        "copy_floor_ms_median",
        "tile_frames_shown",
        "late_tile_frames",
    ] {
        assert!(
            rows.iter().all(|r| r.get(key).is_some()),
            "no `{key}` in {out}"
        );
    }
    // A line per timed frame, zoom by zoom, each split into streaming and the rest.
    let lines = trace_lines(&trace);
    let zooms: Vec<f64> = lines
        .iter()
        .map(|l| l["cell_px"].as_f64().unwrap())
        .collect();
    assert_eq!(zooms, [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
    assert!(lines.iter().all(|l| {
        let update = l["update_ms"].as_f64().unwrap();
        update > 0.0 && update < l["ms"].as_f64().unwrap()
    }));
    let shown: u64 = lines
        .iter()
        .map(|l| l["tile_frames_shown"].as_u64().unwrap())
        .sum();
    let reported: u64 = rows
        .iter()
        .map(|r| r["tile_frames_shown"].as_u64().unwrap())
        .sum();
    assert!(shown > 0, "the clips play");
    // The report also counts the warm-up frames, which the trace leaves out.
    assert!(shown <= reported, "{shown} > {reported}");
}

#[test]
fn info_counts_clips_and_their_frames_as_live() {
    let fx = common::clip_fixture(3, 4, 10, 32, 16, (6, 4));
    let (code, out, err) = tessera(&["info", fx.library.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 clips, 40 frames at 12 fps"), "{out}");
    assert!(out.contains("; 3 stills"), "{out}");
    // A clip's frames are records a tile owns, not leftovers of an interrupted bake.
    assert!(!out.contains("dead records"), "{out}");
    let (code, out, err) = tessera(&["info", fx.mosaic.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mosaic = tessera::mosaic::Mosaic::load(&fx.mosaic).unwrap();
    let lib = tessera::library::Library::open(&fx.library).unwrap();
    let playing = mosaic
        .grid
        .iter()
        .filter(|&&t| lib.tile(t).is_clip())
        .count();
    assert!(playing > 0);
    assert!(
        out.contains(&format!("playing      {playing} of 24 cells show a clip")),
        "{out}"
    );
}

#[test]
fn auto_renders_on_the_faster_renderer_for_the_adapter_and_gpu_forces_the_gpu_path() {
    let fx = common::fixture(8, 32, (16, 12));
    let render = |renderer: &str, env: &[(&str, &str)]| {
        let png = fx.dir.path().join(format!("{renderer}.png"));
        let (code, _, err) = common::output(
            std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(["-v", "render", fx.mosaic.to_str().unwrap()])
                .args(["-o", png.to_str().unwrap(), "--size", "96x72"])
                .args(["--cell-px", "6.5", "--renderer", renderer])
                .envs(env.iter().copied()),
        );
        assert_eq!(code, 0, "--renderer {renderer}: {err}");
        let line = err
            .lines()
            .find(|l| l.contains("draws with "))
            .unwrap_or_else(|| panic!("no renderer logged: {err}"))
            .to_owned();
        (line, image::open(&png).unwrap().to_rgba8())
    };
    let (gpu, gpu_frame) = render("gpu", &[]);
    let (auto, auto_frame) = render("auto", &[]);
    assert!(
        gpu.ends_with(": asked for") && !gpu.contains("CPU renderer"),
        "{gpu}"
    );
    // "draws with llvmpipe (LLVM …) (Gl, Cpu): asked for": a software rasteriser, where
    // auto picks the CPU renderer.
    if gpu.contains(", Cpu):") {
        assert!(
            auto.contains("draws with CPU renderer") && auto.contains("software rasteriser"),
            "{auto}"
        );
    } else {
        assert!(auto.contains("is a GPU"), "{auto}");
    }
    let (mean, max) = common::compare(gpu_frame.as_raw(), auto_frame.as_raw());
    assert!(
        mean < 0.5 && max <= 2,
        "auto vs gpu: mean {mean}, max {max}"
    );
    // No adapter at all (wgpu told to look only for Metal, which Linux has not): auto
    // draws on the CPU, and the GPU path says what to install.
    let none = [("WGPU_BACKEND", "metal")];
    let (auto, _) = render("auto", &none);
    assert!(
        auto.contains("draws with CPU renderer") && auto.ends_with(": no GPU adapter here"),
        "{auto}"
    );
    let (code, _, err) = common::output(
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["render", fx.mosaic.to_str().unwrap(), "-o"])
            .arg(fx.dir.path().join("none.png"))
            .args(["--renderer", "gpu"])
            .envs(none),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("mesa-vulkan-drivers"), "{err}");
}

#[test]
fn no_private_runtime_folder_is_left_behind() {
    // Without XDG_RUNTIME_DIR the binary makes one of its own in the temporary folder for
    // the Vulkan loader; every run once left it there.
    let fx = common::fixture(4, 32, (8, 6));
    let tmp = tempfile::tempdir().unwrap();
    let png = fx.dir.path().join("x.png");
    let mosaic = fx.mosaic.to_str().unwrap();
    let render = [
        "render",
        mosaic,
        "-o",
        png.to_str().unwrap(),
        "--size",
        "32x24",
    ];
    for (args, exit) in [
        (&render[..], 0),
        (&["render", "--help"], 0),
        (&["render", "no-such.mosaic"], 1),
    ] {
        let (code, _, err) = common::output(
            std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
                .args(args)
                .env_remove("XDG_RUNTIME_DIR")
                .env("TMPDIR", tmp.path()),
        );
        assert_eq!(code, exit, "{args:?}: {err}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

/// `render -o` naming one of the mosaic's own inputs is refused before anything is written,
/// and the input is left as it was.
#[test]
fn render_never_writes_over_its_own_inputs() {
    let fx = common::fixture(8, 32, (6, 4));
    let d = fx.dir.path();
    // A picture kept in the library's folder.
    let kept = fx.library.join("kept.png");
    common::picture(3, 20, 10).save(&kept).unwrap();
    // The target picture, named as `match` was given it and through another spelling; the
    // mosaic file; a file of the library and a new one inside it.
    let cases = [
        (d.join("target.png"), "target picture"),
        (d.join("tiles/../target.png"), "target picture"),
        (fx.mosaic.clone(), "cannot write this type"),
        (kept, "inside the mosaic's library"),
        (fx.library.join("new.png"), "inside the mosaic's library"),
    ];
    for (output, says) in cases {
        let before = std::fs::read(&output).ok();
        let (code, out, err) = tessera(&[
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--size",
            "64x48",
        ]);
        assert!(
            code != 0 && err.contains(says),
            "{}: {out}{err}",
            output.display()
        );
        assert_eq!(
            std::fs::read(&output).ok(),
            before,
            "{} changed",
            output.display()
        );
    }
    // The mosaic still renders.
    let fine = d.join("fine.png");
    let (code, _, err) = tessera(&[
        "render",
        fx.mosaic.to_str().unwrap(),
        "-o",
        fine.to_str().unwrap(),
        "--size",
        "64x48",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// An output that cannot be written is refused before the work, naming what to do.
#[test]
fn an_output_that_cannot_be_written_is_refused_before_the_work() {
    let fx = common::fixture(4, 32, (4, 3));
    let d = fx.dir.path();
    std::fs::create_dir_all(d.join("folder.mp4")).unwrap();
    let cases = [
        (d.join("folder.mp4"), "is a folder"),
        (d.join("missing/x.png"), "does not exist"),
        (d.join("missing/x.mp4"), "does not exist"),
    ];
    for (output, says) in cases {
        let started = std::time::Instant::now();
        let (code, _, err) = tessera(&[
            "render",
            fx.mosaic.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--frames",
            "2000",
        ]);
        assert!(
            code != 0 && err.contains(says),
            "{}: {err}",
            output.display()
        );
        // 2,000 frames take minutes: the refusal comes first.
        assert!(
            started.elapsed().as_secs() < 20,
            "{} took the work first",
            output.display()
        );
    }
    assert!(!d.join("missing").exists());
}

/// `tessera …` run in `cwd`: (exit code, stdout, stderr).
fn tessera_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    common::output(
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(cwd)
            .args(args),
    )
}

/// A mosaic and its library moved together, a library renamed beside its mosaic, and the
/// folder `match` ran in deleted: the mosaic still opens, finds its target, and says where
/// its library was found; a library moved elsewhere is named with `--library`.
#[test]
fn a_mosaic_follows_its_library_and_target_when_they_move() {
    let fx = common::fixture(8, 32, (6, 4));
    let root = fx.dir.path();
    let base = root.join("project/base");
    let out = root.join("project/out");
    let scratch = root.join("project/scratch/deeper");
    for d in [&base, &out, &scratch] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::rename(&fx.library, base.join("base.tlib")).unwrap();
    std::fs::copy(root.join("target.png"), base.join("target.png")).unwrap();
    // Matched from a folder of its own, with paths relative to it.
    let (code, _, err) = tessera_in(
        &scratch,
        &[
            "match",
            "--library",
            "../../base/base.tlib",
            "--target",
            "../../base/target.png",
            "--cells",
            "6x4",
            "-o",
            "../../out/m.mosaic",
        ],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(root.join("project/scratch")).unwrap();
    // The whole project moved: run from elsewhere, everything is found.
    let moved = root.join("moved");
    std::fs::rename(root.join("project"), &moved).unwrap();
    let mosaic = moved.join("out/m.mosaic");
    let (code, info, err) = tessera_in(root, &["info", mosaic.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        info.contains("fidelity") && !info.contains("problem"),
        "{info}{err}"
    );
    let render = |extra: &[&str]| {
        let png = root.join("r.png");
        let _ = std::fs::remove_file(&png);
        let mut args = vec![
            "render",
            mosaic.to_str().unwrap(),
            "-o",
            "r.png",
            "--size",
            "48x32",
        ];
        args.extend_from_slice(extra);
        let r = tessera_in(root, &args);
        assert_eq!(r.0 == 0, png.exists(), "{}", r.2);
        r
    };
    let (code, _, err) = render(&[]);
    assert_eq!(code, 0, "{err}");
    // The library renamed and put beside the mosaic: found by its id, and said so.
    let beside = moved.join("out/renamed.tlib");
    std::fs::rename(moved.join("base/base.tlib"), &beside).unwrap();
    let (code, _, err) = render(&[]);
    assert!(code == 0 && err.contains("renamed.tlib"), "{err}");
    // Moved where nothing leads: the error says how to name it, and --library does.
    let far = root.join("far.tlib");
    std::fs::rename(&beside, &far).unwrap();
    let (code, _, err) = render(&[]);
    assert!(code != 0 && err.contains("--library"), "{err}");
    let (code, _, err) = render(&["--library", far.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, info, err) = tessera_in(
        root,
        &[
            "info",
            mosaic.to_str().unwrap(),
            "--library",
            far.to_str().unwrap(),
        ],
    );
    assert!(code == 0 && info.contains("library now"), "{info}{err}");
    // Another library given is refused, naming the one it was matched against.
    let (code, _, err) = render(&["--library", fx.dir.path().join("nowhere").to_str().unwrap()]);
    assert!(code != 0, "{err}");
}

/// `info` measures a mosaic against its own target, wherever it runs: a picture of the same
/// name in the current folder is not taken for it.
#[test]
fn info_measures_against_the_mosaics_own_target_only() {
    let fx = common::fixture(8, 32, (6, 4));
    let d = fx.dir.path();
    let elsewhere = d.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let (code, _, err) = tessera_in(
        d,
        &[
            "match",
            "--library",
            "lib.tlib",
            "--target",
            "target.png",
            "--cells",
            "6x4",
            "-o",
            "x.mosaic",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let info = || tessera_in(&elsewhere, &["info", d.join("x.mosaic").to_str().unwrap()]);
    let (code, out, err) = info();
    assert!(code == 0 && out.contains("fidelity"), "{out}{err}");
    // The target replaced by another picture of its name, and one more in the current folder.
    common::picture(5, 200, 100)
        .save(d.join("target.png"))
        .unwrap();
    common::picture(6, 400, 300)
        .save(elsewhere.join("target.png"))
        .unwrap();
    let (code, out, err) = info();
    assert!(code == 0 && !out.contains("fidelity"), "{out}");
    assert!(err.contains("200×100") && err.contains("400×300"), "{err}");
}

/// A library baked into its own tiles folder, and a mosaic matched there, are not taken for
/// sources by the next bake: nothing is skipped or warned about, nothing changes.
#[test]
fn a_library_inside_its_tiles_folder_is_not_a_source() {
    let fx = common::fixture(6, 32, (4, 3));
    let tiles = fx.tiles.to_str().unwrap();
    let lib = fx.tiles.join("lib.tlib");
    let bake = || tessera(&["bake", "--tiles", tiles, "-o", lib.to_str().unwrap()]);
    let (code, out, err) = bake();
    assert!(code == 0 && out.contains("6 tiles"), "{out}{err}");
    let mosaic = fx.tiles.join("x.mosaic");
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        lib.to_str().unwrap(),
        "--target",
        fx.dir.path().join("target.png").to_str().unwrap(),
        "--cells",
        "4x3",
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = bake();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("unchanged") && !err.contains("skipping"),
        "{out}{err}"
    );
}

/// A target far longer than wide is matched, with a warning that says how many cells its
/// width made.
#[test]
fn an_extreme_aspect_is_warned_about() {
    let fx = common::fixture(4, 32, (4, 3));
    let strip = fx.dir.path().join("strip.png");
    common::picture(8, 4, 200).save(&strip).unwrap();
    let (code, _, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        strip.to_str().unwrap(),
        "--cells-wide",
        "4",
        "-o",
        fx.dir.path().join("strip.mosaic").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("4×200 cells") && err.contains("--cells"),
        "{err}"
    );
}

/// A target larger than a fixed 512 MiB decode allowed (13,500² RGB: 547 MB decoded) is
/// matched: targets may take what the machine holds, and are averaged down to their cells
/// without a full-size linear copy.
#[test]
fn a_target_of_hundreds_of_megapixels_is_matched() {
    let fx = common::fixture(6, 32, (4, 3));
    let side = 13_500u32;
    let target = fx.dir.path().join("huge.png");
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&target).unwrap());
        let mut encoder = png::Encoder::new(file, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        // Left half dark, right half light: the grid must see it.
        let row: Vec<u8> = (0..side)
            .flat_map(|x| {
                if x < side / 2 {
                    [20, 30, 40]
                } else {
                    [230, 220, 200]
                }
            })
            .collect();
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    let mosaic = fx.dir.path().join("huge.mosaic");
    let (code, out, err) = tessera(&[
        "match",
        "--library",
        fx.library.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--cells",
        "8x8",
        "-o",
        mosaic.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("8×8 cells"), "{out}");
    let m = tessera::mosaic::Mosaic::load(&mosaic).unwrap();
    let colours = m.colours.unwrap();
    assert!(
        colours[0][0] < 60 && colours[7][0] > 200,
        "{:?} {:?}",
        colours[0],
        colours[7]
    );
}
