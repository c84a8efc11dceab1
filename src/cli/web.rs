//! The web page `tessera export` writes beside a pyramid: full-window OpenSeadragon, its
//! script and button images written beside it from copies embedded in the binary
//! (`vendor/openseadragon/`), so the page needs no network and works from a static host, an
//! intranet or `file://`. The pyramid's descriptor is written into the page, and the names
//! of the tiles under the pointer come from a script beside it, so nothing is fetched by
//! script (which browsers refuse to pages opened from `file://`).

use std::path::Path;

/// The folder, beside the page, that holds OpenSeadragon.
pub const VIEWER_DIR: &str = "openseadragon";

macro_rules! asset {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!("../../vendor/openseadragon/", $path)).as_slice(),
        )
    };
}

/// OpenSeadragon 4.1.1's files the page uses, by their path under `VIEWER_DIR`.
const VIEWER_FILES: &[(&str, &[u8])] = &[
    asset!("openseadragon.min.js"),
    asset!("LICENSE.txt"),
    asset!("images/button_grouphover.png"),
    asset!("images/button_hover.png"),
    asset!("images/button_pressed.png"),
    asset!("images/button_rest.png"),
    asset!("images/flip_grouphover.png"),
    asset!("images/flip_hover.png"),
    asset!("images/flip_pressed.png"),
    asset!("images/flip_rest.png"),
    asset!("images/fullpage_grouphover.png"),
    asset!("images/fullpage_hover.png"),
    asset!("images/fullpage_pressed.png"),
    asset!("images/fullpage_rest.png"),
    asset!("images/home_grouphover.png"),
    asset!("images/home_hover.png"),
    asset!("images/home_pressed.png"),
    asset!("images/home_rest.png"),
    asset!("images/next_grouphover.png"),
    asset!("images/next_hover.png"),
    asset!("images/next_pressed.png"),
    asset!("images/next_rest.png"),
    asset!("images/previous_grouphover.png"),
    asset!("images/previous_hover.png"),
    asset!("images/previous_pressed.png"),
    asset!("images/previous_rest.png"),
    asset!("images/rotateleft_grouphover.png"),
    asset!("images/rotateleft_hover.png"),
    asset!("images/rotateleft_pressed.png"),
    asset!("images/rotateleft_rest.png"),
    asset!("images/rotateright_grouphover.png"),
    asset!("images/rotateright_hover.png"),
    asset!("images/rotateright_pressed.png"),
    asset!("images/rotateright_rest.png"),
    asset!("images/zoomin_grouphover.png"),
    asset!("images/zoomin_hover.png"),
    asset!("images/zoomin_pressed.png"),
    asset!("images/zoomin_rest.png"),
    asset!("images/zoomout_grouphover.png"),
    asset!("images/zoomout_hover.png"),
    asset!("images/zoomout_pressed.png"),
    asset!("images/zoomout_rest.png"),
];

/// Writes OpenSeadragon's files into `dir/openseadragon/` (files already there as they
/// should be are left alone).
pub fn write_viewer(dir: &Path) -> anyhow::Result<()> {
    for (name, bytes) in VIEWER_FILES {
        let path = dir.join(VIEWER_DIR).join(name);
        if std::fs::read(&path).is_ok_and(|old| old == *bytes) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", parent.display()))?;
        }
        tessera::export::write_atomically(&path, |out| std::io::Write::write_all(out, bytes))
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}

/// The pyramid a page shows, as OpenSeadragon takes it inline.
pub enum PageSource {
    /// A Deep Zoom Image: its tiles in `NAME_files/`.
    Dzi {
        /// Full-size width and height.
        size: (u32, u32),
        tile: u32,
        overlap: u32,
        /// Tile file extension.
        format: &'static str,
    },
    /// A IIIF image service: its `info.json`, whose `id` the page replaces with the
    /// service's folder beside it (tiles are found relative to the page, wherever it is).
    Iiif { info: String },
}

/// The page for the pyramid `name`: full window, titled with the mosaic's name, navigator,
/// keyboard and wheel zoom up to the tiles' full resolution, and (with `NAME_tiles.js`
/// beside it) the source of the tile under the pointer once cells are large enough to tell
/// apart. The name is the user's: escaped for HTML in the title, and given to the script as
/// a JSON string (safe inside `<script>`) that the page turns into a URL.
pub fn page(name: &str, source: &PageSource) -> String {
    let title = html_escape(name);
    let name_js = script_string(name);
    let source_js = match source {
        PageSource::Dzi {
            size: (w, h),
            tile,
            overlap,
            format,
        } => format!(
            r#"{{ Image: {{ xmlns: "http://schemas.microsoft.com/deepzoom/2008",
    Url: encodeURIComponent(name) + "_files/", Format: "{format}", Overlap: "{overlap}",
    TileSize: "{tile}", Size: {{ Width: "{w}", Height: "{h}" }} }} }}"#
        ),
        PageSource::Iiif { info } => format!(
            "Object.assign({}, {{ id: encodeURIComponent(name) }})",
            info.replace("</", "<\\/")
        ),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>
html, body {{ margin: 0; height: 100%; background: #111; overflow: hidden; }}
#view {{ position: absolute; inset: 0; }}
#tile {{ position: absolute; left: 8px; bottom: 8px; padding: 3px 8px; border-radius: 3px;
  font: 13px sans-serif; color: #eee; background: rgba(0, 0, 0, 0.65); display: none; }}
</style>
<script src="{VIEWER_DIR}/openseadragon.min.js"></script>
</head>
<body>
<div id="view"></div>
<div id="tile"></div>
<script>
var name = {name_js};
var viewer = OpenSeadragon({{
  id: "view",
  prefixUrl: "{VIEWER_DIR}/images/",
  tileSources: {source_js},
  showNavigator: true,
  navigatorPosition: "BOTTOM_RIGHT",
  maxZoomPixelRatio: 1,
  visibilityRatio: 0.5,
  crossOriginPolicy: false
}});
// Until the reader moves the view, a resized window shows the whole mosaic again.
var moved = false;
["canvas-press", "canvas-scroll", "canvas-key"].forEach(function (event) {{
  viewer.addHandler(event, function () {{ moved = true; }});
}});
viewer.addHandler("after-resize", function () {{
  // After OpenSeadragon's own zoom for the new size, which follows this event.
  setTimeout(function () {{ if (!moved) viewer.viewport.goHome(true); }}, 0);
}});
// The tile under the pointer: from NAME_tiles.js, when the export wrote it.
var label = document.getElementById("tile");
var script = document.createElement("script");
script.src = encodeURIComponent(name) + "_tiles.js";
script.onload = function () {{
  var t = window.tesseraTiles;
  var bytes = Uint8Array.from(atob(t.grid), function (c) {{ return c.charCodeAt(0); }});
  var grid = t.bytes === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
  new OpenSeadragon.MouseTracker({{
    element: viewer.container,
    moveHandler: function (e) {{
      var item = viewer.world.getItemAt(0);
      if (!item) return;
      var p = item.viewerElementToImageCoordinates(e.position);
      var onScreen = t.cellPx * item.viewportToImageZoom(viewer.viewport.getZoom(true));
      var col = Math.floor(p.x / t.cellPx), row = Math.floor(p.y / t.cellPx);
      var inside = col >= 0 && row >= 0 && col < t.cols && row < t.rows;
      if (inside && onScreen >= 48) {{
        label.textContent = t.names[grid[row * t.cols + col]];
        label.style.display = "block";
      }} else {{
        label.style.display = "none";
      }}
    }}
  }});
}};
document.head.appendChild(script);
</script>
</body>
</html>
"#
    )
}

/// `NAME_tiles.js`: the grid (tile ids, little-endian, base64) and each tile's source, for
/// the page's label of the tile under the pointer.
pub fn tiles_script(scene: &tessera::Scene, cell_px: u32) -> String {
    use base64::Engine as _;
    let narrow = scene.library.tile_count() <= 1 << 16;
    let grid: Vec<u8> = if narrow {
        scene
            .grid
            .iter()
            .flat_map(|&t| (t as u16).to_le_bytes())
            .collect()
    } else {
        scene.grid.iter().flat_map(|&t| t.to_le_bytes()).collect()
    };
    let names: Vec<&str> = scene
        .library
        .manifest
        .tiles
        .iter()
        .map(|t| t.source.path.as_str())
        .collect();
    let data = serde_json::json!({
        "cols": scene.cols(),
        "rows": scene.rows(),
        "cellPx": cell_px,
        "bytes": if narrow { 2 } else { 4 },
        "names": names,
        "grid": base64::engine::general_purpose::STANDARD.encode(grid),
    });
    format!(
        "window.tesseraTiles = {};\n",
        script_safe(&data.to_string())
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

/// A JavaScript string literal of `text` that cannot end the `<script>` it sits in.
fn script_string(text: &str) -> String {
    script_safe(&serde_json::to_string(text).expect("a string serialises"))
}

/// JSON made safe inside `<script>`: `<`, `>`, `&` and the two line separators JavaScript
/// once refused, escaped.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}
