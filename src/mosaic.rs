//! The mosaic file: a match grid (cell → tile id) plus a reference to its library.
//!
//! ```text
//! "TESSMOSC"  u32 LE header length  header JSON  grid: cols × rows u32 LE, row-major
//!             [colours: cols × rows × 3 bytes, sRGB, row-major]
//! ```
//! The colours (since version 2) are the target's cell means, which `--tint` pulls tiles
//! toward; a version 1 file (no colours) still opens, and draws without a tint.
//! The header carries the grid's CRC32, and the library's id and tile count at matching
//! time: a damaged file, a library rebuilt since, or tiles retired since (their pictures
//! removed or changed) are reported instead of drawing the wrong tiles.

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::TileAspect;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first bytes of a mosaic file.
pub const MAGIC: &[u8; 8] = b"TESSMOSC";
/// The version written; every version from 1 up to it is read.
pub const VERSION: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize)]
/// What a mosaic file says besides its grid.
pub struct MosaicHeader {
    /// The file format version.
    pub version: u32,
    /// Cells across.
    pub cols: u32,
    /// Cells down.
    pub rows: u32,
    /// The library directory, relative to the mosaic file's folder (so the two can move
    /// together; files written before `library_absolute` existed hold an absolute path
    /// here when the library was outside that folder).
    pub library: String,
    /// The library directory, absolute (so the mosaic alone can move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_absolute: Option<String>,
    /// The library's id: a mosaic opens only with the library it was matched against.
    pub library_id: String,
    /// Tiles the library had when the grid was matched: every id in the grid is below it.
    pub tile_count: u32,
    /// What the grid was matched from, as it was named to `match` (informational).
    pub target: String,
    /// The target's file, when it is one (see `library` and `library_absolute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_file: Option<FileRef>,
    /// A still target's size in pixels, to tell it from another picture of its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_size: Option<[u32; 2]>,
    /// The tiles' aspect the grid was counted for (absent: 1:1).
    #[serde(default, skip_serializing_if = "TileAspect::is_square")]
    pub tile_aspect: TileAspect,
    /// No tile repeats within this many cells (0: no limit).
    pub repeat_radius: u32,
    /// CRC32 of the grid.
    pub grid_crc32: u32,
    /// Set when the target is a video: the grid above is its first frame's, and the grids
    /// of the others are matched as it plays (see `motion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoTarget>,
    /// Each tile was matched at most this many times (0: no limit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_uses: u32,
    /// Every tile was placed at least once where the grid had room.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_all: bool,
    /// CRC32 of the cell colours that follow the grid, when the file has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colours_crc32: Option<u32>,
}

/// Where a file the mosaic depends on lies: relative to the mosaic file's folder, so the
/// two can move together, and absolute, so the mosaic alone can move.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// Relative to the mosaic file's folder.
    pub relative: String,
    /// Absolute.
    pub absolute: String,
}

impl FileRef {
    /// How the mosaic file at `mosaic_path` names `file` (both paths normalised).
    pub fn new(mosaic_path: &Path, file: &Path) -> FileRef {
        let file = normalised(file);
        FileRef {
            relative: relative_path(&normalised(&folder_of(mosaic_path)), &file)
                .to_string_lossy()
                .into_owned(),
            absolute: file.to_string_lossy().into_owned(),
        }
    }

    /// Where to look, in order: beside the mosaic as recorded, then the absolute path.
    fn candidates(&self, mosaic_path: &Path) -> Vec<PathBuf> {
        places(mosaic_path, &self.relative, Some(&self.absolute))
    }
}

/// The places a file recorded as `relative` (to the mosaic's folder, or absolute in older
/// files) and `absolute` may be, in that order, each once.
fn places(mosaic_path: &Path, relative: &str, absolute: Option<&str>) -> Vec<PathBuf> {
    let mut out = vec![resolve_from(mosaic_path, relative)];
    if let Some(abs) = absolute.map(PathBuf::from) {
        if normalised(&abs) != normalised(&out[0]) {
            out.push(abs);
        }
    }
    out
}

/// A video target, as recorded in the mosaic file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoTarget {
    /// The video, relative to the mosaic file's folder (absolute in files written before
    /// `target_file` existed, when the video was outside that folder). The header's
    /// `target_file` names it both ways.
    pub path: String,
    /// Frames per second as a fraction (30000/1001 for NTSC's 29.97).
    pub fps_num: u32,
    /// Denominator of the frame rate.
    pub fps_den: u32,
    /// Seconds, as the container says.
    pub duration: f64,
    /// Upright frame size.
    pub width: u32,
    /// Upright frame height.
    pub height: u32,
    /// A cell keeps its previous tile unless the new best is more than this many ΔE closer.
    pub stickiness: f32,
}

impl VideoTarget {
    /// Frames per second.
    pub fn fps(&self) -> f64 {
        self.fps_num as f64 / self.fps_den.max(1) as f64
    }
}

#[derive(Clone, Debug)]
/// A mosaic file: its header and grid (tile ids, row-major) and the target's cell colours.
pub struct Mosaic {
    /// Everything but the grid.
    pub header: MosaicHeader,
    /// Tile id per cell, row-major.
    pub grid: Vec<u32>,
    /// The target's mean colour per cell (sRGB, row-major), for `--tint`; `None` in files
    /// matched before version 2.
    pub colours: Option<Vec<[u8; 3]>>,
}

impl Mosaic {
    /// Cells across.
    pub fn cols(&self) -> u32 {
        self.header.cols
    }
    /// Cells down.
    pub fn rows(&self) -> u32 {
        self.header.rows
    }
    /// The tile at cell (`col`, `row`).
    pub fn tile_at(&self, col: u32, row: u32) -> u32 {
        self.grid[(row * self.header.cols + col) as usize]
    }

    /// A mosaic over `library` whose library reference is written relative to `mosaic_path`.
    pub fn new(
        library: &Library,
        mosaic_path: &Path,
        cols: u32,
        rows: u32,
        grid: Vec<u32>,
        target: String,
        repeat_radius: u32,
    ) -> Mosaic {
        assert_eq!(grid.len(), cols as usize * rows as usize);
        let library_ref = FileRef::new(mosaic_path, &library.dir);
        Mosaic {
            header: MosaicHeader {
                version: VERSION,
                cols,
                rows,
                library: library_ref.relative,
                library_absolute: Some(library_ref.absolute),
                library_id: library.manifest.library_id.clone(),
                tile_aspect: library.params().tile_aspect,
                tile_count: library.tile_count(),
                target,
                target_file: None,
                target_size: None,
                repeat_radius,
                grid_crc32: grid_crc(&grid),
                video: None,
                max_uses: 0,
                use_all: false,
                colours_crc32: None,
            },
            grid,
            colours: None,
        }
    }

    /// Records the target picture's file and size in pixels, so that renders never write
    /// over it and `info` measures against it and no other picture.
    pub fn with_target_file(mut self, mosaic_path: &Path, file: &Path, size: (u32, u32)) -> Mosaic {
        self.header.target_file = Some(FileRef::new(mosaic_path, file));
        self.header.target_size = Some([size.0, size.1]);
        self
    }

    /// Records the use limits the grid was matched with.
    pub fn with_use_limits(mut self, max_uses: u32, use_all: bool) -> Mosaic {
        self.header.max_uses = max_uses;
        self.header.use_all = use_all;
        self
    }

    /// Records the target's cell colours (sRGB, row-major) with the grid.
    pub fn with_colours(mut self, colours: Vec<[u8; 3]>) -> Mosaic {
        assert_eq!(colours.len(), self.grid.len());
        self.header.colours_crc32 = Some(crc32fast::hash(colours.as_flattened()));
        self.colours = Some(colours);
        self
    }

    /// Makes this the mosaic of a video target (`video.path` is written relative to
    /// `mosaic_path` where it can be).
    pub fn with_video(mut self, mosaic_path: &Path, mut video: VideoTarget) -> Mosaic {
        let file = FileRef::new(mosaic_path, Path::new(&video.path));
        video.path = file.relative.clone();
        self.header.target_file = Some(file);
        self.header.video = Some(video);
        self
    }

    /// The video target's file: beside the mosaic as recorded, else where it was when
    /// matched; where neither is a file, the first (for the message that it is missing).
    pub fn video_path(&self, mosaic_path: &Path) -> Option<PathBuf> {
        let video = self.header.video.as_ref()?;
        let places = match &self.header.target_file {
            Some(file) => file.candidates(mosaic_path),
            None => places(mosaic_path, &video.path, None),
        };
        let beside = places[0].clone();
        Some(places.into_iter().find(|p| p.is_file()).unwrap_or(beside))
    }

    /// The target's file, where one is found: beside the mosaic as recorded, else where it
    /// was when matched. Files written before the target's place was recorded name it as
    /// `match` was given it: beside the mosaic, else from the current folder.
    pub fn target_path(&self, mosaic_path: &Path) -> Option<PathBuf> {
        let candidates = match &self.header.target_file {
            Some(file) => file.candidates(mosaic_path),
            None => vec![
                resolve_from(mosaic_path, &self.header.target),
                PathBuf::from(&self.header.target),
            ],
        };
        candidates.into_iter().find(|p| p.is_file())
    }

    /// Writes atomically (temporary file + rename; the temporary is removed if writing
    /// fails). Refuses to replace a file that is not a mosaic.
    pub fn save(&self, path: &Path) -> Result<()> {
        if path.exists() && !is_mosaic_file(path) {
            return Err(Error::Mosaic(format!(
                "{}: exists and is not a tessera mosaic; choose another output path or remove it",
                path.display()
            )));
        }
        let header = serde_json::to_vec(&self.header).expect("the header serialises");
        let mut bytes = Vec::with_capacity(12 + header.len() + self.grid.len() * 4);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(bytemuck::cast_slice(&self.grid));
        if let Some(colours) = &self.colours {
            bytes.extend_from_slice(colours.as_flattened());
        }
        crate::fsutil::write_atomically(path, |f| f.write_all(&bytes))
            .map_err(|e| Error::Mosaic(format!("{}: cannot write the mosaic: {e}", path.display())))
    }

    /// Reads and checks the mosaic file at `path`.
    pub fn load(path: &Path) -> Result<Mosaic> {
        let bytes = fs::read(path)
            .map_err(|e| Error::Mosaic(format!("{}: cannot read mosaic: {e}", path.display())))?;
        let bad = |what: &str| {
            Error::Mosaic(format!(
                "{}: {what}; re-create it with `tessera match` (or `tessera bake --target`)",
                path.display()
            ))
        };
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad("not a tessera mosaic"));
        }
        let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let header_bytes = bytes
            .get(12..12 + header_len)
            .ok_or_else(|| bad("truncated header"))?;
        let header: MosaicHeader =
            serde_json::from_slice(header_bytes).map_err(|_| bad("unreadable header"))?;
        if !(1..=VERSION).contains(&header.version) {
            return Err(bad(&format!(
                "format version {} (this tessera reads 1 to {VERSION})",
                header.version
            )));
        }
        let cells = header.cols as usize * header.rows as usize;
        let body = &bytes[12 + header_len..];
        let colour_bytes = if header.colours_crc32.is_some() {
            cells * 3
        } else {
            0
        };
        if header.cols == 0 || header.rows == 0 || body.len() != cells * 4 + colour_bytes {
            return Err(bad("grid size does not match its header (truncated?)"));
        }
        let (body, colour_body) = body.split_at(cells * 4);
        let colours = match header.colours_crc32 {
            Some(crc) if crc32fast::hash(colour_body) != crc => {
                return Err(bad("cell colours checksum mismatch (damaged file)"))
            }
            Some(_) => Some(
                colour_body
                    .chunks_exact(3)
                    .map(|c| [c[0], c[1], c[2]])
                    .collect(),
            ),
            None => None,
        };
        let grid: Vec<u32> = body
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if grid_crc(&grid) != header.grid_crc32 {
            return Err(bad("grid checksum mismatch (damaged file)"));
        }
        if let Some(&t) = grid.iter().find(|&&t| t >= header.tile_count) {
            return Err(bad(&format!(
                "grid names tile {t} of {}",
                header.tile_count
            )));
        }
        Ok(Mosaic {
            header,
            grid,
            colours,
        })
    }

    /// Where the library is recorded: beside the mosaic, else where it was when matched.
    pub fn library_path(&self, mosaic_path: &Path) -> PathBuf {
        self.library_candidates(mosaic_path)
            .into_iter()
            .find(|p| p.is_dir())
            .unwrap_or_else(|| resolve_from(mosaic_path, &self.header.library))
    }

    fn library_candidates(&self, mosaic_path: &Path) -> Vec<PathBuf> {
        places(
            mosaic_path,
            &self.header.library,
            self.header.library_absolute.as_deref(),
        )
    }

    /// Opens the mosaic's library: `given` when there is one (`--library`), else where it is
    /// recorded, else the library of the same id in the mosaic's folder (moved or renamed
    /// along with it; said in a warning). Then checks the grid still means what it meant:
    /// the same library (not rebuilt since), and no tile it uses retired since.
    pub fn open_library(&self, mosaic_path: &Path, given: Option<&Path>) -> Result<Library> {
        let (library, path) = self.find_library(mosaic_path, given)?;
        let rematch = format!("re-run `tessera match` for {}", mosaic_path.display());
        let (matched, baked) = (self.header.tile_aspect, library.params().tile_aspect);
        if matched != baked {
            return Err(Error::Mosaic(format!(
                "{}: its grid was counted for tiles of {matched}, but {} holds tiles of {baked}; {rematch}",
                mosaic_path.display(),
                path.display()
            )));
        }
        if library.tile_count() < self.header.tile_count {
            return Err(Error::Mosaic(format!(
                "{}: its library {} was rebuilt or replaced after this mosaic was matched; {rematch}",
                mosaic_path.display(),
                path.display()
            )));
        }
        let mut used = vec![false; self.header.tile_count as usize];
        for &t in &self.grid {
            used[t as usize] = true;
        }
        let retired: Vec<&str> = (0..self.header.tile_count)
            .filter(|&t| used[t as usize] && library.is_retired(t))
            .map(|t| library.manifest.tiles[t as usize].source.path.as_str())
            .collect();
        if !retired.is_empty() {
            let shown = retired
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if retired.len() > 5 {
                format!(" and {} more", retired.len() - 5)
            } else {
                String::new()
            };
            return Err(Error::Mosaic(format!(
                "{}: {} of its tiles were removed or changed in {} since it was matched ({shown}{more}); {rematch}",
                mosaic_path.display(),
                retired.len(),
                path.display()
            )));
        }
        Ok(library)
    }

    /// The library of this mosaic's id: the one given, the recorded ones, then those in the
    /// mosaic's folder.
    fn find_library(&self, mosaic_path: &Path, given: Option<&Path>) -> Result<(Library, PathBuf)> {
        let id = &self.header.library_id;
        let recorded = resolve_from(mosaic_path, &self.header.library);
        if let Some(given) = given {
            let library = Library::open(given)?;
            if &library.manifest.library_id != id {
                return Err(Error::Mosaic(format!(
                    "{}: {} is not the library it was matched against (that one was {}); give that library, or re-run `tessera match` against this one",
                    mosaic_path.display(),
                    given.display(),
                    recorded.display()
                )));
            }
            return Ok((library, given.to_path_buf()));
        }
        // A recorded place holding another library (rebuilt since) is the likeliest story
        // when nothing else matches: kept for the message.
        let mut replaced = None;
        let recorded_places = self.library_candidates(mosaic_path);
        for path in &recorded_places {
            match Library::open(path) {
                Ok(library) if &library.manifest.library_id == id => {
                    return Ok((library, path.clone()))
                }
                Ok(_) => replaced = replaced.or(Some(path.clone())),
                // Missing here: look in the next place. Damaged or busy: say so.
                Err(crate::library::StoreError::NotALibrary(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for path in libraries_beside(mosaic_path) {
            if recorded_places.contains(&path) {
                continue;
            }
            let Ok(library) = Library::open(&path) else {
                continue;
            };
            if &library.manifest.library_id == id {
                tracing::warn!(
                    "{}: its library was not at {}; using {}, the library of the same id beside it",
                    mosaic_path.display(),
                    recorded.display(),
                    path.display()
                );
                return Ok((library, path));
            }
        }
        Err(Error::Mosaic(match replaced {
            Some(path) => format!(
                "{}: its library {} was rebuilt or replaced after this mosaic was matched; re-run `tessera match` for it",
                mosaic_path.display(),
                path.display()
            ),
            None => format!(
                "{}: its library is not at {} (where it was matched) nor beside the mosaic; give its place with --library PATH",
                mosaic_path.display(),
                recorded.display()
            ),
        }))
    }

    /// Distinct tiles used, and the most repeated tile with its count.
    pub fn usage(&self) -> (usize, u32, usize) {
        let mut counts = vec![0usize; self.header.tile_count as usize];
        for &t in &self.grid {
            counts[t as usize] += 1;
        }
        let distinct = counts.iter().filter(|&&c| c > 0).count();
        let (top, &n) = counts
            .iter()
            .enumerate()
            .max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i)))
            .unwrap_or((0, &0));
        (distinct, top as u32, n)
    }
}

/// How well a grid holds a repeat limit: of the cells checked, how many have the same tile
/// again within the radius.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatCheck {
    /// Cells examined: all of them, or an even sample of a grid too large to check whole.
    pub checked: u64,
    /// Cells with the same tile again within the radius.
    pub broken: u64,
    /// Whether a sample was checked, not every cell.
    pub sampled: bool,
}

impl RepeatCheck {
    /// Broken cells as a percentage of those checked.
    pub fn percent(&self) -> f64 {
        100.0 * self.broken as f64 / self.checked.max(1) as f64
    }
}

impl Mosaic {
    /// Checks the grid against "no tile twice within `radius` cells" (Chebyshev distance).
    /// Grids whose check would cost more than ~50 M comparisons are sampled evenly.
    pub fn repeat_check(&self, radius: u32) -> RepeatCheck {
        let (cols, rows) = (self.cols() as i64, self.rows() as i64);
        let r = radius as i64;
        let cells = (cols * rows) as u64;
        let window = ((2 * r + 1) * (2 * r + 1)) as u64;
        let step = (cells * window / 50_000_000).max(1) as usize;
        let (mut checked, mut broken) = (0, 0);
        for cell in (0..cells as usize).step_by(step) {
            let (x, y) = (cell as i64 % cols, cell as i64 / cols);
            let tile = self.grid[cell];
            let mut repeats = false;
            'window: for yy in (y - r).max(0)..=(y + r).min(rows - 1) {
                for xx in (x - r).max(0)..=(x + r).min(cols - 1) {
                    if (xx, yy) != (x, y) && self.grid[(yy * cols + xx) as usize] == tile {
                        repeats = true;
                        break 'window;
                    }
                }
            }
            checked += 1;
            broken += repeats as u64;
        }
        RepeatCheck {
            checked,
            broken,
            sampled: step > 1,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn grid_crc(grid: &[u32]) -> u32 {
    crc32fast::hash(bytemuck::cast_slice(grid))
}

fn is_mosaic_file(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .map(|_| &magic == MAGIC)
        .unwrap_or(false)
}

/// The folder a file is in (`.` for a bare name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` absolute, its links and `..` resolved where it exists (as far as it does).
fn normalised(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| {
        let mut out = PathBuf::new();
        for part in absolute(path).components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    })
}

/// `to` relative to the folder `from` (both absolute and normalised): `../lib.tlib`.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let (from, to): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: PathBuf =
        std::iter::repeat_n(std::path::Component::ParentDir, from.len() - common)
            .chain(to[common..].iter().copied())
            .collect();
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Library folders in the mosaic's folder (moved or renamed with it).
fn libraries_beside(mosaic_path: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder_of(mosaic_path)) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(crate::library::store::MANIFEST_FILE).is_file())
        .collect();
    found.sort();
    found
}

/// A reference written relative to the mosaic file's folder (or absolute), resolved.
fn resolve_from(mosaic_path: &Path, reference: &str) -> PathBuf {
    let p = Path::new(reference);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        mosaic_path.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mosaic() -> Mosaic {
        let grid = vec![0, 1, 1, 0, 2, 2];
        Mosaic {
            header: MosaicHeader {
                version: VERSION,
                cols: 3,
                rows: 2,
                library: "lib.tlib".into(),
                library_absolute: None,
                library_id: "x".into(),
                tile_aspect: TileAspect::SQUARE,
                tile_count: 3,
                target: "t.png".into(),
                target_file: None,
                target_size: None,
                repeat_radius: 0,
                grid_crc32: grid_crc(&grid),
                video: None,
                max_uses: 0,
                use_all: false,
                colours_crc32: None,
            },
            grid,
            colours: None,
        }
    }

    #[test]
    fn cell_colours_round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.mosaic");
        let colours: Vec<[u8; 3]> = (0..6).map(|i| [i * 40, 255 - i * 40, 7]).collect();
        mosaic().with_colours(colours.clone()).save(&path).unwrap();
        let back = Mosaic::load(&path).unwrap();
        assert_eq!(back.colours, Some(colours));
        assert_eq!(back.grid, mosaic().grid);

        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = Mosaic::load(&path).unwrap_err().to_string();
        assert!(err.contains("colours checksum"), "{err}");
        fs::write(&path, &bytes[..last]).unwrap();
        let err = Mosaic::load(&path).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");

        // Without colours (as version 1 wrote): opens, with none.
        mosaic().save(&path).unwrap();
        assert_eq!(Mosaic::load(&path).unwrap().colours, None);
    }
}
