#!/usr/bin/env bash
# Every test of heritage: formatting, lints, unit, integration and end-to-end tests.
# Installs what the tests need on a fresh Debian machine (run as root there).
set -euo pipefail
cd "$(dirname "$0")/.."
# The web viewer's libraries and the browser the tests drive.
npm ci --prefix viewer --no-audit --no-fund --loglevel=error
if ! command -v chromium > /dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace

# glTF files checked by the Khronos validator (from npm).
npm ci --prefix tests/gltf --no-audit --no-fund --loglevel=error
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
target/debug/heritage synth "$scratch/synth" --photos 1 --size 160x107 > /dev/null
node tests/gltf/validate.mjs "$scratch/synth/truth/mesh.glb"

# The published website in a real browser (screenshots in target/screenshots/).
bash viewer/tests/run.sh target/debug/heritage
