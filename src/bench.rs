//! `tessera bench`: scripted camera paths rendered headless, with streaming metrics.
//!
//! Paths are deterministic (no clock, no randomness from outside), so two runs see the same
//! frames and two configurations can be compared side by side.

use crate::render::HeadlessRenderer;
use crate::view::Camera;
use glam::DVec2;
use serde::Serialize;
use std::time::Instant;

/// One frame of a path. `jump` marks a cut: time to sharp is measured from it.
#[derive(Clone, Copy, Debug)]
pub struct PathFrame {
    pub camera: Camera,
    pub jump: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PathName {
    /// Whole mosaic → one tile at 256 px per cell and back, fast pans, and jumps.
    Tour,
    /// Only the jumps: whole mosaic ↔ 256 px per cell at scattered places.
    Jumps,
    /// Fast pans at 32 and 256 px per cell.
    Pans,
    /// Eased zoom from the whole mosaic into its centre at 256 px per cell and back out.
    Zoom,
}

struct Lcg(u64);
impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Geometric interpolation of zoom, linear of centre.
fn zoom(out: &mut Vec<PathFrame>, from: Camera, to: Camera, frames: usize) {
    for i in 0..frames {
        let t = (i + 1) as f64 / frames as f64;
        let cell_px = from.cell_px * (to.cell_px / from.cell_px).powf(t);
        out.push(PathFrame {
            camera: Camera {
                center: from.center.lerp(to.center, t),
                cell_px,
            },
            jump: false,
        });
    }
}

fn pan(out: &mut Vec<PathFrame>, from: Camera, velocity_px: DVec2, frames: usize) -> Camera {
    let mut cam = from;
    for _ in 0..frames {
        cam.pan_pixels(-velocity_px);
        out.push(PathFrame {
            camera: cam,
            jump: false,
        });
    }
    cam
}

fn hold(out: &mut Vec<PathFrame>, cam: Camera, frames: usize, jump: bool) {
    for i in 0..frames {
        out.push(PathFrame {
            camera: cam,
            jump: jump && i == 0,
        });
    }
}

/// An eased zoom from `from` into `to` (40 % of the frames), a hold (20 %) and back out:
/// zoom is interpolated geometrically so every octave takes equally long.
pub fn zoom_in_out(from: Camera, to: Camera, frames: usize) -> Vec<PathFrame> {
    let ease = |t: f64| t * t * (3.0 - 2.0 * t);
    let at = |t: f64| Camera {
        center: from.center.lerp(to.center, t),
        cell_px: from.cell_px * (to.cell_px / from.cell_px).powf(t),
    };
    let leg = (frames * 2 / 5).max(1);
    (0..frames.max(1))
        .map(|i| {
            let t = if i < leg {
                ease(i as f64 / leg as f64)
            } else if i < frames - leg {
                1.0
            } else {
                ease((frames - 1 - i) as f64 / leg as f64)
            };
            PathFrame {
                camera: at(t),
                jump: false,
            }
        })
        .collect()
}

/// Builds a path of about `frames` frames for a `cols × rows` mosaic on a `w × h` screen.
pub fn camera_path(
    name: PathName,
    cols: u32,
    rows: u32,
    w: u32,
    h: u32,
    frames: usize,
) -> Vec<PathFrame> {
    let fit = Camera::fit(cols, rows, w, h);
    let mut rng = Lcg(0x7e55e7a);
    let mut spot = || {
        DVec2::new(
            2.0 + rng.unit() * (cols as f64 - 4.0).max(0.0),
            2.0 + rng.unit() * (rows as f64 - 4.0).max(0.0),
        )
    };
    let unit = (frames / 24).max(1);
    let mut out = Vec::with_capacity(frames + unit);
    let jumps = |out: &mut Vec<PathFrame>, spot: &mut dyn FnMut() -> DVec2, count: usize| {
        for _ in 0..count {
            hold(
                out,
                Camera {
                    center: spot(),
                    cell_px: 256.0,
                },
                unit,
                true,
            );
            hold(out, fit, unit / 2, true);
        }
    };
    match name {
        PathName::Zoom => {
            let centre = DVec2::new(cols as f64, rows as f64) / 2.0;
            let target = Camera {
                center: centre,
                cell_px: 256.0,
            };
            out = zoom_in_out(fit, target, frames);
        }
        PathName::Tour => {
            let target = Camera {
                center: spot(),
                cell_px: 256.0,
            };
            zoom(&mut out, fit, target, 4 * unit);
            let end = pan(&mut out, target, DVec2::new(24.0, 6.0), 3 * unit);
            zoom(&mut out, end, fit, 4 * unit);
            let mid = Camera {
                center: spot(),
                cell_px: 32.0,
            };
            hold(&mut out, mid, unit / 2, true);
            pan(&mut out, mid, DVec2::new(-48.0, 20.0), 3 * unit);
            jumps(&mut out, &mut spot, 6);
        }
        PathName::Jumps => jumps(&mut out, &mut spot, frames / (unit + unit / 2).max(1)),
        PathName::Pans => {
            pan(
                &mut out,
                Camera {
                    center: spot(),
                    cell_px: 32.0,
                },
                DVec2::new(40.0, 12.0),
                frames / 2,
            );
            pan(
                &mut out,
                Camera {
                    center: spot(),
                    cell_px: 256.0,
                },
                DVec2::new(-30.0, 25.0),
                frames - frames / 2,
            );
        }
    }
    // Stretch or trim to the asked length by repeating the path.
    let base = out.clone();
    while out.len() < frames {
        out.extend(base.iter().take(frames - out.len()));
    }
    out.truncate(frames.max(1));
    out
}

/// The report `--json` prints; every key is documented in the README.
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
    pub bytes_uploaded: u64,
    pub evictions: u64,
    pub cancelled_requests: u64,
    pub failed_pages: usize,
    pub peak_rss_bytes: u64,
    pub peak_gpu_atlas_bytes: u64,
    pub peak_resident_page_bytes: u64,
    pub peak_ram_cache_bytes: u64,
    pub gpu_budget_bytes: u64,
    pub ram_budget_bytes: u64,
}

/// Peak resident set size of this process (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
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
    jump: bool,
    cell_px: f64,
    #[serde(flatten)]
    stats: &'a crate::streaming::FrameStats,
}

/// Renders every frame of `path` as a viewer would (stream, draw, wait for the GPU; no
/// read-back) and collects the report; `trace` gets one JSON line per frame.
pub fn run(
    renderer: &mut HeadlessRenderer,
    name: &str,
    path: &[PathFrame],
    mut trace: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<BenchReport> {
    let mut times = Vec::with_capacity(path.len());
    let mut sharp_ms = Vec::new();
    let mut sharp_frames = Vec::new();
    let mut pending_jump: Option<(Instant, usize)> = None;
    let (mut max_missing, mut bytes, mut resident_peak, mut cache_peak, mut failed) =
        (0, 0, 0, 0, 0);
    let (mut cancelled, mut missing_sum) = (0, 0);
    // One untimed frame: the first draw pays the shader compile (about 100 ms on lavapipe).
    if let Some(first) = path.first() {
        renderer.draw(&first.camera, false)?;
    }
    for (i, f) in path.iter().enumerate() {
        let t0 = Instant::now();
        if f.jump {
            if pending_jump.is_some() {
                sharp_ms.push(None);
                sharp_frames.push(None);
            }
            pending_jump = Some((t0, i));
        }
        let stats = renderer.update(&f.camera);
        renderer.draw(&f.camera, false)?;
        let t1 = Instant::now();
        times.push((t1 - t0).as_secs_f64() * 1e3);
        max_missing = max_missing.max(stats.missing);
        missing_sum += stats.missing as u64;
        bytes += stats.uploaded_bytes;
        if let Some(out) = trace.as_deref_mut() {
            let line = TraceLine {
                ms: times[i],
                jump: f.jump,
                cell_px: f.camera.cell_px,
                stats: &stats,
            };
            serde_json::to_writer(&mut *out, &line)?;
            writeln!(out)?;
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
    let cfg = renderer.stream().config();
    Ok(BenchReport {
        path: name.into(),
        adapter: renderer.describe(),
        size: [renderer.width, renderer.height],
        frames: path.len(),
        frame_ms_median: median,
        frame_ms_p99: p99,
        frame_ms_max: sorted.last().copied().unwrap_or(0.0),
        time_to_sharp_ms: sharp_ms,
        time_to_sharp_frames: sharp_frames,
        max_missing_pages: max_missing,
        missing_page_frames: missing_sum,
        bytes_uploaded: bytes,
        evictions: renderer.stream().evictions(),
        cancelled_requests: cancelled,
        failed_pages: failed,
        peak_rss_bytes: peak_rss_bytes(),
        peak_gpu_atlas_bytes: renderer.atlas_bytes(),
        peak_resident_page_bytes: resident_peak,
        peak_ram_cache_bytes: cache_peak,
        gpu_budget_bytes: cfg.gpu_budget,
        ram_budget_bytes: cfg.ram_budget,
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
}

/// For each zoom in `cell_pxs` (centred on the mosaic): settle, warm up, then time `frames`
/// frames drawing only (and, on the GPU, `frames` more with read-back).
pub fn run_levels(
    renderer: &mut HeadlessRenderer,
    cell_pxs: &[f64],
    frames: usize,
) -> anyhow::Result<Vec<LevelRow>> {
    let center = DVec2::new(
        renderer.scene.cols() as f64 / 2.0,
        renderer.scene.rows() as f64 / 2.0,
    );
    let gpu = renderer.is_gpu();
    let mut rows = Vec::new();
    for &cell_px in cell_pxs {
        let cam = Camera { center, cell_px };
        renderer.settle(&cam, std::time::Duration::from_secs(120));
        let mut time = |read_back: bool| -> anyhow::Result<(f64, f64)> {
            let mut t = Vec::with_capacity(frames);
            for i in 0..frames + 2 {
                let start = Instant::now();
                renderer.draw(&cam, read_back)?;
                if read_back {
                    renderer.pixels()?;
                }
                if i >= 2 {
                    t.push(start.elapsed().as_secs_f64() * 1e3);
                }
            }
            Ok(median_p99(&mut t))
        };
        let (m, p) = time(false)?;
        let rb = if gpu { Some(time(true)?) } else { None };
        rows.push(LevelRow {
            cell_px,
            frame_ms_median: m,
            frame_ms_p99: p,
            readback_ms_median: rb.map(|r| r.0),
            readback_ms_p99: rb.map(|r| r.1),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_have_the_asked_length_and_jumps() {
        for name in [
            PathName::Tour,
            PathName::Jumps,
            PathName::Pans,
            PathName::Zoom,
        ] {
            let p = camera_path(name, 1920, 1080, 1920, 1080, 2000);
            assert_eq!(p.len(), 2000);
            assert!(p
                .iter()
                .all(|f| f.camera.cell_px > 0.0 && f.camera.center.is_finite()));
        }
        let tour = camera_path(PathName::Tour, 1920, 1080, 1920, 1080, 2400);
        assert!(tour.iter().filter(|f| f.jump).count() >= 6);
        assert!(tour.iter().any(|f| f.camera.cell_px >= 256.0));
        assert!(tour.iter().any(|f| f.camera.cell_px <= 1.0));
    }

    #[test]
    fn zoom_in_out_reaches_the_target_and_comes_back() {
        let from = Camera::fit(100, 50, 640, 360);
        let to = Camera {
            center: DVec2::new(10.0, 40.0),
            cell_px: 256.0,
        };
        let p = zoom_in_out(from, to, 100);
        assert_eq!(p.len(), 100);
        assert_eq!(p[0].camera, from);
        assert!(p.iter().any(|f| f.camera == to));
        let zooms: Vec<f64> = p.iter().map(|f| f.camera.cell_px).collect();
        assert!(
            zooms[..40].windows(2).all(|w| w[0] <= w[1]),
            "zooms in steadily"
        );
        assert!(zooms[60..].windows(2).all(|w| w[0] >= w[1]), "and back out");
        assert!((p[99].camera.cell_px / from.cell_px - 1.0).abs() < 0.05);
    }

    #[test]
    fn median_and_p99() {
        let mut v: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        assert_eq!(median_p99(&mut v), (51.0, 99.0));
    }
}
