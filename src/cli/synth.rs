//! `tessera synth`: a synthetic library of N distinct procedural tiles, written through the
//! same store writer as a real bake, and a mosaic matched from a procedural target, so scale
//! (18,000 tiles, gigabytes of pages) can be tested without a photo collection.

use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tessera::library::procedural::{synth_target, synth_tile};
use tessera::library::pyramid::build_pyramid;
use tessera::library::signature::tile_signature;
use tessera::library::store::{SourceKey, StoreParams, StoreWriter, TileEntry};
use tessera::matching::{match_cells, target_signatures, KdIndex, MatchOptions};
use tessera::mosaic::Mosaic;
use tessera::progress::progress_bar;

#[derive(Args)]
pub struct SynthArgs {
    /// Number of distinct tiles.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    tiles: u32,
    /// Largest tile side (power of two up to 1024).
    #[arg(long, default_value_t = 256)]
    max_tile: u32,
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
    let library = a
        .library
        .clone()
        .unwrap_or_else(|| library_beside(&a.output));
    let started = std::time::Instant::now();
    let mosaic = synth(&SynthOptions {
        tiles: a.tiles,
        params: StoreParams {
            max_tile: a.max_tile,
            grid: a.grid,
        },
        cells: a.cells,
        library: library.clone(),
        mosaic: a.output.clone(),
        progress: true,
    })?;
    let (distinct, _, top) = mosaic.usage();
    println!(
        "synthetic library {} ({} tiles) and mosaic {} ({}×{} cells, {} distinct tiles, most repeated {}×) in {:.1} s",
        library.display(),
        a.tiles,
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
    pub params: StoreParams,
    pub cells: (u32, u32),
    pub library: PathBuf,
    pub mosaic: PathBuf,
    pub progress: bool,
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
            retired: false,
        })
        .collect();
    writer.commit(tiles, Vec::new(), "(synthetic)".into())?;

    let library = tessera::library::Library::open(&opts.library)?;
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
