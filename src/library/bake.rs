//! `tessera bake`: a folder of pictures becomes a library of tile pyramids.
//!
//! Sources are decoded in parallel (rayon) in small batches; one writer appends each batch
//! to the store and checkpoints its journal, so an interruption loses at most one batch.
//! Unchanged sources (same path, size, mtime) reuse their pages from earlier bakes.

use super::pyramid::{build_pyramid, LinearTile};
use super::signature::tile_signature;
use super::store::{SkippedSource, SourceKey, StoreParams, StoreWriter, TileEntry};
use anyhow::{bail, Context};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct BakeOptions {
    pub tiles_dir: PathBuf,
    pub out: PathBuf,
    pub params: StoreParams,
    /// Discard what the library holds and bake everything again.
    pub rebuild: bool,
    pub progress: bool,
}

#[derive(Debug)]
pub struct BakeReport {
    pub tiles: usize,
    pub baked: usize,
    pub reused: usize,
    pub skipped: Vec<SkippedSource>,
}

/// Largest picture side accepted; larger claims are refused before any allocation.
pub const MAX_SOURCE_SIDE: u32 = 32_768;

/// Decodes a picture with image's allocation limits, so a decompression bomb is refused.
pub fn decode_image(path: &Path) -> Result<image::DynamicImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a picture in a known format".into());
    }
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    if img.width() == 0 || img.height() == 0 {
        return Err("picture has no pixels".into());
    }
    Ok(img)
}

/// Every regular, non-hidden file below `dir`, sorted, with its reuse key.
pub fn scan_sources(dir: &Path) -> anyhow::Result<Vec<(PathBuf, SourceKey)>> {
    if !dir.is_dir() {
        bail!(
            "{}: tiles folder not found (pass a folder of pictures with --tiles)",
            dir.display()
        );
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("skipping unreadable entry: {e}");
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let meta = entry
            .metadata()
            .with_context(|| entry.path().display().to_string())?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        out.push((
            entry.path().to_path_buf(),
            SourceKey {
                path: rel,
                size: meta.len(),
                mtime_ns,
            },
        ));
    }
    Ok(out)
}

/// A tile's pages and signature, made from one picture.
pub fn bake_tile(image: &image::DynamicImage, params: StoreParams) -> (Vec<Vec<u8>>, Vec<f32>) {
    let top = LinearTile::from_image(image, params.max_tile);
    let signature = tile_signature(&top, params.grid);
    (build_pyramid(&top), signature)
}

pub fn bake(opts: &BakeOptions) -> anyhow::Result<BakeReport> {
    let sources = scan_sources(&opts.tiles_dir)?;
    let existed = opts.out.exists();
    let mut writer = StoreWriter::open(&opts.out, opts.params, opts.rebuild)?;

    let mut tiles = Vec::new();
    let mut todo = Vec::new();
    for (path, key) in sources {
        match writer.reusable(&key) {
            Some(record) => tiles.push(TileEntry {
                source: key,
                record,
            }),
            None => todo.push((path, key)),
        }
    }
    let reused = tiles.len();
    tracing::info!(
        "{} sources reuse earlier pages, {} to bake",
        reused,
        todo.len()
    );

    let bar = crate::cli_util::progress_bar(todo.len() as u64, opts.progress, "baking");
    let mut skipped = Vec::new();
    let batch = (rayon::current_num_threads() * 4).max(8);
    for chunk in todo.chunks(batch) {
        let results: Vec<_> = chunk
            .par_iter()
            .map(|(path, key)| {
                let baked = decode_image(path).map(|img| bake_tile(&img, opts.params));
                (path, key, baked)
            })
            .collect();
        for (path, key, baked) in results {
            match baked {
                Ok((levels, signature)) => {
                    let record = writer.append(key.clone(), &levels, signature)?;
                    tiles.push(TileEntry {
                        source: key.clone(),
                        record,
                    });
                }
                Err(reason) => {
                    bar.suspend(|| tracing::warn!("skipping {}: {reason}", path.display()));
                    skipped.push(SkippedSource {
                        path: key.path.clone(),
                        reason,
                    });
                }
            }
            bar.inc(1);
        }
        writer.checkpoint()?;
    }
    bar.finish_and_clear();

    if tiles.is_empty() {
        drop(writer);
        if !existed {
            let _ = std::fs::remove_dir_all(&opts.out);
        }
        bail!(
            "{}: no usable picture found ({} files skipped); point --tiles at a folder of JPEG, PNG, WebP, BMP, TIFF or GIF files",
            opts.tiles_dir.display(),
            skipped.len()
        );
    }
    let report = BakeReport {
        tiles: tiles.len(),
        baked: tiles.len() - reused,
        reused,
        skipped: skipped.clone(),
    };
    writer.commit(tiles, skipped, opts.tiles_dir.display().to_string())?;
    Ok(report)
}
