#!/usr/bin/env bash
# Sparse reconstruction: `heritage reconstruct` against COLMAP's
# `automatic_reconstructor --use_gpu 0 --single_camera 1 --dense 0` on the
# same photos in the same run, both scored with ../shared/tools/sfm_eval.py
# (fountain-P11 and Herz-Jesus-P8 against their ground-truth cameras, with
# EXIF/default intrinsics, with K.txt, and with default intrinsics whose
# principal point is refined; sceaux-castle: registration only).
#
# usage: bench/sparse.sh [SHARED_DIR]   (needs colmap, python3 with numpy, bc, /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap python3 bc /usr/bin/time
export QT_QPA_PLATFORM=offscreen
data=$shared/datasets

# colmap_steps SET OUT MODE: COLMAP's feature_extractor, exhaustive_matcher
# and mapper, one camera for the set. MODE K: K.txt as a fixed
# SIMPLE_RADIAL camera (its mapper hangs with PINHOLE), principal point
# not refined. MODE PP: default intrinsics, principal point refined.
colmap_steps() {
  local camera=() mapper=()
  if [ "$3" = K ]; then
    local k; k=($(tr -d '\r' < "$data/$1/K.txt"))
    camera=(--ImageReader.camera_model SIMPLE_RADIAL --ImageReader.camera_params "${k[0]},${k[2]},${k[5]},0")
    mapper=(--Mapper.ba_refine_focal_length 0 --Mapper.ba_refine_extra_params 0)
  else
    mapper=(--Mapper.ba_refine_principal_point 1)
  fi
  mkdir -p "$2/sparse"
  colmap feature_extractor --database_path "$2/database.db" --image_path "$data/$1/images" --SiftExtraction.use_gpu 0 \
    --ImageReader.single_camera 1 "${camera[@]}"
  colmap exhaustive_matcher --database_path "$2/database.db" --SiftMatching.use_gpu 0
  # A failure of COLMAP's mapper shows as an empty row, not the end of the bench.
  colmap mapper --database_path "$2/database.db" --image_path "$data/$1/images" --output_path "$2/sparse" "${mapper[@]}" \
    || echo "COLMAP mapper failed" >&2
}
export -f colmap_steps
export data

runs=()
for set in fountain-P11 Herz-Jesus-P8 sceaux-castle; do
  measure "$set-ours" "$bin" reconstruct "$data/$set/images" "$WORK/$set-ours"
  mkdir -p "$WORK/$set-colmap"
  measure "$set-colmap" colmap automatic_reconstructor --workspace_path "$WORK/$set-colmap" --image_path "$data/$set/images" \
    --use_gpu 0 --single_camera 1 --dense 0
  runs+=("$set")
  if [ "$set" != sceaux-castle ]; then
    measure "$set+K-ours" "$bin" reconstruct "$data/$set/images" "$WORK/$set+K-ours" --intrinsics "$data/$set/K.txt"
    measure "$set+K-colmap" bash -c "colmap_steps $set $WORK/$set+K-colmap K"
    measure "$set+PP-ours" "$bin" reconstruct "$data/$set/images" "$WORK/$set+PP-ours" --refine-principal-point
    measure "$set+PP-colmap" bash -c "colmap_steps $set $WORK/$set+PP-colmap PP"
    runs+=("$set+K" "$set+PP")
  fi
done

# score SPARSE-DIR SET: "registered rot_median pos_median" of the largest
# model in SPARSE-DIR/N (COLMAP binary models are converted to text first).
score() {
  [ -d "$1/0" ] || { echo "0 - -"; return; }
  local model
  model=$(ls -d "$1"/*/ | while read -r m; do echo "$(cat "$m"/images.* | wc -c) $m"; done | sort -n | tail -1 | cut -d' ' -f2)
  if [ -e "$model/images.bin" ]; then
    colmap model_converter --input_path "$model" --output_path "$model" --output_type TXT > /dev/null
  fi
  python3 "$shared/tools/sfm_eval.py" "$model" "$data/$2/gt_dense_cameras" 2> /dev/null \
    | awk '/^registered/ {r=$2} /^rot_median_deg/ {a=$2} /^pos_median:/ {p=$2} END {printf "%s %s %s", r, a, p}'
}

echo
echo "Sparse reconstruction ($(nproc) cores, $(date -u +%F)); peer: COLMAP $(colmap -h 2>/dev/null | awk '/COLMAP/ {print $2; exit}') automatic_reconstructor (CPU)"
printf '%-20s %9s %9s %6s %8s %8s %7s %7s %9s %9s %9s %9s\n' run "ours (s)" "peer (s)" ratio "ours MiB" "peer MiB" "ours reg" "peer reg" "ours deg" "peer deg" "ours m" "peer m"
for run in "${runs[@]}"; do
  set=${run%+*}
  read -r ow orss <<< "$(median "$run-ours")"
  read -r pw prss <<< "$(median "$run-colmap")"
  if [ -d "$data/$set/gt_dense_cameras" ]; then
    read -r oreg orot opos <<< "$(score "$WORK/$run-ours/model/sparse" "$set")"
    read -r preg prot ppos <<< "$(score "$WORK/$run-colmap/sparse" "$set")"
  else
    oreg=$(awk '!/^#/ && NF {n++} END {print n/2}' "$WORK/$run-ours/model/sparse/0/images.txt")
    model=$(ls -d "$WORK/$run-colmap"/sparse/*/ | head -1)
    preg=$(colmap model_analyzer --path "$model" 2>&1 | awk '/Registered images/ {print $NF}')
    orot=-; opos=-; prot=-; ppos=-
  fi
  printf '%-20s %9s %9s %6s %8s %8s %7s %7s %9s %9s %9s %9s\n' "$run" "$ow" "$pw" "$(echo "scale=3; $ow / $pw" | bc)" \
    "$orss" "$prss" "$oreg" "$preg" "$orot" "$prot" "$opos" "$ppos"
done
echo "(deg, m: median rotation and camera-centre errors after a similarity alignment, sfm_eval.py;"
echo " +K: the K.txt intrinsics, fixed; COLMAP then uses SIMPLE_RADIAL with them, not refined;"
echo " +PP: default intrinsics with the principal point refined too, --refine-principal-point / ba_refine_principal_point;"
echo " COLMAP's +K and +PP runs are its extractor, exhaustive matcher and mapper at their default settings)"
