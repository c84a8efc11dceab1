#!/usr/bin/env bash
# Live-target figures: FFmpeg sends a 1280×720 30 fps MPEG-TS stream (H.264, a keyframe a
# second) over UDP loopback, and LIBRARY's mosaic of it in 160×90 cells is
#   1. recorded by `tessera render --live` for SECONDS (capture-to-encoder latency),
#   2. shown by `tessera view --live` for SECONDS in a 1280×720 window, under Xvfb where
#      there is no display (capture-to-present latency),
#   3. drawn by `tessera bench --live` for SOAK_MINUTES (memory, open files and threads
#      each minute; capture-to-draw latency),
# each reporting frames decoded, drawn and dropped; peak RSS from /usr/bin/time.
#
#   scripts/live-figures.sh LIBRARY [SECONDS] [SOAK_MINUTES] [OUT]
#
# Needs the `ffmpeg` command (Debian's `ffmpeg` package) for the sender, and xvfb-run.
set -euo pipefail
library="$1"
seconds="${2:-60}"
soak="${3:-10}"
out="${4:-$(mktemp -d)}"
tessera="${TESSERA:-tessera}"
port=5004
url="udp://127.0.0.1:$port"
mkdir -p "$out"
sender=""
send() { # seconds
  ffmpeg -v error -re -f lavfi -i "testsrc2=size=1280x720:rate=30" -t "$1" \
    -c:v libx264 -g 30 -preset ultrafast -tune zerolatency -f mpegts "$url" &
  sender=$!
}
trap '[ -n "$sender" ] && kill "$sender" 2>/dev/null || true' EXIT
live=(--library "$library" --live "$url" --cells 160x90 --size 1280x720)

echo "## into MP4, $seconds s"
send "$((seconds + 20))"
/usr/bin/time -f "peak RSS %M KB" "$tessera" render "${live[@]}" --duration "$seconds" -o "$out/live.mp4"
kill "$sender" 2>/dev/null || true; wait "$sender" 2>/dev/null || true

echo "## in a window, $seconds s"
window=()
if [ -z "${DISPLAY:-}" ]; then window=(xvfb-run -a -s "-screen 0 1280x800x24 -noreset"); fi
send "$((seconds + 20))"
/usr/bin/time -f "peak RSS %M KB" "${window[@]}" "$tessera" view "${live[@]}" --quit-after "$seconds"
kill "$sender" 2>/dev/null || true; wait "$sender" 2>/dev/null || true

echo "## drawn for $soak minutes"
send "$((soak * 60 + 30))"
/usr/bin/time -f "peak RSS %M KB" "$tessera" bench "${live[@]}" --soak "$soak"
