#!/usr/bin/env bash
# Levelling without GPS: how far the facade of each real photo set stands
# from vertical in our model (`heritage reconstruct`: up from the photos'
# x axes, docs/architecture.md, Mapping step 6) and in the same model
# levelled by COLMAP's `model_orientation_aligner`, both its methods:
# IMAGE-ORIENTATION (the photos' mean up direction, which ours replaced)
# and MANHATTAN-WORLD (vanishing points of lines found in the photos).
# The facade is the largest plane among the points (bench/facade_tilt.py).
#
# usage: bench/levelling.sh [SHARED_DIR]   (needs colmap, python3 with numpy, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap python3 /usr/bin/time
export QT_QPA_PLATFORM=offscreen
data=$shared/datasets

echo
echo "Levelling ($(nproc) cores, $(date -u +%F)): facade tilt from vertical, degrees (lower is better)"
printf '%-16s %9s %19s %17s %14s\n' set ours "COLMAP image-orient" "COLMAP manhattan" "manhattan (s)"
for set in sceaux-castle fountain-P11 Herz-Jesus-P8; do
  "$bin" reconstruct "$data/$set/images" "$WORK/$set" > /dev/null
  ours=$(python3 bench/facade_tilt.py "$WORK/$set/model/sparse/0" z)
  peer=()
  for method in IMAGE-ORIENTATION MANHATTAN-WORLD; do
    out=$WORK/$set-$method
    mkdir -p "$out"
    measure "$set-$method" colmap model_orientation_aligner --image_path "$data/$set/images" \
      --input_path "$WORK/$set/model/sparse/0" --output_path "$out" --method "$method"
    colmap model_converter --input_path "$out" --output_path "$out" --output_type TXT > /dev/null
    # COLMAP's aligner turns gravity to its y axis.
    peer+=("$(python3 bench/facade_tilt.py "$out" y)")
  done
  read -r seconds _ <<< "$(median "$set-MANHATTAN-WORLD")"
  printf '%-16s %9s %19s %17s %14s\n' "$set" "$ours" "${peer[0]}" "${peer[1]}" "$seconds"
done
echo "(the same sparse model of ours is the input of both COLMAP methods; ours levels it as it is made)"
