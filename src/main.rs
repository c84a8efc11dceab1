//! The `tessera` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use tessera::cli_util::{human_bytes, parse_bytes, parse_point, parse_size};
use tessera::cpu_render::RenderStyle;
use tessera::library::{self, BakeOptions, Library, StoreParams};
use tessera::matching::{pipeline::make_mosaic, CellSpec, MatchOptions};
use tessera::mosaic::Mosaic;
use tessera::streaming::{Heuristics, StreamConfig};
use tessera::{Backend, Camera, HeadlessRenderer, Pacing, RenderOptions, Scene};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Zoomable photo mosaics on the GPU: every cell a whole picture, memory bounded by the screen."
)]
struct Cli {
    /// More log output (-v: progress notes, -vv: debugging).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Bake a folder of pictures into a tile library; with --target, also match a mosaic.
    Bake(BakeArgs),
    /// Match a target picture against a library into a mosaic file.
    Match(MatchArgs),
    /// Show what a library or mosaic holds.
    Info {
        /// A library folder (*.tlib) or a mosaic file (*.mosaic).
        path: PathBuf,
    },
    /// Render one view of a mosaic to a PNG, headless.
    Render(RenderArgs),
    /// Write a synthetic library of N procedural tiles and a mosaic over it (for scale tests).
    Synth(SynthArgs),
    /// Render a scripted camera path headless and report frame times and streaming metrics.
    Bench(BenchArgs),
    /// Open a mosaic in an interactive window (wheel: zoom, drag: pan, L: level overlay).
    View(ViewCmdArgs),
    /// Build a sample mosaic from photographs installed on this machine and render it.
    Demo(DemoArgs),
}

#[derive(Args)]
struct SynthArgs {
    /// Number of distinct tiles.
    #[arg(long)]
    tiles: u32,
    /// Largest tile side (power of two up to 1024).
    #[arg(long, default_value_t = 256)]
    max_tile: u32,
    /// Signature grid (as for bake).
    #[arg(long, default_value_t = 1)]
    grid: u32,
    /// Cell grid of the mosaic, e.g. 1920x1080.
    #[arg(long, value_parser = parse_size)]
    cells: (u32, u32),
    /// Mosaic file to write; the library goes beside it as OUT.tlib unless --library says.
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long)]
    library: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    /// Mosaic file.
    mosaic: PathBuf,
    /// Camera path; `levels` times each zoom 1, 2, 4 … 256 px per cell instead.
    #[arg(long, default_value = "tour")]
    path: String,
    /// Frames along the path (per zoom for `levels`).
    #[arg(long, default_value_t = 2400)]
    frames: usize,
    /// Frame size.
    #[arg(long, default_value = "1920x1080", value_parser = parse_size)]
    size: (u32, u32),
    /// Print the report as JSON (keys in the README).
    #[arg(long)]
    json: bool,
    /// Also write one JSON line per frame here: its time, zoom and streaming counters.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args)]
struct ViewCmdArgs {
    /// Mosaic file.
    mosaic: PathBuf,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Quit after this many frames (scripted captures, tests).
    #[arg(long)]
    exit_after: Option<u64>,
    /// With --exit-after: save the last frame shown to this PNG.
    #[arg(long, requires = "exit_after")]
    screenshot: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Folder for demo.png and demo-zoom.png.
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Cache for the demo's tiles, library and mosaic (default: ~/.cache/tessera/demo).
    #[arg(long)]
    cache: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args)]
struct BakeArgs {
    /// Folder of pictures (searched recursively).
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
    /// [default: the library's, else 1].
    #[arg(long)]
    grid: Option<u32>,
    /// Throw away what the library holds and bake every picture again.
    #[arg(long)]
    rebuild: bool,
    /// Target picture to match right after baking.
    #[arg(long)]
    target: Option<PathBuf>,
    #[command(flatten)]
    cells: CellArgs,
}

#[derive(Args)]
struct CellArgs {
    /// Cell grid, e.g. 192x108 (the target is centre-cropped to its aspect).
    #[arg(long, conflicts_with = "cells_wide")]
    cells: Option<CellSpec>,
    /// Cells across; rows follow the target's aspect.
    #[arg(long)]
    cells_wide: Option<u32>,
    /// A tile may not repeat within this many cells (0: no limit).
    #[arg(long, default_value_t = 0)]
    repeat_radius: u32,
}

impl CellArgs {
    fn spec(&self) -> CellSpec {
        self.cells
            .unwrap_or(CellSpec::Wide(self.cells_wide.unwrap_or(160)))
    }
}

#[derive(Args)]
struct MatchArgs {
    #[arg(long)]
    library: PathBuf,
    #[arg(long)]
    target: PathBuf,
    #[command(flatten)]
    cells: CellArgs,
    /// Mosaic file to write.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Args, Clone)]
struct ViewArgs {
    /// Frame size.
    #[arg(long, default_value = "1920x1080", value_parser = parse_size)]
    size: (u32, u32),
    /// View centre in cell coordinates (default: the mosaic's centre).
    #[arg(long, value_parser = parse_point)]
    center: Option<(f64, f64)>,
    /// Screen pixels per cell (default: fit the whole mosaic).
    #[arg(long)]
    cell_px: Option<f64>,
    /// Tint each pixel by the level it drew from (brighter = finer).
    #[arg(long)]
    debug_lod: bool,
}

impl ViewArgs {
    fn style(&self) -> RenderStyle {
        RenderStyle {
            debug_lod: self.debug_lod,
            ..Default::default()
        }
    }
}

#[derive(Args, Clone)]
struct EngineArgs {
    /// Which renderer draws.
    #[arg(long, value_enum, default_value = "gpu")]
    renderer: Backend,
    /// GPU adapter by name substring (also $TESSERA_ADAPTER), e.g. llvmpipe.
    #[arg(long)]
    adapter: Option<String>,
    /// Atlas memory, all levels.
    #[arg(long, default_value = "512MiB", value_parser = parse_bytes)]
    gpu_budget: u64,
    /// RAM for pages read but not (or no longer) on the GPU.
    #[arg(long, default_value = "512MiB", value_parser = parse_bytes)]
    ram_budget: u64,
    /// Most bytes uploaded to the GPU per frame.
    #[arg(long, default_value = "8MiB", value_parser = parse_bytes)]
    upload_budget: u64,
    /// Loader threads reading pages from the store.
    #[arg(long, default_value_t = 2)]
    loaders: usize,
    /// Turn a streaming heuristic off: order, prefetch, cancel, cache-weighting (repeatable).
    #[arg(long = "no", value_name = "HEURISTIC")]
    disable: Vec<String>,
}

impl EngineArgs {
    fn options(
        &self,
        size: (u32, u32),
        style: RenderStyle,
        synchronous: bool,
    ) -> anyhow::Result<RenderOptions> {
        let mut heuristics = Heuristics::default();
        for h in &self.disable {
            match h.as_str() {
                "order" => heuristics.ordered = false,
                "prefetch" => heuristics.prefetch = false,
                "cancel" => heuristics.cancel = false,
                "cache-weighting" => heuristics.level_weighted_cache = false,
                other => anyhow::bail!(
                    "--no {other}: unknown heuristic (order, prefetch, cancel, cache-weighting)"
                ),
            }
        }
        Ok(RenderOptions {
            width: size.0,
            height: size.1,
            backend: self.renderer,
            style,
            adapter: self.adapter.clone(),
            stream: StreamConfig {
                gpu_budget: self.gpu_budget,
                ram_budget: self.ram_budget,
                upload_budget: self.upload_budget,
                loader_threads: self.loaders,
                synchronous,
                heuristics,
            },
        })
    }
}

#[derive(Args)]
struct RenderArgs {
    /// Mosaic file.
    mosaic: PathBuf,
    /// A PNG of one view, or a video (.mp4, .mov, .mkv) of a camera path.
    #[arg(short, long, default_value = "frame.png")]
    output: PathBuf,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args, Clone)]
#[command(next_help_heading = "Video (when --output is .mp4, .mov or .mkv)")]
struct VideoArgs {
    /// Camera path. `zoom` goes from the whole mosaic into --center at --cell-px (default
    /// 256) and back; the others are the benchmark's paths.
    #[arg(long, value_enum, default_value = "zoom")]
    path: tessera::bench::PathName,
    /// Frames to render.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Frames per second of the video.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// H.264 quality: 0 lossless … 51 worst (x264's CRF).
    #[arg(long, default_value_t = 18)]
    crf: u8,
    /// x264 speed/size trade-off (slower: smaller file at the same quality).
    #[arg(long, default_value = "fast", value_parser = [
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
    ])]
    preset: String,
    /// sharp: every frame waits for its pages; live: stream as the viewer does, so frames
    /// show coarser levels while pages arrive.
    #[arg(long, value_enum, default_value = "sharp")]
    pacing: Pacing,
}

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},wgpu_core=warn,wgpu_hal=error,naga=warn,winit=error,sctk=error"
        ))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    if let Err(e) = run(cli.command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Bake(a) => bake(a),
        Command::Match(a) => match_cmd(a),
        Command::Info { path } => info(&path),
        Command::Render(a) => render(a),
        Command::Demo(a) => demo(a),
        Command::Synth(a) => synth(a),
        Command::View(a) => view(a),
        Command::Bench(a) => bench(a),
    }
}

fn default_library_path(tiles: &Path) -> PathBuf {
    let name = std::path::absolute(tiles)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tiles".into());
    PathBuf::from(format!("{name}.tlib"))
}

fn bake(a: BakeArgs) -> anyhow::Result<()> {
    let library_path = match (&a.target, &a.output) {
        (None, Some(out)) => out.clone(),
        _ => a
            .library
            .clone()
            .unwrap_or_else(|| default_library_path(&a.tiles)),
    };
    // Options not given keep what the library was baked with, so a re-bake needs only
    // --tiles and -o.
    let existing = library::store::existing_params(&library_path);
    let params = StoreParams {
        max_tile: a.max_tile.or(existing.map(|p| p.max_tile)).unwrap_or(256),
        grid: a.grid.or(existing.map(|p| p.grid)).unwrap_or(1),
    };
    anyhow::ensure!(
        params.max_tile.is_power_of_two() && params.max_tile <= 1024,
        "--max-tile {}: must be a power of two up to 1024",
        params.max_tile
    );
    anyhow::ensure!(
        (1..=8).contains(&params.grid),
        "--grid {}: must be 1..=8",
        params.grid
    );
    let opts = BakeOptions {
        tiles_dir: a.tiles.clone(),
        out: library_path.clone(),
        params,
        rebuild: a.rebuild,
        progress: true,
    };
    let started = std::time::Instant::now();
    let report = library::bake(&opts)?;
    println!(
        "library {}: {} tiles ({} baked, {} reused), {} skipped, in {:.1} s",
        library_path.display(),
        report.tiles,
        report.baked,
        report.reused,
        report.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    for s in report.skipped.iter().take(10) {
        println!("  skipped {}: {}", s.path, s.reason);
    }
    if report.skipped.len() > 10 {
        println!(
            "  ... and {} more (see `tessera info {}`)",
            report.skipped.len() - 10,
            library_path.display()
        );
    }
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

fn write_mosaic(
    library_path: &Path,
    target: &Path,
    cells: &CellArgs,
    out: &Path,
) -> anyhow::Result<()> {
    let library = Library::open(library_path)?;
    let started = std::time::Instant::now();
    let mosaic = make_mosaic(
        &library,
        target,
        cells.spec(),
        MatchOptions {
            repeat_radius: cells.repeat_radius,
        },
        out,
    )?;
    mosaic.save(out)?;
    let (distinct, _, top) = mosaic.usage();
    println!(
        "mosaic {}: {}×{} cells, {} distinct tiles (most repeated: {}×), matched in {:.2} s",
        out.display(),
        mosaic.cols(),
        mosaic.rows(),
        distinct,
        top,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn match_cmd(a: MatchArgs) -> anyhow::Result<()> {
    write_mosaic(&a.library, &a.target, &a.cells, &a.output)
}

fn info(path: &Path) -> anyhow::Result<()> {
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
    println!(
        "  library      {} ({} tiles)",
        mosaic.library_path(path).display(),
        h.tile_count
    );
    if h.repeat_radius > 0 {
        println!(
            "  repeat limit no tile twice within {} cells",
            h.repeat_radius
        );
    }
    let (distinct, top, count) = mosaic.usage();
    println!("  tiles used   {distinct} distinct of {}", h.tile_count);
    match mosaic.open_library(path) {
        Ok(lib) => {
            println!(
                "  most used    tile {top} ({}), {count}×",
                lib.manifest.tiles[top as usize].source.path
            );
            print_library(&lib);
        }
        Err(e) => {
            println!("  most used    tile {top}, {count}×");
            println!("  library problem: {e:#}");
        }
    }
    Ok(())
}

fn print_library(lib: &Library) {
    let p = lib.params();
    println!("library {}", lib.dir.display());
    println!(
        "  tiles        {} from {}",
        lib.tile_count(),
        lib.manifest.tiles_root
    );
    println!(
        "  tile sizes   1..{} px, {} levels; signature {}×{} CIELAB",
        p.max_tile,
        p.levels(),
        p.grid,
        p.grid
    );
    let mut total = 0;
    for l in 0..p.levels() {
        let b = lib.level_bytes(l);
        total += b;
        println!(
            "    level {l:>2}  {:>5} px  {:>10}",
            1u32 << l,
            human_bytes(b)
        );
    }
    println!("  pages        {} in all", human_bytes(total));
    let dead = lib.manifest.records as u64 - lib.tile_count() as u64;
    if dead > 0 {
        println!("  dead records {dead} (from removed or changed pictures; `bake --rebuild` reclaims them)");
    }
    if !lib.manifest.skipped.is_empty() {
        println!("  skipped      {} files:", lib.manifest.skipped.len());
        for s in lib.manifest.skipped.iter().take(20) {
            println!("    {}: {}", s.path, s.reason);
        }
    }
}

fn camera_for(scene: &Scene, v: &ViewArgs) -> Camera {
    let mut cam = scene.fit(v.size.0, v.size.1);
    if let Some(px) = v.cell_px {
        cam.cell_px = px.clamp(tessera::view::MIN_CELL_PX, tessera::view::MAX_CELL_PX);
    }
    if let Some((x, y)) = v.center {
        cam.center = glam::DVec2::new(x, y);
    }
    cam
}

fn render(a: RenderArgs) -> anyhow::Result<()> {
    if tessera::video::is_video_path(&a.output) {
        return render_video(a);
    }
    let scene = Scene::open(&a.mosaic)?;
    let camera = camera_for(&scene, &a.view);
    let style = a.view.style();
    let mut renderer = HeadlessRenderer::new(scene, &a.engine.options(a.view.size, style, true)?)?;
    let (img, stats) = renderer.render(&camera)?;
    img.save(&a.output)
        .with_context(|| format!("{}: cannot write PNG", a.output.display()))?;
    println!(
        "{}: {}×{} at {:.3} px/cell, centre {:.2},{:.2}, on {}{}",
        a.output.display(),
        a.view.size.0,
        a.view.size.1,
        camera.cell_px,
        camera.center.x,
        camera.center.y,
        renderer.describe(),
        if stats.missing > 0 {
            format!(
                " ({} pages drawn from coarser levels: over the GPU budget)",
                stats.missing
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

fn render_video(a: RenderArgs) -> anyhow::Result<()> {
    use tessera::bench::{camera_path, zoom_in_out, PathName};
    use tessera::video::{VideoSettings, VideoWriter};
    let scene = Scene::open(&a.mosaic)?;
    let (w, h) = a.view.size;
    let v = &a.video;
    anyhow::ensure!(v.frames > 0, "--frames must be at least 1");
    let path = match v.path {
        PathName::Zoom => {
            let mut target = camera_for(&scene, &a.view);
            if a.view.cell_px.is_none() {
                target.cell_px = 256.0;
            }
            zoom_in_out(scene.fit(w, h), target, v.frames)
        }
        other => camera_path(other, scene.cols(), scene.rows(), w, h, v.frames),
    };
    let style = a.view.style();
    let synchronous = v.pacing == Pacing::Sharp;
    let mut renderer =
        HeadlessRenderer::new(scene, &a.engine.options(a.view.size, style, synchronous)?)?;
    let settings = VideoSettings {
        width: w,
        height: h,
        fps: v.fps,
        crf: v.crf,
        preset: v.preset.clone(),
    };
    let mut video = VideoWriter::create(&a.output, settings)?;
    let bar = tessera::cli_util::progress_bar(
        path.len() as u64,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "frames",
    );
    let cameras = path.iter().map(|f| f.camera);
    let recorded = renderer.record(cameras, v.pacing, &mut video, |n| {
        bar.set_position(n as u64)
    });
    bar.finish_and_clear();
    let recorded = recorded?;
    let encoded = video.finish()?;
    println!(
        "{}: {} frames {}×{} at {} fps ({:.1} s), {} {}, on {}; render {:.1} ms/frame, encode {:.1} ms/frame{}",
        a.output.display(),
        encoded.frames,
        w,
        h,
        v.fps,
        encoded.frames as f64 / v.fps as f64,
        encoded.codec,
        human_bytes(encoded.bytes),
        renderer.describe(),
        recorded.render_secs * 1e3 / recorded.frames.max(1) as f64,
        encoded.encode_secs * 1e3 / encoded.frames.max(1) as f64,
        if recorded.max_missing > 0 {
            format!(
                "; up to {} pages per frame drawn from coarser levels",
                recorded.max_missing
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

fn demo(a: DemoArgs) -> anyhow::Result<()> {
    let cache = a
        .cache
        .clone()
        .unwrap_or_else(tessera::demo::default_cache_dir);
    let started = std::time::Instant::now();
    let data = tessera::demo::prepare(&cache, true)?;
    println!(
        "demo mosaic {} ({} tiles cut from real photographs), ready in {:.1} s",
        data.mosaic.display(),
        data.tiles,
        started.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let scene = Scene::open(&data.mosaic)?;
    let size = (1920, 1080);
    let mut renderer = HeadlessRenderer::new(
        scene,
        &a.engine.options(size, RenderStyle::default(), true)?,
    )?;
    let whole = renderer.scene.fit(size.0, size.1);
    // The ladybird sits right of centre in the target; zoom in on it.
    let zoom = Camera {
        center: glam::DVec2::new(
            renderer.scene.cols() as f64 * 0.70,
            renderer.scene.rows() as f64 * 0.50,
        ),
        cell_px: 64.0,
    };
    for (name, camera) in [("demo.png", whole), ("demo-zoom.png", zoom)] {
        let t = std::time::Instant::now();
        let (img, _) = renderer.render(&camera)?;
        let path = a.output.join(name);
        img.save(&path)
            .with_context(|| format!("{}: cannot write PNG", path.display()))?;
        println!(
            "{}: {:.2} px per cell, rendered in {:.0} ms on {}",
            path.display(),
            camera.cell_px,
            t.elapsed().as_secs_f64() * 1e3,
            renderer.describe()
        );
    }
    Ok(())
}

fn synth(a: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.max_tile.is_power_of_two() && a.max_tile <= 1024,
        "--max-tile {}: must be a power of two up to 1024",
        a.max_tile
    );
    anyhow::ensure!(a.tiles > 0, "--tiles must be at least 1");
    let library = a
        .library
        .clone()
        .unwrap_or_else(|| tessera::synth::library_beside(&a.output));
    let started = std::time::Instant::now();
    let mosaic = tessera::synth::synth(&tessera::synth::SynthOptions {
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

fn bench(a: BenchArgs) -> anyhow::Result<()> {
    use tessera::bench::{camera_path, PathName};
    let scene = Scene::open(&a.mosaic)?;
    let (cols, rows) = (scene.cols(), scene.rows());
    let mut renderer = HeadlessRenderer::new(
        scene,
        &a.engine.options(a.size, RenderStyle::default(), false)?,
    )?;
    if a.path == "levels" {
        let zooms: Vec<f64> = (0..=8).map(|l| (1u32 << l) as f64).collect();
        let rows = tessera::bench::run_levels(&mut renderer, &zooms, a.frames.min(200))?;
        let floor = renderer.floor_ms(a.frames.min(200));
        if a.json {
            println!(
                "{}",
                serde_json::json!({ "adapter": renderer.describe(), "size": [a.size.0, a.size.1], "levels": rows, "floor_ms": floor })
            );
            return Ok(());
        }
        println!(
            "{} at {}×{}, {} frames per zoom",
            renderer.describe(),
            a.size.0,
            a.size.1,
            a.frames.min(200)
        );
        if let Some((m, p)) = floor {
            println!("floor (one fetch per pixel + read-back): median {m:.2} ms, p99 {p:.2} ms");
        }
        println!("| px/cell | draw median | draw p99 | +read-back median | +read-back p99 |");
        println!("|---:|---:|---:|---:|---:|");
        for r in rows {
            let rb = |v: Option<f64>| {
                v.map(|x| format!("{x:.2} ms"))
                    .unwrap_or_else(|| "–".into())
            };
            println!(
                "| {} | {:.2} ms | {:.2} ms | {} | {} |",
                r.cell_px,
                r.frame_ms_median,
                r.frame_ms_p99,
                rb(r.readback_ms_median),
                rb(r.readback_ms_p99)
            );
        }
        return Ok(());
    }
    let name = <PathName as clap::ValueEnum>::from_str(&a.path, true).map_err(|_| {
        anyhow::anyhow!(
            "--path {}: choose tour, jumps, pans, zoom or levels",
            a.path
        )
    })?;
    let path = camera_path(name, cols, rows, a.size.0, a.size.1, a.frames);
    let mut trace = match &a.trace {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => None,
    };
    let report = tessera::bench::run(
        &mut renderer,
        &a.path,
        &path,
        trace.as_mut().map(|t| t as &mut dyn std::io::Write),
    )?;
    if let Some(mut t) = trace {
        std::io::Write::flush(&mut t)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let sharp: Vec<String> = report
        .time_to_sharp_ms
        .iter()
        .map(|t| {
            t.map(|v| format!("{v:.0}"))
                .unwrap_or_else(|| "never".into())
        })
        .collect();
    println!(
        "{} frames of `{}` at {}×{} on {}",
        report.frames, report.path, report.size[0], report.size[1], report.adapter
    );
    println!(
        "  frame time      median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        report.frame_ms_median, report.frame_ms_p99, report.frame_ms_max
    );
    println!(
        "  time to sharp   [{}] ms after each jump",
        sharp.join(", ")
    );
    println!(
        "  missing pages   at most {} in a frame (drawn from coarser levels)",
        report.max_missing_pages
    );
    println!(
        "  uploaded        {} ; evictions {} ; cancelled requests {}",
        human_bytes(report.bytes_uploaded),
        report.evictions,
        report.cancelled_requests
    );
    println!(
        "  peak RSS        {} (budgets: GPU {} + RAM {})",
        human_bytes(report.peak_rss_bytes),
        human_bytes(report.gpu_budget_bytes),
        human_bytes(report.ram_budget_bytes)
    );
    println!(
        "  GPU atlases     {} allocated, at most {} of pages resident; RAM cache at most {}",
        human_bytes(report.peak_gpu_atlas_bytes),
        human_bytes(report.peak_resident_page_bytes),
        human_bytes(report.peak_ram_cache_bytes)
    );
    if report.failed_pages > 0 {
        println!("  failed pages    {} (see the log)", report.failed_pages);
    }
    Ok(())
}

fn view(a: ViewCmdArgs) -> anyhow::Result<()> {
    let scene = Scene::open(&a.mosaic)?;
    let camera =
        (a.view.center.is_some() || a.view.cell_px.is_some()).then(|| camera_for(&scene, &a.view));
    let style = a.view.style();
    let stream = a.engine.options(a.view.size, style, false)?.stream;
    tessera::viewer::run(
        scene,
        tessera::viewer::ViewerOptions {
            size: a.view.size,
            camera,
            stream,
            style,
            adapter: a.engine.adapter.clone(),
            exit_after: a.exit_after,
            screenshot: a.screenshot,
        },
    )
}
