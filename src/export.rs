//! Deep Zoom export: the mosaic as a Deep Zoom Image (DZI) pyramid, the format OpenSeadragon
//! and other deep-zoom viewers open, drawn tile by tile through the same streaming renderer
//! as everything else.
//!
//! A DZI of a `W × H` image has levels `0..=max`, `max = ceil(log2(max(W, H)))`; level `l` is
//! the image scaled by `2^(l − max)` (rounded up), cut into `tile × tile` squares, each with
//! `overlap` extra pixels on the sides that have a neighbour, stored as
//! `NAME_files/l/col_row.jpg`. Here the full-size image is the mosaic at `cell_px` pixels
//! per cell, so level `l` is the mosaic at `cell_px · 2^(l − max)` pixels per cell.

/// How every file tessera writes reaches its place (a temporary of its own, then a rename):
/// a host writing outputs beside tessera's can use it too.
pub use crate::fsutil::write_atomically;

use crate::error::{Error, Result};
use crate::view::Camera;
use crate::HeadlessRenderer;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where a DZI's tiles lie: pure arithmetic, unit tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DziLayout {
    /// The full-resolution image, pixels.
    pub width: u32,
    /// The full-resolution image's height, pixels.
    pub height: u32,
    /// Tile side, pixels (without the overlap).
    pub tile: u32,
    /// Pixels each tile repeats of its neighbours on every side.
    pub overlap: u32,
}

impl DziLayout {
    /// The layout of a `width × height` image cut into `tile`-pixel tiles overlapping by
    /// `overlap`.
    pub fn new(width: u32, height: u32, tile: u32, overlap: u32) -> DziLayout {
        assert!(width > 0 && height > 0 && tile > 0);
        DziLayout {
            width,
            height,
            tile,
            overlap,
        }
    }

    /// The finest level's number: levels run `0..=max_level`, level 0 is 1×1.
    pub fn max_level(&self) -> u32 {
        let side = self.width.max(self.height) as u64;
        64 - (side - 1).leading_zeros().min(64) // ceil(log2(side)); 0 for a 1 px image
    }

    /// The image size at `level`.
    pub fn level_size(&self, level: u32) -> (u32, u32) {
        let shift = self.max_level() - level;
        let down = |v: u32| (((v as u64) + (1u64 << shift) - 1) >> shift).max(1) as u32;
        (down(self.width), down(self.height))
    }

    /// Columns and rows of tiles at `level`.
    pub fn tiles(&self, level: u32) -> (u32, u32) {
        let (w, h) = self.level_size(level);
        (w.div_ceil(self.tile), h.div_ceil(self.tile))
    }

    /// Pixels `[x0, x1) × [y0, y1)` of the level image that tile (`col`, `row`) holds,
    /// overlap included.
    pub fn tile_rect(&self, level: u32, col: u32, row: u32) -> [u32; 4] {
        let (w, h) = self.level_size(level);
        let span = |i: u32, size: u32| {
            let start = (i * self.tile).saturating_sub(if i > 0 { self.overlap } else { 0 });
            let end = ((i + 1) * self.tile + self.overlap).min(size);
            (start, end)
        };
        let (x0, x1) = span(col, w);
        let (y0, y1) = span(row, h);
        [x0, y0, x1, y1]
    }

    /// The `.dzi` descriptor.
    pub fn descriptor(&self, format: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"{format}\" Overlap=\"{}\" TileSize=\"{}\">\n\
             \x20 <Size Width=\"{}\" Height=\"{}\"/>\n\
             </Image>\n",
            self.overlap, self.tile, self.width, self.height
        )
    }
}

/// Tile picture format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileFormat {
    /// JPEG at `quality` (1–100): small, for photographs.
    Jpeg {
        /// 1 (smallest) to 100 (best).
        quality: u8,
    },
    /// PNG: lossless, larger.
    Png,
}

impl TileFormat {
    /// The tiles' file extension ("jpg" or "png").
    pub fn extension(self) -> &'static str {
        match self {
            TileFormat::Jpeg { .. } => "jpg",
            TileFormat::Png => "png",
        }
    }
}

/// What `export_dzi` wrote.
#[derive(Clone, Debug)]
pub struct DziSummary {
    /// The `.dzi` descriptor written.
    pub descriptor: PathBuf,
    /// Where its tiles lie.
    pub layout: DziLayout,
    /// Tiles written.
    pub tiles: u64,
    /// Bytes written, tiles and descriptor.
    pub bytes: u64,
}

/// The renderer frame side `export_dzi` needs for tiles of `layout`: one tile with its
/// overlap on both sides.
pub fn frame_side(tile: u32, overlap: u32) -> u32 {
    tile + 2 * overlap
}

/// Writes `dir/NAME.dzi` and `dir/NAME_files/` for the mosaic `renderer` draws, at `cell_px`
/// pixels per cell at the finest level. `renderer` must be `frame_side` square (a renderer
/// whose streaming is synchronous makes every tile sharp). `progress` is told the tiles
/// written so far and the total.
pub fn export_dzi(
    renderer: &mut HeadlessRenderer,
    dir: &Path,
    name: &str,
    layout: DziLayout,
    cell_px: f64,
    format: TileFormat,
    mut progress: impl FnMut(u64, u64),
) -> Result<DziSummary> {
    let side = frame_side(layout.tile, layout.overlap);
    if renderer.width != side || renderer.height != side {
        return Err(Error::Options(format!(
            "a DZI of {} px tiles needs a {side}×{side} renderer",
            layout.tile
        )));
    }
    let files = dir.join(format!("{name}_files"));
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        error: e,
    };
    // An earlier export of this name is replaced whole: its level folders go (a deeper
    // pyramid's, or tiles of another format, would otherwise stay beside the new ones).
    if files.is_dir() {
        tracing::warn!("{}: replacing the export of this name", files.display());
        for entry in std::fs::read_dir(&files)
            .map_err(|e| io(&files, e))?
            .flatten()
        {
            let is_level = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok());
            if is_level && entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path()).map_err(|e| io(&entry.path(), e))?;
            }
        }
    }
    std::fs::create_dir_all(&files).map_err(|e| io(&files, e))?;
    let total: u64 = (0..=layout.max_level())
        .map(|l| {
            let (c, r) = layout.tiles(l);
            c as u64 * r as u64
        })
        .sum();
    let (mut written, mut bytes) = (0u64, 0u64);
    // Coarse levels first: they are few, and the pages they need are the pinned ones.
    for level in 0..=layout.max_level() {
        let scale = cell_px / (1u64 << (layout.max_level() - level)) as f64;
        let level_dir = files.join(level.to_string());
        std::fs::create_dir_all(&level_dir).map_err(|e| io(&level_dir, e))?;
        let (cols, rows) = layout.tiles(level);
        for row in 0..rows {
            for col in 0..cols {
                let [x0, y0, x1, y1] = layout.tile_rect(level, col, row);
                // The frame's top-left pixel is the tile's: the camera centre is half a
                // frame further, in cells.
                let camera = Camera {
                    center: glam::DVec2::new(
                        (x0 as f64 + side as f64 / 2.0) / scale,
                        (y0 as f64 + side as f64 / 2.0) / scale,
                    ),
                    cell_px: scale,
                };
                let (frame, _) = renderer.render(&camera)?;
                let tile = image::imageops::crop_imm(&frame, 0, 0, x1 - x0, y1 - y0).to_image();
                let path = level_dir.join(format!("{col}_{row}.{}", format.extension()));
                bytes += write_tile(&path, tile, format)?;
                written += 1;
                progress(written, total);
            }
        }
    }
    let descriptor = dir.join(format!("{name}.dzi"));
    let text = layout.descriptor(format.extension());
    crate::fsutil::write_atomically(&descriptor, |out| out.write_all(text.as_bytes()))
        .map_err(|e| io(&descriptor, e))?;
    Ok(DziSummary {
        descriptor,
        layout,
        tiles: written,
        bytes: bytes + text.len() as u64,
    })
}

/// Writes one tile picture (opaque: DZI viewers expect no alpha); returns its bytes.
fn write_tile(path: &Path, tile: image::RgbaImage, format: TileFormat) -> Result<u64> {
    let rgb = image::DynamicImage::ImageRgba8(tile).into_rgb8();
    let mut data = Vec::new();
    let encoded = match format {
        TileFormat::Jpeg { quality } => rgb.write_with_encoder(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut data, quality),
        ),
        TileFormat::Png => rgb.write_to(
            &mut std::io::Cursor::new(&mut data),
            image::ImageFormat::Png,
        ),
    };
    encoded.map_err(|e| Error::Io {
        path: path.to_path_buf(),
        error: std::io::Error::other(e),
    })?;
    std::fs::write(path, &data).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        error: e,
    })?;
    Ok(data.len() as u64)
}

/// Renders a `width × height` picture of `camera` in bands of `renderer`-sized tiles, for
/// pictures larger than one frame: `band` gets each band's rows in order (RGBA8, `width`
/// wide, as many rows as the renderer is high but the last), so only one band is ever in
/// memory. Every pixel samples the mosaic where a single `width × height` frame would.
/// `progress` is told the tiles drawn so far and the total.
pub fn render_bands(
    renderer: &mut HeadlessRenderer,
    camera: &Camera,
    (width, height): (u32, u32),
    mut band: impl FnMut(&[u8], u32) -> Result<()>,
    mut progress: impl FnMut(u64, u64),
) -> Result<()> {
    let (tw, th) = (renderer.width, renderer.height);
    let (cols, rows) = (width.div_ceil(tw), height.div_ceil(th));
    let total = cols as u64 * rows as u64;
    let row_bytes = width as usize * 4;
    let mut buffer = vec![0u8; row_bytes * th as usize];
    for r in 0..rows {
        let y0 = r * th;
        let band_rows = th.min(height - y0);
        for c in 0..cols {
            let x0 = c * tw;
            let cols_here = tw.min(width - x0);
            // The tile's frame, placed so its top-left pixel is the picture's (x0, y0).
            let offset = glam::DVec2::new(
                x0 as f64 + tw as f64 / 2.0 - width as f64 / 2.0,
                y0 as f64 + th as f64 / 2.0 - height as f64 / 2.0,
            );
            let tile_camera = Camera {
                center: camera.center + offset / camera.cell_px,
                cell_px: camera.cell_px,
            };
            let (frame, _) = renderer.render(&tile_camera)?;
            let frame = frame.as_raw();
            for y in 0..band_rows as usize {
                let src = &frame[y * tw as usize * 4..][..cols_here as usize * 4];
                buffer[y * row_bytes + x0 as usize * 4..][..src.len()].copy_from_slice(src);
            }
            progress(r as u64 * cols as u64 + c as u64 + 1, total);
        }
        band(&buffer[..band_rows as usize * row_bytes], band_rows)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_halve_rounding_up_down_to_one_pixel() {
        let l = DziLayout::new(4800, 2700, 256, 1);
        assert_eq!(l.max_level(), 13); // 2^13 = 8192 ≥ 4800 > 4096
        assert_eq!(l.level_size(13), (4800, 2700));
        assert_eq!(l.level_size(12), (2400, 1350));
        assert_eq!(l.level_size(11), (1200, 675));
        assert_eq!(l.level_size(10), (600, 338));
        assert_eq!(l.level_size(0), (1, 1));
        assert_eq!(l.tiles(13), (19, 11));
        assert_eq!(l.tiles(0), (1, 1));
        assert_eq!(DziLayout::new(1, 1, 256, 1).max_level(), 0);
        assert_eq!(DziLayout::new(256, 1, 256, 1).max_level(), 8);
        assert_eq!(DziLayout::new(257, 1, 256, 1).max_level(), 9);
    }

    #[test]
    fn tiles_overlap_their_neighbours_only() {
        let l = DziLayout::new(600, 300, 256, 1);
        let max = l.max_level();
        assert_eq!(l.tile_rect(max, 0, 0), [0, 0, 257, 257]);
        assert_eq!(l.tile_rect(max, 1, 0), [255, 0, 513, 257]);
        assert_eq!(l.tile_rect(max, 2, 1), [511, 255, 600, 300]);
        // Together the tiles cover the level exactly once, apart from the overlaps.
        let (cols, rows) = l.tiles(max);
        let mut covered = vec![0u8; 600 * 300];
        for r in 0..rows {
            for c in 0..cols {
                let [x0, y0, x1, y1] = l.tile_rect(max, c, r);
                for y in y0..y1 {
                    for x in x0..x1 {
                        covered[(y * 600 + x) as usize] += 1;
                    }
                }
            }
        }
        assert!(covered.iter().all(|&n| (1..=4).contains(&n)));
    }

    #[test]
    fn the_descriptor_names_format_overlap_tile_and_size() {
        let d = DziLayout::new(600, 300, 254, 1).descriptor("jpg");
        assert!(
            d.contains("Format=\"jpg\" Overlap=\"1\" TileSize=\"254\""),
            "{d}"
        );
        assert!(d.contains("<Size Width=\"600\" Height=\"300\"/>"), "{d}");
    }
}
