//! Live targets: a stream, a pipe or a device, turned into grids as its frames arrive.
//!
//! The same two stages as a video file's (decode to cell colours → match), but a live
//! source is never waited for and never queued behind: each stage hands on only its newest
//! result, dropping (and counting) one the next stage has not taken yet, so what is drawn is
//! at most a frame or two behind the source however slow a stage is. A network source that
//! stops or fails is opened again until it comes back; a pipe or file that ends, ends.

use super::TargetFrame;
use crate::library::TileAspect;
use crate::matching::table::{cell_means, ColourTable, FrameMatchOptions, FrameMatcher};
use crate::matching::CellSpec;
use crate::video::error::{MediaError, Result};
use crate::video::{LiveSound, VideoReader};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A live source, as FFmpeg opens it.
#[derive(Clone, Debug)]
pub struct LiveSource {
    /// A device path, a URL (`udp://127.0.0.1:5000`), a named pipe, or `-` (standard input).
    pub source: String,
    /// FFmpeg's input format, where it cannot be guessed (`mpegts`, `v4l2`, `x11grab`).
    pub format: Option<String>,
    /// FFmpeg's input options (`video_size=1280x720`, `framerate=30`).
    pub options: Vec<(String, String)>,
    /// Keep the source's sound for a recording (`LiveGrids::sound`).
    pub sound: bool,
}

impl LiveSource {
    /// Whether the source is reached over a network: when it stops or fails it is opened
    /// again (a sender restarting); a pipe, a file or a device that ends, ends.
    pub fn reconnects(&self) -> bool {
        let scheme = self.source.split_once("://").map(|(s, _)| s);
        scheme.is_some_and(|s| !matches!(s, "file" | "pipe"))
    }

    fn open(&self) -> Result<VideoReader> {
        VideoReader::open_live(&self.source, self.format.as_deref(), &self.options)
    }
}

/// One matched frame of a live source, and when it came out of the decoder.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    /// Its grid and cell colours (`time`: seconds since the source was opened).
    pub frame: TargetFrame,
    /// When the decoder produced it: latency is measured from here.
    pub arrived: Instant,
    /// Its time on the source's clock, in seconds: the source's sound is placed by it.
    pub source_time: f64,
}

struct Cells {
    index: u64,
    time: f64,
    arrived: Instant,
    source_time: f64,
    means: Vec<[u8; 3]>,
}

/// What the decode thread found in the source's first frame.
#[derive(Clone, Copy, Debug)]
pub struct LiveInfo {
    /// Upright frame size.
    pub width: u32,
    /// Upright frame height.
    pub height: u32,
    /// The grid, from the first frame's size.
    pub cells: (u32, u32),
    /// The rate the source declares (frames per second), when it does.
    pub fps: Option<f64>,
}

/// Counts shared by the stages and the caller.
#[derive(Debug, Default)]
struct Counts {
    decoded: AtomicU64,
    dropped: AtomicU64,
    reopened: AtomicU64,
    /// Microseconds since `epoch` when the last frame was decoded.
    last_frame_us: AtomicU64,
    /// The matcher has handed on its last grid: the source ended.
    finished: AtomicBool,
}

/// Called by the matcher each time it hands on a grid, and once when the source ends.
type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

/// Grids of a live source's frames, newest first.
pub struct LiveGrids {
    grids: Option<Receiver<LiveFrame>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    counts: Arc<Counts>,
    epoch: Instant,
    error: Arc<Mutex<Option<MediaError>>>,
    waker: Waker,
    sound: Arc<Mutex<Option<LiveSound>>>,
    /// The source, and the grid made from its first frame.
    pub info: LiveInfo,
    source: LiveSource,
}

/// Hands `item` on, dropping the one the next stage has not taken yet (counted).
fn send_newest<T>(tx: &Sender<T>, rx: &Receiver<T>, item: T, dropped: &AtomicU64) -> bool {
    match tx.try_send(item) {
        Ok(()) => true,
        Err(crossbeam_channel::TrySendError::Full(item)) => {
            if rx.try_recv().is_ok() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The receiver may have taken the old one meanwhile: either way there is room.
            tx.try_send(item).is_ok() || !tx.is_empty()
        }
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => false,
    }
}

impl LiveGrids {
    /// Opens `source`, waits for its first frame (at most `first_frame`), makes the grid
    /// of cells of the aspect given from its size by `cells`, and starts decoding and matching on threads of their own.
    pub fn start(
        source: LiveSource,
        cells: (CellSpec, TileAspect),
        table: Arc<ColourTable>,
        options: FrameMatchOptions,
        first_frame: Duration,
    ) -> Result<LiveGrids> {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let error = Arc::new(Mutex::new(None));
        let epoch = Instant::now();
        let (cells_tx, cells_rx) = bounded::<Cells>(1);
        let (grids_tx, grids_rx) = bounded::<LiveFrame>(1);
        let (ready_tx, ready_rx) = bounded::<Result<LiveInfo>>(1);
        let sound = Arc::new(Mutex::new(None));
        let decoder = {
            let (source, stop, counts, error) =
                (source.clone(), stop.clone(), counts.clone(), error.clone());
            let sound = sound.clone();
            let cells_drop = cells_rx.clone();
            std::thread::Builder::new()
                .name("tessera-live-decode".into())
                .spawn(move || {
                    let mut ready = Some(ready_tx);
                    let mut grid = None;
                    let mut index = 0;
                    let mut logged = false;
                    while !stop.load(Ordering::Relaxed) {
                        let reader = source.open().and_then(|mut reader| {
                            if source.sound {
                                // Opened again, it keeps filling the first opening's queue.
                                let mut slot = sound.lock().expect("not poisoned");
                                let tapped = reader.tap_sound(slot.as_ref());
                                *slot = slot.take().or(tapped);
                            }
                            decode_frames(
                                &mut reader,
                                &mut grid,
                                cells,
                                &mut index,
                                epoch,
                                &stop,
                                &counts,
                                &mut ready,
                                |c| send_newest(&cells_tx, &cells_drop, c, &counts.dropped),
                            )
                        });
                        let failure = match reader {
                            _ if stop.load(Ordering::Relaxed) => return,
                            Ok(()) if !source.reconnects() => return,
                            Ok(()) => format!("{}: the stream ended", source.source),
                            Err(e) if ready.is_some() && !source.reconnects() => {
                                if let Some(r) = ready.take() {
                                    let _ = r.send(Err(e));
                                }
                                return;
                            }
                            Err(e) if !source.reconnects() => {
                                *error.lock().expect("not poisoned") = Some(e);
                                return;
                            }
                            Err(e) => format!("{e:#}"),
                        };
                        if !logged {
                            tracing::warn!("{failure}; trying again until it comes back");
                            logged = true;
                        }
                        counts.reopened.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(250));
                    }
                })?
        };
        let info = match ready_rx.recv_timeout(first_frame) {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                stop.store(true, Ordering::Relaxed);
                let _ = decoder.join();
                return Err(e);
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                let _ = decoder.join();
                crate::video::error::bail!("{}: ended before its first frame", source.source);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                stop.store(true, Ordering::Relaxed);
                // The decoder may be blocked in a read that never returns: left to end
                // with the process, as there is nothing to show.
                crate::video::error::bail!(
                    "{}: no frame within {:.0} s; is the source sending?",
                    source.source,
                    first_frame.as_secs_f64()
                );
            }
        };
        let waker: Waker = Arc::new(Mutex::new(None));
        let wake = {
            let waker = waker.clone();
            move || {
                if let Some(wake) = waker.lock().expect("not poisoned").as_ref() {
                    wake();
                }
            }
        };
        let matcher = {
            let (counts, stop) = (counts.clone(), stop.clone());
            let grids_drop = grids_rx.clone();
            let cols = info.cells.0;
            std::thread::Builder::new()
                .name("tessera-live-match".into())
                .spawn(move || {
                    let mut matcher = FrameMatcher::new(table, options);
                    // Woken now and then to see the stop flag: the decoder may be blocked
                    // in a read of a silent source, and never close the channel.
                    while !stop.load(Ordering::Relaxed) {
                        let c = match cells_rx.recv_timeout(Duration::from_millis(100)) {
                            Ok(c) => c,
                            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                        };
                        let grid = matcher.match_frame(&c.means, cols);
                        let frame = LiveFrame {
                            frame: TargetFrame {
                                index: c.index,
                                time: c.time,
                                grid: Arc::new(grid),
                                colours: Arc::new(c.means),
                            },
                            arrived: c.arrived,
                            source_time: c.source_time,
                        };
                        if !send_newest(&grids_tx, &grids_drop, frame, &counts.dropped) {
                            break;
                        }
                        wake();
                    }
                    counts.finished.store(true, Ordering::Relaxed);
                    wake();
                })?
        };
        Ok(LiveGrids {
            grids: Some(grids_rx),
            stop,
            threads: vec![decoder, matcher],
            counts,
            epoch,
            error,
            waker,
            sound,
            info,
            source,
        })
    }

    /// Calls `wake` (from the matcher's thread) each time a new grid is ready and once when
    /// the source ends: a window's event loop sleeps until then instead of polling.
    pub fn on_frame(&self, wake: impl Fn() + Send + 'static) {
        *self.waker.lock().expect("not poisoned") = Some(Box::new(wake));
    }

    /// The newest matched frame, if one came since the last call. Never waits.
    pub fn latest(&self) -> Option<LiveFrame> {
        self.grids.as_ref()?.try_recv().ok()
    }

    /// The newest matched frame, waiting at most `timeout` for one.
    pub fn wait(&self, timeout: Duration) -> Option<LiveFrame> {
        self.grids.as_ref()?.recv_timeout(timeout).ok()
    }

    /// The source ended (a pipe closed, a file read to its end) and every frame was taken.
    pub fn ended(&self) -> bool {
        self.counts.finished.load(Ordering::Relaxed)
            && self.grids.as_ref().is_none_or(|rx| rx.is_empty())
    }

    /// Why the source stopped, if it failed (taken once).
    pub fn take_error(&self) -> Option<MediaError> {
        self.error.lock().expect("not poisoned").take()
    }

    /// Frames decoded, and frames dropped because a later stage had not taken the one
    /// before (newest wins).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.decoded.load(Ordering::Relaxed),
            self.counts.dropped.load(Ordering::Relaxed),
        )
    }

    /// Times the source was opened again after it stopped.
    pub fn reopened(&self) -> u64 {
        self.counts.reopened.load(Ordering::Relaxed)
    }

    /// How long since the last frame came out of the decoder.
    pub fn silent_for(&self) -> Duration {
        let last = Duration::from_micros(self.counts.last_frame_us.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }

    /// The source's sound, where it has some and `LiveSource::sound` asked for it.
    pub fn sound(&self) -> Option<LiveSound> {
        self.sound.lock().expect("not poisoned").clone()
    }

    /// The source, as it was given.
    pub fn source(&self) -> &LiveSource {
        &self.source
    }
}

impl Drop for LiveGrids {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.grids = None;
        // A decoder blocked in a read of a silent source cannot be woken: it is detached
        // (it stops at its next frame or with the process); the matcher always ends.
        let mut threads = self.threads.drain(..);
        let decoder = threads.next();
        for t in threads {
            let _ = t.join();
        }
        if let Some(d) = decoder {
            if d.is_finished() {
                let _ = d.join();
            }
        }
    }
}

/// Decodes `reader`'s frames into cell colours until it ends or `stop` is set, handing each
/// to `send`; the first frame fixes the grid (kept across reopenings) and is reported on
/// `ready`.
#[allow(clippy::too_many_arguments)]
fn decode_frames(
    reader: &mut VideoReader,
    grid: &mut Option<(u32, u32)>,
    (cells, aspect): (CellSpec, TileAspect),
    index: &mut u64,
    epoch: Instant,
    stop: &AtomicBool,
    counts: &Counts,
    ready: &mut Option<Sender<Result<LiveInfo>>>,
    mut send: impl FnMut(Cells) -> bool,
) -> Result<()> {
    let (width, height) = reader.upright_size();
    let (cols, rows) =
        *grid.get_or_insert_with(|| cells.resolve_for(width.max(1), height.max(1), aspect));
    let samples = super::cell_samples((width, height), (cols, rows), aspect);
    while !stop.load(Ordering::Relaxed) {
        let Some(_) = reader.advance()? else {
            return Ok(());
        };
        let arrived = Instant::now();
        let rgb = reader.cells((cols, rows), samples, aspect)?;
        let means = cell_means(&rgb, cols, rows, samples[0], samples[1]);
        counts.decoded.fetch_add(1, Ordering::Relaxed);
        counts
            .last_frame_us
            .store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Some(r) = ready.take() {
            let _ = r.send(Ok(LiveInfo {
                width,
                height,
                cells: (cols, rows),
                fps: reader.rate().map(|(n, d)| n as f64 / d.max(1) as f64),
            }));
        }
        let c = Cells {
            index: *index,
            time: epoch.elapsed().as_secs_f64(),
            arrived,
            source_time: reader.stream_time(),
            means,
        };
        *index += 1;
        if !send(c) {
            return Ok(());
        }
    }
    Ok(())
}
