//! The tile store: a library directory of fixed-size page records (see `FORMAT.md`).
//!
//! ```text
//! LIB.tlib/
//!   manifest.json        versioned, self-checksummed; the commit point of a bake
//!   records-<gen>.bin    per record: one CRC32 per level, then the colour signature
//!   level-LL.bin         per level, record r's page at offset r × page_bytes(LL)
//!   bake.journal         only while a bake is under way: records appended since the manifest
//!   bake.lock            held (flock) by the bake that is writing
//! ```
//!
//! Records are only ever appended past what the manifest names, so the committed manifest
//! stays valid while a bake runs; the new manifest is written to a temporary file and
//! renamed over the old one, the single atomic step that publishes a bake.

use super::pyramid::page_bytes;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const FORMAT_NAME: &str = "tessera-library";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
pub const JOURNAL_FILE: &str = "bake.journal";
pub const LOCK_FILE: &str = "bake.lock";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: not a tessera library (no manifest.json); bake one with `tessera bake --tiles DIR -o {0}`")]
    NotALibrary(PathBuf),
    #[error("{0}: bake was interrupted before its first commit; re-run the same `tessera bake` to resume it")]
    Incomplete(PathBuf),
    #[error("{path}: library format version {found}, this tessera reads version {FORMAT_VERSION}; re-bake it with this version")]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: {what}; the library is damaged: re-bake it with `tessera bake --rebuild`")]
    Corrupt { path: PathBuf, what: String },
    #[error("{path}: another `tessera bake` is writing this library")]
    Locked { path: PathBuf },
    #[error(
        "{path}: exists and is not a tessera library; choose another output path or remove it"
    )]
    NotOurs { path: PathBuf },
    #[error("{path}: was baked with {what}; pass the same options, or --rebuild to start over")]
    ParamsDiffer { path: PathBuf, what: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What identifies a tile source for reuse: re-baking skips sources whose key is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceKey {
    /// Path relative to the tiles folder (or a synthetic name).
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// One tile of the library: its source and where its pages are. A tile's id is its index
/// in the manifest's list, fixed for the library's life: new tiles are appended, and a tile
/// whose picture was removed or changed is *retired* (kept, with its pages, so older
/// mosaics' ids stay meaningful, but never matched again).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TileEntry {
    #[serde(flatten)]
    pub source: SourceKey,
    pub record: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedSource {
    pub path: String,
    pub reason: String,
}

/// Shape of a library's pages and signatures; fixed for its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreParams {
    pub max_tile: u32,
    /// Signature grid: `grid × grid` CIELAB sub-cells per tile.
    pub grid: u32,
}

impl StoreParams {
    pub fn levels(&self) -> usize {
        super::pyramid::level_count(self.max_tile)
    }
    pub fn sig_len(&self) -> usize {
        super::signature::signature_len(self.grid)
    }
    /// Bytes of one entry of the records table.
    pub fn record_entry_bytes(&self) -> usize {
        4 * (self.levels() + self.sig_len())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Names the library's tile-id space: set by its first bake, kept by every re-bake
    /// (which only appends and retires tiles), new after `--rebuild`. Mosaics remember it.
    pub library_id: String,
    /// Commits so far; names the records table of each commit. (Absent from libraries
    /// made before it existed: the checksum covers the manifest as serialised, so fields
    /// added later are left out when they hold their default.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u32,
    #[serde(flatten)]
    pub params: StoreParams,
    /// Records per level file (pages ever written, live or dead).
    pub records: u32,
    pub records_file: String,
    pub records_crc32: u32,
    /// Tiles in id order: a first bake's in source-path order, later ones appended.
    pub tiles: Vec<TileEntry>,
    pub skipped: Vec<SkippedSource>,
    /// The folder the tiles came from, as given to `bake`.
    pub tiles_root: String,
}

#[derive(Serialize, Deserialize)]
struct ManifestFile {
    manifest: Manifest,
    crc32: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn manifest_crc(m: &Manifest) -> u32 {
    crc32fast::hash(&serde_json::to_vec(m).expect("manifest serialises"))
}

pub fn level_file_name(level: usize) -> String {
    format!("level-{level:02}.bin")
}

/// Per-record data kept in the records table and the journal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordMeta {
    pub crcs: Vec<u32>,
    pub signature: Vec<f32>,
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
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
    if version != FORMAT_VERSION {
        return Err(StoreError::Version {
            path,
            found: version,
        });
    }
    let file: ManifestFile =
        serde_json::from_value(value).map_err(|e| corrupt(format!("bad manifest ({e})")))?;
    if manifest_crc(&file.manifest) != file.crc32 {
        return Err(corrupt("manifest checksum mismatch".into()));
    }
    Ok(file.manifest)
}

fn parse_records(bytes: &[u8], params: &StoreParams) -> Vec<RecordMeta> {
    let levels = params.levels();
    bytes
        .chunks_exact(params.record_entry_bytes())
        .map(|entry| {
            let words: Vec<u32> = entry
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
                .collect();
            RecordMeta {
                crcs: words[..levels].to_vec(),
                signature: words[levels..].iter().map(|&w| f32::from_bits(w)).collect(),
            }
        })
        .collect()
}

fn serialize_records(records: &[RecordMeta]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        for c in &r.crcs {
            out.extend_from_slice(&c.to_le_bytes());
        }
        for s in &r.signature {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
    out
}

/// Loads and checks a committed library's manifest and records table.
fn read_committed(dir: &Path) -> Result<(Manifest, Vec<RecordMeta>)> {
    let manifest = read_manifest(dir)?;
    let path = dir.join(&manifest.records_file);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    let corrupt = |what: String| StoreError::Corrupt {
        path: path.clone(),
        what,
    };
    let p = manifest.params;
    if !p.max_tile.is_power_of_two() || p.max_tile > 4096 || p.grid == 0 || p.grid > 16 {
        return Err(corrupt(format!("impossible parameters {p:?}")));
    }
    if bytes.len() != manifest.records as usize * p.record_entry_bytes() {
        return Err(corrupt(format!(
            "records table holds {} bytes, expected {}",
            bytes.len(),
            manifest.records as usize * p.record_entry_bytes()
        )));
    }
    if crc32fast::hash(&bytes) != manifest.records_crc32 {
        return Err(corrupt("records table checksum mismatch".into()));
    }
    if let Some(bad) = manifest.tiles.iter().find(|t| t.record >= manifest.records) {
        return Err(corrupt(format!(
            "tile {} names a missing record",
            bad.source.path
        )));
    }
    Ok((manifest, parse_records(&bytes, &p)))
}

/// A committed library opened for reading. Page reads are positioned reads (no shared file
/// cursor), so one `Library` serves many loader threads at once.
pub struct Library {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Per tile (not record): signature floats, `params.sig_len()` each.
    signatures: Vec<f32>,
    /// Per tile × level.
    page_crcs: Vec<u32>,
    level_files: Vec<File>,
}

impl Library {
    pub fn open(dir: impl AsRef<Path>) -> Result<Library> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(if dir.exists() {
                StoreError::NotOurs { path: dir }
            } else {
                StoreError::NotALibrary(dir)
            });
        }
        let (manifest, records) = read_committed(&dir)?;
        let p = manifest.params;
        let mut level_files = Vec::new();
        for level in 0..p.levels() {
            let path = dir.join(level_file_name(level));
            let file = File::open(&path).map_err(io_err(&path))?;
            let len = file.metadata().map_err(io_err(&path))?.len();
            let need = manifest.records as u64 * page_bytes(level) as u64;
            if len < need {
                return Err(StoreError::Corrupt {
                    path,
                    what: format!("holds {len} bytes, the manifest needs {need}"),
                });
            }
            level_files.push(file);
        }
        let mut signatures = Vec::with_capacity(manifest.tiles.len() * p.sig_len());
        let mut page_crcs = Vec::with_capacity(manifest.tiles.len() * p.levels());
        for t in &manifest.tiles {
            let r = &records[t.record as usize];
            signatures.extend_from_slice(&r.signature);
            page_crcs.extend_from_slice(&r.crcs);
        }
        Ok(Library {
            dir,
            manifest,
            signatures,
            page_crcs,
            level_files,
        })
    }

    pub fn params(&self) -> StoreParams {
        self.manifest.params
    }
    /// Tiles ever baked into this library, retired ones included: ids run `0..tile_count`.
    pub fn tile_count(&self) -> u32 {
        self.manifest.tiles.len() as u32
    }
    /// Whether a tile's picture was removed or changed since it was baked (its pages stay;
    /// matching never picks it).
    pub fn is_retired(&self, tile: u32) -> bool {
        self.manifest.tiles[tile as usize].retired
    }
    /// Ids of the tiles matching may use, ascending.
    pub fn active_tiles(&self) -> Vec<u32> {
        (0..self.tile_count())
            .filter(|&t| !self.is_retired(t))
            .collect()
    }
    pub fn levels(&self) -> usize {
        self.manifest.params.levels()
    }
    pub fn max_level(&self) -> usize {
        self.levels() - 1
    }
    /// All tile signatures, tile-major.
    pub fn signatures(&self) -> &[f32] {
        &self.signatures
    }

    /// Reads one page into `out` (exactly `page_bytes(level)` long) and checks its CRC.
    pub fn read_page(&self, tile: u32, level: usize, out: &mut [u8]) -> Result<()> {
        let entry = &self.manifest.tiles[tile as usize];
        let bytes = page_bytes(level);
        debug_assert_eq!(out.len(), bytes);
        let path = || self.dir.join(level_file_name(level));
        self.level_files[level]
            .read_exact_at(out, entry.record as u64 * bytes as u64)
            .map_err(|e| io_err(&path())(e))?;
        if crc32fast::hash(out) != self.page_crcs[tile as usize * self.levels() + level] {
            return Err(StoreError::Corrupt {
                path: path(),
                what: format!(
                    "page of tile {tile} ({}) fails its checksum",
                    entry.source.path
                ),
            });
        }
        Ok(())
    }

    /// A whole level for every tile, tile-major (used for the small, always-resident levels).
    pub fn read_level(&self, level: usize) -> Result<Vec<u8>> {
        let bytes = page_bytes(level);
        let mut out = vec![0u8; bytes * self.tile_count() as usize];
        for (tile, page) in out.chunks_exact_mut(bytes).enumerate() {
            self.read_page(tile as u32, level, page)?;
        }
        Ok(out)
    }

    /// Bytes of pages at `level` over all tiles.
    pub fn level_bytes(&self, level: usize) -> u64 {
        page_bytes(level) as u64 * self.tile_count() as u64
    }
}

/// A journal line: one record appended since the last commit.
#[derive(Serialize, Deserialize)]
struct JournalEntry {
    record: u32,
    source: SourceKey,
    meta: RecordMeta,
}

#[derive(Serialize, Deserialize)]
struct JournalHeader {
    params: StoreParams,
    base_records: u32,
}

fn parse_journal_header(first_line: Option<std::io::Result<String>>) -> Option<JournalHeader> {
    serde_json::from_str(&first_line?.ok()?).ok()
}

/// The parameters a library at `dir` was baked with: from its manifest, or from the journal
/// of an interrupted first bake. `None` where there is no library (or nothing readable).
pub fn existing_params(dir: &Path) -> Option<StoreParams> {
    if let Ok(manifest) = read_manifest(dir) {
        return Some(manifest.params);
    }
    let journal = File::open(dir.join(JOURNAL_FILE)).ok()?;
    parse_journal_header(BufReader::new(journal).lines().next()).map(|h| h.params)
}

/// Appends records to a library and commits them. Opening it takes the bake lock, adopts
/// the journal of an interrupted bake and truncates whatever that bake left half-written.
pub struct StoreWriter {
    dir: PathBuf,
    params: StoreParams,
    level_files: Vec<File>,
    journal: BufWriter<File>,
    next_record: u32,
    records: Vec<RecordMeta>,
    /// Source → record for every record that can be reused (committed or journaled).
    known: std::collections::HashMap<SourceKey, u32>,
    /// The library as last committed, if any.
    committed: Option<Manifest>,
    _lock: File,
}

impl StoreWriter {
    /// Opens `dir` for appending, creating it if needed. `rebuild` discards what is there.
    pub fn open(dir: &Path, params: StoreParams, rebuild: bool) -> Result<StoreWriter> {
        if dir.exists() {
            let ours = dir.join(MANIFEST_FILE).exists()
                || dir.join(JOURNAL_FILE).exists()
                || dir.join(LOCK_FILE).exists();
            let empty = dir.is_dir() && fs::read_dir(dir).map_err(io_err(dir))?.next().is_none();
            if !dir.is_dir() || !(ours || empty) {
                return Err(StoreError::NotOurs {
                    path: dir.to_path_buf(),
                });
            }
        }
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: dir.to_path_buf(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        if rebuild {
            for entry in fs::read_dir(dir).map_err(io_err(dir))? {
                let path = entry.map_err(io_err(dir))?.path();
                if path != lock_path {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                }
            }
        }

        // What is committed already.
        let (mut records, mut known) = (Vec::new(), std::collections::HashMap::new());
        let mut previous = None;
        match read_committed(dir) {
            Ok((manifest, committed)) => {
                if manifest.params != params {
                    return Err(StoreError::ParamsDiffer {
                        path: dir.to_path_buf(),
                        what: format!(
                            "--max-tile {} --grid {}",
                            manifest.params.max_tile, manifest.params.grid
                        ),
                    });
                }
                for t in &manifest.tiles {
                    known.insert(t.source.clone(), t.record);
                }
                records = committed;
                previous = Some(manifest);
            }
            Err(StoreError::NotALibrary(_)) | Err(StoreError::Incomplete(_)) => {}
            Err(e) => return Err(e),
        }
        let base_records = records.len() as u32;

        // What an interrupted bake appended after that, if its journal still agrees.
        let journal_path = dir.join(JOURNAL_FILE);
        let mut adopted = Vec::new();
        if let Ok(file) = File::open(&journal_path) {
            let mut lines = BufReader::new(file).lines();
            let header = parse_journal_header(lines.next());
            if header.is_some_and(|h| h.params == params && h.base_records == base_records) {
                for line in lines {
                    // A torn last line is where the interruption hit: stop there.
                    let Some(entry) = line
                        .ok()
                        .and_then(|l| serde_json::from_str::<JournalEntry>(&l).ok())
                    else {
                        break;
                    };
                    if entry.record != base_records + adopted.len() as u32 {
                        break;
                    }
                    adopted.push(entry);
                }
            }
        }

        let mut level_files = Vec::new();
        for level in 0..params.levels() {
            let path = dir.join(level_file_name(level));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            level_files.push(file);
        }
        // Keep a journaled record only if its pages are all on disk and intact.
        let mut page = Vec::new();
        let mut kept = 0;
        'entries: for entry in &adopted {
            for (level, file) in level_files.iter().enumerate() {
                page.resize(page_bytes(level), 0);
                let at = entry.record as u64 * page.len() as u64;
                if file.read_exact_at(&mut page, at).is_err()
                    || crc32fast::hash(&page) != entry.meta.crcs[level]
                {
                    break 'entries;
                }
            }
            kept += 1;
        }
        adopted.truncate(kept);
        let next_record = base_records + kept as u32;
        for (level, file) in level_files.iter().enumerate() {
            let len = next_record as u64 * page_bytes(level) as u64;
            let path = dir.join(level_file_name(level));
            file.set_len(len).map_err(io_err(&path))?;
        }

        // Rewrite the journal with what was kept, so it stays a clean prefix.
        let file = File::create(&journal_path).map_err(io_err(&journal_path))?;
        let mut journal = BufWriter::new(file);
        let header = JournalHeader {
            params,
            base_records,
        };
        writeln!(journal, "{}", serde_json::to_string(&header).unwrap())
            .map_err(io_err(&journal_path))?;
        for entry in adopted {
            writeln!(journal, "{}", serde_json::to_string(&entry).unwrap())
                .map_err(io_err(&journal_path))?;
            known.insert(entry.source, entry.record);
            records.push(entry.meta);
        }
        journal.flush().map_err(io_err(&journal_path))?;

        Ok(StoreWriter {
            dir: dir.to_path_buf(),
            params,
            level_files,
            journal,
            next_record,
            records,
            known,
            committed: previous,
            _lock: lock,
        })
    }

    /// The library as last committed (`None` for a first bake).
    pub fn committed(&self) -> Option<&Manifest> {
        self.committed.as_ref()
    }

    pub fn params(&self) -> StoreParams {
        self.params
    }

    /// The record already holding `source`'s pages, if any.
    pub fn reusable(&self, source: &SourceKey) -> Option<u32> {
        self.known.get(source).copied()
    }

    /// Records reusable from earlier bakes (committed or journaled).
    pub fn reusable_count(&self) -> usize {
        self.known.len()
    }

    /// Appends one tile's pyramid (`levels[l]` is level l) and signature; returns its record.
    pub fn append(
        &mut self,
        source: SourceKey,
        levels: &[Vec<u8>],
        signature: Vec<f32>,
    ) -> Result<u32> {
        assert_eq!(levels.len(), self.params.levels());
        assert_eq!(signature.len(), self.params.sig_len());
        let record = self.next_record;
        let mut crcs = Vec::with_capacity(levels.len());
        for (level, (file, page)) in self.level_files.iter().zip(levels).enumerate() {
            assert_eq!(page.len(), page_bytes(level));
            file.write_all_at(page, record as u64 * page.len() as u64)
                .map_err(io_err(&self.dir.join(level_file_name(level))))?;
            crcs.push(crc32fast::hash(page));
        }
        let meta = RecordMeta { crcs, signature };
        let entry = JournalEntry {
            record,
            source: source.clone(),
            meta: meta.clone(),
        };
        let journal_path = self.dir.join(JOURNAL_FILE);
        writeln!(self.journal, "{}", serde_json::to_string(&entry).unwrap())
            .map_err(io_err(&journal_path))?;
        self.records.push(meta);
        self.known.insert(source, record);
        self.next_record += 1;
        Ok(record)
    }

    /// Flushes the journal so an interruption after this point loses nothing appended so far.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.journal
            .flush()
            .map_err(io_err(&self.dir.join(JOURNAL_FILE)))
    }

    /// Ends a bake that changed nothing: the committed library stays exactly as it was.
    pub fn abandon(mut self) -> Result<()> {
        self.checkpoint()?;
        let journal = self.dir.join(JOURNAL_FILE);
        fs::remove_file(&journal).map_err(io_err(&journal))
    }

    /// Publishes a library made of `tiles`, in id order (each naming a record this writer
    /// knows). The library keeps its id; a first bake gets a new one.
    pub fn commit(
        mut self,
        tiles: Vec<TileEntry>,
        skipped: Vec<SkippedSource>,
        tiles_root: String,
    ) -> Result<Manifest> {
        self.checkpoint()?;
        for (level, f) in self.level_files.iter().enumerate() {
            f.sync_data()
                .map_err(io_err(&self.dir.join(level_file_name(level))))?;
        }
        let (library_id, generation) = match &self.committed {
            Some(m) => (m.library_id.clone(), m.generation + 1),
            None => (new_library_id(), 1),
        };
        let records_file = format!("records-{library_id}-{generation:04}.bin");
        let records_bytes = serialize_records(&self.records);
        let records_path = self.dir.join(&records_file);
        write_synced(&records_path, &records_bytes)?;
        let manifest = Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            library_id,
            generation,
            params: self.params,
            records: self.next_record,
            records_file: records_file.clone(),
            records_crc32: crc32fast::hash(&records_bytes),
            tiles,
            skipped,
            tiles_root,
        };
        let file = ManifestFile {
            crc32: manifest_crc(&manifest),
            manifest: manifest.clone(),
        };
        let tmp = self.dir.join("manifest.json.tmp");
        write_synced(&tmp, &serde_json::to_vec_pretty(&file).unwrap())?;
        let final_path = self.dir.join(MANIFEST_FILE);
        fs::rename(&tmp, &final_path).map_err(io_err(&final_path))?;
        // The commit is done; the rest is tidying.
        let _ = fs::remove_file(self.dir.join(JOURNAL_FILE));
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("records-") && name != records_file {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(manifest)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

fn new_library_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}
