#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test with ctest.
#   scripts/test.sh                 # normal build in build/
#   KUBESYNC_SANITIZE=ON scripts/test.sh   # AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

sanitize=${KUBESYNC_SANITIZE:-OFF}
build_dir=${KUBESYNC_BUILD_DIR:-build}
if [ "$sanitize" = "ON" ]; then build_dir=${KUBESYNC_BUILD_DIR:-build-asan}; fi
jobs=${KUBESYNC_JOBS:-$(nproc)}

cmake -S . -B "$build_dir" -G Ninja -DKUBESYNC_SANITIZE="$sanitize" >/dev/null
cmake --build "$build_dir" -j "$jobs"
# Sanitizer runtime options: fail on the first report, keep leak checking on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" -j "$jobs" --output-on-failure --timeout 600 "$@"
