#!/usr/bin/env bash
# The test command: sets up (tools/setup.sh), builds, and runs every test with CTest.
# Extra arguments go to ctest (e.g. -L network, -R ops).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec .venv/bin/ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
