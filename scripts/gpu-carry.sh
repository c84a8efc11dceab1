#!/usr/bin/env bash
# Prepares what a machine with a GPU but no toolchain and no package registry needs to run
# scripts/gpu-figures.sh (docs/gpu.md): in .carry/ (ignored by git), tessera built without
# FFmpeg and stripped (about 20 MB, libc only), and Debian's Vulkan/EGL loaders as .debs to
# unpack there. Everything carried stays under 64 MiB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/setup.sh"
cd "$here"
grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >>.git/info/exclude
mkdir -p .carry/debs
cargo build --release --locked --no-default-features --bin tessera
cp target/release/tessera .carry/tessera
strip .carry/tessera
# Back to the default build, so the tessera on the PATH keeps its video.
cargo build --release --locked --bin tessera
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpu-carry-lists)
mkdir -p /tmp/gpu-carry-lists/partial
apt-get "${apt_opts[@]}" update -qq
(cd .carry/debs && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .carry
echo "gpu-carry: ready; run on the GPU machine with carry [\".carry\"] (docs/gpu.md)" >&2
