//! `tessera synth`: a synthetic library of N distinct procedural tiles, written through the
//! same store writer as a real bake, and a mosaic matched from a procedural target, so scale
//! (18,000 tiles, gigabytes of pages) can be tested without a photo collection.

use crate::cli_util::progress_bar;
use crate::library::pyramid::{build_pyramid, LinearTile};
use crate::library::signature::tile_signature;
use crate::library::store::{SourceKey, StoreParams, StoreWriter, TileEntry};
use crate::matching::{match_cells, target_signatures, KdIndex, MatchOptions};
use crate::mosaic::Mosaic;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct SynthOptions {
    pub tiles: u32,
    pub params: StoreParams,
    pub cells: (u32, u32),
    pub library: PathBuf,
    pub mosaic: PathBuf,
    pub progress: bool,
}

fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

fn unit(h: u32) -> f32 {
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Tile `i`: a base colour spread over the gamut, stripes at an angle and frequency of its
/// own, a disc in a second colour and a frame, so tiles differ at every level.
pub fn synth_tile(i: u32, size: u32) -> LinearTile {
    let h = |k: u32| {
        unit(hash(
            i.wrapping_mul(0x9e37_79b9) ^ k.wrapping_mul(0x85eb_ca6b),
        ))
    };
    let base = [h(1), h(2), h(3)].map(|v| v * v);
    let accent = [h(4), h(5), h(6)].map(|v| v * v);
    let angle = h(7) * std::f32::consts::PI;
    let freq = 2.0 + 14.0 * h(8);
    let (cx, cy, r) = (0.25 + 0.5 * h(9), 0.25 + 0.5 * h(10), 0.1 + 0.25 * h(11));
    let (dx, dy) = (angle.cos(), angle.sin());
    let n = size as f32;
    let mut texels = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let (u, v) = ((x as f32 + 0.5) / n, (y as f32 + 0.5) / n);
            let stripe = 0.75 + 0.25 * ((u * dx + v * dy) * freq * std::f32::consts::TAU).sin();
            let in_disc = (u - cx).powi(2) + (v - cy).powi(2) < r * r;
            let frame = u < 0.03 || v < 0.03 || u > 0.97 || v > 0.97;
            let c = if frame {
                [0.9; 3]
            } else if in_disc {
                accent
            } else {
                base.map(|b| b * stripe)
            };
            texels.push(c);
        }
    }
    LinearTile { size, texels }
}

/// A procedural target: smooth colour fields plus cell-scale noise, so neighbouring cells
/// match different tiles (as photographs do) and the streaming sees many distinct tiles.
fn synth_target(cols: u32, rows: u32) -> image::DynamicImage {
    let (w, h) = (cols.clamp(64, 4096), rows.clamp(64, 4096));
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let noise = |k: u32| {
            unit(hash(
                x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ k.wrapping_mul(0x9e37_79b9),
            )) * 180.0
                - 90.0
        };
        image::Rgb([
            (128.0 + 60.0 * (u * 6.3).sin() + noise(1)).clamp(0.0, 255.0) as u8,
            (128.0 + 60.0 * (v * 4.1 + u).cos() + noise(2)).clamp(0.0, 255.0) as u8,
            (128.0 + 60.0 * ((u + v) * 3.7).sin() + noise(3)).clamp(0.0, 255.0) as u8,
        ])
    }))
}

pub fn synth(opts: &SynthOptions) -> anyhow::Result<Mosaic> {
    let params = opts.params;
    let mut writer = StoreWriter::open(&opts.library, params, false)?;
    let keys: Vec<SourceKey> = (0..opts.tiles)
        .map(|i| SourceKey {
            path: format!("synth/{i:06}"),
            size: params.max_tile as u64,
            mtime_ns: 0,
        })
        .collect();
    let todo: Vec<u32> = (0..opts.tiles)
        .filter(|&i| writer.reusable(&keys[i as usize]).is_none())
        .collect();
    let bar = progress_bar(todo.len() as u64, opts.progress, "synth");
    for chunk in todo.chunks(64) {
        let baked: Vec<_> = chunk
            .par_iter()
            .map(|&i| {
                let top = synth_tile(i, params.max_tile);
                (i, build_pyramid(&top), tile_signature(&top, params.grid))
            })
            .collect();
        for (i, levels, sig) in baked {
            writer.append(keys[i as usize].clone(), &levels, sig)?;
            bar.inc(1);
        }
        writer.checkpoint()?;
    }
    bar.finish_and_clear();
    let tiles: Vec<TileEntry> = keys
        .iter()
        .map(|k| TileEntry {
            record: writer.reusable(k).expect("baked above"),
            source: k.clone(),
        })
        .collect();
    writer.commit(tiles, Vec::new(), "(synthetic)".into())?;

    let library = crate::library::Library::open(&opts.library)?;
    let (cols, rows) = opts.cells;
    let dims = params.sig_len();
    let cells = target_signatures(&synth_target(cols, rows), cols, rows, params.grid);
    let index = KdIndex::build(library.signatures(), dims);
    let grid = match_cells(&cells, cols, &index, dims, MatchOptions::default());
    let mosaic = Mosaic::new(
        &library,
        &opts.mosaic,
        cols,
        rows,
        grid,
        "(synthetic target)".into(),
        0,
    );
    mosaic.save(&opts.mosaic)?;
    Ok(mosaic)
}

/// `OUT.mosaic` → `OUT.tlib` beside it.
pub fn library_beside(mosaic: &Path) -> PathBuf {
    mosaic.with_extension("tlib")
}
