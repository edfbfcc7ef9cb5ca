"""Which Python runs the workspace's code (its tests, its type checker).

Never phasegate's own interpreter, unless that is what the workspace's PATH gives. The
order is: the config's ``interpreter``; ``.venv/bin/python``; ``venv/bin/python``;
``python3`` (then ``python``) on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from phasegate.config import Config
from phasegate.proc import run_tool

VENV_DIRS = (".venv", "venv")


def _venv_python(venv: Path) -> Path | None:
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe"):
        cand = venv / rel
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def workspace_venv(root: Path) -> Path | None:
    """The workspace's own virtual environment (``.venv`` or ``venv``), if it has one."""
    for name in VENV_DIRS:
        if _venv_python(root / name) is not None:
            return root / name
    return None


def workspace_bin(root: Path, program: str) -> str | None:
    """``program`` installed in the workspace's virtual environment (e.g. its own ruff)."""
    venv = workspace_venv(root)
    if venv is None:
        return None
    for rel in (f"bin/{program}", f"Scripts/{program}.exe"):
        cand = venv / rel
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return None


def venv_env(python: str) -> dict[str, str]:
    """The environment of an activated virtual environment, when ``python`` is one's
    (``<venv>/bin/python`` beside ``<venv>/pyvenv.cfg``): its ``bin`` first on PATH and
    ``VIRTUAL_ENV``, so the tools the suite starts by name (a type checker, a console
    script of the project) are the environment's, as where the project's developers run
    it. Otherwise nothing."""
    bin_dir = Path(python).parent
    venv = bin_dir.parent
    if not (venv / "pyvenv.cfg").is_file():
        return {}
    rest = os.environ.get("PATH", "")
    return {
        "PATH": str(bin_dir) + (os.pathsep + rest if rest else ""),
        "VIRTUAL_ENV": str(venv),
    }


class InterpreterNotFound(LookupError):
    pass


def find_interpreter(root: Path, config: Config) -> str:
    """Absolute path of the Python that runs the workspace's tests.

    Raises :class:`InterpreterNotFound` with a message saying what was tried.
    """
    configured = config.interpreter
    if configured:
        cand = Path(configured).expanduser()
        if not cand.is_absolute() and ("/" in configured or os.sep in configured):
            cand = root / cand
        if cand.is_absolute() or "/" in configured:
            if cand.is_file() and os.access(cand, os.X_OK):
                return str(cand)
            raise InterpreterNotFound(f"configured interpreter {configured!r} not found")
        found = shutil.which(configured)
        if found:
            return found
        raise InterpreterNotFound(f"configured interpreter {configured!r} not found on PATH")
    venv = workspace_venv(root)
    if venv is not None:
        py = _venv_python(venv)
        assert py is not None
        return str(py)
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found
    raise InterpreterNotFound(
        "no Python found: set `interpreter` in the config, create .venv, or put python3 on PATH"
    )


def is_own_interpreter(python: str) -> bool:
    """True when ``python`` is the interpreter phasegate itself runs in."""
    try:
        return Path(python).resolve() == Path(sys.executable).resolve()
    except OSError:
        return False


@dataclass(frozen=True)
class Probe:
    python: str
    version: str
    modules: frozenset[str]

    def has(self, module: str) -> bool:
        return module in self.modules


PROBED_MODULES = ("pytest", "coverage", "mypy", "xdist", "pytest_cov")
_PROBE_CODE = (
    "import importlib.util as u, json, sys;"
    "print(json.dumps({'version': '%d.%d.%d' % sys.version_info[:3],"
    f"'modules': [m for m in {list(PROBED_MODULES)!r} if u.find_spec(m) is not None]}}))"
)
PROBE_TTL_S = 30.0  # a module installed meanwhile is seen after this long
_probe_cache: dict[tuple[str, float], tuple[float, Probe]] = {}
_probe_lock = threading.Lock()


def probe(python: str, cwd: Path, timeout: float = 30.0) -> Probe | None:
    """Which of pytest / coverage / mypy / xdist the interpreter can import (cached briefly).

    ``None`` when the interpreter cannot be run at all.
    """
    try:
        mtime = Path(python).stat().st_mtime
    except OSError:
        return None
    key = (python, mtime)
    with _probe_lock:
        hit = _probe_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < PROBE_TTL_S:
        return hit[1]
    res = run_tool(
        [python, "-c", _PROBE_CODE],
        cwd=cwd,
        timeout=timeout,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        max_output=64 * 1024,
    )
    if res.returncode != 0:
        return None
    try:
        data = json.loads(res.stdout.strip().splitlines()[-1])
        result = Probe(python, str(data["version"]), frozenset(data["modules"]))
    except (ValueError, KeyError, IndexError):
        return None
    with _probe_lock:
        _probe_cache[key] = (time.monotonic(), result)
    return result
