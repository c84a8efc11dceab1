//! Appending tiles to a library and committing them. Opening a writer takes the bake lock,
//! upgrades a version 1 library, adopts the journal of an interrupted bake (keeping the
//! tiles whose pages are all intact) and truncates whatever that bake left half-written.

use super::lock::BakeLock;
use super::proxy::ProxyBlob;
use super::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;

/// Where the pages appended after a commit start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Base {
    records: u32,
    stills: u32,
    clip_bytes: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct JournalHeader {
    params: StoreParams,
    base: Base,
}

/// A journal line: one tile appended since the last commit, and its signature.
#[derive(Serialize, Deserialize)]
struct JournalEntry {
    tile: TileEntry,
    signature: Vec<f32>,
}

/// The parameters of an interrupted first bake, from its journal.
pub(super) fn journal_params(dir: &Path) -> Option<StoreParams> {
    let journal = File::open(dir.join(JOURNAL_FILE)).ok()?;
    let line = BufReader::new(journal).lines().next()?.ok()?;
    serde_json::from_str::<JournalHeader>(&line)
        .ok()
        .map(|h| h.params)
}

fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))
}

/// The files pages are appended to.
struct Files {
    /// Levels `0..raw_levels`: every record.
    frames: Vec<File>,
    /// Levels `raw_levels..`: stills' raw pages, clips' JPEG blobs.
    stills: Vec<File>,
    clips: Vec<File>,
}

impl Files {
    fn open(dir: &Path, p: &StoreParams) -> Result<Files> {
        let raw = p.raw_levels();
        let open = |names: &dyn Fn(usize) -> String, levels: std::ops::Range<usize>| {
            levels
                .map(|l| open_rw(&dir.join(names(l))))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Files {
            frames: open(&frames_file_name, 0..raw)?,
            stills: open(&stills_file_name, raw..p.levels())?,
            clips: open(&clips_file_name, raw..p.levels())?,
        })
    }

    /// Cuts every file after what `next` says is in use.
    fn truncate(&self, dir: &Path, p: &StoreParams, next: &Base) -> Result<()> {
        let raw = p.raw_levels();
        for (l, f) in self.frames.iter().enumerate() {
            f.set_len(next.records as u64 * p.record_stride(l))
                .map_err(io_err(&dir.join(frames_file_name(l))))?;
        }
        for (i, f) in self.stills.iter().enumerate() {
            f.set_len(next.stills as u64 * p.record_stride(raw + i))
                .map_err(io_err(&dir.join(stills_file_name(raw + i))))?;
        }
        for (i, f) in self.clips.iter().enumerate() {
            f.set_len(next.clip_bytes[i])
                .map_err(io_err(&dir.join(clips_file_name(raw + i))))?;
        }
        Ok(())
    }

    /// Whether every page `tile` names is on disk with a matching CRC.
    fn intact(&self, p: &StoreParams, tile: &TileEntry) -> bool {
        let raw = p.raw_levels();
        let raw_ok = |file: &File, level: usize, index: u32, count: u32| {
            let stride = p.record_stride(level) as usize;
            let mut buf = vec![0u8; stride * count as usize];
            file.read_exact_at(&mut buf, index as u64 * stride as u64)
                .is_ok()
                && buf.chunks_exact(stride).all(|rec| {
                    let (texels, crc) = rec.split_at(stride - PAGE_CRC_BYTES);
                    crc32fast::hash(texels) == u32::from_le_bytes(crc.try_into().unwrap())
                })
        };
        let frames_ok =
            (0..raw).all(|l| raw_ok(&self.frames[l], l, tile.first_record, tile.frames));
        let large_ok = match tile.still {
            Some(s) => (0..self.stills.len()).all(|i| raw_ok(&self.stills[i], raw + i, s, 1)),
            None => tile.proxy.iter().zip(&self.clips).all(|(&[o, len], file)| {
                let mut blob = vec![0u8; len as usize];
                file.read_exact_at(&mut blob, o).is_ok()
                    && ProxyBlob::check(&blob, tile.frames).is_ok()
            }),
        };
        frames_ok && large_ok
    }
}

impl Base {
    /// Whether `tile`'s pages start exactly where these end.
    fn followed_by(&self, tile: &TileEntry) -> bool {
        let clips_follow = tile.proxy.is_empty()
            || (tile.proxy.len() == self.clip_bytes.len()
                && tile
                    .proxy
                    .iter()
                    .zip(&self.clip_bytes)
                    .all(|(&[o, _], &end)| o == end));
        tile.first_record == self.records
            && tile.still.is_none_or(|s| s == self.stills)
            && clips_follow
    }

    /// Moves past `tile`'s pages.
    fn advance(&mut self, tile: &TileEntry) {
        self.records = tile.first_record + tile.frames;
        if let Some(s) = tile.still {
            self.stills = s + 1;
        }
        for (end, &[o, len]) in self.clip_bytes.iter_mut().zip(&tile.proxy) {
            *end = o + len;
        }
    }
}

/// The tiles an interrupted bake journaled after `base` whose pages are all on disk and
/// intact, in order (up to the first that is not), and where they end.
fn adopt_journal(
    dir: &Path,
    params: &StoreParams,
    files: &Files,
    base: &Base,
) -> (Vec<JournalEntry>, Base) {
    let mut next = base.clone();
    let mut adopted = Vec::new();
    let Ok(file) = File::open(dir.join(JOURNAL_FILE)) else {
        return (adopted, next);
    };
    let mut lines = BufReader::new(file).lines();
    let header: Option<JournalHeader> = lines
        .next()
        .and_then(|l| l.ok())
        .and_then(|l| serde_json::from_str(&l).ok());
    if !header.is_some_and(|h| h.params == *params && h.base == *base) {
        return (adopted, next);
    }
    for line in lines {
        // A torn last line is where the interruption hit: stop there.
        let Some(entry) = line
            .ok()
            .and_then(|l| serde_json::from_str::<JournalEntry>(&l).ok())
        else {
            break;
        };
        if !next.followed_by(&entry.tile) || !files.intact(params, &entry.tile) {
            break;
        }
        next.advance(&entry.tile);
        adopted.push(entry);
    }
    (adopted, next)
}

/// Writes a library: tiles appended, committed atomically by the manifest, resumable from
/// its journal.
pub struct StoreWriter {
    dir: PathBuf,
    params: StoreParams,
    files: Files,
    journal: BufWriter<File>,
    next: Base,
    /// Tiles appended since the last commit (adopted from a journal, or by this bake).
    appended: Vec<JournalEntry>,
    committed: Option<Manifest>,
    /// The library was version 1 and opening the writer upgraded it.
    upgraded: bool,
    /// The committed tiles' signatures, tile-major.
    committed_signatures: Vec<f32>,
    /// The part of its tiles folder the library holds (`bake --shard`), kept by re-bakes.
    shard: Option<crate::library::Shard>,
    _lock: BakeLock,
}

impl StoreWriter {
    /// Opens `dir` for appending, creating it if needed. `rebuild` discards what is there.
    pub fn open(dir: &Path, params: StoreParams, rebuild: bool) -> Result<StoreWriter> {
        params.validate().map_err(|what| StoreError::Corrupt {
            path: dir.to_path_buf(),
            what: format!("cannot bake with these parameters: {what}"),
        })?;
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
        let lock = BakeLock::take(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        if rebuild {
            for entry in fs::read_dir(dir).map_err(io_err(dir))? {
                let path = entry.map_err(io_err(dir))?.path();
                if path != lock_path {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                }
            }
        }

        // What is committed already (a version 1 library is upgraded first).
        let differ = |m: &StoreParams| StoreError::ParamsDiffer {
            path: dir.to_path_buf(),
            what: m.flags(),
        };
        let mut upgraded = false;
        let committed = match read_manifest(dir) {
            Ok(Committed::Current(m)) => {
                if m.params != params {
                    return Err(differ(&m.params));
                }
                Some(m)
            }
            Ok(Committed::V1(v1)) => {
                let old = v1.params();
                if (old.max_tile, old.grid) != (params.max_tile, params.grid) {
                    return Err(differ(&old));
                }
                upgraded = true;
                Some(super::v1::upgrade(dir, v1, params)?)
            }
            Err(StoreError::NotALibrary(_)) | Err(StoreError::Incomplete(_)) => None,
            Err(e) => return Err(e),
        };
        let large = params.levels() - params.raw_levels();
        let base = match &committed {
            Some(m) => Base {
                records: m.records,
                stills: m.stills,
                clip_bytes: m.clip_bytes.clone(),
            },
            None => Base {
                records: 0,
                stills: 0,
                clip_bytes: vec![0; large],
            },
        };
        let committed_signatures = match &committed {
            Some(m) => {
                let path = dir.join(&m.signatures_file);
                parse_signatures(&fs::read(&path).map_err(io_err(&path))?)
            }
            None => Vec::new(),
        };

        let files = Files::open(dir, &params)?;
        let (appended, next) = adopt_journal(dir, &params, &files, &base);
        files.truncate(dir, &params, &next)?;
        // Rewrite the journal as the clean prefix that was kept.
        let journal_path = dir.join(JOURNAL_FILE);
        let mut journal =
            BufWriter::new(File::create(&journal_path).map_err(io_err(&journal_path))?);
        let header = JournalHeader {
            params,
            base: base.clone(),
        };
        writeln!(
            journal,
            "{}",
            serde_json::to_string(&header).expect("serialises")
        )
        .map_err(io_err(&journal_path))?;
        for e in &appended {
            writeln!(journal, "{}", serde_json::to_string(e).expect("serialises"))
                .map_err(io_err(&journal_path))?;
        }
        journal.flush().map_err(io_err(&journal_path))?;
        let shard = committed.as_ref().and_then(|m| m.shard);
        Ok(StoreWriter {
            shard,
            dir: dir.to_path_buf(),
            params,
            files,
            journal,
            next,
            appended,
            committed,
            upgraded,
            committed_signatures,
            _lock: lock,
        })
    }

    /// The page and signature shape it writes.
    pub fn params(&self) -> StoreParams {
        self.params
    }

    /// Records, at the next commit, that the library holds shard `shard` of its tiles
    /// folder (`None`: all of it).
    pub fn set_shard(&mut self, shard: Option<crate::library::Shard>) {
        self.shard = shard;
    }

    /// Whether opening this writer upgraded a version 1 library to the current format.
    pub fn upgraded(&self) -> bool {
        self.upgraded
    }

    /// The library as last committed (`None` for a first bake).
    pub fn committed(&self) -> Option<&Manifest> {
        self.committed.as_ref()
    }

    /// Tiles appended since the last commit (by an interrupted bake, or this one) from
    /// `source`, in the order they were appended.
    pub fn appended_from(&self, source: &SourceKey) -> Vec<TileEntry> {
        self.appended
            .iter()
            .filter(|e| e.tile.source == *source)
            .map(|e| e.tile.clone())
            .collect()
    }

    /// Tiles appended since the last commit, by source, each source's in order.
    pub fn appended_by_source(&self) -> HashMap<SourceKey, Vec<TileEntry>> {
        let mut by_source: HashMap<SourceKey, Vec<TileEntry>> = HashMap::new();
        for e in &self.appended {
            by_source
                .entry(e.tile.source.clone())
                .or_default()
                .push(e.tile.clone());
        }
        by_source
    }

    /// Tiles appended since the last commit.
    pub fn appended_count(&self) -> usize {
        self.appended.len()
    }

    /// Appends one still: its pyramid (`levels[l]` is level l) and signature.
    pub fn append_still(
        &mut self,
        source: SourceKey,
        levels: &[Vec<u8>],
        signature: Vec<f32>,
    ) -> Result<TileEntry> {
        let p = self.params;
        assert_eq!(levels.len(), p.levels());
        let (raw, large) = levels.split_at(p.raw_levels());
        let tile = TileEntry {
            source,
            shot: None,
            first_record: 0,
            frames: 1,
            key: 0,
            still: (!large.is_empty()).then_some(0),
            proxy: Vec::new(),
            retired: false,
        };
        self.append(tile, raw, large, signature)
    }

    /// Appends one clip: its frames in order, `key` the frame shown when clips are still,
    /// `signature` the clip's (over its frames).
    pub fn append_clip(
        &mut self,
        source: SourceKey,
        shot: Option<Shot>,
        frames: &[ClipFrame],
        key: u32,
        signature: Vec<f32>,
    ) -> Result<TileEntry> {
        let p = self.params;
        assert!(!frames.is_empty() && (key as usize) < frames.len());
        let raw: Vec<Vec<u8>> = (0..p.raw_levels())
            .map(|l| frames.iter().flat_map(|f| &f.raw[l]).copied().collect())
            .collect();
        let blobs: Vec<Vec<u8>> = (0..p.levels() - p.raw_levels())
            .map(|i| ProxyBlob::assemble(&frames.iter().map(|f| &f.jpeg[i]).collect::<Vec<_>>()))
            .collect();
        let tile = TileEntry {
            source,
            shot,
            first_record: 0,
            frames: frames.len() as u32,
            key,
            still: None,
            proxy: Vec::new(),
            retired: false,
        };
        self.append(tile, &raw, &blobs, signature)
    }

    /// Appends a tile read from another library of the same parameters: `tile` its entry
    /// there (its source, shot, frames and key are kept; where its pages lie is this
    /// library's), `pages` as `Library::tile_pages` read them.
    pub fn append_pages(
        &mut self,
        tile: &TileEntry,
        pages: &TilePages,
        signature: Vec<f32>,
    ) -> Result<TileEntry> {
        let p = self.params;
        let shaped = pages.raw.len() == p.raw_levels()
            && pages.large.len() == p.levels() - p.raw_levels()
            && (pages.raw.iter().enumerate())
                .all(|(l, r)| r.len() == page_bytes(l) * tile.frames as usize)
            && (tile.still.is_none()
                || (pages.large.iter().enumerate())
                    .all(|(i, r)| r.len() == page_bytes(p.raw_levels() + i)));
        if !shaped {
            return Err(StoreError::Corrupt {
                path: self.dir.clone(),
                what: format!("tile {}: pages of another shape", tile.source.path),
            });
        }
        let tile = TileEntry {
            first_record: 0,
            proxy: Vec::new(),
            retired: false,
            ..tile.clone()
        };
        self.append(tile, &pages.raw, &pages.large, signature)
    }

    /// Writes a tile's pages where the library ends (`raw`: per small level, its frames'
    /// pages back to back; `large`: per large level, a still's page or a clip's blob), and
    /// records it with where they went.
    fn append(
        &mut self,
        mut tile: TileEntry,
        raw: &[Vec<u8>],
        large: &[Vec<u8>],
        signature: Vec<f32>,
    ) -> Result<TileEntry> {
        let p = self.params;
        let first_large = p.raw_levels();
        tile.first_record = self.next.records;
        for (l, (file, pages)) in self.files.frames.iter().zip(raw).enumerate() {
            let at = tile.first_record as u64 * p.record_stride(l);
            write_with_crcs(file, pages, l, p.stored_extent(l), at)
                .map_err(io_err(&self.dir.join(frames_file_name(l))))?;
        }
        if tile.still.is_some() {
            tile.still = Some(self.next.stills);
            for (i, page) in large.iter().enumerate() {
                let l = first_large + i;
                let at = self.next.stills as u64 * p.record_stride(l);
                write_with_crcs(&self.files.stills[i], page, l, p.stored_extent(l), at)
                    .map_err(io_err(&self.dir.join(stills_file_name(l))))?;
            }
        } else {
            for (i, blob) in large.iter().enumerate() {
                let at = self.next.clip_bytes[i];
                self.files.clips[i]
                    .write_all_at(blob, at)
                    .map_err(io_err(&self.dir.join(clips_file_name(first_large + i))))?;
                tile.proxy.push([at, blob.len() as u64]);
            }
        }
        self.push(tile, signature)
    }

    /// Records an appended tile: the append positions move past it, the journal gets it.
    fn push(&mut self, tile: TileEntry, signature: Vec<f32>) -> Result<TileEntry> {
        assert_eq!(signature.len(), self.params.sig_len());
        self.next.advance(&tile);
        let entry = JournalEntry {
            tile: tile.clone(),
            signature,
        };
        let journal_path = self.dir.join(JOURNAL_FILE);
        writeln!(
            self.journal,
            "{}",
            serde_json::to_string(&entry).expect("serialises")
        )
        .map_err(io_err(&journal_path))?;
        self.appended.push(entry);
        Ok(tile)
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

    /// Publishes a library made of `tiles`, in id order (each one committed before or
    /// appended since). The library keeps its id; a first bake gets a new one.
    pub fn commit(
        mut self,
        tiles: Vec<TileEntry>,
        skipped: Vec<SkippedSource>,
        tiles_root: String,
    ) -> Result<Manifest> {
        self.checkpoint()?;
        let all_files = self
            .files
            .frames
            .iter()
            .chain(&self.files.stills)
            .chain(&self.files.clips);
        for f in all_files {
            f.sync_data().map_err(io_err(&self.dir))?;
        }
        // Signatures in tile order: committed tiles keep theirs, appended ones bring theirs.
        let sig_len = self.params.sig_len();
        let mut by_record: HashMap<u32, &[f32]> = HashMap::new();
        if let Some(m) = &self.committed {
            for (t, e) in m.tiles.iter().enumerate() {
                by_record.insert(
                    e.first_record,
                    &self.committed_signatures[t * sig_len..][..sig_len],
                );
            }
        }
        for e in &self.appended {
            by_record.insert(e.tile.first_record, &e.signature);
        }
        let mut signatures = Vec::with_capacity(tiles.len() * sig_len);
        for t in &tiles {
            let sig = by_record
                .get(&t.first_record)
                .ok_or_else(|| StoreError::Corrupt {
                    path: self.dir.clone(),
                    what: format!("tile {} was neither committed nor appended", t.source.path),
                })?;
            signatures.extend_from_slice(sig);
        }
        let (library_id, generation) = match &self.committed {
            Some(m) => (m.library_id.clone(), m.generation + 1),
            None => (new_library_id(), 1),
        };
        let signatures_file = format!("signatures-{library_id}-{generation:04}.bin");
        let sig_bytes = serialize_signatures(&signatures);
        write_synced(&self.dir.join(&signatures_file), &sig_bytes)?;
        let manifest = Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            library_id,
            generation,
            params: self.params,
            records: self.next.records,
            stills: self.next.stills,
            clip_bytes: self.next.clip_bytes.clone(),
            signatures_file: signatures_file.clone(),
            signatures_crc32: crc32fast::hash(&sig_bytes),
            tiles,
            skipped,
            tiles_root,
            shard: self.shard,
        };
        write_manifest(&self.dir, &manifest)?;
        // The commit is done; the rest is tidying.
        let _ = fs::remove_file(self.dir.join(JOURNAL_FILE));
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("signatures-") && name != signatures_file {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(manifest)
    }
}

/// Writes `pages` (pages of `level`, back to back) at `at`, each as its file keeps it: its
/// `extent`'s texels (`pack_page`) followed by their CRC-32.
fn write_with_crcs(
    file: &File,
    pages: &[u8],
    level: usize,
    extent: [u32; 2],
    at: u64,
) -> std::io::Result<()> {
    let page = page_bytes(level);
    debug_assert_eq!(pages.len() % page, 0);
    let mut buf = Vec::with_capacity(pages.len() / page * record_bytes(extent));
    for texels in pages.chunks_exact(page) {
        let start = buf.len();
        pack_page(texels, level, extent, &mut buf);
        let crc = crc32fast::hash(&buf[start..]);
        buf.extend_from_slice(&crc.to_le_bytes());
    }
    file.write_all_at(&buf, at)
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
