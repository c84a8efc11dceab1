//! Pacing a stream of target frames by a presentation clock. Pure: the caller says what
//! time it is and how to get the next frame (blocking for a file, non-blocking for a
//! window), so every rule is unit tested without threads.

use super::TargetFrame;

/// What the stream had when asked.
pub enum Next {
    /// The next frame.
    Ready(TargetFrame),
    /// Nothing decoded and matched yet (only a non-blocking source says this).
    NotYet,
    /// The target has ended (or failed; the stream keeps the error).
    End,
}

/// Frames shown, late and dropped so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PresentStats {
    /// Frames shown.
    pub shown: u64,
    /// Shown more than one frame period after their time: the pipeline fell behind and the
    /// previous grid stayed on screen meanwhile.
    pub late: u64,
    /// Passed over: a later frame was already due when they arrived.
    pub dropped: u64,
}

/// Paces a video target's grids by the target's clock: which frame shows at a moment, and
/// which were late or dropped.
pub struct Presenter {
    period: f64,
    pending: Option<TargetFrame>,
    ended: bool,
    last_time: Option<f64>,
    /// Frames shown, late and dropped so far.
    pub stats: PresentStats,
}

impl Presenter {
    /// For a target of `fps` frames per second.
    pub fn new(fps: f64) -> Presenter {
        Presenter {
            period: 1.0 / fps.max(1e-3),
            pending: None,
            ended: false,
            last_time: None,
            stats: PresentStats::default(),
        }
    }

    /// The frame to show at playback time `now` when it changed: the newest frame due by
    /// then (its time at most half a period ahead, so rounding never skips one). Earlier
    /// due frames are dropped; one shown more than a period after its time is late.
    pub fn poll(&mut self, now: f64, mut next: impl FnMut() -> Next) -> Option<TargetFrame> {
        let due = now + 0.5 * self.period;
        let mut chosen: Option<TargetFrame> = None;
        loop {
            if self.pending.is_none() {
                match next() {
                    Next::Ready(f) => self.pending = Some(f),
                    Next::NotYet => break,
                    Next::End => {
                        self.ended = true;
                        break;
                    }
                }
            }
            if self.pending.as_ref().is_some_and(|f| f.time > due) {
                break;
            }
            if chosen
                .replace(self.pending.take().expect("checked"))
                .is_some()
            {
                self.stats.dropped += 1;
            }
        }
        if let Some(f) = &chosen {
            self.stats.shown += 1;
            if now - f.time > self.period + 1e-9 {
                self.stats.late += 1;
            }
            self.last_time = Some(f.time);
        }
        chosen
    }

    /// A frame later than `now` is waiting: the frame shown at `now` will not change.
    pub fn pending_after(&self, now: f64) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|f| f.time > now + 0.5 * self.period)
    }

    /// The stream has ended and every frame of it was taken.
    pub fn ended(&self) -> bool {
        self.ended && self.pending.is_none()
    }

    /// Whether playback at `now` is past the last frame's slot, once the stream has ended.
    pub fn finished_at(&self, now: f64) -> bool {
        self.ended()
            && self
                .last_time
                .is_none_or(|t| now > t + 0.5 * self.period + 1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Arc;

    fn frames(times: &[f64]) -> VecDeque<TargetFrame> {
        times
            .iter()
            .enumerate()
            .map(|(i, &time)| TargetFrame {
                index: i as u64,
                time,
                grid: Arc::new(Vec::new()),
                colours: Arc::new(Vec::new()),
            })
            .collect()
    }

    #[test]
    fn lockstep_shows_every_frame_once_at_its_time() {
        let mut q = frames(&[0.0, 0.04, 0.08, 0.12]);
        let mut p = Presenter::new(25.0);
        let mut shown = Vec::new();
        let mut n = 0;
        while !p.finished_at(n as f64 / 25.0) {
            let t = n as f64 / 25.0;
            if let Some(f) = p.poll(t, || q.pop_front().map_or(Next::End, Next::Ready)) {
                shown.push((n, f.index));
            }
            n += 1;
        }
        assert_eq!(shown, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
        assert_eq!(n, 4, "stops after the last frame's slot");
        assert_eq!(
            p.stats,
            PresentStats {
                shown: 4,
                late: 0,
                dropped: 0
            }
        );
    }

    #[test]
    fn a_slow_pipeline_repeats_then_counts_late_and_dropped() {
        let mut p = Presenter::new(10.0);
        let mut q = frames(&[0.0, 0.1, 0.2, 0.3]);
        // At 0 only frame 0 is ready.
        let mut ready = 1;
        let take = |q: &mut VecDeque<TargetFrame>, ready: usize| {
            if q.front().is_some_and(|f| (f.index as usize) < ready) {
                Next::Ready(q.pop_front().unwrap())
            } else {
                Next::NotYet
            }
        };
        assert_eq!(
            p.poll(0.0, || take(&mut q, ready)).map(|f| f.index),
            Some(0)
        );
        // 0.1 and 0.2: nothing new is ready: the previous grid stays (no new frame).
        assert!(p.poll(0.1, || take(&mut q, ready)).is_none());
        assert!(p.poll(0.2, || take(&mut q, ready)).is_none());
        // At 0.25 frames 1 and 2 arrive together: 2 is shown (due at 0.2: within a period,
        // not late), 1 is dropped. At 0.42 frame 3 (due 0.3) is late.
        ready = 3;
        assert_eq!(
            p.poll(0.25, || take(&mut q, ready)).map(|f| f.index),
            Some(2)
        );
        ready = 4;
        assert_eq!(
            p.poll(0.42, || take(&mut q, ready)).map(|f| f.index),
            Some(3)
        );
        assert_eq!(
            p.stats,
            PresentStats {
                shown: 3,
                late: 1,
                dropped: 1
            }
        );
    }

    #[test]
    fn frames_ahead_of_the_clock_wait() {
        let mut q = frames(&[0.0, 1.0]);
        let mut p = Presenter::new(1.0);
        assert!(p
            .poll(0.0, || q.pop_front().map_or(Next::End, Next::Ready))
            .is_some());
        assert!(p
            .poll(0.4, || q.pop_front().map_or(Next::End, Next::Ready))
            .is_none());
        assert!(!p.ended(), "frame 1 waits, not ended");
        assert_eq!(
            p.poll(0.6, || q.pop_front().map_or(Next::End, Next::Ready))
                .map(|f| f.index),
            Some(1)
        );
        assert!(p
            .poll(2.0, || q.pop_front().map_or(Next::End, Next::Ready))
            .is_none());
        assert!(p.ended() && p.finished_at(2.0) && !p.finished_at(1.4));
    }
}
