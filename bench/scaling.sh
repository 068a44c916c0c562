#!/usr/bin/env bash
# Scaling of `heritage reconstruct` with the number of photos, on two
# synthetic sites (640x427, seeded), at 50, 100, 200 and 300 photos: time
# per step (features, matching, mapping), pairs matched, photos
# registered and the error against the exact truth. Matching and mapping
# should grow no faster than about n log n; the last columns divide each
# time by n log n, relative to the first row.
#
# The two sites (`heritage synth --layout`):
# - garden: a lane along a rock garden, one photo every 0.6 m, so that
#   more photos cover more ground at the same density, as a larger site
#   photographed the same way would be. The model's observations grow as
#   the photos.
# - house: the house, walked around; more photos are denser photos of
#   it, so each point is seen by more of them and the observations grow
#   faster than the photos (12.8 times for 6 times from 50 to 300). The
#   table gives the observations and the mapping time per observation.
#
# Each size is reconstructed REPEAT times (default 2) and the fastest
# time of each step is kept: on a shared 2-core machine a 0.2 s mapping
# varies by 15 % from run to run, and the ratios with it.
#
# Peer: when `colmap` is installed, COLMAP's incremental mapper (`colmap
# mapper`, CPU) maps the same database (our features and verified
# matches), once per size: the last columns give its wall time, its time
# / (n ln n) relative to its first row, and its rotation error. How fast
# the peer's mapping grows on the same input tells what the site itself
# demands.
#
# usage: [REPEAT=N] [LAYOUTS="garden house"] bench/scaling.sh [SIZES...]
#        (needs python3 with numpy, sqlite3, /usr/bin/time; colmap optional)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
start_bench python3 sqlite3 /usr/bin/time
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 100 200 300)
repeat=${REPEAT:-2}
layouts=${LAYOUTS:-garden house}
for layout in $layouts; do
  for n in "${sizes[@]}"; do
    t=$layout-$n
    "$bin" synth "$WORK/site-$t" --layout "$layout" --photos "$n" --size 640x427 --seed 3 > /dev/null
    for r in $(seq "$repeat"); do
      rm -rf "$WORK/out-$t"
      /usr/bin/time -v -o "$WORK/time-$t-$r.txt" "$bin" reconstruct "$WORK/site-$t/photos" "$WORK/out-$t" --json \
        > "$WORK/report-$t-$r.json" 2> /dev/null || true
    done
    python3 bench/model_error.py "$WORK/out-$t/model/sparse/0" "$WORK/site-$t/truth" > "$WORK/error-$t.txt" || true
    sqlite3 "$WORK/out-$t/database.db" "SELECT count(*) FROM matches" > "$WORK/pairs-$t.txt" 2> /dev/null || echo "-" > "$WORK/pairs-$t.txt"
    if command -v colmap > /dev/null; then
      export QT_QPA_PLATFORM=offscreen
      mkdir -p "$WORK/colmap-$t"
      cp "$WORK/out-$t/database.db" "$WORK/colmap-$t/database.db"
      # A failure of COLMAP's mapper shows as "failed", not the end of the bench.
      measure "colmap-$t" bash -c 'colmap mapper --database_path "$1/database.db" --image_path "$2" --output_path "$1" \
        || echo "COLMAP mapper failed" >&2' _ "$WORK/colmap-$t" "$WORK/site-$t/photos"
      if [ -d "$WORK/colmap-$t/0" ]; then
        colmap model_converter --input_path "$WORK/colmap-$t/0" --output_path "$WORK/colmap-$t/0" --output_type TXT > /dev/null 2>&1
        python3 bench/model_error.py "$WORK/colmap-$t/0" "$WORK/site-$t/truth" > "$WORK/colmap-error-$t.txt" || true
      fi
    fi
  done
python3 - "$WORK" "$repeat" "$layout" "${sizes[@]}" <<'PY'
import json, math, re, sys
work, repeat, layout, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3], [int(n) for n in sys.argv[4:]]
print(f"\nScaling of heritage reconstruct (synthetic {layout} site, 640x427, {open('/proc/cpuinfo').read().count('processor')} cores,"
      f" fastest of {repeat} runs per size)")
head = ("photos", "features s", "matching s", "mapping s", "total s", "MiB", "pairs", "registered", "rot deg",
        "obs", "match/nlogn", "map/nlogn", "map/obs", "colmap map s", "colmap/nlogn", "colmap rot")
print("%7s %11s %11s %10s %8s %6s %7s %11s %8s %8s %12s %10s %8s %13s %13s %11s" % head)


# COLMAP's wall time per size, from the lines `measure` wrote ("LABEL WALL RSS").
peer_times = {}
try:
    for line in open(f"{work}/results.txt"):
        label, wall, _ = line.split()
        if label.startswith(f"colmap-{layout}-"):
            peer_times[int(label.removeprefix(f"colmap-{layout}-"))] = float(wall)
except FileNotFoundError:
    pass


def colmap_mapping(n):
    """COLMAP mapper's wall time (s) and rotation error on size n, if it ran."""
    if n not in peer_times:
        return None, "-"
    try:
        rot = re.search(r"rot_median_deg: ([\d.]+)", open(f"{work}/colmap-error-{layout}-{n}.txt").read()).group(1)
    except (FileNotFoundError, AttributeError):
        rot = "failed"
    return peer_times[n], rot


base = None
peer_base = None
for n in sizes:
    runs = range(1, repeat + 1)
    reports = [json.load(open(f"{work}/report-{layout}-{n}-{r}.json")) for r in runs]
    report = reports[0]
    t = {step: min(r["timings"][step] for r in reports) for step in ("features", "matching", "mapping")}
    rss = max(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                            open(f"{work}/time-{layout}-{n}-{r}.txt").read()).group(1)) for r in runs) / 1024
    err = open(f"{work}/error-{layout}-{n}.txt").read()
    rot = re.search(r"rot_median_deg: ([\d.]+)", err)
    nlogn = n * math.log(n)
    models = report["models"]
    observations = sum(m["points"] * m["mean_track_length"] for m in models)
    if base is None:
        base = (t["matching"] / nlogn, t["mapping"] / nlogn, t["mapping"] / observations)
    total = t["features"] + t["matching"] + t["mapping"]
    peer, peer_rot = colmap_mapping(n)
    if peer is not None and peer_base is None:
        peer_base = peer / nlogn
    print("%7d %11.1f %11.1f %10.2f %8.1f %6.0f %7s %11s %8s %8.0f %12.2f %10.2f %8.2f %13s %13s %11s" % (
        n, t["features"], t["matching"], t["mapping"], total, rss, open(f"{work}/pairs-{layout}-{n}.txt").read().strip(),
        f"{report['registered']}/{n}", rot.group(1) if rot else "-", observations,
        t["matching"] / nlogn / base[0], t["mapping"] / nlogn / base[1], t["mapping"] / observations / base[2],
        "-" if peer is None else f"{peer:.2f}", "-" if peer is None else f"{peer / nlogn / peer_base:.2f}", peer_rot))
print("(match/nlogn, map/nlogn: time / (n ln n), relative to the first row; about 1 or less is n log n or better;")
print(" obs: observations in the models; map/obs: mapping time per observation, relative to the first row;")
print(" colmap: COLMAP's mapper on the same database, once per size, and its median rotation error)")
PY
done
