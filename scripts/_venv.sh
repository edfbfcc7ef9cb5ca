# Sourced by the scripts that install phasegate: a Python virtual environment to install
# into, so nothing depends on (or changes) the machine's own Python. Debian 12's system
# python3 is "externally managed" (PEP 668): pip refuses to install into it, and
# `python3 -m venv` needs the python3-venv package, which is installed when missing.
#
#   . scripts/_venv.sh; PY="$(ensure_venv .venv)"

_venv_log() { printf '[venv] %s\n' "$*" >&2; }

_venv_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    _venv_log "need root (or sudo) for: $*"; return 1; fi
}

# ensure_venv DIR: print the python of an active virtual environment, else of DIR
# (created when missing, with python3-venv installed first if the machine lacks it).
ensure_venv() {
  local dir="$1"
  if [ -n "${PYTHON:-}" ]; then
    printf '%s\n' "$PYTHON"
    return 0
  fi
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    printf '%s\n' "$VIRTUAL_ENV/bin/python"
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    if ! python3 -m venv "$dir" >/dev/null 2>&1; then
      rm -rf "$dir"
      _venv_log "python3 -m venv failed: installing python3-venv"
      _venv_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
      _venv_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
      python3 -m venv "$dir" >&2
    fi
    "$dir/bin/python" -m pip install -q --upgrade pip >&2 || true
  fi
  printf '%s\n' "$(cd "$dir" && pwd)/bin/python"
}
