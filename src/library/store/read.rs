//! Reading a committed library: the manifest, the signatures, and pages by tile or record.
//! Page reads are positioned reads (no shared file cursor), so one `Library` serves many
//! loader threads at once.

use super::proxy::ProxyBlob;
use super::*;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// A tile's frames as records: `first .. first + frames`, the key frame at `first + key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clip {
    pub first: u32,
    pub frames: u32,
    pub key: u32,
}

impl Clip {
    pub fn key_record(&self) -> u32 {
        self.first + self.key
    }
}

/// A file of raw pages at one level.
struct PageFile {
    file: File,
    path: PathBuf,
    /// Current pages are the tile's extent of the page (`StoreParams::stored_extent`) and
    /// their CRC; version 1 pages are whole, their CRCs in a table (`None`).
    extent: Option<[u32; 2]>,
}

impl PageFile {
    /// The file of `pages` pages of `level` at `path`, laid out as `extent` says.
    fn open(path: PathBuf, level: usize, pages: u64, extent: Option<[u32; 2]>) -> Result<PageFile> {
        let file = File::open(&path).map_err(io_err(&path))?;
        let len = file.metadata().map_err(io_err(&path))?.len();
        let stride = match extent {
            Some(extent) => record_bytes(extent) as u64,
            None => page_bytes(level) as u64,
        };
        if len < pages * stride {
            return Err(StoreError::Corrupt {
                path,
                what: format!("holds {len} bytes, the manifest needs {}", pages * stride),
            });
        }
        Ok(PageFile { file, path, extent })
    }
}

/// A tile library opened for reading: its manifest, signatures and pages on disk.
pub struct Library {
    /// The library's folder.
    pub dir: PathBuf,
    /// Its tiles and parameters.
    pub manifest: Manifest,
    /// Per tile: signature floats, `params.sig_len()` each.
    signatures: Vec<f32>,
    /// Levels `0..raw_levels`: every record's page.
    frame_files: Vec<PageFile>,
    /// Levels `raw_levels..`: stills' pages, and clips' JPEG blobs.
    still_files: Vec<PageFile>,
    clip_files: Vec<(File, PathBuf)>,
    /// (first record, tile) of every tile, by first record: the tile a record belongs to.
    by_record: Vec<(u32, u32)>,
    /// Version 1 libraries only: per record × level, the page CRCs.
    v1_crcs: Option<Vec<u32>>,
    /// Clip frames decoded from JPEG so far (by every reader of this library).
    decoded: std::sync::atomic::AtomicU64,
}

impl Library {
    /// Opens the library in `dir`, checking its manifest and files.
    pub fn open(dir: impl AsRef<Path>) -> Result<Library> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(if dir.exists() {
                StoreError::NotOurs { path: dir }
            } else {
                StoreError::NotALibrary(dir)
            });
        }
        match read_manifest(&dir)? {
            Committed::Current(manifest) => Self::open_current(dir, manifest),
            Committed::V1(v1) => {
                let (manifest, signatures, crcs) = v1.into_parts();
                let p = manifest.params;
                let frame_files = (0..p.levels())
                    .map(|l| {
                        let path = dir.join(super::v1::level_file_name(l));
                        PageFile::open(path, l, manifest.records as u64, None)
                    })
                    .collect::<Result<_>>()?;
                Ok(Self::assemble(
                    dir,
                    manifest,
                    signatures,
                    frame_files,
                    Vec::new(),
                    Vec::new(),
                    Some(crcs),
                ))
            }
        }
    }

    fn open_current(dir: PathBuf, manifest: Manifest) -> Result<Library> {
        let p = manifest.params;
        let sig_path = dir.join(&manifest.signatures_file);
        let bytes = fs::read(&sig_path).map_err(io_err(&sig_path))?;
        let corrupt = |what: String| StoreError::Corrupt {
            path: sig_path.clone(),
            what,
        };
        let expected = manifest.tiles.len() * p.sig_len() * 4;
        if bytes.len() != expected {
            return Err(corrupt(format!(
                "signatures table holds {} bytes, expected {expected}",
                bytes.len()
            )));
        }
        if crc32fast::hash(&bytes) != manifest.signatures_crc32 {
            return Err(corrupt("signatures table checksum mismatch".into()));
        }
        check_tiles(&dir, &manifest)?;
        let raw = p.raw_levels();
        let frame_files = (0..raw)
            .map(|l| {
                PageFile::open(
                    dir.join(frames_file_name(l)),
                    l,
                    manifest.records as u64,
                    Some(p.stored_extent(l)),
                )
            })
            .collect::<Result<_>>()?;
        let large = raw..p.levels();
        let still_files = large
            .clone()
            .map(|l| {
                PageFile::open(
                    dir.join(stills_file_name(l)),
                    l,
                    manifest.stills as u64,
                    Some(p.stored_extent(l)),
                )
            })
            .collect::<Result<_>>()?;
        let mut clip_files = Vec::new();
        for (i, l) in large.enumerate() {
            let path = dir.join(clips_file_name(l));
            let file = File::open(&path).map_err(io_err(&path))?;
            let len = file.metadata().map_err(io_err(&path))?.len();
            let need = manifest.clip_bytes.get(i).copied().unwrap_or(0);
            if len < need {
                return Err(StoreError::Corrupt {
                    path,
                    what: format!("holds {len} bytes, the manifest needs {need}"),
                });
            }
            clip_files.push((file, path));
        }
        Ok(Self::assemble(
            dir,
            manifest,
            parse_signatures(&bytes),
            frame_files,
            still_files,
            clip_files,
            None,
        ))
    }

    fn assemble(
        dir: PathBuf,
        manifest: Manifest,
        signatures: Vec<f32>,
        frame_files: Vec<PageFile>,
        still_files: Vec<PageFile>,
        clip_files: Vec<(File, PathBuf)>,
        v1_crcs: Option<Vec<u32>>,
    ) -> Library {
        let mut by_record: Vec<(u32, u32)> = manifest
            .tiles
            .iter()
            .enumerate()
            .map(|(t, e)| (e.first_record, t as u32))
            .collect();
        by_record.sort_unstable();
        Library {
            dir,
            manifest,
            signatures,
            frame_files,
            still_files,
            clip_files,
            by_record,
            v1_crcs,
            decoded: Default::default(),
        }
    }

    /// The page and signature shape it was baked with.
    pub fn params(&self) -> StoreParams {
        self.manifest.params
    }
    /// Tiles ever baked into this library, retired ones included: ids run `0..tile_count`.
    pub fn tile_count(&self) -> u32 {
        self.manifest.tiles.len() as u32
    }
    /// Frame records: one per still, one per frame of each clip.
    pub fn record_count(&self) -> u32 {
        self.manifest.records
    }
    /// Whether a tile's source was removed or changed since it was baked (its pages stay;
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
    /// Levels per tile.
    pub fn levels(&self) -> usize {
        self.manifest.params.levels()
    }
    /// The finest level.
    pub fn max_level(&self) -> usize {
        self.levels() - 1
    }
    /// All tile signatures, tile-major.
    pub fn signatures(&self) -> &[f32] {
        &self.signatures
    }
    /// One tile's signature.
    pub fn signature(&self, tile: u32) -> &[f32] {
        let n = self.params().sig_len();
        &self.signatures[tile as usize * n..][..n]
    }
    /// Whether any tile is a clip.
    pub fn has_clips(&self) -> bool {
        self.manifest.tiles.iter().any(TileEntry::is_clip)
    }

    /// A tile's manifest entry: its source, shot and frames.
    pub fn tile(&self, tile: u32) -> &TileEntry {
        &self.manifest.tiles[tile as usize]
    }

    /// Tile `tile`'s frames: its first record, count and key frame.
    pub fn clip(&self, tile: u32) -> Clip {
        let e = &self.manifest.tiles[tile as usize];
        Clip {
            first: e.first_record,
            frames: e.frames,
            key: e.key,
        }
    }
    /// Every tile's frames, in tile order.
    pub fn clips(&self) -> Vec<Clip> {
        (0..self.tile_count()).map(|t| self.clip(t)).collect()
    }

    /// The tile a record belongs to, and which of its frames it is.
    pub fn locate(&self, record: u32) -> Option<(u32, u32)> {
        let i = self
            .by_record
            .partition_point(|&(first, _)| first <= record);
        let (first, tile) = *self.by_record.get(i.checked_sub(1)?)?;
        let frame = record - first;
        (frame < self.manifest.tiles[tile as usize].frames).then_some((tile, frame))
    }

    /// Reads `count` consecutive frames of `tile` from `frame` at `level` into `out`
    /// (`count × page_bytes(level)`), checking every page.
    pub fn read_frames(
        &self,
        tile: u32,
        frame: u32,
        count: u32,
        level: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let entry = &self.manifest.tiles[tile as usize];
        assert!(frame + count <= entry.frames && count > 0);
        let bytes = page_bytes(level);
        debug_assert_eq!(out.len(), count as usize * bytes);
        let raw = self.params().raw_levels();
        if level < raw {
            return self.read_raw(
                &self.frame_files[level],
                level,
                entry.first_record + frame,
                count,
                out,
                Some(entry.first_record + frame),
            );
        }
        if let Some(still) = entry.still {
            return self.read_raw(&self.still_files[level - raw], level, still, 1, out, None);
        }
        self.read_proxy(tile, frame, count, level, out)
    }

    /// Reads `count` consecutive records from `first` at `level`. At the small levels the
    /// records may span tiles; at the large levels they must be frames of one tile.
    pub fn read_records(&self, first: u32, count: u32, level: usize, out: &mut [u8]) -> Result<()> {
        if level < self.params().raw_levels() {
            return self.read_raw(
                &self.frame_files[level],
                level,
                first,
                count,
                out,
                Some(first),
            );
        }
        let (tile, frame) = self.locate(first).ok_or_else(|| StoreError::Corrupt {
            path: self.dir.clone(),
            what: format!("record {first} belongs to no tile"),
        })?;
        self.read_frames(tile, frame, count, level, out)
    }

    /// A tile's key frame at `level` into `out` (`page_bytes(level)`): for a still, its page.
    pub fn read_page(&self, tile: u32, level: usize, out: &mut [u8]) -> Result<()> {
        let key = self.manifest.tiles[tile as usize].key;
        self.read_frames(tile, key, 1, level, out)
    }

    /// Every tile's key frame at `level`, tile-major (the overview's colours at level 0).
    pub fn read_key_level(&self, level: usize) -> Result<Vec<u8>> {
        let bytes = page_bytes(level);
        let mut out = vec![0u8; bytes * self.tile_count() as usize];
        for (tile, page) in out.chunks_exact_mut(bytes).enumerate() {
            self.read_page(tile as u32, level, page)?;
        }
        Ok(out)
    }

    /// A tile's pages as stored, each checked against its CRC, to append to another
    /// library without decoding (a clip's JPEG frames stay JPEG).
    pub fn tile_pages(&self, tile: u32) -> Result<TilePages> {
        let entry = &self.manifest.tiles[tile as usize];
        let p = self.params();
        let raw = (0..p.raw_levels())
            .map(|l| {
                let mut pages = vec![0u8; page_bytes(l) * entry.frames as usize];
                self.read_frames(tile, 0, entry.frames, l, &mut pages)?;
                Ok(pages)
            })
            .collect::<Result<_>>()?;
        let large = (p.raw_levels()..p.levels())
            .map(|l| {
                if entry.still.is_some() {
                    let mut page = vec![0u8; page_bytes(l)];
                    self.read_frames(tile, 0, 1, l, &mut page)?;
                    return Ok(page);
                }
                let (file, path) = &self.clip_files[l - p.raw_levels()];
                let [offset, len] = entry.proxy[l - p.raw_levels()];
                let mut blob = vec![0u8; len as usize];
                file.read_exact_at(&mut blob, offset)
                    .map_err(io_err(path))?;
                ProxyBlob::check(&blob, entry.frames).map_err(|e| StoreError::Corrupt {
                    path: path.clone(),
                    what: format!("clip {tile} ({}): {e}", entry.source.path),
                })?;
                Ok(blob)
            })
            .collect::<Result<_>>()?;
        Ok(TilePages { raw, large })
    }

    /// Raw pages `index .. index + count` of `file` (a level's records or stills).
    /// `record` names the first record for a version 1 CRC lookup.
    fn read_raw(
        &self,
        file: &PageFile,
        level: usize,
        index: u32,
        count: u32,
        out: &mut [u8],
        record: Option<u32>,
    ) -> Result<()> {
        let bytes = page_bytes(level);
        let damaged = |i: u32| StoreError::Corrupt {
            path: file.path.clone(),
            what: format!("page {} of level {level} fails its checksum", index + i),
        };
        let Some(extent) = file.extent else {
            file.file
                .read_exact_at(out, index as u64 * bytes as u64)
                .map_err(io_err(&file.path))?;
            let crcs = self
                .v1_crcs
                .as_ref()
                .expect("version 1 pages have a CRC table");
            let first = record.expect("version 1 reads are by record") as usize;
            for (i, page) in out.chunks_exact(bytes).enumerate() {
                if crc32fast::hash(page) != crcs[(first + i) * self.levels() + level] {
                    return Err(damaged(i as u32));
                }
            }
            return Ok(());
        };
        let stride = record_bytes(extent);
        let mut buf = vec![0u8; stride * count as usize];
        file.file
            .read_exact_at(&mut buf, index as u64 * stride as u64)
            .map_err(io_err(&file.path))?;
        for (i, (rec, page)) in buf
            .chunks_exact(stride)
            .zip(out.chunks_exact_mut(bytes))
            .enumerate()
        {
            let (texels, crc) = rec.split_at(stride - PAGE_CRC_BYTES);
            if crc32fast::hash(texels) != u32::from_le_bytes(crc.try_into().unwrap()) {
                return Err(damaged(i as u32));
            }
            unpack_page(texels, level, extent, page);
        }
        Ok(())
    }

    /// Frames of a clip at a large level: from its JPEG blob, decoded.
    fn read_proxy(
        &self,
        tile: u32,
        frame: u32,
        count: u32,
        level: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let entry = &self.manifest.tiles[tile as usize];
        let large = level - self.params().raw_levels();
        let (file, path) = &self.clip_files[large];
        let corrupt = |what: String| StoreError::Corrupt {
            path: path.clone(),
            what: format!("clip {} ({}): {what}", tile, entry.source.path),
        };
        let [offset, len] = *entry
            .proxy
            .get(large)
            .ok_or_else(|| corrupt("no frames at this level".into()))?;
        let mut header = vec![0u8; ProxyBlob::header_len(entry.frames)];
        file.read_exact_at(&mut header, offset)
            .map_err(io_err(path))?;
        let spans =
            ProxyBlob::spans(&header, entry.frames, len).map_err(|e| corrupt(e.to_string()))?;
        let wanted = &spans[frame as usize..(frame + count) as usize];
        let start = wanted[0].offset as u64;
        let end = wanted
            .iter()
            .map(|s| s.offset as u64 + s.len as u64)
            .max()
            .unwrap_or(start);
        let mut data = vec![0u8; (end - start) as usize];
        file.read_exact_at(&mut data, offset + start)
            .map_err(io_err(path))?;
        let size = 1u32 << level;
        for (s, page) in wanted.iter().zip(out.chunks_exact_mut(page_bytes(level))) {
            let jpeg = &data[(s.offset as u64 - start) as usize..][..s.len as usize];
            ProxyBlob::decode(jpeg, *s, size, page).map_err(|e| corrupt(e.to_string()))?;
        }
        self.decoded
            .fetch_add(wanted.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Clip frames decoded from JPEG since the library was opened (the decode rate of
    /// zoomed-in playback).
    pub fn decoded_frames(&self) -> u64 {
        self.decoded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes the library keeps on disk for `level` (raw pages, or raw stills and clip JPEGs).
    pub fn level_bytes(&self, level: usize) -> u64 {
        let p = self.params();
        let page = stored_bytes(p.stored_extent(level)) as u64;
        if level < p.raw_levels() {
            return self.manifest.records as u64 * page;
        }
        self.manifest.stills as u64 * page
            + self
                .manifest
                .clip_bytes
                .get(level - p.raw_levels())
                .copied()
                .unwrap_or(0)
    }
}

/// Checks what the manifest says about its tiles is possible before anything is read.
fn check_tiles(dir: &Path, m: &Manifest) -> Result<()> {
    let large = m.params.levels() - m.params.raw_levels();
    let corrupt = |t: &TileEntry, what: &str| StoreError::Corrupt {
        path: dir.join(MANIFEST_FILE),
        what: format!("tile {}: {what}", t.source.path),
    };
    for t in &m.tiles {
        if t.frames == 0
            || t.key >= t.frames
            || t.first_record as u64 + t.frames as u64 > m.records as u64
        {
            return Err(corrupt(t, "names records the library does not have"));
        }
        if large > 0 {
            let ok = match (t.still, t.proxy.len()) {
                (Some(s), 0) => t.frames == 1 && s < m.stills,
                (None, n) => {
                    n == large
                        && t.proxy
                            .iter()
                            .zip(&m.clip_bytes)
                            .all(|(&[o, l], &b)| o + l <= b)
                }
                _ => false,
            };
            if !ok {
                return Err(corrupt(
                    t,
                    "names large-level pages the library does not have",
                ));
            }
        }
    }
    Ok(())
}
