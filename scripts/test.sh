#!/usr/bin/env bash
# Every test: set up what is missing, check formatting and lints, then run the whole suite
# (unit, integration, GPU golden tests on the best adapter there is, and the viewer window
# under a virtual X display).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/setup.sh"
# The exported web page is tested in a real browser (headless, offline); the recipe for
# baking in shards with GNU parallel is run as written; xsetroot paints the X screen the
# live tests capture; an ffmpeg process sends a live stream with sound.
install_missing tests chromium parallel x11-xserver-utils ffmpeg
cd "$here"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
cargo fmt --all -- --check
cargo clippy --release --locked --all-targets -- -D warnings
# The public API documents every item (`#![warn(missing_docs)]`), with no broken links.
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --lib
# The build without FFmpeg (`--no-default-features`), before the tests rebuild the default one.
scripts/check-stills-only.sh
# Tests run in release: the GPU and matching tests push real pixels. `-noreset`: an X server
# resets when its last client leaves, and a window opening during the reset fails to connect
# (seen once in ~10 runs of tests/video_target.rs, whose other tests' processes come and go).
xvfb-run -a -s "-screen 0 1280x800x24 -noreset" cargo test --release --locked --all-targets
# The binary the tests just built, on the PATH for the README's recipes.
link_tessera "$here"
