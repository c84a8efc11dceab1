#!/usr/bin/env bash
# Live-target figures: FFmpeg sends a 1280×720 30 fps MPEG-TS stream (H.264, a keyframe a
# second) over UDP loopback; `tessera render --live` records its mosaic into 160×90 cells
# of LIBRARY for SECONDS and reports frames decoded, drawn and dropped and the
# capture-to-encoder latency; peak RSS from /usr/bin/time.
#
#   scripts/live-figures.sh LIBRARY [SECONDS] [OUT]
#
# Needs the `ffmpeg` command (Debian's `ffmpeg` package) for the sender.
set -euo pipefail
library="$1"
seconds="${2:-60}"
out="${3:-$(mktemp -d)}"
tessera="${TESSERA:-tessera}"
port=5004
mkdir -p "$out"
ffmpeg -v error -re -f lavfi -i "testsrc2=size=1280x720:rate=30" -t "$((seconds + 20))" \
  -c:v libx264 -g 30 -preset ultrafast -tune zerolatency -f mpegts "udp://127.0.0.1:$port" &
sender=$!
trap 'kill $sender 2>/dev/null || true' EXIT
/usr/bin/time -f "peak RSS %M KB" "$tessera" render --library "$library" \
  --live "udp://127.0.0.1:$port" --live-cells 160x90 --size 1280x720 \
  --duration "$seconds" -o "$out/live.mp4"
