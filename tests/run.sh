#!/usr/bin/env bash
# Every test of heritage: formatting, lints, unit, integration and end-to-end tests.
# Installs what the tests need on a fresh Debian machine (run as root there).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
