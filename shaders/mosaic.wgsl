// tessera's mosaic shader: one full-screen triangle; per pixel, screen → cell → tile id →
// page table → atlas sample. `src/cpu_render.rs` is the same algorithm on the CPU, and the
// golden tests hold the two to each other: change both together.

const EMPTY: u32 = 0xffffffffu;

struct View {
    origin_int: vec2<i32>,     // integer cell coordinate of the screen's top-left corner
    origin_frac: vec2<f32>,    // its fractional part
    grid_size: vec2<u32>,      // cells across, down
    cells_per_px: f32,
    weight_hi: f32,            // blend weight of the finer level
    level_hi: u32,
    level_lo: u32,
    levels: u32,               // page-table entries per tile
    debug_lod: u32,
    overview_lod: f32,         // > 0: zoomed out below 1 px per cell, draw the overview
    max_level: u32,
    _pad: vec2<u32>,
    background: vec4<f32>,     // linear
    layer_size: array<vec4<u32>, 11>, // .x: side of one atlas layer, per level
};

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var grid: texture_2d<u32>;
@group(0) @binding(2) var<storage, read> page_table: array<u32>;
@group(0) @binding(3) var atlas_sampler: sampler;
@group(0) @binding(4) var overview: texture_2d<f32>;
@group(0) @binding(5) var overview_sampler: sampler;
@group(0) @binding(6) var atlas0: texture_2d_array<f32>;
@group(0) @binding(7) var atlas1: texture_2d_array<f32>;
@group(0) @binding(8) var atlas2: texture_2d_array<f32>;
@group(0) @binding(9) var atlas3: texture_2d_array<f32>;
@group(0) @binding(10) var atlas4: texture_2d_array<f32>;
@group(0) @binding(11) var atlas5: texture_2d_array<f32>;
@group(0) @binding(12) var atlas6: texture_2d_array<f32>;
@group(0) @binding(13) var atlas7: texture_2d_array<f32>;
@group(0) @binding(14) var atlas8: texture_2d_array<f32>;
@group(0) @binding(15) var atlas9: texture_2d_array<f32>;
@group(0) @binding(16) var atlas10: texture_2d_array<f32>;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let p = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}

fn sample_atlas(level: u32, uv: vec2<f32>, layer: u32) -> vec3<f32> {
    switch level {
        case 0u: { return textureSampleLevel(atlas0, atlas_sampler, uv, layer, 0.0).rgb; }
        case 1u: { return textureSampleLevel(atlas1, atlas_sampler, uv, layer, 0.0).rgb; }
        case 2u: { return textureSampleLevel(atlas2, atlas_sampler, uv, layer, 0.0).rgb; }
        case 3u: { return textureSampleLevel(atlas3, atlas_sampler, uv, layer, 0.0).rgb; }
        case 4u: { return textureSampleLevel(atlas4, atlas_sampler, uv, layer, 0.0).rgb; }
        case 5u: { return textureSampleLevel(atlas5, atlas_sampler, uv, layer, 0.0).rgb; }
        case 6u: { return textureSampleLevel(atlas6, atlas_sampler, uv, layer, 0.0).rgb; }
        case 7u: { return textureSampleLevel(atlas7, atlas_sampler, uv, layer, 0.0).rgb; }
        case 8u: { return textureSampleLevel(atlas8, atlas_sampler, uv, layer, 0.0).rgb; }
        case 9u: { return textureSampleLevel(atlas9, atlas_sampler, uv, layer, 0.0).rgb; }
        case 10u: { return textureSampleLevel(atlas10, atlas_sampler, uv, layer, 0.0).rgb; }
        default: { return vec3<f32>(1.0, 0.0, 1.0); }
    }
}

// Bilinear sample of a resident page, clamped half a texel inside the page so the filter
// never reads a neighbouring slot (clamp-to-edge per tile).
fn sample_page(level: u32, slot: u32, uv: vec2<f32>) -> vec3<f32> {
    let size = f32(1u << level);
    let layer_size = view.layer_size[level].x;
    let per_row = layer_size >> level;
    let per_layer = per_row * per_row;
    let within = slot % per_layer;
    let origin = vec2<f32>(vec2<u32>(within % per_row, within / per_row) << vec2<u32>(level));
    let t = clamp(uv * size, vec2<f32>(0.5), vec2<f32>(size - 0.5));
    return sample_atlas(level, (origin + t) / f32(layer_size), slot / per_layer);
}

// Finest resident level at or below `level` for the tile whose page-table row starts at `row`.
fn resolve(row: u32, level: u32) -> u32 {
    var l = level;
    while (l > 0u && page_table[row + l] == EMPTY) {
        l -= 1u;
    }
    return l;
}

fn tint(c: vec3<f32>, level: i32) -> vec3<f32> {
    let t = f32(level + 1) / f32(view.max_level + 1u);
    return c * 0.25 + vec3<f32>(t * 0.75);
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    // pos.xy is the pixel centre (x + 0.5, y + 0.5); fma mirrors FrameView::local.
    let local = fma(pos.xy, vec2<f32>(view.cells_per_px), view.origin_frac);
    let whole = floor(local);
    let cell = view.origin_int + vec2<i32>(whole);
    if (any(cell < vec2<i32>(0)) || any(cell >= vec2<i32>(view.grid_size))) {
        return view.background;
    }
    if (view.overview_lod > 0.0) {
        let uv = (vec2<f32>(view.origin_int) + local) / vec2<f32>(view.grid_size);
        var c = textureSampleLevel(overview, overview_sampler, uv, view.overview_lod).rgb;
        if (view.debug_lod != 0u) {
            c = tint(c, -1);
        }
        return vec4<f32>(c, 1.0);
    }
    let uv = local - whole;
    let tile = textureLoad(grid, cell, 0).r;
    let row = tile * view.levels;
    let l_hi = resolve(row, view.level_hi);
    let c_hi = sample_page(l_hi, page_table[row + l_hi], uv);
    var c = c_hi;
    if (view.weight_hi < 1.0) {
        let l_lo = resolve(row, min(view.level_lo, l_hi));
        if (l_lo != l_hi) {
            let c_lo = sample_page(l_lo, page_table[row + l_lo], uv);
            c = c_lo * (1.0 - view.weight_hi) + c_hi * view.weight_hi;
        }
    }
    if (view.debug_lod != 0u) {
        c = tint(c, i32(l_hi));
    }
    return vec4<f32>(c, 1.0);
}
