//! The shortest honest use of the library: open a mosaic, render offscreen, save a PNG of one
//! view or an MP4 of a zoom.
//!
//! ```text
//! cargo run --release --example headless -- MOSAIC [OUT.png|OUT.mp4] [CELL_PX]
//! ```
//! A PNG shows the whole mosaic, or with CELL_PX the view centred on the mosaic at that many
//! screen pixels per cell (e.g. 64). An MP4 is a 4-second zoom from the whole mosaic into
//! its centre at CELL_PX (default 256) and back.

use anyhow::Context;
use tessera::video::{VideoSettings, VideoWriter};
use tessera::{HeadlessRenderer, Pacing, RenderOptions, Scene};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mosaic = args
        .next()
        .context("usage: headless MOSAIC [OUT.png|OUT.mp4] [CELL_PX]")?;
    let out = args.next().unwrap_or_else(|| "headless.png".into());
    let cell_px: Option<f64> = match args.next() {
        Some(s) => Some(s.parse().context("CELL_PX must be a number")?),
        None => None,
    };

    // The scene: match grid, its tile library, the overview for zoomed-out views.
    let scene = Scene::open(mosaic.as_ref())?;
    // GPU (best adapter, else Mesa's software rasteriser), 1920×1080, default budgets.
    let mut renderer = HeadlessRenderer::new(scene, &RenderOptions::default())?;
    let fit = renderer.scene.fit(renderer.width, renderer.height);

    if tessera::video::is_video_path(out.as_ref()) {
        let mut close = fit;
        close.cell_px = cell_px.unwrap_or(256.0);
        let path = tessera::bench::zoom_in_out(fit, close, 120);
        let settings = VideoSettings {
            width: renderer.width,
            height: renderer.height,
            ..Default::default()
        };
        let mut video = VideoWriter::create(out.as_ref(), settings)?;
        // Each frame waits for its pages (Pacing::Sharp), is drawn, read back and queued to
        // the encoder thread.
        renderer.record(
            path.iter().map(|f| f.camera),
            Pacing::Sharp,
            &mut video,
            |_| {},
        )?;
        let summary = video.finish()?;
        println!(
            "{mosaic} → {out}: {} frames, {} bytes",
            summary.frames, summary.bytes
        );
        return Ok(());
    }

    let mut camera = fit;
    if let Some(px) = cell_px {
        camera.cell_px = px;
    }
    // `render` streams in every page the view needs, draws, and reads the frame back.
    let (image, _stats) = renderer.render(&camera)?;
    image.save(&out).with_context(|| format!("writing {out}"))?;
    println!("{mosaic} → {out} ({})", renderer.describe());
    Ok(())
}
