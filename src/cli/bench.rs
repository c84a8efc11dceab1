//! `tessera bench`: scripted camera paths (`tessera::paths`) rendered headless, with frame
//! times and streaming metrics, and the per-zoom levels table with its floors.

use super::args::{EngineArgs, MosaicArg, PlaybackArgs, SizeArg, TintArg};
use super::render::PathArg;
use super::util::human_bytes;
use anyhow::Context;
use clap::Args;
use glam::DVec2;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tessera::camera::{camera_path, PathFrame};
use tessera::motion::{LivePlayer, VideoMosaic};
use tessera::render::{FrameBlit, OffscreenTarget, OFFSCREEN_FORMAT};
use tessera::{Camera, HeadlessRenderer, RenderStyle};

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    mosaic: MosaicArg,
    /// Camera path; `levels` times each zoom 1, 2, 4 … 256 px per cell instead; `fixed`
    /// holds the whole mosaic in view [default: tour; fixed for a video mosaic, which plays
    /// its target in real time along the path].
    #[arg(long, value_parser = ["tour", "jumps", "pans", "zoom", "fixed", "levels"])]
    path: Option<String>,
    /// Frames along the path (per zoom for `levels`, at most 200).
    #[arg(long, default_value_t = 2400, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    frames: u32,
    #[command(flatten)]
    size: SizeArg,
    /// Print the report as JSON (keys in docs/guide.md).
    #[arg(long)]
    json: bool,
    /// Also write one JSON line per frame here: its time, the part spent streaming, its zoom
    /// and streaming counters (with `levels`, each timed frame).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// The zooms `--path levels` times, in pixels per cell, e.g. `1,1.5,3,6`
    /// [default: 1,2,4,…,256].
    #[arg(long, value_delimiter = ',', value_parser = parse_zoom)]
    zooms: Vec<f64>,
    /// A long run: the path over and over (a video target looping) for this many minutes,
    /// memory, open files and threads sampled each minute, to see that nothing grows.
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=1440))]
    soak: Option<u32>,
    #[command(flatten)]
    tint: TintArg,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    live: super::live::LiveArgs,
}

pub fn command(mut a: BenchArgs) -> anyhow::Result<()> {
    if a.live.live.is_some() {
        return live(a);
    }
    let scene = a.mosaic.open()?;
    a.tint.check(&scene)?;
    let (cols, rows) = (scene.cols(), scene.rows());
    let size = a.size.resolve(&scene);
    let video = VideoMosaic::open(&scene)?;
    let path_name = a
        .path
        .clone()
        .unwrap_or_else(|| if video.is_some() { "fixed" } else { "tour" }.into());
    let mut renderer = HeadlessRenderer::new(
        scene,
        &a.engine.options(
            size,
            RenderStyle {
                tint: a.tint.tint,
                ..Default::default()
            },
            false,
        ),
    )?;
    super::return_freed_memory();
    let mut trace = match &a.trace {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => None,
    };
    if path_name == "levels" {
        let zooms = if a.zooms.is_empty() {
            (0..=8).map(|l| (1u32 << l) as f64).collect()
        } else {
            a.zooms.clone()
        };
        levels(
            &mut renderer,
            &zooms,
            a.frames.min(200) as usize,
            &a.playback,
            a.json,
            trace.as_mut().map(|t| t as &mut dyn std::io::Write),
        )?;
        if let Some(mut t) = trace {
            std::io::Write::flush(&mut t)?;
        }
        return Ok(());
    }
    let name = <PathArg as clap::ValueEnum>::from_str(&path_name, true)
        .map_err(|e| anyhow::anyhow!("--path {path_name}: {e}"))?;
    let path = if name == PathArg::Fixed {
        let camera = renderer.fit();
        vec![
            PathFrame {
                camera,
                jump: false
            };
            a.frames as usize
        ]
    } else {
        camera_path(
            name.into(),
            cols,
            rows,
            size.0,
            size.1,
            a.frames as usize,
            renderer.scene().cell_shape(),
        )
    };
    let player = match video {
        Some(v) => Some(LivePlayer::new(v, 0.0)?),
        None => None,
    };
    if let Some(minutes) = a.soak {
        let samples = soak(&mut renderer, &path, &a.playback, player, minutes)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&samples)?);
        } else {
            print_soak(&renderer, &format!("`{path_name}` over and over"), &samples);
        }
        return Ok(());
    }
    let report = run(
        &mut renderer,
        &path_name,
        &path,
        &a.playback,
        player,
        trace.as_mut().map(|t| t as &mut dyn std::io::Write),
    )?;
    if let Some(mut t) = trace {
        std::io::Write::flush(&mut t)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

fn print_report(report: &BenchReport) {
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
        "  uploaded        {} ({} page-table rows); evictions {}; cancelled requests {}",
        human_bytes(report.bytes_uploaded),
        report.page_table_rows_uploaded,
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
    if report.tile_frames_shown > 0 {
        println!(
            "  clips           {} tile-frames shown, {} late; after the first second {}{}",
            report.tile_frames_shown,
            report.late_tile_frames,
            report
                .late_percent_after_1s
                .map(|p| format!("{p:.2} % late"))
                .unwrap_or_else(|| "(run too short)".into()),
            report
                .decode_fps
                .map(|f| format!("; {f:.0} clip frames decoded per second"))
                .unwrap_or_default()
        );
    }
    if let Some(v) = &report.video {
        println!(
            "  video target    {} frames shown, {} late, {} dropped ({:.2} % late); {:.1} fps end to end",
            v.frames_shown,
            v.late_frames,
            v.dropped_frames,
            late_percent(v.late_frames, v.frames_shown),
            v.end_to_end_fps
        );
        println!(
            "  stages alone    decode {:.0} fps, match {:.0} fps, render {:.0} fps",
            v.decode_fps, v.match_fps, v.render_fps
        );
        if let Some(rss) = v.peak_rss_at_10s_bytes {
            println!("  peak RSS at 10 s {}", human_bytes(rss));
        }
    }
    if report.failed_pages > 0 {
        println!("  failed pages    {} (see the log)", report.failed_pages);
    }
}

fn parse_zoom(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(z) if z.is_finite() && (1.0 / 64.0..=4096.0).contains(&z) => Ok(z),
        _ => Err(format!(
            "{s:?}: a zoom is pixels per cell, from 1/64 to 4096, e.g. 1.5"
        )),
    }
}

fn late_percent(late: u64, shown: u64) -> f64 {
    100.0 * late as f64 / shown.max(1) as f64
}

/// One minute of a long run (`--soak`): the process as it stood, and the frames drawn.
#[derive(Serialize)]
struct SoakSample {
    minute: u32,
    /// Resident memory now (not the peak).
    rss_bytes: u64,
    open_files: usize,
    threads: usize,
    /// Frames drawn in the minute before, and their median time.
    frames: usize,
    frame_ms_median: f64,
}

impl SoakSample {
    fn take(minute: u32, times: &mut [f64]) -> SoakSample {
        SoakSample {
            minute,
            rss_bytes: process_status("VmRSS:") * 1024,
            open_files: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
            threads: process_status("Threads:") as usize,
            frames: times.len(),
            frame_ms_median: median_p99(times).0,
        }
    }
}

/// `--soak`: `path` drawn over and over for `minutes` as the viewer draws (a streaming
/// step, then a frame), clips playing and a video target looping, sampled each minute.
fn soak(
    renderer: &mut HeadlessRenderer,
    path: &[PathFrame],
    playback: &PlaybackArgs,
    mut player: Option<LivePlayer>,
    minutes: u32,
) -> anyhow::Result<Vec<SoakSample>> {
    let mut times = Vec::new();
    let mut samples = vec![SoakSample::take(0, &mut times)];
    let clock = RunClock::start(renderer);
    // Where the video target's clock started: it loops from there when it ends.
    let mut video_start = 0.0;
    for f in path.iter().cycle() {
        let started = Instant::now();
        let now = clock.seconds();
        if let Some(p) = player.as_mut() {
            if p.ended(now - video_start) {
                p.seek(0.0)?;
                video_start = now;
            }
            if let Some(frame) = p.poll(now - video_start) {
                renderer.set_grid(frame.grid, frame.colours);
            }
        }
        renderer.set_playback(playback.at(now));
        let frame = renderer.update(&f.camera);
        renderer.draw(&frame, false)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if let Some(minute) = sample_each_minute(&clock, &mut samples, &mut times) {
            if minute >= minutes {
                break;
            }
        }
    }
    Ok(samples)
}

/// When a new minute of the run began since the last sample: samples it (the frame
/// times since then, emptied), prints its line and returns the minute.
fn sample_each_minute(
    clock: &RunClock,
    samples: &mut Vec<SoakSample>,
    times: &mut Vec<f64>,
) -> Option<u32> {
    let minute = (clock.seconds() / 60.0) as u32;
    if minute <= samples.last().map_or(0, |s| s.minute) {
        return None;
    }
    samples.push(SoakSample::take(minute, times));
    times.clear();
    eprintln!("{}", soak_line(samples.last().expect("just pushed")));
    Some(minute)
}

fn soak_line(s: &SoakSample) -> String {
    format!(
        "| {} | {:.1} MiB | {} | {} | {} | {:.2} ms |",
        s.minute,
        s.rss_bytes as f64 / (1 << 20) as f64,
        s.open_files,
        s.threads,
        s.frames,
        s.frame_ms_median
    )
}

/// The soak table under `what` ("`tour` over and over", "live udp://…").
fn print_soak(renderer: &HeadlessRenderer, what: &str, samples: &[SoakSample]) {
    println!(
        "{what} at {}×{} on {}",
        renderer.width,
        renderer.height,
        renderer.describe()
    );
    println!("| minute | RSS | open files | threads | frames | frame median |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for s in samples {
        println!("{}", soak_line(s));
    }
    // From the first minute on (the first fills the caches to their budgets).
    if let (Some(first), Some(last)) = (samples.get(1), samples.last()) {
        println!(
            "from minute {} to {}: RSS {:+.1} MiB, open files {:+}, threads {:+}",
            first.minute,
            last.minute,
            (last.rss_bytes as f64 - first.rss_bytes as f64) / (1 << 20) as f64,
            last.open_files as i64 - first.open_files as i64,
            last.threads as i64 - first.threads as i64
        );
    }
}

/// `bench --live`: each new grid of a live source drawn as the viewer draws it (a
/// streaming step, the frame, waiting for the GPU), for `--soak` minutes (1 by default)
/// or until the source ends; latency from the frame's capture to its draw, frames dropped,
/// and memory, open files and threads each minute.
fn live(mut a: BenchArgs) -> anyhow::Result<()> {
    let here = std::env::current_dir()?.join("live.mosaic");
    let live = a.live.open(&a.mosaic, &here, false)?;
    let size = a.size.resolve(&live.scene);
    let mut renderer = HeadlessRenderer::new(
        live.scene,
        &a.engine.options(size, RenderStyle::default(), false),
    )?;
    super::return_freed_memory();
    let camera = renderer.fit();
    let grids = live.grids;
    let minutes = a.soak.unwrap_or(1);
    // The first frame pays the shader compile, before the clock starts.
    let frame = renderer.update(&camera);
    renderer.draw(&frame, false)?;
    let mut tally = super::live::LiveTally::new(&grids);
    let mut stall = super::live::StallWatch::new(live.timeout);
    let mut times = Vec::new();
    let mut samples = vec![SoakSample::take(0, &mut times)];
    let clock = RunClock::start(&renderer);
    while clock.seconds() < minutes as f64 * 60.0 {
        let Some(fresh) = grids.wait(std::time::Duration::from_millis(100)) else {
            if grids.ended() {
                break;
            }
            stall.update(&grids, false);
            continue;
        };
        stall.update(&grids, true);
        let started = Instant::now();
        renderer.set_grid(fresh.frame.grid, fresh.frame.colours);
        renderer.set_playback(a.playback.at(clock.seconds()));
        let frame = renderer.update(&camera);
        renderer.draw(&frame, false)?;
        tally.shown(fresh.arrived);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        sample_each_minute(&clock, &mut samples, &mut times);
    }
    if !times.is_empty() {
        samples.push(SoakSample::take(
            clock.seconds().ceil() as u32 / 60,
            &mut times,
        ));
    }
    let source = grids.source().source.clone();
    let info = grids.info;
    let summary = tally.summary(&grids, "draw");
    if a.json {
        let (median, p99) = tally.latency().unwrap_or_default();
        let counts = tally.counts(&grids);
        let report = serde_json::json!({
            "source": source,
            "source_size": [info.width, info.height],
            "cells": [info.cells.0, info.cells.1],
            "decoded": counts.decoded,
            "drawn": counts.drawn,
            "dropped": counts.dropped,
            "skipped_at_start": counts.skipped,
            "latency_ms_median": median * 1e3,
            "latency_ms_p99": p99 * 1e3,
            "peak_rss_bytes": peak_rss_bytes(),
            "minutes": samples,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "live {source}: {}×{} into {}×{} cells",
        info.width, info.height, info.cells.0, info.cells.1
    );
    println!("  {summary}");
    print_soak(&renderer, "  each minute,", &samples);
    println!("  peak RSS {}", human_bytes(peak_rss_bytes()));
    Ok(())
}

/// `--path levels`: the per-zoom table and, on the GPU, the one-fetch floor beside it.
fn levels(
    renderer: &mut HeadlessRenderer,
    zooms: &[f64],
    frames: usize,
    playback: &PlaybackArgs,
    json: bool,
    trace: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<()> {
    let rows = run_levels(renderer, zooms, frames, playback, trace)?;
    let floor = floor_ms(renderer, frames);
    let size = [renderer.width, renderer.height];
    if json {
        println!(
            "{}",
            serde_json::json!({ "adapter": renderer.describe(), "size": size, "levels": rows, "floor_ms": floor })
        );
        return Ok(());
    }
    println!(
        "{} at {}×{}, {} frames per zoom",
        renderer.describe(),
        size[0],
        size[1],
        frames
    );
    if let Some((m, p)) = floor {
        println!("floor (one fetch per pixel + read-back): median {m:.2} ms, p99 {p:.2} ms");
    }
    let clips = rows.iter().any(|r| r.tile_frames_shown > 0);
    if renderer.scene().library.has_clips() {
        println!("(clips: every frame streams, then draws; late = tile-frames drawn late)");
    }
    let floors = rows.iter().any(|r| r.copy_floor_ms_median.is_some());
    println!(
        "| px/cell | draw median | draw p99 | +read-back median | +read-back p99 |{}{}",
        if floors { " copy floor |" } else { "" },
        if clips { " late |" } else { "" }
    );
    println!(
        "|---:|---:|---:|---:|---:|{}{}",
        if floors { "---:|" } else { "" },
        if clips { "---:|" } else { "" }
    );
    for r in rows {
        let rb = |v: Option<f64>| {
            v.map(|x| format!("{x:.2} ms"))
                .unwrap_or_else(|| "–".into())
        };
        let late = if clips {
            format!(" {} of {} |", r.late_tile_frames, r.tile_frames_shown)
        } else {
            String::new()
        };
        let floor = if floors {
            format!(" {} |", rb(r.copy_floor_ms_median))
        } else {
            String::new()
        };
        println!(
            "| {} | {:.2} ms | {:.2} ms | {} | {} |{floor}{late}",
            r.cell_px,
            r.frame_ms_median,
            r.frame_ms_p99,
            rb(r.readback_ms_median),
            rb(r.readback_ms_p99)
        );
    }
    Ok(())
}

/// Times the one-fetch floor (the frame blit's pass, with read-back) at the renderer's frame
/// size, on its device: `(median, p99)` ms over `frames` frames. `None` on the CPU renderer.
fn floor_ms(renderer: &HeadlessRenderer, frames: usize) -> Option<(f64, f64)> {
    let ctx = renderer.gpu_context()?;
    let (w, h) = (renderer.width, renderer.height);
    let mut probe = FrameBlit::new(&ctx.device, OFFSCREEN_FORMAT);
    probe.resize(&ctx.device, w, h);
    let target = OffscreenTarget::new(&ctx.device, w, h);
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 3 {
        let t = Instant::now();
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        probe.encode(&mut encoder, &target.view);
        target.encode_copy(&mut encoder);
        ctx.queue.submit([encoder.finish()]);
        target.read().ok()?;
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Some(median_p99(&mut times))
}

/// The report `--json` prints; every key is documented in docs/guide.md.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub path: String,
    pub adapter: String,
    pub size: [u32; 2],
    pub frames: usize,
    pub frame_ms_median: f64,
    pub frame_ms_p99: f64,
    pub frame_ms_max: f64,
    /// Per jump: ms from the cut until a frame with no missing page (null: never within the hold).
    pub time_to_sharp_ms: Vec<Option<f64>>,
    pub time_to_sharp_frames: Vec<Option<usize>>,
    pub max_missing_pages: usize,
    /// Missing pages summed over all frames: how much of the path was drawn from fallbacks.
    pub missing_page_frames: u64,
    /// Pages and page-table rows, as staged for upload.
    pub bytes_uploaded: u64,
    pub page_table_rows_uploaded: u64,
    pub evictions: u64,
    pub cancelled_requests: u64,
    pub failed_pages: usize,
    pub peak_rss_bytes: u64,
    pub peak_gpu_atlas_bytes: u64,
    pub peak_resident_page_bytes: u64,
    pub peak_ram_cache_bytes: u64,
    pub gpu_budget_bytes: u64,
    pub ram_budget_bytes: u64,
    /// Playing clips drawn, summed over every frame.
    pub tile_frames_shown: u64,
    /// ... of which late (the clock had passed the frame drawn; see `FrameStats`).
    pub late_tile_frames: u64,
    /// Late tile-frames in % of those shown after the first second of playback (the first
    /// second fills the frame stacks); null when the run was shorter or showed no clips.
    pub late_percent_after_1s: Option<f64>,
    /// Clip frames decoded from JPEG per second of the run (null when none were).
    pub decode_fps: Option<f64>,
    /// A video mosaic's target, played in real time along the path (null for a still one).
    pub video: Option<VideoReport>,
}

/// How a video mosaic's pipeline kept up.
#[derive(Clone, Debug, Serialize)]
pub struct VideoReport {
    /// Target frames decoded (and reduced to cell colours) per second of decoding work.
    pub decode_fps: f64,
    /// Grids matched per second of matching work.
    pub match_fps: f64,
    /// Frames drawn per second of drawing (1000 / the median frame time).
    pub render_fps: f64,
    /// Target frames shown per second of the run: the target's rate when the pipeline
    /// keeps up.
    pub end_to_end_fps: f64,
    pub frames_shown: u64,
    /// Shown more than a target frame period after their time.
    pub late_frames: u64,
    /// Never shown: a later frame was due when they arrived.
    pub dropped_frames: u64,
    /// Peak RSS 10 s into the run (null for shorter runs): against `peak_rss_bytes` at the
    /// end, whether memory stayed flat while the video played.
    pub peak_rss_at_10s_bytes: Option<u64>,
}

/// Clips play in wall time from the run's start; the first second fills the frame stacks.
const PLAY_WARM_UP_S: f64 = 1.0;

/// Playing tile-frames drawn and late: over the run, and after its first second.
#[derive(Default)]
struct LateCount {
    shown: u64,
    late: u64,
    warm_shown: u64,
    warm_late: u64,
}

impl LateCount {
    fn add(&mut self, stats: &tessera::FrameStats, playing_for: f64) {
        let (shown, late) = (
            stats.tile_frames_shown as u64,
            stats.late_tile_frames as u64,
        );
        self.shown += shown;
        self.late += late;
        if playing_for >= PLAY_WARM_UP_S {
            self.warm_shown += shown;
            self.warm_late += late;
        }
    }
    fn percent_after_warm_up(&self) -> Option<f64> {
        (self.warm_shown > 0).then(|| late_percent(self.warm_late, self.warm_shown))
    }
}

/// The playback clock of a timed run: wall time since it began.
struct RunClock {
    started: Instant,
    decoded_at_start: u64,
}

impl RunClock {
    fn start(renderer: &HeadlessRenderer) -> RunClock {
        RunClock {
            started: Instant::now(),
            decoded_at_start: renderer.scene().library.decoded_frames(),
        }
    }
    fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
    fn decode_fps(&self, renderer: &HeadlessRenderer) -> Option<f64> {
        let n = renderer.scene().library.decoded_frames() - self.decoded_at_start;
        (n > 0).then(|| n as f64 / self.seconds())
    }
}

/// Peak resident set size of this process (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    process_status("VmHWM:") * 1024
}

/// The number after `field` in `/proc/self/status` (kB for memory), 0 where there is none.
fn process_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Median and 99th percentile of `samples` (sorted in place).
pub fn median_p99(samples: &mut [f64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// One line of `--trace`: a frame's time and what streaming did in it.
#[derive(Serialize)]
struct TraceLine<'a> {
    ms: f64,
    /// The part of `ms` spent streaming (`update`), before the draw.
    update_ms: f64,
    jump: bool,
    cell_px: f64,
    #[serde(flatten)]
    stats: &'a tessera::FrameStats,
}

impl TraceLine<'_> {
    fn write(&self, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)?;
        Ok(())
    }
}

/// Renders every frame of `path` as a viewer would (stream, draw, wait for the GPU; no
/// read-back) and collects the report; `trace` gets one JSON line per frame.
pub fn run(
    renderer: &mut HeadlessRenderer,
    name: &str,
    path: &[PathFrame],
    playback: &PlaybackArgs,
    mut player: Option<LivePlayer>,
    mut trace: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<BenchReport> {
    let mut times = Vec::with_capacity(path.len());
    let mut sharp_ms = Vec::new();
    let mut sharp_frames = Vec::new();
    let mut pending_jump: Option<(Instant, usize)> = None;
    let (mut max_missing, mut bytes, mut resident_peak, mut cache_peak, mut failed) =
        (0, 0, 0, 0, 0);
    let (mut cancelled, mut missing_sum, mut table_rows) = (0, 0, 0);
    let mut late = LateCount::default();
    // One untimed frame: the first draw pays the shader compile (about 100 ms on lavapipe).
    if let Some(first) = path.first() {
        renderer.set_playback(playback.at(0.0));
        let frame = renderer.update(&first.camera);
        renderer.draw(&frame, false)?;
    }
    if let Some(p) = player.as_mut() {
        // The pipeline starts with the clock.
        p.seek(0.0)?;
    }
    let clock = RunClock::start(renderer);
    let mut rss_at_10s = None;
    for (i, f) in path.iter().enumerate() {
        let t0 = Instant::now();
        let playing_for = clock.seconds();
        if rss_at_10s.is_none() && playing_for >= 10.0 {
            rss_at_10s = Some(peak_rss_bytes());
        }
        if let Some(p) = player.as_mut() {
            if p.ended(playing_for) {
                times.truncate(i);
                break;
            }
            if let Some(frame) = p.poll(playing_for) {
                renderer.set_grid(frame.grid, frame.colours);
            }
        }
        renderer.set_playback(playback.at(playing_for));
        if f.jump {
            if pending_jump.is_some() {
                sharp_ms.push(None);
                sharp_frames.push(None);
            }
            pending_jump = Some((t0, i));
        }
        let frame = renderer.update(&f.camera);
        let stats = frame.stats;
        let updated = Instant::now();
        renderer.draw(&frame, false)?;
        let t1 = Instant::now();
        times.push((t1 - t0).as_secs_f64() * 1e3);
        max_missing = max_missing.max(stats.missing);
        missing_sum += stats.missing as u64;
        bytes += stats.uploaded_bytes;
        table_rows += stats.table_rows as u64;
        late.add(&stats, playing_for);
        if let Some(out) = trace.as_deref_mut() {
            TraceLine {
                ms: times[i],
                update_ms: (updated - t0).as_secs_f64() * 1e3,
                jump: f.jump,
                cell_px: f.camera.cell_px,
                stats: &stats,
            }
            .write(out)?;
        }
        resident_peak = resident_peak.max(stats.atlas_resident_bytes);
        cache_peak = cache_peak.max(stats.cache_bytes);
        failed = stats.failed_pages;
        cancelled = stats.cancelled;
        if stats.missing == 0 {
            if let Some((start, frame)) = pending_jump.take() {
                sharp_ms.push(Some((t1 - start).as_secs_f64() * 1e3));
                sharp_frames.push(Some(i - frame + 1));
            }
        }
    }
    if pending_jump.is_some() {
        sharp_ms.push(None);
        sharp_frames.push(None);
    }
    let mut sorted = times.clone();
    let (median, p99) = median_p99(&mut sorted);
    let cfg = renderer.renderer().stream().config();
    let run_secs = clock.seconds();
    let video = player.map(|p| {
        let shown = p.stats();
        VideoReport {
            decode_fps: p.stream().times().decode_fps(),
            match_fps: p.stream().times().match_fps(),
            render_fps: 1e3 / median.max(1e-9),
            end_to_end_fps: shown.shown as f64 / run_secs,
            frames_shown: shown.shown,
            late_frames: shown.late,
            dropped_frames: shown.dropped,
            peak_rss_at_10s_bytes: rss_at_10s,
        }
    });
    Ok(BenchReport {
        path: name.into(),
        adapter: renderer.describe(),
        size: [renderer.width, renderer.height],
        frames: times.len(),
        frame_ms_median: median,
        frame_ms_p99: p99,
        frame_ms_max: sorted.last().copied().unwrap_or(0.0),
        time_to_sharp_ms: sharp_ms,
        time_to_sharp_frames: sharp_frames,
        max_missing_pages: max_missing,
        missing_page_frames: missing_sum,
        bytes_uploaded: bytes,
        page_table_rows_uploaded: table_rows,
        evictions: renderer.renderer().stream().evictions(),
        cancelled_requests: cancelled,
        failed_pages: failed,
        peak_rss_bytes: peak_rss_bytes(),
        peak_gpu_atlas_bytes: renderer.atlas_bytes(),
        peak_resident_page_bytes: resident_peak,
        peak_ram_cache_bytes: cache_peak,
        gpu_budget_bytes: cfg.gpu_budget,
        ram_budget_bytes: cfg.ram_budget,
        tile_frames_shown: late.shown,
        late_tile_frames: late.late,
        late_percent_after_1s: late.percent_after_warm_up(),
        decode_fps: clock.decode_fps(renderer),
        video,
    })
}

/// Frame times at one zoom, all pages resident.
#[derive(Clone, Debug, Serialize)]
pub struct LevelRow {
    pub cell_px: f64,
    pub frame_ms_median: f64,
    pub frame_ms_p99: f64,
    /// With the frame copied back to memory (GPU; the CPU frame is in memory already).
    pub readback_ms_median: Option<f64>,
    pub readback_ms_p99: Option<f64>,
    /// CPU renderer, a pixel per cell or more: the same frame written with plain copies of
    /// one resident page row per cell row (`cpu_render::copy_floor_into`).
    pub copy_floor_ms_median: Option<f64>,
    /// With clips: as in the path report.
    pub tile_frames_shown: u64,
    pub late_tile_frames: u64,
    pub late_percent_after_1s: Option<f64>,
    pub decode_fps: Option<f64>,
}

/// For each zoom in `cell_pxs` (centred on the mosaic): settle, warm up, then time `frames`
/// frames drawing only (and, on the GPU, `frames` more with read-back). A library with clips
/// streams every frame too (playing clips need it; `--still` pays the same, for comparison),
/// and plays in wall time from each zoom's settle. `trace` gets a JSON line per timed frame
/// without read-back.
pub fn run_levels(
    renderer: &mut HeadlessRenderer,
    cell_pxs: &[f64],
    frames: usize,
    playback: &PlaybackArgs,
    mut trace: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<Vec<LevelRow>> {
    let center = DVec2::new(
        renderer.scene().cols() as f64 / 2.0,
        renderer.scene().rows() as f64 / 2.0,
    );
    let gpu = renderer.gpu_context().is_some();
    let clips = renderer.scene().library.has_clips();
    let mut rows = Vec::new();
    for &cell_px in cell_pxs {
        let cam = Camera { center, cell_px };
        renderer.set_playback(playback.at(0.0));
        let settled = renderer.settle(&cam, std::time::Duration::from_secs(120));
        let clock = RunClock::start(renderer);
        let mut late = LateCount::default();
        let mut time = |read_back: bool| -> anyhow::Result<(f64, f64)> {
            let mut t = Vec::with_capacity(frames);
            for i in 0..frames + 2 {
                let start = Instant::now();
                // Stills draw the settled frame over and over; clips stream each tick.
                let (mut frame, mut stats) = (settled, tessera::FrameStats::default());
                if clips {
                    let playing_for = clock.seconds();
                    renderer.set_playback(playback.at(playing_for));
                    frame = renderer.update(&cam);
                    stats = frame.stats;
                    late.add(&stats, playing_for);
                }
                let updated = Instant::now();
                renderer.draw(&frame, read_back)?;
                if read_back {
                    renderer.pixels()?;
                }
                if i >= 2 {
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    t.push(ms);
                    if let Some(out) = trace.as_deref_mut().filter(|_| !read_back) {
                        TraceLine {
                            ms,
                            update_ms: (updated - start).as_secs_f64() * 1e3,
                            jump: false,
                            cell_px,
                            stats: &stats,
                        }
                        .write(out)?;
                    }
                }
            }
            Ok(median_p99(&mut t))
        };
        let (m, p) = time(false)?;
        let rb = if gpu { Some(time(true)?) } else { None };
        let copy_floor = {
            let mut t = Vec::with_capacity(frames);
            for i in 0..frames + 2 {
                let start = Instant::now();
                if !renderer.draw_copy_floor(&settled) {
                    break;
                }
                if i >= 2 {
                    t.push(start.elapsed().as_secs_f64() * 1e3);
                }
            }
            (!t.is_empty()).then(|| median_p99(&mut t).0)
        };
        rows.push(LevelRow {
            cell_px,
            frame_ms_median: m,
            frame_ms_p99: p,
            readback_ms_median: rb.map(|r| r.0),
            readback_ms_p99: rb.map(|r| r.1),
            copy_floor_ms_median: copy_floor,
            tile_frames_shown: late.shown,
            late_tile_frames: late.late,
            late_percent_after_1s: late.percent_after_warm_up(),
            decode_fps: clock.decode_fps(renderer),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99() {
        let mut v: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        assert_eq!(median_p99(&mut v), (51.0, 99.0));
    }
}
