//! `tessera fidelity`: how faithful a picture of a whole mosaic (tessera's, or another
//! tool's) is to its target: ΔE at the grid and SSIM at 3× the grid. `tessera info` runs
//! the same measures on a mosaic by rendering it.

use clap::Args;
use std::path::{Path, PathBuf};
use tessera::library::{decode_target, TileAspect};
use tessera::matching::CellSpec;
use tessera::matching::{picture_fidelity, Fidelity, SSIM_SAMPLES};
use tessera::render::MAX_FRAME_SIDE;
use tessera::{Backend, HeadlessRenderer, RenderOptions, Scene};

#[derive(Args)]
pub struct FidelityArgs {
    /// A picture of the whole mosaic (any size of the grid's aspect).
    picture: PathBuf,
    /// The target it reproduces.
    #[arg(long)]
    target: PathBuf,
    /// The mosaic's cell grid, e.g. 80x50.
    #[arg(long)]
    cells: CellSpec,
    /// The cells' width to height, e.g. 16:9 (as the mosaic's tiles were baked).
    #[arg(long, value_name = "W:H", default_value = "1:1")]
    tile_aspect: TileAspect,
}

pub fn command(a: FidelityArgs) -> anyhow::Result<()> {
    let (picture, target) = (open(&a.picture)?, open(&a.target)?);
    let CellSpec::Exact { cols, rows } = a.cells else {
        unreachable!("--cells parses as WIDTHxHEIGHT")
    };
    let f = picture_fidelity(&picture, &target, (cols, rows), a.tile_aspect);
    println!(
        "{} against {} at {cols}×{rows} cells: {}",
        a.picture.display(),
        a.target.display(),
        describe(&f)
    );
    Ok(())
}

fn open(path: &Path) -> anyhow::Result<image::DynamicImage> {
    decode_target(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the picture: {e}", path.display()))
}

/// "ΔE 14.5 at the grid, SSIM 0.431 at 3×".
pub fn describe(f: &Fidelity) -> String {
    format!(
        "ΔE {:.1} at the grid, SSIM {:.3} at {SSIM_SAMPLES}×",
        f.delta_e, f.ssim
    )
}

/// `scene` rendered whole (CPU reference, a few pixels a cell) and measured against its
/// target; `None` when the target is a video, is gone, or the grid is too large to render
/// in one frame.
pub fn measure_mosaic(scene: Scene) -> anyhow::Result<Option<Fidelity>> {
    if scene.video().is_some() {
        return Ok(None);
    }
    let Some(target) = scene.target_path() else {
        tracing::warn!(
            "{}: its target {} is not there; no fidelity measured",
            scene.path.display(),
            scene.mosaic.header.target
        );
        return Ok(None);
    };
    let (cols, rows) = (scene.cols(), scene.rows());
    // Enough pixels a cell for the 3× samples to be means of several texels.
    let px = (4096 / cols.max(rows)).clamp(SSIM_SAMPLES, 8);
    // `px` along a cell's longer side.
    let [sx, sy] = scene.cell_shape();
    let (w, h) = (
        (cols as f64 * px as f64 * sx).round() as u32,
        (rows as f64 * px as f64 * sy).round() as u32,
    );
    if w > MAX_FRAME_SIDE || h > MAX_FRAME_SIDE || w as u64 * h as u64 > 1 << 26 {
        return Ok(None);
    }
    let target_path = target;
    let target = open(&target_path)?;
    if let Some([w, h]) = scene.mosaic.header.target_size {
        if (target.width(), target.height()) != (w, h) {
            tracing::warn!(
                "{}: {} is {}×{}, not the {w}×{h} picture the mosaic was matched from; no fidelity measured",
                scene.path.display(),
                target_path.display(),
                target.width(),
                target.height()
            );
            return Ok(None);
        }
    }
    let opts = RenderOptions {
        width: w,
        height: h,
        backend: Backend::Cpu,
        ..Default::default()
    };
    let aspect = scene.tile_aspect();
    let mut renderer = HeadlessRenderer::new(scene, &opts)?;
    let (img, _) = renderer.render(&renderer.fit())?;
    let picture = image::DynamicImage::ImageRgba8(img);
    Ok(Some(picture_fidelity(
        &picture,
        &target,
        (cols, rows),
        aspect,
    )))
}
