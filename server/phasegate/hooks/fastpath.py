"""Answers that need no check to run, given without importing the engine.

Most of a hook's time is Python importing the engine (pydantic models, the checks): far
more than analysing one file. Two answers can be given without it:

* **not an input** — the edited file is read by no check that runs after an edit (a
  JSON file, a README that only project checks read, an ignored file): silence.
  ``checks.json`` keeps, for the configuration and code that made it, every check's
  input and exclude patterns as the regular expressions pathspec compiles them to, the
  workspace's ``.gitignore`` the same way, and which checks judge single files;
* **already answered** — the same file content, configuration, code, session and git
  history as the last answer about that file: the same answer. ``memo.json`` keeps the
  last findings per file (at most :data:`MEMO_LIMIT` files), only when every check that
  reads the file judges it alone (file-scope checks, IMPL-LINT): a project check's
  findings on a file depend on other files.

Both are keyed by everything the answer depends on; any doubt (a key part that cannot be
read, new-code mode configured with a moving reference) means no fast answer, and the
engine answers. Imports the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phasegate.hooks.state import hooks_dir, read_json, write_json
from phasegate.localsock import code_stamp

INDEX_FILE = "checks.json"
MEMO_FILE = "memo.json"
INDEX_VERSION = 1
MEMO_VERSION = 1
MEMO_LIMIT = 256
DIR_MARK = "ps_d"  # pathspec's group name for a match through a directory pattern

# (regex, flags, include) as pathspec compiles a gitignore-style pattern
Compiled = list[list[Any]]


def _stat_sig(path: Path | str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"-"


def index_key(root: Path, stamp: str | None = None) -> str:
    """What the check index depends on: phasegate's code and installed packages, the
    configuration files and the workspace's ``.gitignore``."""
    h = hashlib.sha1((stamp or code_stamp()).encode())
    for name in ("phasegate.toml", "pyproject.toml", ".gitignore"):
        h.update(name.encode() + b"\0" + _bytes(root / name) + b"\0")
    return h.hexdigest()


def compile_patterns(patterns: Iterable[str]) -> Compiled:
    """gitignore-style ``patterns`` as pathspec compiles them (imports pathspec)."""
    import pathspec

    out: Compiled = []
    for p in pathspec.GitIgnoreSpec.from_lines(list(patterns)).patterns:
        regex = getattr(p, "regex", None)
        include = getattr(p, "include", None)
        if regex is not None and include is not None:
            out.append([regex.pattern, regex.flags, include])
    return out


class Matcher:
    """pathspec's ``GitIgnoreSpec.match_file`` over compiled patterns: the last pattern
    that matches decides, except that a file pattern outranks a directory pattern."""

    def __init__(self, compiled: Compiled) -> None:
        self._source = compiled
        self._patterns: list[tuple[re.Pattern[str], bool]] | None = None

    def __call__(self, path: str) -> bool:
        if self._patterns is None:  # compiled when first needed: most never are
            self._patterns = [(re.compile(p, flags), bool(inc)) for p, flags, inc in self._source]
        result: bool | None = None
        priority = 0
        for regex, include in self._patterns:
            m = regex.search(path)
            if m is None:
                continue
            dir_mark = m.groupdict().get(DIR_MARK)
            rank = 1 if dir_mark else 2
            if (include and dir_mark) or rank >= priority:
                result = include
                priority = rank
        return bool(result)


@dataclass
class IndexedCheck:
    key: str
    fast: bool
    per_file: bool  # judges one file alone (file scope, or IMPL-LINT on Python files)
    inputs: Matcher
    exclude: Matcher | None

    def matches(self, path: str) -> bool:
        return self.inputs(path) and not (self.exclude is not None and self.exclude(path))


@dataclass
class Index:
    """The check index of a workspace (``checks.json``)."""

    key: str
    checks: list[IndexedCheck]
    ignore: Matcher
    always_ignored: frozenset[str]
    new_code_configured: bool

    def ignored(self, path: str) -> bool:
        parts = path.split("/")
        return any(p in self.always_ignored for p in parts[:-1]) or self.ignore(path)

    def fast_checks(self, path: str) -> list[IndexedCheck]:
        """The checks that run after an edit of ``path`` (none when it is ignored)."""
        if self.ignored(path):
            return []
        return [c for c in self.checks if c.fast and c.matches(path)]


def load_index(root: Path, key: str) -> Index | None:
    """The workspace's check index when it was made for ``key``; else None."""
    folder = hooks_dir(root, create=False)
    data = read_json(folder / INDEX_FILE) if folder is not None else None
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        return None
    if data.get("key") != key:
        return None
    try:
        checks = [
            IndexedCheck(
                key=str(c["key"]),
                fast=bool(c["fast"]),
                per_file=bool(c["per_file"]),
                inputs=Matcher(c["inputs"]),
                exclude=Matcher(c["exclude"]) if c["exclude"] else None,
            )
            for c in data["checks"]
        ]
        return Index(
            key=key,
            checks=checks,
            ignore=Matcher(data["gitignore"]),
            always_ignored=frozenset(str(d) for d in data["always_ignored"]),
            new_code_configured=bool(data["new_code_configured"]),
        )
    except (KeyError, TypeError, ValueError, re.error):
        return None


def save_index(
    root: Path,
    key: str,
    checks: Sequence[tuple[str, bool, bool, Sequence[str], Sequence[str]]],
    gitignore_lines: Sequence[str],
    always_ignored: Iterable[str],
    new_code_configured: bool,
) -> None:
    """Write the index: ``checks`` as (key, fast, per_file, inputs, exclude)."""
    folder = hooks_dir(root, create=True)
    if folder is None:
        return
    doc = {
        "version": INDEX_VERSION,
        "key": key,
        "checks": [
            {
                "key": k,
                "fast": fast,
                "per_file": per_file,
                "inputs": compile_patterns(inputs),
                "exclude": compile_patterns(exclude) if exclude else [],
            }
            for k, fast, per_file, inputs, exclude in checks
        ],
        "gitignore": compile_patterns(gitignore_lines),
        "always_ignored": sorted(always_ignored),
        "new_code_configured": new_code_configured,
    }
    write_json(folder / INDEX_FILE, doc)


# -- the last answer per file -----------------------------------------------------------------
def _git_stamp(root: Path) -> str:
    """Where ``HEAD`` is, cheaply: the merge base new code is judged from follows it."""
    git = root / ".git"
    for up in [root, *root.parents]:
        if (up / ".git").exists():
            git = up / ".git"
            break
    else:
        return "no-git"
    if not git.is_dir():  # a worktree or submodule: its HEAD lives elsewhere
        return f"gitfile:{_bytes(git).decode('utf-8', 'replace')}:{_stat_sig(git)}"
    head = _bytes(git / "HEAD").decode("utf-8", "replace").strip()
    parts = [head, _stat_sig(git / "packed-refs")]
    if head.startswith("ref: "):
        parts.append(_stat_sig(git / head[5:].strip()))
    return "|".join(parts)


def memo_key(root: Path, rel: str, index: Index, *, trusted: bool) -> str | None:
    """What the findings of ``rel`` depend on besides the index, or None when the memo
    cannot be trusted for it (a project check reads it, or new-code mode is configured
    with a reference that can move)."""
    checks = index.fast_checks(rel)
    if not checks or not all(c.per_file for c in checks) or index.new_code_configured:
        return None
    h = hashlib.sha1(f"{index.key}|{rel}|trusted={trusted}".encode())
    try:
        with open(root / rel, "rb") as fh:
            h.update(hashlib.sha1(fh.read()).hexdigest().encode())
    except OSError:
        return None
    state = root / ".phasegate"
    active = _bytes(state / "active").decode("utf-8", "replace").strip()
    h.update(f"|active={active}".encode())
    if active and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", active):
        h.update(_stat_sig(state / "sessions" / active / "checkpoint.json").encode())
    h.update(f"|git={_git_stamp(root)}".encode())
    # the ruff that lints and the configuration it reads for this file
    parts = rel.split("/")[:-1]
    folders = ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]
    for d in folders:
        for name in ("pyproject.toml", "ruff.toml", ".ruff.toml"):
            path = root / d / name if d else root / name
            h.update(f"|{path}={_stat_sig(path)}".encode())
    for name in (".pre-commit-config.yaml", "uv.lock", "poetry.lock", "pdm.lock"):
        h.update(f"|{name}={_stat_sig(root / name)}".encode())
    for venv in (".venv", "venv"):
        h.update(f"|{venv}={_stat_sig(root / venv / 'bin' / 'ruff')}".encode())
    return h.hexdigest()


def memo_get(root: Path, rel: str, key: str) -> dict[str, Any] | None:
    folder = hooks_dir(root, create=False)
    data = read_json(folder / MEMO_FILE) if folder is not None else None
    if not isinstance(data, dict) or data.get("version") != MEMO_VERSION:
        return None
    entries = data.get("entries")
    hit = entries.get(rel) if isinstance(entries, dict) else None
    if not isinstance(hit, dict) or hit.get("key") != key:
        return None
    answer = hit.get("answer")
    return answer if isinstance(answer, dict) else None


def memo_put(root: Path, rel: str, key: str, answer: dict[str, Any]) -> None:
    folder = hooks_dir(root, create=True)
    if folder is None:
        return
    data = read_json(folder / MEMO_FILE)
    entries: dict[str, Any] = {}
    if isinstance(data, dict) and data.get("version") == MEMO_VERSION:
        old = data.get("entries")
        if isinstance(old, dict):
            entries = old
    entries.pop(rel, None)
    entries[rel] = {"key": key, "answer": answer}  # insertion order: the newest last
    while len(entries) > MEMO_LIMIT:
        entries.pop(next(iter(entries)))
    write_json(folder / MEMO_FILE, {"version": MEMO_VERSION, "entries": entries})
