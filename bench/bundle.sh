#!/usr/bin/env bash
# Bundle adjustment at scale: 1,000 cameras and 500,000 points (about two
# million observations) along a synthetic street facade, adjusted by
# heritage's Levenberg-Marquardt with the Schur complement, solving the
# reduced camera system both ways: direct (envelope Cholesky after reverse
# Cuthill-McKee ordering, what `auto` picks here) and by conjugate
# gradients with a block-Jacobi preconditioner (what `auto` falls back to
# when the factor would be too large). Prints the time, the error before
# and after, and the peak memory of each.
#
# usage: bench/bundle.sh [CAMERAS POINTS]   (needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p heritage-sfm --example bundle_scale
for solver in direct iterative; do
  /usr/bin/time -f "peak memory %M KiB, wall %e s" target/release/examples/bundle_scale "${1:-1000}" "${2:-500000}" "$solver"
done
