//! The wgpu device: the best adapter there is, or Mesa's software rasteriser (llvmpipe, GL or
//! Vulkan) on a machine without a GPU. Headless and windowed rendering share this path;
//! the window only adds a surface the adapter must be able to present to.

use crate::error::{Error, Result};

/// Environment variable that picks an adapter by name, like `--adapter`.
pub const ADAPTER_ENV: &str = "TESSERA_ADAPTER";

/// A wgpu device of tessera's own (headless rendering, the viewer), with its adapter.
pub struct GpuContext {
    /// The wgpu instance the adapter came from.
    pub instance: wgpu::Instance,
    /// The adapter: the GPU, or Mesa's software rasteriser.
    pub adapter: wgpu::Adapter,
    /// The device opened on it.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
}

/// What to install when no adapter exists at all.
pub const NO_ADAPTER_HELP: &str = "no GPU adapter found: install a GPU driver, or Mesa's software \
drivers (Debian: apt-get install libegl-mesa0 libgl1-mesa-dri mesa-vulkan-drivers libvulkan1)";

impl GpuContext {
    /// A device with no surface. `adapter` (or `$TESSERA_ADAPTER`) picks by name substring.
    pub fn headless(adapter: Option<&str>) -> Result<GpuContext> {
        let (instance, chosen) = Self::headless_adapter(adapter)?;
        Self::open(instance, chosen)
    }

    /// The adapter `headless` would open a device on, and its instance; no device yet.
    pub fn headless_adapter(adapter: Option<&str>) -> Result<(wgpu::Instance, wgpu::Adapter)> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        let probed_vulkan = desc.backends.contains(wgpu::Backends::VULKAN);
        let instance = wgpu::Instance::new(desc);
        let chosen = pick_adapter(&instance, None, adapter, true)?;
        let info = chosen.get_info();
        if !(probed_vulkan
            && info.backend == wgpu::Backend::Gl
            && info.device_type == wgpu::DeviceType::Cpu)
        {
            return Ok((instance, chosen));
        }
        // Software GL won over lavapipe: pick again on GL alone, before any device exists,
        // so the Vulkan drivers loaded while probing are unloaded (about 10 MB of resident
        // code and state).
        drop((chosen, instance));
        let mut gl_only = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        gl_only.backends = wgpu::Backends::GL;
        let instance = wgpu::Instance::new(gl_only);
        let chosen = pick_adapter(&instance, None, adapter, true)?;
        Ok((instance, chosen))
    }

    /// A device for `instance` that can present to `surface` when one is given.
    /// `cpu_frames`: the device may only present frames the CPU renderer made; a software
    /// Vulkan adapter is then kept rather than yielding to software GL (see
    /// `prefer_software_gl`): it presents them faster (measured in the viewer at 64 px per
    /// cell, 1080p: 12–13 ms a frame against 18–21 ms), and the shader it leaks memory in
    /// does not run.
    pub fn with_instance(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
        adapter: Option<&str>,
        cpu_frames: bool,
    ) -> Result<GpuContext> {
        let chosen = pick_adapter(&instance, surface, adapter, !cpu_frames)?;
        Self::open(instance, chosen)
    }

    /// Opens a device on `adapter` with its full limits.
    pub fn open(instance: wgpu::Instance, adapter: wgpu::Adapter) -> Result<GpuContext> {
        let info = adapter.get_info();
        tracing::info!("adapter: {}", describe(&info));
        let limits = adapter.limits();
        if limits.max_texture_dimension_2d < 2048 {
            return Err(Error::NoAdapter(format!(
                "adapter {} supports textures of only {} px (tessera needs 2048)",
                info.name, limits.max_texture_dimension_2d
            )));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tessera"),
            required_features: wgpu::Features::empty(),
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::NoAdapter(format!("adapter {} refused a device: {e}", info.name)))?;
        Ok(GpuContext {
            instance,
            adapter,
            device,
            queue,
        })
    }

    /// "name (backend, device type)", for logs and reports.
    pub fn describe(&self) -> String {
        describe(&self.adapter.get_info())
    }

    /// Blocks until the GPU has finished all submitted work.
    pub fn wait_idle(&self) {
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }
}

/// The adapter named by `adapter` (or `$TESSERA_ADAPTER`), else the best one, a software
/// Vulkan adapter yielding to a software GL one where `gl_over_lavapipe` (see
/// `prefer_software_gl`).
fn pick_adapter(
    instance: &wgpu::Instance,
    surface: Option<&wgpu::Surface<'_>>,
    adapter: Option<&str>,
    gl_over_lavapipe: bool,
) -> Result<wgpu::Adapter> {
    let wanted = adapter
        .map(str::to_owned)
        .or_else(|| std::env::var(ADAPTER_ENV).ok());
    let Some(name) = wanted else {
        let best = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: surface,
            apply_limit_buckets: false,
        }))
        .map_err(|e| Error::NoAdapter(format!("{NO_ADAPTER_HELP} ({e})")))?;
        if !gl_over_lavapipe {
            return Ok(best);
        }
        return Ok(prefer_software_gl(instance, surface, best));
    };
    let all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let names: Vec<String> = all.iter().map(|a| describe(&a.get_info())).collect();
    let needle = name.to_lowercase();
    all.into_iter()
        .find(|a| {
            describe(&a.get_info()).to_lowercase().contains(&needle)
                && surface.is_none_or(|s| a.is_surface_supported(s))
        })
        .ok_or_else(|| {
            Error::NoAdapter(format!(
                "no adapter matches `{name}`; adapters here: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ))
        })
}

/// With no GPU, wgpu's first choice is Mesa's Vulkan lavapipe. Mesa 22.3's lavapipe (Debian
/// 12) leaks ~0.4 MB per frame in our tile shader (in JIT code, once per 64×64 bin; measured
/// with heaptrack), while the same llvmpipe rasteriser behind Mesa's GL driver does not and is
/// as fast. So a software Vulkan adapter yields to a software GL one when there is one;
/// `--adapter vulkan` still picks lavapipe.
fn prefer_software_gl(
    instance: &wgpu::Instance,
    surface: Option<&wgpu::Surface<'_>>,
    best: wgpu::Adapter,
) -> wgpu::Adapter {
    let info = best.get_info();
    if info.device_type != wgpu::DeviceType::Cpu || info.backend != wgpu::Backend::Vulkan {
        return best;
    }
    let gl = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::GL))
        .into_iter()
        .find(|a| {
            a.get_info().device_type == wgpu::DeviceType::Cpu
                && surface.is_none_or(|s| a.is_surface_supported(s))
        });
    match gl {
        Some(gl) => {
            tracing::debug!(
                "software adapter: {} instead of {} (lavapipe leaks memory per frame)",
                describe(&gl.get_info()),
                describe(&info)
            );
            gl
        }
        None => best,
    }
}

/// What `Backend::Auto` draws with when `adapter` is the one the GPU path would use, picked
/// with `asked` (`--adapter`; `$TESSERA_ADAPTER` names one too).
pub fn auto_choice(adapter: &wgpu::Adapter, asked: Option<&str>) -> crate::renderer::Choice {
    let info = adapter.get_info();
    let named = asked.is_some() || std::env::var_os(ADAPTER_ENV).is_some();
    crate::renderer::choose_backend(Some((&describe(&info), info.device_type)), named)
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}
