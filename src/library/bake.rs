//! `tessera bake`: a folder of pictures becomes a library of tile pyramids.
//!
//! Sources are decoded in parallel (rayon) in small batches; one writer appends each batch
//! to the store and checkpoints its journal, so an interruption loses at most one batch.
//! A library grows: tile ids never change. Unchanged sources (same path, size, mtime) keep
//! their tiles; new ones are appended; removed or changed ones are retired (their id is
//! never reused, so mosaics matched earlier still open unless they use one). A re-bake that
//! changes nothing writes nothing.

use super::pyramid::{build_shaped_pyramid, LinearTile};
use super::shard::Shard;
use super::signature::tile_signature_in;
use super::store::{
    Manifest, SkippedSource, SourceKey, StoreError, StoreParams, StoreWriter, TileEntry,
};
use crate::video::shots::ShotOptions;
use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
/// What to bake, and where.
pub struct BakeOptions {
    /// The folder of pictures and videos (searched recursively).
    pub tiles_dir: PathBuf,
    /// The library folder to write (made, or brought up to date).
    pub out: PathBuf,
    /// Page and signature shape (fixed for a library's life).
    pub params: StoreParams,
    /// Discard what the library holds and bake everything again (new tile ids).
    pub rebuild: bool,
    /// Where the bake shows how far it is (its length is set once the sources are
    /// counted); `None` for no progress display.
    pub progress: Option<indicatif::ProgressBar>,
    /// How videos are cut into shots (each shot is a clip tile).
    pub shots: ShotOptions,
    /// Bake only this shard of the sources (`None`: all of them); see `Shard`.
    pub shard: Option<Shard>,
}

#[derive(Debug)]
/// What a bake did.
pub struct BakeReport {
    /// Tiles matching can use (retired ones not counted).
    pub tiles: usize,
    /// Tiles baked by this run.
    pub baked: usize,
    /// Tiles kept from the library as it was (their source unchanged).
    pub reused: usize,
    /// Tiles retired by this bake: their picture was removed or changed.
    pub retired: usize,
    /// Files that could not be used, each with the reason.
    pub skipped: Vec<SkippedSource>,
    /// No tile changed since the last bake: nothing was written (beyond an upgrade).
    pub unchanged: bool,
    /// The library was in an older format and was upgraded, every tile id kept.
    pub upgraded: bool,
    /// Clips made by this bake, and the videos they were cut from.
    pub clips: usize,
    /// Videos those clips were cut from.
    pub videos: usize,
    /// Seconds of video decoded by this bake.
    pub video_seconds: f64,
    /// Sources used in part: a video whose decoding stopped early keeps the shots before.
    pub warnings: Vec<SkippedSource>,
}

/// Largest tile side accepted; larger claims are refused before any allocation.
pub const MAX_SOURCE_SIDE: u32 = 32_768;
/// Largest target side accepted (a target is reduced to cells; only memory bounds it).
pub const MAX_TARGET_SIDE: u32 = 65_535;
/// The least a picture may take decoded (`image`'s allocation limit), whatever the
/// machine: a 12,000² RGB photograph (432 MB) fits. See `decode_cap`.
pub const MAX_DECODE_BYTES: u64 = 512 << 20;

/// Most bytes one picture may take decoded on this machine: a quarter of its memory (a
/// 20,000² target takes 1.6 GB; pictures that large are decoded one at a time), and never
/// less than `MAX_DECODE_BYTES`. A decompression bomb claims more than any machine has.
pub fn decode_cap() -> u64 {
    // SAFETY: sysconf only reads system configuration.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let memory = (pages.max(0) as u64).saturating_mul(page.max(0) as u64);
    (memory / 4).max(MAX_DECODE_BYTES)
}
/// Pictures decoding to more than this many bytes are baked one at a time, so a folder of
/// huge pictures takes one picture's memory at a time, not one per thread.
pub const LARGE_DECODE_BYTES: u64 = 64 << 20;

/// Why a picture cannot be used (the file is named by whoever reports it).
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("{0}")]
    /// The file could not be read.
    Io(#[from] std::io::Error),
    #[error("not a picture in a known format")]
    /// Not a format tessera reads.
    Unknown,
    #[error("not a video FFmpeg can read (damaged, or not a video at all)")]
    /// A video FFmpeg cannot read.
    UnreadableVideo,
    #[error("{}", crate::video::NOT_BUILT)]
    /// A video given to a build without FFmpeg.
    VideoNotBuilt,
    #[error("{0}")]
    /// The picture's data is damaged.
    Decode(#[from] image::ImageError),
    #[error("picture has no pixels")]
    /// A picture of no pixels.
    Empty,
    #[error("truncated JPEG (its image data ends early)")]
    /// A JPEG cut short.
    TruncatedJpeg,
    #[error("a {width}×{height} picture takes {} decoded, more than the {} tessera decodes on this machine (a quarter of its memory); shrink it, or use a machine with more memory", human(*needed), human(*cap))]
    /// Decoding it would take more memory than tessera allows itself here.
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes decoding takes.
        needed: u64,
        /// Bytes allowed (a quarter of the machine's memory).
        cap: u64,
    },
}

fn human(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Decodes a tile picture with `image`'s limits, so a decompression bomb is refused, and
/// refuses a truncated JPEG (the decoder would fill the missing part with grey).
pub fn decode_image(path: &Path) -> Result<image::DynamicImage, PictureError> {
    decode_within(path, MAX_SOURCE_SIDE)
}

/// Decodes a target picture: as `decode_image`, up to `MAX_TARGET_SIDE` a side.
pub fn decode_target(path: &Path) -> Result<image::DynamicImage, PictureError> {
    decode_within(path, MAX_TARGET_SIDE)
}

fn decode_within(path: &Path, max_side: u32) -> Result<image::DynamicImage, PictureError> {
    use image::ImageDecoder;
    let cap = decode_cap();
    let reader = open_reader(path, max_side, cap)?;
    let format = reader.format();
    // The size from the header, checked before anything is allocated for the pixels.
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    let needed = decoder.total_bytes();
    if needed > cap {
        return Err(PictureError::TooLarge {
            width,
            height,
            needed,
            cap,
        });
    }
    let img = image::DynamicImage::from_decoder(decoder)?;
    if img.width() == 0 || img.height() == 0 {
        return Err(PictureError::Empty);
    }
    if format == Some(image::ImageFormat::Jpeg) && !jpeg_is_complete(&std::fs::read(path)?) {
        return Err(PictureError::TruncatedJpeg);
    }
    Ok(img)
}

fn open_reader(
    path: &Path,
    max_side: u32,
    max_alloc: u64,
) -> Result<image::ImageReader<std::io::BufReader<std::fs::File>>, PictureError> {
    let mut reader = image::ImageReader::open(path)?.with_guessed_format()?;
    if reader.format().is_none() {
        return Err(match named_like_a_video(path) {
            true if cfg!(feature = "video") => PictureError::UnreadableVideo,
            true => PictureError::VideoNotBuilt,
            false => PictureError::Unknown,
        });
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(max_alloc);
    reader.limits(limits);
    Ok(reader)
}

/// Bytes a picture takes decoded at 4 bytes a pixel, from its header alone.
fn decoded_bytes(path: &Path) -> Result<u64, PictureError> {
    let (w, h) = open_reader(path, MAX_SOURCE_SIDE, decode_cap())?.into_dimensions()?;
    Ok(w as u64 * h as u64 * 4)
}

/// Whether a JPEG's data runs to its end-of-image marker. The marker segments before the
/// first scan are walked by their lengths (an EXIF thumbnail inside one has markers of its
/// own); after the scan starts, `FF D9` can only be the end of the image, since entropy-coded
/// data escapes every `FF` byte.
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return false;
    }
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return false;
        }
        let marker = bytes[at + 1];
        match marker {
            0xFF => at += 1, // fill byte
            0xD8 | 0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 => return true,
            _ => {
                let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
                if marker == 0xDA {
                    let scan = (at + 2 + len).min(bytes.len());
                    return bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9]);
                }
                at += 2 + len;
            }
        }
    }
    false
}

/// What a tiles folder holds.
pub struct Scan {
    /// Every regular, non-hidden file, sorted, with its reuse key.
    pub sources: Vec<(PathBuf, SourceKey)>,
    /// Entries that could not be read (a symbolic link loop, no permission).
    pub skipped: Vec<SkippedSource>,
}

/// Why a bake stopped.
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    #[error("{}: tiles folder not found (pass a folder of pictures with --tiles)", .0.display())]
    /// The tiles folder is not there.
    NoTilesFolder(PathBuf),
    #[error("{}: {error}", path.display())]
    /// A source could not be listed or read.
    Source {
        /// The source.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    #[error(transparent)]
    /// The library could not be read or written.
    Store(#[from] StoreError),
    #[error("{}: no usable picture or video found ({skipped} files skipped); point --tiles at a folder of pictures (JPEG, PNG, WebP, BMP, TIFF, GIF) or videos (MP4, MKV, MOV, WebM, MPEG …)", dir.display())]
    /// The folder holds nothing usable.
    NothingUsable {
        /// The tiles folder.
        dir: PathBuf,
        /// Files skipped in it.
        skipped: usize,
    },
    #[error("{}: interrupted", .0.display())]
    /// The caller asked to stop while this video was baking (what was committed stays).
    Interrupted(PathBuf),
    #[error("{}: holds {} of its tiles folder, not {}; pass {}, or --rebuild to start over", path.display(), shard_name(.was), shard_name(.now), shard_flag(.was))]
    /// The library holds another shard of its folder than this bake was asked for.
    ShardDiffers {
        /// The library.
        path: PathBuf,
        /// What it holds.
        was: Option<Shard>,
        /// What this bake was asked for.
        now: Option<Shard>,
    },
}

fn shard_name(shard: &Option<Shard>) -> String {
    match shard {
        Some(s) => format!("shard {s}"),
        None => "all".into(),
    }
}

fn shard_flag(shard: &Option<Shard>) -> String {
    match shard {
        Some(s) => format!("--shard {s}"),
        None => "no --shard".into(),
    }
}

/// Scans `dir` recursively for tile sources.
pub fn scan_sources(dir: &Path) -> Result<Scan, BakeError> {
    if !dir.is_dir() {
        return Err(BakeError::NoTilesFolder(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !(is_hidden(e) || is_tessera_output(e)))
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| relative_path(dir, p))
                    .unwrap_or_else(|| "?".into());
                let reason = if e.loop_ancestor().is_some() {
                    "symbolic link loop".to_string()
                } else {
                    e.io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string())
                };
                skipped.push(SkippedSource { path, reason });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let key = source_key(dir, entry.path()).map_err(|error| BakeError::Source {
            path: entry.path().to_path_buf(),
            error,
        })?;
        out.push((entry.path().to_path_buf(), key));
    }
    Ok(Scan {
        sources: out,
        skipped,
    })
}

fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with('.')
}

/// tessera's own files inside a tiles folder (a library baked into it, a mosaic matched
/// there): never sources, and not worth a warning on every bake.
fn is_tessera_output(entry: &walkdir::DirEntry) -> bool {
    use super::store::{JOURNAL_FILE, LOCK_FILE};
    let path = entry.path();
    if entry.file_type().is_dir() {
        path.join(LOCK_FILE).exists() || path.join(JOURNAL_FILE).exists()
    } else {
        path.extension().is_some_and(|e| e == "mosaic")
    }
}

/// How a library names the source at `path` under the tiles folder `root`: its relative
/// path, size and modification time (a change to any of them makes it a new source).
pub fn source_key(root: &Path, path: &Path) -> std::io::Result<SourceKey> {
    let meta = std::fs::metadata(path)?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Ok(SourceKey {
        path: relative_path(root, path),
        size: meta.len(),
        mtime_ns,
    })
}

fn relative_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// A tile's pages and signature, made from one picture.
pub fn bake_tile(image: &image::DynamicImage, params: StoreParams) -> (Vec<Vec<u8>>, Vec<f32>) {
    let aspect = params.tile_aspect;
    let top = LinearTile::from_image_shaped(image, params.max_tile, aspect, params.tile_fit);
    let signature = tile_signature_in(&top, params.grid, aspect.extent(params.max_tile));
    (
        build_shaped_pyramid(&top, top.to_srgb8(), aspect),
        signature,
    )
}

/// Decodes and bakes one picture; pictures too large to decode several at once take turns.
fn bake_file(path: &Path, params: StoreParams) -> Result<(Vec<Vec<u8>>, Vec<f32>), PictureError> {
    static LARGE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = (decoded_bytes(path)? > LARGE_DECODE_BYTES)
        .then(|| LARGE.lock().unwrap_or_else(|e| e.into_inner()));
    let img = decode_image(path)?;
    Ok(bake_tile(&img, params))
}

/// Bakes `opts.tiles_dir` into the library at `opts.out`, resuming an interrupted bake and
/// keeping the tiles of unchanged sources.
pub fn bake(opts: &BakeOptions) -> Result<BakeReport, BakeError> {
    let Scan {
        mut sources,
        mut skipped,
    } = scan_sources(&opts.tiles_dir)?;
    let folder_sources = sources.len();
    if let Some(shard) = opts.shard {
        sources.retain(|(_, key)| shard.takes(&key.path));
        skipped.retain(|s| shard.takes(&s.path));
    }
    for s in &skipped {
        tracing::warn!("skipping {}: {}", s.path, s.reason);
    }
    let existed = opts.out.exists();
    let mut writer = StoreWriter::open(&opts.out, opts.params, opts.rebuild)?;
    if let Some(m) = writer.committed() {
        if m.shard != opts.shard {
            return Err(BakeError::ShardDiffers {
                path: opts.out.clone(),
                was: m.shard,
                now: opts.shard,
            });
        }
    }
    writer.set_shard(opts.shard);

    let present: HashSet<&SourceKey> = sources.iter().map(|(_, k)| k).collect();
    let Reconciled {
        mut tiles,
        kept,
        retired,
        revived,
    } = reconcile(writer.committed(), &present);
    let reused = kept.len();
    let todo: Vec<&(PathBuf, SourceKey)> =
        sources.iter().filter(|(_, k)| !kept.contains(k)).collect();
    tracing::info!(
        "{reused} sources keep their tiles, {} new, {retired} retired",
        todo.len()
    );

    let bar = progress(&opts.progress, todo.len());
    let mut baked = 0;
    let mut video = VideoTally::default();
    // Sources in path order: runs of pictures baked in parallel, videos one at a time
    // (FFmpeg decodes each on every core). While one batch of pictures is written, the
    // next is baked: writing is one thread's work, and would leave the other cores idle.
    let kinds: Vec<bool> = todo.par_iter().map(|(p, _)| looks_like_video(p)).collect();
    let batch = (rayon::current_num_threads() * 4).max(8);
    // Tiles an interrupted bake journaled, by source: their pages are on disk already.
    let journaled = writer.appended_by_source();
    let pictures_from = |at: usize| {
        let end = (at..todo.len())
            .take(batch)
            .find(|&i| kinds[i])
            .unwrap_or((at + batch).min(todo.len()));
        (at < todo.len() && !kinds[at]).then_some(at..end)
    };
    let bake_pictures = |range: std::ops::Range<usize>| -> Vec<Picture> {
        todo[range]
            .par_iter()
            .map(|(path, key)| match journaled.get(key) {
                Some(tiles) => Picture::Journaled(tiles.clone()),
                None => match bake_file(path, opts.params) {
                    Ok((levels, signature)) => Picture::Baked(levels, signature),
                    Err(reason) => Picture::Failed(reason),
                },
            })
            .collect()
    };
    let mut ahead: Option<Vec<Picture>> = None;
    let mut at = 0;
    while at < todo.len() {
        let Some(range) = pictures_from(at) else {
            let (path, key) = todo[at];
            bake_one_video(
                path,
                key,
                &mut writer,
                opts,
                &bar,
                &mut tiles,
                &mut skipped,
                &mut video,
            )?;
            bar.inc(1);
            at += 1;
            continue;
        };
        let end = range.end;
        let results = ahead.take().unwrap_or_else(|| bake_pictures(range.clone()));
        let write = || -> Result<(), BakeError> {
            for ((path, key), result) in todo[range].iter().zip(results) {
                match result {
                    Picture::Journaled(journaled) => tiles.extend(journaled),
                    Picture::Baked(levels, signature) => {
                        baked += 1;
                        tiles.push(writer.append_still(key.clone(), &levels, signature)?);
                    }
                    Picture::Failed(reason) => {
                        bar.suspend(|| tracing::warn!("skipping {}: {reason}", path.display()));
                        skipped.push(SkippedSource {
                            path: key.path.clone(),
                            reason: reason.to_string(),
                        });
                    }
                }
                bar.inc(1);
            }
            Ok(writer.checkpoint()?)
        };
        let (written, next) = rayon::join(write, || pictures_from(end).map(bake_pictures));
        written?;
        ahead = next;
        at = end;
    }
    bar.finish_and_clear();
    baked += video.clips;

    let active = tiles.iter().filter(|t| !t.retired).count();
    // A shard may hold nothing (more shards than sources, or only damaged ones): it is
    // still a shard, and merges to nothing.
    if active == 0 && opts.shard.is_none() {
        drop(writer);
        if !existed {
            let _ = std::fs::remove_dir_all(&opts.out);
        }
        return Err(BakeError::NothingUsable {
            dir: opts.tiles_dir.clone(),
            skipped: skipped.len(),
        });
    }
    if active == 0 {
        tracing::warn!(
            "shard {} holds none of the {folder_sources} files of {}",
            opts.shard.expect("sharded"),
            opts.tiles_dir.display()
        );
    }
    let unchanged = is_unchanged(writer.committed(), tiles.len(), retired, revived, &skipped);
    let report = BakeReport {
        tiles: active,
        baked,
        reused,
        retired,
        skipped: skipped.clone(),
        unchanged,
        upgraded: writer.upgraded(),
        clips: video.clips,
        videos: video.videos,
        video_seconds: video.seconds,
        warnings: video.warnings,
    };
    if unchanged {
        writer.abandon()?;
    } else {
        writer.commit(tiles, skipped, opts.tiles_dir.display().to_string())?;
    }
    Ok(report)
}

/// Whether a file's extension is a video container's (what its owner meant it to be).
fn named_like_a_video(path: &Path) -> bool {
    const EXTENSIONS: &[&str] = &[
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "mts", "flv",
        "wmv", "ogv", "3gp", "mxf", "nut", "y4m", "h264", "hevc", "264", "265",
    ];
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether a source is a video: not a picture `image` recognises, and read by FFmpeg as a
/// video container or stream.
fn looks_like_video(path: &Path) -> bool {
    let picture = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .is_ok_and(|r| r.format().is_some());
    !picture && super::clips::is_video(path)
}

/// A picture of a batch, baked (or found journaled, or refused) ahead of being written.
enum Picture {
    Journaled(Vec<TileEntry>),
    Baked(Vec<Vec<u8>>, Vec<f32>),
    Failed(PictureError),
}

/// What the videos of one bake made.
#[derive(Default)]
struct VideoTally {
    clips: usize,
    videos: usize,
    seconds: f64,
    warnings: Vec<SkippedSource>,
}

/// Bakes one video source into clip tiles (resuming after the shots an interrupted bake
/// journaled), or names it skipped.
#[allow(clippy::too_many_arguments)]
fn bake_one_video(
    path: &Path,
    key: &SourceKey,
    writer: &mut StoreWriter,
    opts: &BakeOptions,
    bar: &indicatif::ProgressBar,
    tiles: &mut Vec<TileEntry>,
    skipped: &mut Vec<SkippedSource>,
    tally: &mut VideoTally,
) -> Result<(), BakeError> {
    use super::clips::{bake_video, VideoError};
    let name = key.path.clone();
    let journaled = writer.appended_from(key);
    let progress = |t: f64, length: f64| {
        bar.set_message(format!("{name} {t:.0}/{length:.0} s"));
        std::ops::ControlFlow::Continue(())
    };
    match bake_video(path, key, writer, journaled, opts.shots, progress) {
        Ok(done) => {
            if let Some(w) = done.warning {
                bar.suspend(|| tracing::warn!("{}: {w}", path.display()));
                tally.warnings.push(SkippedSource {
                    path: key.path.clone(),
                    reason: w,
                });
            }
            tally.clips += done.baked;
            tally.videos += 1;
            tally.seconds += done.seconds;
            tiles.extend(done.tiles);
        }
        Err(VideoError::Source(reason)) => {
            bar.suspend(|| tracing::warn!("skipping {}: {reason}", path.display()));
            skipped.push(SkippedSource {
                path: key.path.clone(),
                reason,
            });
        }
        Err(VideoError::Store(e)) => return Err(e.into()),
        Err(VideoError::Interrupted) => return Err(BakeError::Interrupted(path.to_path_buf())),
    }
    bar.set_message("baking");
    Ok(())
}

/// The caller's progress bar (or a hidden one), its length set to `steps`.
pub(crate) fn progress(
    bar: &Option<indicatif::ProgressBar>,
    steps: usize,
) -> indicatif::ProgressBar {
    let bar = bar.clone().unwrap_or_else(indicatif::ProgressBar::hidden);
    bar.set_length(steps as u64);
    bar
}

/// A library's tiles brought up to date with the sources present now: every tile stays, in
/// id order, retired unless its source is present; a retired tile whose source returned
/// unchanged comes back.
pub(crate) struct Reconciled {
    /// The library's tiles, each retired or not.
    pub tiles: Vec<TileEntry>,
    /// Sources that keep their tiles (nothing to bake or copy for them).
    pub kept: HashSet<SourceKey>,
    /// Tiles retired now.
    pub retired: usize,
    /// Retired tiles that came back.
    pub revived: usize,
}

/// `committed`'s tiles reconciled with the sources `present` now (see `Reconciled`).
pub(crate) fn reconcile(committed: Option<&Manifest>, present: &HashSet<&SourceKey>) -> Reconciled {
    let previous = committed.map(|m| m.tiles.as_slice()).unwrap_or_default();
    let mut out = Reconciled {
        tiles: Vec::with_capacity(previous.len() + present.len()),
        kept: HashSet::new(),
        retired: 0,
        revived: 0,
    };
    for tile in previous {
        // A video source has a tile per shot: all of them stay or go together.
        let here = present.contains(&tile.source);
        if here {
            out.kept.insert(tile.source.clone());
        }
        if tile.retired == here {
            if here {
                out.revived += 1;
            } else {
                out.retired += 1;
            }
        }
        out.tiles.push(TileEntry {
            retired: !here,
            ..tile.clone()
        });
    }
    out
}

/// Whether a bake or merge leaves the library as committed: the same tiles, none retired
/// or revived, the same files skipped. Such a run writes nothing.
pub(crate) fn is_unchanged(
    committed: Option<&Manifest>,
    tiles: usize,
    retired: usize,
    revived: usize,
    skipped: &[SkippedSource],
) -> bool {
    committed.is_some_and(|m| {
        m.tiles.len() == tiles
            && retired == 0
            && revived == 0
            && skipped_paths(&m.skipped) == skipped_paths(skipped)
    })
}

fn skipped_paths(s: &[SkippedSource]) -> Vec<&str> {
    let mut v: Vec<&str> = s.iter().map(|s| s.path.as_str()).collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_is_complete_only_with_its_end_marker_after_the_scan() {
        let img =
            image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
        let mut jpeg = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        assert!(jpeg_is_complete(&jpeg));
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 700, 20] {
            assert!(!jpeg_is_complete(&jpeg[..cut]), "cut at {cut}");
        }
        // Trailing bytes after the end marker (some cameras append data) are fine.
        let mut trailing = jpeg.clone();
        trailing.extend_from_slice(b"trailer");
        assert!(jpeg_is_complete(&trailing));
        assert!(!jpeg_is_complete(b"not a jpeg"));
    }
}
