//! Colour spaces: sRGB transfer curve, linear light, CIELAB (D65).
//!
//! Every filter in tessera (mip pyramids, cell means, blending) runs in linear light;
//! sRGB is only a storage encoding. Matching compares colours in CIELAB, where
//! Euclidean distance roughly follows perceived difference.

use std::sync::OnceLock;

/// sRGB-encoded value in `[0, 1]` to linear light.
pub fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light in `[0, 1]` to the sRGB encoding.
#[cfg(test)]
pub fn linear_to_srgb(c: f32) -> f32 {
    if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

struct Tables {
    decode: [f32; 256],
    /// `encode_start[b]`: the code of linear `b / ENCODE_BUCKETS`. Buckets are narrower than
    /// the gap between any two thresholds, so a bucket's values are that code or the next.
    encode_start: Box<[u8; ENCODE_BUCKETS]>,
    /// `encode_bucket_threshold[b]`: the threshold above bucket `b`'s code (see
    /// `encode_thresholds`), the one a value in the bucket may pass. Found from the bucket
    /// alone, so the encoder's two loads do not wait on each other.
    encode_bucket_threshold: Box<[f32; ENCODE_BUCKETS]>,
}

/// Buckets of the encode table over linear [0, 1]: 2.4e-4 wide, against 3.0e-4 between the
/// closest thresholds (the darkest codes, on sRGB's linear segment). The codes (4 KiB) and
/// the buckets' thresholds (16 KiB) stay in the L1 cache (65,536 buckets did not, and cost
/// the CPU renderer 2–5 % at filtered zooms).
const ENCODE_BUCKETS: usize = 1 << 12;

/// The last bucket holds every value from `LAST_BUCKET / ENCODE_BUCKETS` (above the last
/// rounding threshold: all code 255) up, 1 and more included.
const LAST_BUCKET: f32 = (ENCODE_BUCKETS - 1) as f32;

/// `[k]`: the linear value at which the 8-bit code rounds up from k to k+1; the last is NaN
/// (nothing rounds up from 255: no value compares `>=` to NaN, where infinity did to an
/// infinite threshold and made 255 + 1), so any code indexes it.
fn encode_thresholds() -> [f32; 256] {
    let mut thresholds = [f32::NAN; 256];
    for (k, t) in thresholds.iter_mut().take(255).enumerate() {
        *t = srgb_to_linear((k as f32 + 0.5) / 255.0);
    }
    thresholds
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut decode = [0.0; 256];
        for (i, d) in decode.iter_mut().enumerate() {
            *d = srgb_to_linear(i as f32 / 255.0);
        }
        let encode_thresholds = encode_thresholds();
        let exact = |c: f32| encode_thresholds.iter().take_while(|&&t| c >= t).count() as u8;
        let mut encode_start = Box::new([0u8; ENCODE_BUCKETS]);
        for (b, code) in encode_start.iter_mut().enumerate() {
            *code = exact(b as f32 / ENCODE_BUCKETS as f32);
        }
        let mut encode_bucket_threshold = Box::new([0.0; ENCODE_BUCKETS]);
        for (t, &code) in encode_bucket_threshold.iter_mut().zip(encode_start.iter()) {
            *t = encode_thresholds[code as usize];
        }
        Tables {
            decode,
            encode_start,
            encode_bucket_threshold,
        }
    })
}

/// The 256-entry sRGB-byte-to-linear table.
pub fn srgb8_decode_table() -> &'static [f32; 256] {
    &tables().decode
}

/// sRGB byte to linear light.
#[inline]
pub fn srgb8_to_linear(v: u8) -> f32 {
    tables().decode[v as usize]
}

/// Linear light to the nearest sRGB byte (round to nearest in the encoded domain), exactly.
#[inline]
pub fn linear_to_srgb8(c: f32) -> u8 {
    SrgbEncoder::get().encode(c)
}

/// The encoder behind `linear_to_srgb8`, fetched once for a loop over many values.
#[derive(Clone, Copy)]
pub struct SrgbEncoder(&'static Tables);

impl SrgbEncoder {
    pub fn get() -> SrgbEncoder {
        SrgbEncoder(tables())
    }

    /// A table gives the code at the start of the value's bucket; one comparison with the
    /// next rounding threshold says whether the value is past it; both are found from the
    /// bucket, clamped in floats. (This runs three times per pixel in the CPU renderer.)
    #[inline]
    pub fn encode(self, c: f32) -> u8 {
        // Clamped in floats (`max` takes 0 over NaN): negatives and NaN give bucket 0, large
        // values the last one. Not `clamp`, which keeps NaN.
        #[allow(clippy::manual_clamp)]
        let x = (c * ENCODE_BUCKETS as f32).max(0.0).min(LAST_BUCKET);
        // SAFETY: `x` is finite and within 0..=LAST_BUCKET, so the truncation is exact and
        // in range (`as` would add saturation checks: this runs three times a pixel).
        let bucket: u32 = unsafe { x.to_int_unchecked() };
        self.code_in(bucket as usize, c)
    }

    /// The code of `c` in `bucket` (the mask changes no bucket: it shows the compiler that
    /// the tables need no bounds check).
    #[inline(always)]
    fn code_in(self, bucket: usize, c: f32) -> u8 {
        let bucket = bucket & (ENCODE_BUCKETS - 1);
        self.0.encode_start[bucket] + u8::from(c >= self.0.encode_bucket_threshold[bucket])
    }

    /// A linear colour (RGB, the fourth lane ignored) to opaque sRGB RGBA8: `encode` on
    /// each channel, the clamp and the bucket done for the three at once.
    #[inline(always)]
    pub fn encode_rgb(self, c: wide::f32x4) -> [u8; 4] {
        use wide::f32x4;
        // `fast_max` takes its argument over NaN, as `f32::max` does in `encode`.
        let x = (c * f32x4::splat(ENCODE_BUCKETS as f32))
            .fast_max(f32x4::ZERO)
            .fast_min(f32x4::splat(LAST_BUCKET));
        let buckets = x.fast_trunc_int().to_array();
        let c = c.to_array();
        let code = |k: usize| self.code_in(buckets[k] as u32 as usize, c[k]);
        [code(0), code(1), code(2), 255]
    }
}

/// Linear-light RGB to CIE XYZ (D65 white, Y of white = 1).
pub fn linear_rgb_to_xyz(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb;
    [
        0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b,
        0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b,
        0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b,
    ]
}

/// CIE XYZ to CIELAB relative to the D65 white point.
pub fn xyz_to_lab(xyz: [f32; 3]) -> [f32; 3] {
    const WHITE: [f32; 3] = [0.950_47, 1.0, 1.088_83];
    const EPS: f32 = 216.0 / 24389.0;
    const KAPPA: f32 = 24389.0 / 27.0;
    let f = |t: f32| {
        if t > EPS {
            t.cbrt()
        } else {
            (KAPPA * t + 16.0) / 116.0
        }
    };
    let fx = f(xyz[0] / WHITE[0]);
    let fy = f(xyz[1] / WHITE[1]);
    let fz = f(xyz[2] / WHITE[2]);
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Linear-light RGB to CIELAB (D65).
pub fn linear_rgb_to_lab(rgb: [f32; 3]) -> [f32; 3] {
    xyz_to_lab(linear_rgb_to_xyz(rgb))
}

/// 8-bit sRGB to CIELAB (D65).
pub fn srgb8_to_lab(rgb: [u8; 3]) -> [f32; 3] {
    linear_rgb_to_lab(rgb.map(srgb8_to_linear))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_round_trip_is_exact() {
        for v in 0..=255u8 {
            assert_eq!(linear_to_srgb8(srgb8_to_linear(v)), v);
        }
    }

    #[test]
    fn encode_rounds_to_nearest() {
        for i in 0..=10_000 {
            let c = i as f32 / 10_000.0;
            let exact = (linear_to_srgb(c) * 255.0).round() as i32;
            let got = linear_to_srgb8(c) as i32;
            // Exactly-at-threshold values may round either way in f32.
            assert!((exact - got).abs() <= 1, "{c}: {exact} vs {got}");
        }
        assert_eq!(linear_to_srgb8(-1.0), 0);
        assert_eq!(linear_to_srgb8(2.0), 255);
    }

    #[test]
    fn the_bucketed_encode_equals_counting_thresholds() {
        let t = &encode_thresholds();
        let exact = |c: f32| t.iter().take_while(|&&x| c >= x).count() as u8;
        let mut values: Vec<f32> = (0..=200_000).map(|i| i as f32 / 200_000.0).collect();
        for &x in t.iter() {
            values.extend([
                x,
                f32::from_bits(x.to_bits() - 1),
                f32::from_bits(x.to_bits() + 1),
            ]);
        }
        values.extend([-1.0, 1.0, 2.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        // Infinity is white (it once wrapped to black in release builds: 255 + 1).
        assert_eq!(exact(f32::INFINITY), 255);
        let encoder = SrgbEncoder::get();
        for (i, &c) in values.iter().enumerate() {
            let expected = if c.is_nan() { 0 } else { exact(c) };
            assert_eq!(linear_to_srgb8(c), expected, "{c}");
            // The three-channel encoder, with `c` in each channel.
            let others = [
                values[(i + 1) % values.len()],
                values[(i + 2) % values.len()],
            ];
            for k in 0..3 {
                let mut rgb = [others[0], others[1], others[1], 0.5];
                rgb[k] = c;
                let code = encoder.encode_rgb(wide::f32x4::new(rgb));
                assert_eq!(code[k], expected, "{c} in channel {k}");
                assert_eq!(code[3], 255);
            }
        }
    }

    /// Reference values from Bruce Lindbloom's colour calculator (sRGB, D65, 2° observer).
    #[test]
    fn cielab_matches_published_values() {
        let cases: [([u8; 3], [f32; 3]); 6] = [
            ([255, 255, 255], [100.0, 0.0, 0.0]),
            ([0, 0, 0], [0.0, 0.0, 0.0]),
            ([255, 0, 0], [53.2408, 80.0925, 67.2032]),
            ([0, 255, 0], [87.7347, -86.1827, 83.1793]),
            ([0, 0, 255], [32.2970, 79.1875, -107.8602]),
            ([128, 128, 128], [53.5850, 0.0, 0.0]),
        ];
        for (rgb, want) in cases {
            let got = srgb8_to_lab(rgb);
            for c in 0..3 {
                assert!(
                    (got[c] - want[c]).abs() < 0.05,
                    "{rgb:?}: got {got:?}, want {want:?}"
                );
            }
        }
    }
}
