//! tessera: zoomable photo mosaics on the GPU, from one pixel per tile to one tile filling
//! the screen, with memory bounded by the screen rather than the library.
//!
//! The pipeline, as data flows (each stage is a module):
//!
//! ```text
//! pictures ─► library (bake: pyramids + signatures) ─► store on disk ─► streaming ─► atlases ─► shader ─► frame
//! target ──► matching (k-d tree over CIELAB signatures) ─► mosaic (match grid) ─────────────────┘
//! ```
//!
//! * [`library`]: baking pictures into mip pyramids and signatures; the store format.
//! * [`matching`], [`mosaic`]: match grids and the mosaic file.
//! * [`view`]: camera, level choice, culling (pure math).
//! * [`atlas`], [`residency`]: atlas layout, budget plan, page table, LRU (pure logic).
//! * [`streaming`]: loader threads, RAM cache, per-frame residency decisions.
//! * [`gpu`]: wgpu device, atlases, the WGSL pipeline; [`cpu_render`]: its CPU twin.
//! * [`render`]: headless rendering over either; [`viewer`]: the interactive window.
//! * [`video`]: MP4 writing and video reading through FFmpeg.

pub mod atlas;
pub mod bench;
pub mod cli_util;
pub mod color;
pub mod cpu_render;
pub mod demo;
pub mod gpu;
pub mod library;
pub mod matching;
pub mod mosaic;
pub mod overview;
pub mod render;
pub mod residency;
pub mod scene;
pub mod streaming;
pub mod synth;
pub mod video;
pub mod view;
pub mod viewer;

pub use render::{Backend, HeadlessRenderer, Pacing, RenderOptions};
pub use scene::Scene;
pub use view::Camera;
