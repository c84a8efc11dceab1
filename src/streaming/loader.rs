//! The loader pool: threads that read pages from the store off the render thread.
//!
//! Requests sit in one priority-ordered queue that the render thread may replace each frame
//! (dropping requests that went off screen before a loader took them). Results come back
//! over a channel bounded in bytes, not pages: loaders wait when the render thread is behind
//! instead of piling up memory, yet thousands of small pages can arrive in one frame.

use super::PageSource;
use crate::library::page_bytes;
use crate::residency::PageKey;
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

pub type LoadResult = (PageKey, Result<Vec<u8>, String>);

#[derive(Default)]
struct Queue {
    pending: VecDeque<PageKey>,
    queued: HashSet<PageKey>,
    in_flight: HashSet<PageKey>,
    cancelled: u64,
    /// Bytes sent and not yet drained by the render thread.
    in_channel: usize,
    shutdown: bool,
}

pub struct LoaderPool {
    shared: Arc<(Mutex<Queue>, Condvar)>,
    results: Receiver<LoadResult>,
    threads: Vec<JoinHandle<()>>,
}

impl LoaderPool {
    /// `channel_bytes`: most bytes of loaded pages waiting for the render thread (at least
    /// one page always fits).
    pub fn new(source: Arc<dyn PageSource>, threads: usize, channel_bytes: usize) -> LoaderPool {
        let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let (tx, rx) = unbounded();
        let threads = (0..threads.max(1))
            .map(|i| {
                let (shared, source, tx) = (shared.clone(), source.clone(), tx.clone());
                std::thread::Builder::new()
                    .name(format!("tessera-loader-{i}"))
                    .spawn(move || loader_main(&shared, source.as_ref(), &tx, channel_bytes))
                    .expect("spawn loader thread")
            })
            .collect();
        LoaderPool {
            shared,
            results: rx,
            threads,
        }
    }

    /// Makes `requests` (best first) the queue. With `cancel`, queued requests not in the
    /// list are dropped; without, they stay behind the new ones. Pages already being loaded
    /// are not queued again.
    pub fn submit(&self, requests: &[PageKey], cancel: bool) {
        let (lock, cvar) = &*self.shared;
        let mut q = lock.lock().unwrap();
        let old = std::mem::take(&mut q.pending);
        q.queued.clear();
        for &key in requests {
            if !q.in_flight.contains(&key) && q.queued.insert(key) {
                q.pending.push_back(key);
            }
        }
        for key in old {
            if cancel {
                if !q.queued.contains(&key) {
                    q.cancelled += 1;
                }
            } else if q.queued.insert(key) {
                q.pending.push_back(key);
            }
        }
        cvar.notify_all();
    }

    /// Results ready now, without waiting.
    pub fn drain(&self) -> Vec<LoadResult> {
        let out: Vec<_> = self.results.try_iter().collect();
        self.forget_in_flight(&out);
        out
    }

    /// Waits for at least one result (up to `timeout`), then drains.
    pub fn wait(&self, timeout: std::time::Duration) -> Vec<LoadResult> {
        let mut out: Vec<_> = self.results.recv_timeout(timeout).into_iter().collect();
        out.extend(self.results.try_iter());
        self.forget_in_flight(&out);
        out
    }

    fn forget_in_flight(&self, done: &[LoadResult]) {
        if done.is_empty() {
            return;
        }
        let mut q = self.shared.0.lock().unwrap();
        for (key, _) in done {
            q.in_flight.remove(key);
            q.in_channel -= super::cache::cost(page_bytes(key.level as usize)) as usize;
        }
        self.shared.1.notify_all();
    }

    pub fn is_pending(&self, key: &PageKey) -> bool {
        let q = self.shared.0.lock().unwrap();
        q.queued.contains(key) || q.in_flight.contains(key)
    }

    /// Requests waiting for a loader.
    pub fn queue_depth(&self) -> usize {
        self.shared.0.lock().unwrap().pending.len()
    }

    /// Requests being read or waiting in the channel.
    pub fn in_flight(&self) -> usize {
        self.shared.0.lock().unwrap().in_flight.len()
    }

    /// Requests dropped because they went off screen before being served.
    pub fn cancelled(&self) -> u64 {
        self.shared.0.lock().unwrap().cancelled
    }
}

impl Drop for LoaderPool {
    fn drop(&mut self) {
        self.shared.0.lock().unwrap().shutdown = true;
        self.shared.1.notify_all();
        // Unblock loaders waiting on a full channel.
        while self.results.try_recv().is_ok() {}
        for t in self.threads.drain(..) {
            while !t.is_finished() {
                while self.results.try_recv().is_ok() {}
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let _ = t.join();
        }
    }
}

/// Most records one read takes ahead of the one asked for: two seconds of a clip at 12
/// fps, so a playing clip costs one read every two seconds rather than one per frame...
const READ_AHEAD_RECORDS: u32 = 24;
/// ... and most bytes one read takes (large pages are read fewer at a time).
pub const READ_AHEAD_BYTES: usize = 512 << 10;

fn loader_main(
    shared: &(Mutex<Queue>, Condvar),
    source: &dyn PageSource,
    tx: &Sender<LoadResult>,
    channel_bytes: usize,
) {
    let (lock, cvar) = shared;
    loop {
        let (key, count) = {
            let mut q = lock.lock().unwrap();
            loop {
                if q.shutdown {
                    return;
                }
                let Some(key) = q.pending.pop_front() else {
                    q = cvar.wait(q).unwrap();
                    continue;
                };
                q.queued.remove(&key);
                if q.in_flight.contains(&key) {
                    continue; // already being read, ahead of another record of its clip
                }
                q.in_flight.insert(key);
                // Read on through the clip's following frames, as far as none is in flight.
                let size = page_bytes(key.level as usize);
                let cap = READ_AHEAD_RECORDS
                    .min((READ_AHEAD_BYTES / size).max(1) as u32)
                    .min(source.run_from(key.record));
                let mut count = 1;
                while count < cap {
                    let next = PageKey::new(key.record + count, key.level as usize);
                    if !q.in_flight.insert(next) {
                        break;
                    }
                    count += 1;
                }
                break (key, count);
            }
        };
        let size = page_bytes(key.level as usize);
        let mut pages = vec![0u8; size * count as usize];
        let level = key.level as usize;
        let results: Vec<LoadResult> =
            match source.read_records(key.record, count, level, &mut pages) {
                Ok(()) => pages
                    .chunks_exact(size)
                    .enumerate()
                    .map(|(i, p)| (PageKey::new(key.record + i as u32, level), Ok(p.to_vec())))
                    .collect(),
                // Say which pages failed: read them one by one.
                Err(_) => (0..count)
                    .map(|i| {
                        let k = PageKey::new(key.record + i, level);
                        let mut page = vec![0u8; size];
                        (
                            k,
                            source
                                .read_records(k.record, 1, level, &mut page)
                                .map(|()| page),
                        )
                    })
                    .collect(),
            };
        drop(pages);
        for result in results {
            {
                let mut q = lock.lock().unwrap();
                let cost = super::cache::cost(size) as usize;
                while q.in_channel > 0 && q.in_channel + cost > channel_bytes && !q.shutdown {
                    q = cvar.wait(q).unwrap();
                }
                q.in_channel += cost;
            }
            if tx.send(result).is_err() {
                return;
            }
        }
    }
}
