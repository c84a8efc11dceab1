//! Deep Zoom export: the mosaic as a Deep Zoom Image (DZI) pyramid, the format OpenSeadragon
//! and other deep-zoom viewers open, drawn tile by tile through the same streaming renderer
//! as everything else.
//!
//! A DZI of a `W × H` image has levels `0..=max`, `max = ceil(log2(max(W, H)))`; level `l` is
//! the image scaled by `2^(l − max)` (rounded up), cut into `tile × tile` squares, each with
//! `overlap` extra pixels on the sides that have a neighbour, stored as
//! `NAME_files/l/col_row.jpg`. Here the full-size image is the mosaic at `cell_px` pixels
//! per cell, so level `l` is the mosaic at `cell_px · 2^(l − max)` pixels per cell.
//!
//! A IIIF Image API 3.0 level-0 export is the same pyramid without overlap, from the level
//! that fits one tile up, each tile stored under the URL a IIIF viewer asks for
//! (`NAME/x,y,w,h/w,h/0/default.jpg`), with an `info.json` (`iiif_tile_path`).
//!
//! Either is written into a hidden folder beside its place and moved there whole at the
//! end (the descriptor last): an interrupted or failed export leaves the earlier one, or
//! nothing, never a pyramid with holes.

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

/// What `export_dzi` or `export_iiif` wrote.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// The descriptor written: the `.dzi`, or the IIIF service's `info.json`.
    pub descriptor: PathBuf,
    /// Where its tiles lie.
    pub layout: DziLayout,
    /// Tiles written.
    pub tiles: u64,
    /// Bytes written, tiles and descriptor.
    pub bytes: u64,
}

/// What a pyramid holds: its layout, the mosaic's scale at full size (pixels per cell) and
/// the tiles' picture format.
#[derive(Clone, Copy, Debug)]
pub struct PyramidSpec {
    /// Size, tiles and overlap.
    pub layout: DziLayout,
    /// Pixels per cell at the finest level.
    pub cell_px: f64,
    /// Tile pictures.
    pub format: TileFormat,
}

/// The renderer frame side `export_dzi` needs for tiles of `layout`: one tile with its
/// overlap on both sides.
pub fn frame_side(tile: u32, overlap: u32) -> u32 {
    tile + 2 * overlap
}

/// Writes `dir/NAME.dzi` and `dir/NAME_files/` for the mosaic `renderer` draws, as `spec`
/// says. `renderer` must be `frame_side` square (a renderer
/// whose streaming is synchronous makes every tile sharp). `progress` is told the tiles
/// written so far and the total.
pub fn export_dzi(
    renderer: &mut HeadlessRenderer,
    dir: &Path,
    name: &str,
    spec: PyramidSpec,
    progress: impl FnMut(u64, u64),
) -> Result<ExportSummary> {
    let (layout, format) = (spec.layout, spec.format);
    let files = dir.join(format!("{name}_files"));
    let levels = 0..=layout.max_level();
    let (tiles, bytes) = write_pyramid(
        renderer,
        &files,
        spec,
        levels,
        |level, col, row| format!("{level}/{col}_{row}.{}", format.extension()),
        progress,
    )?;
    let descriptor = dir.join(format!("{name}.dzi"));
    let text = layout.descriptor(format.extension());
    describe(descriptor, &text, layout, (tiles, bytes))
}

/// Writes a static IIIF Image API 3.0 (level 0) image service for the mosaic `renderer`
/// draws: `dir/NAME/info.json` and its tiles, as `spec` says but without overlap. `id` is the service's URL as viewers will
/// reach it (the folder's, `…/NAME`): tile URLs are made from it. `renderer` must be
/// `frame_side(spec.layout.tile, 0)` square.
pub fn export_iiif(
    renderer: &mut HeadlessRenderer,
    dir: &Path,
    name: &str,
    spec: PyramidSpec,
    id: &str,
    progress: impl FnMut(u64, u64),
) -> Result<ExportSummary> {
    let format = spec.format;
    let layout = DziLayout {
        overlap: 0,
        ..spec.layout
    };
    let service = dir.join(name);
    let scale_factors = iiif_scale_factors(&layout);
    let finest = layout.max_level();
    let levels = finest + 1 - scale_factors..=finest;
    let info = iiif_info(&layout, id, format);
    let (tiles, bytes) = write_pyramid(
        renderer,
        &service,
        PyramidSpec { layout, ..spec },
        levels,
        |level, col, row| iiif_tile_path(&layout, finest - level, col, row, format),
        progress,
    )?;
    describe(service.join("info.json"), &info, layout, (tiles, bytes))
}

/// Scale factors a IIIF service of `layout` offers: 1, 2, 4 … up to the first at which the
/// whole image fits one tile (their count).
pub fn iiif_scale_factors(layout: &DziLayout) -> u32 {
    let finest = layout.max_level();
    (0..=finest)
        .find(|&k| {
            let (w, h) = layout.level_size(finest - k);
            w <= layout.tile && h <= layout.tile
        })
        .unwrap_or(finest)
        + 1
}

/// The path under the service of tile (`col`, `row`) at scale factor `2^k`: the URL
/// OpenSeadragon asks a IIIF 3.0 server for (`region/size/0/default.ext`, with `full` and
/// `max` where the tile is the whole image or at full size).
pub fn iiif_tile_path(
    layout: &DziLayout,
    k: u32,
    col: u32,
    row: u32,
    format: TileFormat,
) -> String {
    let (width, height, tile) = (layout.width, layout.height, layout.tile);
    let (level_w, level_h) = layout.level_size(layout.max_level() - k);
    let ext = format.extension();
    let size = |w: u32, h: u32| {
        if w == width && h == height {
            "max".to_string()
        } else {
            format!("{w},{h}")
        }
    };
    if level_w < tile && level_h < tile {
        return format!("full/{}/0/default.{ext}", size(level_w, level_h));
    }
    let span = tile << k;
    let (x, y) = (col * span, row * span);
    let (w, h) = (span.min(width - x), span.min(height - y));
    let region = if (x, y, w, h) == (0, 0, width, height) {
        "full".to_string()
    } else {
        format!("{x},{y},{w},{h}")
    };
    let (sw, sh) = (
        tile.min(level_w - col * tile),
        tile.min(level_h - row * tile),
    );
    format!("{region}/{}/0/default.{ext}", size(sw, sh))
}

/// The `info.json` of a level-0 IIIF 3.0 service of `layout` at `id`.
pub fn iiif_info(layout: &DziLayout, id: &str, format: TileFormat) -> String {
    let factors = iiif_scale_factors(layout);
    let finest = layout.max_level();
    let sizes: Vec<serde_json::Value> = (0..factors)
        .rev()
        .map(|k| {
            let (w, h) = layout.level_size(finest - k);
            serde_json::json!({ "width": w, "height": h })
        })
        .collect();
    let info = serde_json::json!({
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": layout.width,
        "height": layout.height,
        "sizes": sizes,
        "tiles": [{
            "width": layout.tile,
            "height": layout.tile,
            "scaleFactors": (0..factors).map(|k| 1u32 << k).collect::<Vec<_>>(),
        }],
        "preferredFormats": [format.extension()],
    });
    serde_json::to_string_pretty(&info).expect("JSON serialises")
}

/// Renders `levels` of `layout` (finest `layout.max_level()`) tile by tile, each stored at
/// `tile_path(level, col, row)` under `folder`, which is written beside its place and moved
/// there whole (replacing an earlier one) once every tile is in. Returns tiles and bytes.
fn write_pyramid(
    renderer: &mut HeadlessRenderer,
    folder: &Path,
    PyramidSpec {
        layout,
        cell_px,
        format,
    }: PyramidSpec,
    levels: std::ops::RangeInclusive<u32>,
    tile_path: impl Fn(u32, u32, u32) -> String,
    mut progress: impl FnMut(u64, u64),
) -> Result<(u64, u64)> {
    let side = frame_side(layout.tile, layout.overlap);
    if renderer.width != side || renderer.height != side {
        return Err(Error::Options(format!(
            "a pyramid of {} px tiles needs a {side}×{side} renderer",
            layout.tile
        )));
    }
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        error: e,
    };
    crate::fsutil::remove_stale_partials(folder);
    let staging = crate::fsutil::partial_path(folder);
    let total: u64 = levels
        .clone()
        .map(|l| {
            let (c, r) = layout.tiles(l);
            c as u64 * r as u64
        })
        .sum();
    let written = (|| {
        let (mut written, mut bytes) = (0u64, 0u64);
        let [sx, sy] = renderer.scene().cell_shape();
        // Coarse levels first: they are few, and the pages they need are the pinned ones.
        for level in levels {
            let scale = cell_px / (1u64 << (layout.max_level() - level)) as f64;
            let (cols, rows) = layout.tiles(level);
            for row in 0..rows {
                for col in 0..cols {
                    let [x0, y0, x1, y1] = layout.tile_rect(level, col, row);
                    // The frame's top-left pixel is the tile's: the camera centre is half a
                    // frame further, in cells.
                    let camera = Camera {
                        center: glam::DVec2::new(
                            (x0 as f64 + side as f64 / 2.0) / (scale * sx),
                            (y0 as f64 + side as f64 / 2.0) / (scale * sy),
                        ),
                        cell_px: scale,
                    };
                    let (frame, _) = renderer.render(&camera)?;
                    let tile = image::imageops::crop_imm(&frame, 0, 0, x1 - x0, y1 - y0).to_image();
                    let path = staging.join(tile_path(level, col, row));
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                    }
                    bytes += write_tile(&path, tile, format)?;
                    written += 1;
                    progress(written, total);
                }
            }
        }
        if folder.exists() {
            tracing::warn!("{}: replacing the export of this name", folder.display());
        }
        crate::fsutil::replace_dir(&staging, folder).map_err(|e| io(folder, e))?;
        Ok((written, bytes))
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Writes the descriptor `text` of a pyramid of `layout` whose tiles are in place (the
/// descriptor last: without it the tiles are not a pyramid), whole or not at all.
fn describe(
    path: PathBuf,
    text: &str,
    layout: DziLayout,
    (tiles, bytes): (u64, u64),
) -> Result<ExportSummary> {
    crate::fsutil::write_atomically(&path, |out| out.write_all(text.as_bytes())).map_err(|e| {
        Error::Io {
            path: path.clone(),
            error: e,
        }
    })?;
    Ok(ExportSummary {
        descriptor: path,
        layout,
        tiles,
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
    let shape = glam::DVec2::from(renderer.scene().cell_shape());
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
                center: camera.center + offset / (camera.cell_px * shape),
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

    /// The tile URLs OpenSeadragon 4.1 asks a IIIF 3.0 service for (its
    /// `IIIFTileSource.getTileUrl`), worked by hand for a 600×300 image in 256 px tiles.
    #[test]
    fn iiif_tiles_are_stored_where_viewers_ask_for_them() {
        let l = DziLayout::new(600, 300, 256, 0);
        let jpg = TileFormat::Jpeg { quality: 90 };
        // 600 → 300 → 150: the whole image fits one tile at scale factor 4.
        assert_eq!(iiif_scale_factors(&l), 3);
        let path = |k, col, row| iiif_tile_path(&l, k, col, row, jpg);
        assert_eq!(path(0, 0, 0), "0,0,256,256/256,256/0/default.jpg");
        assert_eq!(path(0, 2, 1), "512,256,88,44/88,44/0/default.jpg");
        assert_eq!(path(1, 1, 0), "512,0,88,300/44,150/0/default.jpg");
        assert_eq!(path(2, 0, 0), "full/150,75/0/default.jpg");
        // An image of exactly one tile is `full` at `max`.
        let one = DziLayout::new(256, 200, 256, 0);
        assert_eq!(iiif_scale_factors(&one), 1);
        assert_eq!(iiif_tile_path(&one, 0, 0, 0, jpg), "full/max/0/default.jpg");
        let info: serde_json::Value = serde_json::from_str(&iiif_info(&l, "m", jpg)).unwrap();
        assert_eq!(
            info["tiles"][0]["scaleFactors"],
            serde_json::json!([1, 2, 4])
        );
        assert_eq!(
            info["sizes"][0],
            serde_json::json!({"width": 150, "height": 75})
        );
        assert_eq!(info["profile"], "level0");
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
