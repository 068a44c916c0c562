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
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/heritage
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

# One flat folder of every photo (symlinks, so nothing is read twice by cp).
mkdir -p "$work/in"
for f in "$datasets"/*/images/*; do ln -s "$(realpath "$f")" "$work/in/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"; done
photos=$(ls "$work/in" | wc -l)
bytes=$(cat "$work/in"/* | wc -c)
mb=$(echo "$bytes / 1000000" | bc -l)
cat "$work/in"/* > /dev/null   # warm the page cache so every run reads from memory

measure() { # label command... -> "label wall_s rss_kib"
  local label=$1; shift
  /usr/bin/time -v -o "$work/time.txt" "$@" > /dev/null 2>&1
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  echo "$label $wall $rss"
}

results=()
for run in 1 2 3; do
  rm -rf "$work/archive" "$work/copy"
  "$bin" --archive "$work/archive" init > /dev/null
  "$bin" --archive "$work/archive" site add "Bench" --slug bench > /dev/null
  results+=("$(measure "heritage-ingest" "$bin" --archive "$work/archive" ingest "$work/in" --site bench)")
  results+=("$(measure "sha256sum" sh -c "sha256sum $work/in/* > /dev/null")")
  results+=("$(measure "cp+sync" sh -c "mkdir -p $work/copy && cp -L $work/in/* $work/copy/ && sync")")
done
"$bin" --archive "$work/archive" verify > /dev/null

echo
echo "Ingest benchmark: $photos photos, $(printf %.1f "$mb") MB, $(nproc) cores ($(date -u +%F))"
printf '%-16s %10s %10s %10s %12s\n' tool "wall (s)" "photos/s" "MB/s" "peak RSS MiB"
for label in heritage-ingest sha256sum cp+sync; do
  printf '%s\n' "${results[@]}" | awk -v l="$label" '$1==l {print $2, $3}' | sort -n | awk -v l="$label" -v p="$photos" -v mb="$mb" '
    {w[NR]=$1; r[NR]=$2} END {m=w[2]; printf "%-16s %10.3f %10.1f %10.1f %12.1f\n", l, m, p/m, mb/m, r[2]/1024}'
done
echo "(median of 3 runs; heritage also fully decodes every photo, reads EXIF and fsyncs each copy)"
