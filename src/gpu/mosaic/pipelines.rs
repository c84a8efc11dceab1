//! The shader's interface on the CPU side: its `View` uniform, and the pipelines that draw
//! a frame, by pass and variant.

use crate::view::FrameView;
use bytemuck::{Pod, Zeroable};

/// The shader's `View` uniform, byte for byte.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct ViewUniform {
    pub(super) origin_int: [i32; 2],
    pub(super) origin_frac: [f32; 2],
    pub(super) grid_size: [u32; 2],
    pub(super) cells_per_px: f32,
    pub(super) weight_hi: f32,
    pub(super) level_hi: u32,
    pub(super) level_lo: u32,
    pub(super) levels: u32,
    pub(super) max_level: u32,
    pub(super) inv_atlas_size: [f32; 2],
    pub(super) viewport_origin: [f32; 2],
    pub(super) overview_lod: f32,
    pub(super) tint: f32,
    pub(super) cells_per_px_y: f32,
    pub(super) _pad: u32,
    pub(super) background: [f32; 4],
    pub(super) cells_first: [i32; 2],
    pub(super) cells_across: u32,
    pub(super) _pad2: u32,
    pub(super) px_to_ndc: [f32; 2],
    pub(super) top_extent: [u32; 2],
    pub(super) background_rects: [[f32; 4]; 4],
}

/// Cells at least this many pixels across are drawn as one quad each; smaller ones by the
/// full-screen pass. On llvmpipe a quad costs ~0.3 µs of set-up and binning, and the tiles
/// of 4×4 pixels it shades are shared with its neighbours' quads: quads are level with the
/// full-screen pass at 16–24 px per cell, faster from 32 (1.5–1.7× at 128–512 px), and 2–4.5×
/// slower at 4–8 px (docs/performance.md, "Frame time per zoom").
const CELL_QUADS_FROM_PX: f64 = 24.0;

/// Overrides `CELL_QUADS_FROM_PX`, to measure the two passes side by side ("inf": never).
const CELL_QUADS_ENV: &str = "TESSERA_GPU_QUADS_FROM_PX";

/// The shader's pipelines, by what they draw (see the shader). A software rasteriser runs
/// both sides of a branch, so frame-uniform choices are made on the CPU, by pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// Zoomed out below a pixel per cell: the overview, full screen.
    Overview,
    /// Full screen, per pixel: one level, or two blended.
    Tiles,
    TilesBlend,
    /// A quad per visible cell: one level, or two blended.
    Cells,
    CellsBlend,
    /// The screen beside the mosaic when cells are drawn as quads.
    Background,
}

const PASSES: usize = 6;

impl Pass {
    /// The shader's (vertex, fragment) entry points.
    pub(super) fn entry_points(self) -> (&'static str, &'static str) {
        match self {
            Pass::Overview => ("vs_main", "fs_overview"),
            Pass::Tiles => ("vs_main", "fs_tiles"),
            Pass::TilesBlend => ("vs_main", "fs_tiles_blend"),
            Pass::Cells => ("vs_cells", "fs_cells"),
            Pass::CellsBlend => ("vs_cells", "fs_cells_blend"),
            Pass::Background => ("vs_background", "fs_background"),
        }
    }

    /// Quads (six vertices each) rather than one full-screen triangle.
    pub(super) fn draws_quads(self) -> bool {
        matches!(self, Pass::Cells | Pass::CellsBlend | Pass::Background)
    }

    /// The pass that draws `frame`'s tiles, with cells of `quads_from_px` or more as quads.
    pub(super) fn for_frame(frame: &FrameView, quads_from_px: f64) -> Pass {
        let blend = frame.levels.weight_hi < 1.0;
        if frame.uses_overview() {
            Pass::Overview
        } else if frame.cell_px < quads_from_px {
            if blend {
                Pass::TilesBlend
            } else {
                Pass::Tiles
            }
        } else if blend {
            Pass::CellsBlend
        } else {
            Pass::Cells
        }
    }
}

/// The draw calls of a prepared frame.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub(super) pass: Pass,
    pub(super) variant: Variant,
    /// Quads drawn when `pass` draws quads (visible cells).
    pub(super) quads: u32,
    /// Whether the background rectangles are drawn after the cells.
    pub(super) background: bool,
}

/// Which variant of the shader's pipelines a frame uses: its override constants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Variant {
    pub(super) debug_lod: bool,
    pub(super) tint: bool,
}

impl Variant {
    pub(super) fn index(self) -> usize {
        self.debug_lod as usize | (self.tint as usize) << 1
    }
}

/// The render pipelines, one per pass for each variant, each made the first time a frame
/// asks for it (a software adapter compiles each in tens of milliseconds).
pub(super) struct Pipelines {
    module: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    format: wgpu::TextureFormat,
    made: [[Option<wgpu::RenderPipeline>; PASSES]; 4],
}

impl Pipelines {
    pub(super) fn new(
        module: wgpu::ShaderModule,
        layout: wgpu::PipelineLayout,
        format: wgpu::TextureFormat,
    ) -> Pipelines {
        Pipelines {
            module,
            layout,
            format,
            made: Default::default(),
        }
    }

    /// Makes a pass's pipeline of a variant the first time it is asked for.
    pub(super) fn ensure(&mut self, device: &wgpu::Device, variant: Variant, pass: Pass) {
        let slot = &mut self.made[variant.index()][pass as usize];
        if slot.is_none() {
            *slot = Some(Self::make(
                device,
                &self.module,
                &self.layout,
                self.format,
                variant,
                pass,
            ));
        }
    }

    pub(super) fn get(&self, variant: Variant, pass: Pass) -> &wgpu::RenderPipeline {
        self.made[variant.index()][pass as usize]
            .as_ref()
            .expect("Pipelines::ensure in prepare")
    }

    fn make(
        device: &wgpu::Device,
        module: &wgpu::ShaderModule,
        layout: &wgpu::PipelineLayout,
        format: wgpu::TextureFormat,
        variant: Variant,
        pass: Pass,
    ) -> wgpu::RenderPipeline {
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        let constants = [
            ("DEBUG_LOD", flag(variant.debug_lod)),
            ("TINT", flag(variant.tint)),
        ];
        let (vertex, fragment) = pass.entry_points();
        let options = wgpu::PipelineCompilationOptions {
            constants: &constants,
            ..Default::default()
        };
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(fragment),
            layout: Some(layout),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some(vertex),
                compilation_options: options.clone(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some(fragment),
                compilation_options: options,
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    }
}

/// `CELL_QUADS_FROM_PX`, or what `CELL_QUADS_ENV` says.
pub(super) fn quads_from_px() -> f64 {
    let Ok(value) = std::env::var(CELL_QUADS_ENV) else {
        return CELL_QUADS_FROM_PX;
    };
    value.parse().unwrap_or_else(|_| {
        tracing::warn!(
            "{CELL_QUADS_ENV}={value:?} is not a number of pixels; using {CELL_QUADS_FROM_PX}"
        );
        CELL_QUADS_FROM_PX
    })
}
