#!/usr/bin/env bash
# Benchmark: ingest of the shared photo sets (30 photos, ~70 MB).
# Reports wall time, photos/s, MB/s and peak RSS of `heritage ingest`, next
# to the floor set by the machine: `sha256sum` over the same files and a
# plain `cp` of them (the work ingest must at least do).
#
# usage: bench/ingest.sh [DATASETS_DIR]    (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
datasets=${1:-../shared/datasets}
. bench/common.sh
start_bench /usr/bin/time bc

# One flat folder of every photo (symlinks, so nothing is read twice by cp).
mkdir -p "$WORK/in"
for f in "$datasets"/*/images/*; do ln -s "$(realpath "$f")" "$WORK/in/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"; done
photos=$(ls "$WORK/in" | wc -l)
bytes=$(cat "$WORK/in"/* | wc -c)
mb=$(echo "$bytes / 1000000" | bc -l)
cat "$WORK/in"/* > /dev/null   # warm the page cache so every run reads from memory

for run in 1 2 3; do
  "$bin" --archive "$WORK/archive$run" init > /dev/null
  "$bin" --archive "$WORK/archive$run" site add "Bench" --slug bench > /dev/null
  measure heritage-ingest "$bin" --archive "$WORK/archive$run" ingest "$WORK/in" --site bench
  measure sha256sum sh -c "sha256sum $WORK/in/* > /dev/null"
  measure cp+sync sh -c "mkdir -p $WORK/copy$run && cp -L $WORK/in/* $WORK/copy$run/ && sync"
done
"$bin" --archive "$WORK/archive1" verify > /dev/null

echo
echo "Ingest benchmark: $photos photos, $(printf %.1f "$mb") MB, $(nproc) cores ($(date -u +%F))"
printf '%-16s %10s %10s %10s %12s\n' tool "wall (s)" "photos/s" "MB/s" "peak RSS MiB"
for label in heritage-ingest sha256sum cp+sync; do
  set -- $(median "$label")
  printf '%-16s %10s %10.1f %10.1f %12s\n' "$label" "$1" "$(echo "$photos / $1" | bc -l)" "$(echo "$mb / $1" | bc -l)" "$2"
done
echo "(median of 3 runs; heritage also fully decodes every photo, reads EXIF and fsyncs each copy)"
