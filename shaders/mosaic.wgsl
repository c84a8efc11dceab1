// tessera's mosaic shader: one full-screen triangle; per pixel, screen → cell → tile id →
// page table → atlas sample. `src/cpu_render.rs` is the same algorithm on the CPU, and the
// golden tests hold the two to each other: change both together.

struct View {
    origin_int: vec2<i32>,     // integer cell coordinate of the viewport's top-left corner
    origin_frac: vec2<f32>,    // its fractional part
    grid_size: vec2<u32>,      // cells across, down
    cells_per_px: f32,
    weight_hi: f32,            // blend weight of the finer level
    level_hi: u32,
    level_lo: u32,
    levels: u32,               // page-table entries per tile
    max_level: u32,
    inv_atlas_size: vec2<f32>, // 1 / (one atlas layer, texels)
    viewport_origin: vec2<f32>,// the viewport's top-left pixel in the render target
    overview_lod: f32,         // > 0: zoomed out below 1 px per cell, draw the overview
    tint: f32,                 // colour correction strength (pipelines with TINT)
    background: vec4<f32>,     // linear
};

// The level overlay (`--debug-lod`), fixed per pipeline: a software rasteriser runs both
// sides of a branch, so a per-frame flag read per pixel would cost every frame.
override DEBUG_LOD: bool = false;
// Colour correction (`--tint`), fixed per pipeline for the same reason: frames without it
// do not pay for the extra texel load.
override TINT: bool = false;

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var grid: texture_2d<u32>;
// Per tile × wanted level, resolved on the CPU: (packed texel origin layer << 22 | x << 11 | y,
// level) of the finest resident page at or below the wanted level.
// Stored as a 2048-wide texture: entry i is texel (i % 2048, i / 2048).
@group(0) @binding(2) var page_table: texture_2d<u32>;
@group(0) @binding(3) var atlas_sampler: sampler;
@group(0) @binding(4) var overview: texture_2d<f32>;
@group(0) @binding(5) var overview_sampler: sampler;
@group(0) @binding(6) var atlas: texture_2d_array<f32>;
// Per cell, the target's mean colour minus its tile's, linear (see `src/tint.rs`).
@group(0) @binding(7) var cell_tint: texture_2d<f32>;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}

// Bilinear sample of a resident page, clamped half a texel inside the page so the filter
// never reads a neighbouring page (clamp-to-edge per tile).
fn sample_page(level: u32, code: u32, uv: vec2<f32>) -> vec3<f32> {
    let origin = vec2<f32>(f32((code >> 11u) & 0x7ffu), f32(code & 0x7ffu));
    let size = f32(1u << level);
    let t = clamp(uv * size, vec2<f32>(0.5), vec2<f32>(size - 0.5));
    return textureSampleLevel(atlas, atlas_sampler, (origin + t) * view.inv_atlas_size, code >> 22u, 0.0).rgb;
}

// Nearest texel of a resident page: the coarser level of a blend. It is magnified at most
// 2× there and weighted by 1 - weight_hi, so a bilinear sample would buy little, and one
// texel load instead of four makes blended frames (the slowest) ~25 % cheaper on llvmpipe.
fn nearest_page(level: u32, code: u32, uv: vec2<f32>) -> vec3<f32> {
    let origin = vec2<i32>(i32((code >> 11u) & 0x7ffu), i32(code & 0x7ffu));
    let size = i32(1u << level);
    // Texel edges nudged 1/1024 texel off exact values, where the last bit of arithmetic
    // would decide (tessera's CPU twin must pick the same texel).
    let t = clamp(vec2<i32>(uv * f32(size) + 1.0 / 1024.0), vec2<i32>(0), vec2<i32>(size - 1));
    return textureLoad(atlas, origin + t, i32(code >> 22u), 0).rgb;
}

fn entry(i: u32) -> vec2<u32> {
    return textureLoad(page_table, vec2<u32>(i & 2047u, i >> 11u), 0).xy;
}

fn tint(c: vec3<f32>, level: i32) -> vec3<f32> {
    let t = f32(level + 1) / f32(view.max_level + 1u);
    return c * 0.25 + vec3<f32>(t * 0.75);
}

// Cell coordinate of a pixel centre (pos.xy - viewport origin = x + 0.5, y + 0.5); fma
// mirrors FrameView::local.
fn local_of(pos: vec4<f32>) -> vec2<f32> {
    return fma(pos.xy - view.viewport_origin, vec2<f32>(view.cells_per_px), view.origin_frac);
}

fn outside(local: vec2<f32>) -> bool {
    let cell = view.origin_int + vec2<i32>(floor(local));
    return any(cell < vec2<i32>(0)) || any(cell >= vec2<i32>(view.grid_size));
}

// Each frame uses one of three entry points, picked on the CPU: a software rasteriser runs
// both sides of a branch, so frame-uniform choices are made by pipeline, not by `if`.

// Zoomed out below one pixel per cell: the overview chain, trilinear.
@fragment
fn fs_overview(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let local = local_of(pos);
    if (outside(local)) {
        return view.background;
    }
    let uv = (vec2<f32>(view.origin_int) + local) / vec2<f32>(view.grid_size);
    var c = textureSampleLevel(overview, overview_sampler, uv, view.overview_lod).rgb;
    if (DEBUG_LOD) {
        c = tint(c, -1);
    }
    return vec4<f32>(c, 1.0);
}

// The tile under the pixel at the finer wanted level (or its finest resident fallback),
// blended with the coarser level when `blend`.
fn tiles(pos: vec4<f32>, blend: bool) -> vec4<f32> {
    let local = local_of(pos);
    if (outside(local)) {
        return view.background;
    }
    let whole = floor(local);
    let uv = local - whole;
    let cell = view.origin_int + vec2<i32>(whole);
    let tile = textureLoad(grid, cell, 0).r;
    let row = tile * view.levels;
    let hi = entry(row + view.level_hi);
    let c_hi = sample_page(hi.y, hi.x, uv);
    var c = c_hi;
    if (blend) {
        // The table is resolved: this entry is the finest resident page at or below
        // level_lo, so it never names a finer page than `hi` does.
        let lo = entry(row + view.level_lo);
        if (lo.y != hi.y) {
            let c_lo = nearest_page(lo.y, lo.x, uv);
            c = c_lo * (1.0 - view.weight_hi) + c_hi * view.weight_hi;
        }
    }
    if (TINT) {
        // The tile's detail kept, its mean moved toward the cell's target.
        c = clamp(c + view.tint * textureLoad(cell_tint, cell, 0).rgb, vec3<f32>(0.0), vec3<f32>(1.0));
    }
    if (DEBUG_LOD) {
        c = tint(c, i32(hi.y));
    }
    return vec4<f32>(c, 1.0);
}

@fragment
fn fs_tiles(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return tiles(pos, false);
}

@fragment
fn fs_tiles_blend(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return tiles(pos, true);
}
