//! The shortest honest use of the library: open a mosaic, render offscreen, save a PNG of one
//! view or an MP4 of a zoom.
//!
//! ```text
//! cargo run --release --example headless -- MOSAIC [OUT.png|OUT.mp4] [CELL_PX]
//! ```
//! A PNG shows the whole mosaic, or with CELL_PX the view centred on the mosaic at that many
//! screen pixels per cell (e.g. 64). An MP4 is a 4-second zoom from the whole mosaic into
//! its centre at CELL_PX (default 256) and back; of a video mosaic (`tessera match --target
//! clip.mp4`), the whole target as a mosaic video, with its sound.

use anyhow::Context;
use std::path::Path;
use tessera::motion::{record_target, TargetSpan, VideoMosaic};
use tessera::video::{AudioSource, FrameRate, Sound, VideoSettings, VideoWriter};
use tessera::{HeadlessRenderer, Pacing, RenderOptions, Scene};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: headless MOSAIC [OUT.png|OUT.mp4] [CELL_PX]";
    let mosaic = args.first().context(usage)?;
    let out = args.get(1).map(String::as_str).unwrap_or("headless.png");
    let cell_px: Option<f64> = match args.get(2) {
        Some(s) => Some(s.parse().context("CELL_PX must be a number")?),
        None => None,
    };
    let summary = render(
        mosaic.as_ref(),
        out.as_ref(),
        cell_px,
        RenderOptions::default(),
    )?;
    println!("{mosaic} → {out}: {summary}");
    Ok(())
}

/// Renders `mosaic` to `out` (a picture or a video) and says what it wrote.
fn render(
    mosaic: &Path,
    out: &Path,
    cell_px: Option<f64>,
    options: RenderOptions,
) -> anyhow::Result<String> {
    // The scene: match grid, its tile library, the overview for zoomed-out views.
    let scene = Scene::open(mosaic)?;
    // The defaults: the GPU (best adapter, else Mesa's software rasteriser), 1920×1080,
    // default budgets.
    let mut renderer = HeadlessRenderer::new(scene, &options)?;
    let fit = renderer.fit();

    // A video mosaic's frames are matched as its target plays, on threads of their own.
    if let Some(video) = VideoMosaic::open(renderer.scene())? {
        if tessera::video::is_video_path(out) {
            let settings = VideoSettings {
                width: renderer.width,
                height: renderer.height,
                fps: FrameRate {
                    num: video.target.fps_num,
                    den: video.target.fps_den,
                },
                audio: Some(Sound::File(AudioSource {
                    path: video.path.clone(),
                    start: 0.0,
                })),
                ..Default::default()
            };
            let mut writer = VideoWriter::create(out, settings)?;
            let span = TargetSpan {
                start: 0.0,
                duration: None,
                fps: video.fps(),
            };
            let never = std::sync::atomic::AtomicBool::new(false);
            let at = |time| tessera::Playback {
                time,
                ..Default::default()
            };
            record_target(
                &mut renderer,
                &video,
                span,
                |_| fit,
                at,
                Pacing::Sharp,
                &mut writer,
                &never,
                |_| {},
            )?;
            let summary = writer.finish()?;
            return Ok(format!(
                "{} frames, {} bytes",
                summary.frames, summary.bytes
            ));
        }
        // A picture shows the target's first frame.
        let first = video.frame_at(0.0)?;
        renderer.set_grid(first.grid, first.colours);
    }

    if tessera::video::is_video_path(out) {
        let mut close = fit;
        close.cell_px = cell_px.unwrap_or(256.0);
        let path = tessera::camera::zoom_in_out(fit, close, 120);
        let settings = VideoSettings {
            width: renderer.width,
            height: renderer.height,
            ..Default::default()
        };
        let fps = settings.fps.as_f64();
        let mut video = VideoWriter::create(out, settings)?;
        // Each frame waits for its pages (Pacing::Sharp), is drawn, read back and queued to
        // the encoder thread; clips play at the video's rate.
        renderer.record(
            path.iter().enumerate().map(|(n, f)| {
                let at = tessera::Playback {
                    time: n as f64 / fps,
                    ..Default::default()
                };
                (f.camera, at)
            }),
            Pacing::Sharp,
            &mut video,
            |_| {},
        )?;
        let summary = video.finish()?;
        return Ok(format!(
            "{} frames, {} bytes",
            summary.frames, summary.bytes
        ));
    }

    let mut camera = fit;
    if let Some(px) = cell_px {
        camera.cell_px = px;
    }
    // `render` streams in every page the view needs, draws, and reads the frame back.
    let (image, _stats) = renderer.render(&camera)?;
    image
        .save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(renderer.describe())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera::library::{self, BakeOptions, StoreParams};
    use tessera::matching::{make_mosaic, CellSpec, MatchOptions};
    use tessera::Backend;

    /// Twelve generated pictures baked at 32 px, and a 16×9-cell mosaic of a thirteenth.
    fn small_mosaic(dir: &Path) -> std::path::PathBuf {
        let tiles = dir.join("tiles");
        std::fs::create_dir_all(&tiles).unwrap();
        let picture = |seed: u32| {
            image::RgbImage::from_fn(48, 40, move |x, y| {
                let s = seed * 37;
                image::Rgb([
                    ((x * 5 + s) % 256) as u8,
                    ((y * 6 + s * 3) % 256) as u8,
                    ((x + y + s * 7) % 256) as u8,
                ])
            })
        };
        for i in 0..12 {
            picture(i).save(tiles.join(format!("t{i:02}.png"))).unwrap();
        }
        let lib = dir.join("lib.tlib");
        let params = StoreParams::new(32, 1);
        library::bake(&BakeOptions {
            tiles_dir: tiles,
            out: lib.clone(),
            params,
            rebuild: false,
            shard: None,
            progress: None,
            shots: Default::default(),
        })
        .unwrap();
        let target = dir.join("target.png");
        picture(99).save(&target).unwrap();
        let mosaic = dir.join("m.mosaic");
        let library = library::Library::open(&lib).unwrap();
        let cells = CellSpec::Exact { cols: 16, rows: 9 };
        make_mosaic(&library, &target, cells, MatchOptions::default(), &mosaic)
            .unwrap()
            .save(&mosaic)
            .unwrap();
        mosaic
    }

    #[test]
    fn the_example_writes_the_view_the_cpu_reference_draws_and_a_video() {
        let dir = tempfile::tempdir().unwrap();
        let mosaic = small_mosaic(dir.path());
        let small = RenderOptions {
            width: 320,
            height: 180,
            ..Default::default()
        };
        let png = dir.path().join("view.png");
        render(&mosaic, &png, Some(24.0), small.clone()).unwrap();
        let written = image::open(&png).unwrap().to_rgba8();
        let cpu = RenderOptions {
            backend: Backend::Cpu,
            ..small.clone()
        };
        let reference = dir.path().join("reference.png");
        render(&mosaic, &reference, Some(24.0), cpu).unwrap();
        let reference = image::open(&reference).unwrap().to_rgba8();
        let worst = written
            .as_raw()
            .iter()
            .zip(reference.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(
            worst <= 1,
            "GPU example frame differs from the CPU reference by {worst}/255"
        );

        let mp4 = dir.path().join("zoom.mp4");
        let said = render(&mosaic, &mp4, None, small).unwrap();
        assert!(said.starts_with("120 frames"), "{said}");
        assert!(std::fs::metadata(&mp4).unwrap().len() > 1000);
    }
}
