//! The GPU half of a mosaic: the atlas (one block-packed texture array for every level), the
//! page table, the match grid, the overview chain, and the pipelines that draw them with
//! `shaders/mosaic.wgsl`. The pipelines and the shader's uniform are in `pipelines`; how
//! writes reach the textures (one staging belt, copies recorded with the next frame) in
//! `staging`.

use crate::atlas::{
    AtlasBackend, AtlasLayout, Entry, PageOrigin, PAGE_TABLE_ROW_BYTES, PAGE_TABLE_WIDTH,
};
use crate::color::srgb8_to_linear;
use crate::error::{Error, Result};
use crate::scene::Scene;
use crate::style::RenderStyle;
use crate::view::FrameView;
use pipelines::{quads_from_px, Pass, Pipelines, Plan, Variant, ViewUniform};
use staging::{CopyDest, StagedCopy, Whole, BELT_CHUNK_BYTES};

mod pipelines;
mod staging;

pub const SHADER_SOURCE: &str = include_str!("../../shaders/mosaic.wgsl");
const ATLAS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

pub struct GpuMosaic {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// Every upload (pages, page-table rows, the view uniform) goes through one staging belt
    /// whose buffers are reused: `queue.write_*` allocates a staging buffer per call, which
    /// lavapipe does not give back promptly (RSS grew ~0.5 MB per frame).
    belt: wgpu::util::StagingBelt,
    staged: Vec<StagedCopy>,
    staged_bytes: u64,
    pipelines: Pipelines,
    /// What the last `prepare` chose to draw.
    plan: Plan,
    /// Cells of this many pixels or more are drawn as quads (see `CELL_QUADS_FROM_PX`).
    quads_from_px: f64,
    /// The viewport the last `prepare` was for: (x, y, width, height) in target pixels.
    viewport: [u32; 4],
    bind_group: wgpu::BindGroup,
    /// What the bind group is made of, to remake it when the tint texture is made.
    bindings: Bindings,
    uniform: wgpu::Buffer,
    page_table: wgpu::Texture,
    atlas: wgpu::Texture,
    layout: AtlasLayout,
    grid: wgpu::Texture,
    /// The grid holds 16-bit tile ids (libraries up to 65,536 tiles).
    narrow_grid: bool,
    overview: wgpu::Texture,
    /// Per-cell tint offsets (RGBA16F, grid-sized); 1×1 until a tint is first drawn.
    tint: wgpu::Texture,
}

/// The bind group's layout and samplers, kept to remake it.
struct Bindings {
    layout: wgpu::BindGroupLayout,
    atlas_sampler: wgpu::Sampler,
    overview_sampler: wgpu::Sampler,
}

const TINT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;

/// Refuses a mosaic or an atlas beyond the adapter's texture limits, naming the option
/// that fixes it; returns the page table's rows.
fn check_limits(
    limits: &wgpu::Limits,
    (cols, rows): (u32, u32),
    layout: &AtlasLayout,
    tiles: u32,
) -> Result<u32> {
    let side = limits.max_texture_dimension_2d;
    if cols > side || rows > side {
        return Err(Error::Options(format!("a mosaic of {cols}×{rows} cells exceeds this adapter's texture limit of {side} per side; match a smaller grid")));
    }
    if layout.layers > limits.max_texture_array_layers || layout.layer_size > side {
        return Err(Error::Options(format!("the atlas needs {} layers of {} px; this adapter allows {} of {side} px: use a smaller --gpu-budget", layout.layers, layout.layer_size, limits.max_texture_array_layers)));
    }
    let entries = tiles as u64 * layout.levels.len() as u64;
    let table_rows = entries.div_ceil(PAGE_TABLE_WIDTH as u64).max(1) as u32;
    if table_rows > side {
        return Err(Error::Options(format!(
            "{tiles} tiles need a page table of {table_rows} rows; this adapter allows {side}"
        )));
    }
    Ok(table_rows)
}

/// The match grid as a texture of tile ids (16-bit where `narrow`).
fn upload_grid(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    grid: &[u32],
    (cols, rows): (u32, u32),
    narrow: bool,
) -> wgpu::Texture {
    let (format, bytes) = if narrow {
        (wgpu::TextureFormat::R16Uint, 2)
    } else {
        (wgpu::TextureFormat::R32Uint, 4)
    };
    let texture = super::texture_2d(
        device,
        "match grid",
        (cols, rows),
        format,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    );
    write_2d(
        queue,
        &texture,
        0,
        cols,
        rows,
        bytes,
        &grid_bytes(grid, narrow),
    );
    texture
}

/// The overview's mip chain (each cell its tile's mean colour) as a texture.
fn upload_overview(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    overview: &crate::overview::Overview,
    (cols, rows): (u32, u32),
) -> wgpu::Texture {
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("overview"),
        size: wgpu::Extent3d {
            width: cols,
            height: rows,
            depth_or_array_layers: 1,
        },
        mip_level_count: overview.mips.len() as u32,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: ATLAS_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    for (m, mip) in overview.mips.iter().enumerate() {
        write_2d(
            queue,
            &texture,
            m as u32,
            mip.width,
            mip.height,
            4,
            &mip.texels,
        );
    }
    texture
}

/// The shader module and every pipeline variant, for targets of `target_format`.
fn pipelines(
    device: &wgpu::Device,
    bindings: &Bindings,
    target_format: wgpu::TextureFormat,
) -> Pipelines {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("mosaic.wgsl"),
        source: wgpu::ShaderSource::Wgsl(SHADER_SOURCE.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("mosaic"),
        bind_group_layouts: &[Some(&bindings.layout)],
        immediate_size: 0,
    });
    Pipelines::new(module, pipeline_layout, target_format)
}

impl Bindings {
    /// The bind group's layout (uniform, grid, page table, two samplers, overview, atlas,
    /// tint; seen by both stages, since per-cell quads look up per vertex) and samplers.
    fn new(device: &wgpu::Device) -> Bindings {
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
        let stages = wgpu::ShaderStages::VERTEX_FRAGMENT;
        let texture_entry = |binding, sample_type, view_dimension| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: stages,
            ty: wgpu::BindingType::Texture {
                sample_type,
                view_dimension,
                multisampled: false,
            },
            count: None,
        };
        let sampler_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: stages,
            ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
            count: None,
        };
        let float = wgpu::TextureSampleType::Float { filterable: true };
        let uint = wgpu::TextureSampleType::Uint;
        let entries = [
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: stages,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            texture_entry(1, uint, wgpu::TextureViewDimension::D2),
            texture_entry(2, uint, wgpu::TextureViewDimension::D2),
            sampler_entry(3),
            texture_entry(4, float, wgpu::TextureViewDimension::D2),
            sampler_entry(5),
            texture_entry(6, float, wgpu::TextureViewDimension::D2Array),
            texture_entry(7, float, wgpu::TextureViewDimension::D2),
        ];
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mosaic"),
            entries: &entries,
        });
        Bindings {
            layout,
            atlas_sampler,
            overview_sampler,
        }
    }
}

impl GpuMosaic {
    /// Uploads the scene's grid and overview and allocates the atlas of `layout`, for
    /// drawing into targets of `target_format`.
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        scene: &Scene,
        layout: &AtlasLayout,
        target_format: wgpu::TextureFormat,
    ) -> Result<GpuMosaic> {
        let (cols, rows) = (scene.cols(), scene.rows());
        let tiles = scene.library.tile_count();
        let table_rows = check_limits(&device.limits(), (cols, rows), layout, tiles)?;
        // Tile ids fit 16 bits for libraries up to 65,536 tiles: half the texture (4 MB at
        // 1920×1080 cells). The shader reads either format through a `texture_2d<u32>`.
        let narrow = tiles <= 1 << 16;
        let grid = upload_grid(device, queue, &scene.grid, (cols, rows), narrow);
        let overview = upload_overview(device, queue, &scene.overview, (cols, rows));
        let atlas = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("atlas"),
            size: atlas_extent(device.adapter_info().backend, layout),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: ATLAS_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let page_table = super::texture_2d(
            device,
            "page table",
            (PAGE_TABLE_WIDTH, table_rows),
            wgpu::TextureFormat::Rg32Uint,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        );
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("view"),
            size: std::mem::size_of::<ViewUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bindings = Bindings::new(device);
        let tint = tint_texture(device, (1, 1));
        let textures = BoundTextures {
            grid: &grid,
            page_table: &page_table,
            overview: &overview,
            atlas: &atlas,
            tint: &tint,
        };
        let bind_group = bindings.bind_group(device, &uniform, &textures);
        let pipelines = pipelines(device, &bindings, target_format);
        Ok(GpuMosaic {
            device: device.clone(),
            queue: queue.clone(),
            belt: wgpu::util::StagingBelt::new(device.clone(), BELT_CHUNK_BYTES),
            staged: Vec::new(),
            staged_bytes: 0,
            pipelines,
            quads_from_px: quads_from_px(),
            plan: Plan {
                pass: Pass::Overview,
                variant: Variant::default(),
                quads: 0,
                background: false,
            },
            viewport: [0; 4],
            bind_group,
            bindings,
            uniform,
            page_table,
            atlas,
            layout: layout.clone(),
            grid,
            narrow_grid: narrow,
            overview,
            tint,
        })
    }

    /// Bytes allocated for the atlases (all levels).
    pub fn atlas_bytes(&self) -> u64 {
        let size = self.atlas.size();
        size.width as u64 * size.height as u64 * size.depth_or_array_layers as u64 * 4
    }
}

impl GpuMosaic {
    /// Records the uploads staged since the last frame and this frame's uniforms into
    /// `encoder`, and picks the pipeline. `viewport` is where the frame goes in the target,
    /// `[x, y, width, height]` in pixels (`frame` was made for its width and height). Call
    /// before the render pass that `draw`s.
    pub fn prepare(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        frame: &FrameView,
        viewport: [u32; 4],
        style: &RenderStyle,
    ) {
        self.record_uploads(encoder);
        let size = self.atlas.size();
        let pass = Pass::for_frame(frame, self.quads_from_px);
        let cells = frame.visible_cells();
        let background_rects = frame.background_rects();
        let tint = style.tint_strength(frame);
        let u = ViewUniform {
            origin_int: frame.origin_int,
            origin_frac: frame.origin_frac,
            grid_size: [frame.cols, frame.rows],
            cells_per_px: frame.cells_per_px[0],
            weight_hi: frame.levels.weight_hi,
            level_hi: frame.levels.hi as u32,
            level_lo: frame.levels.lo as u32,
            levels: self.layout.levels.len() as u32,
            max_level: frame.max_level as u32,
            inv_atlas_size: [1.0 / size.width as f32, 1.0 / size.height as f32],
            viewport_origin: [viewport[0] as f32, viewport[1] as f32],
            overview_lod: frame.overview_lod,
            tint,
            cells_per_px_y: frame.cells_per_px[1],
            _pad: 0,
            background: [
                srgb8_to_linear(style.background[0]),
                srgb8_to_linear(style.background[1]),
                srgb8_to_linear(style.background[2]),
                1.0,
            ],
            cells_first: [cells.x0 as i32, cells.y0 as i32],
            cells_across: (cells.x1 - cells.x0).max(1),
            _pad2: 0,
            px_to_ndc: [2.0 / viewport[2] as f32, 2.0 / viewport[3] as f32],
            top_extent: frame.top_extent,
            background_rects,
        };
        let uniform_size = wgpu::BufferSize::new(std::mem::size_of::<ViewUniform>() as u64)
            .expect("non-empty uniform");
        self.belt
            .write_buffer(encoder, &self.uniform, 0, uniform_size)
            .copy_from_slice(bytemuck::bytes_of(&u));
        // The caller submits `encoder`; the belt's buffers come back once that work is done.
        self.belt.finish_and_recall_on_submit(encoder);
        let variant = Variant {
            debug_lod: style.debug_lod,
            // The overview has the tint in its texels.
            tint: tint > 0.0 && pass != Pass::Overview,
        };
        let background = pass.draws_quads() && background_rects.iter().any(|r| r[0] < r[2]);
        self.pipelines.ensure(&self.device, variant, pass);
        if background {
            self.pipelines
                .ensure(&self.device, Variant::default(), Pass::Background);
        }
        self.plan = Plan {
            pass,
            variant,
            quads: if pass.draws_quads() {
                cells.cells() as u32
            } else {
                0
            },
            background,
        };
        self.viewport = viewport;
    }

    /// Draws the prepared frame into `pass`: sets the viewport and scissor to the prepared
    /// rectangle, the pipeline and bind group, and draws one triangle, or a quad per visible
    /// cell and the background beside the mosaic.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        let plan = self.plan;
        let [x, y, w, h] = self.viewport;
        pass.set_viewport(x as f32, y as f32, w as f32, h as f32, 0.0, 1.0);
        pass.set_scissor_rect(x, y, w, h);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_pipeline(self.pipelines.get(plan.variant, plan.pass));
        if !plan.pass.draws_quads() {
            pass.draw(0..3, 0..1);
            return;
        }
        if plan.quads > 0 {
            pass.draw(0..plan.quads * 6, 0..1);
        }
        if plan.background {
            pass.set_pipeline(self.pipelines.get(Variant::default(), Pass::Background));
            pass.draw(0..4 * 6, 0..1);
        }
    }

    /// Records one whole frame into `target` (cleared first): `prepare`, then a pass that
    /// `draw`s.
    pub fn encode(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        frame: &FrameView,
        style: &RenderStyle,
    ) {
        self.prepare(encoder, frame, [0, 0, frame.width, frame.height], style);
        let mut pass = super::begin_cleared_pass(encoder, "mosaic", target);
        self.draw(&mut pass);
    }
}

impl AtlasBackend for GpuMosaic {
    fn flush(&mut self) {
        self.submit_staged();
    }

    fn write_page(&mut self, origin: PageOrigin, size: u32, texels: &[u8]) {
        // Buffer-to-texture copies need rows aligned to 256 bytes.
        let tight = size as usize * 4;
        let row = tight.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
        let dest = CopyDest::Atlas {
            origin,
            width: size,
            height: size,
            row: row as u32,
        };
        self.stage((row * size as usize) as u64, dest, |staging| {
            for (y, src) in texels.chunks_exact(tight).enumerate() {
                staging.slice(y * row..y * row + tight).copy_from_slice(src);
            }
        });
    }

    fn write_run(&mut self, layout: &AtlasLayout, level: usize, first: u32, pages: &[u8]) {
        let size = 1usize << level;
        let page_bytes = size * size * 4;
        let count = (pages.len() / page_bytes) as u32;
        for (slot, n, across) in layout.run_pieces(level, first, count) {
            let (across, down) = (across as usize, (n / across) as usize);
            let tight = across * size * 4;
            let row = tight.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
            let dest = CopyDest::Atlas {
                origin: layout.origin(level, slot),
                width: (across * size) as u32,
                height: (down * size) as u32,
                row: row as u32,
            };
            let piece = &pages[(slot - first) as usize * page_bytes..][..n as usize * page_bytes];
            // Page i of the piece sits at page column i % across, page row i / across.
            let mut texels = vec![0u8; row * down * size];
            for (i, page) in piece.chunks_exact(page_bytes).enumerate() {
                let (px, py) = (i % across, i / across);
                for (ty, src) in page.chunks_exact(size * 4).enumerate() {
                    let at = (py * size + ty) * row + px * size * 4;
                    texels[at..at + size * 4].copy_from_slice(src);
                }
            }
            self.stage(texels.len() as u64, dest, |staging| {
                staging.slice(..texels.len()).copy_from_slice(&texels);
            });
        }
    }

    fn write_grid(&mut self, grid: &[u32], overview: &crate::overview::Overview) {
        let size = self.grid.size();
        let texel = if self.narrow_grid { 2 } else { 4 };
        let bytes = grid_bytes(grid, self.narrow_grid);
        self.stage_whole(Whole::Grid, 0, (size.width, size.height), texel, &bytes);
        for (m, mip) in overview.mips.iter().enumerate() {
            let size = (mip.width, mip.height);
            self.stage_whole(Whole::Overview, m as u32, size, 4, &mip.texels);
        }
    }

    fn write_tint(&mut self, offsets: &[crate::tint::Offset]) {
        let size = self.grid.size();
        let (w, h) = (size.width, size.height);
        if self.tint.size() != size {
            // Made the first time a tint is drawn: frames without one never pay its memory.
            self.tint = tint_texture(&self.device, (w, h));
            let textures = BoundTextures {
                grid: &self.grid,
                page_table: &self.page_table,
                overview: &self.overview,
                atlas: &self.atlas,
                tint: &self.tint,
            };
            self.bind_group = self
                .bindings
                .bind_group(&self.device, &self.uniform, &textures);
        }
        self.stage_whole(Whole::Tint, 0, (w, h), 8, bytemuck::cast_slice(offsets));
    }

    fn write_page_table(&mut self, table: &[Entry], rows: &[u32]) {
        // Runs of consecutive rows, one copy each; the table's tail past its last entry
        // stays zero (empty).
        let width = PAGE_TABLE_WIDTH as usize;
        let mut at = 0;
        while at < rows.len() {
            let first = rows[at];
            let mut end = at + 1;
            while end < rows.len() && rows[end] == rows[end - 1] + 1 {
                end += 1;
            }
            let count = (end - at) as u32;
            let start = first as usize * width;
            let entries = &table[start..(start + count as usize * width).min(table.len())];
            let dest = CopyDest::TableRows {
                first_row: first,
                rows: count,
            };
            self.stage(count as u64 * PAGE_TABLE_ROW_BYTES, dest, |staging| {
                let bytes: &[u8] = bytemuck::cast_slice(entries);
                staging.slice(..bytes.len()).copy_from_slice(bytes);
                staging.slice(bytes.len()..).fill(0);
            });
            at = end;
        }
    }
}

/// The textures a bind group binds.
struct BoundTextures<'a> {
    grid: &'a wgpu::Texture,
    page_table: &'a wgpu::Texture,
    overview: &'a wgpu::Texture,
    atlas: &'a wgpu::Texture,
    tint: &'a wgpu::Texture,
}

impl Bindings {
    fn bind_group(
        &self,
        device: &wgpu::Device,
        uniform: &wgpu::Buffer,
        textures: &BoundTextures,
    ) -> wgpu::BindGroup {
        let view = |t: &wgpu::Texture| t.create_view(&Default::default());
        let (grid, page_table) = (view(textures.grid), view(textures.page_table));
        let (overview, tint) = (view(textures.overview), view(textures.tint));
        let atlas = textures.atlas.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let texture = |binding, view| wgpu::BindGroupEntry {
            binding,
            resource: wgpu::BindingResource::TextureView(view),
        };
        let sampler = |binding, sampler| wgpu::BindGroupEntry {
            binding,
            resource: wgpu::BindingResource::Sampler(sampler),
        };
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mosaic"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                texture(1, &grid),
                texture(2, &page_table),
                sampler(3, &self.atlas_sampler),
                texture(4, &overview),
                sampler(5, &self.overview_sampler),
                texture(6, &atlas),
                texture(7, &tint),
            ],
        })
    }
}

fn tint_texture(device: &wgpu::Device, size: (u32, u32)) -> wgpu::Texture {
    super::texture_2d(
        device,
        "cell tint",
        size,
        TINT_FORMAT,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    )
}

/// The atlas texture's size: the layout's, except where wgpu's GL backend would guess its
/// view dimension wrong (it makes a square texture with a multiple of 6 layers a cube-map
/// array, and one with a single layer a plain 2D texture): there it gets a second layer, or
/// one spare row of texels so that it is not square.
fn atlas_extent(backend: wgpu::Backend, layout: &AtlasLayout) -> wgpu::Extent3d {
    let mut size = wgpu::Extent3d {
        width: layout.layer_size,
        height: layout.layer_size,
        depth_or_array_layers: layout.layers,
    };
    if backend == wgpu::Backend::Gl {
        size.depth_or_array_layers = size.depth_or_array_layers.max(2);
        if size.depth_or_array_layers.is_multiple_of(6) {
            size.height += 1;
        }
    }
    size
}

/// The grid as the texture holds it: 16-bit ids when `narrow`, else 32-bit.
fn grid_bytes(grid: &[u32], narrow: bool) -> Vec<u8> {
    if narrow {
        grid.iter()
            .flat_map(|&t| (t as u16).to_le_bytes())
            .collect()
    } else {
        bytemuck::cast_slice(grid).to_vec()
    }
}

fn write_2d(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    mip: u32,
    width: u32,
    height: u32,
    texel_bytes: u32,
    data: &[u8],
) {
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: mip,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * texel_bytes),
            rows_per_image: Some(height),
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
}
