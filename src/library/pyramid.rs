//! Square mip pyramids, filtered in linear light and stored as sRGB RGBA8.
//!
//! Level `l` is `2^l × 2^l` texels: level 0 is the tile's average colour, the top level is
//! `max_tile`. Each coarser level is the exact 2×2 box average of the finer one in linear
//! light, so averages of a photo's colours come out right (an sRGB-space average darkens).
//! A tile of another aspect fills the top-left `extent` of each page (`aspect.rs`); the rest
//! repeats its last column and row, so a 2×2 average across its edge stays its colour.

use super::aspect::{fit_within, TileAspect, TileFit};
use crate::color::srgb8_to_linear;
use image::{imageops, DynamicImage, ImageBuffer, Rgb};

/// A square tile in linear light, row-major RGB.
#[derive(Clone, Debug)]
pub struct LinearTile {
    /// Side in texels.
    pub size: u32,
    /// Linear-light RGB texels, row-major.
    pub texels: Vec<[f32; 3]>,
}

impl LinearTile {
    /// Centre-crops `image` to a square and resamples it to `size × size` in linear light.
    /// Transparent pixels are composited over black.
    pub fn from_image(image: &DynamicImage, size: u32) -> LinearTile {
        Self::from_image_shaped(image, size, TileAspect::SQUARE, TileFit::Crop)
    }

    /// `image` resampled into `aspect.extent(size)` of a `size × size` tile in linear light,
    /// the rest repeating its edge: centre-cropped to `aspect` to fill it (`TileFit::Crop`),
    /// or whole, centred on black (`TileFit::Pad`).
    pub fn from_image_shaped(
        image: &DynamicImage,
        size: u32,
        aspect: TileAspect,
        fit: TileFit,
    ) -> LinearTile {
        let (w, h) = (image.width(), image.height());
        let (aw, ah) = (aspect.width() as u64, aspect.height() as u64);
        let extent = aspect.extent(size);
        // The part of the picture taken (`cw × ch` from `x0, y0`), and the texels it is
        // resampled to (`ex × ey` from `px, py` of the tile; black around it when padded).
        let ((cw, ch), [ex, ey]) = match fit {
            // The largest centred rectangle of the aspect, filling the extent.
            TileFit::Crop if w as u64 * ah <= h as u64 * aw => {
                ((w, ((w as u64 * ah / aw) as u32).clamp(1, h)), extent)
            }
            TileFit::Crop => ((((h as u64 * aw / ah) as u32).clamp(1, w), h), extent),
            TileFit::Pad => ((w, h), fit_within([w, h], extent)),
        };
        let (x0, y0) = ((w - cw) / 2, (h - ch) / 2);
        let (px, py) = ((extent[0] - ex) / 2, (extent[1] - ey) / 2);
        // A big picture is first shrunk by a whole factor, averaging boxes in linear light
        // straight from its 8-bit pixels: a float copy of a 12000² photo would take 1.7 GB.
        let factor = (cw / (2 * ex)).min(ch / (2 * ey)).max(1);
        let crop = Crop {
            x0,
            y0,
            width: cw / factor,
            height: ch / factor,
            factor,
        };
        let linear = match image {
            DynamicImage::ImageRgb8(img) => crop.linear(img.as_raw(), w, 3),
            DynamicImage::ImageRgba8(img) => crop.linear(img.as_raw(), w, 4),
            other => crop.linear(other.to_rgba8().as_raw(), w, 4),
        };
        let resized = if (crop.width, crop.height) == (ex, ey) {
            linear
        } else {
            // Triangle is a proper area filter when shrinking (its support scales with the
            // ratio) and never rings, so no texel leaves [0, 1].
            imageops::resize(&linear, ex, ey, imageops::FilterType::Triangle)
        };
        let mut texels = vec![[0.0; 3]; (size * size) as usize];
        for (y, row) in resized.rows().enumerate() {
            for (x, p) in row.enumerate() {
                texels[(py as usize + y) * size as usize + px as usize + x] = p.0;
            }
        }
        let mut tile = LinearTile { size, texels };
        tile.repeat_edges(extent);
        tile
    }

    /// Fills the texels right of and below `extent` with the last column's and row's.
    pub fn repeat_edges(&mut self, [ex, ey]: [u32; 2]) {
        let n = self.size as usize;
        let (ex, ey) = (ex as usize, ey as usize);
        if ex >= n && ey >= n {
            return;
        }
        for y in 0..ey {
            let edge = self.texels[y * n + ex - 1];
            self.texels[y * n + ex..(y + 1) * n].fill(edge);
        }
        for y in ey..n {
            self.texels.copy_within((ey - 1) * n..ey * n, y * n);
        }
    }

    /// A tile from sRGB RGBA8 texels (alpha ignored).
    pub fn from_srgb8(size: u32, rgba: &[u8]) -> LinearTile {
        assert_eq!(rgba.len(), (size * size * 4) as usize);
        LinearTile {
            size,
            texels: rgba
                .chunks_exact(4)
                .map(|p| {
                    [
                        srgb8_to_linear(p[0]),
                        srgb8_to_linear(p[1]),
                        srgb8_to_linear(p[2]),
                    ]
                })
                .collect(),
        }
    }

    /// The 2×2 box average, half the size.
    pub fn halve(&self) -> LinearTile {
        let n = self.size as usize;
        assert!(n >= 2 && n.is_power_of_two());
        let h = n / 2;
        let mut texels = Vec::with_capacity(h * h);
        for y in 0..h {
            for x in 0..h {
                let at = |dx: usize, dy: usize| self.texels[(2 * y + dy) * n + 2 * x + dx];
                let (a, b, c, d) = (at(0, 0), at(1, 0), at(0, 1), at(1, 1));
                texels.push(std::array::from_fn(|i| (a[i] + b[i] + c[i] + d[i]) * 0.25));
            }
        }
        LinearTile {
            size: h as u32,
            texels,
        }
    }

    /// sRGB RGBA8 bytes with opaque alpha: the store's and the GPU's texel format.
    pub fn to_srgb8(&self) -> Vec<u8> {
        let enc = crate::color::SrgbEncoder::get();
        let mut out = Vec::with_capacity(self.texels.len() * 4);
        for t in &self.texels {
            out.extend_from_slice(&[enc.encode(t[0]), enc.encode(t[1]), enc.encode(t[2]), 255]);
        }
        out
    }

    /// Mean linear colour of the block of texels `[x0, x1) × [y0, y1)`.
    pub fn block_mean(&self, x0: usize, x1: usize, y0: usize, y1: usize) -> [f32; 3] {
        let n = self.size as usize;
        let mut sum = [0f64; 3];
        for y in y0..y1 {
            for t in &self.texels[y * n + x0..y * n + x1] {
                for c in 0..3 {
                    sum[c] += t[c] as f64;
                }
            }
        }
        let count = ((x1 - x0) * (y1 - y0)).max(1) as f64;
        sum.map(|s| (s / count) as f32)
    }
}

/// A region of a picture, read `factor × factor` pixels per output texel.
struct Crop {
    x0: u32,
    y0: u32,
    /// Output size, texels.
    width: u32,
    height: u32,
    factor: u32,
}

impl Crop {
    /// The region in linear light from 8-bit sRGB pixels (`channels` per pixel, 4 = with
    /// alpha, composited over black), each texel the mean of its box.
    fn linear(&self, raw: &[u8], width: u32, channels: usize) -> ImageBuffer<Rgb<f32>, Vec<f32>> {
        let decode = crate::color::srgb8_decode_table();
        let f = self.factor as usize;
        let scale = 1.0 / (f * f) as f32;
        ImageBuffer::from_fn(self.width, self.height, |x, y| {
            let mut sum = [0f32; 3];
            for dy in 0..f {
                let row = (self.y0 as usize + y as usize * f + dy) * width as usize;
                let first = row + self.x0 as usize + x as usize * f;
                for p in raw[first * channels..(first + f) * channels].chunks_exact(channels) {
                    let a = if channels == 4 {
                        p[3] as f32 / 255.0
                    } else {
                        1.0
                    };
                    for c in 0..3 {
                        sum[c] += decode[p[c] as usize] * a;
                    }
                }
            }
            Rgb(sum.map(|v| v * scale))
        })
    }
}

/// Number of levels for a top size: `log2(max_tile) + 1`.
pub fn level_count(max_tile: u32) -> usize {
    max_tile.trailing_zeros() as usize + 1
}

/// Bytes of one RGBA8 page at `level`.
pub fn page_bytes(level: usize) -> usize {
    4 << (2 * level)
}

/// Builds every level, finest last: `levels[l]` is `2^l × 2^l` sRGB RGBA8.
pub fn build_pyramid(top: &LinearTile) -> Vec<Vec<u8>> {
    build_pyramid_with_top(top, top.to_srgb8())
}

/// `build_pyramid` for a tile decoded from the sRGB page `top_page` (`LinearTile::from_srgb8`):
/// that page is the top level as it is. Decoding and re-encoding sRGB is exact, so this
/// only saves the time (a tenth of a video frame's bake).
pub fn build_pyramid_with_top(top: &LinearTile, top_page: Vec<u8>) -> Vec<Vec<u8>> {
    build_shaped_pyramid(top, top_page, TileAspect::SQUARE)
}

/// `build_pyramid_with_top` for a tile of `aspect`: each coarser level's edge is repeated
/// again past its own extent.
pub fn build_shaped_pyramid(
    top: &LinearTile,
    top_page: Vec<u8>,
    aspect: TileAspect,
) -> Vec<Vec<u8>> {
    assert!(top.size.is_power_of_two());
    assert_eq!(top_page.len(), top.texels.len() * 4);
    let extents = aspect.extents(level_count(top.size));
    let mut levels = vec![top_page];
    let mut current = top.clone();
    while current.size > 1 {
        current = current.halve();
        current.repeat_edges(extents[level_count(current.size) - 1]);
        levels.push(current.to_srgb8());
    }
    levels.reverse();
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::srgb8_to_linear;

    #[test]
    fn keeping_the_top_page_gives_the_same_pyramid() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let rgba: Vec<u8> = (0..16 * 16 * 4)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 4 == 3 {
                    255
                } else {
                    x as u8
                }
            })
            .collect();
        let top = LinearTile::from_srgb8(16, &rgba);
        assert_eq!(
            build_pyramid_with_top(&top, rgba.clone()),
            build_pyramid(&top)
        );
        // Every code survives the round trip, not only those in this picture.
        let all: Vec<u8> = (0..=255u8).flat_map(|v| [v, v, v, 255]).collect();
        let tile = LinearTile::from_srgb8(16, &all);
        assert_eq!(tile.to_srgb8(), all);
    }

    #[test]
    fn two_by_two_averages_in_linear_light() {
        // Black and white average to linear 0.5, which is sRGB 188, not 128.
        let rgba = [
            0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255,
        ];
        let levels = build_pyramid(&LinearTile::from_srgb8(2, &rgba));
        assert_eq!(levels.len(), 2);
        assert_eq!(levels[0], vec![188, 188, 188, 255]);
        assert_eq!(levels[1], rgba.to_vec());

        // Four known colours: each channel is the mean of the linear values.
        let rgba = [
            255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 100, 100, 100, 255,
        ];
        let levels = build_pyramid(&LinearTile::from_srgb8(2, &rgba));
        let l100 = srgb8_to_linear(100);
        let want = [(1.0 + l100) / 4.0; 3].map(crate::color::linear_to_srgb8);
        assert_eq!(&levels[0][..3], &want);
    }

    #[test]
    fn pyramid_levels_have_power_of_two_sizes() {
        let tile = LinearTile {
            size: 8,
            texels: vec![[0.25, 0.5, 0.75]; 64],
        };
        let levels = build_pyramid(&tile);
        assert_eq!(levels.len(), level_count(8));
        for (l, bytes) in levels.iter().enumerate() {
            assert_eq!(bytes.len(), page_bytes(l));
        }
    }

    #[test]
    fn crop_takes_the_centre_square() {
        // 3×1 image: red | green | blue; the centre square is the green pixel.
        let mut img = image::RgbImage::new(3, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        img.put_pixel(1, 0, image::Rgb([0, 255, 0]));
        img.put_pixel(2, 0, image::Rgb([0, 0, 255]));
        let tile = LinearTile::from_image(&DynamicImage::ImageRgb8(img), 1);
        assert_eq!(tile.to_srgb8(), vec![0, 255, 0, 255]);
    }
}
