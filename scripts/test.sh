#!/usr/bin/env bash
# Install everything the test suite needs, then run the whole suite.
#
#   bash scripts/test.sh [pytest args...]
#
# Installs phasegate with its test extra into a virtual environment (the active one, or
# $PYTHON, else .venv, created when missing: Debian's own python3 refuses pip installs),
# the real programs the end-to-end tests drive (Neovim and Chromium from Debian,
# code-server from npm, Aider from PyPI: see scripts/install-e2e-deps.sh), builds the
# VS Code extension, and runs pytest, slow real-client tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
# The active virtual environment (or $PYTHON), else .venv, created when missing.
. scripts/_venv.sh
PY="$(ensure_venv .venv)"
export PATH="$(dirname "$PY"):$PATH"

log() { printf '[test] %s\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) for: $*"; return 1; fi
}

log "pip install -e .[test]"
"$PY" -m pip install -q -e '.[test]'

if ! command -v nvim >/dev/null; then
  log "apt-get install neovim"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q neovim
fi

log "end-to-end dependencies (Chromium, Node 24, code-server, playwright-core, Aider)"
bash scripts/install-e2e-deps.sh

log "building the VS Code extension"
(cd vscode-client && npm ci --no-audit --no-fund && npm run package)

log "pytest"
"$PY" -m pytest "$@"
