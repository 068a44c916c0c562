#!/usr/bin/env bash
# Few photos, wide baselines: `heritage reconstruct` against COLMAP's
# `automatic_reconstructor --use_gpu 0 --single_camera 1 --dense 0` on
# every other, third, fourth (and for fountain-P11 fifth) photo of the
# real sets, as a volunteer who took too few photos would hand in. The
# photos carry no EXIF focal length (sceaux-castle's do), so each model
# must also find its focal length from a few views far apart. Prints the
# photos registered in the largest model and, against the ground truth
# (fountain-P11, Herz-Jesus-P8), its median rotation and camera-centre
# errors (../shared/tools/sfm_eval.py), with both wall times.
#
# usage: bench/subsets.sh [SHARED_DIR]
#        (needs colmap, python3 with numpy, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap python3 /usr/bin/time
export QT_QPA_PLATFORM=offscreen
data=$shared/datasets

# subset SET STRIDE: a folder of links to every STRIDE-th photo of SET,
# from the first; prints its path.
subset() {
  local dir=$WORK/$1-$2
  mkdir -p "$dir/photos"
  ls "$data/$1/images" | awk -v s="$2" '(NR - 1) % s == 0' | while read -r photo; do
    ln -s "$data/$1/images/$photo" "$dir/photos/$photo"
  done
  echo "$dir"
}

# score MODEL_DIR SET: "registered rotation centre" of a text model, the
# errors "-" where SET has no ground truth or nothing registered.
score() {
  if [ ! -f "$1/images.txt" ]; then
    echo "0 - -"
  elif [ -d "$data/$2/gt_dense_cameras" ]; then
    python3 "$shared/tools/sfm_eval.py" "$1" "$data/$2/gt_dense_cameras" \
      | awk '/^registered/ {r=$2} /^rot_median_deg/ {a=$2} /^pos_median:/ {p=$2} END {print r, a, p}'
  else
    echo "$(grep -v '^#' "$1/images.txt" | awk 'NR % 2 == 1 && NF' | wc -l) - -"
  fi
}

printf '\nFew photos, wide baselines (%s, %s); peer: COLMAP 3.8 automatic_reconstructor (CPU)\n' "$(machine)" "$(date +%F)"
printf '%-18s %6s %8s %8s %9s %9s %9s %9s %8s %8s\n' subset photos "ours reg" "peer reg" "ours deg" "peer deg" \
  "ours m" "peer m" "ours s" "peer s"
for spec in fountain-P11:2 fountain-P11:3 fountain-P11:4 fountain-P11:5 Herz-Jesus-P8:2 Herz-Jesus-P8:3 \
  sceaux-castle:2 sceaux-castle:3 sceaux-castle:4; do
  set=${spec%:*}
  stride=${spec#*:}
  dir=$(subset "$set" "$stride")
  label=$set/$stride
  # A subset that falls apart is a result, not the end of the bench.
  measure "$label-ours" bash -c '"$1" reconstruct "$2/photos" "$2/ours" || true' _ "$bin" "$dir"
  mkdir -p "$dir/colmap"
  measure "$label-colmap" bash -c 'colmap automatic_reconstructor --workspace_path "$1/colmap" --image_path "$1/photos" \
    --use_gpu 0 --single_camera 1 --dense 0 || true' _ "$dir"
  if [ -d "$dir/colmap/sparse/0" ]; then
    colmap model_converter --input_path "$dir/colmap/sparse/0" --output_path "$dir/colmap/sparse/0" --output_type TXT \
      > /dev/null 2>&1
  fi
  read -r ours_reg ours_deg ours_m <<< "$(score "$dir/ours/model/sparse/0" "$set")"
  read -r peer_reg peer_deg peer_m <<< "$(score "$dir/colmap/sparse/0" "$set")"
  printf '%-18s %6s %8s %8s %9s %9s %9s %9s %8s %8s\n' "$label" "$(ls "$dir/photos" | wc -l)" "$ours_reg" "$peer_reg" \
    "$ours_deg" "$peer_deg" "$ours_m" "$peer_m" "$(median "$label-ours" | cut -d' ' -f1)" \
    "$(median "$label-colmap" | cut -d' ' -f1)"
done
echo "(set/N: every N-th photo from the first; reg: photos in the largest model; deg, m: its median rotation and"
echo " camera-centre errors after a similarity alignment, sfm_eval.py; s: wall time)"
