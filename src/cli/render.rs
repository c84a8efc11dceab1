//! `tessera render`: one view to a picture, or a camera path to a video, headless.

use super::args::{parse_seconds, EngineArgs, MosaicArg, PlaybackArgs, SizeArg, ViewArgs};
use super::util::human_bytes;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use tessera::camera::{camera_path, zoom_in_out, PathName};
use tessera::motion::{TargetSpan, VideoMosaic};
use tessera::video::{
    AudioSource, FrameRate, Sound, VideoSettings, VideoWriter, DEFAULT_CRF, DEFAULT_PRESET,
};
use tessera::{HeadlessRenderer, Pacing, RenderStyle, Scene};

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    mosaic: MosaicArg,
    /// A picture of one view (.png, .jpg, .tif, .bmp, .webp), or a video (.mp4, .mov,
    /// .mkv) of a camera path. Pictures over 16 megapixels are posters, rendered in bands
    /// and streamed to the file (.png or .tif, any --size; .jpg gathered in memory, up to
    /// 358 megapixels).
    #[arg(short, long, default_value = "frame.png")]
    output: PathBuf,
    #[command(flatten)]
    size: SizeArg,
    #[command(flatten)]
    view: ViewArgs,
    /// The moment drawn, in seconds of playback (a picture; a video starts at 0, or at
    /// --start for a video mosaic). For a video mosaic, the target's frame at that time.
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    time: f64,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    live: super::live::LiveArgs,
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
    /// Hold one view: --center at --cell-px (default: the whole mosaic).
    Fixed,
}

impl From<PathArg> for PathName {
    fn from(p: PathArg) -> PathName {
        match p {
            PathArg::Tour => PathName::Tour,
            PathArg::Jumps => PathName::Jumps,
            PathArg::Pans => PathName::Pans,
            PathArg::Zoom => PathName::Zoom,
            PathArg::Fixed => unreachable!("a fixed view is not a scripted path"),
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
    /// 256) and back; `fixed` holds the view; the others are the benchmark's paths
    /// [default: zoom; fixed for a video mosaic].
    #[arg(long, value_enum)]
    path: Option<PathArg>,
    /// Frames to render [default: 300; a video mosaic: its target's frames from --start
    /// for --duration].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    frames: Option<u32>,
    /// Frames per second of the video [default: 30; a video mosaic: its target's rate].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=240))]
    fps: Option<u32>,
    /// Video mosaics: seconds into the target where the video starts.
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    start: f64,
    /// Video mosaics: seconds of the target to render [default: to its end].
    #[arg(long, value_parser = parse_seconds)]
    duration: Option<f64>,
    /// H.264 quality: 0 lossless … 51 worst (x264's CRF).
    #[arg(long, default_value_t = DEFAULT_CRF, value_parser = clap::value_parser!(u8).range(0..=51))]
    crf: u8,
    /// x264 speed/size trade-off (slower: smaller file at the same quality).
    #[arg(long, default_value = DEFAULT_PRESET, value_parser = [
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
    ])]
    preset: String,
    /// sharp: every frame waits for its pages; live: stream as the viewer does, so frames
    /// show coarser levels while pages arrive.
    #[arg(long, value_enum, default_value = "sharp")]
    pacing: PacingArg,
}

pub fn run(mut a: RenderArgs) -> anyhow::Result<()> {
    check_output_place(&a.output)?;
    if a.live.live.is_some() {
        return render_live(a);
    }
    if tessera::video::is_video_path(&a.output) {
        return render_video(a);
    }
    // Refuse an output type we cannot write before anything is rendered or created.
    let format = picture_format(&a.output)?;
    let scene = a.mosaic.open()?;
    refuse_overwriting_inputs(&a.output, &scene)?;
    a.view.tint.check(&scene)?;
    let size = a.size.resolve(&scene);
    let camera = a.view.camera(&scene, size);
    if size.0 as u64 * size.1 as u64 > POSTER_PIXELS {
        return render_poster(&a, format, scene, &camera);
    }
    let mut renderer = HeadlessRenderer::new(scene, &a.engine.options(size, a.view.style(), true))?;
    show_target_at(&mut renderer, a.time)?;
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

/// An output that cannot be written (a folder, a folder that does not exist) is refused
/// before any work, not after it.
pub fn check_output_place(output: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !output.is_dir(),
        "{}: is a folder; name a file inside it, e.g. {}",
        output.display(),
        output.join("frame.png").display()
    );
    let parent = output.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        anyhow::ensure!(
            parent.is_dir(),
            "{}: the folder {} does not exist; create it first (mkdir -p {:?})",
            output.display(),
            parent.display(),
            parent
        );
    }
    Ok(())
}

/// Refuses an output that is one of the mosaic's own inputs: the mosaic file, a file in
/// its library, or its target (rendering over a video target destroyed the footage the
/// mosaic plays).
pub fn refuse_overwriting_inputs(output: &Path, scene: &Scene) -> anyhow::Result<()> {
    match scene.input_at(output) {
        Some((what, input)) => anyhow::bail!(
            "{}: is {what} ({}); writing it would destroy it, choose another output name",
            output.display(),
            input.display()
        ),
        None => Ok(()),
    }
}

/// Pictures above this many pixels (a 4096² frame) are posters: rendered in bands of
/// `POSTER_TILE`-sized frames and written as they come, so memory is bounded by one band
/// (a 49,152-px-wide poster: 48 MiB).
const POSTER_PIXELS: u64 = 1 << 24;
const POSTER_TILE: (u32, u32) = (1024, 256);
/// JPEG cannot be written a band at a time (the encoder takes the whole picture): a JPEG
/// poster is gathered in memory, 3 bytes a pixel, up to this (358 megapixels; beyond, PNG
/// or TIFF). JPEG's own limit is 65,535 px a side.
const JPEG_POSTER_BYTES: u64 = 1 << 30;
const JPEG_MAX_SIDE: u32 = 65_535;

/// A picture too large for one frame: rendered band by band and streamed into a PNG or a
/// (Big)TIFF, or gathered into a JPEG, after checking the disk can take it.
fn render_poster(
    a: &RenderArgs,
    format: image::ImageFormat,
    scene: Scene,
    camera: &tessera::Camera,
) -> anyhow::Result<()> {
    let (w, h) = a.size.get();
    anyhow::ensure!(
        matches!(
            format,
            image::ImageFormat::Png | image::ImageFormat::Tiff | image::ImageFormat::Jpeg
        ),
        "{}: a {w}×{h} picture is rendered in bands and written as it goes, which PNG and TIFF allow; name it .png or .tif (BMP and WebP need the whole picture in memory)",
        a.output.display()
    );
    // Uncompressed, the upper bound of what any of them takes.
    let raw = w as u64 * h as u64 * 3;
    anyhow::ensure!(
        format != image::ImageFormat::Jpeg
            || (raw <= JPEG_POSTER_BYTES && w.max(h) <= JPEG_MAX_SIDE),
        "{}: a {w}×{h} JPEG would be held whole in memory ({}; JPEG posters may take {}, {JPEG_MAX_SIDE} px a side); name it .png or .tif, which are written band by band at any size",
        a.output.display(),
        human_bytes(raw),
        human_bytes(JPEG_POSTER_BYTES)
    );
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
    // A poster is one picture: its tint does not fade with the scale of a band.
    let style = RenderStyle {
        tint_fades: false,
        ..a.view.style()
    };
    let mut renderer = HeadlessRenderer::new(scene, &a.engine.options(tile, style, true))?;
    show_target_at(&mut renderer, a.time)?;
    renderer.set_playback(a.playback.at(a.time));
    let started = std::time::Instant::now();
    let bar = crate::cli::progress::progress_bar(
        0,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "tiles",
    );
    let progress = |n: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(n);
    };
    let to_io = |e: tessera::Error| std::io::Error::other(e);
    // Ctrl-C stops between bands; the temporary is removed with the failed write.
    let interrupted = super::util::interrupt_flag();
    let written = tessera::export::write_atomically(&a.output, |out| {
        let rgb = |rows: &[u8]| -> Result<Vec<u8>, tessera::Error> {
            if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(tessera::Error::Io {
                    path: a.output.clone(),
                    error: std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        "interrupted: no poster written",
                    ),
                });
            }
            Ok(rows
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect())
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
                    std::io::Write::write_all(&mut stream, &rgb(rows)?).map_err(|e| {
                        tessera::Error::Io {
                            path: a.output.clone(),
                            error: e,
                        }
                    })
                },
                progress,
            )
            .map_err(to_io)?;
            stream.finish().map_err(std::io::Error::other)
        } else if format == image::ImageFormat::Jpeg {
            let mut picture = Vec::with_capacity(raw as usize);
            tessera::export::render_bands(
                &mut renderer,
                camera,
                (w, h),
                |rows, _| {
                    picture.extend_from_slice(&rgb(rows)?);
                    Ok(())
                },
                progress,
            )
            .map_err(to_io)?;
            image::codecs::jpeg::JpegEncoder::new(out)
                .encode(&picture, w, h, image::ExtendedColorType::Rgb8)
                .map_err(std::io::Error::other)
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
                        .write_strip(&rgb(rows)?)
                        .map_err(|e| tessera::Error::Io {
                            path: a.output.clone(),
                            error: std::io::Error::other(e),
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

/// For a video mosaic, draws its target's frame at `time` (still mosaics: nothing to do).
fn show_target_at(renderer: &mut HeadlessRenderer, time: f64) -> anyhow::Result<()> {
    if let Some(video) = VideoMosaic::open(renderer.scene())? {
        let frame = video.frame_at(time)?;
        renderer.set_grid(frame.grid, frame.colours);
    }
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
    tessera::export::write_atomically(path, |out| {
        img.write_to(out, format).map_err(std::io::Error::other)
    })
    .with_context(|| format!("{}: cannot write the picture", path.display()))
}

fn render_video(mut a: RenderArgs) -> anyhow::Result<()> {
    // Before any file exists: Ctrl-C from here on stops between frames and cleans up.
    let interrupted = super::util::interrupt_flag();
    let scene = a.mosaic.open()?;
    refuse_overwriting_inputs(&a.output, &scene)?;
    a.view.tint.check(&scene)?;
    a.size.resolve(&scene);
    if let Some(video) = VideoMosaic::open(&scene)? {
        return render_target_video(&a, scene, video, &interrupted);
    }
    let (w, h) = a.size.get();
    let v = &a.video;
    let frames = v.frames.unwrap_or(300) as usize;
    let path = match v.path.unwrap_or(PathArg::Zoom) {
        PathArg::Zoom => {
            let mut target = a.view.camera(&scene, (w, h));
            if a.view.cell_px.is_none() {
                target.cell_px = zoom_end_px(&scene, (w, h));
            }
            zoom_in_out(scene.fit(w, h), target, frames)
        }
        PathArg::Fixed => {
            let camera = a.view.camera(&scene, (w, h));
            vec![
                tessera::camera::PathFrame {
                    camera,
                    jump: false
                };
                frames
            ]
        }
        other => camera_path(
            other.into(),
            scene.cols(),
            scene.rows(),
            w,
            h,
            frames,
            scene.cell_shape(),
        ),
    };
    let fps = v.fps.unwrap_or(30);
    let (mut video, mut renderer, bar) =
        start_video(&a, scene, video_settings(&a, fps.into(), None), path.len())?;
    let pacing = a.video.pacing();
    // Clips play along the path: frame n is drawn at n / fps seconds.
    let frames = path
        .iter()
        .enumerate()
        .take_while(|_| !interrupted.load(std::sync::atomic::Ordering::Relaxed))
        .map(|(n, f)| (f.camera, a.playback.at(n as f64 / fps as f64)));
    let recorded = renderer.record(frames, pacing, &mut video, |n| bar.set_position(n as u64));
    bar.finish_and_clear();
    let recorded = recorded?;
    // Dropping the unfinished writer removes its partial file.
    anyhow::ensure!(
        !interrupted.load(std::sync::atomic::Ordering::Relaxed),
        "interrupted: no video written"
    );
    let encoded = video.finish()?;
    println!(
        "{}, on {}; render {:.1} ms/frame, encode {:.1} ms/frame{}",
        written(&a.output, &encoded, (w, h), fps.into()),
        renderer.describe(),
        recorded.render_secs * 1e3 / recorded.frames.max(1) as f64,
        encoded.encode_secs * 1e3 / encoded.frames.max(1) as f64,
        missing_note(recorded.max_missing)
    );
    Ok(())
}

impl VideoArgs {
    fn pacing(&self) -> Pacing {
        match self.pacing {
            PacingArg::Sharp => Pacing::Sharp,
            PacingArg::Live => Pacing::Live,
        }
    }
}

/// The video writer (opened first, so a bad size or container is refused before anything
/// is rendered), the renderer for `--pacing`, and a progress bar of `frames`.
fn start_video(
    a: &RenderArgs,
    scene: Scene,
    settings: VideoSettings,
    frames: usize,
) -> anyhow::Result<(VideoWriter, HeadlessRenderer, indicatif::ProgressBar)> {
    let writer = VideoWriter::create(&a.output, settings)?;
    let renderer = HeadlessRenderer::new(
        scene,
        &a.engine.options(
            a.size.get(),
            a.view.style(),
            a.video.pacing() == Pacing::Sharp,
        ),
    )?;
    let bar = crate::cli::progress::progress_bar(
        frames as u64,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "frames",
    );
    Ok((writer, renderer, bar))
}

fn video_settings(a: &RenderArgs, fps: FrameRate, audio: Option<Sound>) -> VideoSettings {
    VideoSettings {
        width: a.size.get().0,
        height: a.size.get().1,
        fps,
        crf: a.video.crf,
        preset: a.video.preset.clone(),
        audio,
    }
}

/// "OUT: N frames W×H at F fps (S s), CODEC SIZE": what a finished video holds.
fn written(
    output: &Path,
    encoded: &tessera::video::EncodeSummary,
    (w, h): (u32, u32),
    fps: FrameRate,
) -> String {
    format!(
        "{}: {} frames {w}×{h} at {fps} fps ({:.2} s), {} {}",
        output.display(),
        encoded.frames,
        encoded.frames as f64 / fps.as_f64(),
        encoded.codec,
        human_bytes(encoded.bytes)
    )
}

/// Where `--path zoom` ends without --cell-px: 256 px a cell, or for tiles of another
/// aspect than 1:1 one whole cell (a video's whole frame) filling the screen.
fn zoom_end_px(scene: &Scene, (w, h): (u32, u32)) -> f64 {
    let [sx, sy] = scene.cell_shape();
    if scene.tile_aspect().is_square() {
        256.0
    } else {
        (w as f64 / sx).min(h as f64 / sy)
    }
}

fn missing_note(max_missing: usize) -> String {
    if max_missing > 0 {
        format!("; up to {max_missing} pages per frame drawn from coarser levels")
    } else {
        String::new()
    }
}

/// A live source recorded as its mosaic: each output frame, on the wall clock, draws the
/// newest grid there is (never waiting for one), until --duration, the source's end or
/// Ctrl-C; the file is finished whole in every case.
fn render_live(mut a: RenderArgs) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    anyhow::ensure!(
        tessera::video::is_video_path(&a.output),
        "--live records a video: name the output .mp4 (or .mov, .mkv)"
    );
    let interrupted = super::util::interrupt_flag();
    let live = a.live.open(&a.mosaic, &a.output, true)?;
    let source = live.grids.source().source.clone();
    a.size.resolve(&live.scene);
    let (w, h) = a.size.get();
    let fps = match a.video.fps {
        Some(f) => f,
        None => live
            .grids
            .info
            .fps
            .filter(|f| (1.0..=120.0).contains(f))
            .map_or(30, |f| f.round() as u32),
    };
    let camera = a.view.camera(&live.scene, (w, h));
    let expected = a
        .video
        .duration
        .map_or(0, |d| (d * fps as f64).round() as usize);
    let super::live::Live {
        scene,
        grids,
        timeout,
        first_source_time,
    } = live;
    // The source's sound, placed by the frames shown: the first at 0 s, then each new one.
    let sound = grids.sound();
    if let Some(s) = &sound {
        s.anchor(0.0, first_source_time);
    }
    let settings = video_settings(&a, fps.into(), sound.clone().map(Sound::Live));
    let (mut writer, mut renderer, bar) = start_video(&a, scene, settings, expected)?;
    let mut summary = tessera::render::RecordSummary::default();
    let mut tally = super::live::LiveTally::new(&grids);
    let mut stall = super::live::StallWatch::new(timeout);
    let started = std::time::Instant::now();
    for n in 0u64.. {
        let due = n as f64 / fps as f64;
        if interrupted.load(Ordering::Relaxed) || a.video.duration.is_some_and(|d| due >= d) {
            break;
        }
        // A frame is taken within half a period of its tick, so a source at the output's
        // rate, arriving with jitter, gives one output frame per source frame.
        let half = 0.5 / fps as f64;
        let early = due - half - started.elapsed().as_secs_f64();
        if early > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(early));
        }
        let late = (due + half - started.elapsed().as_secs_f64()).max(0.0);
        let fresh = grids
            .latest()
            .or_else(|| grids.wait(std::time::Duration::from_secs_f64(late)));
        if fresh.is_none() && grids.ended() {
            break;
        }
        stall.update(&grids, fresh.is_some());
        if let Some(f) = &fresh {
            renderer.set_grid(f.frame.grid.clone(), f.frame.colours.clone());
            if let Some(s) = &sound {
                s.anchor(due, f.source_time);
            }
        }
        renderer.record_frame(
            &camera,
            a.playback.at(due),
            Pacing::Live,
            &mut writer,
            &mut summary,
        )?;
        if let Some(f) = fresh {
            tally.shown(f.arrived);
        }
        bar.set_position(n + 1);
    }
    bar.finish_and_clear();
    if let Some(e) = grids.take_error() {
        tracing::warn!("{e:#}; the video ends there");
    }
    let encoded = writer.finish()?;
    println!(
        "{} of {source}{}, on {}",
        written(&a.output, &encoded, (w, h), fps.into()),
        match (&sound, &encoded.audio_left_out) {
            (None, _) => "",
            (Some(_), None) => ", with its sound",
            (Some(_), Some(_)) => ", without its sound",
        },
        renderer.describe()
    );
    println!(
        "  {}; render {:.1} ms/frame{}",
        tally.summary(&grids, "encoder"),
        summary.render_secs * 1e3 / summary.frames.max(1) as f64,
        missing_note(summary.max_missing)
    );
    Ok(())
}

/// A video mosaic to a video: the target's frames in lockstep through the threaded pipeline
/// (decode → match → render → encode), at the target's rate and with its sound by default.
fn render_target_video(
    a: &RenderArgs,
    scene: Scene,
    video: VideoMosaic,
    interrupted: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    let (w, h) = a.size.get();
    let v = &a.video;
    let target = video.target.clone();
    let fps = match v.fps {
        Some(f) => FrameRate::from(f),
        None => FrameRate {
            num: target.fps_num,
            den: target.fps_den,
        },
    };
    anyhow::ensure!(
        a.video.start < target.duration.max(1e-9) || target.duration == 0.0,
        "--start {:.2}: the target is {:.2} s long",
        a.video.start,
        target.duration
    );
    let left = (target.duration - a.video.start).max(0.0);
    let duration = match (v.frames, v.duration) {
        (Some(n), _) => Some(n as f64 / fps.as_f64()),
        (None, d) => d,
    };
    let expected = (duration.unwrap_or(left).min(left) * fps.as_f64()).round() as usize;
    let cameras: Vec<tessera::Camera> = match v.path.unwrap_or(PathArg::Fixed) {
        PathArg::Fixed => vec![a.view.camera(&scene, (w, h))],
        PathArg::Zoom => {
            let mut close = a.view.camera(&scene, (w, h));
            if a.view.cell_px.is_none() {
                close.cell_px = zoom_end_px(&scene, (w, h));
            }
            zoom_in_out(scene.fit(w, h), close, expected.max(1))
                .into_iter()
                .map(|f| f.camera)
                .collect()
        }
        other => camera_path(
            other.into(),
            scene.cols(),
            scene.rows(),
            w,
            h,
            expected.max(1),
            scene.cell_shape(),
        )
        .into_iter()
        .map(|f| f.camera)
        .collect(),
    };
    let audio = AudioSource {
        path: video.path.clone(),
        start: a.video.start,
    };
    let (mut writer, mut renderer, bar) = start_video(
        a,
        scene,
        video_settings(a, fps, Some(Sound::File(audio))),
        expected,
    )?;
    let pacing = a.video.pacing();
    let recorded = tessera::motion::record_target(
        &mut renderer,
        &video,
        TargetSpan {
            start: a.video.start,
            duration,
            fps: fps.as_f64(),
        },
        |n| cameras[(n as usize).min(cameras.len() - 1)],
        |t| a.playback.at(t),
        pacing,
        &mut writer,
        interrupted,
        |n| bar.set_position(n),
    );
    bar.finish_and_clear();
    // On an error the writer is dropped unfinished: no file under the asked name.
    let recorded = recorded?;
    if let Some(why) = &recorded.stopped_early {
        tracing::warn!("{why}; the video ends there");
    }
    let encoded = writer.finish()?;
    let per_frame = |secs: f64| secs * 1e3 / encoded.frames.max(1) as f64;
    let (decode_ms, match_ms) = (1e3 / recorded.decode_fps, 1e3 / recorded.match_fps);
    let render_ms = per_frame(recorded.recorded.render_secs);
    let encode_ms = per_frame(encoded.encode_secs);
    println!(
        "{}{}, on {}",
        written(&a.output, &encoded, (w, h), fps),
        if encoded.audio_left_out.is_some() {
            ", no sound"
        } else {
            ", with sound"
        },
        renderer.describe()
    );
    println!(
        "  per frame: decode {decode_ms:.1} ms, match {match_ms:.1} ms, render {render_ms:.1} ms, encode {encode_ms:.1} ms; end to end {:.1} fps (the stages one after another: {:.1} fps){}",
        encoded.frames as f64 / recorded.wall_secs.max(1e-9),
        1e3 / (decode_ms + match_ms + render_ms + encode_ms),
        missing_note(recorded.recorded.max_missing)
    );
    Ok(())
}
