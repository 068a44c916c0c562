# Shared helpers of the benchmark scripts (sourced, not run).

# start_bench TOOL... : checks the tools, builds heritage in release mode
# (into $bin) and makes a scratch folder $WORK, removed on exit, with the
# results file $RESULTS.
start_bench() {
  for tool in "$@"; do
    command -v "$tool" > /dev/null || { echo "needs $tool (see the comment at the top of this script)"; exit 1; }
  done
  cargo build --release --quiet
  bin=$PWD/target/release/heritage
  WORK=$(mktemp -d)
  RESULTS=$WORK/results.txt
  trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
}

# machine: the cores and the vector instructions heritage may use
# (HERITAGE_SIMD=avx2 measures what a laptop without AVX-512 or AMX has).
machine() {
  echo "$(nproc) cores, vector instructions: ${HERITAGE_SIMD:-widest available}"
}

# measure LABEL CMD... : runs CMD under /usr/bin/time -v and appends
# "LABEL WALL_SECONDS PEAK_RSS_KIB" to $RESULTS.
measure() {
  local label=$1; shift
  sync
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/stderr.txt" || {
    echo "FAILED: $label: $*"; cat "$WORK/stderr.txt"; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  echo "$label $wall $rss" >> "$RESULTS"
}

# median LABEL : "WALL RSS_MIB" of the median-wall run of LABEL.
median() {
  awk -v l="$1" '$1==l {print $2, $3}' "$RESULTS" | sort -n | awk '{w[NR]=$1; r[NR]=$2} END {m=int((NR+1)/2); printf "%.2f %.0f", w[m], r[m]/1024}'
}

# row WORKLOAD OURS_LABEL PEER_LABEL : one line of the comparison table.
row() {
  local ours peer
  ours=$(median "$2"); peer=$(median "$3")
  set -- "$1" $ours $peer
  printf '%-28s %9s %9s %8s %10s %10s\n' "$1" "$2" "$4" "$(echo "scale=2; $2 / $4" | bc)" "$3" "$5"
}

header() {
  printf '%-28s %9s %9s %8s %10s %10s\n' workload "ours (s)" "peer (s)" ratio "ours MiB" "peer MiB"
}
