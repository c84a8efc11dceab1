//! The viewer's camera in motion (pure: no window, no clock of its own): eased zooms that
//! keep the point under the pointer fixed at every frame, eased key pans, momentum after a
//! drag, and flights to a view (double-click, Home). The viewer feeds it input and the time
//! between frames, and redraws while `step` says it is still moving, so an idle viewer
//! draws nothing.

use crate::view::Camera;
use glam::DVec2;

/// Time constant of eased zooms and pans: 63 % of the way in this many seconds.
const EASE_S: f64 = 0.06;
/// Time constant of momentum: a released drag's speed falls by e in this many seconds.
const GLIDE_S: f64 = 0.25;
/// Below this speed (pixels a second) a glide stops.
const REST_PX_S: f64 = 8.0;
/// A drag released after holding still this long has no momentum.
const HOLD_S: f64 = 0.06;
/// Seconds a flight (double-click, Home) takes.
const FLIGHT_S: f64 = 0.45;

#[derive(Clone, Debug)]
/// The viewer's camera in motion: eased zooms and pans, momentum after a drag, flights to a
/// cell.
pub struct Navigator {
    /// What is drawn now.
    pub camera: Camera,
    /// The cells' shape (`SQUARE`, or `TileAspect::shape`): drags and zooms move by it.
    pub shape: [f64; 2],
    /// Zoom still to apply, as a log factor, about a screen point.
    zoom_left: f64,
    zoom_anchor: DVec2,
    /// Pan still to apply, in pixels.
    pan_left: DVec2,
    /// Momentum, pixels a second.
    velocity: DVec2,
    flight: Option<Flight>,
}

#[derive(Clone, Copy, Debug)]
struct Flight {
    from: Camera,
    to: Camera,
    elapsed: f64,
}

impl Navigator {
    /// At rest at `camera`.
    pub fn new(camera: Camera) -> Navigator {
        Navigator {
            camera,
            shape: crate::view::SQUARE,
            zoom_left: 0.0,
            zoom_anchor: DVec2::ZERO,
            pan_left: DVec2::ZERO,
            velocity: DVec2::ZERO,
            flight: None,
        }
    }

    /// Zooms by `factor` about screen point `anchor`, eased over the next frames.
    pub fn zoom_at(&mut self, factor: f64, anchor: DVec2) {
        self.flight = None;
        self.zoom_left += factor.ln();
        self.zoom_anchor = anchor;
    }

    /// Pans by `delta` pixels, eased.
    pub fn pan(&mut self, delta: DVec2) {
        self.flight = None;
        self.pan_left += delta;
    }

    /// The pointer grabbed the mosaic: a glide stops under it.
    pub fn grab(&mut self) {
        self.stop();
    }

    /// The pointer dragged the mosaic by `delta` pixels, `dt` seconds after its last move:
    /// applied at once, and measured for momentum.
    pub fn drag(&mut self, delta: DVec2, dt: f64) {
        // A grab ends eased motions where they are (the measured speed carries on).
        self.zoom_left = 0.0;
        self.pan_left = DVec2::ZERO;
        self.flight = None;
        self.camera.pan_pixels(delta, self.shape);
        if dt > 0.0 {
            // Smoothed over the last few moves: one jittery event does not fling the view.
            let v = delta / dt.max(1e-3);
            self.velocity = self.velocity * 0.5 + v * 0.5;
        }
    }

    /// The drag ended, `held` seconds after its last move: the view glides on unless the
    /// pointer was held still first.
    pub fn release(&mut self, held: f64) {
        if held > HOLD_S {
            self.velocity = DVec2::ZERO;
        }
    }

    /// Flies to `to`, eased in and out.
    pub fn fly_to(&mut self, to: Camera) {
        self.stop();
        self.flight = Some(Flight {
            from: self.camera,
            to,
            elapsed: 0.0,
        });
    }

    /// Ends every motion where it is.
    pub fn stop(&mut self) {
        self.zoom_left = 0.0;
        self.pan_left = DVec2::ZERO;
        self.velocity = DVec2::ZERO;
        self.flight = None;
    }

    /// Whether anything is still moving.
    pub fn moving(&self) -> bool {
        self.zoom_left != 0.0
            || self.pan_left != DVec2::ZERO
            || self.velocity != DVec2::ZERO
            || self.flight.is_some()
    }

    /// Advances every motion by `dt` seconds on a `width × height` screen; returns
    /// whether it is still moving (the viewer redraws while it is).
    pub fn step(&mut self, dt: f64, width: u32, height: u32) -> bool {
        let dt = dt.clamp(0.0, 0.25);
        if let Some(f) = self.flight.as_mut() {
            f.elapsed += dt;
            let t = (f.elapsed / FLIGHT_S).min(1.0);
            let s = t * t * (3.0 - 2.0 * t); // smoothstep
            let (a, b) = (f.from, f.to);
            // Zoom geometrically, and move the centre so its screen speed stays even.
            self.camera.cell_px = (a.cell_px.ln() + (b.cell_px.ln() - a.cell_px.ln()) * s).exp();
            self.camera.center = a.center + (b.center - a.center) * s;
            if t >= 1.0 {
                self.camera = b;
                self.flight = None;
            }
        }
        let eased = 1.0 - (-dt / EASE_S).exp();
        if self.zoom_left != 0.0 {
            let mut now = self.zoom_left * eased;
            if (self.zoom_left - now).abs() < 1e-3 {
                now = self.zoom_left;
            }
            self.camera
                .zoom_at(now.exp(), self.zoom_anchor, (width, height), self.shape);
            self.zoom_left -= now;
        }
        if self.pan_left != DVec2::ZERO {
            let mut now = self.pan_left * eased;
            if (self.pan_left - now).length() < 0.25 {
                now = self.pan_left;
            }
            self.camera.pan_pixels(now, self.shape);
            self.pan_left -= now;
        }
        if self.velocity != DVec2::ZERO {
            self.camera.pan_pixels(self.velocity * dt, self.shape);
            self.velocity *= (-dt / GLIDE_S).exp();
            if self.velocity.length() < REST_PX_S {
                self.velocity = DVec2::ZERO;
            }
        }
        self.moving()
    }
}

/// The view with the cell (of `shape`) under screen point `p` filling the screen as far as it fits, centred.
pub fn cell_filling(
    camera: &Camera,
    p: DVec2,
    (width, height): (u32, u32),
    shape: [f64; 2],
) -> Camera {
    let cell = camera.screen_to_cell(p, width, height, shape).floor();
    Camera {
        center: cell + DVec2::splat(0.5),
        cell_px: (width as f64 / shape[0]).min(height as f64 / shape[1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::SQUARE;

    fn cam() -> Camera {
        Camera {
            center: DVec2::new(50.0, 30.0),
            cell_px: 4.0,
        }
    }

    #[test]
    fn an_eased_zoom_keeps_the_point_under_the_pointer_at_every_frame() {
        // Cells of 16:9 tiles: the point under the pointer holds on both axes.
        let mut nav = Navigator::new(cam());
        nav.shape = [1.0, 0.5625];
        let anchor = DVec2::new(700.0, 200.0);
        let under = nav.camera.screen_to_cell(anchor, 1000, 600, nav.shape);
        nav.zoom_at(8.0, anchor);
        let mut frames = 0;
        while nav.step(1.0 / 60.0, 1000, 600) {
            let now = nav.camera.screen_to_cell(anchor, 1000, 600, nav.shape);
            assert!(
                (now - under).length() < 1e-9,
                "frame {frames}: {now} vs {under}"
            );
            frames += 1;
            assert!(frames < 120, "the zoom never settled");
        }
        assert!(
            (nav.camera.cell_px - 32.0).abs() < 1e-9,
            "{}",
            nav.camera.cell_px
        );
        assert!(
            frames > 3,
            "eased over several frames, not at once: {frames}"
        );
    }

    #[test]
    fn momentum_carries_a_flung_view_and_decays_to_rest() {
        let mut nav = Navigator::new(cam());
        for _ in 0..5 {
            nav.drag(DVec2::new(20.0, 0.0), 0.016); // 1,250 px/s
        }
        let released_at = nav.camera.center;
        nav.release(0.01);
        let mut speeds = Vec::new();
        let mut last = nav.camera.center;
        let mut t = 0.0;
        while nav.step(0.016, 1000, 600) {
            let moved = (nav.camera.center - last).length();
            speeds.push(moved);
            last = nav.camera.center;
            t += 0.016;
            assert!(t < 5.0, "the glide never stopped");
        }
        assert!(
            speeds.windows(2).all(|w| w[1] <= w[0] + 1e-12),
            "speed only falls"
        );
        // It glides on the way it was flung, a finite way: ~v·τ = 1,250 × 0.25 px.
        let glide_px = (released_at.x - nav.camera.center.x) * nav.camera.cell_px;
        assert!((250.0..=340.0).contains(&glide_px), "{glide_px}");
        assert!(!nav.moving());
    }

    #[test]
    fn a_drag_held_still_before_release_does_not_glide() {
        let mut nav = Navigator::new(cam());
        nav.drag(DVec2::new(30.0, 0.0), 0.016);
        nav.release(0.2);
        assert!(!nav.step(0.016, 1000, 600));
    }

    #[test]
    fn a_flight_ends_exactly_on_its_view_and_double_click_fills_the_screen() {
        let mut nav = Navigator::new(cam());
        let to = cell_filling(&nav.camera, DVec2::new(510.0, 290.0), (1000, 600), SQUARE);
        assert_eq!(to.center, DVec2::new(52.5, 27.5));
        assert_eq!(to.cell_px, 600.0);
        // A 16:9 cell fills the width of a 16:10 screen (its height would overflow it).
        let wide = cell_filling(
            &nav.camera,
            DVec2::new(510.0, 290.0),
            (1000, 600),
            [1.0, 0.5625],
        );
        assert_eq!(wide.cell_px, 1000.0);
        nav.fly_to(to);
        let mut frames = 0;
        while nav.step(1.0 / 60.0, 1000, 600) {
            frames += 1;
        }
        assert_eq!(
            (nav.camera.center, nav.camera.cell_px),
            (to.center, to.cell_px)
        );
        assert!((20..=40).contains(&frames), "{frames} frames at 60 fps");
        assert!(
            !nav.step(1.0 / 60.0, 1000, 600),
            "at rest: nothing to redraw"
        );
    }
}
