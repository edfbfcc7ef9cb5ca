"""What changed since a git reference: the lines new code is judged on.

:func:`changes_since` asks git for the merge base of ``REF`` and ``HEAD`` (``REF``
itself when they share no history), then diffs the working tree — committed, staged,
unstaged and untracked-but-not-ignored files alike — against it. The result,
:class:`ChangeSet`, answers the questions the new-code gates ask:

* :meth:`ChangeSet.is_new` — is this line (0-based, as findings hold them) added or
  changed since the base? Every line of a file that did not exist at the base is.
* :meth:`ChangeSet.base_text` — the file's text at the base (``None``: it did not exist);
  renames are followed, so a moved file is compared with where it came from.
* ``deleted`` / ``renamed`` / ``added`` — files, workspace-relative.

Git runs with the workspace's own configuration neutralised where it could run a
program (``core.fsmonitor``, external diff drivers, text conversion filters, and the
clean/smudge/process filter drivers that comparing with the working tree would run):
reading history never runs anything the workspace configures (:func:`git`). Every
call has a timeout.
A workspace inside a bigger repository (a monorepo's sub-project) gets paths relative to
itself; changes outside it are left out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from phasegate.proc import run_tool

GIT_TIMEOUT = 60.0

# Options that keep git from running anything the repository configures while it reads.
SAFE_GIT = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotepath=off",
    "-c",
    "diff.external=",
    "-c",
    "core.hooksPath=/dev/null",
)
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class ChangesError(Exception):
    """The change set cannot be computed (no git, not a repository, unknown reference)."""


@dataclass
class ChangeSet:
    """Files and lines changed between ``base`` (a commit) and the working tree."""

    root: Path
    ref: str  # the reference as given, e.g. "origin/main" or "HEAD~1"
    base: str  # the commit compared with (merge base of ref and HEAD)
    prefix: str = ""  # the workspace's path inside the repository ("" at its top)
    # path -> 1-based line numbers added or changed in the current file
    lines: dict[str, set[int]] = field(default_factory=dict)
    added: set[str] = field(default_factory=set)  # did not exist at the base (or untracked)
    deleted: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)  # new path -> path at the base

    @property
    def short(self) -> str:
        return self.base[:10]

    def changed_files(self) -> list[str]:
        """Every file added or modified (not deleted), workspace-relative, sorted."""
        return sorted(set(self.lines) | self.added)

    def is_changed(self, path: str) -> bool:
        return path in self.added or path in self.lines

    def is_new(self, path: str, line: int) -> bool:
        """Whether 0-based ``line`` of ``path`` was added or changed since the base."""
        if path in self.added:
            return True
        got = self.lines.get(path)
        return got is not None and (line + 1) in got

    def is_new_range(self, path: str, first: int, last: int) -> bool:
        """Whether any of 0-based lines ``first..last`` was added or changed."""
        if path in self.added:
            return True
        got = self.lines.get(path)
        if not got:
            return False
        if last - first > len(got):
            return any(first + 1 <= n <= last + 1 for n in got)
        return any((n + 1) in got for n in range(first, last + 1))

    def existed(self, path: str) -> bool:
        """Whether ``path`` existed at the base (under this name or, renamed, another)."""
        return path not in self.added

    def base_text(self, path: str) -> str | None:
        """The text of ``path`` at the base commit; ``None`` when it did not exist (or
        cannot be read: binary, too big, git gone)."""
        if path in self.added:
            return None
        old = self.renamed.get(path, path)
        res = _git(self.root, "show", f"{self.base}:./{old}")
        if not res.ok or res.stdout_bytes is None:
            return None
        data = res.stdout_bytes
        if b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")


def _filter_overrides(root: Path) -> tuple[str, ...]:
    """``-c filter.NAME.clean= …`` for every filter driver the configuration defines:
    comparing with the working tree would run them (reading the configuration runs
    nothing; an empty command is no filter)."""
    res = run_tool(
        ["git", *SAFE_GIT, "config", "-z", "--get-regexp", r"^filter\."],
        cwd=root,
        timeout=GIT_TIMEOUT,
        env=_GIT_ENV,
        binary_stdout=True,
    )
    names: set[str] = set()
    for item in (res.stdout_bytes or b"").split(b"\0"):
        key = item.split(b"\n", 1)[0].decode("utf-8", "replace")
        if key.startswith("filter.") and key.count(".") >= 2:
            names.add(key[len("filter.") :].rsplit(".", 1)[0])
    out: list[str] = []
    for name in sorted(names):
        for what in ("clean", "smudge", "process"):
            out += ["-c", f"filter.{name}.{what}="]
    return tuple(out)


_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",  # reading must not take the index lock
    "LC_ALL": "C",
}


def git_argv(root: Path, *args: str) -> list[str]:
    """The command line of a git call on ``root`` that runs nothing the repository
    configures (see the module)."""
    return ["git", *SAFE_GIT, *_filter_overrides(root), *args]


def git_env() -> dict[str, str]:
    return dict(_GIT_ENV)


def _git(root: Path, *args: str, timeout: float = GIT_TIMEOUT) -> _GitOut:
    res = run_tool(
        git_argv(root, *args),
        cwd=root,
        timeout=timeout,
        env=_GIT_ENV,
        binary_stdout=True,
        max_output=256 * 1024 * 1024,
    )
    return _GitOut(res.returncode == 0 and not res.truncated, res.stdout_bytes, res.stderr)


@dataclass
class _GitOut:
    ok: bool
    stdout_bytes: bytes | None
    stderr: str

    @property
    def text(self) -> str:
        return (self.stdout_bytes or b"").decode("utf-8", errors="replace")

    def why(self) -> str:
        lines = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else "git failed"


def _rel(prefix: str, path: str) -> str | None:
    """A repository path as a workspace path; None when outside the workspace."""
    if not prefix:
        return path
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1 :]
    return None


def is_repository(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree (and git can be run)."""
    return _git(root, "rev-parse", "--is-inside-work-tree").text.strip() == "true"


def head_commit(root: Path) -> str | None:
    """The commit ``HEAD`` names, or None (no git, no commit yet)."""
    out = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    sha = out.text.strip()
    return sha if out.ok and sha else None


def changes_since(root: Path, ref: str) -> ChangeSet:
    """The change set of the working tree of ``root`` since ``ref`` (see the module).
    Raises :class:`ChangesError` with a sentence saying what is wrong."""
    root = Path(root).resolve()
    if ref.startswith("-"):
        raise ChangesError(f"{ref!r} is not a git reference")
    top = _git(root, "rev-parse", "--show-toplevel")
    if not top.ok:
        why = top.why()
        if "not a git repository" in why:
            raise ChangesError(
                f"{root} is not in a git repository: new code needs git history "
                "(or a baseline: `phasegate baseline`)"
            )
        raise ChangesError(f"cannot read git history: {why}")
    toplevel = Path(top.text.strip()).resolve()
    try:
        prefix = root.relative_to(toplevel).as_posix()
    except ValueError:
        prefix = ""
    prefix = "" if prefix == "." else prefix
    target = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if not target.ok or not target.text.strip():
        raise ChangesError(f"unknown git reference {ref!r} (fetch it, or name a commit)")
    base = _git(root, "merge-base", ref, "HEAD")
    sha = base.text.strip() if base.ok and base.text.strip() else target.text.strip()
    cs = ChangeSet(root=root, ref=ref, base=sha, prefix=prefix)
    _read_names(cs, root)
    _read_lines(cs, root)
    _read_untracked(cs, root)
    return cs


def _read_names(cs: ChangeSet, root: Path) -> None:
    out = _git(
        root,
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--name-status",
        "-M",
        "-z",
        cs.base,
        "--",
        ".",
    )
    if not out.ok:
        raise ChangesError(f"git diff failed: {out.why()}")
    parts = (out.stdout_bytes or b"").split(b"\0")
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i].decode()
        if status[:1] in ("R", "C"):
            old = parts[i + 1].decode("utf-8", "replace")
            new = parts[i + 2].decode("utf-8", "replace")
            i += 3
            o, n = _rel(cs.prefix, old), _rel(cs.prefix, new)
            if n is None:
                continue
            if status[0] == "R" and o is not None:
                cs.renamed[n] = o  # judged by the lines the diff shows changed
            else:
                cs.added.add(n)  # a copy, or moved in from outside the workspace
            continue
        path = parts[i + 1].decode("utf-8", "replace")
        i += 2
        p = _rel(cs.prefix, path)
        if p is None:
            continue
        if status[:1] == "A":
            cs.added.add(p)
        elif status[:1] == "D":
            cs.deleted.add(p)


def _read_lines(cs: ChangeSet, root: Path) -> None:
    out = _git(
        root,
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "-U0",
        "-M",
        cs.base,
        "--",
        ".",
    )
    if not out.ok:
        raise ChangesError(f"git diff failed: {out.why()}")
    current: str | None = None
    for raw in (out.stdout_bytes or b"").split(b"\n"):
        if raw.startswith(b"+++ "):
            name = raw[4:].decode("utf-8", "replace")
            if name.startswith('"'):
                name = _unquote(name)
            current = None if name == "/dev/null" else _rel(cs.prefix, name[2:])
            if current is not None:
                cs.lines.setdefault(current, set())
            continue
        if current is None or not raw.startswith(b"@@"):
            continue
        m = _HUNK.match(raw)
        if m is None:
            continue
        start = int(m.group(1))
        count = 1 if m.group(2) is None else int(m.group(2))
        cs.lines[current].update(range(start, start + count))
    for new in cs.renamed:  # a pure rename: nothing in it is new
        cs.lines.setdefault(new, set())


def _read_untracked(cs: ChangeSet, root: Path) -> None:
    out = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    if not out.ok:
        return
    for raw in (out.stdout_bytes or b"").split(b"\0"):
        if not raw:
            continue
        # ls-files prints paths relative to the current directory (the workspace)
        path = raw.decode("utf-8", "replace")
        if os.sep != "/":
            path = path.replace(os.sep, "/")
        cs.added.add(path)


def _unquote(name: str) -> str:
    """A path git printed C-quoted (``"a\\tb"``), unquoted."""
    body = name[1:-1] if name.endswith('"') else name[1:]
    raw = body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")
