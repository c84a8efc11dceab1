//! Test data made on the spot: generated pictures on disk, baked by the real bake.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use tessera::library::{self, BakeOptions, StoreParams};
use tessera::matching::{make_mosaic, CellSpec, MatchOptions};
use tessera::render::StreamConfig;
use tessera::{Backend, HeadlessRenderer, RenderOptions, RenderStyle, Scene};

/// The tests' background: a colour no generated picture has, so a hole shows.
pub const BACKGROUND: [u8; 3] = [255, 0, 255];

/// A headless renderer of the fixture's mosaic on the tests' background.
pub fn renderer(
    fx: &Fixture,
    backend: Backend,
    w: u32,
    h: u32,
    stream: StreamConfig,
) -> HeadlessRenderer {
    let opts = RenderOptions {
        width: w,
        height: h,
        backend,
        style: RenderStyle {
            background: BACKGROUND,
            debug_lod: false,
            ..Default::default()
        },
        stream,
        adapter: None,
    };
    HeadlessRenderer::new(Scene::open(&fx.mosaic).unwrap(), &opts)
        .unwrap_or_else(|e| panic!("{backend:?} renderer unavailable: {e:#}"))
}

/// Runs the `tessera` binary: (exit code, stdout, stderr).
pub fn tessera(args: &[&str]) -> (i32, String, String) {
    output(std::process::Command::new(env!("CARGO_BIN_EXE_tessera")).args(args))
}

/// Runs a command to its end: (exit code, stdout, stderr).
pub fn output(cmd: &mut std::process::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Deterministic pseudo-random numbers (no test depends on a seed from the clock).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    pub fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// A picture with structure at every scale: a gradient, stripes and a disc, in colours
/// drawn from `seed`. Never pure magenta, the tests' background.
pub fn picture(seed: u64, w: u32, h: u32) -> image::RgbImage {
    let mut rng = Rng(seed);
    let base = [
        rng.below(200) as f32,
        rng.below(200) as f32,
        rng.below(200) as f32,
    ];
    let accent = [
        rng.below(255) as f32,
        rng.below(255) as f32,
        rng.below(255) as f32,
    ];
    let stripes = 2.0 + rng.below(9) as f32;
    let (cx, cy, r) = (
        rng.below(w) as f32,
        rng.below(h) as f32,
        (w.min(h) / 4 + rng.below(w.min(h) / 3 + 1)) as f32,
    );
    image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let stripe = ((fx * stripes * std::f32::consts::TAU).sin() * 0.5 + 0.5) * 0.4;
        let disc = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)) < r * r;
        let p: [f32; 3] = std::array::from_fn(|c| {
            let v = base[c] * (0.6 + 0.4 * fy) + 50.0 * stripe;
            if disc {
                accent[c]
            } else {
                v
            }
        });
        image::Rgb(p.map(|v| v.clamp(0.0, 254.0) as u8))
    })
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub tiles: PathBuf,
    pub library: PathBuf,
    pub mosaic: PathBuf,
}

impl Fixture {
    /// `tessera match` of the fixture's target against its library into `out`, with
    /// `--cells cells` and `extra` arguments after.
    pub fn match_args(&self, cells: &str, out: &Path, extra: &[&str]) -> Vec<String> {
        let target = self.dir.path().join("target.png");
        let mut args: Vec<String> = ["match", "--library"].map(String::from).to_vec();
        args.push(self.library.display().to_string());
        args.extend(["--target".into(), target.display().to_string()]);
        args.extend(["--cells".into(), cells.into(), "-o".into()]);
        args.push(out.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

/// `count` generated tile pictures (varied sizes and aspects), baked at `max_tile`, and a
/// mosaic of `cells` matched from another generated picture.
pub fn fixture(count: u32, max_tile: u32, cells: (u32, u32)) -> Fixture {
    fixture_shaped(count, max_tile, cells, tessera::library::TileAspect::SQUARE)
}

/// `fixture` with tiles of `aspect`.
pub fn fixture_shaped(
    count: u32,
    max_tile: u32,
    cells: (u32, u32),
    aspect: tessera::library::TileAspect,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    for i in 0..count {
        let (w, h) = (40 + (i * 37) % 150, 40 + (i * 53) % 120);
        picture(i as u64 + 1, w, h)
            .save(tiles.join(format!("tile{i:03}.png")))
            .unwrap();
    }
    let library = dir.path().join("lib.tlib");
    library::bake(&BakeOptions {
        tiles_dir: tiles.clone(),
        out: library.clone(),
        params: StoreParams {
            tile_aspect: aspect,
            ..StoreParams::new(max_tile, 2)
        },
        rebuild: false,
        shard: None,
        progress: None,
        shots: Default::default(),
    })
    .unwrap();
    let target = dir.path().join("target.png");
    picture(999, 400, 300).save(&target).unwrap();
    let mosaic = dir.path().join("m.mosaic");
    let lib = tessera::library::Library::open(&library).unwrap();
    make_mosaic(
        &lib,
        &target,
        CellSpec::Exact {
            cols: cells.0,
            rows: cells.1,
        },
        // The greedy match at lightness 3: the grid the stored reference pictures
        // (tests/reference) were drawn from.
        MatchOptions {
            repeat_radius: 1,
            greedy: true,
            lightness_weight: Some(3.0),
            ..Default::default()
        },
        &mosaic,
    )
    .unwrap()
    .save(&mosaic)
    .unwrap();
    Fixture {
        dir,
        tiles,
        library,
        mosaic,
    }
}

/// Per-channel absolute differences: (mean, max), in 1/255 units, over RGB.
pub fn compare(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let mut sum = 0u64;
    let mut max = 0u8;
    let mut n = 0u64;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for c in 0..3 {
            let d = pa[c].abs_diff(pb[c]);
            sum += d as u64;
            max = max.max(d);
            n += 1;
        }
    }
    (sum as f64 / n as f64, max)
}

pub fn save_pair(dir: &Path, name: &str, w: u32, h: u32, gpu: &[u8], cpu: &[u8]) {
    let _ = image::RgbaImage::from_raw(w, h, gpu.to_vec())
        .unwrap()
        .save(dir.join(format!("{name}-gpu.png")));
    let _ = image::RgbaImage::from_raw(w, h, cpu.to_vec())
        .unwrap()
        .save(dir.join(format!("{name}-cpu.png")));
}

/// A library of `stills` generated stills and `clips` procedural clips of `frames` frames
/// (`max_tile`, clips kept raw up to `raw_max`), and a mosaic of `cells` over it.
pub fn clip_fixture(
    stills: u32,
    clips: u32,
    frames: u32,
    max_tile: u32,
    raw_max: u32,
    cells: (u32, u32),
) -> Fixture {
    use tessera::library::synth_frame;
    use tessera::library::{build_pyramid, LinearTile};
    use tessera::library::{clip_signature, tile_signature};
    use tessera::library::{ClipFrame, SourceKey, StoreWriter};
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("clips.tlib");
    let params = StoreParams {
        raw_max,
        ..StoreParams::new(max_tile, 2)
    };
    let mut w = StoreWriter::open(&library, params, false).unwrap();
    let key = |name: String| SourceKey {
        path: name,
        size: 0,
        mtime_ns: 0,
    };
    let mut tiles = Vec::new();
    for i in 0..stills {
        let img = image::DynamicImage::ImageRgb8(picture(i as u64 + 1, 50, 50));
        let top = LinearTile::from_image(&img, max_tile);
        let sig = tile_signature(&top, 2);
        tiles.push(
            w.append_still(key(format!("still{i}")), &build_pyramid(&top), sig)
                .unwrap(),
        );
    }
    for i in 0..clips {
        let tops: Vec<LinearTile> = (0..frames)
            .map(|f| synth_frame(i, f, frames, max_tile))
            .collect();
        let sigs: Vec<Vec<f32>> = tops.iter().map(|t| tile_signature(t, 2)).collect();
        let (sig, key_frame) = clip_signature(&sigs);
        let pages: Vec<ClipFrame> = tops
            .iter()
            .map(|t| ClipFrame::new(build_pyramid(t), &params))
            .collect();
        tiles.push(
            w.append_clip(key(format!("clip{i}")), None, &pages, key_frame, sig)
                .unwrap(),
        );
    }
    w.commit(tiles, Vec::new(), "(test)".into()).unwrap();
    // A target of random blocks, one per cell: neighbouring cells match different tiles.
    let target = dir.path().join("target.png");
    let mut rng = Rng(77);
    let colours: Vec<[u8; 3]> = (0..cells.0 * cells.1)
        .map(|_| {
            [
                rng.below(256) as u8,
                rng.below(256) as u8,
                rng.below(256) as u8,
            ]
        })
        .collect();
    image::RgbImage::from_fn(cells.0 * 4, cells.1 * 4, |x, y| {
        image::Rgb(colours[((y / 4) * cells.0 + x / 4) as usize])
    })
    .save(&target)
    .unwrap();
    let mosaic = dir.path().join("clips.mosaic");
    let lib = tessera::library::Library::open(&library).unwrap();
    make_mosaic(
        &lib,
        &target,
        CellSpec::Exact {
            cols: cells.0,
            rows: cells.1,
        },
        // Plain CIELAB: the streaming tests' views were sized (within their small atlases)
        // for the grid this gives.
        MatchOptions {
            lightness_weight: Some(1.0),
            ..Default::default()
        },
        &mosaic,
    )
    .unwrap()
    .save(&mosaic)
    .unwrap();
    Fixture {
        tiles: dir.path().join("(no tiles folder)"),
        dir,
        library,
        mosaic,
    }
}

/// The sound a test target carries.
#[derive(Clone, Copy, PartialEq)]
pub enum Sound {
    /// Mono 8 kHz PCM (which MP4 cannot hold).
    Pcm,
    /// Mono 48 kHz Opus (which MOV lists and then refuses).
    Opus,
}

/// Writes `dst` (container by extension) with the video stream of `video` copied in, if
/// given, and `seconds` of a quiet tone as mono 8 kHz PCM: a target with sound, or (no
/// video) a file with no picture at all.
pub fn write_with_sound(video: Option<&Path>, dst: &Path, seconds: f64) {
    write_with_sound_as(video, dst, seconds, Sound::Pcm);
}

/// The same, with the sound in `sound`.
pub fn write_with_sound_as(video: Option<&Path>, dst: &Path, seconds: f64, sound: Sound) {
    use ffmpeg_next as ffmpeg;
    use ffmpeg_next::format::{sample::Type, Sample};
    ffmpeg::init().unwrap();
    // Sample rate and samples a frame (20 ms for Opus, 100 ms for PCM).
    let (rate, per_frame) = match sound {
        Sound::Pcm => (8000, 800),
        Sound::Opus => (48000, 960),
    };
    let mut out = ffmpeg::format::output(&dst).unwrap();
    let mut input = video.map(|v| ffmpeg::format::input(&v).unwrap());
    let video_in = input.as_ref().map(|input| {
        let s = input.streams().best(ffmpeg::media::Type::Video).unwrap();
        let mut params = s.parameters();
        // SAFETY: clears the source container's sample-entry tag on a copy this test owns.
        unsafe { (*params.as_mut_ptr()).codec_tag = 0 };
        let mut stream = out.add_stream(ffmpeg::codec::Id::None).unwrap();
        stream.set_parameters(params);
        (s.index(), s.time_base(), stream.index())
    });
    let codec = match sound {
        Sound::Pcm => ffmpeg::encoder::find(ffmpeg::codec::Id::PCM_S16LE),
        Sound::Opus => ffmpeg::encoder::find_by_name("libopus"),
    }
    .unwrap();
    let mut encoder = ffmpeg::codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .unwrap();
    encoder.set_rate(rate);
    encoder.set_channel_layout(ffmpeg::ChannelLayout::MONO);
    encoder.set_format(Sample::I16(Type::Packed));
    encoder.set_time_base((1, rate));
    if out
        .format()
        .flags()
        .contains(ffmpeg::format::Flags::GLOBAL_HEADER)
    {
        encoder.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
    }
    let mut encoder = encoder.open_as(codec).unwrap();
    let audio_index = {
        let mut stream = out.add_stream(codec).unwrap();
        stream.set_parameters(&encoder);
        stream.set_time_base((1, rate));
        stream.index()
    };
    out.write_header().unwrap();
    if let (Some(input), Some((index, in_tb, out_index))) = (input.as_mut(), video_in) {
        let out_tb = out.stream(out_index).unwrap().time_base();
        for (s, mut packet) in input.packets() {
            if s.index() == index {
                packet.rescale_ts(in_tb, out_tb);
                packet.set_stream(out_index);
                packet.set_position(-1);
                packet.write_interleaved(&mut out).unwrap();
            }
        }
    }
    let time_base = out.stream(audio_index).unwrap().time_base();
    let mut frame = ffmpeg::frame::Audio::new(
        Sample::I16(Type::Packed),
        per_frame,
        ffmpeg::ChannelLayout::MONO,
    );
    frame.set_rate(rate as u32);
    // A quiet tone: FFmpeg leaves a new frame's samples uninitialised, and stale memory can
    // hold another container's start code (a NUT one made the probe of an audio-only MKV
    // ambiguous, so FFmpeg refused the file).
    for (i, sample) in frame.plane_mut::<i16>(0).iter_mut().enumerate() {
        *sample = ((i as f32 * 0.2).sin() * 1000.0) as i16;
    }
    let mut packet = ffmpeg::Packet::empty();
    let mut write = |encoder: &mut ffmpeg::encoder::Audio,
                     out: &mut ffmpeg::format::context::Output| {
        while encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(audio_index);
            packet.rescale_ts((1, rate), time_base);
            packet.write_interleaved(out).unwrap();
        }
    };
    for i in 0..(seconds * rate as f64 / per_frame as f64).round() as i64 {
        frame.set_pts(Some(i * per_frame as i64));
        encoder.send_frame(&frame).unwrap();
        write(&mut encoder, &mut out);
    }
    encoder.send_eof().unwrap();
    write(&mut encoder, &mut out);
    out.write_trailer().unwrap();
}

/// Tags `stream` with a display matrix for `degrees` (FFmpeg's helper, counter-clockwise:
/// the MP4 muxer stores +90 as phones do, `ffprobe` then says rotation=-90).
pub fn set_display_rotation(stream: &mut ffmpeg_next::format::stream::StreamMut, degrees: f64) {
    use ffmpeg_next as ffmpeg;
    // SAFETY: a nine-i32 display matrix allocated by FFmpeg for this stream, filled by
    // FFmpeg's own helper.
    unsafe {
        let matrix = ffmpeg::ffi::av_stream_new_side_data(
            stream.as_mut_ptr(),
            ffmpeg::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            36,
        );
        assert!(!matrix.is_null());
        ffmpeg::ffi::av_display_rotation_set(matrix as *mut i32, degrees);
    }
}

/// Remuxes the H.264 video at `src` to `dst` (its container by extension), frame `i`
/// stamped `times[i]` seconds (a variable frame rate with the same pictures), tagged with
/// a display rotation of `degrees` counter-clockwise as phones write it, if given.
pub fn remux(src: &Path, dst: &Path, times: &[f64], degrees: Option<f64>) {
    use ffmpeg_next as ffmpeg;
    ffmpeg::init().unwrap();
    let mut input = ffmpeg::format::input(&src).unwrap();
    let mut out = ffmpeg::format::output(&dst).unwrap();
    let (index, mut params) = {
        let s = input.streams().best(ffmpeg::media::Type::Video).unwrap();
        (s.index(), s.parameters())
    };
    // SAFETY: clears the MP4 sample-entry tag on parameters this test owns a copy of;
    // Matroska writes its own.
    unsafe { (*params.as_mut_ptr()).codec_tag = 0 };
    let mut stream = out.add_stream(ffmpeg::codec::Id::None).unwrap();
    stream.set_parameters(params);
    if let Some(degrees) = degrees {
        set_display_rotation(&mut stream, degrees);
    }
    out.write_header().unwrap();
    let time_base = out.stream(0).unwrap().time_base();
    let ticks =
        |s: f64| (s * time_base.denominator() as f64 / time_base.numerator() as f64).round() as i64;
    let mut i = 0;
    for (s, mut packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        let t = ticks(times[i]);
        packet.set_pts(Some(t));
        packet.set_dts(Some(t));
        packet.set_duration(ticks(times.get(i + 1).copied().unwrap_or(times[i] + 0.04)) - t);
        packet.set_stream(0);
        packet.set_position(-1);
        packet.write_interleaved(&mut out).unwrap();
        i += 1;
    }
    assert_eq!(i, times.len());
    out.write_trailer().unwrap();
}

/// sRGB ↔ linear, from the IEC 61966-2-1 formulas (not tessera's tables).
pub fn srgb8_to_linear(v: u8) -> f64 {
    let c = v as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A video of `shots` flat colours, 25 fps (a rate whose ticks at the library's 12 fps
/// fall between frames), each shot with a bar that moves, so cuts are cuts and motion is
/// not.
pub fn write_shots(path: &Path, shots: &[u32]) {
    let (w, h) = (160u32, 96u32);
    let mut video = tessera::video::VideoWriter::create(
        path,
        tessera::video::VideoSettings {
            width: w,
            height: h,
            fps: 25.into(),
            crf: 18,
            preset: "ultrafast".into(),
            audio: None,
        },
    )
    .unwrap();
    let palette = [[200, 40, 40], [40, 180, 60], [30, 50, 210], [225, 205, 60]];
    for (k, &frames) in shots.iter().enumerate() {
        let colour = palette[k % palette.len()];
        for f in 0..frames {
            let bar = (f * 3) % w;
            let frame: Vec<u8> = (0..w * h)
                .flat_map(|i| {
                    let x = i % w;
                    let [r, g, b] = if x.abs_diff(bar) < 6 {
                        [245, 245, 245]
                    } else {
                        colour
                    };
                    [r, g, b, 255]
                })
                .collect();
            video.write_frame(frame).unwrap();
        }
    }
    video.finish().unwrap();
}
