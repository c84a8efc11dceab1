//! Golden tests: the GPU path (on whatever adapter exists; lavapipe in CI) against the CPU
//! reference renderer, at views that stress every edge of the shader's semantics.

mod common;

use glam::DVec2;
use tessera::streaming::StreamConfig;
use tessera::RenderStyle;
use tessera::{Backend, Camera, HeadlessRenderer, RenderOptions, Scene};

const BACKGROUND: [u8; 3] = [255, 0, 255];

fn options(backend: Backend, w: u32, h: u32, debug_lod: bool) -> RenderOptions {
    RenderOptions {
        width: w,
        height: h,
        backend,
        style: RenderStyle {
            background: BACKGROUND,
            debug_lod,
        },
        stream: StreamConfig {
            synchronous: true,
            ..Default::default()
        },
        adapter: None,
    }
}

fn gpu_renderer(scene: Scene, opts: &RenderOptions) -> HeadlessRenderer {
    HeadlessRenderer::new(scene, opts).unwrap_or_else(|e| panic!("GPU renderer unavailable: {e:#}"))
}

/// Renders `camera` on both paths and holds them to the tolerance.
fn check(fx: &common::Fixture, name: &str, w: u32, h: u32, camera: Camera, debug_lod: bool) {
    let mut gpu = gpu_renderer(
        Scene::open(&fx.mosaic).unwrap(),
        &options(Backend::Gpu, w, h, debug_lod),
    );
    let mut cpu = HeadlessRenderer::new(
        Scene::open(&fx.mosaic).unwrap(),
        &options(Backend::Cpu, w, h, debug_lod),
    )
    .unwrap();
    let (g, gs) = gpu.render(&camera).unwrap();
    let (c, cs) = cpu.render(&camera).unwrap();
    assert_eq!(gs.missing, 0, "{name}: GPU frame incomplete");
    assert_eq!(cs.missing, 0, "{name}: CPU frame incomplete");
    let (mean, max) = common::compare(g.as_raw(), c.as_raw());
    eprintln!("{name}: mean {mean:.4}/255, max {max}/255");
    // Measured on lavapipe: max 1/255 (8-bit filter weights and sRGB encode rounding), mean
    // ≤ 0.27/255; the issue allows 2/255, we hold the tighter bound we see.
    if mean >= 0.5 || max > 1 {
        let out = std::env::temp_dir().join("tessera-golden");
        std::fs::create_dir_all(&out).unwrap();
        common::save_pair(&out, name, w, h, g.as_raw(), c.as_raw());
        panic!(
            "{name}: GPU and CPU differ: mean {mean:.3}/255, max {max}/255 (images in {})",
            out.display()
        );
    }
}

fn at(center: (f64, f64), cell_px: f64) -> Camera {
    Camera {
        center: DVec2::new(center.0, center.1),
        cell_px,
    }
}

#[test]
fn gpu_matches_cpu_reference_across_zoom_levels() {
    // 64-px tiles: levels 0..=6; 23×17 cells.
    let fx = common::fixture(40, 64, (23, 17));
    let mid = (11.5, 8.5);
    check(&fx, "exactly-1px", 64, 48, at(mid, 1.0), false);
    check(&fx, "fractional-7.3", 240, 160, at(mid, 7.3), false);
    for level in 1..=6 {
        let px = (1u32 << level) as f64;
        check(
            &fx,
            &format!("level-{level}"),
            200,
            120,
            at((7.25, 5.6), px),
            false,
        );
        check(
            &fx,
            &format!("above-level-{level}"),
            200,
            120,
            at((7.25, 5.6), px * 1.02),
            false,
        );
        check(
            &fx,
            &format!("between-{level}"),
            200,
            120,
            at((7.25, 5.6), px * 1.5),
            false,
        );
    }
    check(&fx, "64px", 320, 200, at(mid, 64.0), false);
    check(
        &fx,
        "256px-magnified",
        320,
        200,
        at((3.3, 4.7), 256.0),
        false,
    );
    check(&fx, "off-the-edge", 300, 200, at((-1.5, 16.2), 20.0), false);
    check(&fx, "odd-frame", 1001, 333, at(mid, 13.7), false);
    check(&fx, "debug-lod", 200, 120, at(mid, 12.0), true);
}

#[test]
fn gpu_matches_cpu_reference_below_one_pixel_per_cell() {
    // Whole mosaic at < 1 px per cell: the overview chain, trilinear.
    let fx = common::fixture(30, 16, (150, 110));
    check(&fx, "overview-0.37", 96, 64, at((75.0, 55.0), 0.37), false);
    check(&fx, "overview-0.5", 77, 57, at((75.0, 55.0), 0.5), false);
    check(
        &fx,
        "overview-fit",
        101,
        67,
        Camera::fit(150, 110, 101, 67),
        false,
    );
    check(&fx, "overview-debug", 96, 64, at((75.0, 55.0), 0.8), true);
}

#[test]
fn only_level_zero_resident_still_fills_every_cell() {
    let fx = common::fixture(20, 64, (12, 9));
    let (w, h) = (240, 180);
    let mut opts = options(Backend::Gpu, w, h, false);
    opts.stream.synchronous = false; // nothing loads before the first draw
    let mut gpu = gpu_renderer(Scene::open(&fx.mosaic).unwrap(), &opts);
    let camera = at((6.0, 4.5), 20.0);
    gpu.draw(&camera, true).unwrap();
    let pixels = gpu.pixels().unwrap();
    let view = gpu.frame_view(&camera);
    let mut inside = 0;
    for y in 0..h {
        for x in 0..w {
            let cx = view.origin_int[0] as f32 + view.local(x, 0);
            let cy = view.origin_int[1] as f32 + view.local(y, 1);
            if cx >= 0.0 && cy >= 0.0 && cx < 12.0 && cy < 9.0 {
                inside += 1;
                let p = &pixels[((y * w + x) * 4) as usize..][..3];
                assert_ne!(p, BACKGROUND, "background at ({x},{y}) inside the mosaic");
            }
        }
    }
    assert_eq!(inside, w * h, "view should lie inside the mosaic");
}

#[test]
fn cpu_exact_copy_path_equals_general_filtering() {
    // At 2^l px per cell with aligned origin the CPU reference copies texels; the same view
    // shifted by a hair takes the filtering path and must agree to within rounding.
    let fx = common::fixture(20, 32, (10, 8));
    let mut cpu = HeadlessRenderer::new(
        Scene::open(&fx.mosaic).unwrap(),
        &options(Backend::Cpu, 160, 128, false),
    )
    .unwrap();
    let (exact, _) = cpu.render(&at((5.0, 4.0), 16.0)).unwrap();
    let (filtered, _) = cpu.render(&at((5.0 + 1e-5, 4.0), 16.0)).unwrap();
    let (mean, max) = common::compare(exact.as_raw(), filtered.as_raw());
    assert!(mean < 0.05 && max <= 1, "mean {mean}, max {max}");
}
