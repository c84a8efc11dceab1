#!/usr/bin/env bash
# The main job: set up what is missing, build, and render the demo mosaic to ./demo.png
# (plus ./demo-zoom.png), and put `tessera` on the PATH. Extra arguments go to `tessera demo`; with `--video` the real
# footage is fetched first (scripts/fetch-videos.sh) and a fly-through ./demo-video.mp4 made.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/setup.sh"
cd "$here"
for arg in "$@"; do
  if [ "$arg" = "--video" ]; then "$here/scripts/fetch-videos.sh"; fi
done
cargo build --release --locked
link_tessera "$here"
exec "$here/target/release/tessera" demo "$@"
