"""Where ``scripts/install-e2e-deps.sh`` put the end-to-end tools, for the slow tests."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest


def e2e_home() -> Path:
    env = os.environ.get("PHASEGATE_E2E_HOME")
    return Path(env) if env else Path.home() / ".cache" / "phasegate-e2e"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY="value" lines of the env.sh that the installer writes."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        parts = shlex.split(raw)
        values[key.strip()] = parts[0] if parts else ""
    return values


def tool_or_skip(key: str, what: str) -> str:
    """The installed tool ``key`` names (environment first, then env.sh). Missing: the
    test skips, except under ``CI``, where it fails."""
    env_file = e2e_home() / "env.sh"
    value = os.environ.get(key) or (
        read_env_file(env_file).get(key, "") if env_file.is_file() else ""
    )
    if value and Path(value).exists():
        return value
    reason = f"{what} ({key}={value or 'unset'}) missing: run scripts/install-e2e-deps.sh"
    if os.environ.get("CI"):
        pytest.fail(f"in CI: {reason}")
    pytest.skip(reason)
