//! `tessera match`: a target picture or video against a library, into a mosaic file.

use super::args::CellArgs;
use clap::Args;
use std::path::{Path, PathBuf};
use tessera::library::Library;
use tessera::matching::make_mosaic;
use tessera::matching::FrameMatchOptions;

#[derive(Args)]
pub struct MatchArgs {
    /// The tile library to match against (a folder made by `tessera bake`).
    #[arg(long)]
    library: PathBuf,
    /// The picture the mosaic reproduces, or a video (any FFmpeg input): its frames are
    /// matched as it plays.
    #[arg(long)]
    target: PathBuf,
    #[command(flatten)]
    cells: CellArgs,
    /// Mosaic file to write.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(a: MatchArgs) -> anyhow::Result<()> {
    write_mosaic(&a.library, &a.target, &a.cells, &a.output)
}

/// Matches `target` against the library at `library_path` and writes the mosaic to `out`.
pub fn write_mosaic(
    library_path: &Path,
    target: &Path,
    cells: &CellArgs,
    out: &Path,
) -> anyhow::Result<()> {
    let library = Library::open(library_path)?;
    let started = std::time::Instant::now();
    let radius = cells.repeat_radius;
    let needed = tessera::matching::tiles_for_repeat_radius(radius);
    let active = library.active_tiles().len() as u64;
    if radius > 0 && active < needed {
        tracing::warn!(
            "--repeat-radius {radius} needs at least {needed} tiles to hold everywhere; the library has {active}: cells where no other tile fits repeat one"
        );
    }
    let is_picture = image::ImageFormat::from_path(target).is_ok();
    let mosaic = if is_picture {
        make_mosaic(&library, target, cells.spec(), cells.match_options(), out)?
    } else {
        anyhow::ensure!(
            cells.max_uses == 0 && !cells.use_all && cells.lightness_weight.is_none(),
            "--max-uses, --use-all and --lightness-weight are for still targets: a video's frames are matched as it plays, by mean colour"
        );
        anyhow::ensure!(
            target.is_file(),
            "{}: no such file; give a picture or a video as --target",
            target.display()
        );
        tessera::motion::make_video_mosaic(
            &library,
            target,
            cells.spec(),
            FrameMatchOptions {
                repeat_radius: radius,
                stickiness: cells.stickiness,
            },
            out,
        )?
    };
    mosaic.save(out)?;
    if let Some(v) = &mosaic.header.video {
        println!(
            "video mosaic {}: {}×{} cells over {} ({:.1} s at {:.3} fps), matched as it plays",
            out.display(),
            mosaic.cols(),
            mosaic.rows(),
            target.display(),
            v.duration,
            v.fps()
        );
        return Ok(());
    }
    let (distinct, _, top) = mosaic.usage();
    if cells.use_all && distinct < active as usize {
        println!(
            "  --use-all: {distinct} of {active} tiles placed, one per cell: the grid has {} cells",
            mosaic.grid.len()
        );
    }
    println!(
        "mosaic {}: {}×{} cells, {} distinct tiles (most repeated: {}×), matched in {:.2} s",
        out.display(),
        mosaic.cols(),
        mosaic.rows(),
        distinct,
        top,
        started.elapsed().as_secs_f64()
    );
    if radius > 0 {
        let held = mosaic.repeat_check(radius);
        if held.broken > 0 {
            println!(
                "  repeat limit {radius} broken at {} of {} cells ({:.1} %): too few tiles for it",
                held.broken,
                held.checked,
                held.percent()
            );
        }
    }
    Ok(())
}
