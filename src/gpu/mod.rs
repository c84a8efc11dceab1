//! Everything that touches wgpu: device, mosaic pipeline and atlases, the embeddable
//! renderer, offscreen targets, the blit that shows frames made in memory.

mod blit;
mod context;
mod mosaic;
mod renderer;
mod target;

pub use blit::FrameBlit;
pub use context::{auto_choice, GpuContext, ADAPTER_ENV, NO_ADAPTER_HELP};
pub use mosaic::GpuMosaic;
pub use renderer::{MosaicRenderer, Viewport};
pub use target::{OffscreenTarget, OFFSCREEN_FORMAT};

/// A single-mip 2D texture: the grid, the page table, the blit's source, offscreen targets.
fn texture_2d(
    device: &wgpu::Device,
    label: &str,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

/// Begins a render pass into `target`, cleared to black.
pub fn begin_cleared_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    label: &str,
    target: &wgpu::TextureView,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view: target,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}
