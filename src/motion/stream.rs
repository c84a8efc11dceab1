//! The pipeline's first two stages, each on a thread of its own: decode the target (to each
//! cell's mean colour) → match (a grid per frame). Bounded channels join them, so a stage
//! that runs ahead waits instead of filling memory, and dropping the stream stops both
//! threads wherever they are: no deadlock, no orphan thread.

use super::TargetFrame;
use crate::matching::table::{cell_means, ColourTable, FrameMatchOptions, FrameMatcher};
use crate::video::error::{ensure, MediaError, Result};
use crate::video::VideoReader;
use crossbeam_channel::{bounded, Receiver, TryRecvError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Decoded frames waiting for the matcher, and matched grids waiting for the renderer.
const DECODED_AHEAD: usize = 2;
const MATCHED_AHEAD: usize = 4;

/// Time each stage spent working (not waiting), and the frames it handled.
#[derive(Debug, Default)]
pub struct StageTimes {
    decode_ns: AtomicU64,
    decoded: AtomicU64,
    match_ns: AtomicU64,
    matched: AtomicU64,
}

impl StageTimes {
    fn add(ns: &AtomicU64, n: &AtomicU64, started: std::time::Instant) {
        ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        n.fetch_add(1, Ordering::Relaxed);
    }
    /// Frames per second the decode stage would run at alone (decoding and averaging cells).
    pub fn decode_fps(&self) -> f64 {
        rate(&self.decoded, &self.decode_ns)
    }
    /// Frames per second the match stage would run at alone.
    pub fn match_fps(&self) -> f64 {
        rate(&self.matched, &self.match_ns)
    }
    /// Seconds per frame of decoding and of matching.
    pub fn per_frame(&self) -> (f64, f64) {
        (1.0 / self.decode_fps(), 1.0 / self.match_fps())
    }
}

fn rate(n: &AtomicU64, ns: &AtomicU64) -> f64 {
    let (n, ns) = (n.load(Ordering::Relaxed), ns.load(Ordering::Relaxed));
    if ns == 0 {
        0.0
    } else {
        n as f64 * 1e9 / ns as f64
    }
}

/// What the decode thread found when it opened the target.
#[derive(Clone, Debug)]
pub struct TargetInfo {
    /// Upright frame width.
    pub width: u32,
    /// Upright frame height.
    pub height: u32,
    /// Frame rate as a fraction, when the video says it.
    pub fps: Option<(u32, u32)>,
    /// Seconds.
    pub duration: f64,
}

struct CellFrame {
    index: u64,
    time: f64,
    means: Vec<[u8; 3]>,
}

/// Grids for a video target's frames from `start` on, decoded and matched ahead of use.
pub struct GridStream {
    path: PathBuf,
    grids: Option<Receiver<Result<TargetFrame>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    times: Arc<StageTimes>,
    error: Mutex<Option<MediaError>>,
    /// What the target is.
    pub info: TargetInfo,
}

impl GridStream {
    /// Opens `target` and starts decoding from `start` seconds into `cols × rows` cells,
    /// matched through `table`. Fails at once (naming the file) when the target cannot be
    /// opened as a video.
    pub fn start(
        target: &Path,
        start: f64,
        ((cols, rows), aspect): ((u32, u32), crate::library::TileAspect),
        table: Arc<ColourTable>,
        options: FrameMatchOptions,
    ) -> Result<GridStream> {
        let stop = Arc::new(AtomicBool::new(false));
        let times = Arc::new(StageTimes::default());
        let (cells_tx, cells_rx) = bounded::<Result<CellFrame>>(DECODED_AHEAD);
        let (grids_tx, grids_rx) = bounded(MATCHED_AHEAD);
        let (ready_tx, ready_rx) = bounded(1);
        let decoder = {
            let (path, stop, times) = (target.to_path_buf(), stop.clone(), times.clone());
            std::thread::Builder::new()
                .name("tessera-target-decode".into())
                .spawn(move || {
                    // FFmpeg's objects stay on the thread that opened them.
                    let mut reader = match open(&path, start) {
                        Ok((reader, info)) => {
                            let _ = ready_tx.send(Ok(info));
                            reader
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    // Up to 4×4 samples per cell, averaged in linear light.
                    let samples = super::cell_samples(reader.upright_size(), (cols, rows), aspect);
                    let mut index = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let started = std::time::Instant::now();
                        let frame = reader.advance().and_then(|t| match t {
                            Some(time) => {
                                let rgb = reader.cells((cols, rows), samples, aspect)?;
                                let [sx, sy] = samples;
                                let means = cell_means(&rgb, cols, rows, sx, sy);
                                Ok(Some(CellFrame { index, time, means }))
                            }
                            None => Ok(None),
                        });
                        match frame {
                            Ok(Some(f)) => {
                                StageTimes::add(&times.decode_ns, &times.decoded, started);
                                index += 1;
                                if cells_tx.send(Ok(f)).is_err() {
                                    return;
                                }
                            }
                            Ok(None) => return,
                            Err(e) => {
                                let _ = cells_tx.send(Err(e));
                                return;
                            }
                        }
                    }
                })?
        };
        let info = match ready_rx.recv() {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                let _ = decoder.join();
                return Err(e);
            }
            Err(_) => {
                let _ = decoder.join();
                crate::video::error::bail!("{}: the target decoder stopped", target.display());
            }
        };
        let matcher = {
            let times = times.clone();
            std::thread::Builder::new()
                .name("tessera-target-match".into())
                .spawn(move || {
                    let mut matcher = FrameMatcher::new(table, options);
                    for frame in cells_rx.iter() {
                        let out = frame.map(|f| {
                            let started = std::time::Instant::now();
                            let grid = matcher.match_frame(&f.means, cols);
                            StageTimes::add(&times.match_ns, &times.matched, started);
                            TargetFrame {
                                index: f.index,
                                time: f.time,
                                grid: Arc::new(grid),
                                colours: Arc::new(f.means),
                            }
                        });
                        if grids_tx.send(out).is_err() {
                            return;
                        }
                    }
                })?
        };
        Ok(GridStream {
            path: target.to_path_buf(),
            grids: Some(grids_rx),
            stop,
            threads: vec![decoder, matcher],
            times,
            error: Mutex::new(None),
            info,
        })
    }

    /// The next grid, waiting for it (offline rendering).
    pub fn next_blocking(&self) -> super::Next {
        let got = self.grids.as_ref().map(|rx| rx.recv().map_err(|_| ()));
        self.classify(got.unwrap_or(Err(())))
    }

    /// The next grid if one is ready (the window: the render thread never waits).
    pub fn next_ready(&self) -> super::Next {
        match self.grids.as_ref().map(|rx| rx.try_recv()) {
            Some(Err(TryRecvError::Empty)) => super::Next::NotYet,
            Some(Ok(got)) => self.classify(Ok(got)),
            _ => super::Next::End,
        }
    }

    fn classify(&self, got: Result<Result<TargetFrame>, ()>) -> super::Next {
        match got {
            Ok(Ok(frame)) => super::Next::Ready(frame),
            Ok(Err(e)) => {
                *self.error.lock().expect("not poisoned") = Some(e);
                super::Next::End
            }
            Err(()) => super::Next::End,
        }
    }

    /// Why the stream ended early, if it did (a decoder error mid-stream): taken once.
    pub fn take_error(&self) -> Option<MediaError> {
        self.error.lock().expect("not poisoned").take().map(|e| {
            MediaError::Failed(format!(
                "{}: the target stopped early: {e}",
                self.path.display()
            ))
        })
    }

    /// How fast the decode and match stages run.
    pub fn times(&self) -> &StageTimes {
        &self.times
    }
}

impl Drop for GridStream {
    /// Stops both stages: dropping the receiver fails the matcher's next send, which drops
    /// its receiver and fails the decoder's; the stop flag ends the decoder between frames.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.grids = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn open(path: &Path, start: f64) -> Result<(VideoReader, TargetInfo)> {
    let mut reader = VideoReader::open(path)?;
    let (width, height) = reader.upright_size();
    ensure!(
        width > 0 && height > 0,
        "{}: the video has no picture size",
        path.display()
    );
    let info = TargetInfo {
        width,
        height,
        fps: reader.rate(),
        duration: reader.duration(),
    };
    if start > 0.0 {
        reader.seek(start)?;
    }
    Ok((reader, info))
}
