//! The overview: the match grid drawn as an image, one texel per cell (the cell's tile's
//! average colour), with its own mip chain. Zoomed out below one pixel per cell, a pixel
//! covers several cells; sampling this chain trilinearly averages them instead of picking
//! one, so the whole-mosaic view does not shimmer while panning.

use crate::color::{linear_to_srgb8, srgb8_to_linear};

#[derive(Clone, Debug)]
pub struct OverviewMip {
    pub width: u32,
    pub height: u32,
    /// sRGB RGBA8, row-major.
    pub texels: Vec<u8>,
}

/// Where a bilinear sample of an overview mip reads along one axis.
#[derive(Clone, Copy, Debug)]
pub struct OverviewTap {
    pub i0: usize,
    pub i1: usize,
    pub a: f32,
}

#[derive(Clone, Debug, Default)]
/// The grid below one pixel per cell: a mip chain of each cell's tile colour.
pub struct Overview {
    /// Finest first.
    pub mips: Vec<OverviewMip>,
}

impl Overview {
    /// Builds the chain from the grid and every tile's level-0 page (tile-major RGBA8).
    /// Mip `m` is `max(1, size >> m)` on each side, as GPU mip chains are; each texel is the
    /// linear-light mean of the (up to) 2×2 texels above it.
    pub fn build(grid: &[u32], cols: u32, rows: u32, level0: &[u8]) -> Overview {
        let mut texels = Vec::with_capacity(grid.len() * 4);
        for &t in grid {
            texels.extend_from_slice(&level0[t as usize * 4..t as usize * 4 + 4]);
        }
        Overview::from_base(cols, rows, texels)
    }

    /// Builds the chain over a base level of `cols × rows` texels (sRGB RGBA8, row-major).
    pub fn from_base(cols: u32, rows: u32, texels: Vec<u8>) -> Overview {
        let mut mips = vec![OverviewMip {
            width: cols,
            height: rows,
            texels,
        }];
        while mips.last().is_some_and(|m| m.width > 1 || m.height > 1) {
            let prev = mips.last().unwrap();
            let (w, h) = ((prev.width / 2).max(1), (prev.height / 2).max(1));
            let mut next = Vec::with_capacity((w * h * 4) as usize);
            for y in 0..h {
                for x in 0..w {
                    let mut sum = [0f32; 3];
                    let mut n = 0.0;
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (sx, sy) = (2 * x + dx, 2 * y + dy);
                        if sx < prev.width && sy < prev.height {
                            let at = ((sy * prev.width + sx) * 4) as usize;
                            for (total, &v) in sum.iter_mut().zip(&prev.texels[at..at + 3]) {
                                *total += srgb8_to_linear(v);
                            }
                            n += 1.0;
                        }
                    }
                    next.extend_from_slice(&[
                        linear_to_srgb8(sum[0] / n),
                        linear_to_srgb8(sum[1] / n),
                        linear_to_srgb8(sum[2] / n),
                        255,
                    ]);
                }
            }
            mips.push(OverviewMip {
                width: w,
                height: h,
                texels: next,
            });
        }
        Overview { mips }
    }

    /// Bilinear sample of mip `m` at normalised `(u, v)`, clamp-to-edge, in linear light.
    pub fn bilinear(&self, m: usize, u: f32, v: f32) -> [f32; 3] {
        self.sample(m, self.tap(m, u, 0), self.tap(m, v, 1))
    }

    /// The two texels and the weight of the second along `axis` (0: x) of mip `m` at
    /// normalised `uv`, clamped to the edge.
    pub fn tap(&self, m: usize, uv: f32, axis: usize) -> OverviewTap {
        let mip = &self.mips[m.min(self.mips.len() - 1)];
        let n = if axis == 0 { mip.width } else { mip.height };
        let x = uv * n as f32 - 0.5;
        let x0 = x.floor();
        let clamp = |i: f32| (i.max(0.0) as u32).min(n - 1) as usize;
        OverviewTap {
            i0: clamp(x0),
            i1: clamp(x0 + 1.0),
            a: x - x0,
        }
    }

    /// Bilinear sample of mip `m` at taps made by `tap`.
    #[inline]
    pub fn sample(&self, m: usize, x: OverviewTap, y: OverviewTap) -> [f32; 3] {
        let mip = &self.mips[m.min(self.mips.len() - 1)];
        let lut = crate::color::srgb8_decode_table();
        let at = |x: usize, y: usize| &mip.texels[(y * mip.width as usize + x) * 4..][..3];
        let (p00, p10, p01, p11) = (
            at(x.i0, y.i0),
            at(x.i1, y.i0),
            at(x.i0, y.i1),
            at(x.i1, y.i1),
        );
        std::array::from_fn(|c| {
            let d = |t: &[u8]| lut[t[c] as usize];
            let top = d(p00) + (d(p10) - d(p00)) * x.a;
            let bottom = d(p01) + (d(p11) - d(p01)) * x.a;
            top + (bottom - top) * y.a
        })
    }

    /// The two mips a trilinear sample at `lod ≥ 0` blends, and the weight of the second.
    pub fn mip_pair(&self, lod: f32) -> (usize, f32) {
        let last = (self.mips.len() - 1) as f32;
        let lod = lod.clamp(0.0, last);
        let m = lod.floor();
        (m as usize, lod - m)
    }

    /// Trilinear sample at level of detail `lod ≥ 0`.
    pub fn trilinear(&self, u: f32, v: f32, lod: f32) -> [f32; 3] {
        let (m, t) = self.mip_pair(lod);
        let a = self.bilinear(m, u, v);
        if t == 0.0 {
            return a;
        }
        let b = self.bilinear(m + 1, u, v);
        std::array::from_fn(|c| a[c] + (b[c] - a[c]) * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mips_average_in_linear_light_and_reach_one_texel() {
        // 2×1 grid of a black and a white tile: mip 1 is linear grey (sRGB 188).
        let level0 = [0, 0, 0, 255, 255, 255, 255, 255];
        let ov = Overview::build(&[0, 1], 2, 1, &level0);
        assert_eq!(ov.mips.len(), 2);
        assert_eq!(ov.mips[1].texels, vec![188, 188, 188, 255]);
        let ov = Overview::build(&[0; 5 * 3], 5, 3, &level0);
        let sizes: Vec<_> = ov.mips.iter().map(|m| (m.width, m.height)).collect();
        assert_eq!(sizes, vec![(5, 3), (2, 1), (1, 1)]);
    }
}
