#!/usr/bin/env bash
# Side by side, in one run on one machine: tessera's CPU renderer (`bench --path levels
# --renderer cpu`) and the reference system's Numba draw loop (a replica,
# ../shared/anchors/numba_seed.py, or $NUMBA_SEED), each at 1–64 px per cell on a
# 1920×1080 frame of a 1920×1080-cell mosaic of 18,000 tiles. Prints a Markdown table.
#
#   scripts/compare-numba.sh big.mosaic      # after: tessera synth --tiles 18000 --max-tile 256 --cells 1920x1080 -o big.mosaic
#
# Needs Python with numba and numpy ($PYTHON, default python3; `pip install numba numpy`).
set -euo pipefail
mosaic="${1:?usage: compare-numba.sh MOSAIC [ROUNDS]}"
rounds="${2:-3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seed="${NUMBA_SEED:-$here/../shared/anchors/numba_seed.py}"
python="${PYTHON:-python3}"
tessera="${TESSERA:-$here/target/release/tessera}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  "$tessera" bench "$mosaic" --path levels --renderer cpu --frames 30 --json > "$out/tessera-$r.json"
  "$python" "$seed" 18000 30 > "$out/numba-$r.txt"
done
"$python" - "$out" "$rounds" <<'PY'
import json, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ours, theirs, floor = {}, {}, {}
for r in range(1, rounds + 1):
    for row in json.load(open(f"{out}/tessera-{r}.json"))["levels"]:
        ours.setdefault(int(row["cell_px"]), []).append(row["frame_ms_median"])
        if row.get("copy_floor_ms_median") is not None:
            floor.setdefault(int(row["cell_px"]), []).append(row["copy_floor_ms_median"])
    for line in open(f"{out}/numba-{r}.txt"):
        m = re.match(r"tile\s+(\d+)px.*?([\d.]+) ms/frame", line)
        if m:
            theirs.setdefault(int(m.group(1)), []).append(float(m.group(2)))
print(f"| px/cell | tessera CPU renderer, median ms ({rounds} rounds) | Numba loop, median ms | speed-up | copy floor, median ms |")
print("|---:|---:|---:|---:|---:|")
for px in sorted(set(ours) & set(theirs)):
    a, b = statistics.median(ours[px]), statistics.median(theirs[px])
    runs = lambda v: " / ".join(f"{x:.2f}" for x in v)
    f = f"{statistics.median(floor[px]):.2f}" if px in floor else "–"
    print(f"| {px} | {a:.2f} ({runs(ours[px])}) | {b:.2f} ({runs(theirs[px])}) | {b / a:.2f}× | {f} |")
PY
