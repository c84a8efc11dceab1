//! `tessera synth`: a synthetic library of N distinct procedural tiles, written through the
//! same store writer as a real bake, and a mosaic matched from a procedural target, so scale
//! (18,000 tiles, gigabytes of pages) can be tested without a photo collection.

use crate::cli::progress::progress_bar;
use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tessera::library::build_shaped_pyramid;
use tessera::library::{clip_signature, tile_signature_in};
use tessera::library::{synth_frame, synth_target};
use tessera::library::{ClipFrame, SourceKey, StoreParams, StoreWriter, TileEntry};
use tessera::matching::{match_cells, target_cells_for, KdIndex, MatchOptions};
use tessera::mosaic::Mosaic;

#[derive(Args)]
pub struct SynthArgs {
    /// Number of distinct still tiles.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    tiles: u32,
    /// Number of distinct moving clips (after the stills).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    clips: u32,
    /// Frames of each clip.
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    frames: u32,
    /// Largest tile side (power of two up to 1024).
    #[arg(long, default_value_t = 256)]
    max_tile: u32,
    /// The tiles' width to height, as for bake (the procedural pattern's top-left part).
    #[arg(long, value_name = "W:H", default_value = "1:1")]
    tile_aspect: tessera::library::TileAspect,
    /// Signature grid (as for bake).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    grid: u32,
    /// Cell grid of the mosaic, e.g. 1920x1080.
    #[arg(long, value_parser = super::util::parse_size)]
    cells: (u32, u32),
    /// Mosaic file to write; the library goes beside it as OUT.tlib unless --library says.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long)]
    library: Option<PathBuf>,
}

pub fn command(a: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.max_tile.is_power_of_two() && a.max_tile <= 1024,
        "--max-tile {}: must be a power of two up to 1024",
        a.max_tile
    );
    anyhow::ensure!(
        a.tiles + a.clips > 0,
        "nothing to make: give --tiles N (stills) and/or --clips N (clips of --frames F)"
    );
    let library = a
        .library
        .clone()
        .unwrap_or_else(|| library_beside(&a.output));
    let started = std::time::Instant::now();
    let mosaic = synth(&SynthOptions {
        tiles: a.tiles,
        clips: a.clips,
        frames: a.frames,
        params: StoreParams {
            tile_aspect: a.tile_aspect,
            ..StoreParams::new(a.max_tile, a.grid)
        },
        cells: a.cells,
        library: library.clone(),
        mosaic: a.output.clone(),
        progress: true,
    })?;
    let (distinct, _, top) = mosaic.usage();
    println!(
        "synthetic library {} ({} stills, {} clips of {} frames) and mosaic {} ({}×{} cells, {} distinct tiles, most repeated {}×) in {:.1} s",
        library.display(),
        a.tiles,
        a.clips,
        a.frames,
        a.output.display(),
        a.cells.0,
        a.cells.1,
        distinct,
        top,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub struct SynthOptions {
    pub tiles: u32,
    pub clips: u32,
    pub frames: u32,
    pub params: StoreParams,
    pub cells: (u32, u32),
    pub library: PathBuf,
    pub mosaic: PathBuf,
    pub progress: bool,
}

pub fn synth(opts: &SynthOptions) -> anyhow::Result<Mosaic> {
    let params = opts.params;
    let mut writer = StoreWriter::open(&opts.library, params, false)?;
    // Tile i < tiles is still i; the rest are clips.
    let count = opts.tiles + opts.clips;
    let keys: Vec<SourceKey> = (0..count)
        .map(|i| SourceKey {
            path: if i < opts.tiles {
                format!("synth/{i:06}")
            } else {
                format!("synth/clip-{i:06}-{}", opts.frames)
            },
            size: params.max_tile as u64,
            mtime_ns: 0,
        })
        .collect();
    // Tiles made by an earlier run (committed, or journaled by an interrupted one) stay.
    let committed: std::collections::HashMap<SourceKey, TileEntry> = writer
        .committed()
        .map(|m| {
            m.tiles
                .iter()
                .map(|t| (t.source.clone(), t.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut tiles: Vec<Option<TileEntry>> = keys
        .iter()
        .map(|k| {
            committed
                .get(k)
                .cloned()
                .or_else(|| writer.appended_from(k).pop())
        })
        .collect();
    let todo: Vec<u32> = (0..count)
        .filter(|&i| tiles[i as usize].is_none())
        .collect();
    let bar = progress_bar(todo.len() as u64, opts.progress, "synth");
    let frames_of = |i: u32| if i < opts.tiles { 1 } else { opts.frames };
    let per_chunk = (4096 / frames_of(count - 1)).clamp(1, 64) as usize;
    for chunk in todo.chunks(per_chunk) {
        let baked: Vec<_> = chunk
            .par_iter()
            .map(|&i| {
                let n = frames_of(i);
                let (aspect, extent) = (
                    params.tile_aspect,
                    params.tile_aspect.extent(params.max_tile),
                );
                let frames: Vec<_> = (0..n)
                    .map(|f| {
                        let mut top = synth_frame(i, f, n, params.max_tile);
                        top.repeat_edges(extent);
                        let pyramid = build_shaped_pyramid(&top, top.to_srgb8(), aspect);
                        (pyramid, tile_signature_in(&top, params.grid, extent))
                    })
                    .collect();
                (i, frames)
            })
            .collect();
        for (i, frames) in baked {
            let key = keys[i as usize].clone();
            let tile = if frames.len() == 1 {
                let (levels, sig) = frames.into_iter().next().expect("one frame");
                writer.append_still(key, &levels, sig)?
            } else {
                let sigs: Vec<Vec<f32>> = frames.iter().map(|f| f.1.clone()).collect();
                let (signature, key_frame) = clip_signature(&sigs);
                let pages: Vec<ClipFrame> = frames
                    .into_par_iter()
                    .map(|f| ClipFrame::new(f.0, &params))
                    .collect();
                writer.append_clip(key, None, &pages, key_frame, signature)?
            };
            tiles[i as usize] = Some(tile);
            bar.inc(1);
        }
        writer.checkpoint()?;
    }
    bar.finish_and_clear();
    let tiles: Vec<TileEntry> = tiles.into_iter().map(|t| t.expect("made above")).collect();
    writer.commit(tiles, Vec::new(), "(synthetic)".into())?;

    let library = tessera::library::Library::open(&opts.library)?;
    let (cols, rows) = opts.cells;
    let dims = params.sig_len();
    let cells = target_cells_for(
        &synth_target(cols, rows),
        (cols, rows),
        params.grid,
        params.tile_aspect,
    );
    let index = KdIndex::build(library.signatures(), dims);
    let grid = match_cells(
        &cells.signatures,
        cols,
        &index,
        dims,
        MatchOptions::default(),
    );
    let mosaic = Mosaic::new(
        &library,
        &opts.mosaic,
        cols,
        rows,
        grid,
        "(synthetic target)".into(),
        0,
    )
    .with_colours(cells.colours);
    mosaic.save(&opts.mosaic)?;
    Ok(mosaic)
}

/// `OUT.mosaic` → `OUT.tlib` beside it.
pub fn library_beside(mosaic: &Path) -> PathBuf {
    mosaic.with_extension("tlib")
}
