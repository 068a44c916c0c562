#!/usr/bin/env bash
# Scaling of `heritage reconstruct` with the number of photos: synthetic
# sites of 50, 100, 200 and 300 photos (640x427, seeded), time per step
# (features, matching, mapping), pairs matched, photos registered and the
# error against the exact truth. Matching and mapping should grow no
# faster than about n log n; the last columns divide each time by n log n,
# relative to the first row. On this site more photos also means denser
# photos (the same house), so each point is seen by more of them: the
# table gives the model's observations and the mapping time per
# observation too.
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
# usage: [REPEAT=N] bench/scaling.sh [SIZES...]   (needs python3 with numpy, sqlite3, /usr/bin/time; colmap optional)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
start_bench python3 sqlite3 /usr/bin/time
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50 100 200 300)
repeat=${REPEAT:-2}
for n in "${sizes[@]}"; do
  "$bin" synth "$WORK/site-$n" --photos "$n" --size 640x427 --seed 3 > /dev/null
  for r in $(seq "$repeat"); do
    rm -rf "$WORK/out-$n"
    /usr/bin/time -v -o "$WORK/time-$n-$r.txt" "$bin" reconstruct "$WORK/site-$n/photos" "$WORK/out-$n" --json \
      > "$WORK/report-$n-$r.json" 2> /dev/null || true
  done
  python3 bench/model_error.py "$WORK/out-$n/model/sparse/0" "$WORK/site-$n/truth" > "$WORK/error-$n.txt" || true
  sqlite3 "$WORK/out-$n/database.db" "SELECT count(*) FROM matches" > "$WORK/pairs-$n.txt" 2> /dev/null || echo "-" > "$WORK/pairs-$n.txt"
  if command -v colmap > /dev/null; then
    export QT_QPA_PLATFORM=offscreen
    mkdir -p "$WORK/colmap-$n"
    cp "$WORK/out-$n/database.db" "$WORK/colmap-$n/database.db"
    # A failure of COLMAP's mapper shows as "failed", not the end of the bench.
    measure "colmap-$n" bash -c 'colmap mapper --database_path "$1/database.db" --image_path "$2" --output_path "$1" \
      || echo "COLMAP mapper failed" >&2' _ "$WORK/colmap-$n" "$WORK/site-$n/photos"
    if [ -d "$WORK/colmap-$n/0" ]; then
      colmap model_converter --input_path "$WORK/colmap-$n/0" --output_path "$WORK/colmap-$n/0" --output_type TXT > /dev/null 2>&1
      python3 bench/model_error.py "$WORK/colmap-$n/0" "$WORK/site-$n/truth" > "$WORK/colmap-error-$n.txt" || true
    fi
  fi
done
python3 - "$WORK" "$repeat" "${sizes[@]}" <<'PY'
import json, math, re, sys
work, repeat, sizes = sys.argv[1], int(sys.argv[2]), [int(n) for n in sys.argv[3:]]
print(f"\nScaling of heritage reconstruct (synthetic site, 640x427, {open('/proc/cpuinfo').read().count('processor')} cores,"
      f" fastest of {repeat} runs per size)")
head = ("photos", "features s", "matching s", "mapping s", "total s", "MiB", "pairs", "registered", "rot deg",
        "obs", "match/nlogn", "map/nlogn", "map/obs", "colmap map s", "colmap/nlogn", "colmap rot")
print("%7s %11s %11s %10s %8s %6s %7s %11s %8s %8s %12s %10s %8s %13s %13s %11s" % head)


# COLMAP's wall time per size, from the lines `measure` wrote ("LABEL WALL RSS").
peer_times = {}
try:
    for line in open(f"{work}/results.txt"):
        label, wall, _ = line.split()
        peer_times[int(label.removeprefix("colmap-"))] = float(wall)
except FileNotFoundError:
    pass


def colmap_mapping(n):
    """COLMAP mapper's wall time (s) and rotation error on size n, if it ran."""
    if n not in peer_times:
        return None, "-"
    try:
        rot = re.search(r"rot_median_deg: ([\d.]+)", open(f"{work}/colmap-error-{n}.txt").read()).group(1)
    except (FileNotFoundError, AttributeError):
        rot = "failed"
    return peer_times[n], rot


base = None
peer_base = None
for n in sizes:
    runs = range(1, repeat + 1)
    reports = [json.load(open(f"{work}/report-{n}-{r}.json")) for r in runs]
    report = reports[0]
    t = {step: min(r["timings"][step] for r in reports) for step in ("features", "matching", "mapping")}
    rss = max(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                            open(f"{work}/time-{n}-{r}.txt").read()).group(1)) for r in runs) / 1024
    err = open(f"{work}/error-{n}.txt").read()
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
        n, t["features"], t["matching"], t["mapping"], total, rss, open(f"{work}/pairs-{n}.txt").read().strip(),
        f"{report['registered']}/{n}", rot.group(1) if rot else "-", observations,
        t["matching"] / nlogn / base[0], t["mapping"] / nlogn / base[1], t["mapping"] / observations / base[2],
        "-" if peer is None else f"{peer:.2f}", "-" if peer is None else f"{peer / nlogn / peer_base:.2f}", peer_rot))
print("(match/nlogn, map/nlogn: time / (n ln n), relative to the first row; about 1 or less is n log n or better;")
print(" obs: observations in the models; map/obs: mapping time per observation, relative to the first row;")
print(" colmap: COLMAP's mapper on the same database, once per size, and its median rotation error)")
PY
