#!/usr/bin/env bash
# Installs what tessera needs on Debian 12 (or Ubuntu) and is missing; does nothing when all
# is there. Run as root or with sudo available.
set -euo pipefail

PACKAGES=(
  # build: a C toolchain for crates with C parts
  build-essential pkg-config
  # video: FFmpeg 5.1 headers for ffmpeg-next (bindgen needs clang/libclang), x264 comes with libavcodec
  clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  # live sources from devices: webcams (v4l2), the X screen (x11grab)
  libavdevice-dev
  # GPU: Vulkan loader + Mesa's software Vulkan adapter (lavapipe) when there is no GPU
  libvulkan1 mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1-mesa-dri
  # the viewer window, and a virtual display to test it on
  xvfb xauth libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0
  # real photographs for `tessera demo`
  mate-backgrounds
)

source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
install_missing setup "${PACKAGES[@]}"

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust is missing. Install Rust 1.89 or newer with rustup (https://rustup.rs), then run this again." >&2
    exit 1
  fi
fi

# Puts the built `tessera` on the PATH: a link to target/release/tessera in /usr/local/bin
# (root), else in ~/.local/bin. A link, so every later build is what runs.
link_tessera() {
  local built="$1/target/release/tessera" bin
  if [ -w /usr/local/bin ]; then bin=/usr/local/bin; else bin="$HOME/.local/bin"; fi
  mkdir -p "$bin"
  ln -sfn "$built" "$bin/tessera"
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "setup: linked $bin/tessera; add $bin to your PATH to run it as \`tessera\`" >&2 ;;
  esac
}
