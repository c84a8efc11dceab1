//! Uploads: every write to the GPU's textures goes through one staging belt, and is
//! copied into place when the next frame is recorded.

use super::GpuMosaic;
use crate::atlas::{PageOrigin, PAGE_TABLE_WIDTH};

/// Where one staged upload lands.
pub(super) enum CopyDest {
    /// A rectangle of atlas texels (one page, or a run of pages side by side) at `origin`,
    /// rows padded to `row` bytes.
    Atlas {
        origin: PageOrigin,
        width: u32,
        height: u32,
        row: u32,
    },
    /// Whole rows of the page-table texture.
    TableRows { first_row: u32, rows: u32 },
    /// A whole mip of the match grid, the overview or the tint offsets, rows padded to
    /// `row` bytes.
    Whole {
        texture: Whole,
        mip: u32,
        width: u32,
        height: u32,
        row: u32,
    },
}

/// The textures replaced whole (a video target's every frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Whole {
    Grid,
    Overview,
    Tint,
}

/// One upload already written into the staging belt, waiting for its copy command.
pub(super) struct StagedCopy {
    pub(super) buffer: wgpu::Buffer,
    pub(super) offset: u64,
    pub(super) dest: CopyDest,
}

/// Staging-belt chunk size: sixteen 256 px pages or one 1024 px page. A frame's 8 MiB upload
/// budget fills three; smaller chunks waste less of the last one.
pub(super) const BELT_CHUNK_BYTES: u64 = 4 << 20;

/// Submit staged uploads early past this many bytes (bulk loads, synchronous renders).
pub(super) const MAX_STAGED_BYTES: u64 = 16 << 20;

impl GpuMosaic {
    /// Writes `len` bytes into a fresh slice of the staging belt (via `fill`, which gets the
    /// mapped bytes) and queues its copy to `dest`.
    pub(super) fn stage(
        &mut self,
        len: u64,
        dest: CopyDest,
        fill: impl FnOnce(&mut wgpu::BufferViewMut),
    ) {
        let size = wgpu::BufferSize::new(len).expect("uploads are never empty");
        let align = wgpu::BufferSize::new(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as u64).expect("256");
        let slice = self.belt.allocate(size, align);
        let (buffer, offset) = (slice.buffer().clone(), slice.offset());
        let mut mapped = slice
            .get_mapped_range_mut()
            .expect("staging belt slices are mapped");
        fill(&mut mapped);
        drop(mapped);
        self.staged.push(StagedCopy {
            buffer,
            offset,
            dest,
        });
        self.staged_bytes += len;
        if self.staged_bytes > MAX_STAGED_BYTES {
            self.submit_staged();
        }
    }

    /// Stages a whole mip of the grid, overview or tint texture (`texel` bytes a texel).
    pub(super) fn stage_whole(
        &mut self,
        texture: Whole,
        mip: u32,
        (width, height): (u32, u32),
        texel: u32,
        bytes: &[u8],
    ) {
        let tight = (width * texel) as usize;
        let row = tight.next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize);
        let dest = CopyDest::Whole {
            texture,
            mip,
            width,
            height,
            row: row as u32,
        };
        self.stage((row * height as usize) as u64, dest, |staging| {
            for (y, src) in bytes.chunks_exact(tight).enumerate() {
                staging.slice(y * row..y * row + tight).copy_from_slice(src);
            }
        });
    }

    /// Submits the staged copies now and waits, so the belt gets its chunks back instead of
    /// growing through a bulk load.
    pub(super) fn submit_staged(&mut self) {
        if self.staged.is_empty() {
            return;
        }
        let mut encoder = self.device.create_command_encoder(&Default::default());
        self.record_uploads(&mut encoder);
        self.belt.finish_and_recall_on_submit(&encoder);
        self.queue.submit([encoder.finish()]);
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }

    /// Records the copy commands of everything staged since the last call.
    pub(super) fn record_uploads(&mut self, encoder: &mut wgpu::CommandEncoder) {
        for copy in self.staged.drain(..) {
            let (texture, mip, origin, row, width, height) = match copy.dest {
                CopyDest::Atlas {
                    origin,
                    width,
                    height,
                    row,
                } => (
                    &self.atlas,
                    0,
                    wgpu::Origin3d {
                        x: origin.x,
                        y: origin.y,
                        z: origin.layer,
                    },
                    row,
                    width,
                    height,
                ),
                CopyDest::TableRows { first_row, rows } => (
                    &self.page_table,
                    0,
                    wgpu::Origin3d {
                        x: 0,
                        y: first_row,
                        z: 0,
                    },
                    PAGE_TABLE_WIDTH * 8,
                    PAGE_TABLE_WIDTH,
                    rows,
                ),
                CopyDest::Whole {
                    texture,
                    mip,
                    width,
                    height,
                    row,
                } => (
                    match texture {
                        Whole::Grid => &self.grid,
                        Whole::Overview => &self.overview,
                        Whole::Tint => &self.tint,
                    },
                    mip,
                    wgpu::Origin3d::ZERO,
                    row,
                    width,
                    height,
                ),
            };
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: &copy.buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: copy.offset,
                        bytes_per_row: Some(row),
                        rows_per_image: Some(height),
                    },
                },
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: mip,
                    origin,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
            );
        }
        self.staged_bytes = 0;
    }
}
