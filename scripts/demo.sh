#!/usr/bin/env bash
# The main job: set up what is missing, build, and render the demo mosaic to ./demo.png
# (plus ./demo-zoom.png). Extra arguments go to `tessera demo`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/setup.sh"
cd "$here"
cargo build --release --locked
exec "$here/target/release/tessera" demo "$@"
