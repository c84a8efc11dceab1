// tessera's mosaic shader. Cells of a few pixels and more are drawn as one quad each
// (`vs_cells`): the cell's tile id and pages are looked up per vertex, and per pixel the
// fragment does one atlas sample (two when blending levels). Smaller cells are drawn by one
// full-screen triangle (`vs_main`): per pixel, screen → cell → tile id → page table → atlas
// sample. `src/cpu_render/` is the same algorithm on the CPU, and the golden tests hold
// the two to each other: change both together.

struct View {
    origin_int: vec2<i32>,     // integer cell coordinate of the viewport's top-left corner
    origin_frac: vec2<f32>,    // its fractional part
    grid_size: vec2<u32>,      // cells across, down
    cells_per_px: f32,         // across (cells_per_px_y: down)
    weight_hi: f32,            // blend weight of the finer level
    level_hi: u32,
    level_lo: u32,
    levels: u32,               // page-table entries per tile
    max_level: u32,
    inv_atlas_size: vec2<f32>, // 1 / (one atlas layer, texels)
    viewport_origin: vec2<f32>,// the viewport's top-left pixel in the render target
    overview_lod: f32,         // > 0: zoomed out below 1 px per cell, draw the overview
    tint: f32,                 // colour correction strength (pipelines with TINT)
    cells_per_px_y: f32,       // cells per pixel down (tiles of another aspect than 1:1)
    background: vec4<f32>,     // linear
    // Per-cell quads (`vs_cells`): the first visible cell, and visible cells per row.
    cells_first: vec2<i32>,
    cells_across: u32,
    px_to_ndc: vec2<f32>,      // 2 / viewport size
    // The texels a tile fills of its top level's page, across and down (the page, for
    // square tiles; a tile of another aspect fills its top-left).
    top_extent: vec2<u32>,
    // Up to four rectangles of the viewport beside the mosaic, (x0, y0, x1, y1) in whole
    // pixels (empty ones have x0 == x1): the background around per-cell quads.
    background_rects: array<vec4<f32>, 4>,
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

// Cells per pixel, across and down.
fn cells_per_px() -> vec2<f32> {
    return vec2<f32>(view.cells_per_px, view.cells_per_px_y);
}

// The texels a tile fills of its page at `level`: the top level's extent halved level by
// level, rounding up, as the pyramid was built (FrameView::extent).
fn extent(level: u32) -> vec2<u32> {
    let down = vec2<u32>(view.max_level - level);
    return ((view.top_extent - vec2<u32>(1u)) >> down) + vec2<u32>(1u);
}

// Bilinear sample of a resident page, clamped half a texel inside the tile so the filter
// never reads a neighbouring page (clamp-to-edge per tile).
fn sample_page(level: u32, code: u32, uv: vec2<f32>) -> vec3<f32> {
    let origin = vec2<f32>(f32((code >> 11u) & 0x7ffu), f32(code & 0x7ffu));
    let size = vec2<f32>(extent(level));
    let t = clamp(uv * size, vec2<f32>(0.5), size - 0.5);
    return textureSampleLevel(atlas, atlas_sampler, (origin + t) * view.inv_atlas_size, code >> 22u, 0.0).rgb;
}

// Nearest texel of a resident page: the coarser level of a blend. It is magnified at most
// 2× there and weighted by 1 - weight_hi, so a bilinear sample would buy little, and one
// texel load instead of four makes blended frames (the slowest) ~25 % cheaper on llvmpipe.
fn nearest_page(level: u32, code: u32, uv: vec2<f32>) -> vec3<f32> {
    let origin = vec2<i32>(i32((code >> 11u) & 0x7ffu), i32(code & 0x7ffu));
    let size = vec2<i32>(extent(level));
    // Texel edges nudged 1/1024 texel off exact values, where the last bit of arithmetic
    // would decide (tessera's CPU twin must pick the same texel).
    let t = clamp(vec2<i32>(uv * vec2<f32>(size) + 1.0 / 1024.0), vec2<i32>(0), size - 1);
    return textureLoad(atlas, origin + t, i32(code >> 22u), 0).rgb;
}

fn entry(i: u32) -> vec2<u32> {
    return textureLoad(page_table, vec2<u32>(i & 2047u, i >> 11u), 0).xy;
}

fn level_tint(c: vec3<f32>, level: i32) -> vec3<f32> {
    let t = f32(level + 1) / f32(view.max_level + 1u);
    return c * 0.25 + vec3<f32>(t * 0.75);
}

// Cell coordinate of a pixel centre (pos.xy - viewport origin = x + 0.5, y + 0.5); fma
// mirrors FrameView::local.
fn local_of(pos: vec4<f32>) -> vec2<f32> {
    return fma(pos.xy - view.viewport_origin, cells_per_px(), view.origin_frac);
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
        c = level_tint(c, -1);
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
    // Not `select`: it would load the offset in frames without a tint too.
    var tint_offset = vec3<f32>(0.0);
    if (TINT) {
        tint_offset = textureLoad(cell_tint, cell, 0).rgb;
    }
    return finish(c, tint_offset, hi.y);
}

// A tile's colour with the pipeline's colour correction and level overlay.
fn finish(tile: vec3<f32>, tint_offset: vec3<f32>, level: u32) -> vec4<f32> {
    var c = tile;
    if (TINT) {
        // The tile's detail kept, its mean moved toward the cell's target.
        c = clamp(c + view.tint * tint_offset, vec3<f32>(0.0), vec3<f32>(1.0));
    }
    if (DEBUG_LOD) {
        c = level_tint(c, i32(level));
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

// Per-cell quads: vertices 6i to 6i + 5 are the two triangles of visible cell
// (i % cells_across, i / cells_across) from cells_first. One draw without instances: a
// software rasteriser pays a fixed cost per instance that outweighs a small quad. What every
// pixel of the cell shares is looked up here, once a vertex, and passed on flat.
struct CellVertex {
    @builtin(position) pos: vec4<f32>,
    // The cell's coordinate relative to origin_int: a pixel's uv is local_of(pos) - rel.
    @location(0) @interpolate(flat) rel: vec2<f32>,
    // Page-table entries (code, level) of the frame's finer and coarser level.
    @location(1) @interpolate(flat) hi: vec2<u32>,
    @location(2) @interpolate(flat) lo: vec2<u32>,
    @location(3) @interpolate(flat) tint_offset: vec3<f32>,
};

// Corner of vertex v of a quad drawn as two triangles, (0,0) (1,0) (0,1), (0,1) (1,0) (1,1).
fn corner_of(v: u32) -> vec2<f32> {
    let k = v % 6u;
    return vec2<f32>(f32((0x32u >> k) & 1u), f32((0x2cu >> k) & 1u));
}

// The first pixel along one axis whose centre `local_of` puts at cell edge `edge` (relative
// to origin_int) or beyond. Quads end on these pixel borders, so each covers exactly the
// pixels whose centres the CPU's arithmetic puts in its cell: left to the rasteriser, an
// edge through a pixel centre could give the pixel to the other cell (a column of another
// tile's colour).
fn first_pixel(edge: f32, axis: u32) -> f32 {
    let cpp = cells_per_px()[axis];
    let frac = view.origin_frac[axis];
    var p = ceil((edge - frac) / cpp - 0.5);
    if (floor(fma(p + 0.5, cpp, frac)) < edge) {
        p += 1.0;
    } else if (floor(fma(p - 0.5, cpp, frac)) >= edge) {
        p -= 1.0;
    }
    return p;
}

// A point in viewport pixels (y down) as clip coordinates.
fn clip_of(px: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(px.x * view.px_to_ndc.x - 1.0, 1.0 - px.y * view.px_to_ndc.y, 0.0, 1.0);
}

@vertex
fn vs_cells(@builtin(vertex_index) v: u32) -> CellVertex {
    let i = v / 6u;
    let cell = view.cells_first + vec2<i32>(i32(i % view.cells_across), i32(i / view.cells_across));
    let rel = vec2<f32>(cell - view.origin_int);
    var out: CellVertex;
    let edge = rel + corner_of(v);
    out.pos = clip_of(vec2<f32>(first_pixel(edge.x, 0u), first_pixel(edge.y, 1u)));
    out.rel = rel;
    let row = textureLoad(grid, cell, 0).r * view.levels;
    out.hi = entry(row + view.level_hi);
    out.lo = entry(row + view.level_lo);
    out.tint_offset = vec3<f32>(0.0);
    if (TINT) {
        out.tint_offset = textureLoad(cell_tint, cell, 0).rgb;
    }
    return out;
}

fn cell_colour(in: CellVertex, blend: bool) -> vec4<f32> {
    let uv = local_of(in.pos) - in.rel;
    var c = sample_page(in.hi.y, in.hi.x, uv);
    if (blend && in.lo.y != in.hi.y) {
        c = nearest_page(in.lo.y, in.lo.x, uv) * (1.0 - view.weight_hi) + c * view.weight_hi;
    }
    return finish(c, in.tint_offset, in.hi.y);
}

@fragment
fn fs_cells(in: CellVertex) -> @location(0) vec4<f32> {
    return cell_colour(in, false);
}

@fragment
fn fs_cells_blend(in: CellVertex) -> @location(0) vec4<f32> {
    return cell_colour(in, true);
}

// The background beside the mosaic when cells are drawn as quads: vertices 6i to 6i + 5
// cover rectangle i of background_rects.
@vertex
fn vs_background(@builtin(vertex_index) v: u32) -> @builtin(position) vec4<f32> {
    let r = view.background_rects[v / 6u];
    return clip_of(mix(r.xy, r.zw, corner_of(v)));
}

@fragment
fn fs_background() -> @location(0) vec4<f32> {
    return view.background;
}
