//! A frame made in memory, shown on the GPU: uploaded to a texture and copied to the target
//! by a full-screen pass that fetches one texel per pixel. The viewer presents the CPU
//! renderer's frames this way; the benchmark times the pass alone (with read-back) as the
//! floor, the least any mosaic shader can cost on an adapter, measured in the same run.

const SHADER: &str = r#"
@group(0) @binding(0) var src: texture_2d<f32>;
@vertex fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}
@fragment fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return textureLoad(src, vec2<i32>(pos.xy), 0);
}
"#;

/// Shows a frame made in memory (the CPU renderer's) on a wgpu target: uploaded to a
/// texture and drawn over the target.
pub struct FrameBlit {
    pipeline: wgpu::RenderPipeline,
    /// The frame's texture, its size and the bind group that reads it.
    source: Option<(wgpu::Texture, wgpu::BindGroup)>,
    /// sRGB when the target is: the texel is decoded on load and encoded again on store, so
    /// the bytes arrive as they were (a plain format passes them through untouched).
    source_format: wgpu::TextureFormat,
}

impl FrameBlit {
    /// A blit into targets of `target_format`; frames are RGBA8 sRGB bytes.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> FrameBlit {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("frame blit"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("frame blit"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: target_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let source_format = if target_format.is_srgb() {
            wgpu::TextureFormat::Rgba8UnormSrgb
        } else {
            wgpu::TextureFormat::Rgba8Unorm
        };
        FrameBlit {
            pipeline,
            source: None,
            source_format,
        }
    }

    /// Makes the source texture `width × height` (kept while the size stays).
    pub fn resize(&mut self, device: &wgpu::Device, width: u32, height: u32) {
        if self
            .source
            .as_ref()
            .is_some_and(|(t, _)| (t.width(), t.height()) == (width, height))
        {
            return;
        }
        let texture = super::texture_2d(
            device,
            "frame blit source",
            (width, height),
            self.source_format,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        );
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("frame blit"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&view),
            }],
        });
        self.source = Some((texture, bind_group));
    }

    /// Sends `rgba` (a frame of the size last `resize`d to, RGBA8 sRGB, rows packed) to the
    /// source texture, ahead of the next submission.
    pub fn upload(&self, queue: &wgpu::Queue, rgba: &[u8]) {
        let (texture, _) = self
            .source
            .as_ref()
            .expect("FrameBlit::resize before upload");
        let (w, h) = (texture.width(), texture.height());
        assert_eq!(rgba.len(), w as usize * h as usize * 4, "frame size");
        queue.write_texture(
            texture.as_image_copy(),
            rgba,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(h),
            },
            texture.size(),
        );
    }

    /// Copies the source texture to `target` (of the same size) in a render pass of its own.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, target: &wgpu::TextureView) {
        let (_, bind_group) = self
            .source
            .as_ref()
            .expect("FrameBlit::resize before encode");
        let mut pass = super::begin_cleared_pass(encoder, "frame blit", target);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
