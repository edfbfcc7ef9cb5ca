"""The test suite across pytest-xdist workers, when the workspace's interpreter has xdist.

Three things make a parallel run judge as the serial one does:

- **Coverage in the workers.** ``coverage run`` measures only the process it starts, and
  xdist's workers are other processes. A small pytest plugin (:data:`WORKER_PLUGIN`,
  written to the run's folder under ``.phasegate/tmp/`` and loaded with ``-p``) starts
  coverage in each worker before the project's conftest files are imported, with the
  project's own coverage configuration and a data file of its own; the data files are
  combined afterwards as the project's ``[paths]`` say. It uses coverage's public API only
  (``Coverage(data_suffix=True)``, ``start``, ``stop``, ``save``), so any coverage.py the
  workspace has will do.
- **Tests that share state.** Workers take whole files (``--dist loadfile``), so the tests
  of one file run in order in one process, as they do serially.
- **Failures confirmed serially.** The tests that failed in parallel run again, serially,
  by their pytest ids; their results replace the parallel ones. A test that failed only
  in parallel is reported for information (it depends on other tests or on shared
  state), never as a failure.

``test_workers`` in the configuration sets it: ``"auto"`` (see :func:`worker_count`), a
number, or 0 / 1 for a serial run. A serial run passes ``-n 0`` when xdist is installed,
so a project whose ``addopts`` hold ``-n auto`` is still measured in one process.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Literal

from phasegate.fsutil import atomic_write_text

PLUGIN_MODULE = "_phasegate_xdist_coverage"

# Loaded with ``-p`` in the controller and in every worker; it does something only in a
# worker (xdist sets PYTEST_XDIST_WORKER before the worker reads its configuration).
WORKER_PLUGIN = '''\
"""Coverage in a pytest-xdist worker, started by phasegate (see phasegate's docs/ci.md)."""

import os

import pytest

_cov = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _cov
    if _cov is not None or not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import coverage

    _cov = coverage.Coverage(data_suffix=True)
    _cov.start()


def pytest_unconfigure(config):
    global _cov
    if _cov is not None:
        _cov.stop()
        _cov.save()
        _cov = None
'''

Workers = Literal["auto"] | int


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


# ``auto`` runs the suite in parallel once its tests took this long, summed over the
# tests (pytest's own timings, however the suite ran): below it, starting the workers,
# each of which collects the whole suite again, costs about what the parallel run saves.
PARALLEL_FROM_S = 4.0
TIMES_FILE = "suite-time.json"


def worker_count(
    setting: Workers,
    has_xdist: bool,
    test_files: int,
    last_tests_s: float | None,
    available: int | None = None,
) -> int:
    """How many xdist workers the suite runs in; 0 means serially, in one process.

    ``auto``: every CPU (at most one per test file, since workers take whole files) when
    there are two or more of each and the suite's tests took at least
    :data:`PARALLEL_FROM_S` the last time (or have not run yet)."""
    if not has_xdist:
        return 0
    if setting != "auto":
        return setting if setting >= 2 else 0
    n = min(cpus() if available is None else available, test_files)
    if n < 2 or (last_tests_s is not None and last_tests_s < PARALLEL_FROM_S):
        return 0
    return n


def load_tests_time(cache_dir: Path) -> float | None:
    """Seconds the suite's tests took the last time it ran (None: not known)."""
    try:
        data = json.loads((cache_dir / TIMES_FILE).read_text(encoding="utf-8"))
        value = data["tests_s"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def save_tests_time(cache_dir: Path, seconds: float) -> None:
    with contextlib.suppress(OSError):  # unknown next time: the suite may run in parallel
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            cache_dir / TIMES_FILE, json.dumps({"tests_s": round(seconds, 3)}), fsync=False
        )


def xdist_args(workers: int, has_xdist: bool) -> list[str]:
    """pytest's arguments for that many workers: ``-n 0`` serially when xdist is
    installed (it overrides an ``-n`` in the project's ``addopts``), nothing without it."""
    if not has_xdist:
        return []
    if workers == 0:
        return ["-n", "0"]
    return ["-n", str(workers), "--dist", "loadfile"]


def write_plugin(folder: Path) -> None:
    """Write :data:`WORKER_PLUGIN` where ``PYTHONPATH`` will find it."""
    (folder / f"{PLUGIN_MODULE}.py").write_text(WORKER_PLUGIN, encoding="utf-8")


def plugin_env(folder: Path) -> dict[str, str]:
    """The environment that lets the controller and the workers import the plugin."""
    rest = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": str(folder) + (os.pathsep + rest if rest else "")}
