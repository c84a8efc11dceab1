#!/usr/bin/env bash
# Repeat control beside metapixel, held out: the demo's 1,349 photograph crops as tiles for
# both tools, and as targets photographs neither the tiles nor the defaults were tuned on
# (KDE's Plasma wallpapers, Debian's `plasma-workspace-wallpapers`, installed here if
# missing, at 2560×1600), 80×50 cells of 32 px. For each repeat radius 0–3 (metapixel's
# `--distance`, tessera's `--repeat-radius`), every picture is scored by `tessera fidelity`
# (mean CIELAB ΔE at the grid, SSIM of luma at 3×); prints one line per target and radius,
# then the means and tessera's wins as a Markdown table.
#
#   cargo build --release && scripts/metapixel-radii.sh [NAME ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tessera="${TESSERA:-$here/target/release/tessera}"
[ -x "$tessera" ] || { echo "build tessera first: cargo build --release" >&2; exit 1; }
. "$here/scripts/apt.sh"
install_missing metapixel-radii metapixel mate-backgrounds plasma-workspace-wallpapers
tiles="$HOME/.cache/tessera/demo/tiles"
[ -d "$tiles" ] || "$tessera" demo -o "$(mktemp -d)" >/dev/null
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(Autumn BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow
  FallenLeaf Grey Kite OneStandsOut Path summer_1am)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mp"
metapixel-prepare --width=32 --height=32 "$tiles" "$work/mp" >/dev/null 2>&1
"$tessera" bake --tiles "$tiles" -o "$work/tiles.tlib" --max-tile 32 >/dev/null
score() { # PICTURE TARGET → "ΔE SSIM"
  "$tessera" fidelity "$1" --target "$2" --cells 80x50 |
    sed -E 's/.*ΔE ([0-9.]+).*SSIM ([0-9.]+).*/\1 \2/'
}
for name in "${names[@]}"; do
  target="/usr/share/wallpapers/$name/contents/images/2560x1600.jpg"
  for r in 0 1 2 3; do
    mp=(); tess=()
    if [ "$r" -gt 0 ]; then mp=(--distance="$r"); tess=(--repeat-radius "$r"); fi
    metapixel -l "$work/mp" -w 32 -h 32 "${mp[@]}" --metapixel "$target" "$work/mp.png" >/dev/null 2>&1
    "$tessera" match --library "$work/tiles.tlib" --target "$target" --cells 80x50 \
      -o "$work/m.mosaic" "${tess[@]}" >/dev/null
    "$tessera" render "$work/m.mosaic" -o "$work/t.png" --size 2560x1600 --renderer cpu >/dev/null
    echo "$name $r $(score "$work/mp.png" "$target") $(score "$work/t.png" "$target")"
  done
done | tee "$work/scores" >&2
echo "| radius | metapixel ΔE / SSIM (mean) | tessera ΔE / SSIM (mean) | tessera better: ΔE, SSIM |"
echo "|---:|---:|---:|---:|"
awk '{ n[$2]++; md[$2]+=$3; ms[$2]+=$4; td[$2]+=$5; ts[$2]+=$6; wd[$2]+=($5<$3); ws[$2]+=($6>$4) }
  END { for (r = 0; r <= 3; r++) printf "| %d | %.2f / %.3f | %.2f / %.3f | %d, %d of %d |\n",
    r, md[r]/n[r], ms[r]/n[r], td[r]/n[r], ts[r]/n[r], wd[r], ws[r], n[r] }' "$work/scores"
