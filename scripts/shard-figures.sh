#!/usr/bin/env bash
# Baking figures: the bake rate of a folder on 1 core and on every core, and the same folder
# baked as SHARDS shards by SHARDS processes at once (GNU parallel) then merged, with the
# merged library compared to the whole one, page file by page file. RUNS runs of each;
# every time printed, medians last.
#
#   scripts/shard-figures.sh TILES [OUT] [RUNS] [SHARDS]   (default OUT: a temporary folder)
set -euo pipefail
tiles="$1"
out="${2:-$(mktemp -d)}"
runs="${3:-3}"
shards="${4:-4}"
tessera="${TESSERA:-tessera}"
cores=$(nproc)
mkdir -p "$out"

# Seconds a command takes (its output to $out/last.log).
seconds() {
  local start=$EPOCHREALTIME
  "$@" >"$out/last.log" 2>&1
  echo "$EPOCHREALTIME - $start" | awk '{printf "%.2f", $1 - $3}'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times
for run in $(seq "$runs"); do
  rm -rf "$out"/*.tlib "$out/shards"
  t=$(seconds taskset -c 0 "$tessera" bake --tiles "$tiles" -o "$out/one.tlib" -j 1)
  times[one]+="$t "
  t=$(seconds "$tessera" bake --tiles "$tiles" -o "$out/whole.tlib")
  times[all]+="$t "
  summary=$(grep '^library\|clips cut' "$out/last.log" | tr '\n' ' ')
  mkdir -p "$out/shards"
  t=$(seconds bash -c "seq $shards | parallel -j $shards '$tessera' bake --tiles '$tiles' \
        -o '$out/shards/s{}.tlib' --shard {}/$shards")
  times[shards]+="$t "
  t=$(seconds "$tessera" merge "$out"/shards/s*.tlib -o "$out/merged.tlib")
  times[merge]+="$t "
  for f in "$out"/whole.tlib/*.bin; do
    name=$(basename "$f")
    case "$name" in signatures-*) continue ;; esac
    cmp -s "$f" "$out/merged.tlib/$name" || { echo "DIFFERENT: $name" >&2; exit 1; }
  done
  echo "after run $run, seconds: 1 core ${times[one]}| all cores ${times[all]}| shards ${times[shards]}| merge ${times[merge]}"
done

echo "folder: $summary"
echo "machine: $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
one=$(echo "${times[one]}" | median)
all=$(echo "${times[all]}" | median)
sh=$(echo "${times[shards]}" | median)
mg=$(echo "${times[merge]}" | median)
echo "median s: 1 core $one | $cores cores $all | $shards shards at once $sh + merge $mg"
awk -v one="$one" -v all="$all" -v n="$cores" 'BEGIN {printf "speed-up on %d cores: %.2fx (%.0f%% per core)\n", n, one / all, 100 * one / all / n}'
echo "merged library = whole library, page file by page file: yes"
