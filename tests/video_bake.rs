//! Baking videos into clip tiles: shots cut where the picture changes, clip frames sampled
//! at the library's rate (by timestamp, so variable frame rates too), phone rotation,
//! resume after an interruption, and every kind of bad video.
//! The videos are made here, with the FFmpeg libraries (H.264 through `VideoWriter`).

mod common;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use tessera::library::{bake, source_key, BakeOptions, BakeReport};
use tessera::library::{bake_video, VideoError};
use tessera::library::{Library, StoreParams, TileFit};
use tessera::library::{StoreWriter, TileEntry};
use tessera::video::ShotOptions;
use tessera::video::{VideoSettings, VideoWriter};

const FPS: u32 = 24;
const W: u32 = 160;
const H: u32 = 96;

/// Scene `k` at frame `f` of its shot: a flat colour from a palette far apart, stripes that
/// drift and a disc that moves (motion within a shot that must not read as a cut).
fn scene(k: usize, f: u32) -> Vec<u8> {
    const PALETTE: [[f32; 3]; 5] = [
        [200.0, 40.0, 40.0],
        [40.0, 180.0, 60.0],
        [30.0, 50.0, 210.0],
        [225.0, 205.0, 60.0],
        [120.0, 40.0, 150.0],
    ];
    let base = PALETTE[k % PALETTE.len()];
    let (cx, cy) = (30.0 + 1.5 * f as f32, 48.0 + 0.5 * f as f32);
    let mut out = Vec::with_capacity((W * H * 4) as usize);
    for y in 0..H {
        for x in 0..W {
            let stripe = (((x + f) / 8) % 2) as f32 * 25.0;
            let disc = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < 225.0;
            for c in base {
                out.push(if disc { 245 } else { (c * 0.85 + stripe) as u8 });
            }
            out.push(255);
        }
    }
    out
}

/// Writes an H.264 video of shots of `lengths` frames (scene 0, 1, …) at `FPS`.
fn write_video(path: &Path, lengths: &[u32]) {
    write_video_at(path, lengths, FPS);
}

/// The same at `fps` frames a second.
fn write_video_at(path: &Path, lengths: &[u32], fps: u32) {
    let settings = VideoSettings {
        width: W,
        height: H,
        fps: fps.into(),
        crf: 18,
        preset: "ultrafast".into(),
        audio: None,
    };
    let mut video = VideoWriter::create(path, settings).unwrap();
    for (k, &n) in lengths.iter().enumerate() {
        for f in 0..n {
            video.write_frame(scene(k, f)).unwrap();
        }
    }
    video.finish().unwrap();
}

fn options(tiles: &Path, out: &Path) -> BakeOptions {
    BakeOptions {
        tiles_dir: tiles.to_path_buf(),
        out: out.to_path_buf(),
        params: StoreParams::new(32, 2),
        rebuild: false,
        shard: None,
        progress: None,
        shots: ShotOptions::default(),
    }
}

fn bake_dir(tiles: &Path, out: &Path) -> BakeReport {
    bake(&options(tiles, out)).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The library's tiles, in id order.
fn tiles_of(library: &Path) -> Vec<TileEntry> {
    let lib = Library::open(library).unwrap();
    (0..lib.tile_count()).map(|t| lib.tile(t).clone()).collect()
}

/// Shot lengths used by the cut tests (frames at 24 fps): cuts at frames 30, 71, 97.
const SHOTS: [u32; 4] = [30, 41, 26, 37];

fn cut_frames() -> Vec<u32> {
    SHOTS
        .iter()
        .scan(0, |at, n| {
            *at += n;
            Some(*at)
        })
        .take(SHOTS.len() - 1)
        .collect()
}

fn video_dir(lengths: &[u32]) -> (tempfile::TempDir, PathBuf) {
    video_dir_at(lengths, FPS)
}

fn video_dir_at(lengths: &[u32], fps: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir(&tiles).unwrap();
    write_video_at(&tiles.join("shots.mp4"), lengths, fps);
    (dir, tiles)
}

#[test]
fn every_cut_is_found_within_a_frame_and_motion_is_not_a_cut() {
    let (dir, tiles) = video_dir(&SHOTS);
    let out = dir.path().join("lib.tlib");
    let report = bake_dir(&tiles, &out);
    assert_eq!((report.videos, report.clips), (1, SHOTS.len()));
    assert!(report.skipped.is_empty() && report.warnings.is_empty());
    let shots: Vec<_> = tiles_of(&out)
        .iter()
        .map(|t| t.shot.expect("a clip from a video has its shot"))
        .collect();
    assert_eq!(shots.len(), SHOTS.len());
    let frame = 1.0 / FPS as f64;
    for (shot, cut) in shots[1..].iter().zip(cut_frames()) {
        let at = cut as f64 * frame;
        assert!(
            (shot.start - at).abs() <= frame + 1e-6,
            "cut at {at:.3} s found at {:.3} s",
            shot.start
        );
    }
    // Shots tile the video end to end, in order.
    assert_eq!(shots[0].start, 0.0);
    for pair in shots.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        assert_eq!(pair[1].index, pair[0].index + 1);
    }
    let total = SHOTS.iter().sum::<u32>() as f64 * frame;
    assert!(
        (shots[3].end - total).abs() < 1e-6,
        "{} vs {total}",
        shots[3].end
    );
}

#[test]
fn clip_frames_are_sampled_at_the_library_rate_from_the_right_shot() {
    let (dir, tiles) = video_dir(&SHOTS);
    let out = dir.path().join("lib.tlib");
    bake_dir(&tiles, &out);
    let lib = Library::open(&out).unwrap();
    let fps = lib.params().clip_fps as f64;
    for t in 0..lib.tile_count() {
        let e = lib.tile(t);
        let shot = e.shot.unwrap();
        // One frame per tick of the clip rate inside the shot (ticks k / fps).
        let ticks = ((shot.end * fps - 1e-6).ceil() - (shot.start * fps - 1e-6).ceil()) as u32;
        assert_eq!(e.frames, ticks, "shot {t}: {shot:?}");
        // Every frame of the clip shows its own scene: the 1 px level is the scene's
        // colour (stripes and disc averaged in), far from every other scene's.
        let clip = lib.clip(t);
        let mut px = vec![0u8; 4 * clip.frames as usize];
        lib.read_frames(t, 0, clip.frames, 0, &mut px).unwrap();
        let own = scene_mean(t as usize);
        for f in px.chunks(4) {
            let d: i32 = (0..3).map(|c| (f[c] as i32 - own[c] as i32).abs()).sum();
            assert!(
                d < 60,
                "shot {t}: frame colour {f:?} far from its scene {own:?}"
            );
        }
    }
}

/// Mean colour of scene `k`'s centre square (what a tile's 1 px level shows).
fn scene_mean(k: usize) -> [u8; 3] {
    let rgba = scene(k, 10);
    let mut sum = [0f64; 3];
    let x0 = (W - H) / 2;
    for y in 0..H {
        for x in x0..x0 + H {
            let i = ((y * W + x) * 4) as usize;
            for c in 0..3 {
                sum[c] += rgba[i + c] as f64;
            }
        }
    }
    sum.map(|s| (s / (H * H) as f64) as u8)
}

/// At 24 fps the clip rate's ticks (12 a second) fall on frames; at 25 fps the tick at
/// 34/12 s falls between the last frame of the second shot (70/25 s) and the cut (71/25 s),
/// and is sampled from the cut's frame: a resumed bake must sample it too, or its third clip
/// comes out a frame short.
#[test]
fn an_interrupted_video_bake_resumes_after_its_last_whole_shot() {
    for fps in [24, 25] {
        resumes_as_a_clean_bake(fps);
    }
}

fn resumes_as_a_clean_bake(fps: u32) {
    let lengths = [30, 41, 26, 37, 33];
    let (dir, tiles) = video_dir_at(&lengths, fps);
    let out = dir.path().join("lib.tlib");
    let video = tiles.join("shots.mp4");
    let key = source_key(&tiles, &video).unwrap();
    // Bake until 3.5 s in (two whole shots, the third under way), then stop.
    let opts = options(&tiles, &out);
    let mut writer = StoreWriter::open(&out, opts.params, false).unwrap();
    let stop = |t: f64, _: f64| {
        if t >= 3.5 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = bake_video(&video, &key, &mut writer, Vec::new(), opts.shots, stop).unwrap_err();
    assert!(matches!(err, VideoError::Interrupted));
    assert_eq!(writer.appended_from(&key).len(), 2);
    drop(writer); // the process dies: no commit
    assert!(
        Library::open(&out).is_err(),
        "an interrupted bake must not open"
    );

    // The next bake decodes from the third shot on only, and ends where a clean one does.
    let report = bake_dir(&tiles, &out);
    assert_eq!(report.clips, 3, "{report:?}");
    let resumed_from = (lengths[0] + lengths[1]) as f64 / fps as f64;
    let total = lengths.iter().sum::<u32>() as f64 / fps as f64;
    // A second before the resume point is decoded again, and not counted.
    assert!(
        report.video_seconds < total - resumed_from + 0.2,
        "decoded {} s of {total} s after resuming at {resumed_from} s",
        report.video_seconds
    );
    let clean = dir.path().join("clean.tlib");
    bake_dir(&tiles, &clean);
    let shots = |lib: &Path| -> Vec<_> {
        tiles_of(lib)
            .iter()
            .map(|t| {
                (
                    t.shot.unwrap().index,
                    t.frames,
                    t.key,
                    (t.shot.unwrap().start * 1e3).round(),
                )
            })
            .collect()
    };
    assert_eq!(shots(&out), shots(&clean), "{fps} fps");
}

#[test]
fn a_one_frame_video_is_a_one_frame_clip() {
    let (dir, tiles) = video_dir(&[1]);
    let out = dir.path().join("lib.tlib");
    let report = bake_dir(&tiles, &out);
    assert_eq!(report.clips, 1, "{report:?}");
    let t = &tiles_of(&out)[0];
    assert_eq!(t.frames, 1);
}

/// Overwrites `len` bytes at `at` with a repeating junk pattern.
fn damage(path: &Path, at: u64, len: usize) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
    f.write_all_at(&junk, at).unwrap();
}

fn truncate(path: &Path, fraction: f64) -> u64 {
    let len = std::fs::metadata(path).unwrap().len();
    let keep = (len as f64 * fraction) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(keep)
        .unwrap();
    keep
}

#[test]
fn bad_videos_are_named_and_skipped_or_kept_up_to_their_last_good_frame() {
    let dir = tempfile::tempdir().unwrap();
    let tiles = dir.path().join("tiles");
    std::fs::create_dir(&tiles).unwrap();
    // A good video, so the library is not empty.
    write_video(&tiles.join("good.mp4"), &[30, 30]);
    // No video stream at all.
    common::write_with_sound(None, &tiles.join("audio-only.mkv"), 1.0);
    // Empty, and text named like a video.
    std::fs::write(tiles.join("empty.mp4"), b"").unwrap();
    std::fs::write(tiles.join("notes.mov"), b"not a video at all\n").unwrap();
    // An MP4 cut short loses its index (written last): nothing can be read.
    write_video(&tiles.join("cut.mp4"), &SHOTS);
    truncate(&tiles.join("cut.mp4"), 0.5);
    // A Matroska file cut short keeps its header: the frames before the cut are good.
    write_video(&tiles.join("cut.mkv"), &SHOTS);
    truncate(&tiles.join("cut.mkv"), 0.6);
    // Junk in the middle of the stream.
    write_video(&tiles.join("junk.mkv"), &SHOTS);
    let len = std::fs::metadata(tiles.join("junk.mkv")).unwrap().len();
    damage(&tiles.join("junk.mkv"), len / 2, 3000);

    let out = dir.path().join("lib.tlib");
    let report = bake_dir(&tiles, &out);
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    let reason = |name: &str| {
        skipped
            .iter()
            .find(|(p, _)| *p == name)
            .unwrap_or_else(|| panic!("{name} not named in {skipped:?}"))
            .1
    };
    assert!(
        reason("audio-only.mkv").contains("no video stream"),
        "{skipped:?}"
    );
    reason("empty.mp4");
    assert!(
        reason("notes.mov").contains("not a video FFmpeg can read"),
        "{skipped:?}"
    );
    assert!(reason("cut.mp4").contains("video"), "{skipped:?}");
    assert_eq!(skipped.len(), 4, "{skipped:?}");

    let lib = Library::open(&out).unwrap();
    let by_source = |name: &str| -> Vec<TileEntry> {
        (0..lib.tile_count())
            .map(|t| lib.tile(t).clone())
            .filter(|t| t.source.path == name)
            .collect()
    };
    assert_eq!(by_source("good.mp4").len(), 2);
    // The cut Matroska file keeps the shots before its end, none after the frames it has.
    let cut = by_source("cut.mkv");
    assert!(!cut.is_empty() && cut.len() <= SHOTS.len(), "{cut:?}");
    let total = SHOTS.iter().sum::<u32>() as f64 / FPS as f64;
    assert!(cut.last().unwrap().shot.unwrap().end < total, "{cut:?}");
    // The damaged one is kept in part or whole; either way its frames read back whole.
    let junk = by_source("junk.mkv");
    assert!(!junk.is_empty());
    for t in 0..lib.tile_count() {
        let c = lib.clip(t);
        let mut px = vec![0u8; 4 * c.frames as usize];
        lib.read_frames(t, 0, c.frames, 0, &mut px).unwrap();
    }
    // A second bake changes nothing: the bad files stay skipped, the good ones reused.
    let again = bake_dir(&tiles, &out);
    assert!(again.unchanged, "{again:?}");
}

#[test]
fn a_variable_frame_rate_is_cut_and_sampled_by_timestamps() {
    let (dir, tiles) = video_dir(&SHOTS);
    // Frames last 1/48 s and 3/48 s in turn (24 fps on average, never steady).
    let frames: u32 = SHOTS.iter().sum();
    let times: Vec<f64> = (0..frames)
        .scan(0.0, |t, i| {
            let at = *t;
            *t += if i % 2 == 0 { 1.0 } else { 3.0 } / 48.0;
            Some(at)
        })
        .collect();
    let cfr = tiles.join("shots.mp4");
    common::remux(&cfr, &tiles.join("vfr.mkv"), &times, None);
    std::fs::remove_file(&cfr).unwrap();
    let out = dir.path().join("lib.tlib");
    let report = bake_dir(&tiles, &out);
    assert_eq!(report.clips, SHOTS.len(), "{report:?}");
    let lib = Library::open(&out).unwrap();
    let fps = lib.params().clip_fps as f64;
    for (t, cut) in (1..lib.tile_count()).zip(cut_frames()) {
        let shot = lib.tile(t).shot.unwrap();
        assert!(
            (shot.start - times[cut as usize]).abs() < 1e-3,
            "cut at {:.3} s found at {:.3} s",
            times[cut as usize],
            shot.start
        );
    }
    for t in 0..lib.tile_count() {
        let e = lib.tile(t);
        let shot = e.shot.unwrap();
        let ticks = ((shot.end * fps - 1e-6).ceil() - (shot.start * fps - 1e-6).ceil()) as u32;
        assert_eq!(e.frames, ticks, "shot {t}: {shot:?}");
    }
}

/// Writes a NUT file declaring one video stream of `codec` at `w × h`, with a few packets of
/// junk: what a file in a codec this FFmpeg cannot decode, or a lying header, looks like.
fn write_declared_video(path: &Path, codec: ffmpeg_next::codec::Id, tag: &[u8; 4], w: i32, h: i32) {
    use ffmpeg_next as ffmpeg;
    ffmpeg::init().unwrap();
    let mut out = ffmpeg::format::output(&path).unwrap();
    let mut params = ffmpeg::codec::Parameters::new();
    params.set_medium(ffmpeg::media::Type::Video);
    params.set_id(codec);
    // SAFETY: plain fields of parameters this function owns.
    unsafe {
        (*params.as_mut_ptr()).width = w;
        (*params.as_mut_ptr()).height = h;
        (*params.as_mut_ptr()).format = ffmpeg::ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32;
        (*params.as_mut_ptr()).codec_tag = u32::from_le_bytes(*tag);
    }
    let mut stream = out.add_stream(ffmpeg::codec::Id::None).unwrap();
    stream.set_parameters(params);
    stream.set_time_base((1, 25));
    out.write_header().unwrap();
    for i in 0..5 {
        let mut packet = ffmpeg::Packet::copy(&[0x42u8; 64]);
        packet.set_pts(Some(i));
        packet.set_dts(Some(i));
        packet.set_stream(0);
        packet.write_interleaved(&mut out).unwrap();
    }
    out.write_trailer().unwrap();
}

#[test]
fn an_undecodable_codec_and_a_huge_picture_are_named_and_skipped() {
    let (dir, tiles) = video_dir(&[30, 30]);
    // H.266 (VVC): Debian 12's FFmpeg knows the name but has no decoder.
    write_declared_video(
        &tiles.join("vvc.nut"),
        ffmpeg_next::codec::Id::VVC,
        b"vvc1",
        640,
        360,
    );
    // Raw video claiming 17,000 × 9,000 pixels (FFmpeg itself refuses 268 M pixels and up).
    write_declared_video(
        &tiles.join("huge.nut"),
        ffmpeg_next::codec::Id::RAWVIDEO,
        b"I420",
        17_000,
        9_000,
    );
    let out = dir.path().join("lib.tlib");
    let report = bake_dir(&tiles, &out);
    let reason = |name: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.path == name)
            .unwrap_or_else(|| panic!("{name} not named in {:?}", report.skipped))
            .reason
            .clone()
    };
    assert!(
        reason("vvc.nut").contains("no decoder"),
        "{}",
        reason("vvc.nut")
    );
    assert!(
        reason("huge.nut").contains("larger than"),
        "{}",
        reason("huge.nut")
    );
    assert_eq!(report.clips, 2);
}

#[test]
fn a_phone_video_turned_on_its_side_is_baked_upright() {
    let (dir, tiles) = video_dir(&[24]);
    let out = dir.path().join("upright.tlib");
    bake_dir(&tiles, &out);
    // The same pictures, tagged as a phone held upright tags them: `ffprobe` reports the
    // file as `rotation=-90` (players turn it 90° clockwise). The MP4 muxer stores the
    // matrix FFmpeg's helper makes for +90 that way.
    let turned = dir.path().join("turned");
    std::fs::create_dir(&turned).unwrap();
    let times: Vec<f64> = (0..24).map(|i| i as f64 / FPS as f64).collect();
    common::remux(
        &tiles.join("shots.mp4"),
        &turned.join("phone.mp4"),
        &times,
        Some(90.0),
    );
    let out_turned = dir.path().join("turned.tlib");
    bake_dir(&turned, &out_turned);
    let page = |lib: &Path| {
        let lib = Library::open(lib).unwrap();
        let level = lib.max_level();
        let mut px = vec![0u8; tessera::library::page_bytes(level)];
        lib.read_frames(0, 0, 1, level, &mut px).unwrap();
        image::RgbaImage::from_raw(1 << level, 1 << level, px).unwrap()
    };
    let (upright, turned) = (page(&out), page(&out_turned));
    let rotated = image::imageops::rotate90(&upright);
    let diff =
        |a: &image::RgbaImage, b: &image::RgbaImage| common::compare(a.as_raw(), b.as_raw()).0;
    assert!(
        diff(&turned, &rotated) < 3.0,
        "turned: {}",
        diff(&turned, &rotated)
    );
    assert!(
        diff(&turned, &upright) > 10.0,
        "the tag must change the picture"
    );
}

/// `--fit pad` on video: a 5:3 frame in a square tile is whole, between black bars above
/// and below (32×19 of picture in 32×32); cropped, the picture fills the tile.
#[test]
fn a_padded_video_frame_is_whole_between_black_bars() {
    let (dir, tiles) = video_dir(&[12]);
    let top_page = |fit: TileFit| {
        let out = dir.path().join(format!("{fit}.tlib"));
        let mut opts = options(&tiles, &out);
        opts.params.tile_fit = fit;
        bake(&opts).unwrap_or_else(|e| panic!("{e:#}"));
        let lib = Library::open(&out).unwrap();
        let level = lib.max_level();
        let mut px = vec![0u8; tessera::library::page_bytes(level)];
        lib.read_frames(0, 0, 1, level, &mut px).unwrap();
        image::RgbaImage::from_raw(1 << level, 1 << level, px).unwrap()
    };
    let black = |p: &image::Rgba<u8>| p.0[..3].iter().all(|&c| c < 8);
    let row_black = |page: &image::RgbaImage, y: u32| (0..32).all(|x| black(page.get_pixel(x, y)));
    let padded = top_page(TileFit::Pad);
    for y in (0..6).chain(26..32) {
        assert!(row_black(&padded, y), "row {y} of the padded tile");
    }
    for y in 7..25 {
        assert!(!row_black(&padded, y), "row {y} is picture");
    }
    let cropped = top_page(TileFit::Crop);
    assert!((0..32).all(|y| !row_black(&cropped, y)));
}
