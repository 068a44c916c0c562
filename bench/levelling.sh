#!/usr/bin/env bash
# Levelling without GPS: how far the facade of each real photo set stands
# from vertical in our model (`heritage reconstruct`: up from the photos'
# x axes refined by the vertical edges they show, docs/architecture.md,
# Mapping step 6) and in the same model
# levelled by COLMAP's `model_orientation_aligner`, both its methods:
# IMAGE-ORIENTATION (the photos' mean up direction, which ours replaced)
# and MANHATTAN-WORLD (vanishing points of lines found in the photos).
# The facade is the largest plane among the points (bench/facade_tilt.py).
# Where the set has ground-truth cameras in a levelled frame (fountain-P11,
# Herz-Jesus-P8), the model's vertical is also compared with the truth's
# (bench/gt_tilt.py): a facade need not stand exactly plumb. The two sets
# with truth are also levelled with every photo turned a quarter clockwise
# (`vips rot d90`, no EXIF orientation tag), as a phone's portrait photos
# stripped of their tags come: "+turned"; and all three with two photos of
# every three turned a quarter, clockwise and anticlockwise by turns, as a
# camera without an orientation sensor held upright and level by turns
# gives them: "+mixed".
#
# usage: bench/levelling.sh [SHARED_DIR]   (needs colmap, vips, python3 with numpy, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap vips python3 /usr/bin/time
export QT_QPA_PLATFORM=offscreen
data=$shared/datasets

echo
echo "Levelling ($(nproc) cores, $(date -u +%F)): tilt from vertical, degrees (lower is better)"
echo "facade: of the largest plane of points; truth: of the model's vertical against the ground truth's"
printf '%-20s %-7s %9s %19s %17s %14s\n' set measure ours "COLMAP image-orient" "COLMAP manhattan" "manhattan (s)"
# tilts MEASURE SET MODEL-DIR AXIS: the tilt of one model by one measure
# ("-" for the truth where the set has none).
tilts() {
  if [ "$1" = facade ]; then
    python3 bench/facade_tilt.py "$3" "$4"
  elif [ -d "$data/$2/gt_dense_cameras" ]; then
    python3 bench/gt_tilt.py "$3" "$data/$2/gt_dense_cameras" "$4"
  else
    echo -
  fi
}
for run in sceaux-castle fountain-P11 Herz-Jesus-P8 fountain-P11+turned Herz-Jesus-P8+turned \
  sceaux-castle+mixed fountain-P11+mixed Herz-Jesus-P8+mixed; do
  set=${run%+*}
  images=$data/$set/images
  if [ "$run" != "$set" ]; then
    images=$WORK/$run-images
    mkdir -p "$images"
    i=0
    for photo in "$data/$set/images"/*; do
      turn=d90
      if [ "${run#*+}" = mixed ]; then
        case $((i % 3)),$((i % 2)) in
          0,*) turn=d0 ;;
          *,0) turn=d90 ;;
          *) turn=d270 ;;
        esac
      fi
      vips rot "$photo" "$images/$(basename "$photo")" "$turn"
      i=$((i + 1))
    done
  fi
  "$bin" reconstruct "$images" "$WORK/$run" > /dev/null
  models=()
  for method in IMAGE-ORIENTATION MANHATTAN-WORLD; do
    out=$WORK/$run-$method
    mkdir -p "$out"
    measure "$run-$method" colmap model_orientation_aligner --image_path "$images" \
      --input_path "$WORK/$run/model/sparse/0" --output_path "$out" --method "$method"
    colmap model_converter --input_path "$out" --output_path "$out" --output_type TXT > /dev/null
    models+=("$out")
  done
  read -r seconds _ <<< "$(median "$run-MANHATTAN-WORLD")"
  for measure in facade truth; do
    # COLMAP's aligner turns gravity to its y axis.
    printf '%-20s %-7s %9s %19s %17s %14s\n' "$run" "$measure" "$(tilts $measure "$set" "$WORK/$run/model/sparse/0" z)" \
      "$(tilts $measure "$set" "${models[0]}" y)" "$(tilts $measure "$set" "${models[1]}" y)" "$seconds"
  done
done
echo "(the same sparse model of ours is the input of both COLMAP methods; ours levels it as it is made)"
