//! `tessera view`: the interactive viewer, a winit window drawing the mosaic through the
//! embeddable GPU renderer, or with the CPU renderer whose frames are uploaded and blitted
//! where the only adapter is a software rasteriser (`--renderer`; the same pipelines and
//! streaming manager as headless rendering).
//!
//! Mouse: wheel zooms at the cursor, left-drag pans (and glides on when flung), a
//! double-click flies into a cell. Keys: +/- zoom, arrows pan, Home or 0 flies back to the
//! whole mosaic, F fullscreen, S screenshot, V prints the view as a render command, T tint,
//! L level overlay, H hides the overlay panel (`overlay.rs`: minimap, tile under the
//! pointer, figures, toggles), Space pauses clips (and a video mosaic), ? lists the keys,
//! Esc or Q quits. A video mosaic plays its target: ←/→ seek 5 s (Shift+←/→ pan). Motion is eased
//! (`tessera::navigate`), and the window redraws only while something moves, streams or
//! plays.
//! With `--live SOURCE` (and `--library`) it shows the mosaic of a camera, a stream or a
//! screen as it comes, drawing when a new grid arrives (`live.rs` opens and counts it).
//! The title bar shows the zoom, the level drawn, the draw time, the pages still streaming,
//! while clips play how many of the tiles on screen show a late frame, and for a video
//! mosaic the time and the target frames that came late; it ends with which renderer draws.

use super::args::{EngineArgs, MosaicArg, PlaybackArgs, ViewArgs};
use super::live::{LiveArgs, LiveTally, StallWatch};
use super::overlay::{Action, Overlay, Panel};
use super::util::parse_size;
use clap::Args;
use glam::DVec2;
use std::path::PathBuf;
use std::sync::Arc;
use tessera::camera::{cell_filling, Navigator};
use tessera::motion::{LiveGrids, LivePlayer, VideoMosaic};
use tessera::render::Choice;
use tessera::render::WallClock;
use tessera::render::{FrameBlit, GpuContext, OffscreenTarget};
use tessera::{
    AnyRenderer, Backend, Camera, CpuRenderer, Frame, MosaicRenderer, RenderOptions, Scene,
    Viewport,
};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Window, WindowId};

// Opening the window and drawing a frame (`window`), what each event does (`input`), the
// title, key list and other words it shows (`text`).
mod input;
mod text;
mod window;

#[derive(Args)]
pub struct ViewCmdArgs {
    #[command(flatten)]
    mosaic: MosaicArg,
    /// Window size [default: 1920x1080, or 90 % of a smaller monitor].
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    live: LiveArgs,
    /// Quit after this many frames (scripted captures, tests).
    #[arg(long)]
    exit_after: Option<u64>,
    /// Quit after this many seconds, drawing only what input, motion, streaming and
    /// playback ask for (scripted checks that an idle window draws nothing).
    #[arg(long, value_name = "SECONDS", conflicts_with = "exit_after")]
    quit_after: Option<f64>,
    /// With --exit-after: save the last frame shown to this PNG.
    #[arg(long, requires = "exit_after")]
    screenshot: Option<PathBuf>,
    /// Start with the overlay (minimap, tile under the pointer, figures) hidden; H shows it.
    #[arg(long)]
    no_overlay: bool,
}

/// Draw times kept for the closing log (an hour at 60 fps is 216,000).
const MAX_DRAW_TIMES: usize = 1 << 18;

/// The window size when none is asked for, unless the monitor is smaller.
const DEFAULT_SIZE: (u32, u32) = (1920, 1080);

pub fn command(a: ViewCmdArgs) -> anyhow::Result<()> {
    let event_loop = EventLoop::new().map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window: {e} (no display? run it on a desktop or under `xvfb-run`)"
        )
    })?;
    let (scene, live) = match &a.live.live {
        Some(_) => {
            let here = std::env::current_dir()?.join("live.mosaic");
            let live = a.live.open(&a.mosaic, &here, false)?;
            // Each new grid wakes the event loop; nothing polls.
            let proxy = event_loop.create_proxy();
            live.grids.on_frame(move || {
                let _ = proxy.send_event(());
            });
            let watch = LiveWindow {
                tally: LiveTally::new(&live.grids),
                grids: live.grids,
                stall: StallWatch::new(live.timeout),
            };
            (live.scene, Some(watch))
        }
        None => (a.mosaic.open()?, None),
    };
    a.view.tint.check(&scene)?;
    let mut app = App {
        scene: Some(scene),
        args: a,
        gpu: None,
        nav: None,
        cursor: DVec2::ZERO,
        dragging: false,
        last_frame: None,
        last_move: std::time::Instant::now(),
        last_click: None,
        shot: None,
        figures: String::new(),
        clock_started: std::time::Instant::now(),
        frames: 0,
        draw_ms: Vec::new(),
        clock: WallClock::start(std::time::Instant::now()),
        error: None,
        player: None,
        live,
        next_tick: None,
        shift: false,
    };
    event_loop.run_app(&mut app)?;
    let mut draw_ms = std::mem::take(&mut app.draw_ms);
    draw_ms.sort_by(f64::total_cmp);
    tracing::info!(
        "event loop ended after {} frames; median draw {:.1} ms",
        app.frames,
        draw_ms.get(draw_ms.len() / 2).copied().unwrap_or(0.0)
    );
    if let Some(p) = &app.player {
        let s = p.stats();
        tracing::info!(
            "video target: {} frames shown, {} late, {} dropped",
            s.shown,
            s.late,
            s.dropped
        );
    }
    if let Some(live) = app.live.as_mut() {
        println!(
            "live {}: {}",
            live.grids.source().source,
            live.tally.summary(&live.grids, "present")
        );
    }
    let t = std::time::Instant::now();
    let error = app.error.take();
    drop(app);
    tracing::debug!("viewer torn down in {:?}", t.elapsed());
    error.map_or(Ok(()), Err)
}

struct Gpu {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    ctx: GpuContext,
    /// The CPU renderer comes with its frame and the blit that shows it.
    renderer: AnyRenderer<(), (Vec<u8>, FrameBlit)>,
    /// The window size the atlas plan was made for.
    planned: (u32, u32),
    overlay: Overlay,
    /// Cells each tile fills (the overlay's "used N×").
    uses: Vec<u32>,
    /// When the minimap and `uses` last followed a new grid (a video or live mosaic).
    panel_refreshed: std::time::Instant,
}

/// A live source shown in the window: its grids, how late each was shown, and whether it
/// stalled.
struct LiveWindow {
    grids: LiveGrids,
    tally: LiveTally,
    stall: StallWatch,
}

struct App {
    /// Until the window opens; then the renderer owns it.
    scene: Option<Scene>,
    args: ViewCmdArgs,
    gpu: Option<Gpu>,
    /// The camera, and how it is moving.
    nav: Option<Navigator>,
    cursor: DVec2,
    dragging: bool,
    /// When the last frame was drawn: animations advance by the time between frames.
    last_frame: Option<std::time::Instant>,
    /// When the pointer last moved (a drag's speed, and whether it was held still).
    last_move: std::time::Instant,
    /// The last left press, for double-clicks.
    last_click: Option<(std::time::Instant, DVec2)>,
    /// `S` asked for a screenshot of the next frame, to this file.
    shot: Option<PathBuf>,
    /// The last frame's figures (the title's text), for the overlay.
    figures: String,
    /// When the viewer started (`--quit-after` counts from it).
    clock_started: std::time::Instant,
    frames: u64,
    /// Each frame's draw time (the title's), for the median logged at the end; the first
    /// `MAX_DRAW_TIMES` frames.
    draw_ms: Vec<f64>,
    /// Playback time of the clips and the video target (Space pauses it).
    clock: WallClock,
    error: Option<anyhow::Error>,
    /// A video mosaic's target, playing.
    player: Option<LivePlayer>,
    /// A live source's grids, as they come.
    live: Option<LiveWindow>,
    /// Tiles play and nothing else moves or streams: the next frame is drawn at their next
    /// tick, when their frames change, not as fast as the display allows.
    next_tick: Option<std::time::Instant>,
    shift: bool,
}
