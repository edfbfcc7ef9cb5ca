#!/usr/bin/env bash
# The README's Quick start, first line: install phasegate into a virtual environment
# (.venv, created when missing; see scripts/_venv.sh) and drive a session on a copy of the
# bundled example workspace. Exits as `phasegate run` does: 1 when a phase is left
# waiting for a person (the example is made to stop at Testing), 0 when all complete.
#
#   bash scripts/quickstart.sh [WORKSPACE]     (default: /tmp/taskboard)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
PY="$(ensure_venv .venv)"
"$PY" -m pip install -q -e . pytest coverage
WS="${1:-/tmp/taskboard}"
rm -rf "$WS"
cp -rT examples/taskboard "$WS"
# the example's personas and tests run the tools of this environment (ruff, pytest)
export PATH="$(dirname "$PY"):$PATH"
exec "$PY" -m phasegate run --workspace "$WS" \
  --requirement "Create a task management system with users and due dates"
