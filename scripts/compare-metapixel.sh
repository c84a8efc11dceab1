#!/usr/bin/env bash
# Fidelity side by side, in one run: tessera's defaults and options against metapixel
# (Debian's `metapixel`, installed here if missing) with the same tiles (the demo's 1,349
# photograph crops) on the same 80×50 grid over the same target (the ladybird, 2560×1600,
# 32 px a cell). Every picture is scored by `tessera fidelity`: mean CIELAB ΔE at the grid
# and SSIM of luma at 3× the grid. Prints a Markdown table.
#
#   cargo build --release && scripts/compare-metapixel.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tessera="${TESSERA:-$here/target/release/tessera}"
[ -x "$tessera" ] || { echo "build tessera first: cargo build --release" >&2; exit 1; }
. "$here/scripts/apt.sh"
install_missing compare-metapixel metapixel mate-backgrounds
# Any 2560×1600 picture works as TARGET (80×50 cells of 32 px, whole tiles for metapixel).
target="${TARGET:-/usr/share/backgrounds/mate/nature/LadyBird.jpg}"
tiles="$HOME/.cache/tessera/demo/tiles"
[ -d "$tiles" ] || "$tessera" demo -o "$(mktemp -d)" >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cells=80x50
size=2560x1600

score() { # NAME PICTURE
  local line
  line="$("$tessera" fidelity "$2" --target "$target" --cells "$cells")"
  local de ssim
  de="$(sed -E 's/.*ΔE ([0-9.]+).*/\1/' <<<"$line")"
  ssim="$(sed -E 's/.*SSIM ([0-9.]+).*/\1/' <<<"$line")"
  echo "| $1 | $de | $ssim |"
}

mkdir -p "$work/mp"
metapixel-prepare --width=32 --height=32 "$tiles" "$work/mp" >/dev/null 2>&1
metapixel -l "$work/mp" -w 32 -h 32 --metapixel "$target" "$work/mp.png" >/dev/null 2>&1
metapixel -l "$work/mp" -w 32 -h 32 --distance=3 --metapixel "$target" "$work/mp-d3.png" >/dev/null 2>&1

for grid in 3 1; do
  "$tessera" bake --tiles "$tiles" -o "$work/g$grid.tlib" --grid "$grid" --max-tile 32 >/dev/null
done
tess() { # NAME GRID PICTURE-OPTIONS... -- MATCH-OPTIONS...
  local name="$1" grid="$2"; shift 2
  local render=() match=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do render+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  match=("$@")
  "$tessera" match --library "$work/g$grid.tlib" --target "$target" --cells "$cells" \
    -o "$work/m.mosaic" ${match[@]+"${match[@]}"} >/dev/null
  "$tessera" render "$work/m.mosaic" -o "$work/t.png" --size "$size" --renderer cpu \
    ${render[@]+"${render[@]}"} >/dev/null
  score "$name" "$work/t.png"
}

echo "| 80×50 cells, 1,349 tiles | ΔE at the grid (lower is better) | SSIM at 3× (higher is better) |"
echo "|---|---:|---:|"
score "metapixel, defaults" "$work/mp.png"
score "metapixel \`--distance=3\`" "$work/mp-d3.png"
tess "tessera, defaults (3×3 signatures, lightness 3×)" 3
tess "tessera \`--lightness-weight 1\`" 3 -- --lightness-weight 1
tess "tessera \`--grid 1\`" 1
tess "tessera \`--repeat-radius 3\` (refined, lightness 2.5×)" 3 -- --repeat-radius 3
tess "tessera \`--repeat-radius 3 --greedy --lightness-weight 3\` (the match before refining)" 3 -- --repeat-radius 3 --greedy --lightness-weight 3
tess "tessera \`--repeat-radius 3 --lightness-weight 1\`" 3 -- --repeat-radius 3 --lightness-weight 1
tess "tessera \`--max-uses 20\`" 3 -- --max-uses 20
tess "tessera \`--repeat-radius 3 --tint 0.5\`" 3 --tint 0.5 -- --repeat-radius 3
