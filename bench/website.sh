#!/usr/bin/env bash
# Website budgets, measured on the published demo site:
#  - home page weight, gzip-compressed, photos excluded (budget 150 KB);
#  - open a photo -> first deep-zoom tile drawn on a throttled slow 4G
#    connection in Chromium (budget 1.5 s), median of 3 cold runs.
#
# usage: bench/website.sh   (needs chromium, node, gzip; runs `npm ci --prefix viewer`)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
start_bench chromium node gzip
npm ci --prefix viewer --no-audit --no-fund --loglevel=error
"$bin" demo --dir "$WORK/demo" --photos 6 --no-serve > /dev/null
public=$WORK/demo/archive/public

echo
echo "Website budgets ($(nproc) cores, $(date -u +%F))"
total=0
printf '%-28s %10s %10s\n' "home page file" bytes gzip
for file in index.html viewer/heritage.css viewer/home.js viewer/lang.js viewer/icon.svg; do
  raw=$(wc -c < "$public/$file")
  packed=$(gzip -9 -c "$public/$file" | wc -c)
  total=$((total + packed))
  printf '%-28s %10s %10s\n' "$file" "$raw" "$packed"
done
printf '%-28s %10s %10s\n' "total (budget 153600)" "" "$total"

mkfifo "$WORK/serve.fifo"
"$bin" serve --dir "$public" --port 0 > "$WORK/serve.fifo" &
server=$!
trap 'kill $server 2> /dev/null; chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
read -r line < "$WORK/serve.fifo"
url=${line#*at }
url=${url%% *}
node bench/website.mjs "${url}sites/nha-tong-than-mo-phong/index.html"
