#!/usr/bin/env bash
# The GPU path's two ways of drawing tiles, side by side in one run on one adapter: per
# pixel (one full-screen triangle) and a quad per cell, which the renderer uses from
# `CELL_QUADS_FROM_PX` (src/gpu/mosaic.rs) up. Each round runs `bench --path levels` with
# the default and with quads off (TESSERA_GPU_QUADS_FROM_PX=inf), alternating, and prints a
# Markdown table of median draw times and each one against the adapter's one-fetch floor.
#
#   scripts/compare-gpu-passes.sh big.mosaic [ROUNDS]   # after: tessera synth --tiles 18000 --max-tile 64 --cells 1920x1080 -o big.mosaic
set -euo pipefail
mosaic="${1:?usage: compare-gpu-passes.sh MOSAIC [ROUNDS]}"
rounds="${2:-3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TESSERA="${TESSERA:-$here/target/release/tessera}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
python3 - "$mosaic" "$rounds" <<'PY'
import json, os, statistics, subprocess, sys
mosaic, rounds = sys.argv[1], int(sys.argv[2])
zooms = "1,2,4,8,16,24,32,64,128,256,512"
med = statistics.median
ms = {"default": {}, "per pixel": {}}
floor, adapter = [], ""
for _ in range(rounds):
    for name, quads in (("default", None), ("per pixel", "inf")):
        env = dict(os.environ)
        env.pop("TESSERA_GPU_QUADS_FROM_PX", None)
        if quads:
            env["TESSERA_GPU_QUADS_FROM_PX"] = quads
        rep = json.loads(subprocess.run(
            [os.environ["TESSERA"], "bench", mosaic, "--path", "levels", "--renderer", "gpu",
             "--frames", "20", "--zooms", zooms, "--json"],
            check=True, capture_output=True, text=True, env=env).stdout)
        adapter = rep["adapter"]
        floor.append(rep["floor_ms"][0])
        for row in rep["levels"]:
            ms[name].setdefault(row["cell_px"], []).append(row["frame_ms_median"])
f = med(floor)
print(f"GPU path on {adapter}, 1920×1080, draw median ms of {rounds} rounds; "
      f"one-fetch floor {f:.2f} ms (median of its {len(floor)} runs)")
print()
print("| px/cell | default | / floor | per pixel only | / floor | default faster by |")
print("|---:|---:|---:|---:|---:|---:|")
for px in sorted(ms["default"]):
    d, p = med(ms["default"][px]), med(ms["per pixel"][px])
    print(f"| {px:g} | {d:.2f} | {d / f:.2f}× | {p:.2f} | {p / f:.2f}× | {p / d:.2f}× |")
PY
