//! Version 1 libraries (stills only; every level raw, page CRCs in a records table): read
//! as they are, and upgraded to the current version by the next bake, keeping every tile id.

use super::*;
use std::os::unix::fs::FileExt;

/// The version 1 manifest, field for field (its checksum covers it as serialised).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ManifestV1 {
    format: String,
    version: u32,
    library_id: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    generation: u32,
    max_tile: u32,
    grid: u32,
    records: u32,
    records_file: String,
    records_crc32: u32,
    tiles: Vec<TileV1>,
    skipped: Vec<SkippedSource>,
    tiles_root: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TileV1 {
    #[serde(flatten)]
    source: SourceKey,
    record: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retired: bool,
}

#[derive(Serialize, Deserialize)]
struct ManifestFileV1 {
    manifest: ManifestV1,
    crc32: u32,
}

pub fn level_file_name(level: usize) -> String {
    format!("level-{level:02}.bin")
}

/// A version 1 library's manifest and records table, checked.
pub(crate) struct V1Library {
    manifest: ManifestV1,
    /// Per record: `levels` CRCs, then the signature.
    table: Vec<u32>,
}

pub(crate) fn read(dir: &Path, value: serde_json::Value) -> Result<V1Library> {
    let path = dir.join(MANIFEST_FILE);
    let corrupt = |path: &Path, what: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        what,
    };
    let file: ManifestFileV1 =
        serde_json::from_value(value).map_err(|e| corrupt(&path, format!("bad manifest ({e})")))?;
    if crc32fast::hash(&serde_json::to_vec(&file.manifest).expect("serialises")) != file.crc32 {
        return Err(corrupt(&path, "manifest checksum mismatch".into()));
    }
    let m = file.manifest;
    let params = StoreParams {
        max_tile: m.max_tile,
        grid: m.grid,
        raw_max: m.max_tile,
        clip_fps: DEFAULT_CLIP_FPS,
        tile_aspect: Default::default(),
        tile_fit: Default::default(),
    };
    params
        .validate()
        .map_err(|e| corrupt(&path, format!("impossible parameters: {e}")))?;
    let table_path = dir.join(&m.records_file);
    let bytes = fs::read(&table_path).map_err(io_err(&table_path))?;
    let entry = 4 * (params.levels() + params.sig_len());
    if bytes.len() != m.records as usize * entry {
        return Err(corrupt(
            &table_path,
            format!(
                "records table holds {} bytes, expected {}",
                bytes.len(),
                m.records as usize * entry
            ),
        ));
    }
    if crc32fast::hash(&bytes) != m.records_crc32 {
        return Err(corrupt(
            &table_path,
            "records table checksum mismatch".into(),
        ));
    }
    if let Some(bad) = m.tiles.iter().find(|t| t.record >= m.records) {
        return Err(corrupt(
            &path,
            format!("tile {} names a missing record", bad.source.path),
        ));
    }
    let table = bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    Ok(V1Library { manifest: m, table })
}

impl V1Library {
    pub fn params(&self) -> StoreParams {
        StoreParams {
            max_tile: self.manifest.max_tile,
            grid: self.manifest.grid,
            raw_max: self.manifest.max_tile,
            clip_fps: DEFAULT_CLIP_FPS,
            tile_aspect: Default::default(),
            tile_fit: Default::default(),
        }
    }

    /// The library as the current version sees it (every level raw, so no large levels),
    /// each tile's signature, and the CRC of every record × level.
    pub fn into_parts(self) -> (Manifest, Vec<f32>, Vec<u32>) {
        let p = self.params();
        let (levels, sig) = (p.levels(), p.sig_len());
        let entry = levels + sig;
        let m = self.manifest;
        let mut signatures = Vec::with_capacity(m.tiles.len() * sig);
        for t in &m.tiles {
            let at = t.record as usize * entry + levels;
            signatures.extend(self.table[at..at + sig].iter().map(|&w| f32::from_bits(w)));
        }
        let crcs = self
            .table
            .chunks_exact(entry)
            .flat_map(|e| e[..levels].iter().copied())
            .collect();
        let manifest = Manifest {
            format: m.format,
            version: 1,
            library_id: m.library_id,
            generation: m.generation,
            params: p,
            records: m.records,
            stills: 0,
            clip_bytes: Vec::new(),
            signatures_file: m.records_file,
            signatures_crc32: m.records_crc32,
            tiles: m
                .tiles
                .into_iter()
                .map(|t| TileEntry {
                    source: t.source,
                    shot: None,
                    first_record: t.record,
                    frames: 1,
                    key: 0,
                    still: None,
                    proxy: Vec::new(),
                    retired: t.retired,
                })
                .collect(),
            skipped: m.skipped,
            tiles_root: m.tiles_root,
            shard: None,
        };
        (manifest, signatures, crcs)
    }
}

/// Rewrites a version 1 library at `dir` in the current version with `params` (the same
/// tile size and grid; `raw_max` and `clip_fps` for the clips to come), keeping every tile
/// id and the library's id, so its mosaics still open. New files first, then the manifest
/// (the commit), then the old files go: an interruption leaves the version 1 library as it
/// was.
pub(crate) fn upgrade(dir: &Path, v1: V1Library, params: StoreParams) -> Result<Manifest> {
    let (old, signatures, crcs) = v1.into_parts();
    let levels = params.levels();
    let raw = params.raw_levels();
    let records = old.records;
    tracing::info!(
        "upgrading {} from library format version 1 to {FORMAT_VERSION} ({records} records)",
        dir.display()
    );
    const CHUNK_BYTES: usize = 4 << 20;
    for level in 0..levels {
        let from = dir.join(level_file_name(level));
        let to = dir.join(if level < raw {
            frames_file_name(level)
        } else {
            stills_file_name(level)
        });
        let src = fs::File::open(&from).map_err(io_err(&from))?;
        let mut dst = std::io::BufWriter::new(fs::File::create(&to).map_err(io_err(&to))?);
        let bytes = page_bytes(level);
        let per_chunk = (CHUNK_BYTES / bytes).max(1);
        let mut buf = vec![0u8; per_chunk * bytes];
        for first in (0..records as usize).step_by(per_chunk) {
            let n = per_chunk.min(records as usize - first);
            let chunk = &mut buf[..n * bytes];
            src.read_exact_at(chunk, (first * bytes) as u64)
                .map_err(io_err(&from))?;
            for (i, page) in chunk.chunks_exact(bytes).enumerate() {
                let crc = crcs[(first + i) * levels + level];
                if crc32fast::hash(page) != crc {
                    return Err(StoreError::Corrupt {
                        path: from.clone(),
                        what: format!("page of record {} fails its checksum", first + i),
                    });
                }
                use std::io::Write;
                dst.write_all(page).map_err(io_err(&to))?;
                dst.write_all(&crc.to_le_bytes()).map_err(io_err(&to))?;
            }
        }
        let file = dst.into_inner().map_err(|e| io_err(&to)(e.into_error()))?;
        file.sync_all().map_err(io_err(&to))?;
    }
    for level in raw..levels {
        let path = dir.join(clips_file_name(level));
        fs::File::create(&path).map_err(io_err(&path))?;
    }
    let old_table = old.signatures_file.clone();
    let generation = old.generation + 1;
    let signatures_file = format!("signatures-{}-{generation:04}.bin", old.library_id);
    let sig_bytes = serialize_signatures(&signatures);
    write_synced(&dir.join(&signatures_file), &sig_bytes)?;
    let large = levels - raw;
    let manifest = Manifest {
        version: FORMAT_VERSION,
        generation,
        params,
        stills: if large > 0 { records } else { 0 },
        clip_bytes: vec![0; large],
        signatures_file,
        signatures_crc32: crc32fast::hash(&sig_bytes),
        tiles: old
            .tiles
            .into_iter()
            .map(|t| TileEntry {
                still: (large > 0).then_some(t.first_record),
                ..t
            })
            .collect(),
        ..old
    };
    write_manifest(dir, &manifest)?;
    // Committed: the version 1 files are no longer named by anything.
    for level in 0..levels {
        let _ = fs::remove_file(dir.join(level_file_name(level)));
    }
    let _ = fs::remove_file(dir.join(old_table));
    Ok(manifest)
}
