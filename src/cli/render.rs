//! `tessera render`: one view to a picture, or a camera path to a video, headless.

use super::args::{parse_seconds, EngineArgs, PlaybackArgs, SizeArg, ViewArgs};
use super::util::human_bytes;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use tessera::paths::{camera_path, zoom_in_out, PathName};
use tessera::video::{VideoSettings, VideoWriter};
use tessera::{HeadlessRenderer, Pacing, Scene};

#[derive(Args)]
pub struct RenderArgs {
    /// Mosaic file.
    mosaic: PathBuf,
    /// A picture of one view (.png, .jpg, .tif, .bmp, .webp), or a video (.mp4, .mov,
    /// .mkv) of a camera path. Pictures over 16 megapixels are posters, rendered in bands
    /// and streamed to the file (.png or .tif), any --size.
    #[arg(short, long, default_value = "frame.png")]
    output: PathBuf,
    #[command(flatten)]
    size: SizeArg,
    #[command(flatten)]
    view: ViewArgs,
    /// The moment drawn, in seconds of playback (a picture; a video starts at 0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    time: f64,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PathArg {
    /// Whole mosaic → one tile at 256 px per cell and back, fast pans, and jumps.
    Tour,
    /// Only the jumps: whole mosaic ↔ 256 px per cell at scattered places.
    Jumps,
    /// Fast pans at 32 and 256 px per cell.
    Pans,
    /// Eased zoom from the whole mosaic into --center at --cell-px and back out.
    Zoom,
}

impl From<PathArg> for PathName {
    fn from(p: PathArg) -> PathName {
        match p {
            PathArg::Tour => PathName::Tour,
            PathArg::Jumps => PathName::Jumps,
            PathArg::Pans => PathName::Pans,
            PathArg::Zoom => PathName::Zoom,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PacingArg {
    /// Every frame waits for its pages.
    Sharp,
    /// Stream as the viewer does: frames show coarser levels while pages arrive.
    Live,
}

#[derive(Args, Clone)]
#[command(next_help_heading = "Video (when --output is .mp4, .mov or .mkv)")]
struct VideoArgs {
    /// Camera path. `zoom` goes from the whole mosaic into --center at --cell-px (default
    /// 256) and back; the others are the benchmark's paths.
    #[arg(long, value_enum, default_value = "zoom")]
    path: PathArg,
    /// Frames to render.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    frames: u32,
    /// Frames per second of the video.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=240))]
    fps: u32,
    /// H.264 quality: 0 lossless … 51 worst (x264's CRF).
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: u8,
    /// x264 speed/size trade-off (slower: smaller file at the same quality).
    #[arg(long, default_value = "fast", value_parser = [
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
    ])]
    preset: String,
    /// sharp: every frame waits for its pages; live: stream as the viewer does, so frames
    /// show coarser levels while pages arrive.
    #[arg(long, value_enum, default_value = "sharp")]
    pacing: PacingArg,
}

pub fn run(a: RenderArgs) -> anyhow::Result<()> {
    if tessera::video::is_video_path(&a.output) {
        return render_video(a);
    }
    // Refuse an output type we cannot write before anything is rendered or created.
    let format = picture_format(&a.output)?;
    let scene = Scene::open(&a.mosaic)?;
    let size = a.size.size;
    let camera = a.view.camera(&scene, size);
    if size.0 as u64 * size.1 as u64 > POSTER_PIXELS {
        return render_poster(&a, format, scene, &camera);
    }
    let mut renderer = HeadlessRenderer::new(scene, &a.engine.options(size, a.view.style(), true))?;
    renderer.set_playback(a.playback.at(a.time));
    let (img, stats) = renderer.render(&camera)?;
    save_picture(&a.output, format, img)?;
    println!(
        "{}: {}×{} at {:.3} px/cell, centre {:.2},{:.2}, on {}{}",
        a.output.display(),
        size.0,
        size.1,
        camera.cell_px,
        camera.center.x,
        camera.center.y,
        renderer.describe(),
        if stats.missing > 0 {
            format!(
                " ({} pages drawn from coarser levels: over the GPU budget)",
                stats.missing
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Pictures above this many pixels (a 4096² frame) are posters: rendered in bands of
/// `POSTER_TILE`-sized frames and written as they come, so memory is bounded by one band
/// (a 49,152-px-wide poster: 48 MiB).
const POSTER_PIXELS: u64 = 1 << 24;
const POSTER_TILE: (u32, u32) = (1024, 256);

/// A picture too large for one frame: rendered band by band and streamed into a PNG or a
/// (Big)TIFF, after checking the disk can take it.
fn render_poster(
    a: &RenderArgs,
    format: image::ImageFormat,
    scene: Scene,
    camera: &tessera::Camera,
) -> anyhow::Result<()> {
    let (w, h) = a.size.size;
    anyhow::ensure!(
        matches!(format, image::ImageFormat::Png | image::ImageFormat::Tiff),
        "{}: a {w}×{h} picture is rendered in bands and written as it goes, which PNG and TIFF allow; name it .png or .tif (JPEG, BMP and WebP need the whole picture in memory)",
        a.output.display()
    );
    // Uncompressed, the upper bound of what either format takes.
    let raw = w as u64 * h as u64 * 3;
    let dir = a
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Some(free) = super::util::free_bytes(dir) {
        anyhow::ensure!(
            raw <= free,
            "{}: a {w}×{h} poster may take up to {} and {} has {} free; free some space or render a smaller --size",
            a.output.display(),
            human_bytes(raw),
            dir.display(),
            human_bytes(free)
        );
    }
    let tile = (POSTER_TILE.0.min(w), POSTER_TILE.1.min(h));
    let mut renderer = HeadlessRenderer::new(scene, &a.engine.options(tile, a.view.style(), true))?;
    renderer.set_playback(a.playback.at(a.time));
    let started = std::time::Instant::now();
    let bar = tessera::progress::progress_bar(
        0,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "tiles",
    );
    let progress = |n: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(n);
    };
    let to_io = |e: tessera::Error| std::io::Error::other(e);
    let written = tessera::fsutil::write_atomically(&a.output, |out| {
        let rgb = |rows: &[u8]| -> Vec<u8> {
            rows.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect()
        };
        if format == image::ImageFormat::Png {
            let mut encoder = png::Encoder::new(out, w, h);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            // Posters are large: fast compression keeps the encoder at the renderer's pace.
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
            let mut stream = writer.stream_writer().map_err(std::io::Error::other)?;
            tessera::export::render_bands(
                &mut renderer,
                camera,
                (w, h),
                |rows, _| {
                    std::io::Write::write_all(&mut stream, &rgb(rows)).map_err(|e| {
                        tessera::Error::Io {
                            path: a.output.clone(),
                            source: e,
                        }
                    })
                },
                progress,
            )
            .map_err(to_io)?;
            stream.finish().map_err(std::io::Error::other)
        } else {
            // Classic TIFF addresses 4 GiB; BigTIFF beyond.
            let tiff_err = std::io::Error::other;
            let mut encoder = if raw < 3 << 30 {
                tiff::encoder::TiffEncoder::new_generic(out)
            } else {
                tiff::encoder::TiffEncoder::new_big(out)
            }
            .map_err(tiff_err)?;
            let mut image = encoder
                .new_image::<tiff::encoder::colortype::RGB8>(w, h)
                .map_err(tiff_err)?;
            image.rows_per_strip(tile.1).map_err(tiff_err)?;
            tessera::export::render_bands(
                &mut renderer,
                camera,
                (w, h),
                |rows, _| {
                    image
                        .write_strip(&rgb(rows))
                        .map_err(|e| tessera::Error::Io {
                            path: a.output.clone(),
                            source: std::io::Error::other(e),
                        })
                },
                progress,
            )
            .map_err(to_io)?;
            image.finish().map_err(tiff_err)
        }
    });
    bar.finish_and_clear();
    written.with_context(|| format!("{}: cannot write the poster", a.output.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: {}×{} poster at {:.3} px/cell, centre {:.2},{:.2}, in {:.1} s ({:.1} megapixels/s) on {}",
        a.output.display(),
        w,
        h,
        camera.cell_px,
        camera.center.x,
        camera.center.y,
        secs,
        w as f64 * h as f64 / 1e6 / secs,
        renderer.describe()
    );
    Ok(())
}

/// The picture format for an output path, if tessera can write it.
pub fn picture_format(path: &Path) -> anyhow::Result<image::ImageFormat> {
    use image::ImageFormat::*;
    let format = image::ImageFormat::from_path(path).ok();
    match format {
        Some(f @ (Png | Jpeg | Tiff | Bmp | WebP)) => Ok(f),
        _ => anyhow::bail!(
            "{}: cannot write this type; name the output .png, .jpg, .tif, .bmp or .webp (or .mp4, .mov, .mkv for a video)",
            path.display()
        ),
    }
}

/// Writes a frame as `format`, atomically: a failed write (a full disk) leaves no file.
pub fn save_picture(
    path: &Path,
    format: image::ImageFormat,
    img: image::RgbaImage,
) -> anyhow::Result<()> {
    // JPEG has no alpha channel; the frame is opaque anyway.
    let img = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(img).to_rgb8())
    } else {
        image::DynamicImage::ImageRgba8(img)
    };
    tessera::fsutil::write_atomically(path, |out| {
        img.write_to(out, format).map_err(std::io::Error::other)
    })
    .with_context(|| format!("{}: cannot write the picture", path.display()))
}

fn render_video(a: RenderArgs) -> anyhow::Result<()> {
    let scene = Scene::open(&a.mosaic)?;
    let (w, h) = a.size.size;
    let v = &a.video;
    let frames = v.frames as usize;
    let path = match v.path {
        PathArg::Zoom => {
            let mut target = a.view.camera(&scene, (w, h));
            if a.view.cell_px.is_none() {
                target.cell_px = 256.0;
            }
            zoom_in_out(scene.fit(w, h), target, frames)
        }
        other => camera_path(other.into(), scene.cols(), scene.rows(), w, h, frames),
    };
    let pacing = match v.pacing {
        PacingArg::Sharp => Pacing::Sharp,
        PacingArg::Live => Pacing::Live,
    };
    let settings = VideoSettings {
        width: w,
        height: h,
        fps: v.fps,
        crf: v.crf,
        preset: v.preset.clone(),
    };
    // Opened before the renderer, so a bad size or container is refused at once.
    let mut video = VideoWriter::create(&a.output, settings)?;
    let mut renderer = HeadlessRenderer::new(
        scene,
        &a.engine
            .options((w, h), a.view.style(), pacing == Pacing::Sharp),
    )?;
    let bar = tessera::progress::progress_bar(
        path.len() as u64,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "frames",
    );
    // Clips play along the path: frame n is drawn at n / fps seconds.
    let fps = v.fps as f64;
    let frames = path
        .iter()
        .enumerate()
        .map(|(n, f)| (f.camera, a.playback.at(n as f64 / fps)));
    let recorded = renderer.record(frames, pacing, &mut video, |n| bar.set_position(n as u64));
    bar.finish_and_clear();
    let recorded = recorded?;
    let encoded = video.finish()?;
    println!(
        "{}: {} frames {}×{} at {} fps ({:.1} s), {} {}, on {}; render {:.1} ms/frame, encode {:.1} ms/frame{}",
        a.output.display(),
        encoded.frames,
        w,
        h,
        v.fps,
        encoded.frames as f64 / v.fps as f64,
        encoded.codec,
        human_bytes(encoded.bytes),
        renderer.describe(),
        recorded.render_secs * 1e3 / recorded.frames.max(1) as f64,
        encoded.encode_secs * 1e3 / encoded.frames.max(1) as f64,
        if recorded.max_missing > 0 {
            format!(
                "; up to {} pages per frame drawn from coarser levels",
                recorded.max_missing
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
