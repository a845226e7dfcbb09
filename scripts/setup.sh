#!/usr/bin/env bash
# Set up realcode on a fresh machine.
#   scripts/setup.sh          core package (analyzer, sandbox, judge, rewards, evaluation; no torch)
#   scripts/setup.sh --train  + training and model back-ends (CPU torch first)
#   scripts/setup.sh --dev    + everything the test suite uses (veRL, HTTP service, benchmark and test tools,
#                               Chromium for the report test)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=core
case "${1:-}" in
  --train) mode=train ;;
  --dev) mode=dev ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--train|--dev]" >&2; exit 2 ;;
esac

as_root_apt() {  # install Debian packages when we can (root with apt); say what is missing otherwise
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq "$@" >/dev/null) || echo "setup: could not install $*" >&2
  else
    echo "setup: please install $* (Debian/Ubuntu: apt-get install $*)" >&2
  fi
}

# Bubblewrap gives the sandbox its strongest isolation level; without it the sandbox falls back (and says so).
command -v bwrap >/dev/null 2>&1 || as_root_apt bubblewrap
# The report test renders the HTML report in headless Chromium.
if [ "$mode" = dev ] && ! command -v chromium >/dev/null 2>&1; then as_root_apt chromium; fi

python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
case "$mode" in
  core) python -m pip install -q -e . ;;
  train)
    # torch first: the CPU build 2.13.0; anything that depends on torch afterwards is satisfied by it instead
    # of pulling a multi-GB CUDA build.
    python -m pip install -q "torch==2.13.0"
    python -m pip install -q -e ".[train]" ;;
  dev)
    python -m pip install -q "torch==2.13.0"
    python -m pip install -q -e ".[train,verl,serve,bench,dev]" ;;
esac
