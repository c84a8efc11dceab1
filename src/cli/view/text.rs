//! The viewer's words: its title, the key list, the render command of a view, screenshot
//! names.

use super::*;

/// The window title: zoom, level drawn, how long the last frame took to draw (streaming,
/// recording, submitting and presenting it; not the idle time since the one before), the
/// pages missing `(count, streaming at rest)`, and with clips on screen `(late tile-frames,
/// paused)`.
pub(super) fn title(
    cell_px: f64,
    level: usize,
    draw_ms: f64,
    (missing, at_rest): (usize, bool),
    clips: Option<(usize, bool)>,
) -> String {
    let mut t = format!("tessera — {cell_px:.1} px/cell, level {level}, draw {draw_ms:.1} ms");
    match (missing, at_rest) {
        (0, _) => {}
        // Failed reads, or a view larger than the budget: no more frames will change it.
        (n, true) => t += &format!(", {n} pages drawn coarser"),
        (n, false) => t += &format!(", streaming {n} pages"),
    }
    match clips {
        Some((_, true)) => t += ", paused",
        Some((late, false)) if late > 0 => t += &format!(", {late} clips late"),
        _ => {}
    }
    t
}

/// What `?` prints.
pub(super) const KEYS: &str = "\
tessera viewer
  wheel          zoom about the pointer        drag        pan (it glides on when flung)
  double-click   fly into that cell            + / -       zoom about the centre
  arrows         pan (←/→ seek a video mosaic; Shift+arrows pan there)
  0 / Home       fly back to the whole mosaic  Space       pause / play clips and video
  F              fullscreen                    S           save a screenshot (PNG, here)
  V              print this view as a `tessera render` command
  T              tint: off, ½, full            L           level overlay
  H              hide / show the overlay panel (minimap: click or drag to move there)
  ?              these keys                    Esc / Q     quit";

/// A new file name for a screenshot in the working folder.
pub(super) fn screenshot_name() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    PathBuf::from(format!("tessera-{stamp}.png"))
}

/// The `tessera render` command that draws `camera` as the window shows it.
pub(super) fn view_command(
    mosaic: &std::path::Path,
    camera: &Camera,
    (w, h): (u32, u32),
) -> String {
    format!(
        "tessera render {} -o view.png --size {w}x{h} --center {:.4},{:.4} --cell-px {:.4}",
        mosaic.display(),
        camera.center.x,
        camera.center.y,
        camera.cell_px
    )
}

/// The `T` key's steps: off, half, full, off …
pub(super) fn next_tint(tint: f32) -> f32 {
    if tint < 0.5 {
        0.5
    } else if tint < 1.0 {
        1.0
    } else {
        0.0
    }
}

/// The video part of the title: where playback is, and target frames that came late.
pub(super) fn video_title(time: f64, duration: f64, late: u64, ended: bool) -> String {
    let mut t = format!(" — video {time:.1} / {duration:.1} s");
    if ended {
        t += ", ended";
    } else if late > 0 {
        t += &format!(", {late} frames late");
    }
    t
}

/// What a live source is doing, for the title.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum LiveState {
    /// Frames arrive; the screen is this many seconds behind the source (median and 99th
    /// percentile of the last frames), when measured yet.
    Playing(Option<(f64, f64)>),
    /// No frame for this many seconds: the last stays while the source is waited for.
    Stalled(f64),
    /// The source ended (a pipe closed).
    Ended,
}

/// The live part of the title: the source's size, how far behind it the screen is, and
/// the frames dropped so that it never falls further behind.
pub(super) fn live_title((w, h): (u32, u32), state: LiveState, dropped: u64) -> String {
    let mut t = format!(" — live {w}×{h}");
    match state {
        LiveState::Playing(Some((median, p99))) => {
            t += &format!(", {:.0} ms behind (p99 {:.0})", median * 1e3, p99 * 1e3)
        }
        LiveState::Playing(None) => {}
        LiveState::Stalled(silent) => t += &format!(", no frame for {silent:.0} s, waiting"),
        LiveState::Ended => t += ", source ended",
    }
    if dropped > 0 {
        t += &format!(", {dropped} dropped");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_labels_the_draw_time() {
        assert_eq!(
            title(12.34, 4, 8.06, (0, true), None),
            "tessera — 12.3 px/cell, level 4, draw 8.1 ms"
        );
        assert!(title(1.0, 0, 1.0, (7, false), None).ends_with(", streaming 7 pages"));
        assert!(title(1.0, 0, 1.0, (7, true), None).ends_with(", 7 pages drawn coarser"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((3, false))).ends_with(", 3 clips late"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((0, false))).ends_with(" ms"));
        assert!(title(1.0, 0, 1.0, (0, true), Some((3, true))).ends_with(", paused"));
    }

    #[test]
    fn the_view_command_names_the_view() {
        let camera = Camera {
            center: DVec2::new(96.5, 54.25),
            cell_px: 12.0,
        };
        let line = view_command(std::path::Path::new("x.mosaic"), &camera, (800, 600));
        assert_eq!(
            line,
            "tessera render x.mosaic -o view.png --size 800x600 --center 96.5000,54.2500 --cell-px 12.0000"
        );
    }

    #[test]
    fn the_tint_key_steps_off_half_full() {
        assert_eq!(next_tint(0.0), 0.5);
        assert_eq!(next_tint(0.5), 1.0);
        assert_eq!(next_tint(1.0), 0.0);
        assert_eq!(next_tint(0.3), 0.5, "from --tint 0.3");
    }

    #[test]
    fn the_live_title_says_how_far_behind_and_what_stopped() {
        let playing = live_title((1280, 720), LiveState::Playing(Some((0.0424, 0.07))), 3);
        assert_eq!(
            playing,
            " — live 1280×720, 42 ms behind (p99 70), 3 dropped"
        );
        let stalled = live_title((640, 480), LiveState::Stalled(6.2), 0);
        assert_eq!(stalled, " — live 640×480, no frame for 6 s, waiting");
        assert!(live_title((2, 2), LiveState::Ended, 0).ends_with("source ended"));
    }
}
