//! `tessera merge`: one library from several (the shards of a bake split across machines),
//! without decoding anything again.
//!
//! The merged library holds every source the inputs hold, once. It is written like a bake
//! (the same writer, journal and commit), with the inputs' tiles in place of the tiles
//! folder: pages are copied as stored (raw pages and clip JPEGs alike, each checked against
//! its CRC on the way), signatures too. Merging again into the same output keeps every
//! tile id: sources it already holds keep their tiles, new ones are appended, sources no
//! input holds any more are retired. A first merge appends sources in path order, which
//! is the order a whole bake of the same folder gives them: the two libraries are the same,
//! tile ids and page files byte for byte, but for the library's own id.

use super::bake::{is_unchanged, reconcile, Reconciled};
use super::store::{
    Library, ReadLock, SkippedSource, SourceKey, StoreError, StoreParams, StoreWriter,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What to merge, and where.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// The libraries to merge (shards of one folder, or any libraries baked alike).
    pub inputs: Vec<PathBuf>,
    /// The library to write (made, or brought up to date).
    pub out: PathBuf,
    /// Where the merge shows how far it is (its length is set once the tiles to copy are
    /// known); `None` for no progress display.
    pub progress: Option<indicatif::ProgressBar>,
}

/// What a merge did.
#[derive(Debug)]
pub struct MergeReport {
    /// Tiles matching can use (retired ones not counted).
    pub tiles: usize,
    /// Tiles copied by this run.
    pub copied: usize,
    /// Sources whose tiles the output held already (from an earlier merge).
    pub reused: usize,
    /// Tiles retired: no input holds their source any more.
    pub retired: usize,
    /// Sources held by more than one input (kept once, from the first that holds them).
    pub duplicates: usize,
    /// Bytes of pages copied.
    pub bytes: u64,
    /// Files the inputs' bakes could not use.
    pub skipped: Vec<SkippedSource>,
    /// The output held all of this already: nothing was written.
    pub unchanged: bool,
    /// Shards of the inputs' split that no input is (their sources are not in the output).
    pub missing_shards: Vec<super::Shard>,
}

/// Why a merge stopped. Nothing is published until every tile is copied: the output
/// stays as it was (or, for a first merge, opens as "interrupted, re-run to resume").
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    /// An input or the output could not be read or written.
    Store(#[from] StoreError),
    #[error("{}: is also the merge's output; write the merge to another library with -o", .0.display())]
    /// The output is one of the inputs.
    OutputIsInput(PathBuf),
    #[error("{}: given twice", .0.display())]
    /// An input named twice.
    Repeated(PathBuf),
    #[error("{}: baked with {theirs}, but {} with {ours}; libraries merge only when baked with the same options (re-bake one with the other's)", path.display(), first.display())]
    /// Inputs baked with different parameters.
    ParamsDiffer {
        /// The first input that differs.
        path: PathBuf,
        /// Its parameter.
        theirs: String,
        /// The first input.
        first: PathBuf,
        /// The first input's parameter.
        ours: String,
    },
    #[error("{}: holds {theirs}; the merge would make {ours}: remove it, or write the merge to another library with -o", path.display())]
    /// The output exists with other parameters.
    OutputDiffers {
        /// The output.
        path: PathBuf,
        /// What it holds.
        theirs: String,
        /// What the inputs hold.
        ours: String,
    },
    #[error("no tiles to merge: the inputs hold none")]
    /// Every input is empty.
    Empty,
}

/// One source's tiles, in the input that holds them.
struct Source<'a> {
    library: &'a Library,
    tiles: Vec<u32>,
}

/// Tiles copied between journal checkpoints (and read in parallel).
const BATCH: usize = 64;

/// Merges `opts.inputs` into `opts.out`, resuming an interrupted merge.
pub fn merge(opts: &MergeOptions) -> Result<MergeReport, MergeError> {
    let inputs = open_inputs(&opts.inputs, &opts.out)?;
    let libraries: Vec<&Library> = inputs.iter().map(|(l, _)| l).collect();
    let params = agreed_params(&libraries)?;

    // Every source once, from the first input that holds it.
    let mut sources: HashMap<&SourceKey, Source> = HashMap::new();
    let mut duplicates = HashSet::new();
    for library in &libraries {
        for id in library.active_tiles() {
            let key = &library.tile(id).source;
            let source = sources.entry(key).or_insert(Source {
                library,
                tiles: Vec::new(),
            });
            if std::ptr::eq(source.library, *library) {
                source.tiles.push(id);
            } else {
                duplicates.insert(key);
            }
        }
    }
    let skipped = merged_skipped(&libraries, &sources);

    let existed = opts.out.exists();
    let mut writer = StoreWriter::open(&opts.out, params, false).map_err(|e| match e {
        StoreError::ParamsDiffer { path, what } => MergeError::OutputDiffers {
            path,
            theirs: what,
            ours: params.flags(),
        },
        e => e.into(),
    })?;
    let present: HashSet<&SourceKey> = sources.keys().copied().collect();
    let Reconciled {
        mut tiles,
        kept,
        retired,
        revived,
    } = reconcile(writer.committed(), &present);

    // New sources in the order a whole bake of their folder takes them: by path, a
    // folder's files by name (component-wise, as the bake walks the folder).
    let mut todo: Vec<(&SourceKey, &Source)> = sources
        .iter()
        .filter(|(key, _)| !kept.contains(**key))
        .map(|(key, source)| (*key, source))
        .collect();
    todo.sort_by(|(a, _), (b, _)| {
        (Path::new(&a.path), a.size, a.mtime_ns).cmp(&(Path::new(&b.path), b.size, b.mtime_ns))
    });
    // Each tile to copy, after those an interrupted merge journaled already.
    let mut journaled_by_source = writer.appended_by_source();
    let mut copies: Vec<(&Library, u32)> = Vec::new();
    for (key, source) in &todo {
        let journaled = journaled_by_source.remove(*key).unwrap_or_default();
        let resumed = journaled.len();
        tiles.extend(journaled);
        copies.extend(
            source.tiles[resumed.min(source.tiles.len())..]
                .iter()
                .map(|&id| (source.library, id)),
        );
    }
    tracing::info!(
        "{} sources kept, {} new ({} tiles to copy), {retired} tiles retired",
        kept.len(),
        todo.len(),
        copies.len()
    );

    let bar = super::bake::progress(&opts.progress, copies.len());
    let mut bytes = 0;
    for batch in copies.chunks(BATCH) {
        let pages = batch
            .par_iter()
            .map(|&(library, id)| library.tile_pages(id))
            .collect::<Result<Vec<_>, _>>()?;
        for (&(library, id), pages) in batch.iter().zip(pages) {
            bytes += pages.bytes();
            let signature = library.signature(id).to_vec();
            tiles.push(writer.append_pages(library.tile(id), &pages, signature)?);
            bar.inc(1);
        }
        writer.checkpoint()?;
    }
    bar.finish_and_clear();

    let active = tiles.iter().filter(|t| !t.retired).count();
    if active == 0 {
        drop(writer);
        if !existed {
            let _ = std::fs::remove_dir_all(&opts.out);
        }
        return Err(MergeError::Empty);
    }
    let unchanged = is_unchanged(writer.committed(), tiles.len(), retired, revived, &skipped);
    let report = MergeReport {
        tiles: active,
        copied: copies.len(),
        reused: kept.len(),
        retired,
        duplicates: duplicates.len(),
        bytes,
        skipped: skipped.clone(),
        unchanged,
        missing_shards: missing_shards(&libraries),
    };
    if unchanged {
        writer.abandon()?;
    } else {
        writer.set_shard(None);
        writer.commit(tiles, skipped, tiles_root(&libraries))?;
    }
    Ok(report)
}

/// Opens every input, holding each against bakes while the merge reads it; refuses the
/// output among them and an input named twice.
fn open_inputs(
    paths: &[PathBuf],
    out: &Path,
) -> Result<Vec<(Library, Option<ReadLock>)>, MergeError> {
    let out_real = std::fs::canonicalize(out).ok();
    let mut seen = HashSet::new();
    let mut inputs = Vec::with_capacity(paths.len());
    for path in paths {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if out_real.as_ref() == Some(&real) {
            return Err(MergeError::OutputIsInput(path.clone()));
        }
        if !seen.insert(real) {
            return Err(MergeError::Repeated(path.clone()));
        }
        // Held before opening, so no bake commits between the two.
        let lock = path.is_dir().then(|| ReadLock::take(path)).transpose()?;
        inputs.push((Library::open(path)?, lock));
    }
    Ok(inputs)
}

/// The parameters every input was baked with, or the first difference.
fn agreed_params(libraries: &[&Library]) -> Result<StoreParams, MergeError> {
    let first = libraries[0];
    let ours = first.params();
    for library in &libraries[1..] {
        let theirs = library.params();
        let differ = |name: &str, a: String, b: String| MergeError::ParamsDiffer {
            path: library.dir.clone(),
            theirs: format!("{name} {b}"),
            first: first.dir.clone(),
            ours: format!("{name} {a}"),
        };
        let field = |name, a: &dyn ToString, b: &dyn ToString| (name, a.to_string(), b.to_string());
        let fields = [
            field("--max-tile", &ours.max_tile, &theirs.max_tile),
            field("--grid", &ours.grid, &theirs.grid),
            field("--raw-max", &ours.raw_max, &theirs.raw_max),
            field("--tile-fps", &ours.clip_fps, &theirs.clip_fps),
            field("--tile-aspect", &ours.tile_aspect, &theirs.tile_aspect),
            field("--fit", &ours.tile_fit, &theirs.tile_fit),
        ];
        if let Some((name, a, b)) = fields.into_iter().find(|(_, a, b)| a != b) {
            return Err(differ(name, a, b));
        }
    }
    Ok(ours)
}

/// The files the inputs' bakes skipped, once each by path, leaving out any that another
/// input baked.
fn merged_skipped(
    libraries: &[&Library],
    sources: &HashMap<&SourceKey, Source>,
) -> Vec<SkippedSource> {
    let baked: HashSet<&str> = sources.keys().map(|k| k.path.as_str()).collect();
    let mut skipped: BTreeMap<&str, &SkippedSource> = BTreeMap::new();
    for library in libraries {
        for s in &library.manifest.skipped {
            if !baked.contains(s.path.as_str()) {
                skipped.entry(&s.path).or_insert(s);
            }
        }
    }
    skipped.into_values().cloned().collect()
}

/// The tiles folder the merged library names: the inputs' (they differ when shards were
/// baked on machines that mount the folder at different places; the first input's wins).
fn tiles_root(libraries: &[&Library]) -> String {
    let root = &libraries[0].manifest.tiles_root;
    if let Some(other) = libraries.iter().find(|l| l.manifest.tiles_root != *root) {
        tracing::warn!(
            "{} was baked from {}, {} from {}; the merged library names {root}",
            libraries[0].dir.display(),
            root,
            other.dir.display(),
            other.manifest.tiles_root
        );
    }
    root.clone()
}

/// Shards of the inputs' split that are not among them: where every input is a shard of
/// the same count N, those of 1..=N no input is.
fn missing_shards(libraries: &[&Library]) -> Vec<super::Shard> {
    let shards: Vec<super::Shard> = libraries.iter().filter_map(|l| l.manifest.shard).collect();
    let Some(count) = shards.first().map(|s| s.count) else {
        return Vec::new();
    };
    if shards.len() != libraries.len() || shards.iter().any(|s| s.count != count) {
        return Vec::new();
    }
    (1..=count)
        .filter(|&k| !shards.iter().any(|s| s.index == k))
        .map(|index| super::Shard { index, count })
        .collect()
}
