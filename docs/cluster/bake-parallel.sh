#!/bin/bash
# GNU parallel: a folder baked in shards by processes on this machine, or, with
# --sshloginfile, on every machine that mounts the same folders at the same paths.
#   docs/cluster/bake-parallel.sh /shared/footage /shared/libraries 16
#   tessera merge /shared/libraries/shard-*.tlib -o /shared/footage.tlib
set -euo pipefail
tiles=${1:?the folder of pictures and videos}
libraries=${2:?the folder the shards go to}
shards=${3:-4}
mkdir -p "$libraries"
seq "$shards" | parallel --halt now,fail=1 ${PARALLEL_HOSTS:+--sshloginfile "$PARALLEL_HOSTS"} \
    tessera bake --tiles "$tiles" -o "$libraries/shard-{}.tlib" --shard "{}/$shards"
