#!/usr/bin/env bash
# Browser tests of the published website: builds a small demo archive (two
# of its photos held turned) with a hostile and an unpublished site,
# publishes it twice (at the root and under a sub-path), serves both with
# `heritage serve`, and drives Debian's Chromium with Playwright.
# Screenshots go to target/screenshots/.
#
# usage: viewer/tests/run.sh HERITAGE_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "$1")
scratch=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2> /dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT

"$bin" demo --dir "$scratch/demo" --photos 16 --size 1200x800 --turned 2 --no-serve > /dev/null
archive=$scratch/demo/archive
photos=$scratch/demo/volunteer-photos/photos
h() { "$bin" --archive "$archive" "$@" > /dev/null; }
h site add "Hostile" --slug hostile
h site set hostile --title-vi '<script>alert(1)</script>' --summary-vi 'Tiêu đề độc hại' --published true
h site add "Đình Bí Mật"
h site set dinh-bi-mat --published false
mkdir -p "$scratch/two"
cp "$photos/IMG_0001.jpg" "$photos/IMG_0002.jpg" "$scratch/two/"
h ingest "$scratch/two" --site hostile
h ingest "$scratch/two" --site dinh-bi-mat
h build
h publish --out "$scratch/root" --base-url http://127.0.0.1
h publish --out "$scratch/host/sub/path" --base-url http://127.0.0.1/sub/path
# The demo site's 3D model, as published, through the Khronos validator
# (installed by tests/run.sh).
node tests/gltf/validate.mjs "$scratch/root/sites/nha-tong-than-mo-phong/model/model.glb" > /dev/null

# serve DIR NAME: starts `heritage serve` on a free port; prints its URL
# once it listens (read from a FIFO, so there is no polling).
serve() {
  mkfifo "$scratch/$2.fifo"
  "$bin" serve --dir "$1" --port 0 > "$scratch/$2.fifo" 2> "$scratch/$2.err" &
  pids+=($!)
  local line
  read -r line < "$scratch/$2.fifo"
  url=${line#*at }
  url=${url%% *}
}
serve "$scratch/root" root
export HERITAGE_ROOT_URL=$url
serve "$scratch/host" host
export HERITAGE_SUBPATH_URL=${url}sub/path/
export HERITAGE_SCREENSHOTS=$PWD/target/screenshots
mkdir -p "$HERITAGE_SCREENSHOTS"
node --test viewer/tests/
