#!/usr/bin/env bash
# Side by side, in one run on one machine: the GPU path on this machine's adapter and the
# CPU renderer, (1) per zoom headless (`bench --path levels`, with each one's floor), (2)
# in the viewer's window (median draw time, under Xvfb when there is no display), and (3)
# exporting a 1080p zoom video end to end: today's default (`--renderer auto`, x264
# veryfast CRF 17) against the GPU path with the old encoder default (fast, CRF 18), and
# each change alone. Prints Markdown tables; PSNR against a lossless export where Python
# has PyAV and numpy (`pip install av numpy`; $PYTHON picks the Python).
#
#   scripts/compare-renderers.sh big.mosaic demo.mosaic   # after: tessera synth --tiles 18000 --max-tile 64 --cells 1920x1080 -o big.mosaic
#
# The first mosaic is drawn per zoom and in the window; the second is exported
# (~/.cache/tessera/demo/demo.mosaic after `tessera demo`: real photographs).
set -euo pipefail
mosaic="${1:?usage: compare-renderers.sh MOSAIC EXPORT_MOSAIC [ROUNDS]}"
exported="${2:?usage: compare-renderers.sh MOSAIC EXPORT_MOSAIC [ROUNDS]}"
rounds="${3:-3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TESSERA="${TESSERA:-$here/target/release/tessera}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
window=()
if [ -z "${DISPLAY:-}" ]; then window=(xvfb-run -a -s "-screen 0 1920x1080x24"); fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"${window[@]}" "${PYTHON:-python3}" - "$mosaic" "$exported" "$rounds" "$out" <<'PY'
import json, os, re, statistics, subprocess, sys, time
mosaic, exported, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tessera = os.environ["TESSERA"]
zooms = "0.5,1,1.5,2,4,8,16,64"
med = statistics.median

def run(args):
    return subprocess.run([tessera, *args], check=True, capture_output=True, text=True)

# 1. Headless, per zoom.
levels = {"gpu": {}, "cpu": {}}
gpu_floor, cpu_floor, adapter = [], {}, ""
for _ in range(rounds):
    for r in ("gpu", "cpu"):
        rep = json.loads(run(["bench", mosaic, "--path", "levels", "--renderer", r,
                              "--frames", "20", "--zooms", zooms, "--json"]).stdout)
        if r == "gpu":
            adapter = rep["adapter"]
            gpu_floor.append(rep["floor_ms"][0])
        for row in rep["levels"]:
            levels[r].setdefault(row["cell_px"], []).append(row["frame_ms_median"])
            if r == "cpu" and row.get("copy_floor_ms_median") is not None:
                cpu_floor.setdefault(row["cell_px"], []).append(row["copy_floor_ms_median"])
print(f"Headless 1920×1080, median ms of {rounds} rounds; GPU path on {adapter}, "
      f"its one-fetch floor {med(gpu_floor):.1f} ms")
print()
print("| px/cell | GPU path | GPU / its floor | CPU renderer | CPU copy floor | CPU faster by |")
print("|---:|---:|---:|---:|---:|---:|")
for px in sorted(levels["cpu"]):
    g, c = med(levels["gpu"][px]), med(levels["cpu"][px])
    f = f"{med(cpu_floor[px]):.2f}" if px in cpu_floor else "–"
    print(f"| {px:g} | {g:.2f} | {g / med(gpu_floor):.2f}× | {c:.2f} | {f} | {g / c:.2f}× |")

# 2. The window: median draw time over 200 frames (streaming, drawing, presenting).
print()
print("| px/cell | window, GPU path (median draw ms) | window, CPU renderer + blit | CPU faster by |")
print("|---:|---:|---:|---:|")
for px in ("1", "8", "64"):
    ms = {}
    for _ in range(rounds):
        for r in ("gpu", "cpu"):
            log = run(["-v", "view", mosaic, "--size", "1920x1080", "--cell-px", px,
                       "--exit-after", "200", "--no-overlay", "--renderer", r]).stderr
            m = re.search(r"median draw ([\d.]+) ms", log)
            ms.setdefault(r, []).append(float(m.group(1)))
    g, c = med(ms["gpu"]), med(ms["cpu"])
    print(f"| {px} | {g:.1f} | {c:.1f} | {g / c:.2f}× |")

# 3. Export: a 120-frame 1080p zoom, end to end (wall clock of `tessera render`).
configs = [
    ("GPU path, fast CRF 18 (the old defaults)", ["--renderer", "gpu", "--preset", "fast", "--crf", "18"]),
    ("CPU renderer, fast CRF 18", ["--renderer", "cpu", "--preset", "fast", "--crf", "18"]),
    ("GPU path, veryfast CRF 17", ["--renderer", "gpu"]),
    ("auto, veryfast CRF 17 (the defaults)", []),
]
try:
    import av, numpy as np
    run(["render", exported, "-o", f"{out}/ref.mp4", "--path", "zoom", "--frames", "120",
         "--crf", "0", "--preset", "ultrafast"])
    def frames(p):
        with av.open(p) as c:
            for f in c.decode(video=0):
                yield f.to_ndarray(format="yuv420p").astype(np.float64)
    ref = list(frames(f"{out}/ref.mp4"))
    def psnr(p):
        mse = np.mean([np.mean((a - b) ** 2) for a, b in zip(ref, frames(p))])
        return f"{10 * np.log10(255 ** 2 / mse):.2f} dB"
except ImportError:
    psnr = lambda p: "n/a (pip install av numpy)"
print()
print(f"| export, 120 frames 1920×1080 ({rounds} rounds) | wall s, median | speed-up | MiB | PSNR vs lossless |")
print("|---|---:|---:|---:|---:|")
base = None
for name, args in configs:
    walls = []
    for _ in range(rounds):
        t = time.perf_counter()
        run(["render", exported, "-o", f"{out}/x.mp4", "--path", "zoom", "--frames", "120", *args])
        walls.append(time.perf_counter() - t)
    w = med(walls)
    base = base or w
    size = os.path.getsize(f"{out}/x.mp4") / 2 ** 20
    print(f"| {name} | {w:.2f} | {base / w:.2f}× | {size:.1f} | {psnr(f'{out}/x.mp4')} |")
PY
