#!/usr/bin/env bash
# The figures a graphics card should be measured for, in one call, on whatever adapter the
# machine has: frame time per zoom for the GPU path and the CPU renderer side by side (with
# the GPU path's one-fetch floor) at 1080p and 4K, the 2,400-frame tour over 18,000 stills
# and over 18,000 playing clips (and --still), and a video target end to end where the
# build has video. Writes OUT/gpu-figures.json and OUT/gpu-figures.md. Needs only bash,
# python3 and the tessera binary (no toolchain, no network): see docs/gpu.md.
#
#   scripts/gpu-figures.sh OUT [--quick]      TESSERA=path/to/tessera (default: on the PATH)
#
# --quick shrinks every size (2,000 tiles, 640×360 and 1280×720 frames, 240-frame tours) so
# the whole run takes a few minutes on two cores with Mesa's llvmpipe; the full run is sized
# for 16 cores and a GPU: the two libraries it makes take 24 GiB of disk.
set -euo pipefail
out="${1:?usage: scripts/gpu-figures.sh OUT [--quick]}"
quick=false
[ "${2:-}" = "--quick" ] && quick=true
bin="${TESSERA:-tessera}"
command -v "$bin" >/dev/null || { echo "gpu-figures: no tessera at '$bin'; set TESSERA" >&2; exit 1; }
mkdir -p "$out/runs"
work="${GPU_FIGURES_WORK:-$(mktemp -d)}"
trap 'rm -rf "$work"' EXIT

if $quick; then
  tiles=2000; clip_frames=12; cells=480x270; sizes="640x360 1280x720"; tour=240; level_frames=20
else
  tiles=18000; clip_frames=48; cells=1920x1080; sizes="1920x1080 3840x2160"; tour=2400; level_frames=100
fi
log() { echo "gpu-figures: $*" >&2; }
# One bench run, its JSON kept as runs/NAME.json.
bench() {
  local name="$1"; shift
  log "$name: tessera bench $*"
  "$bin" bench "$@" --json >"$out/runs/$name.json"
}

log "synth: $tiles stills of 256 px over $cells cells"
"$bin" synth --tiles "$tiles" --max-tile 256 --cells "$cells" -o "$work/stills.mosaic" >&2
for size in $sizes; do
  for renderer in gpu cpu; do
    bench "levels-$renderer-$size" "$work/stills.mosaic" --path levels --renderer "$renderer" \
      --size "$size" --frames "$level_frames"
  done
done
bench "tour-stills" "$work/stills.mosaic" --renderer gpu --frames "$tour"
rm -rf "$work/stills.mosaic" "$work/stills.tlib"

log "synth: $tiles clips × $clip_frames frames of 64 px over $cells cells"
"$bin" synth --clips "$tiles" --frames "$clip_frames" --max-tile 64 --cells "$cells" \
  -o "$work/clips.mosaic" >&2
bench "tour-clips-playing" "$work/clips.mosaic" --renderer gpu --frames "$tour"
bench "tour-clips-still" "$work/clips.mosaic" --renderer gpu --frames "$tour" --still

# A video target, where this build has video: a clip rendered from the clips mosaic itself.
if "$bin" render "$work/clips.mosaic" -o "$work/target.mp4" --size 1280x720 --frames 120 \
  --renderer gpu >&2 2>"$work/video.err"; then
  "$bin" match --library "$work/clips.tlib" --target "$work/target.mp4" --cells 160x90 \
    -o "$work/video.mosaic" >&2
  for size in 1920x1080 3840x2160; do
    log "video target end to end at $size"
    start=$(date +%s.%N)
    "$bin" render "$work/video.mosaic" -o "$work/out-$size.mp4" --size "$size" --renderer gpu \
      >"$out/runs/video-$size.txt"
    end=$(date +%s.%N)
    python3 -c "import json; print(json.dumps({'size': '$size', 'frames': 120, 'seconds': $end - $start}))" \
      >"$out/runs/video-$size.json"
  done
  bench "video-live-1280x720" "$work/video.mosaic" --renderer gpu --size 1280x720
else
  log "no video in this build: $(tail -1 "$work/video.err")"
fi

driver=""
command -v nvidia-smi >/dev/null && driver="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)"
python3 - "$out" "$quick" "$driver" <<'PY'
import json, os, sys, glob, datetime
out, quick, driver = sys.argv[1], sys.argv[2] == "true", sys.argv[3]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "runs", "*.json"))):
    with open(path) as f:
        runs[os.path.basename(path)[:-5]] = json.load(f)
adapter = next((r.get("adapter") for k, r in runs.items() if "gpu" in k and "adapter" in r), None)
report = {"date": datetime.date.today().isoformat(), "quick": quick, "adapter": adapter,
          "driver": driver, "runs": runs}
with open(os.path.join(out, "gpu-figures.json"), "w") as f:
    json.dump(report, f, indent=1)

lines = [f"# GPU figures ({report['date']}{', --quick' if quick else ''})", "",
         f"Adapter: {adapter}" + (f"; driver: {driver}" if driver else ""), ""]
for key in sorted(k for k in runs if k.startswith("levels-gpu-")):
    size = key[len("levels-gpu-"):]
    gpu, cpu = runs[key], runs.get(f"levels-cpu-{size}", {})
    floor = (gpu.get("floor_ms") or [None])[0]
    lines += [f"## Frame time per zoom, {size}", "",
              f"GPU one-fetch floor: {floor:.2f} ms" if floor else "GPU one-fetch floor: -", "",
              "| px/cell | GPU median ms | GPU p99 ms | GPU / floor | CPU median ms | CPU copy floor ms |",
              "|---:|---:|---:|---:|---:|---:|"]
    cpu_levels = {l["cell_px"]: l for l in cpu.get("levels", [])}
    for l in gpu.get("levels", []):
        c = cpu_levels.get(l["cell_px"], {})
        ratio = f"{l['frame_ms_median'] / floor:.2f}×" if floor else "-"
        fmt = lambda v: f"{v:.2f}" if isinstance(v, (int, float)) else "-"
        lines.append(f"| {l['cell_px']:g} | {fmt(l['frame_ms_median'])} | {fmt(l['frame_ms_p99'])} | {ratio} | "
                     f"{fmt(c.get('frame_ms_median'))} | {fmt(c.get('copy_floor_ms_median'))} |")
    lines.append("")
tours = [k for k in ("tour-stills", "tour-clips-playing", "tour-clips-still", "video-live-1280x720") if k in runs]
if tours:
    lines += ["## Tours", "", "| run | frames | median ms | p99 ms | p99 / median | late % after 1 s | peak RSS MiB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for k in tours:
        r = runs[k]
        med, p99 = r["frame_ms_median"], r["frame_ms_p99"]
        late = r.get("late_percent_after_1s")
        lines.append(f"| {k} | {r['frames']} | {med:.2f} | {p99:.2f} | {p99 / med:.2f}× | "
                     f"{'-' if late is None else f'{late:.2f}'} | {r['peak_rss_bytes'] / 2**20:.0f} |")
    lines.append("")
videos = [runs[k] for k in sorted(runs) if k.startswith("video-") and "seconds" in runs[k]]
if videos:
    lines += ["## Video target, end to end", "", "| size | frames | seconds | fps |", "|---|---:|---:|---:|"]
    for v in videos:
        lines.append(f"| {v['size']} | {v['frames']} | {v['seconds']:.1f} | {v['frames'] / v['seconds']:.1f} |")
    lines.append("")
with open(os.path.join(out, "gpu-figures.md"), "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
PY
