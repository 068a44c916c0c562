#!/usr/bin/env bash
# Benchmark and realism check of the synthetic site.
#
# 1. Render time of 12 photos at 800x533 (target: under 10 s on 2 cores).
# 2. COLMAP (CPU) reconstructs a 24-photo demo set at 1600x1067; its
#    cameras are scored against our ground truth with sfm_eval.py (target:
#    every photo registered, median rotation error under 0.5 degrees).
#
# usage: bench/synthetic.sh [SHARED_DIR]   (needs colmap, python3 with numpy, time)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
. bench/common.sh
start_bench colmap python3 /usr/bin/time

for run in 1 2 3; do
  measure synth-12 "$bin" synth "$WORK/small$run" --photos 12 --size 800x533 --seed "$run"
done
measure synth-24 "$bin" synth "$WORK/demo" --photos 24 --size 1600x1067 --seed 1

export QT_QPA_PLATFORM=offscreen
mkdir -p "$WORK/colmap"
measure colmap colmap automatic_reconstructor --workspace_path "$WORK/colmap" --image_path "$WORK/demo/photos" \
  --use_gpu 0 --dense 0 --single_camera 1
models=$(ls -d "$WORK"/colmap/sparse/*/ | wc -l)
colmap model_converter --input_path "$WORK/colmap/sparse/0" --output_path "$WORK/colmap" --output_type TXT > /dev/null

echo
echo "Synthetic site ($(nproc) cores, $(date -u +%F))"
printf '%-40s %10s %12s\n' task "wall (s)" "peak MiB"
for label in synth-12 synth-24 colmap; do
  set -- $(median "$label")
  printf '%-40s %10s %12s\n' "$label" "$1" "$2"
done
echo "(synth-12: 12 photos at 800x533, median of 3; synth-24: the demo set, 24 at 1600x1067;"
echo " colmap: automatic_reconstructor --use_gpu 0 --dense 0 --single_camera 1 on synth-24)"
echo
echo "COLMAP models: $models (1 means the set was not split)"
echo "COLMAP cameras against our ground truth (sfm_eval.py):"
python3 "$shared/tools/sfm_eval.py" "$WORK/colmap" "$WORK/demo/truth"
