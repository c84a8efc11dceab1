//! An offscreen render target and its read-back into tightly packed RGBA8 rows.

/// The offscreen targets' format: RGBA8, sRGB-encoded (what PNG and the encoder take).
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// A texture frames are drawn into and read back from, off screen.
pub struct OffscreenTarget {
    /// The texture.
    pub texture: wgpu::Texture,
    /// A view of it to draw into.
    pub view: wgpu::TextureView,
    device: wgpu::Device,
    /// Made at the first read-back: a benchmark or a window never needs its 8 MB at 1080p.
    readback: std::sync::OnceLock<wgpu::Buffer>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    padded_row: u32,
}

impl OffscreenTarget {
    /// A `width × height` target in `OFFSCREEN_FORMAT`.
    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> OffscreenTarget {
        Self::with_format(device, width, height, OFFSCREEN_FORMAT)
    }

    /// An offscreen target of another RGBA8/BGRA8 `format` (a window's, for screenshots).
    pub fn with_format(
        device: &wgpu::Device,
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
    ) -> OffscreenTarget {
        let texture = super::texture_2d(
            device,
            "offscreen",
            (width, height),
            format,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        );
        Self::for_texture(device, &texture)
    }

    /// A read-back for an existing texture (e.g. a window's surface texture with COPY_SRC).
    pub fn for_texture(device: &wgpu::Device, texture: &wgpu::Texture) -> OffscreenTarget {
        let (width, height) = (texture.width(), texture.height());
        // Copy rows must start at multiples of 256 bytes; odd widths get padded rows.
        let padded_row = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        OffscreenTarget {
            view: texture.create_view(&Default::default()),
            texture: texture.clone(),
            device: device.clone(),
            readback: std::sync::OnceLock::new(),
            width,
            height,
            padded_row,
        }
    }

    fn readback(&self) -> &wgpu::Buffer {
        self.readback.get_or_init(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: self.padded_row as u64 * self.height as u64,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            })
        })
    }

    /// Records the copy of the target into the read-back buffer.
    pub fn encode_copy(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: self.readback(),
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: Some(self.height),
                },
            },
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Maps the read-back buffer (after `encode_copy` was submitted) and returns packed RGBA8.
    pub fn read(&self) -> crate::Result<Vec<u8>> {
        let gpu_err =
            |e: &dyn std::fmt::Display| crate::Error::Gpu(format!("frame read-back failed: {e}"));
        let readback = self.readback();
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        rx.recv()
            .map_err(|e| gpu_err(&e))?
            .map_err(|e| gpu_err(&e))?;
        let mut out = Vec::with_capacity((self.width * self.height * 4) as usize);
        {
            let data = slice.get_mapped_range().map_err(|e| gpu_err(&e))?;
            for row in data.chunks_exact(self.padded_row as usize) {
                out.extend_from_slice(&row[..(self.width * 4) as usize]);
            }
        }
        readback.unmap();
        Ok(out)
    }
}
