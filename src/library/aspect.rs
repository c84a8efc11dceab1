//! The shape of a library's tiles: `W:H`, the same for every tile (1:1 by default).
//!
//! Pages stay square, `2^l` texels a side, so the atlas, the page table and streaming work
//! in pages as before: a tile of another aspect fills the top-left of each page, its longer
//! side the whole page, its shorter side `extent` texels, and the rest of the page repeats
//! its last row or column (never sampled: sampling clamps half a texel inside the tile).
//! On screen a cell has the tile's aspect; a camera's `cell_px` is its longer side.

use std::fmt;
use std::str::FromStr;

/// The widest aspect either way: a tile 8 times as wide as it is high (or as high as wide).
pub const MAX_ASPECT: u32 = 8;

/// A tile's width to height, reduced (16:9, 3:2, 1:1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "[u32; 2]", into = "[u32; 2]")]
pub struct TileAspect {
    w: u32,
    h: u32,
}

/// Why an aspect was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AspectError {
    /// Not `W:H` with two whole numbers.
    #[error("{0:?} is not an aspect: give W:H, e.g. 16:9 or 3:2")]
    Syntax(String),
    /// A side of zero.
    #[error("{w}:{h}: neither side can be 0")]
    Zero {
        /// The width given.
        w: u32,
        /// The height given.
        h: u32,
    },
    /// Wider or higher than `MAX_ASPECT` to 1.
    #[error(
        "{w}:{h}: tiles can be at most {MAX_ASPECT} times as wide as high, or as high as wide"
    )]
    TooLong {
        /// The width given.
        w: u32,
        /// The height given.
        h: u32,
    },
}

impl TileAspect {
    /// Square tiles.
    pub const SQUARE: TileAspect = TileAspect { w: 1, h: 1 };

    /// `w:h`, reduced; refused when a side is 0 or one is over `MAX_ASPECT` times the other.
    pub fn new(w: u32, h: u32) -> Result<TileAspect, AspectError> {
        if w == 0 || h == 0 {
            return Err(AspectError::Zero { w, h });
        }
        if w as u64 > h as u64 * MAX_ASPECT as u64 || h as u64 > w as u64 * MAX_ASPECT as u64 {
            return Err(AspectError::TooLong { w, h });
        }
        let g = gcd(w, h);
        Ok(TileAspect { w: w / g, h: h / g })
    }

    /// Width, reduced.
    pub fn width(self) -> u32 {
        self.w
    }

    /// Height, reduced.
    pub fn height(self) -> u32 {
        self.h
    }

    /// Whether tiles are square.
    pub fn is_square(&self) -> bool {
        self.w == self.h
    }

    /// The cell's sides against its longer one, (x, y): 16:9 is (1, 0.5625).
    pub fn shape(self) -> [f64; 2] {
        let long = self.w.max(self.h) as f64;
        [self.w as f64 / long, self.h as f64 / long]
    }

    /// The texels the tile fills of a `side`-texel page, (x, y): the longer side whole,
    /// the shorter rounded to the nearest texel and at least 1.
    pub fn extent(self, side: u32) -> [u32; 2] {
        let long = self.w.max(self.h) as u64;
        let short = |s: u32| ((side as u64 * s as u64 + long / 2) / long).max(1) as u32;
        [short(self.w), short(self.h)]
    }

    /// The texels the tile fills of each level's page, level 0 (1 texel) to `levels - 1`:
    /// the top level's extent halved, rounding up, level by level, as the pyramid is built.
    pub fn extents(self, levels: usize) -> Vec<[u32; 2]> {
        (0..levels).map(|l| self.extent_at(l, levels)).collect()
    }

    /// `extents(levels)[level]`, alone.
    pub fn extent_at(self, level: usize, levels: usize) -> [u32; 2] {
        let top = self.extent(1 << (levels - 1));
        top.map(|e| (e - 1) / (1 << (levels - 1 - level)) + 1)
    }

    /// The grid of cells of this aspect that keeps a `width × height` target's aspect with
    /// `cols` across: rows, at least 1.
    pub fn rows_for(self, cols: u32, width: u32, height: u32) -> u32 {
        let rows = cols as f64 * height as f64 * self.w as f64 / (width as f64 * self.h as f64);
        (rows.round() as u32).max(1)
    }
}

impl Default for TileAspect {
    fn default() -> Self {
        TileAspect::SQUARE
    }
}

impl fmt::Display for TileAspect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}", self.w, self.h)
    }
}

impl FromStr for TileAspect {
    type Err = AspectError;
    fn from_str(s: &str) -> Result<Self, AspectError> {
        let syntax = || AspectError::Syntax(s.to_string());
        let (w, h) = s.trim().split_once(':').ok_or_else(syntax)?;
        let w = w.trim().parse().map_err(|_| syntax())?;
        let h = h.trim().parse().map_err(|_| syntax())?;
        TileAspect::new(w, h)
    }
}

/// How a picture or video frame of another shape than the tile's becomes a tile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileFit {
    /// The largest centred part of the tile's aspect, scaled to fill the tile: the sides
    /// (or the top and bottom) are cut away.
    #[default]
    Crop,
    /// The whole picture scaled to fit inside the tile, centred, black bars filling the
    /// rest (letterboxed or pillarboxed).
    Pad,
}

impl TileFit {
    /// Whether this is the default, `Crop` (a manifest leaves it out).
    pub fn is_crop(&self) -> bool {
        *self == TileFit::Crop
    }
}

/// An unknown `--fit`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a fit: give crop (fill the tile, cutting the overhang) or pad (the whole picture, black bars beside it)")]
pub struct FitError(String);

impl FromStr for TileFit {
    type Err = FitError;
    fn from_str(s: &str) -> Result<Self, FitError> {
        match s.trim() {
            "crop" => Ok(TileFit::Crop),
            "pad" => Ok(TileFit::Pad),
            other => Err(FitError(other.to_string())),
        }
    }
}

impl fmt::Display for TileFit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            TileFit::Crop => "crop",
            TileFit::Pad => "pad",
        })
    }
}

/// The largest size of a `w × h` picture's shape inside `[ex, ey]` (at least 1 × 1): what
/// `TileFit::Pad` scales it to.
pub fn fit_within([w, h]: [u32; 2], [ex, ey]: [u32; 2]) -> [u32; 2] {
    let (w, h) = (w.max(1) as u64, h.max(1) as u64);
    if w * ey as u64 >= h * ex as u64 {
        [ex, ((h * ex as u64 + w / 2) / w).clamp(1, ey as u64) as u32]
    } else {
        [((w * ey as u64 + h / 2) / h).clamp(1, ex as u64) as u32, ey]
    }
}

impl TryFrom<[u32; 2]> for TileAspect {
    type Error = AspectError;
    fn try_from([w, h]: [u32; 2]) -> Result<Self, AspectError> {
        TileAspect::new(w, h)
    }
}

impl From<TileAspect> for [u32; 2] {
    fn from(a: TileAspect) -> [u32; 2] {
        [a.w, a.h]
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aspects_parse_reduce_and_refuse_nonsense() {
        assert_eq!("16:9".parse(), TileAspect::new(16, 9));
        assert_eq!(
            "1920:1080".parse::<TileAspect>().unwrap().to_string(),
            "16:9"
        );
        assert_eq!(" 3 : 2 ".parse::<TileAspect>().unwrap().to_string(), "3:2");
        assert!("1:1".parse::<TileAspect>().unwrap().is_square());
        assert_eq!("8:1".parse::<TileAspect>().unwrap().to_string(), "8:1");
        for bad in [
            "0:9", "16:0", "abc", "16x9", "9:", "-1:2", "9:1", "1:9", "1:2:3",
        ] {
            assert!(bad.parse::<TileAspect>().is_err(), "{bad}");
        }
        assert!(matches!(
            "0:9".parse::<TileAspect>(),
            Err(AspectError::Zero { .. })
        ));
        assert!(matches!(
            "1:9".parse::<TileAspect>(),
            Err(AspectError::TooLong { .. })
        ));
    }

    #[test]
    fn a_tile_fills_its_longer_side_and_its_shape_of_the_shorter() {
        let wide = TileAspect::new(16, 9).unwrap();
        assert_eq!(wide.extent(256), [256, 144]);
        assert_eq!(wide.shape(), [1.0, 0.5625]);
        let tall = TileAspect::new(2, 3).unwrap();
        assert_eq!(tall.extent(256), [171, 256]);
        assert_eq!(TileAspect::SQUARE.extent(64), [64, 64]);
        // Level by level from the top, rounding up, never below a texel.
        let e = wide.extents(9);
        assert_eq!(e[8], [256, 144]);
        assert_eq!(e[4], [16, 9]);
        assert_eq!(e[3], [8, 5]);
        assert_eq!(e[0], [1, 1]);
        assert_eq!(
            TileAspect::SQUARE.extents(4),
            [[1, 1], [2, 2], [4, 4], [8, 8]]
        );
    }

    #[test]
    fn a_grid_of_wide_cells_over_a_wide_target_is_square_in_count() {
        let wide = TileAspect::new(16, 9).unwrap();
        assert_eq!(wide.rows_for(160, 1920, 1080), 160);
        assert_eq!(TileAspect::SQUARE.rows_for(160, 1920, 1080), 90);
    }

    #[test]
    fn a_padded_picture_fits_inside_its_tile_whole() {
        // A 16:9 frame in a square tile: full width, 9/16 of the height.
        assert_eq!(fit_within([1920, 1080], [64, 64]), [64, 36]);
        // A portrait photograph in a 16:9 tile: full height.
        assert_eq!(fit_within([2000, 3000], [256, 144]), [96, 144]);
        // The same shape fills it; a sliver keeps a texel.
        assert_eq!(fit_within([320, 180], [64, 36]), [64, 36]);
        assert_eq!(fit_within([10000, 1], [64, 64]), [64, 1]);
        assert_eq!("pad".parse(), Ok(TileFit::Pad));
        assert_eq!(TileFit::Crop.to_string(), "crop");
        assert!("stretch".parse::<TileFit>().is_err());
        assert_eq!(serde_json::to_string(&TileFit::Pad).unwrap(), "\"pad\"");
    }

    #[test]
    fn the_manifest_spells_an_aspect_as_two_numbers() {
        let a = TileAspect::new(3, 2).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "[3,2]");
        assert_eq!(serde_json::from_str::<TileAspect>("[6,4]").unwrap(), a);
        assert!(serde_json::from_str::<TileAspect>("[0,4]").is_err());
    }
}
