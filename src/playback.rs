//! Playback: which frame of each clip a tile shows at a moment. Pure arithmetic.
//!
//! At time `t` (seconds) a clip of `F` frames sampled at `fps` shows frame
//! `(floor(t · fps) + phase) mod F`; `phase` is 0 for every clip (clips start in step) or a
//! per-tile number (they do not: a wall of clips that all cut at once looks mechanical).
//! Stills, and every clip when playback is still, show their key frame.

use crate::library::store::Clip;
use std::sync::Arc;

/// Whether clips start in step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Phase {
    /// Each clip starts at a frame of its own (fixed per tile).
    #[default]
    Random,
    /// Every clip starts at its first frame.
    Zero,
}

/// The moment drawn, and how clips play.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Playback {
    /// Seconds since playback began.
    pub time: f64,
    /// Every clip shows its key frame (the reference system's image mode).
    pub still: bool,
    /// Whether clips play or show their key frames.
    pub phase: Phase,
}

/// The tiles' clips and the rate they play at.
#[derive(Clone)]
pub struct Clock {
    clips: Arc<Vec<Clip>>,
    fps: f64,
    /// Whether some tile is a clip of more than one frame (else no tile ever changes frame).
    moving: bool,
}

impl Clock {
    /// A clock over `clips`, playing at `fps`.
    pub fn new(clips: Arc<Vec<Clip>>, fps: u32) -> Clock {
        Clock {
            moving: clips.iter().any(|c| c.frames > 1),
            clips,
            fps: fps as f64,
        }
    }

    /// Every tile's frames.
    pub fn clips(&self) -> &Arc<Vec<Clip>> {
        &self.clips
    }

    /// Whether no tile ever shows another frame than its key frame (a library of stills).
    pub fn is_static(&self) -> bool {
        !self.moving
    }

    /// Whether `tile` changes frames under `playback`.
    pub fn plays(&self, tile: u32, playback: &Playback) -> bool {
        !playback.still && self.clips[tile as usize].frames > 1
    }

    /// The tick `playback` is at (`floor(t · fps)`), or `None` when clips are still: every
    /// tile's frame is a function of the tick, so two moments of the same tick show the same.
    pub fn tick(&self, playback: &Playback) -> Option<i64> {
        (!playback.still).then(|| (playback.time * self.fps).floor() as i64)
    }

    /// Seconds from `playback`'s moment to the next tick, when a playing clip's frame next
    /// changes (`None` when clips are still).
    pub fn seconds_to_next_tick(&self, playback: &Playback) -> Option<f64> {
        let tick = self.tick(playback)?;
        Some(((tick + 1) as f64 / self.fps - playback.time).max(0.0))
    }

    /// The frame of `tile` shown under `playback`.
    pub fn frame(&self, tile: u32, playback: &Playback) -> u32 {
        let clip = self.clips[tile as usize];
        if !self.plays(tile, playback) {
            return clip.key;
        }
        let phase = match playback.phase {
            Phase::Zero => 0,
            Phase::Random => phase_of(tile) % clip.frames,
        };
        let tick = self.tick(playback).unwrap_or_default();
        (tick + phase as i64).rem_euclid(clip.frames as i64) as u32
    }

    /// The record `tile` shows under `playback`.
    pub fn record(&self, tile: u32, playback: &Playback) -> u32 {
        self.clips[tile as usize].first + self.frame(tile, playback)
    }

    /// The record after `record` in its clip (wrapping), the one to have ready next.
    pub fn next_record(&self, tile: u32, record: u32) -> u32 {
        let clip = self.clips[tile as usize];
        clip.first + (record - clip.first + 1) % clip.frames
    }
}

/// The viewer's clock: wall time since playback began, less the time spent paused.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// Playback seconds at `running_since` (or, paused, where it stopped).
    base: f64,
    running_since: Option<std::time::Instant>,
}

impl WallClock {
    /// A clock at 0 s, running from `now`.
    pub fn start(now: std::time::Instant) -> WallClock {
        WallClock {
            base: 0.0,
            running_since: Some(now),
        }
    }

    /// Playback seconds at `now`.
    pub fn time(&self, now: std::time::Instant) -> f64 {
        self.base
            + self
                .running_since
                .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64())
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.running_since.is_none()
    }

    /// Moves the clock to `time` seconds (running or paused as it was).
    pub fn set(&mut self, time: f64, now: std::time::Instant) {
        self.base = time;
        if self.running_since.is_some() {
            self.running_since = Some(now);
        }
    }

    /// Pauses a running clock, or runs a paused one on from where it stopped.
    pub fn toggle(&mut self, now: std::time::Instant) {
        self.base = self.time(now);
        self.running_since = match self.running_since {
            Some(_) => None,
            None => Some(now),
        };
    }
}

/// A tile's fixed starting offset: a hash of its id, so the same tile always starts alike.
fn phase_of(tile: u32) -> u32 {
    let mut x = tile.wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995;
    x ^= x >> 15;
    x = x.wrapping_mul(0x2c1b_3c6d);
    x ^ (x >> 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_stops_while_paused_and_runs_on_from_there() {
        use std::time::{Duration, Instant};
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let mut c = WallClock::start(t0);
        assert_eq!(c.time(at(1.5)), 1.5);
        c.toggle(at(2.0));
        assert!(c.is_paused());
        assert_eq!(c.time(at(10.0)), 2.0);
        c.toggle(at(10.0));
        assert!(!c.is_paused());
        assert_eq!(c.time(at(10.25)), 2.25);
    }

    fn clock() -> Clock {
        Clock::new(
            Arc::new(vec![
                Clip {
                    first: 0,
                    frames: 5,
                    key: 3,
                },
                Clip {
                    first: 5,
                    frames: 1,
                    key: 0,
                },
                Clip {
                    first: 6,
                    frames: 48,
                    key: 10,
                },
            ]),
            12,
        )
    }

    #[test]
    fn the_next_tick_is_when_frames_next_change() {
        let c = clock();
        let at = |time: f64, still: bool| Playback {
            time,
            still,
            phase: Phase::Random,
        };
        let next = |t: f64| c.seconds_to_next_tick(&at(t, false)).unwrap();
        assert!((next(0.0) - 1.0 / 12.0).abs() < 1e-12);
        assert!((next(0.05) - (1.0 / 12.0 - 0.05)).abs() < 1e-12);
        assert!(
            (next(1.0) - 1.0 / 12.0).abs() < 1e-9,
            "a tick starts at 1 s"
        );
        // Just before the tick, its frames differ from the ones just after.
        let before = 2.0 / 12.0 - 1e-6;
        let after = before + next(before) + 1e-9;
        assert_ne!(
            c.frame(2, &at(before, false)),
            c.frame(2, &at(after, false))
        );
        assert_eq!(c.seconds_to_next_tick(&at(1.0, true)), None);
    }

    #[test]
    fn frames_follow_the_clock_and_wrap() {
        let c = clock();
        let at = |t: f64| Playback {
            time: t,
            still: false,
            phase: Phase::Zero,
        };
        // 12 fps: frame k shows during [k/12, (k+1)/12).
        assert_eq!(c.frame(0, &at(0.0)), 0);
        assert_eq!(c.frame(0, &at(0.08)), 0);
        assert_eq!(c.frame(0, &at(1.0 / 12.0)), 1);
        assert_eq!(c.frame(0, &at(4.5 / 12.0)), 4);
        assert_eq!(c.frame(0, &at(5.0 / 12.0)), 0, "wraps after 5 frames");
        assert_eq!(c.record(2, &at(2.0)), 6 + 24);
        assert_eq!(
            c.record(2, &at(4.0)),
            6,
            "48 frames at 12 fps loop every 4 s"
        );
        // A still never moves; still playback shows key frames.
        assert_eq!(c.record(1, &at(3.3)), 5);
        let still = Playback {
            still: true,
            ..at(1.7)
        };
        assert_eq!(c.record(0, &still), 3);
        assert_eq!(c.record(2, &still), 16);
        assert_eq!(c.next_record(0, 4), 0);
        assert_eq!(c.next_record(2, 7), 8);
    }

    #[test]
    fn random_phases_are_fixed_per_tile_and_spread() {
        let clips: Vec<Clip> = (0..200)
            .map(|t| Clip {
                first: t * 48,
                frames: 48,
                key: 0,
            })
            .collect();
        let c = Clock::new(Arc::new(clips), 12);
        let p = Playback::default();
        let starts: std::collections::HashSet<u32> = (0..200).map(|t| c.frame(t, &p)).collect();
        assert!(
            starts.len() > 30,
            "phases spread over the clip: {}",
            starts.len()
        );
        assert_eq!(c.frame(7, &p), c.frame(7, &p));
        // Still one frame per tick, in order.
        let later = Playback {
            time: 1.0 / 12.0,
            ..p
        };
        assert_eq!(c.frame(7, &later), (c.frame(7, &p) + 1) % 48);
    }
}
