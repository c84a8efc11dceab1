#!/usr/bin/env bash
# The exported page's figures: export time and size of a mosaic at 64 and 256 px per cell
# (Deep Zoom and IIIF), and the time the page takes in headless Chromium, from a local
# server, to show the whole mosaic sharp (every tile of its first view loaded).
#
#   scripts/web-figures.sh MOSAIC [OUT]     (default OUT: a temporary folder)
#
# Needs Debian's `chromium` (the test script installs it) and Node.js 20 or newer (the
# DevTools client, `page-sharp.mjs`).
set -euo pipefail
mosaic="$1"
out="${2:-$(mktemp -d)}"
tessera="${TESSERA:-tessera}"
port=8765
mkdir -p "$out"
for cell in 64 256; do
  for kind in dzi iiif; do
    dir="$out/$kind-$cell"
    rm -rf "$dir"
    start=$(date +%s.%N)
    "$tessera" export "$mosaic" --"$kind" "$dir" --name m --cell-px "$cell" >/dev/null
    end=$(date +%s.%N)
    size=$(find "$dir" -type f -printf "%s\n" | awk "{s += \$1} END {print s}")
    files=$(find "$dir" -type f | wc -l)
    # A probe beside the page: the page in a frame, timed until its first view is sharp.
    cat > "$dir/probe.html" <<'HTML'
<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body style="margin:0">
<iframe id="f" src="m.html" width="1280" height="720" style="border:0"></iframe>
<pre id="out">not sharp</pre>
<script>
var t0 = performance.now();
var poll = setInterval(function () {
  var w = document.getElementById("f").contentWindow;
  var item = w.viewer && w.viewer.world.getItemAt(0);
  if (item && item.getFullyLoaded()) {
    window.probe = "sharp after " + Math.round(performance.now() - t0) + " ms";
    clearInterval(poll);
  }
}, 5);
</script></body></html>
HTML
    python3 -m http.server "$port" --bind 127.0.0.1 -d "$dir" >/dev/null 2>&1 &
    server=$!
    chromium --headless --no-sandbox --disable-gpu --window-size=1280,800 \
      --remote-debugging-port=9339 about:blank >/dev/null 2>&1 &
    browser=$!
    sleep 1.5
    sharp=$(node --experimental-websocket "$(dirname "$0")/page-sharp.mjs" 9339 \
      "http://127.0.0.1:$port/probe.html" 2>/dev/null)
    kill "$server" "$browser"
    wait "$server" "$browser" 2>/dev/null || true
    python3 -c "import sys; k, c, t0, t1, n, b, s = sys.argv[1:]; print(f'| {k} | {c} | {float(t1) - float(t0):.1f} s | {n} files, {int(b) / 2**20:.1f} MiB | {s} |')" \
      "$kind" "$cell" "$start" "$end" "$files" "$size" "$sharp"
  done
done
