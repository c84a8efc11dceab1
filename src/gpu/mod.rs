//! Everything that touches wgpu: device, mosaic pipeline and atlases, offscreen targets.

mod context;
mod floor;
mod mosaic;
mod target;

pub use context::{quiet_runtime_dir, GpuContext, ADAPTER_ENV, NO_ADAPTER_HELP};
pub use floor::FloorProbe;
pub use mosaic::{GpuMosaic, SHADER_SOURCE};
pub use target::{OffscreenTarget, OFFSCREEN_FORMAT};
