//! `tessera info`: what a library or a mosaic holds.

use super::util::human_bytes;
use std::path::Path;
use tessera::library::Library;
use tessera::matching::grid_delta_e;
use tessera::mosaic::Mosaic;
use tessera::Scene;

pub fn run(path: &Path, library: Option<&Path>) -> anyhow::Result<()> {
    if path.is_dir() {
        let lib = Library::open(path)?;
        print_library(&lib);
        return Ok(());
    }
    let mosaic = Mosaic::load(path)?;
    let h = &mosaic.header;
    println!("mosaic {}", path.display());
    println!(
        "  cells        {}×{} ({})",
        h.cols,
        h.rows,
        h.cols as u64 * h.rows as u64
    );
    println!("  target       {}", h.target);
    if let Some(v) = &h.video {
        println!(
            "  video        {:.2} s at {:.3} fps, {}×{}, stickiness {} ΔE: grids matched as it plays (tiles below: its first frame)",
            v.duration,
            v.fps(),
            v.width,
            v.height,
            v.stickiness
        );
    }
    println!(
        "  library      {} ({} tiles when matched)",
        mosaic.library_path(path).display(),
        h.tile_count
    );
    if h.repeat_radius > 0 {
        let check = mosaic.repeat_check(h.repeat_radius);
        let held = if check.broken == 0 {
            "held at every cell".to_string()
        } else {
            format!(
                "broken at {}{:.1} % of cells",
                if check.sampled { "≈" } else { "" },
                check.percent()
            )
        };
        println!(
            "  repeat limit no tile twice within {} cells: {held}",
            h.repeat_radius
        );
    }
    let (distinct, top, count) = mosaic.usage();
    if h.max_uses > 0 {
        let held = if count <= h.max_uses as usize {
            "held".to_string()
        } else {
            format!("broken (a tile is used {count}×)")
        };
        println!("  use limit    each tile at most {}×: {held}", h.max_uses);
    }
    if h.use_all {
        println!("  use all      every tile at least once where the grid has room");
    }
    // Opened once: the library, the tiles' mean colours, and (for the fidelity line) the
    // renderer all come from this scene.
    match Scene::open_with_library(path, library) {
        Ok(scene) => {
            let lib = scene.library.clone();
            if scene.library_moved() {
                println!("  library now  {}", lib.dir.display());
            }
            // Of the tiles matching may use: retired slots (pictures removed) do not count.
            println!(
                "  tiles used   {distinct} distinct of {}",
                lib.active_tiles().len()
            );
            println!(
                "  most used    tile {top} ({}), {count}×",
                lib.manifest.tiles[top as usize].source.path
            );
            let playing = mosaic
                .grid
                .iter()
                .filter(|&&t| lib.tile(t).is_clip())
                .count();
            if playing > 0 {
                println!(
                    "  playing      {playing} of {} cells show a clip",
                    mosaic.grid.len()
                );
            }
            let tint_line = scene.colours.as_ref().map(|colours| {
                let at = |tint| grid_delta_e(&scene.grid, scene.tile_colours(), colours, tint);
                format!(
                    "  tint         tiles' means {:.1} ΔE from their cells; --tint 0.5: {:.1}, --tint 1: {:.1}",
                    at(0.0),
                    at(0.5),
                    at(1.0)
                )
            });
            if let Some(f) = super::fidelity::measure_mosaic(scene)? {
                println!(
                    "  fidelity     {} (rendered, against the target)",
                    super::fidelity::describe(&f)
                );
            }
            if let Some(line) = tint_line {
                println!("{line}");
            }
            print_library(&lib);
        }
        Err(e) => {
            println!("  tiles used   {distinct} distinct");
            println!("  most used    tile {top}, {count}×");
            println!("  library problem: {e:#}");
        }
    }
    Ok(())
}

/// "N clips of F frames at R fps (S s, from V videos), M stills", or `None` for a library
/// of stills.
fn clips_line(lib: &Library) -> Option<String> {
    let active = lib.active_tiles();
    let clips: Vec<_> = active
        .iter()
        .map(|&t| lib.tile(t))
        .filter(|e| e.is_clip())
        .collect();
    if clips.is_empty() {
        return None;
    }
    let frames: u64 = clips.iter().map(|e| e.frames as u64).sum();
    let fps = lib.params().clip_fps;
    let videos: std::collections::HashSet<&str> = clips
        .iter()
        .filter(|e| e.shot.is_some())
        .map(|e| e.source.path.as_str())
        .collect();
    let from = if videos.is_empty() {
        String::new()
    } else {
        format!(", cut from {} videos", videos.len())
    };
    Some(format!(
        "{} clips, {frames} frames at {fps} fps ({:.0} s{from}); {} stills",
        clips.len(),
        frames as f64 / fps as f64,
        active.len() - clips.len()
    ))
}

fn print_library(lib: &Library) {
    let p = lib.params();
    println!("library {}", lib.dir.display());
    let retired = lib.tile_count() as usize - lib.active_tiles().len();
    println!(
        "  tiles        {} from {}",
        lib.tile_count() as usize - retired,
        lib.manifest.tiles_root
    );
    if let Some(shard) = lib.manifest.shard {
        println!(
            "  shard        {shard} of that folder's files (`tessera merge` joins the shards)"
        );
    }
    if let Some(line) = clips_line(lib) {
        println!("  clips        {line}");
    }
    if retired > 0 {
        println!(
            "  retired      {retired} (pictures removed or changed; kept so older mosaics still open, `bake --rebuild` reclaims them)"
        );
    }
    println!(
        "  tile sizes   1..{} px, {} levels; aspect {}{}; signature {}×{} CIELAB",
        p.max_tile,
        p.levels(),
        p.tile_aspect,
        if p.tile_fit.is_crop() {
            ""
        } else {
            " (padded)"
        },
        p.grid,
        p.grid
    );
    let mut total = 0;
    for (l, [w, h]) in p.extents().into_iter().enumerate() {
        let b = lib.level_bytes(l);
        total += b;
        let size = if w == h {
            format!("{w} px")
        } else {
            format!("{w}×{h} px")
        };
        println!("    level {l:>2}  {size:>9}  {:>10}", human_bytes(b));
    }
    println!("  pages        {} in all", human_bytes(total));
    // Records no tile owns: appended by bakes that were interrupted and not resumed.
    let owned: u64 = lib.manifest.tiles.iter().map(|t| t.frames as u64).sum();
    let dead = (lib.manifest.records as u64).saturating_sub(owned);
    if dead > 0 {
        println!("  dead records {dead} (from interrupted bakes; `bake --rebuild` reclaims them)");
    }
    if !lib.manifest.skipped.is_empty() {
        println!("  skipped      {} files:", lib.manifest.skipped.len());
        for s in lib.manifest.skipped.iter().take(20) {
            println!("    {}: {}", s.path, s.reason);
        }
    }
}
