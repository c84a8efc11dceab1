//! `tessera demo`: a real mosaic from real photographs, with nothing from the user.
//!
//! The photographs come from Debian's `mate-backgrounds` package (installed by the set-up
//! script). A dozen photographs are too few tiles for a mosaic, so each is cut into square
//! crops at several positions and scales: hundreds of real, varied tiles. One photograph is
//! the target. Everything is cached, so a second run only renders.

mod live;
mod video;

use super::args::EngineArgs;
use crate::cli::progress::progress_bar;
use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use tessera::library::{self, BakeOptions, StoreParams, TileAspect};
use tessera::matching::{make_mosaic, CellSpec, MatchOptions};
use tessera::{Camera, HeadlessRenderer, RenderStyle, Scene};

#[derive(Args)]
pub struct DemoArgs {
    /// Folder for demo.png and demo-zoom.png.
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Cache for the demo's tiles, library and mosaic (default: ~/.cache/tessera/demo).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// A hybrid mosaic of stills and playing clips from real footage, and a fly-through
    /// video (demo-video.mp4). Needs footage: run scripts/fetch-videos.sh first.
    #[arg(long)]
    video: bool,
    /// With --video: the folder of videos to cut into clips [default: ~/.cache/tessera/videos].
    #[arg(long, requires = "video")]
    footage: Option<PathBuf>,
    /// The demo library following a live stream that tessera sends itself over UDP
    /// loopback (a pan across a photograph, 1280×720 at 30 fps): recorded for --seconds to
    /// demo-live.mp4, or shown in a window with --window. Prints how to use a webcam instead.
    #[arg(long, conflicts_with = "video")]
    live: bool,
    /// With --live: show the live mosaic in a window (needs a display) instead of recording.
    #[arg(long, requires = "live")]
    window: bool,
    /// With --live: how long to record or show it.
    #[arg(
        long,
        default_value_t = 10.0,
        requires = "live",
        value_name = "SECONDS"
    )]
    seconds: f64,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn command(a: DemoArgs) -> anyhow::Result<()> {
    let cache = a.cache.clone().unwrap_or_else(default_cache_dir);
    let started = std::time::Instant::now();
    if a.video {
        return video_demo(&a, &cache, started);
    }
    if a.live {
        return live_demo(&a, &cache);
    }
    let data = prepare(&cache, true)?;
    println!(
        "demo mosaic {} ({} tiles cut from real photographs), ready in {:.1} s",
        data.mosaic.display(),
        data.tiles,
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let scene = Scene::open(&data.mosaic)?;
    let size = (1920, 1080);
    let mut renderer =
        HeadlessRenderer::new(scene, &a.engine.options(size, RenderStyle::default(), true))?;
    let whole = renderer.fit();
    // The ladybird sits right of centre in the target; zoom in on it.
    let zoom = Camera {
        center: glam::DVec2::new(
            renderer.scene().cols() as f64 * FOCUS.0,
            renderer.scene().rows() as f64 * FOCUS.1,
        ),
        cell_px: 64.0,
    };
    for (name, camera) in [("demo.png", whole), ("demo-zoom.png", zoom)] {
        let t = std::time::Instant::now();
        let (img, _) = renderer.render(&camera)?;
        let path = a.output.join(name);
        super::render::save_picture(&path, image::ImageFormat::Png, img)?;
        println!(
            "{}: {:.2} px per cell, rendered in {:.0} ms on {}",
            path.display(),
            camera.cell_px,
            t.elapsed().as_secs_f64() * 1e3,
            renderer.describe()
        );
    }
    Ok(())
}

/// `demo --video`: the hybrid mosaic's first moment as a picture, and the fly-through.
fn video_demo(a: &DemoArgs, cache: &Path, started: std::time::Instant) -> anyhow::Result<()> {
    use video::{default_footage_dir, prepare_video, render_fly_through};
    let footage = a.footage.clone().unwrap_or_else(default_footage_dir);
    let data = prepare_video(cache, &footage, true)?;
    println!(
        "hybrid demo mosaic {} ({} tiles: stills and clips from real footage), ready in {:.1} s",
        data.mosaic.display(),
        data.tiles,
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let options = a.engine.options((1280, 720), RenderStyle::default(), true);
    render_fly_through(&data, FOCUS, &a.output.join("demo-video.mp4"), &options)
}

/// `demo --live`: the demo library's mosaic of a stream tessera sends itself, through the
/// same `render --live` (or `view --live`) a user runs on a webcam, which it prints.
fn live_demo(a: &DemoArgs, cache: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.seconds.is_finite() && a.seconds > 0.0,
        "--seconds {}: must be a positive number",
        a.seconds
    );
    let data = prepare(cache, true)?;
    let library = data
        .library
        .canonicalize()
        .context("the demo library is missing")?;
    let photo = find_photos()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == TARGET_NAME))
        .context("the demo's target photograph is missing")?;
    let stream = live::TestStream::start(&photo)?;
    let (w, h) = live::STREAM_SIZE;
    println!(
        "sending a {w}×{h} {} fps pan across {} to {} (MPEG-TS, H.264)",
        live::STREAM_FPS,
        photo.display(),
        stream.url
    );
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let renderer = clap::ValueEnum::to_possible_value(&a.engine.renderer)
        .map(|v| v.get_name().to_string())
        .unwrap_or_else(|| "auto".into());
    let seconds = format!("{}", a.seconds);
    let library_arg = library.display().to_string();
    let mut args: Vec<String> = if a.window {
        ["view", "--size", "1280x720", "--quit-after", &seconds]
            .map(String::from)
            .into()
    } else {
        let out = a.output.join("demo-live.mp4");
        let out = out.display().to_string();
        [
            "render",
            "-o",
            &out,
            "--size",
            "1280x720",
            "--duration",
            &seconds,
        ]
        .map(String::from)
        .into()
    };
    args.extend(
        [
            "--library",
            &library_arg,
            "--live",
            &stream.url,
            "--cells",
            "160x90",
            "--renderer",
            &renderer,
        ]
        .map(String::from),
    );
    println!("tessera {}", args.join(" "));
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(&args)
        .status()
        .context("cannot run tessera")?;
    drop(stream);
    anyhow::ensure!(status.success(), "the live mosaic failed ({status})");
    println!(
        "a webcam instead: tessera view --library {library_arg} --live /dev/video0 --live-format v4l2\n\
         this screen:      tessera view --library {library_arg} --live $DISPLAY --live-format x11grab --live-option video_size=1280x720"
    );
    Ok(())
}

/// Where the target's subject (the ladybird) sits, as fractions of the mosaic.
const FOCUS: (f64, f64) = (0.70, 0.50);

/// Where the demo looks for photographs, in order.
pub const PHOTO_DIRS: &[&str] = &[
    "/usr/share/backgrounds/mate/nature",
    "/usr/share/backgrounds/mate/abstract",
    "/usr/share/wallpapers",
];
/// The target photograph (a ladybird on a leaf), if present.
pub const TARGET_NAME: &str = "LadyBird.jpg";

pub struct DemoData {
    pub library: PathBuf,
    pub mosaic: PathBuf,
    pub tiles: usize,
}

/// The photographs available, sorted.
pub fn find_photos() -> Vec<PathBuf> {
    let mut photos: Vec<PathBuf> = PHOTO_DIRS
        .iter()
        .flat_map(|d| walkdir::WalkDir::new(d).into_iter().flatten())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    photos.sort();
    photos
}

/// Default cache folder: `$XDG_CACHE_HOME/tessera/demo` or `~/.cache/tessera/demo`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tessera")
        .join("demo")
}

/// Square crops of `photo`: the whole centre square, then n×n grids for n = 2, 3, 4, 6.
fn write_crops(photo: &Path, out: &Path, side: u32) -> anyhow::Result<usize> {
    let img =
        library::decode_image(photo).map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
    let (w, h) = (img.width(), img.height());
    let stem = photo
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut n = 0;
    for grid in [1u32, 2, 3, 4, 6] {
        let size = w.min(h) / grid;
        let (nx, ny) = (w / size, h / size);
        for j in 0..ny {
            for i in 0..nx {
                let crop = img.crop_imm(i * size, j * size, size, size).resize_exact(
                    side,
                    side,
                    image::imageops::FilterType::Triangle,
                );
                let path = out.join(format!("{stem}-{grid}-{i}-{j}.jpg"));
                crop.to_rgb8()
                    .save(&path)
                    .with_context(|| format!("writing {}", path.display()))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Bakes (or brings up to date) a demo library of `tiles` at `out`: 256 px tiles, the
/// demos' one choice of store parameters.
pub fn bake_demo_library(
    tiles: PathBuf,
    out: &Path,
    aspect: TileAspect,
    progress: bool,
) -> anyhow::Result<library::BakeReport> {
    let params = StoreParams {
        tile_aspect: aspect,
        ..StoreParams::new(256, 2)
    };
    // The demo's own cache: a library an older tessera baked otherwise, or in a format
    // this one does not read, is baked again.
    let rebuild =
        library::existing_params(out).is_some_and(|p| p != params || library::format_refused(out));
    library::bake(&BakeOptions {
        tiles_dir: tiles,
        out: out.to_path_buf(),
        params,
        rebuild,
        shard: None,
        progress: progress.then(|| progress_bar(0, true, "baking")),
        shots: Default::default(),
    })
    .map_err(Into::into)
}

/// Builds (or reuses) the demo's tiles, library and mosaic under `cache`.
pub fn prepare(cache: &Path, progress: bool) -> anyhow::Result<DemoData> {
    let photos = find_photos();
    let Some(target) = photos
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == TARGET_NAME))
        .or(photos.first())
        .cloned()
    else {
        bail!("no photographs found in {}: install them with `apt-get install mate-backgrounds` (scripts/setup.sh does)", PHOTO_DIRS.join(", "))
    };
    if photos.len() < 4 {
        bail!(
            "only {} photographs found; install `mate-backgrounds` for the demo",
            photos.len()
        );
    }
    let tiles = cache.join("tiles");
    let done = cache.join("tiles.done");
    if !done.exists() {
        std::fs::create_dir_all(&tiles).with_context(|| format!("creating {}", tiles.display()))?;
        let bar = crate::cli::progress::progress_bar(photos.len() as u64, progress, "cropping");
        let counts: Vec<anyhow::Result<usize>> = {
            use rayon::prelude::*;
            photos
                .par_iter()
                .filter(|p| **p != target)
                .map(|p| {
                    let r = write_crops(p, &tiles, 256);
                    bar.inc(1);
                    r
                })
                .collect()
        };
        bar.finish_and_clear();
        for c in counts {
            if let Err(e) = c {
                tracing::warn!("skipping a demo photograph: {e:#}");
            }
        }
        std::fs::write(&done, b"").with_context(|| format!("writing {}", done.display()))?;
    }
    let library = cache.join("demo.tlib");
    let report = bake_demo_library(tiles, &library, TileAspect::SQUARE, progress)?;
    let mosaic = cache.join("demo.mosaic");
    ensure_mosaic(&library, &target, &mosaic)?;
    Ok(DemoData {
        library,
        mosaic,
        tiles: report.tiles,
    })
}

/// Matches `target` against `library` into `mosaic` (192×108 cells, no tile twice within
/// 2), unless the mosaic there was matched against this library already.
pub fn ensure_mosaic(library: &Path, target: &Path, mosaic: &Path) -> anyhow::Result<()> {
    let lib = library::Library::open(library)?;
    if tessera::mosaic::Mosaic::load(mosaic)
        .ok()
        .is_none_or(|m| m.header.library_id != lib.manifest.library_id)
    {
        make_mosaic(
            &lib,
            target,
            CellSpec::Exact {
                cols: 192,
                rows: 108,
            },
            MatchOptions {
                repeat_radius: 2,
                ..Default::default()
            },
            mosaic,
        )?
        .save(mosaic)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A demo library an older tessera baked in a format this one refuses (version 2, 16:9)
    /// is baked again in place rather than failing the demo.
    #[test]
    fn a_demo_library_in_a_refused_format_is_baked_again() {
        let dir = tempfile::tempdir().unwrap();
        let tiles = dir.path().join("tiles");
        std::fs::create_dir(&tiles).unwrap();
        for (i, colour) in [[200u8, 40, 40], [40, 60, 200]].into_iter().enumerate() {
            image::RgbImage::from_pixel(64, 36, image::Rgb(colour))
                .save(tiles.join(format!("{i}.png")))
                .unwrap();
        }
        let out = dir.path().join("demo.tlib");
        let wide: TileAspect = "16:9".parse().unwrap();
        bake_demo_library(tiles.clone(), &out, wide, false).unwrap();
        let manifest = out.join("manifest.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replacen("\"version\": 3", "\"version\": 2", 1),
        )
        .unwrap();
        assert!(library::Library::open(&out).is_err());
        let report = bake_demo_library(tiles, &out, wide, false).unwrap();
        assert_eq!((report.tiles, report.baked), (2, 2));
        assert_eq!(library::Library::open(&out).unwrap().manifest.version, 3);
    }
}
