//! `tessera bake`: a folder of pictures into a tile library (and, with --target, a mosaic).

use super::args::CellArgs;
use super::matching::write_mosaic;
use super::progress::progress_bar;
use anyhow::Context as _;
use clap::Args;
use std::path::{Path, PathBuf};
use tessera::library::{self, BakeOptions, Shard, StoreParams, TileAspect, TileFit};
use tessera::video::ShotOptions;

/// The signature grid of a new library: 3×3 sub-cells match the layout of colour within a
/// cell (edges, horizons), which a single mean cannot.
const DEFAULT_GRID: u32 = 3;

#[derive(Args)]
pub struct BakeArgs {
    /// Folder of pictures (searched recursively; hidden files are left out).
    #[arg(long)]
    tiles: PathBuf,
    /// Output: the library folder, or with --target the mosaic file.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Library folder when --target is given (default: <tiles folder name>.tlib here).
    #[arg(long)]
    library: Option<PathBuf>,
    /// Largest tile side in texels (power of two, 1..=1024) [default: the library's, else 256].
    #[arg(long)]
    max_tile: Option<u32>,
    /// Signature grid: each tile's colour is described by grid×grid CIELAB sub-cells
    /// [default: the library's, else 3].
    #[arg(long)]
    grid: Option<u32>,
    /// Largest page side kept raw for every frame of a clip (a power of two); larger levels
    /// of clips are kept as JPEG [default: the library's, else 64].
    #[arg(long)]
    raw_max: Option<u32>,
    /// Frames per second clips are sampled at and play at [default: the library's, else 12].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
    tile_fps: Option<u32>,
    /// Every tile's width to height, e.g. 16:9 for whole video frames or 3:2 for
    /// photographs [default: the library's, else 1:1].
    #[arg(long, value_name = "W:H")]
    tile_aspect: Option<TileAspect>,
    /// How a picture or video of another shape than the tiles' becomes a tile: `crop`
    /// fills the tile with its middle, `pad` shows it whole on black bars
    /// [default: the library's, else crop].
    #[arg(long, value_name = "crop|pad")]
    fit: Option<TileFit>,
    /// Throw away what the library holds and bake every picture again. Tile ids start over,
    /// so mosaics matched against the old library must be matched again.
    #[arg(long)]
    rebuild: bool,
    /// Target picture (or video) to match right after baking.
    #[arg(long)]
    target: Option<PathBuf>,
    #[command(flatten)]
    cells: CellArgs,
    #[command(flatten)]
    shots: ShotArgs,
    #[command(flatten)]
    split: SplitArgs,
}

/// How the work is split: across processes or machines (shards), and across cores.
#[derive(Args)]
#[command(next_help_heading = "Splitting the work (see docs/cluster.md)")]
struct SplitArgs {
    /// Bake only shard K of N of the folder's files (K counts from 1) into a library of
    /// its own; `tessera merge` joins the shards into one. A file's shard follows from its
    /// path alone, so every machine agrees. `auto` takes K and N from a Slurm job array
    /// (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with
    /// --shards).
    #[arg(long, value_name = "K/N|auto")]
    shard: Option<String>,
    /// How many shards, where the scheduler does not say (a Kubernetes Indexed Job's
    /// completions); implies --shard auto.
    #[arg(long, value_name = "N")]
    shards: Option<u32>,
    /// Threads to bake with: pictures, pyramids, FFmpeg's video decoding [default: every
    /// core this process may use]. Set it to a container's CPU limit.
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
}

impl SplitArgs {
    /// The shard asked for: given, or the scheduler's.
    fn shard(&self) -> anyhow::Result<Option<Shard>> {
        match (self.shard.as_deref(), self.shards) {
            (None, None) => Ok(None),
            (Some(text), count) if text != "auto" => {
                let shard = Shard::parse(text)?;
                if let Some(n) = count {
                    anyhow::ensure!(
                        n == shard.count,
                        "--shards {n} disagrees with --shard {shard}; give one of them"
                    );
                }
                Ok(Some(shard))
            }
            (_, count) => Ok(Some(Shard::from_scheduler(
                |name| std::env::var(name).ok(),
                count,
            )?)),
        }
    }

    /// Limits the bake's threads to --jobs (the process's thread pool, and FFmpeg's).
    fn apply_jobs(&self) -> anyhow::Result<()> {
        if let Some(jobs) = self.jobs {
            rayon::ThreadPoolBuilder::new()
                .num_threads(jobs as usize)
                .build_global()
                .context("--jobs: the thread pool was started already")?;
            tessera::video::set_decode_threads(jobs as usize);
        }
        Ok(())
    }
}

/// How videos among the sources are cut into shots, each shot a clip tile.
#[derive(Args)]
#[command(next_help_heading = "Videos (cut into shots; each shot is a tile that plays)")]
struct ShotArgs {
    /// A cut is where consecutive frames differ by more than this (mean absolute
    /// difference of small thumbnails, 0–255).
    #[arg(long, default_value_t = ShotOptions::default().threshold)]
    shot_threshold: f32,
    /// Shortest shot, seconds: cuts sooner after the last one are ignored.
    #[arg(long, default_value_t = ShotOptions::default().min_shot)]
    min_shot: f64,
    /// Longest shot, seconds: longer shots are split into parts this long.
    #[arg(long, default_value_t = ShotOptions::default().max_shot)]
    max_shot: f64,
}

impl ShotArgs {
    fn options(&self) -> anyhow::Result<ShotOptions> {
        anyhow::ensure!(
            self.shot_threshold.is_finite() && self.shot_threshold > 0.0,
            "--shot-threshold {}: must be a positive number (0–255)",
            self.shot_threshold
        );
        anyhow::ensure!(
            self.min_shot.is_finite() && self.min_shot >= 0.0,
            "--min-shot {}: must be 0 or more seconds",
            self.min_shot
        );
        anyhow::ensure!(
            self.max_shot.is_finite() && self.max_shot > self.min_shot.max(0.05),
            "--max-shot {}: must be longer than --min-shot ({}) and 0.05 s",
            self.max_shot,
            self.min_shot
        );
        Ok(ShotOptions {
            threshold: self.shot_threshold,
            min_shot: self.min_shot,
            max_shot: self.max_shot,
        })
    }
}

/// ", N retired: WHY" where a run retired tiles, else nothing.
pub fn retired_note(retired: usize, why: &str) -> String {
    match retired {
        0 => String::new(),
        n => format!(", {n} retired: {why}"),
    }
}

/// Lists the first files a bake (or the bakes a merge joined) could not use.
pub fn print_skipped(skipped: &[library::SkippedSource], library: &Path) {
    for s in skipped.iter().take(10) {
        println!("  skipped {}: {}", s.path, s.reason);
    }
    if skipped.len() > 10 {
        println!(
            "  ... and {} more (see `tessera info {}`)",
            skipped.len() - 10,
            library.display()
        );
    }
}

fn default_library_path(tiles: &Path) -> PathBuf {
    let name = std::path::absolute(tiles)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tiles".into());
    PathBuf::from(format!("{name}.tlib"))
}

pub fn run(a: BakeArgs) -> anyhow::Result<()> {
    let library_path = match (&a.target, &a.output) {
        (None, Some(out)) => out.clone(),
        _ => a
            .library
            .clone()
            .unwrap_or_else(|| default_library_path(&a.tiles)),
    };
    // Options not given keep what the library was baked with, so a re-bake needs only
    // --tiles and -o.
    let existing = library::existing_params(&library_path);
    let max_tile = a.max_tile.or(existing.map(|p| p.max_tile)).unwrap_or(256);
    let defaults = StoreParams::new(max_tile, 1);
    let params = StoreParams {
        max_tile,
        grid: a.grid.or(existing.map(|p| p.grid)).unwrap_or(DEFAULT_GRID),
        raw_max: a
            .raw_max
            .or(existing.map(|p| p.raw_max))
            .unwrap_or(defaults.raw_max),
        clip_fps: a
            .tile_fps
            .or(existing.map(|p| p.clip_fps))
            .unwrap_or(defaults.clip_fps),
        tile_aspect: a
            .tile_aspect
            .or(existing.map(|p| p.tile_aspect))
            .unwrap_or_default(),
        tile_fit: a.fit.or(existing.map(|p| p.tile_fit)).unwrap_or_default(),
    };
    anyhow::ensure!(
        params.max_tile.is_power_of_two() && params.max_tile <= 1024,
        "--max-tile {}: must be a power of two up to 1024",
        params.max_tile
    );
    anyhow::ensure!(
        params.raw_max.is_power_of_two() && params.raw_max <= params.max_tile,
        "--raw-max {}: must be a power of two up to --max-tile ({})",
        params.raw_max,
        params.max_tile
    );
    anyhow::ensure!(
        (1..=8).contains(&params.grid),
        "--grid {}: must be 1..=8",
        params.grid
    );
    let shard = a.split.shard()?;
    a.split.apply_jobs()?;
    let opts = BakeOptions {
        tiles_dir: a.tiles.clone(),
        out: library_path.clone(),
        params,
        rebuild: a.rebuild,
        progress: Some(progress_bar(0, true, "baking")),
        shots: a.shots.options()?,
        shard,
    };
    let name = match shard {
        Some(s) => format!("{} (shard {s})", library_path.display()),
        None => library_path.display().to_string(),
    };
    let started = std::time::Instant::now();
    let report = library::bake(&opts)?;
    if report.upgraded {
        println!("library {name}: upgraded to the current format (tile ids and mosaics kept)");
    }
    if report.unchanged {
        println!(
            "library {name}: unchanged, {} tiles ({} skipped), in {:.1} s",
            report.tiles,
            report.skipped.len(),
            started.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "library {name}: {} tiles ({} baked, {} reused{}), {} skipped, in {:.1} s",
            report.tiles,
            report.baked,
            report.reused,
            retired_note(report.retired, "removed or changed"),
            report.skipped.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if report.videos > 0 {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        println!(
            "  {} clips cut from {} videos ({:.0} s of video, {:.1}× real time)",
            report.clips,
            report.videos,
            report.video_seconds,
            report.video_seconds / secs
        );
    }
    for w in &report.warnings {
        println!("  partly used {}: {}", w.path, w.reason);
    }
    print_skipped(&report.skipped, &library_path);
    if let Some(target) = &a.target {
        let out = a.output.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "{}.mosaic",
                target
                    .file_stem()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default()
            ))
        });
        write_mosaic(&library_path, target, &a.cells, &out)?;
    }
    Ok(())
}
