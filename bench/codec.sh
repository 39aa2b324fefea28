#!/usr/bin/env bash
# The block codec alone, in plain C (bench/codec): bytes per point and
# decode and encode speed on the benchmark's data, the demo's and a few
# others, for the chosen encoding and the alternatives it was chosen over
# (docs/codec.md).  Best of RUNS runs, one thread.
set -euo pipefail
make -s -C "$(dirname "$0")/codec" run
