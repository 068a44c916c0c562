#!/usr/bin/env bash
# Benchmark: deep-zoom tiling, heritage vs libvips `vips dzsave`, same files,
# same run, 3 runs each (median wall time, its peak RSS).
#
# Workloads: a 50-megapixel and a 400-megapixel JPEG made from the shared
# photos with `vips arrayjoin`, and the whole 30-photo folder (vips through
# `xargs -P2`, heritage with one command over all photos). With
# --gigapixel, also a 1-gigapixel JPEG (one run each).
#
# usage: bench/tiles.sh [--gigapixel] [DATASETS_DIR]   (needs libvips-tools, time, bc)
set -euo pipefail
cd "$(dirname "$0")/.."
giga=false
[ "${1:-}" = --gigapixel ] && { giga=true; shift; }
datasets=${1:-../shared/datasets}
. bench/common.sh
start_bench vips /usr/bin/time bc

mkdir -p "$WORK/in"
for f in "$datasets"/*/images/*; do
  set_name=$(basename "$(dirname "$(dirname "$f")")")
  ln -s "$(realpath "$f")" "$WORK/in/$set_name-$(basename "${f%.*}").jpg"
done
photos=("$WORK"/in/*)
fountain=("$datasets"/fountain-P11/images/*)
echo "making test images in $WORK ..."
vips arrayjoin "${fountain[*]:0:8}" "$WORK/50mp.jpg[Q=90]" --across 4
tiles64=(); for i in $(seq 0 63); do tiles64+=("${fountain[$((i % 11))]}"); done
vips arrayjoin "${tiles64[*]}" "$WORK/400mp.jpg[Q=90]" --across 8
if $giga; then
  tiles160=(); for i in $(seq 0 159); do tiles160+=("${fountain[$((i % 11))]}"); done
  vips arrayjoin "${tiles160[*]}" "$WORK/1gp.jpg[Q=90]" --across 16
fi

# Every run writes into a fresh folder; old outputs are deleted only after
# a workload's runs (deleting thousands of files makes the disk busy for a
# while on file systems mounted with discard, which would slow the next run).
run_pair() { # name input runs
  local name=$1 input=$2 runs=$3
  for run in $(seq "$runs"); do
    mkdir -p "$WORK/$name/o$run" "$WORK/$name/v$run" "$WORK/$name/b$run"
    measure "ours-$name" "$bin" tile "$input" "$WORK/$name/o$run" --layout dzi --name x
    measure "vips-$name" vips dzsave "$input" "$WORK/$name/v$run/x" --tile-size 254 --overlap 1 --suffix '.jpg[Q=85]'
    measure "both-$name" "$bin" tile "$input" "$WORK/$name/b$run" --name x
  done
  cmp <(cd "$WORK/$name/o1" && find x_files -name '*.jpg' | sort) <(cd "$WORK/$name/v1" && find x_files -name '*.jpg' | sort) \
    || { echo "tile sets differ for $name"; exit 1; }
  rm -rf "${WORK:?}/$name"
}

run_pair 50mp "$WORK/50mp.jpg" 3
run_pair 400mp "$WORK/400mp.jpg" 3
$giga && run_pair 1gp "$WORK/1gp.jpg" 1

for run in 1 2 3; do
  mkdir -p "$WORK/folder/o$run" "$WORK/folder/v$run" "$WORK/folder/b$run"
  measure ours-folder "$bin" tile "${photos[@]}" "$WORK/folder/o$run" --layout dzi
  measure vips-folder sh -c "ls $WORK/in/*.jpg | xargs -P2 -I{} sh -c 'vips dzsave \"\$1\" $WORK/folder/v$run/\$(basename \"\$1\" .jpg) --tile-size 254 --overlap 1 --suffix .jpg[Q=85]' _ {}"
  measure both-folder "$bin" tile "${photos[@]}" "$WORK/folder/b$run"
done

echo
echo "Deep-zoom tiling, heritage vs vips dzsave $(vips --version | cut -d' ' -f1-2 | tr -d '\n'), $(nproc) cores, $(date -u +%F)"
echo "(DZI, tile 254, overlap 1, JPEG Q85; median of 3 runs; ratio = ours/vips wall time)"
header
row "50 MP JPEG (12288x4096)" ours-50mp vips-50mp
row "400 MP JPEG (24576x16384)" ours-400mp vips-400mp
$giga && row "1 GP JPEG (49152x20480)" ours-1gp vips-1gp
row "30 photos, 70 MB" ours-folder vips-folder
echo
echo "heritage writing DZI and IIIF level 0 together (--layout both), against the same vips DZI run:"
row "50 MP, both layouts" both-50mp vips-50mp
row "400 MP, both layouts" both-400mp vips-400mp
$giga && row "1 GP, both layouts" both-1gp vips-1gp
row "30 photos, both layouts" both-folder vips-folder
