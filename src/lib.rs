//! tessera: zoomable photo mosaics on the GPU, from one pixel per tile to one tile filling
//! the screen, with memory bounded by the screen rather than the library.
//!
//! The crate root is the API most programs need:
//!
//! * [`Scene`]: a mosaic file opened with its tile library;
//! * [`Camera`]: where the view is (centre in cells, screen pixels per cell);
//! * [`HeadlessRenderer`]: frames to memory, on the GPU or the CPU renderer
//!   ([`Backend::Auto`] picks the faster for the machine);
//! * [`MosaicRenderer`]: the GPU renderer embedded in an application that owns the
//!   `wgpu::Device` and the render pass (see `examples/embed.rs`); [`CpuRenderer`]: the
//!   same on the CPU, into a byte buffer; [`AnyRenderer`]: either;
//! * [`RenderOptions`], [`RenderStyle`], [`StreamConfig`]: size, look and memory budgets;
//! * [`Error`]: what went wrong, naming the file or option to fix.
//!
//! The modules are the pipeline's stages, as data flows:
//!
//! ```text
//! pictures ─► library (bake: pyramids + signatures) ─► store on disk ─► streaming ─► atlas ─► shader ─► frame
//! target ──► matching (shortlist + k-d tree, CIELAB) ─► mosaic (match grid) ──────────────────┘
//! ```
//!
//! * [`library`]: baking pictures and videos into mip pyramids and signatures; the store.
//! * [`matching`], [`mosaic`]: match grids and the mosaic file.
//! * [`camera`]: where the view is and how it moves (pure math, no GPU).
//! * [`render`]: the GPU and CPU renderers, the headless renderer over either, the
//!   streaming that feeds them, the clips' clock.
//! * [`video`]: video files through FFmpeg (the cargo feature `video`).
//! * [`motion`]: video targets: the threaded decode → match → render → encode pipeline.
//! * [`export`]: Deep Zoom pyramids, and how every output file is written.
//!
//! `docs/architecture.md` maps the private modules behind them.

#![warn(missing_docs)]

pub mod export;
pub mod library;
pub mod matching;
pub mod mosaic;
pub mod motion;
pub mod video;

/// Where the view is and how it moves: the camera and what one frame of it shows (levels,
/// culling), scripted camera paths, and the viewer's navigation (eased zoom, momentum,
/// flights). Pure math, no GPU.
pub mod camera {
    pub use crate::navigate::{cell_filling, Navigator};
    pub use crate::paths::{camera_path, zoom_in_out, PathFrame, PathName};
    pub use crate::view::{Camera, FrameView, MAX_CELL_PX, MIN_CELL_PX, SQUARE};
}

/// Drawing a mosaic: the GPU renderer (on a host's wgpu device or its own), the CPU
/// renderer, the headless renderer over either, the streaming that feeds them, and the
/// clips' clock.
pub mod render {
    pub use crate::gpu::{
        auto_choice, begin_cleared_pass, FrameBlit, GpuContext, MosaicRenderer, OffscreenTarget,
        Viewport, ADAPTER_ENV, NO_ADAPTER_HELP, OFFSCREEN_FORMAT,
    };
    pub use crate::headless::{
        AnyRenderer, HeadlessRenderer, Pacing, RecordSummary, MAX_FRAME_SIDE,
    };
    pub use crate::overview::Overview;
    pub use crate::playback::{Clock, Phase, Playback, WallClock};
    pub use crate::renderer::{
        choose_backend, Backend, Choice, CpuRenderer, Frame, RenderOptions, Renderer, Streaming,
        ASKED,
    };
    pub use crate::streaming::{
        FrameStats, Heuristics, StreamConfig, StreamingManager, ACCEPT_TIME,
    };
    pub use crate::style::RenderStyle;
}

mod atlas;
mod color;
mod cpu_render;
mod error;
mod fsutil;
mod gpu;
mod headless;
mod navigate;
mod overview;
mod paths;
mod playback;
mod renderer;
mod residency;
mod scene;
mod streaming;
mod style;
mod tint;
mod view;

pub use error::{Error, Result};
pub use gpu::{MosaicRenderer, Viewport};
pub use headless::{AnyRenderer, HeadlessRenderer, Pacing};
pub use playback::{Phase, Playback};
pub use renderer::{Backend, CpuRenderer, Frame, RenderOptions, Streaming};
pub use scene::Scene;
pub use streaming::{FrameStats, StreamConfig};
pub use style::RenderStyle;
pub use view::Camera;
