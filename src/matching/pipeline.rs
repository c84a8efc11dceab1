//! Target picture + library → mosaic: the matching step end to end.

use super::{match_cells, target_cells_for, CellSpec, KdIndex, MatchOptions};
use crate::library::bake::decode_target;
use crate::library::Library;
use crate::mosaic::Mosaic;
use std::path::Path;

/// A target longer than this many times its width (or the other way) is warned about: its
/// cells are counted from the width, and a strip of a picture becomes a very long grid.
const EXTREME_ASPECT: f64 = 16.0;

/// Why a still target could not be matched.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("{}: cannot read target picture: {source}", path.display())]
    Target {
        path: std::path::PathBuf,
        source: crate::library::bake::PictureError,
    },
    #[error("{cols}×{rows} cells is more than tessera handles (64 M); choose a smaller --cells")]
    TooManyCells { cols: u32, rows: u32 },
    #[error("--max-uses {max_uses} with {tiles} tiles covers {covered} cells and the grid has {cells}: use --max-uses {needed} or more, or fewer cells")]
    TooFewUses {
        max_uses: u32,
        tiles: usize,
        covered: u64,
        cells: u64,
        needed: u64,
    },
}

/// Matches `target` against `library` and returns the mosaic (not yet saved).
pub fn make_mosaic(
    library: &Library,
    target: &Path,
    cells: CellSpec,
    opts: MatchOptions,
    mosaic_path: &Path,
) -> Result<Mosaic, MatchError> {
    let img = decode_target(target).map_err(|source| MatchError::Target {
        path: target.to_path_buf(),
        source,
    })?;
    let tile_aspect = library.params().tile_aspect;
    let (cols, rows) = cells.resolve_for(img.width(), img.height(), tile_aspect);
    let aspect = img.width().max(img.height()) as f64 / img.width().min(img.height()) as f64;
    if aspect > EXTREME_ASPECT {
        tracing::warn!(
            "{}: a {}×{} target is {aspect:.0} times as long as it is wide: {cols}×{rows} cells; give --cells WxH if that is not what you meant",
            target.display(),
            img.width(),
            img.height()
        );
    }
    let count = cols as u64 * rows as u64;
    if count > 64 << 20 {
        return Err(MatchError::TooManyCells { cols, rows });
    }
    let (active, signatures, _) = active_signatures(library);
    let covered = active.len() as u64 * opts.max_uses as u64;
    if opts.max_uses > 0 && covered < count {
        return Err(MatchError::TooFewUses {
            max_uses: opts.max_uses,
            tiles: active.len(),
            covered,
            cells: count,
            needed: count.div_ceil(active.len().max(1) as u64),
        });
    }
    let grid_k = library.params().grid;
    let dims = crate::library::signature::signature_len(grid_k);
    let t = std::time::Instant::now();
    let cells = target_cells_for(&img, (cols, rows), grid_k, tile_aspect);
    let t_sig = t.elapsed();
    // Lightness weighted the same on both sides: distances in the space matching uses.
    let weight = opts.lightness_weight(grid_k);
    let (mut signatures, mut cells) = (signatures, cells);
    super::weight_lightness(&mut signatures, weight);
    super::weight_lightness(&mut cells.signatures, weight);
    let index = KdIndex::build(&signatures, dims);
    let grid: Vec<u32> = match_cells(&cells.signatures, cols, &index, dims, opts)
        .into_iter()
        .map(|i| active[i as usize])
        .collect();
    tracing::info!(
        "matched {cols}×{rows} cells against {} tiles: signatures {:?}, matching {:?}",
        active.len(),
        t_sig,
        t.elapsed() - t_sig
    );
    Ok(Mosaic::new(
        library,
        mosaic_path,
        cols,
        rows,
        grid,
        target.display().to_string(),
        opts.repeat_radius,
    )
    .with_target_file(mosaic_path, target, (img.width(), img.height()))
    .with_colours(cells.colours)
    .with_use_limits(opts.max_uses, opts.use_all))
}

/// The tiles matching may choose (retired tiles, their pictures removed or changed, never
/// are), their signatures in the same order, and the floats per signature.
pub fn active_signatures(library: &Library) -> (Vec<u32>, Vec<f32>, usize) {
    let dims = crate::library::signature::signature_len(library.params().grid);
    let active = library.active_tiles();
    let signatures = active
        .iter()
        .flat_map(|&t| &library.signatures()[t as usize * dims..][..dims])
        .copied()
        .collect();
    (active, signatures, dims)
}
