#!/usr/bin/env bash
# Features and matching: `heritage match` against COLMAP's CPU front end
# (feature_extractor + exhaustive_matcher, default settings) on the same
# photos in the same run. For each set: wall time, peak memory, verified
# pairs (two_view_geometries with >= 15 inliers), median inliers per
# verified pair, and the pairs COLMAP verifies that we do not.
#
# usage: [HERITAGE_SIMD=avx2] bench/matching.sh [SHARED_DIR] [SET...]
#   (needs colmap, python3, sqlite3 module, bc, /usr/bin/time; SETs default
#    to fountain-P11 Herz-Jesus-P8 sceaux-castle)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
shift || true
sets=${*:-fountain-P11 Herz-Jesus-P8 sceaux-castle}
. bench/common.sh
start_bench colmap python3 bc /usr/bin/time
export QT_QPA_PLATFORM=offscreen

# pairs DB : "VERIFIED MEDIAN_INLIERS" and the verified pair ids in DB.pairs
pairs() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = sorted((pid, n) for pid, n in db.execute("SELECT pair_id, rows FROM two_view_geometries WHERE rows >= 15"))
open(sys.argv[1] + ".pairs", "w").write("\n".join(str(p) for p, _ in rows) + "\n")
counts = sorted(n for _, n in rows)
print(len(rows), counts[len(counts) // 2] if counts else 0)
PY
}

for set in $sets; do
  images=$shared/datasets/$set/images
  measure "$set-ours" "$bin" match "$images" "$WORK/$set-ours"
  mkdir -p "$WORK/$set-colmap"
  db=$WORK/$set-colmap/database.db
  measure "$set-colmap-features" colmap feature_extractor --database_path "$db" --image_path "$images" \
    --SiftExtraction.use_gpu 0
  measure "$set-colmap-matching" colmap exhaustive_matcher --database_path "$db" --SiftMatching.use_gpu 0
done

echo
echo "Features and matching ($(machine), $(date -u +%F)); peer: COLMAP $(colmap -h 2>/dev/null | awk '/COLMAP/ {print $2; exit}') feature_extractor + exhaustive_matcher (CPU)"
printf '%-16s %9s %9s %7s %9s %9s %9s %9s %9s %9s %7s\n' set "ours (s)" "peer (s)" ratio "ours MiB" "peer MiB" \
  "ours ver" "peer ver" "ours inl" "peer inl" missing
for set in $sets; do
  read -r ours_wall ours_rss <<< "$(median "$set-ours")"
  read -r fw frss <<< "$(median "$set-colmap-features")"
  read -r mw mrss <<< "$(median "$set-colmap-matching")"
  peer_wall=$(echo "$fw + $mw" | bc)
  peer_rss=$(( frss > mrss ? frss : mrss ))
  read -r ours_ver ours_inl <<< "$(pairs "$WORK/$set-ours/database.db")"
  read -r peer_ver peer_inl <<< "$(pairs "$WORK/$set-colmap/database.db")"
  missing=$(comm -13 "$WORK/$set-ours/database.db.pairs" "$WORK/$set-colmap/database.db.pairs" | grep -c . || true)
  printf '%-16s %9s %9s %7s %9s %9s %9s %9s %9s %9s %7s\n' "$set" "$ours_wall" "$peer_wall" \
    "$(echo "scale=3; $ours_wall / $peer_wall" | bc)" "$ours_rss" "$peer_rss" "$ours_ver" "$peer_ver" "$ours_inl" "$peer_inl" "$missing"
done
echo "(ver: verified pairs; inl: median inliers per verified pair; missing: pairs COLMAP verifies and we do not."
echo " Ours runs guided matching; COLMAP's default matcher does not. The issue's reference for inliers is"
echo " COLMAP automatic_reconstructor --quality high with guided matching: 2329 on fountain-P11.)"
