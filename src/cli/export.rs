//! `tessera export`: the mosaic as a Deep Zoom Image (a `.dzi` descriptor and its tile
//! pyramid) with a small HTML page that opens it in OpenSeadragon.

use super::args::{EngineArgs, MosaicArg, PlaybackArgs, TintArg};
use super::util::human_bytes;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tessera::export::{export_dzi, frame_side, DziLayout, TileFormat};
use tessera::{HeadlessRenderer, RenderStyle};

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    mosaic: MosaicArg,
    /// Folder to write NAME.dzi, NAME_files/ and NAME.html into.
    #[arg(long, value_name = "DIR")]
    dzi: PathBuf,
    /// Base name of the files [default: the mosaic's file name].
    #[arg(long)]
    name: Option<String>,
    /// Pixels per cell at the finest level [default: the library's tile size, so every
    /// tile is there at full resolution].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    cell_px: Option<u32>,
    /// Tile side in pixels (without the overlap).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=2048))]
    tile_size: u32,
    /// Pixels each tile repeats from its neighbours (viewers blend across seams with it).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=16))]
    overlap: u32,
    /// Tile pictures.
    #[arg(long, value_enum, default_value = "jpg")]
    format: FormatArg,
    /// JPEG quality, 1–100.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// The moment drawn, in seconds of playback (libraries with clips).
    #[arg(long, default_value_t = 0.0, value_parser = super::args::parse_seconds)]
    time: f64,
    #[command(flatten)]
    tint: TintArg,
    #[command(flatten)]
    playback: PlaybackArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Jpg,
    Png,
}

pub fn command(a: ExportArgs) -> anyhow::Result<()> {
    let scene = a.mosaic.open()?;
    a.tint.check(&scene)?;
    let cell_px = a.cell_px.unwrap_or(scene.library.params().max_tile);
    let (w, h) = (
        scene.cols() as u64 * cell_px as u64,
        scene.rows() as u64 * cell_px as u64,
    );
    anyhow::ensure!(
        w <= u32::MAX as u64 && h <= u32::MAX as u64,
        "{w}×{h} px is beyond a DZI's size; pass a smaller --cell-px"
    );
    let layout = DziLayout::new(w as u32, h as u32, a.tile_size, a.overlap);
    let name = a.name.clone().unwrap_or_else(|| {
        a.mosaic
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mosaic".into())
    });
    let format = match a.format {
        FormatArg::Jpg => TileFormat::Jpeg { quality: a.quality },
        FormatArg::Png => TileFormat::Png,
    };
    let side = frame_side(a.tile_size, a.overlap);
    // Every tile is drawn sharp: pages are read as each tile needs them. The pyramid is one
    // picture: its tint does not fade with the scale of a level.
    let style = RenderStyle {
        tint: a.tint.tint,
        tint_fades: false,
        ..Default::default()
    };
    let options = a.engine.options((side, side), style, true);
    let mut renderer = HeadlessRenderer::new(scene, &options)?;
    renderer.set_playback(a.playback.at(a.time));
    std::fs::create_dir_all(&a.dzi).with_context(|| format!("creating {}", a.dzi.display()))?;
    let started = std::time::Instant::now();
    let bar = crate::cli::progress::progress_bar(
        0,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "tiles",
    );
    let summary = export_dzi(
        &mut renderer,
        &a.dzi,
        &name,
        layout,
        cell_px as f64,
        format,
        |n, total| {
            bar.set_length(total);
            bar.set_position(n);
        },
    );
    bar.finish_and_clear();
    let summary = summary?;
    let html = a.dzi.join(format!("{name}.html"));
    tessera::export::write_atomically(&html, |out| {
        std::io::Write::write_all(out, viewer_page(&name).as_bytes())
    })
    .with_context(|| format!("{}: cannot write", html.display()))?;
    println!(
        "{}: {}×{} px ({cell_px} px per cell), {} levels, {} tiles, {} in {:.1} s on {}",
        summary.descriptor.display(),
        layout.width,
        layout.height,
        layout.max_level() + 1,
        summary.tiles,
        human_bytes(summary.bytes),
        started.elapsed().as_secs_f64(),
        renderer.describe()
    );
    println!(
        "view it: serve the folder (`python3 -m http.server -d {}`) and open http://localhost:8000/{}.html",
        super::util::shell_quote(&a.dzi.to_string_lossy()),
        url_component(&name)
    );
    Ok(())
}

/// A page that opens `NAME.dzi` in OpenSeadragon (loaded from a CDN by the browser). The
/// name is the user's: escaped for HTML in the title, and given to the script as a JSON
/// string (safe inside `<script>`) that the page turns into a URL.
fn viewer_page(name: &str) -> String {
    let title = html_escape(name);
    let name_js = script_string(name);
    format!(
        r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{title} — tessera deep zoom</title>
<style>html, body, #view {{ margin: 0; width: 100%; height: 100%; background: #111; }}</style>
<script src="https://cdn.jsdelivr.net/npm/openseadragon@4.1/build/openseadragon/openseadragon.min.js"></script>
</head>
<body>
<div id="view"></div>
<script>
OpenSeadragon({{
  id: "view",
  prefixUrl: "https://cdn.jsdelivr.net/npm/openseadragon@4.1/build/openseadragon/images/",
  tileSources: encodeURIComponent({name_js}) + ".dzi",
  showNavigator: true,
  maxZoomPixelRatio: 2
}});
</script>
</body>
</html>
"#
    )
}

/// Text safe anywhere in HTML: `&`, `<`, `>`, `"` and `'` as character references.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JavaScript string literal of `text` that cannot end the `<script>` it sits in: JSON,
/// with `<`, `>`, `&` and the two line separators JavaScript once refused escaped.
fn script_string(text: &str) -> String {
    serde_json::to_string(text)
        .expect("a string serialises")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `text` as one component of a URL path (what the page's `encodeURIComponent` makes).
fn url_component(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name with quotes, angle brackets and non-ASCII letters: the title shows it as text,
    /// the script gets it back exactly, and nothing in it ends the script early.
    #[test]
    fn any_name_makes_a_valid_page() {
        let name = "l'été \"2024\" <b>&</script>\u{2028}";
        let page = viewer_page(name);
        assert!(page.contains(
            "<title>l&#39;été &quot;2024&quot; &lt;b&gt;&amp;&lt;/script&gt;\u{2028} — tessera deep zoom</title>"
        ));
        let script = &page[page.find("<script>\n").unwrap()..];
        let script = &script[..script.find("</script>").unwrap()];
        assert!(
            !script.contains("<b>") && !script.contains('\u{2028}'),
            "{script}"
        );
        let literal = script
            .split("encodeURIComponent(")
            .nth(1)
            .and_then(|rest| rest.split(") + \".dzi\"").next())
            .unwrap();
        assert_eq!(serde_json::from_str::<String>(literal).unwrap(), name);
        assert_eq!(url_component("a b/é"), "a%20b%2F%C3%A9");
    }
}
