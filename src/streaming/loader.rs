//! The loader pool: threads that read pages from the store off the render thread.
//!
//! Requests sit in one priority-ordered queue that the render thread may replace each frame
//! (dropping requests that went off screen before a loader took them). Results come back
//! over a channel bounded in bytes, not pages: loaders wait when the render thread is behind
//! instead of piling up memory, yet thousands of small pages can arrive in one frame.

use super::{cached_page, PageSource};
use crate::library::page_bytes;
use crate::residency::PageKey;
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

pub type LoadResult = (PageKey, Result<Vec<u8>, crate::library::StoreError>);

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

    /// Up to `max` results ready now, without waiting.
    pub fn drain(&self, max: usize) -> Vec<LoadResult> {
        let out: Vec<_> = self.results.try_iter().take(max).collect();
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
        for (key, result) in done {
            q.in_flight.remove(key);
            q.in_channel -= channel_cost(result);
        }
        self.shared.1.notify_all();
    }

    /// Requests waiting for a loader.
    pub fn queue_depth(&self) -> usize {
        self.shared.0.lock().unwrap().pending.len()
    }

    /// Loaded pages waiting in the channel to be taken in.
    pub fn waiting(&self) -> usize {
        self.results.len()
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

/// Where the streaming manager's page requests are read: the loader threads
/// ([`LoaderPool`]), or in the manager's unit tests a queue the test serves by hand, so that
/// every step of a frame runs on one thread, in an order the test chooses.
pub trait Fetch: Send {
    /// Makes `requests` (best first) the queue; with `cancel`, queued requests not in the
    /// list are dropped.
    fn submit(&self, requests: &[PageKey], cancel: bool);
    /// Up to `max` results ready now, without waiting.
    fn drain(&self, max: usize) -> Vec<LoadResult>;
    /// Waits for at least one result (up to `timeout`), then drains.
    fn wait(&self, timeout: std::time::Duration) -> Vec<LoadResult>;
    /// Requests not yet taken up.
    fn queue_depth(&self) -> usize;
    /// Results ready and not yet drained.
    fn waiting(&self) -> usize;
    /// Requests being read or ready and not yet drained.
    fn in_flight(&self) -> usize;
    /// Requests dropped by `cancel` before they were read.
    fn cancelled(&self) -> u64;
}

impl Fetch for LoaderPool {
    fn submit(&self, requests: &[PageKey], cancel: bool) {
        LoaderPool::submit(self, requests, cancel)
    }
    fn drain(&self, max: usize) -> Vec<LoadResult> {
        LoaderPool::drain(self, max)
    }
    fn wait(&self, timeout: std::time::Duration) -> Vec<LoadResult> {
        LoaderPool::wait(self, timeout)
    }
    fn queue_depth(&self) -> usize {
        LoaderPool::queue_depth(self)
    }
    fn waiting(&self) -> usize {
        LoaderPool::waiting(self)
    }
    fn in_flight(&self) -> usize {
        LoaderPool::in_flight(self)
    }
    fn cancelled(&self) -> u64 {
        LoaderPool::cancelled(self)
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

/// Nice value of a loader thread: the lowest priority there is.
const LOADER_NICE: i32 = 19;

/// Lowers the calling loader thread to `LOADER_NICE`, so that where there are few cores it
/// reads while the render thread does not draw, instead of taking a core from the draw:
/// when a zoom reaches a finer level, the loaders read thousands of pages while the CPU
/// renderer draws on every core, and frames there took up to twice as long (docs/performance.md,
/// "Clips at scale"). Where the draw leaves cores idle (a GPU draws it, or the
/// view is at rest) a nice thread runs as fast as any. Best effort: failing, it logs.
fn yield_to_the_render_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's id. On Linux a thread's nice
        // value is its own (`setpriority` on a thread id touches that thread only).
        let done = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, LOADER_NICE)
        };
        if done != 0 {
            tracing::debug!(
                "loader thread keeps its priority: {}",
                std::io::Error::last_os_error()
            );
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
    yield_to_the_render_thread();
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
        let extent = source.extent(level);
        let results: Vec<LoadResult> =
            match source.read_records(key.record, count, level, &mut pages) {
                Ok(()) => (pages.chunks_exact(size).enumerate())
                    .map(|(i, p)| {
                        let key = PageKey::new(key.record + i as u32, level);
                        (key, Ok(cached_page(p, level, extent)))
                    })
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
                                .map(|()| cached_page(&page, level, extent)),
                        )
                    })
                    .collect(),
            };
        drop(pages);
        for result in results {
            {
                let mut q = lock.lock().unwrap();
                let cost = channel_cost(&result.1);
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

/// What a loaded page costs while it waits in the channel (a failure, its entry alone).
fn channel_cost(result: &Result<Vec<u8>, crate::library::StoreError>) -> usize {
    super::cache::cost(result.as_ref().map_or(0, Vec::len)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of `record` filled with its number's low byte.
    struct Numbers;
    impl PageSource for Numbers {
        fn record_count(&self) -> u32 {
            100
        }
        fn read_records(
            &self,
            first: u32,
            count: u32,
            level: usize,
            out: &mut [u8],
        ) -> Result<(), crate::library::StoreError> {
            for (i, page) in out
                .chunks_exact_mut(page_bytes(level))
                .take(count as usize)
                .enumerate()
            {
                page.fill((first as usize + i) as u8);
            }
            Ok(())
        }
        fn run_from(&self, _record: u32) -> u32 {
            1
        }
    }

    /// A drain takes at most the results asked for; the rest stay in the channel, counted
    /// in flight (so not requested again), for the next.
    #[test]
    fn a_drain_takes_at_most_the_results_asked_for() {
        let pool = LoaderPool::new(Arc::new(Numbers), 2, 1 << 20);
        let keys: Vec<_> = (0..10).map(|record| PageKey::new(record, 1)).collect();
        pool.submit(&keys, true);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pool.waiting() < keys.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "the loaders never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let first = pool.drain(3);
        assert_eq!(first.len(), 3);
        assert_eq!(pool.in_flight(), 7, "the pages left in the channel");
        let rest = pool.drain(100);
        assert_eq!(rest.len(), 7);
        assert_eq!(pool.in_flight(), 0);
        // Every page once, none lost.
        let mut taken: Vec<_> = first.iter().chain(&rest).map(|(key, _)| *key).collect();
        taken.sort_by_key(|key| key.record);
        assert_eq!(taken, keys);
    }

    /// Pages of 2:1 tiles come from the loaders as their upper halves alone (what the RAM
    /// cache keeps), and the channel counts those bytes.
    #[test]
    fn pages_of_wide_tiles_come_as_their_extent() {
        /// Pages whose row `y` is filled with `y`, of tiles twice as wide as high.
        struct Wide;
        impl PageSource for Wide {
            fn record_count(&self) -> u32 {
                10
            }
            fn read_records(
                &self,
                _first: u32,
                _count: u32,
                level: usize,
                out: &mut [u8],
            ) -> Result<(), crate::library::StoreError> {
                let side = 1usize << level;
                for (i, row) in out.chunks_exact_mut(side * 4).enumerate() {
                    row.fill((i % side) as u8);
                }
                Ok(())
            }
            fn run_from(&self, _record: u32) -> u32 {
                1
            }
            fn extent(&self, level: usize) -> [u32; 2] {
                [1 << level, (1 << level) / 2]
            }
        }
        let pool = LoaderPool::new(Arc::new(Wide), 1, 1 << 20);
        pool.submit(&[PageKey::new(3, 2)], true);
        let loaded = pool.wait(std::time::Duration::from_secs(10));
        let (key, page) = &loaded[0];
        assert_eq!(*key, PageKey::new(3, 2));
        // 4×2 of the 4×4 page: rows 0 and 1.
        let expected: Vec<u8> = [0u8; 16].into_iter().chain([1u8; 16]).collect();
        assert_eq!(page.as_ref().unwrap(), &expected);
        assert_eq!(pool.in_flight(), 0);
    }

    /// Loaders run at the lowest priority (so a CPU draw keeps its cores), and still load.
    #[cfg(target_os = "linux")]
    #[test]
    fn loaders_read_at_the_lowest_priority() {
        let pool = LoaderPool::new(Arc::new(Numbers), 2, 1 << 20);
        pool.submit(&[PageKey::new(7, 1)], true);
        let loaded = pool.wait(std::time::Duration::from_secs(10));
        let (key, page) = &loaded[0];
        assert_eq!(*key, PageKey::new(7, 1));
        assert_eq!(page.as_ref().unwrap(), &vec![7u8; page_bytes(1)]);
        // Field 19 of /proc/self/task/TID/stat is the nice value (after the parenthesised
        // name, which has no spaces here). Each loader sets its own as it starts.
        let loader_nices = || {
            let mut nice = Vec::new();
            for task in std::fs::read_dir("/proc/self/task").unwrap() {
                let dir = task.unwrap().path();
                let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                if name.starts_with("tessera-loader") {
                    let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
                    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
                    let field = after_name.split(' ').nth(16).unwrap();
                    nice.push(field.parse::<i32>().unwrap());
                }
            }
            nice
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut nice = loader_nices();
        while nice != vec![LOADER_NICE; 2] && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            nice = loader_nices();
        }
        assert_eq!(
            nice,
            vec![LOADER_NICE; 2],
            "the loader threads' nice values"
        );
    }
}
