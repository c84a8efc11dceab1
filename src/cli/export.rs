//! `tessera export`: the mosaic as a Deep Zoom Image (a `.dzi` descriptor and its tile
//! pyramid) or a static IIIF image service, with a page that shows it in OpenSeadragon and
//! needs nothing else (`web.rs`).

use super::args::{EngineArgs, MosaicArg, PlaybackArgs, TintArg};
use super::util::human_bytes;
use super::web::{self, PageSource};
use anyhow::Context;
use clap::{ArgGroup, Args, ValueEnum};
use std::path::{Path, PathBuf};
use tessera::export::{
    export_dzi, export_iiif, frame_side, iiif_info, DziLayout, PyramidSpec, TileFormat,
};
use tessera::{HeadlessRenderer, RenderStyle};

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["dzi", "iiif"])))]
pub struct ExportArgs {
    #[command(flatten)]
    mosaic: MosaicArg,
    /// Folder to write a Deep Zoom Image into: NAME.dzi, NAME_files/, and NAME.html with
    /// the viewer beside it.
    #[arg(long, value_name = "DIR")]
    dzi: Option<PathBuf>,
    /// Folder to write a static IIIF Image API 3.0 service into (level 0: NAME/info.json
    /// and its tiles, no overlap), and NAME.html with the viewer beside it.
    #[arg(long, value_name = "DIR")]
    iiif: Option<PathBuf>,
    /// The URL the IIIF folder will be published at (its `info.json` names the service
    /// URL/NAME, as IIIF viewers such as Mirador need) [default: relative, which the page
    /// written beside it and OpenSeadragon accept].
    #[arg(long, value_name = "URL", requires = "iiif")]
    base_url: Option<String>,
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
    /// Pixels each tile repeats from its neighbours (viewers blend across seams with it;
    /// Deep Zoom only).
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
    let (dir, iiif) = match (&a.dzi, &a.iiif) {
        (Some(dir), _) => (dir.clone(), false),
        (None, Some(dir)) => (dir.clone(), true),
        (None, None) => anyhow::bail!("pass --dzi DIR or --iiif DIR"),
    };
    let scene = a.mosaic.open()?;
    a.tint.check(&scene)?;
    let cell_px = a.cell_px.unwrap_or(scene.library.params().max_tile);
    // A cell is `cell_px` on its longer side (the tile's pages' side).
    let [sx, sy] = scene.cell_shape();
    let (w, h) = (
        (scene.cols() as f64 * cell_px as f64 * sx).round() as u64,
        (scene.rows() as f64 * cell_px as f64 * sy).round() as u64,
    );
    anyhow::ensure!(
        w <= u32::MAX as u64 && h <= u32::MAX as u64,
        "{w}×{h} px is beyond a pyramid's size; pass a smaller --cell-px"
    );
    let overlap = if iiif { 0 } else { a.overlap };
    let layout = DziLayout::new(w as u32, h as u32, a.tile_size, overlap);
    let name = a.name.clone().unwrap_or_else(|| {
        a.mosaic
            .file
            .as_deref()
            .and_then(|f| f.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "mosaic".into())
    });
    check_output_folder(&dir, &name)?;
    let format = match a.format {
        FormatArg::Jpg => TileFormat::Jpeg { quality: a.quality },
        FormatArg::Png => TileFormat::Png,
    };
    let side = frame_side(a.tile_size, overlap);
    // Every tile is drawn sharp: pages are read as each tile needs them. The pyramid is one
    // picture: its tint does not fade with the scale of a level.
    let style = RenderStyle {
        tint: a.tint.tint,
        tint_fades: false,
        ..Default::default()
    };
    let options = a.engine.options((side, side), style, true);
    let tiles_js = web::tiles_script(&scene, cell_px);
    let mut renderer = HeadlessRenderer::new(scene, &options)?;
    renderer.set_playback(a.playback.at(a.time));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = std::time::Instant::now();
    let bar = crate::cli::progress::progress_bar(
        0,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        "tiles",
    );
    let progress = |n, total| {
        bar.set_length(total);
        bar.set_position(n);
    };
    let spec = PyramidSpec {
        layout,
        cell_px: cell_px as f64,
        format,
    };
    let (summary, source) = if iiif {
        let id = match &a.base_url {
            Some(url) => format!("{}/{}", url.trim_end_matches('/'), url_component(&name)),
            None => url_component(&name),
        };
        let info = iiif_info(&layout, &id, format);
        let summary = export_iiif(&mut renderer, &dir, &name, spec, &id, progress);
        (summary, PageSource::Iiif { info })
    } else {
        let summary = export_dzi(&mut renderer, &dir, &name, spec, progress);
        let source = PageSource::Dzi {
            size: (layout.width, layout.height),
            tile: layout.tile,
            overlap: layout.overlap,
            format: format.extension(),
        };
        (summary, source)
    };
    bar.finish_and_clear();
    let summary = summary?;
    web::write_viewer(&dir)?;
    for (file, text) in [
        (format!("{name}_tiles.js"), tiles_js),
        (format!("{name}.html"), web::page(&name, &source)),
    ] {
        let path = dir.join(file);
        tessera::export::write_atomically(&path, |out| {
            std::io::Write::write_all(out, text.as_bytes())
        })
        .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    println!(
        "{}: {}×{} px ({cell_px} px per cell), {} tiles, {} in {:.1} s on {}",
        summary.descriptor.display(),
        layout.width,
        layout.height,
        summary.tiles,
        human_bytes(summary.bytes),
        started.elapsed().as_secs_f64(),
        renderer.describe()
    );
    let quoted = super::util::shell_quote(&dir.to_string_lossy());
    println!(
        "view it: open {}/{name}.html, or publish the folder on any static web host (to try: \
         `python3 -m http.server -d {quoted}`, then http://localhost:8000/{}.html)",
        dir.display(),
        url_component(&name)
    );
    Ok(())
}

/// Refuses an output folder that holds something other than exports: an export replaces
/// its own files, never a user's.
fn check_output_folder(dir: &Path, name: &str) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        anyhow::ensure!(
            !dir.exists(),
            "{}: exists and is not a folder; choose a folder for the export",
            dir.display()
        );
        return Ok(());
    };
    let ours = |entry: &str| {
        entry == web::VIEWER_DIR
            || entry.ends_with(".dzi")
            || entry.ends_with("_files")
            || entry.ends_with(".html")
            || entry.ends_with("_tiles.js")
            || entry.starts_with('.')
            || dir.join(entry).join("info.json").is_file()
    };
    let foreign: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|e| !ours(e))
        .take(3)
        .collect();
    anyhow::ensure!(
        foreign.is_empty(),
        "{}: holds files that are not an export ({}); choose an empty folder, or one an \
         earlier export wrote (its {name} export is replaced)",
        dir.display(),
        foreign.join(", ")
    );
    Ok(())
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
        let source = PageSource::Dzi {
            size: (300, 200),
            tile: 256,
            overlap: 1,
            format: "jpg",
        };
        let page = web::page(name, &source);
        assert!(page.contains(
            "<title>l&#39;été &quot;2024&quot; &lt;b&gt;&amp;&lt;/script&gt;\u{2028}</title>"
        ));
        let script = &page[page.find("<script>\n").unwrap()..];
        let script = &script[..script.find("</script>").unwrap()];
        assert!(
            !script.contains("<b>") && !script.contains('\u{2028}'),
            "{script}"
        );
        let literal = script
            .split("var name = ")
            .nth(1)
            .and_then(|rest| rest.split(";\n").next())
            .unwrap();
        assert_eq!(serde_json::from_str::<String>(literal).unwrap(), name);
        assert_eq!(url_component("a b/é"), "a%20b%2F%C3%A9");
    }
}
