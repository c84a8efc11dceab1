#!/usr/bin/env bash
# The build without FFmpeg (cargo feature `video` off): it compiles and lints clean, links no
# FFmpeg library, renders a still mosaic, and refuses a video naming the feature to enable.
# Called by scripts/test.sh; needs the toolchain set up by scripts/setup.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cargo clippy --release --locked --no-default-features -- -D warnings
cargo build --release --locked --no-default-features --bin tessera
bin="$here/target/stills-only/tessera"
mkdir -p "$(dirname "$bin")"
cp target/release/tessera "$bin"

fail() { echo "stills-only build: $*" >&2; exit 1; }
if ldd "$bin" | grep -q 'libav'; then fail "links FFmpeg: $(ldd "$bin" | grep libav | head -1)"; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" synth --tiles 12 --max-tile 32 --cells 8x6 -o "$work/s.mosaic" >/dev/null
"$bin" render "$work/s.mosaic" -o "$work/s.png" --size 64x48 --renderer cpu >/dev/null
[ -s "$work/s.png" ] || fail "rendered no picture"
for refused in "render $work/s.mosaic -o $work/v.mp4" "match --library $work/s.tlib --target $work/clip.mp4 -o $work/v.mosaic"; do
  echo "not a video" > "$work/clip.mp4"
  # shellcheck disable=SC2086
  if out="$("$bin" $refused 2>&1)"; then fail "accepted a video: tessera $refused"; fi
  grep -q "feature \`video\`" <<<"$out" || fail "refused a video without naming the feature: $out"
done
[ ! -e "$work/v.mp4" ] && [ ! -e "$work/v.mosaic" ] || fail "left a file behind"
echo "stills-only build: no FFmpeg linked, stills render, videos refused naming the feature"
