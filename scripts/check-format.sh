#!/usr/bin/env bash
# Checks that every tracked C++ file (*.h, *.cc) is formatted with the repository's
# .clang-format; exits 1 and lists the offending lines when one is not.
#   scripts/check-format.sh          check (what CI runs)
#   scripts/check-format.sh --fix    reformat the files in place
# clang-format comes from Debian (scripts/install-deps.sh).
set -euo pipefail

cd "$(dirname "$0")/.."

fix=0
case "${1:-}" in
  "") ;;
  --fix) fix=1 ;;
  *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-format: clang-format is not installed (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

mapfile -d '' files < <(git ls-files -z -- '*.h' '*.cc')
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no tracked *.h or *.cc files" >&2
  exit 2
fi

if [ "$fix" -eq 1 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 clang-format -i --style=file
  echo "check-format: reformatted ${#files[@]} files"
  exit 0
fi

if printf '%s\0' "${files[@]}" | xargs -0 -n 50 clang-format --dry-run -Werror --style=file; then
  echo "check-format: ${#files[@]} files formatted"
else
  echo "check-format: unformatted code above; run scripts/check-format.sh --fix" >&2
  exit 1
fi
