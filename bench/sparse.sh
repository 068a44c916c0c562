#!/usr/bin/env bash
# Sparse reconstruction: `heritage reconstruct` against COLMAP's
# `automatic_reconstructor --use_gpu 0 --single_camera 1 --dense 0` on the
# same photos in the same run, both scored with ../shared/tools/sfm_eval.py
# (fountain-P11 and Herz-Jesus-P8 against their ground-truth cameras, with
# EXIF/default intrinsics, with K.txt, and with default intrinsics whose
# principal point is refined; sceaux-castle: registration only).
# A median over 8 or 11 cameras moves with one camera: a second table
# gives the mean, RMS and largest centre error over all of them. A third
# gives the errors between every two cameras (relative rotation and
# direction), which the similarity alignment does not move. A fourth
# gives how far apart our and COLMAP's cameras lie, against how far each
# is from the truth: the share of the error the two models have in
# common. A fifth compares the mappers alone on the same input: COLMAP's
# mapper on the database of each of our runs (our features and verified
# matches). A sixth scores the features and matches alone: with K.txt,
# how far each model's track observations lie from their points
# triangulated with the true cameras, by keypoint scale. A seventh runs
# the +K sets again with other RANSAC seeds (ours --seed, COLMAP
# --random_seed; SEEDS runs each, 4 by default): where the two medians lie
# within a few per cent, which is the lower in one run is chance, and the
# spread over seeds says how much.
#
# usage: [HERITAGE_SIMD=avx2] [SEEDS=4] bench/sparse.sh [SHARED_DIR]
#        (needs colmap, python3 with numpy, bc, /usr/bin/time; HERITAGE_SIMD
#        caps our vector instructions, as on a laptop without AVX-512 or AMX)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap python3 bc /usr/bin/time
export QT_QPA_PLATFORM=offscreen
data=$shared/datasets

# mapper_options MODE: COLMAP mapper options of a mode. K: intrinsics
# held (K.txt); PP: principal point refined; any other: defaults.
mapper_options() {
  case "$1" in
    K) echo --Mapper.ba_refine_focal_length 0 --Mapper.ba_refine_extra_params 0 ;;
    PP) echo --Mapper.ba_refine_principal_point 1 ;;
  esac
}

# colmap_mapper SET DATABASE OUT MODE [SEED]: COLMAP's mapper on DATABASE
# into OUT/sparse. A failure shows as an empty row, not the end of the
# bench.
colmap_mapper() {
  mkdir -p "$3/sparse"
  colmap mapper --random_seed "${5:-0}" --database_path "$2" --image_path "$data/$1/images" --output_path "$3/sparse" \
    $(mapper_options "$4") || echo "COLMAP mapper failed" >&2
}

# colmap_steps SET OUT MODE [SEED]: COLMAP's feature_extractor,
# exhaustive_matcher and mapper, one camera for the set, RANSAC from SEED
# (COLMAP's default 0). MODE K: K.txt as a fixed SIMPLE_RADIAL camera (its
# mapper hangs with PINHOLE), principal point not refined. MODE PP:
# default intrinsics, principal point refined.
colmap_steps() {
  local camera=()
  if [ "$3" = K ]; then
    local k; k=($(tr -d '\r' < "$data/$1/K.txt"))
    camera=(--ImageReader.camera_model SIMPLE_RADIAL --ImageReader.camera_params "${k[0]},${k[2]},${k[5]},0")
  fi
  mkdir -p "$2"
  local seed=${4:-0}
  colmap feature_extractor --random_seed "$seed" --database_path "$2/database.db" --image_path "$data/$1/images" \
    --SiftExtraction.use_gpu 0 --ImageReader.single_camera 1 "${camera[@]}"
  colmap exhaustive_matcher --random_seed "$seed" --database_path "$2/database.db" --SiftMatching.use_gpu 0
  colmap_mapper "$1" "$2/database.db" "$2" "$3" "$seed"
}
export -f mapper_options colmap_mapper colmap_steps
export data

runs=()
spread=()
shared_errors=()
relative=()
declare -A ours_scores
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

# largest_model SPARSE-DIR: the largest model in SPARSE-DIR/N, as text
# (COLMAP binary models are converted first); nothing if there is none.
largest_model() {
  [ -d "$1/0" ] || return 0
  local model
  model=$(ls -d "$1"/*/ | while read -r m; do echo "$(cat "$m"/images.* | wc -c) $m"; done | sort -n | tail -1 | cut -d' ' -f2)
  if [ -e "$model/images.bin" ]; then
    colmap model_converter --input_path "$model" --output_path "$model" --output_type TXT > /dev/null
  fi
  echo "$model"
}

# score SPARSE-DIR SET: "registered rot_median pos_median" of the largest
# model in SPARSE-DIR, then its centre errors' "mean rms max", then its
# pairwise errors' "rotation_median rotation_mean direction_median
# direction_mean" (the model is found, and converted, once).
score() {
  local model
  model=$(largest_model "$1")
  [ -n "$model" ] || { echo "0 - - - - - - - - -"; return; }
  python3 "$shared/tools/sfm_eval.py" "$model" "$data/$2/gt_dense_cameras" 2> /dev/null \
    | awk '/^registered/ {r=$2} /^rot_median_deg/ {a=$2} /^pos_median:/ {p=$2} END {printf "%s %s %s ", r, a, p}'
  echo "$(python3 bench/centre_stats.py "$shared" "$model" "$data/$2/gt_dense_cameras")" \
    "$(python3 bench/relative_errors.py "$shared" "$model" "$data/$2/gt_dense_cameras")"
}

echo
echo "Sparse reconstruction ($(machine), $(date -u +%F)); peer: COLMAP $(colmap -h 2>/dev/null | awk '/COLMAP/ {print $2; exit}') automatic_reconstructor (CPU)"
printf '%-20s %9s %9s %6s %8s %8s %7s %7s %9s %9s %9s %9s\n' run "ours (s)" "peer (s)" ratio "ours MiB" "peer MiB" "ours reg" "peer reg" "ours deg" "peer deg" "ours m" "peer m"
for run in "${runs[@]}"; do
  set=${run%+*}
  read -r ow orss <<< "$(median "$run-ours")"
  read -r pw prss <<< "$(median "$run-colmap")"
  if [ -d "$data/$set/gt_dense_cameras" ]; then
    read -r oreg orot opos omean orms omax orr orm odr odm <<< "$(score "$WORK/$run-ours/model/sparse" "$set")"
    read -r preg prot ppos pmean prms pmax prr prm pdr pdm <<< "$(score "$WORK/$run-colmap/sparse" "$set")"
    ours_scores[$run]="$orot $opos $omean"
    relative+=("$(printf '%-20s %9s %9s %9s %9s %9s %9s %9s %9s' "$run" "$orr" "$prr" "$orm" "$prm" "$odr" "$pdr" "$odm" "$pdm")")
    spread+=("$(printf '%-20s %9s %9s %9s %9s %9s %9s' "$run" "$omean" "$pmean" "$orms" "$prms" "$omax" "$pmax")")
    read -r between joint <<< "$(python3 bench/shared_error.py "$shared" "$(largest_model "$WORK/$run-ours/model/sparse")" \
      "$(largest_model "$WORK/$run-colmap/sparse")" "$data/$set/gt_dense_cameras")"
    shared_errors+=("$(printf '%-20s %9s %9s %9s %9s' "$run" "$opos" "$ppos" "$between" "$joint")")
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
echo
echo "Camera-centre errors over all cameras (m, same alignment; bench/centre_stats.py)"
printf '%-20s %9s %9s %9s %9s %9s %9s\n' run "ours mean" "peer mean" "ours rms" "peer rms" "ours max" "peer max"
printf '%s\n' "${spread[@]}"
echo
echo "Errors no alignment touches, over every pair of cameras (deg; bench/relative_errors.py): relative rotation,"
echo "and direction from one camera to the other"
printf '%-20s %9s %9s %9s %9s %9s %9s %9s %9s\n' run "ours rot" "peer rot" "ours mean" "peer mean" "ours dir" "peer dir" \
  "ours mean" "peer mean"
printf '%s\n' "${relative[@]}"
echo
echo "How far apart the two models' cameras lie (m, median, both aligned to the truth; bench/shared_error.py), against"
echo "their median centre errors: where they lie much closer to each other than to the truth, most of the error is"
echo "common to both (the truth's own, or what neither models), and the lower median is decided within the rest"
printf '%-20s %9s %9s %9s %9s\n' run "ours m" "peer m" between "mean's m"
printf '%s\n' "${shared_errors[@]}"

# The mappers alone: COLMAP's mapper on the database of our run (our
# features and verified matches), against our mapper's model from it.
echo
echo "Same input: COLMAP's mapper on our features and matches (each run's database.db)"
printf '%-20s %9s %9s %9s %9s %9s %9s\n' run "ours deg" "peer deg" "ours m" "peer m" "ours mean" "peer mean"
for run in "${runs[@]}"; do
  set=${run%+*}
  [ -d "$data/$set/gt_dense_cameras" ] || continue
  mode=${run#"$set"}
  mkdir -p "$WORK/$run-mapper"
  cp "$WORK/$run-ours/database.db" "$WORK/$run-mapper/"
  colmap_mapper "$set" "$WORK/$run-mapper/database.db" "$WORK/$run-mapper" "${mode#+}" > /dev/null 2>&1
  read -r orot opos omean <<< "${ours_scores[$run]}"
  read -r _ prot ppos pmean _ <<< "$(score "$WORK/$run-mapper/sparse" "$set")"
  printf '%-20s %9s %9s %9s %9s %9s %9s\n' "$run" "$orot" "$prot" "$opos" "$ppos" "$omean" "$pmean"
done

# The tracks against the truth, with the same intrinsics on both sides:
# each track of three or more photos triangulated from the true cameras
# alone, by the keypoints' scale (bench/track_precision.py).
echo
echo "Tracks against the true cameras (+K runs): observations of tracks of 3+ photos, their median error (px) and the"
echo "shares over 1 and 2 px, by keypoint scale (sigma, px); the models' own poses play no part"
printf '%-20s %-7s %7s %7s %7s %7s %7s %7s %7s %7s\n' run sigma "ours n" "peer n" "ours px" "peer px" "ours>1" "peer>1" \
  "ours>2" "peer>2"
for run in "${runs[@]}"; do
  [[ $run == *+K ]] || continue
  set=${run%+*}
  paste -d' ' \
    <(python3 bench/track_precision.py "$(largest_model "$WORK/$run-ours/model/sparse")" "$WORK/$run-ours/database.db" \
      "$data/$set/gt_dense_cameras") \
    <(python3 bench/track_precision.py "$(largest_model "$WORK/$run-colmap/sparse")" "$WORK/$run-colmap/database.db" \
      "$data/$set/gt_dense_cameras") \
    | while read -r band on om o1 o2 _ pn pm p1 p2; do
      printf '%-20s %-7s %7s %7s %7s %7s %7s %7s %7s %7s\n' "$run" "$band" "$on" "$pn" "$om" "$pm" "$o1" "$p1" "$o2" "$p2"
    done
done

# The +K runs again from other seeds: ours with --seed, COLMAP's steps with
# --random_seed (seed 0 is the run above).
seeds=${SEEDS:-4}

# over SET SPARSE-DIR...: "mean lowest highest rotation-mean" of the
# median centre errors (and rotations) of the runs' largest models.
over() {
  local set=$1; shift
  for sparse in "$@"; do score "$sparse" "$set" | cut -d' ' -f2,3; done \
    | awk '$2 != "-" {n++; r += $1; p += $2; if (n == 1 || $2 < lo) lo = $2; if (n == 1 || $2 > hi) hi = $2}
      END {if (n) printf "%.5f %.5f %.5f %.4f", p / n, lo, hi, r / n; else print "- - - -"}'
}
echo
echo "Over RANSAC seeds (+K runs, seeds 0-$((seeds - 1)); ours --seed, COLMAP --random_seed): each run's median"
echo "centre error (m) and median rotation error (deg), their mean over the seeds and the lowest and highest"
printf '%-20s %9s %9s %9s %9s %9s %9s %9s %9s\n' run "ours m" "peer m" "ours min" "peer min" "ours max" "peer max" \
  "ours deg" "peer deg"
for run in "${runs[@]}"; do
  [[ $run == *+K ]] || continue
  set=${run%+*}
  ours_runs=("$WORK/$run-ours/model/sparse")
  peer_runs=("$WORK/$run-colmap/sparse")
  for seed in $(seq 1 $((seeds - 1))); do
    "$bin" reconstruct "$data/$set/images" "$WORK/$run-seed$seed-ours" --intrinsics "$data/$set/K.txt" --seed "$seed" \
      > /dev/null 2>&1 || echo "ours failed at seed $seed" >&2
    colmap_steps "$set" "$WORK/$run-seed$seed-colmap" K "$seed" > /dev/null 2>&1
    ours_runs+=("$WORK/$run-seed$seed-ours/model/sparse")
    peer_runs+=("$WORK/$run-seed$seed-colmap/sparse")
  done
  read -r om olo ohi orot <<< "$(over "$set" "${ours_runs[@]}")"
  read -r pm plo phi prot <<< "$(over "$set" "${peer_runs[@]}")"
  printf '%-20s %9s %9s %9s %9s %9s %9s %9s %9s\n' "$run" "$om" "$pm" "$olo" "$plo" "$ohi" "$phi" "$orot" "$prot"
done
