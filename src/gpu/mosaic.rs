//! The GPU half of a mosaic: per-level texture-array atlases, the page table, the match grid,
//! the overview chain, and the pipeline that draws them with `shaders/mosaic.wgsl`.

use super::GpuContext;
use crate::atlas::{AtlasBackend, LevelLayout, MAX_LEVELS};
use crate::color::srgb8_to_linear;
use crate::cpu_render::RenderStyle;
use crate::overview::Overview;
use crate::view::FrameView;
use anyhow::bail;
use bytemuck::{Pod, Zeroable};

pub const SHADER_SOURCE: &str = include_str!("../../shaders/mosaic.wgsl");
const ATLAS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// The shader's `View` uniform, byte for byte.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ViewUniform {
    origin_int: [i32; 2],
    origin_frac: [f32; 2],
    grid_size: [u32; 2],
    cells_per_px: f32,
    weight_hi: f32,
    level_hi: u32,
    level_lo: u32,
    levels: u32,
    debug_lod: u32,
    overview_lod: f32,
    max_level: u32,
    _pad: [u32; 2],
    background: [f32; 4],
    layer_size: [[u32; 4]; MAX_LEVELS],
}

pub struct GpuMosaic {
    queue: wgpu::Queue,
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    page_table: wgpu::Buffer,
    atlases: Vec<wgpu::Texture>,
    layouts: Vec<LevelLayout>,
    levels: usize,
    atlas_bytes: u64,
}

impl GpuMosaic {
    /// Uploads the grid and overview and allocates the atlases of `layouts` (one per level).
    pub fn new(ctx: &GpuContext, grid: &[u32], cols: u32, rows: u32, overview: &Overview, tiles: u32, layouts: &[LevelLayout], target_format: wgpu::TextureFormat) -> anyhow::Result<GpuMosaic> {
        let device = &ctx.device;
        let limits = device.limits();
        if cols > limits.max_texture_dimension_2d || rows > limits.max_texture_dimension_2d {
            bail!("mosaic of {cols}×{rows} cells exceeds this adapter's texture limit of {} per side; match a smaller grid", limits.max_texture_dimension_2d);
        }
        let levels = layouts.len();
        if levels > MAX_LEVELS {
            bail!("{levels} levels: tessera draws at most {MAX_LEVELS} (1024-px tiles)");
        }
        let grid_texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("match grid"),
            size: wgpu::Extent3d { width: cols, height: rows, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        write_2d(&ctx.queue, &grid_texture, 0, cols, rows, 4, bytemuck::cast_slice(grid));

        let overview_texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("overview"),
            size: wgpu::Extent3d { width: cols, height: rows, depth_or_array_layers: 1 },
            mip_level_count: overview.mips.len() as u32,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: ATLAS_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        for (m, mip) in overview.mips.iter().enumerate() {
            write_2d(&ctx.queue, &overview_texture, m as u32, mip.width, mip.height, 4, &mip.texels);
        }

        let mut atlases = Vec::new();
        let mut atlas_bytes = 0;
        for l in 0..MAX_LEVELS {
            let (size, layers) = match layouts.get(l) {
                Some(layout) => {
                    if layout.layers > limits.max_texture_array_layers {
                        bail!("level {l} needs {} atlas layers, the adapter allows {}", layout.layers, limits.max_texture_array_layers);
                    }
                    atlas_bytes += layout.bytes();
                    (layout.layer_size, layout.layers)
                }
                None => (1, 1), // unused binding
            };
            atlases.push(device.create_texture(&wgpu::TextureDescriptor {
                label: Some(&format!("atlas level {l}")),
                size: wgpu::Extent3d { width: size, height: size, depth_or_array_layers: layers },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: ATLAS_FORMAT,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            }));
        }
        let page_table = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("page table"),
            size: (tiles as u64 * levels as u64 * 4).max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("view"),
            size: std::mem::size_of::<ViewUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });

        let atlas_sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("atlas"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let overview_sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("overview"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            ..Default::default()
        });

        let fragment = wgpu::ShaderStages::FRAGMENT;
        let texture_entry = |binding, sample_type, view_dimension| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: fragment,
            ty: wgpu::BindingType::Texture { sample_type, view_dimension, multisampled: false },
            count: None,
        };
        let float = wgpu::TextureSampleType::Float { filterable: true };
        let mut entries = vec![
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: fragment,
                ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
                count: None,
            },
            texture_entry(1, wgpu::TextureSampleType::Uint, wgpu::TextureViewDimension::D2),
            wgpu::BindGroupLayoutEntry {
                binding: 2,
                visibility: fragment,
                ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only: true }, has_dynamic_offset: false, min_binding_size: None },
                count: None,
            },
            wgpu::BindGroupLayoutEntry { binding: 3, visibility: fragment, ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering), count: None },
            texture_entry(4, float, wgpu::TextureViewDimension::D2),
            wgpu::BindGroupLayoutEntry { binding: 5, visibility: fragment, ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering), count: None },
        ];
        for l in 0..MAX_LEVELS {
            entries.push(texture_entry(6 + l as u32, float, wgpu::TextureViewDimension::D2Array));
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some("mosaic"), entries: &entries });

        let grid_view = grid_texture.create_view(&Default::default());
        let overview_view = overview_texture.create_view(&Default::default());
        let atlas_views: Vec<_> = atlases
            .iter()
            .map(|t| t.create_view(&wgpu::TextureViewDescriptor { dimension: Some(wgpu::TextureViewDimension::D2Array), ..Default::default() }))
            .collect();
        let mut bindings = vec![
            wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&grid_view) },
            wgpu::BindGroupEntry { binding: 2, resource: page_table.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::Sampler(&atlas_sampler) },
            wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&overview_view) },
            wgpu::BindGroupEntry { binding: 5, resource: wgpu::BindingResource::Sampler(&overview_sampler) },
        ];
        for (l, v) in atlas_views.iter().enumerate() {
            bindings.push(wgpu::BindGroupEntry { binding: 6 + l as u32, resource: wgpu::BindingResource::TextureView(v) });
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some("mosaic"), layout: &layout, entries: &bindings });

        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some("mosaic.wgsl"), source: wgpu::ShaderSource::Wgsl(SHADER_SOURCE.into()) });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some("mosaic"), bind_group_layouts: &[Some(&layout)], immediate_size: 0 });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mosaic"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState { module: &module, entry_point: Some("vs_main"), compilation_options: Default::default(), buffers: &[] },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState { format: target_format, blend: None, write_mask: wgpu::ColorWrites::ALL })],
            }),
            multiview_mask: None,
            cache: None,
        });
        Ok(GpuMosaic { queue: ctx.queue.clone(), pipeline, bind_group, uniform, page_table, atlases, layouts: layouts.to_vec(), levels, atlas_bytes })
    }

    /// Bytes allocated for the atlases (all levels).
    pub fn atlas_bytes(&self) -> u64 {
        self.atlas_bytes
    }

    /// Records one frame into `target`.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView, frame: &FrameView, style: &RenderStyle) {
        let mut layer_size = [[0u32; 4]; MAX_LEVELS];
        for (l, layout) in self.layouts.iter().enumerate() {
            layer_size[l][0] = layout.layer_size;
        }
        let u = ViewUniform {
            origin_int: frame.origin_int,
            origin_frac: frame.origin_frac,
            grid_size: [frame.cols, frame.rows],
            cells_per_px: frame.cells_per_px,
            weight_hi: frame.levels.weight_hi,
            level_hi: frame.levels.hi as u32,
            level_lo: frame.levels.lo as u32,
            levels: self.levels as u32,
            debug_lod: style.debug_lod as u32,
            overview_lod: frame.overview_lod,
            max_level: frame.max_level as u32,
            _pad: [0; 2],
            background: [srgb8_to_linear(style.background[0]), srgb8_to_linear(style.background[1]), srgb8_to_linear(style.background[2]), 1.0],
            layer_size,
        };
        self.queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("mosaic"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations { load: wgpu::LoadOp::Clear(wgpu::Color::BLACK), store: wgpu::StoreOp::Store },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

impl AtlasBackend for GpuMosaic {
    fn write_page(&mut self, level: usize, slot: u32, texels: &[u8]) {
        let layout = &self.layouts[level];
        let (layer, x, y) = layout.slot_origin(slot);
        let size = layout.tile_size();
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo { texture: &self.atlases[level], mip_level: 0, origin: wgpu::Origin3d { x, y, z: layer }, aspect: wgpu::TextureAspect::All },
            texels,
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(size * 4), rows_per_image: Some(size) },
            wgpu::Extent3d { width: size, height: size, depth_or_array_layers: 1 },
        );
    }
    fn write_page_table(&mut self, first: usize, entries: &[u32]) {
        self.queue.write_buffer(&self.page_table, first as u64 * 4, bytemuck::cast_slice(entries));
    }
}

fn write_2d(queue: &wgpu::Queue, texture: &wgpu::Texture, mip: u32, width: u32, height: u32, texel_bytes: u32, data: &[u8]) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo { texture, mip_level: mip, origin: wgpu::Origin3d::ZERO, aspect: wgpu::TextureAspect::All },
        data,
        wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(width * texel_bytes), rows_per_image: Some(height) },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
}
