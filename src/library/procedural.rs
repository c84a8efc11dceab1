//! Procedural tiles and targets: distinct, deterministic pictures at any size, so scale
//! (18,000 tiles, gigabytes of pages) can be built and benchmarked without a photo
//! collection (`tessera synth`, the matching benchmark).

use super::pyramid::LinearTile;

fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

fn unit(h: u32) -> f32 {
    (h >> 8) as f32 / (1u32 << 24) as f32
}

/// Tile `i`: a base colour spread over the gamut, stripes at an angle and frequency of its
/// own, a disc in a second colour and a frame, so tiles differ at every level.
pub fn synth_tile(i: u32, size: u32) -> LinearTile {
    synth_frame(i, 0, 1, size)
}

/// Frame `frame` of clip `i`, `frames` long: tile `i` in motion. The stripes drift across
/// and the disc circles once per clip, so every frame differs and the clip loops without a
/// jump.
pub fn synth_frame(i: u32, frame: u32, frames: u32, size: u32) -> LinearTile {
    let t = frame as f32 / frames.max(1) as f32 * std::f32::consts::TAU;
    let h = |k: u32| {
        unit(hash(
            i.wrapping_mul(0x9e37_79b9) ^ k.wrapping_mul(0x85eb_ca6b),
        ))
    };
    let base = [h(1), h(2), h(3)].map(|v| v * v);
    let accent = [h(4), h(5), h(6)].map(|v| v * v);
    let angle = h(7) * std::f32::consts::PI;
    let freq = 2.0 + 14.0 * h(8);
    let r = 0.1 + 0.25 * h(11);
    let orbit = if frames > 1 { 0.12 } else { 0.0 };
    let (cx, cy) = (
        0.25 + 0.5 * h(9) + orbit * t.cos(),
        0.25 + 0.5 * h(10) + orbit * t.sin(),
    );
    let (dx, dy) = (angle.cos(), angle.sin());
    let n = size as f32;
    let mut texels = Vec::with_capacity((size * size) as usize);
    for y in 0..size {
        for x in 0..size {
            let (u, v) = ((x as f32 + 0.5) / n, (y as f32 + 0.5) / n);
            let stripe = 0.75 + 0.25 * ((u * dx + v * dy) * freq * std::f32::consts::TAU + t).sin();
            let in_disc = (u - cx).powi(2) + (v - cy).powi(2) < r * r;
            let frame = u < 0.03 || v < 0.03 || u > 0.97 || v > 0.97;
            let c = if frame {
                [0.9; 3]
            } else if in_disc {
                accent
            } else {
                base.map(|b| b * stripe)
            };
            texels.push(c);
        }
    }
    LinearTile { size, texels }
}

/// A procedural target: smooth colour fields plus cell-scale noise, so neighbouring cells
/// match different tiles (as photographs do) and the streaming sees many distinct tiles.
pub fn synth_target(cols: u32, rows: u32) -> image::DynamicImage {
    let (w, h) = (cols.clamp(64, 4096), rows.clamp(64, 4096));
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let noise = |k: u32| {
            unit(hash(
                x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ k.wrapping_mul(0x9e37_79b9),
            )) * 180.0
                - 90.0
        };
        image::Rgb([
            (128.0 + 60.0 * (u * 6.3).sin() + noise(1)).clamp(0.0, 255.0) as u8,
            (128.0 + 60.0 * (v * 4.1 + u).cos() + noise(2)).clamp(0.0, 255.0) as u8,
            (128.0 + 60.0 * ((u + v) * 3.7).sin() + noise(3)).clamp(0.0, 255.0) as u8,
        ])
    }))
}
