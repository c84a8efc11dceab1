#!/usr/bin/env bash
# Repeat control beside metapixel, held out: the demo's 1,349 photograph crops as tiles for
# both tools, and as targets photographs neither the tiles nor the defaults were tuned on
# (KDE's Plasma wallpapers, Debian's `plasma-workspace-wallpapers`, installed here if
# missing, at 2560×1600), 80×50 cells of 32 px. For each repeat radius 0–3 (metapixel's
# `--distance`, tessera's `--repeat-radius`), every picture is scored by `tessera fidelity`
# (mean CIELAB ΔE at the grid, SSIM of luma at 3×); prints one line per target and radius,
# then the means and tessera's wins as a Markdown table. With ASPECT=3:2 the tiles are 3:2
# (48×32 px for metapixel, `bake --tile-aspect 3:2` for tessera) and the targets' centre
# 2496×1600 (52×50 whole cells; cut by the `ffmpeg` command).
#
#   cargo build --release && [ASPECT=3:2] scripts/metapixel-radii.sh [NAME ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tessera="${TESSERA:-$here/target/release/tessera}"
[ -x "$tessera" ] || { echo "build tessera first: cargo build --release" >&2; exit 1; }
. "$here/scripts/apt.sh"
install_missing metapixel-radii metapixel mate-backgrounds plasma-workspace-wallpapers ffmpeg
aspect="${ASPECT:-1:1}"
case "$aspect" in
  1:1) tw=32 th=32 mt=32 cells=80x50 size=2560x1600 ;;
  3:2) tw=48 th=32 mt=64 cells=52x50 size=2496x1600 ;;
  *) echo "ASPECT: 1:1 or 3:2" >&2; exit 2 ;;
esac
tiles="$HOME/.cache/tessera/demo/tiles"
[ -d "$tiles" ] || "$tessera" demo -o "$(mktemp -d)" >/dev/null
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(Autumn BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow
  FallenLeaf Grey Kite OneStandsOut Path summer_1am)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mp"
metapixel-prepare --width=$tw --height=$th "$tiles" "$work/mp" >/dev/null 2>&1
"$tessera" bake --tiles "$tiles" -o "$work/tiles.tlib" --max-tile "$mt" --tile-aspect "$aspect" >/dev/null
score() { # PICTURE TARGET → "ΔE SSIM"
  "$tessera" fidelity "$1" --target "$2" --cells "$cells" --tile-aspect "$aspect" |
    sed -E 's/.*ΔE ([0-9.]+).*SSIM ([0-9.]+).*/\1 \2/'
}
for name in "${names[@]}"; do
  target="/usr/share/wallpapers/$name/contents/images/2560x1600.jpg"
  if [ "$aspect" != 1:1 ]; then
    ffmpeg -v error -y -i "$target" -vf "crop=${size%x*}:${size#*x}" -pix_fmt rgb24 "$work/target.png"
    target="$work/target.png"
  fi
  for r in 0 1 2 3; do
    mp=(); tess=()
    if [ "$r" -gt 0 ]; then mp=(--distance="$r"); tess=(--repeat-radius "$r"); fi
    metapixel -l "$work/mp" -w $tw -h $th "${mp[@]}" --metapixel "$target" "$work/mp.png" >/dev/null 2>&1
    "$tessera" match --library "$work/tiles.tlib" --target "$target" --cells "$cells" \
      -o "$work/m.mosaic" "${tess[@]}" >/dev/null
    "$tessera" render "$work/m.mosaic" -o "$work/t.png" --size "$size" --renderer cpu >/dev/null
    echo "$name $r $(score "$work/mp.png" "$target") $(score "$work/t.png" "$target")"
  done
done | tee "$work/scores" >&2
echo "| radius | metapixel ΔE / SSIM (mean) | tessera ΔE / SSIM (mean) | tessera better: ΔE, SSIM |"
echo "|---:|---:|---:|---:|"
awk '{ n[$2]++; md[$2]+=$3; ms[$2]+=$4; td[$2]+=$5; ts[$2]+=$6; wd[$2]+=($5<$3); ws[$2]+=($6>$4) }
  END { for (r = 0; r <= 3; r++) printf "| %d | %.2f / %.3f | %.2f / %.3f | %d, %d of %d |\n",
    r, md[r]/n[r], ms[r]/n[r], td[r]/n[r], ts[r]/n[r], wd[r], ws[r], n[r] }' "$work/scores"
