#!/usr/bin/env bash
# Cells of 16:9 against square cells, side by side in one run: two synthetic libraries of
# 18,000 clips of 12 frames at 64 px (the same pages: a 16:9 tile fills 64×36 of each),
# 1920×1080-cell mosaics, the CPU renderer: the 1,200-frame tour three times each,
# alternating, then the frame time at each zoom, at powers of two and between them, against
# square cells of the same longer side (the same texels a cell) and of the same area (as
# many cells on screen: three quarters of the side).
#
#   scripts/aspect-figures.sh [WORK]    (about 7 GiB in WORK, default a temporary folder)
set -euo pipefail
tessera="${TESSERA:-tessera}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
for a in 1:1 16:9; do
  [ -e "$work/${a/:/x}.mosaic" ] && continue   # made by an earlier run
  "$tessera" synth --clips 18000 --frames 12 --max-tile 64 --cells 1920x1080 \
    --tile-aspect "$a" -o "$work/${a/:/x}.mosaic" | tail -1
done
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# Six alternating rounds of the tour; the first three warm the page cache and are not shown.
for round in 1 2 3 4 5 6; do
  for a in 1x1 16x9; do
    "$tessera" bench "$work/$a.mosaic" --path tour --frames 1200 --renderer cpu --json >"$work/tour-$a-$round.json"
    [ "$round" -le 3 ] && continue
    echo "tour $a round $((round - 3)): median $(json "$work/tour-$a-$round.json" "round(d['frame_ms_median'],2)") ms, p99 $(json "$work/tour-$a-$round.json" "round(d['frame_ms_p99'],2)") ms, peak RSS $(json "$work/tour-$a-$round.json" "d['peak_rss_bytes']>>20") MiB"
  done
done
levels() {   # NAME MOSAIC ZOOMS
  "$tessera" bench "$2" --path levels --frames 60 --zooms "$3" --renderer cpu --json >"$work/levels-$1.json"
  echo "levels $1: $(json "$work/levels-$1.json" "[(l['cell_px'], round(l['frame_ms_median'],2)) for l in d['levels']]")"
}
# Zooms as 16:9's longer side: its powers of two, between them, and the square's powers of
# two (16:9 at 4/3 of them has a square's area).
for zooms in 1,2,4,8,16,32,64,128,256 1.5,3,6,12,24,48,96,192 \
  "$(python3 -c "print(','.join(repr(2**k*4/3) for k in range(8)))")"; do
  area=$(python3 -c "print(','.join(repr(0.75*float(z)) for z in '$zooms'.split(',')))")
  levels 16x9 "$work/16x9.mosaic" "$zooms"
  levels 1x1-same-side "$work/1x1.mosaic" "$zooms"
  levels 1x1-same-area "$work/1x1.mosaic" "$area"
done
