//! The tile store: a library directory of page records (see `FORMAT.md`).
//!
//! ```text
//! LIB.tlib/
//!   manifest.json            versioned, self-checksummed; the commit point of a bake
//!   signatures-<id>-<gen>.bin per tile: its colour signature (a clip's: over its frames)
//!   frames-LL.bin            small levels (≤ raw_max): record r's page + CRC at r × (stored+4)
//!   stills-LL.bin            larger levels of stills: still s's page + CRC at s × (stored+4)
//!   clips-LL.bin             larger levels of clips: one JPEG blob per clip
//!   bake.journal             only while a bake is under way: tiles appended since the manifest
//!   bake.lock                held (flock) by the bake that is writing, shared by merges reading
//! ```
//!
//! A tile is a still (one frame) or a clip (a run of frames). Every frame is a *record*:
//! records are numbered in bake order and a tile's frames are consecutive records. Every
//! record has a raw page at each small level; above `raw_max`, a still keeps raw pages (so
//! zooming into a photograph shows every pixel as baked) and a clip keeps a JPEG of each
//! frame (raw frames there would be 300 GB for 18,000 clips of 48 frames at 256 px). A raw
//! page is stored as the tile's extent of it (`pack_page`): the whole page for square tiles,
//! 64×36 of 64×64 for 16:9.
//!
//! Pages are only ever appended past what the manifest names, so the committed manifest
//! stays valid while a bake runs; the new manifest is written to a temporary file and
//! renamed over the old one, the single atomic step that publishes a bake. Version 1
//! libraries (stills, one CRC table) are read as they are and upgraded by the next bake.

mod lock;
mod proxy;
mod read;
mod v1;
mod write;

pub use lock::ReadLock;
pub use read::{Clip, Library};
pub use write::StoreWriter;

use super::aspect::{TileAspect, TileFit};
use super::pyramid::{level_count, page_bytes};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

pub const FORMAT_NAME: &str = "tessera-library";
pub const FORMAT_VERSION: u32 = 3;
pub const MANIFEST_FILE: &str = "manifest.json";
pub const JOURNAL_FILE: &str = "bake.journal";
pub const LOCK_FILE: &str = "bake.lock";
/// Bytes after each raw page: its CRC-32, little-endian.
pub const PAGE_CRC_BYTES: usize = 4;
/// The default largest page side kept raw for every frame of a clip.
pub const DEFAULT_RAW_MAX: u32 = 64;
/// The default rate clips are sampled at and play at.
pub const DEFAULT_CLIP_FPS: u32 = 12;

#[derive(Debug, thiserror::Error)]
/// What went wrong with a library on disk, naming it and what to do.
pub enum StoreError {
    #[error("{path}: {error}")]
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    #[error("{0}: not a tessera library (no manifest.json); bake one with `tessera bake --tiles DIR -o {0}`")]
    /// The folder has no manifest.
    NotALibrary(PathBuf),
    #[error("{0}: bake was interrupted before its first commit; re-run the same `tessera bake` to resume it")]
    /// A bake stopped before its first commit.
    Incomplete(PathBuf),
    #[error("{path}: library format version {found}, which this tessera does not read (it reads 1, 2 with square tiles, and {FORMAT_VERSION}); use the tessera that baked it, or re-bake it with `tessera bake --rebuild`")]
    /// A format version this tessera does not read.
    Version {
        /// The library.
        path: PathBuf,
        /// The version it has.
        found: u32,
    },
    #[error("{path}: {what}; the library is damaged: re-bake it with `tessera bake --rebuild`")]
    /// A file fails its checks (size, CRC, manifest).
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    #[error("{path}: another `tessera bake`{} is writing this library (or a `tessera merge` is reading it); wait for it to end, or stop it", by_process(.holder))]
    /// Another bake holds the library's lock.
    Locked {
        /// The library.
        path: PathBuf,
        /// The process that holds the lock, when the lock file names it.
        holder: Option<u32>,
    },
    #[error(
        "{path}: exists and is not a tessera library; choose another output path or remove it"
    )]
    /// The path exists and is not a library.
    NotOurs {
        /// What is there.
        path: PathBuf,
    },
    #[error("{path}: was baked with {what}; pass the same options, or --rebuild to start over")]
    /// The library was baked with other parameters.
    ParamsDiffer {
        /// The library.
        path: PathBuf,
        /// The parameters it was baked with.
        what: String,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Store parameters that make no library.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("tile size {0} is not a power of two up to 4096")]
    TileSize(u32),
    #[error("raw size {raw} is not a power of two up to the tile size {tile}")]
    RawSize { raw: u32, tile: u32 },
    #[error("signature grid {0} is not 1..=16")]
    Grid(u32),
    #[error("clip rate {0} fps is not 1..=240")]
    ClipRate(u32),
}

/// " (process N)", naming the holder of a lock when it is known.
fn by_process(holder: &Option<u32>) -> String {
    holder
        .map(|pid| format!(" (process {pid})"))
        .unwrap_or_default()
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// What identifies a tile source for reuse: re-baking skips sources whose key is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceKey {
    /// Path relative to the tiles folder (or a synthetic name).
    pub path: String,
    /// File size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
}

/// Where in a video source a clip was cut: its shot number and span, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub index: u32,
    pub start: f64,
    pub end: f64,
}

/// One tile of the library. A tile's id is its index in the manifest's list, fixed for the
/// library's life: new tiles are appended, and a tile whose source was removed or changed
/// is *retired* (kept, with its pages, so older mosaics' ids stay meaningful, but never
/// matched again).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TileEntry {
    #[serde(flatten)]
    /// The source it was baked from.
    pub source: SourceKey,
    /// The shot of a video source this clip was cut from (absent for pictures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot: Option<Shot>,
    /// Its first frame's record; frames are consecutive records.
    pub first_record: u32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    /// Frames (1 for a still).
    pub frames: u32,
    /// The frame shown when clips are still (its most typical frame).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub key: u32,
    /// A still's index in the large-level files (`stills-LL.bin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still: Option<u32>,
    /// A clip's JPEG blob per large level, `[offset, length]` in `clips-LL.bin`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy: Vec<[u64; 2]>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    /// Its source was removed or changed: kept for older mosaics, never matched again.
    pub retired: bool,
}

fn one() -> u32 {
    1
}
fn is_one(v: &u32) -> bool {
    *v == 1
}
fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl TileEntry {
    /// Whether the tile is a clip (more than one frame).
    pub fn is_clip(&self) -> bool {
        self.frames > 1
    }
}

/// One frame of a clip, ready to append: its raw pages at the small levels and its large
/// levels as JPEG. Made as soon as the frame is decoded, so the encoding overlaps decoding.
#[derive(Clone, Debug)]
pub struct ClipFrame {
    /// Raw pages of the small levels, level 0 first.
    pub raw: Vec<Vec<u8>>,
    /// The large levels as JPEG, smallest first.
    pub jpeg: Vec<Vec<u8>>,
}

impl ClipFrame {
    /// Splits a frame's pyramid (`pyramid[l]` is level l) for a library of `params`.
    pub fn new(mut pyramid: Vec<Vec<u8>>, params: &StoreParams) -> ClipFrame {
        assert_eq!(pyramid.len(), params.levels());
        let large = pyramid.split_off(params.raw_levels());
        let first_large = params.raw_levels();
        let jpeg = large
            .iter()
            .enumerate()
            .map(|(i, page)| proxy::encode_jpeg(page, 1 << (first_large + i)))
            .collect();
        ClipFrame { raw: pyramid, jpeg }
    }
}

/// A tile's pages as a library stores them, moved between libraries without decoding
/// anything (`Library::tile_pages` reads them, checked; `StoreWriter::append_pages` writes).
#[derive(Clone, Debug)]
pub struct TilePages {
    /// Per small level, every frame's raw page, back to back.
    pub raw: Vec<Vec<u8>>,
    /// Per large level: a still's raw page, or a clip's blob of JPEG frames.
    pub large: Vec<Vec<u8>>,
}

impl TilePages {
    /// Bytes of pages it holds.
    pub fn bytes(&self) -> u64 {
        self.raw
            .iter()
            .chain(&self.large)
            .map(|p| p.len() as u64)
            .sum()
    }
}

/// A file a bake could not use, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedSource {
    /// Its path, relative to the tiles folder.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Shape of a library's pages and signatures; fixed for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreParams {
    /// Side of the finest page (a power of two).
    pub max_tile: u32,
    /// Signature grid: `grid × grid` CIELAB sub-cells per tile.
    pub grid: u32,
    /// Largest page side kept raw for every frame; larger levels of clips are JPEG.
    pub raw_max: u32,
    /// Frames per second clips are sampled at, and play at.
    pub clip_fps: u32,
    /// The tiles' width to height (absent from the manifest when 1:1, as before there was
    /// a choice).
    #[serde(default, skip_serializing_if = "TileAspect::is_square")]
    pub tile_aspect: TileAspect,
    /// How pictures of another shape became tiles (absent when cropped, the default).
    #[serde(default, skip_serializing_if = "TileFit::is_crop")]
    pub tile_fit: TileFit,
}

impl StoreParams {
    /// A library of `max_tile` pages and `grid` signatures, other settings default.
    pub const fn new(max_tile: u32, grid: u32) -> StoreParams {
        StoreParams {
            max_tile,
            grid,
            raw_max: if max_tile < DEFAULT_RAW_MAX {
                max_tile
            } else {
                DEFAULT_RAW_MAX
            },
            clip_fps: DEFAULT_CLIP_FPS,
            tile_aspect: TileAspect::SQUARE,
            tile_fit: TileFit::Crop,
        }
    }
    /// Levels per tile: `log2(max_tile) + 1`.
    pub fn levels(&self) -> usize {
        level_count(self.max_tile)
    }
    /// Levels kept raw for every frame: `0..raw_levels`. The rest are "large levels".
    pub fn raw_levels(&self) -> usize {
        level_count(self.raw_max.min(self.max_tile))
    }
    /// The options that bake a library of these parameters, as `bake` spells them.
    pub fn flags(&self) -> String {
        format!(
            "--max-tile {} --grid {} --raw-max {} --tile-fps {} --tile-aspect {} --fit {}",
            self.max_tile, self.grid, self.raw_max, self.clip_fps, self.tile_aspect, self.tile_fit
        )
    }
    /// The texels a tile fills of each level's page (`TileAspect::extents`).
    pub fn extents(&self) -> Vec<[u32; 2]> {
        self.tile_aspect.extents(self.levels())
    }
    /// Floats in one signature.
    pub fn sig_len(&self) -> usize {
        super::signature::signature_len(self.grid)
    }
    /// Checks the parameters make a library: sizes powers of two, a grid that fits.
    pub fn validate(&self) -> std::result::Result<(), ParamsError> {
        if !self.max_tile.is_power_of_two() || self.max_tile > 4096 {
            return Err(ParamsError::TileSize(self.max_tile));
        }
        if !self.raw_max.is_power_of_two() || self.raw_max > self.max_tile {
            return Err(ParamsError::RawSize {
                raw: self.raw_max,
                tile: self.max_tile,
            });
        }
        if !(1..=16).contains(&self.grid) {
            return Err(ParamsError::Grid(self.grid));
        }
        if !(1..=240).contains(&self.clip_fps) {
            return Err(ParamsError::ClipRate(self.clip_fps));
        }
        Ok(())
    }
}

impl StoreParams {
    /// The texels of a raw page its file keeps at `level`: the tile's extent (the whole
    /// page for square tiles), `[width, height]`.
    pub fn stored_extent(&self, level: usize) -> [u32; 2] {
        self.tile_aspect.extent_at(level, self.levels())
    }
    /// Bytes a raw page takes in its file: its extent's texels and its CRC.
    pub fn record_stride(&self, level: usize) -> u64 {
        record_bytes(self.stored_extent(level)) as u64
    }
}

/// Bytes of the texels of a stored page of `extent`.
pub(crate) fn stored_bytes([w, h]: [u32; 2]) -> usize {
    w as usize * h as usize * 4
}

/// Bytes a stored page of `extent` takes in its file: its texels and their CRC.
pub(crate) fn record_bytes(extent: [u32; 2]) -> usize {
    stored_bytes(extent) + PAGE_CRC_BYTES
}

/// A page of `level` as its file keeps it (`StoreParams::stored_extent`): the extent's rows,
/// appended to `out`.
pub(crate) fn pack_page(page: &[u8], level: usize, [w, h]: [u32; 2], out: &mut Vec<u8>) {
    if (w, h) == (1 << level, 1 << level) {
        return out.extend_from_slice(page);
    }
    let stride = 4 << level;
    for row in page.chunks_exact(stride).take(h as usize) {
        out.extend_from_slice(&row[..w as usize * 4]);
    }
}

/// A page of `level` from its extent's rows (`pack_page`) into `page`, the rest repeating
/// the extent's last column and row as the pyramid made it (`LinearTile::repeat_edges`).
pub(crate) fn unpack_page(stored: &[u8], level: usize, [w, h]: [u32; 2], page: &mut [u8]) {
    let (side, w, h) = (1usize << level, w as usize, h as usize);
    if (w, h) == (side, side) {
        return page.copy_from_slice(stored);
    }
    let stride = side * 4;
    for (y, row) in page.chunks_exact_mut(stride).enumerate() {
        if y < h {
            let (inside, beyond) = row.split_at_mut(w * 4);
            inside.copy_from_slice(&stored[y * w * 4..][..w * 4]);
            let last: [u8; 4] = inside[inside.len() - 4..].try_into().expect("a texel");
            beyond
                .as_chunks_mut::<4>()
                .0
                .iter_mut()
                .for_each(|t| *t = last);
        }
    }
    let (rows, beyond) = page.split_at_mut(h * stride);
    let last = &rows[rows.len() - stride..];
    beyond
        .chunks_exact_mut(stride)
        .for_each(|row| row.copy_from_slice(last));
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Names the library's tile-id space: set by its first bake, kept by every re-bake
    /// (which only appends and retires tiles), new after `--rebuild`. Mosaics remember it.
    pub library_id: String,
    /// Commits so far; names the signatures table of each commit.
    pub generation: u32,
    #[serde(flatten)]
    pub params: StoreParams,
    /// Frame records in the `frames-LL.bin` files.
    pub records: u32,
    /// Still pages in the `stills-LL.bin` files.
    pub stills: u32,
    /// Bytes in use in each `clips-LL.bin`, for the large levels in order.
    pub clip_bytes: Vec<u64>,
    pub signatures_file: String,
    pub signatures_crc32: u32,
    /// Tiles in id order: a first bake's in source-path order, later ones appended.
    pub tiles: Vec<TileEntry>,
    pub skipped: Vec<SkippedSource>,
    /// The folder the tiles came from, as given to `bake`.
    pub tiles_root: String,
    /// The part of that folder a sharded bake took (`bake --shard K/N`); absent for a
    /// whole bake and a merged library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::Shard>,
}

#[derive(Serialize, Deserialize)]
struct ManifestFile {
    manifest: Manifest,
    crc32: u32,
}

fn manifest_crc(m: &Manifest) -> u32 {
    crc32fast::hash(&serde_json::to_vec(m).expect("manifest serialises"))
}

pub fn frames_file_name(level: usize) -> String {
    format!("frames-{level:02}.bin")
}
pub fn stills_file_name(level: usize) -> String {
    format!("stills-{level:02}.bin")
}
pub fn clips_file_name(level: usize) -> String {
    format!("clips-{level:02}.bin")
}

/// A committed manifest as read: a current one (version 3, or a version 2 one of square
/// tiles, whose files are the same), or a version 1 one (with the CRC table that version
/// kept).
pub(crate) enum Committed {
    Current(Manifest),
    V1(v1::V1Library),
}

/// Reads and checks `dir/manifest.json`: format, version, checksum.
pub(crate) fn read_manifest(dir: &Path) -> Result<Committed> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if dir.join(JOURNAL_FILE).exists() {
                StoreError::Incomplete(dir.to_path_buf())
            } else {
                StoreError::NotALibrary(dir.to_path_buf())
            });
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    let corrupt = |what: String| StoreError::Corrupt {
        path: path.clone(),
        what,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("unreadable JSON ({e})")))?;
    if value.pointer("/manifest/format").and_then(|v| v.as_str()) != Some(FORMAT_NAME) {
        return Err(corrupt("not a tessera library manifest".into()));
    }
    let version = value
        .pointer("/manifest/version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    match version {
        1 => v1::read(dir, value).map(Committed::V1),
        // Version 2 kept raw pages whole; version 3 keeps a tile's extent of them, which
        // for square tiles (no `tile_aspect`) is the whole page.
        2 if value.pointer("/manifest/tile_aspect").is_some() => {
            Err(StoreError::Version { path, found: 2 })
        }
        2 | FORMAT_VERSION => {
            let file: ManifestFile = serde_json::from_value(value)
                .map_err(|e| corrupt(format!("bad manifest ({e})")))?;
            if manifest_crc(&file.manifest) != file.crc32 {
                return Err(corrupt("manifest checksum mismatch".into()));
            }
            file.manifest
                .params
                .validate()
                .map_err(|e| corrupt(format!("impossible parameters: {e}")))?;
            Ok(Committed::Current(file.manifest))
        }
        found => Err(StoreError::Version { path, found }),
    }
}

/// Writes `manifest` as the library's commit point: to a temporary file, synced, renamed.
pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let file = ManifestFile {
        crc32: manifest_crc(manifest),
        manifest: manifest.clone(),
    };
    let tmp = dir.join("manifest.json.tmp");
    write_synced(
        &tmp,
        &serde_json::to_vec_pretty(&file).expect("manifest serialises"),
    )?;
    let final_path = dir.join(MANIFEST_FILE);
    fs::rename(&tmp, &final_path).map_err(io_err(&final_path))
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Whether the library at `dir` is in a format this tessera refuses (`StoreError::Version`):
/// from its manifest alone.
pub fn format_refused(dir: &Path) -> bool {
    matches!(read_manifest(dir), Err(StoreError::Version { .. }))
}

/// The parameters a library at `dir` was baked with: from its manifest (one this tessera
/// refuses to read included, so `bake --rebuild` keeps them), or from the journal of an
/// interrupted first bake. `None` where there is no library (or nothing readable).
pub fn existing_params(dir: &Path) -> Option<StoreParams> {
    match read_manifest(dir) {
        Ok(Committed::Current(m)) => return Some(m.params),
        Ok(Committed::V1(v)) => return Some(v.params()),
        Err(StoreError::Version { path, .. }) => {
            let value: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
            return serde_json::from_value(value.get("manifest")?.clone()).ok();
        }
        Err(_) => {}
    }
    write::journal_params(dir)
}

fn serialize_signatures(signatures: &[f32]) -> Vec<u8> {
    signatures.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn parse_signatures(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes(w.try_into().unwrap()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shot times are sums of frame durations (10.000000000000002 s): the manifest's checksum
    /// is of its JSON, so every float must read back to the same bits it was written from.
    #[test]
    fn awkward_shot_times_survive_the_manifest_checksum() {
        let tile = |start: f64, end: f64| TileEntry {
            source: SourceKey {
                path: "v.mp4".into(),
                size: 1,
                mtime_ns: 2,
            },
            shot: Some(Shot {
                index: 0,
                start,
                end,
            }),
            first_record: 0,
            frames: 2,
            key: 0,
            still: None,
            proxy: vec![[0, 1]],
            retired: false,
        };
        let mut tiles = Vec::new();
        let mut t = 0.0;
        for i in 0..2000 {
            let next = t + 1.0 / 29.97 * (1 + i % 7) as f64;
            tiles.push(tile(t, next));
            t = next;
        }
        tiles.push(tile(4.0040000000000004, 10.000000000000002));
        let m = Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            library_id: "x".into(),
            generation: 1,
            params: StoreParams::new(64, 1),
            records: 2,
            stills: 0,
            clip_bytes: vec![],
            signatures_file: "s".into(),
            signatures_crc32: 0,
            tiles,
            skipped: vec![],
            tiles_root: ".".into(),
            shard: None,
        };
        let json = serde_json::to_string(&m).unwrap();
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(manifest_crc(&back), manifest_crc(&m));
    }

    /// A page kept as its extent (`pack_page`) reads back as the pyramid made it, edges
    /// repeated, at every level of square, wide and tall tiles; the file keeps only the
    /// extent's texels.
    #[test]
    fn pages_kept_as_their_extent_read_back_whole() {
        use crate::library::{build_shaped_pyramid, LinearTile};
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let rgba: Vec<u8> = (0..64 * 64 * 4)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for aspect in ["1:1", "16:9", "2:3", "8:1"] {
            let aspect: TileAspect = aspect.parse().unwrap();
            let mut params = StoreParams::new(64, 1);
            params.tile_aspect = aspect;
            let extent = params.stored_extent(6);
            let mut top = LinearTile::from_srgb8(64, &rgba);
            top.repeat_edges(extent);
            let pages = build_shaped_pyramid(&top, top.to_srgb8(), aspect);
            for (level, page) in pages.iter().enumerate() {
                let extent = params.stored_extent(level);
                let mut stored = Vec::new();
                pack_page(page, level, extent, &mut stored);
                assert_eq!(
                    stored.len() as u64 + PAGE_CRC_BYTES as u64,
                    params.record_stride(level)
                );
                assert_eq!(stored.len(), (extent[0] * extent[1] * 4) as usize);
                let mut back = vec![0u8; page.len()];
                unpack_page(&stored, level, extent, &mut back);
                assert!(back == *page, "{aspect} level {level}");
            }
        }
    }
}
