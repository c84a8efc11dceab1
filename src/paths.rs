//! Camera paths: scripted sequences of views for videos and benchmarks. Deterministic (no
//! clock, no randomness from outside), so two runs see the same frames and two
//! configurations can be compared side by side.

use crate::view::Camera;
use glam::DVec2;

/// One frame of a path. `jump` marks a cut: time to sharp is measured from it.
#[derive(Clone, Copy, Debug)]
pub struct PathFrame {
    /// Where the camera is.
    pub camera: Camera,
    /// A cut: the view jumped here (time to sharp is measured from it).
    pub jump: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// The scripted camera paths of `tessera bench` and `tessera render --path`.
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

fn pan(
    out: &mut Vec<PathFrame>,
    from: Camera,
    velocity_px: DVec2,
    frames: usize,
    shape: [f64; 2],
) -> Camera {
    let mut cam = from;
    for _ in 0..frames {
        cam.pan_pixels(-velocity_px, shape);
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
    shape: [f64; 2],
) -> Vec<PathFrame> {
    let fit = Camera::fit_shaped(cols, rows, w, h, shape);
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
            let end = pan(&mut out, target, DVec2::new(24.0, 6.0), 3 * unit, shape);
            zoom(&mut out, end, fit, 4 * unit);
            let mid = Camera {
                center: spot(),
                cell_px: 32.0,
            };
            hold(&mut out, mid, unit / 2, true);
            pan(&mut out, mid, DVec2::new(-48.0, 20.0), 3 * unit, shape);
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
                shape,
            );
            pan(
                &mut out,
                Camera {
                    center: spot(),
                    cell_px: 256.0,
                },
                DVec2::new(-30.0, 25.0),
                frames - frames / 2,
                shape,
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
            let p = camera_path(name, 1920, 1080, 1920, 1080, 2000, crate::view::SQUARE);
            assert_eq!(p.len(), 2000);
            assert!(p
                .iter()
                .all(|f| f.camera.cell_px > 0.0 && f.camera.center.is_finite()));
        }
        let tour = camera_path(
            PathName::Tour,
            1920,
            1080,
            1920,
            1080,
            2400,
            crate::view::SQUARE,
        );
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
}
