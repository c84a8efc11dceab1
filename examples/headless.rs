//! The shortest honest use of the library: open a mosaic, render one view offscreen, save a PNG.
//!
//! ```text
//! cargo run --release --example headless -- MOSAIC [OUT.png] [CELL_PX]
//! ```
//! Without CELL_PX the whole mosaic fits the frame; with it, the view is centred on the
//! mosaic at that many screen pixels per cell (e.g. 64).

use anyhow::Context;
use tessera::{HeadlessRenderer, RenderOptions, Scene};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mosaic = args
        .next()
        .context("usage: headless MOSAIC [OUT.png] [CELL_PX]")?;
    let out = args.next().unwrap_or_else(|| "headless.png".into());

    // The scene: match grid, its tile library, the overview for zoomed-out views.
    let scene = Scene::open(mosaic.as_ref())?;
    // GPU (best adapter, else Mesa's software Vulkan), 1920×1080, default budgets.
    let mut renderer = HeadlessRenderer::new(scene, &RenderOptions::default())?;
    let mut camera = renderer.scene.fit(renderer.width, renderer.height);
    if let Some(cell_px) = args.next() {
        camera.cell_px = cell_px.parse().context("CELL_PX must be a number")?;
    }
    // `render` streams in every page the view needs, draws, and reads the frame back.
    let (image, _stats) = renderer.render(&camera)?;
    image.save(&out).with_context(|| format!("writing {out}"))?;
    println!("{} → {out} ({})", mosaic, renderer.describe());
    Ok(())
}
