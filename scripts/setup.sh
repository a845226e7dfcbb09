#!/usr/bin/env bash
# Set up realcode on a fresh machine.
#   scripts/setup.sh          core package (analyzer, sandbox, judge, rewards, evaluation; no torch)
#   scripts/setup.sh --dev    + training back-ends (CPU torch first), benchmark tools and test tools
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# Bubblewrap gives the sandbox its strongest isolation level; without it the sandbox falls back (and says so).
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) \
      || echo "setup: could not install bubblewrap; the sandbox will use a weaker isolation level" >&2
  else
    echo "setup: bubblewrap (bwrap) is not installed; install it for the strongest sandbox isolation" >&2
  fi
fi

if [ "$dev" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  # The report tests render the HTML report in headless Chromium.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the browser test of the HTML report will be skipped" >&2
  fi
fi

python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "$dev" = 1 ]; then
  # torch first: the CPU build 2.13.0; anything that depends on torch afterwards is satisfied by it instead of
  # pulling a multi-GB CUDA build.
  python -m pip install -q "torch==2.13.0"
  python -m pip install -q -e ".[dev,bench,serve,train]"
else
  python -m pip install -q -e .
fi
