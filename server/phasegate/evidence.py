"""How a check's result was obtained: the :class:`~phasegate.model.Evidence` of a result.

The runner (:meth:`phasegate.runner.GateRunner.run_check`) notes every program a check
runs (:func:`phasegate.proc.recording`) and turns the notes into evidence here:

* :func:`how_of` — ``ran``, ``cached``, ``skipped`` or ``not_run`` (the rules are in the
  docstring of :class:`~phasegate.model.Evidence`);
* :func:`rule_of` — ``"in-process"`` when no program ran, else the programs' names;
* :class:`CommandView` — the commands as shown: paths inside the workspace relative to
  it, the user's home as ``~``, at most :data:`MAX_COMMANDS` commands of at most
  :data:`MAX_ARGS` arguments each;
* :func:`workspace_commit` — the workspace's git ``HEAD`` and whether it has uncommitted
  changes;
* :func:`counts` / :func:`summary_line` — how many checks of some gates ran, came from
  the cache, were skipped or could not run, for the text output and the report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from phasegate.model import CheckResult, Evidence, GateResult
from phasegate.proc import Invocation

How = Literal["ran", "cached", "skipped", "not_run"]
IN_PROCESS = "in-process"
MAX_COMMANDS = 20  # commands kept in a result's evidence (the first ones)
MAX_ARGS = 64  # arguments kept of one command; the rest is counted in a last argument
STATUS_TIMEOUT = 15.0  # seconds `git status` may take before dirty is left unknown

_PYTHON = re.compile(r"^(python|pypy)[0-9.]*w?(\.exe)?$")
# interpreter options that take a value in the next argument
_PYTHON_VALUE_OPTS = {"-W", "-X", "--check-hash-based-pycs"}
_SEP = r"\s=:,;\"'\["  # what may stand before a path inside an argument


def how_of(result: CheckResult) -> How:
    """``not_run`` (no verdict: the check could not run), ``skipped`` (not run on
    purpose), ``cached`` (served from the result cache) or ``ran``."""
    if result.error is not None:
        return "not_run"
    if result.skipped is not None:
        return "skipped"
    if result.cached:
        return "cached"
    return "ran"


def _python_module(args: Sequence[str]) -> str | None:
    """``X`` of ``python [options] -m X ...``; None for a script or ``-c``."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-m":
            return args[i + 1] if i + 1 < len(args) else None
        if a.startswith("-m") and len(a) > 2:
            return a[2:]
        if not a.startswith("-") or a in ("-", "-c") or a.startswith("-c"):
            return None
        i += 2 if a in _PYTHON_VALUE_OPTS else 1
    return None


def program_name(argv: Sequence[str]) -> str:
    """The program a command ran: the base name of ``argv[0]``, or for
    ``python -m X`` the module ``X`` (``python -m coverage run -m pytest``:
    ``pytest (coverage)``)."""
    if not argv:
        return ""
    name = os.path.basename(argv[0]) or argv[0]
    if _PYTHON.match(name):
        module = _python_module(argv[1:])
        if module == "coverage":
            rest = list(argv[1:])
            rest = rest[rest.index("coverage") + 1 :]
            if rest[:1] == ["run"] and "-m" in rest[:-1]:
                return f"{rest[rest.index('-m') + 1]} (coverage)"
            return module
        if module:
            return module
    return name


def rule_of(calls: Sequence[Invocation]) -> str:
    """``"in-process"`` when no program ran, else the programs' names in the order they
    first ran, joined by ``", "``."""
    if not calls:
        return IN_PROCESS
    names: list[str] = []
    for call in calls:
        name = program_name(call.argv)
        if name not in names:
            names.append(name)
    return ", ".join(names)


class CommandView:
    """Commands as evidence shows them: absolute paths inside the workspace made relative
    to it (the workspace itself is ``.``), the user's home directory written ``~``."""

    def __init__(self, root: Path | str) -> None:
        roots = {os.path.abspath(str(root)), os.path.realpath(str(root))}
        roots = {r.rstrip("/") for r in roots if r.rstrip("/")}
        self._roots = [(r, self._pattern(r)) for r in sorted(roots, key=len, reverse=True)]
        home = os.path.expanduser("~").rstrip("/")
        self._home = (home, self._pattern(home)) if home and home != "~" else None

    @staticmethod
    def _pattern(prefix: str) -> re.Pattern[str]:
        # the prefix as a whole path: at the start of the argument or after a separator
        # ("--junitxml=/ws/x"), followed by "/" or the end of the path
        return re.compile(rf"(?<![^{_SEP}]){re.escape(prefix)}(/|(?=[{_SEP}]|$))")

    def arg(self, value: str) -> str:
        if "/" not in value:
            return value
        for prefix, pattern in self._roots:
            if prefix in value:
                value = pattern.sub(lambda m: "" if m.group(1) else ".", value)
                if not value:
                    value = "."
        if self._home is not None and self._home[0] in value:
            value = self._home[1].sub(lambda m: "~/" if m.group(1) else "~", value)
        return value

    def argv(self, argv: Sequence[str]) -> list[str]:
        shown = [self.arg(a) for a in argv[:MAX_ARGS]]
        if len(argv) > MAX_ARGS:
            shown.append(f"... ({len(argv) - MAX_ARGS} more arguments)")
        return shown


def evidence_of(
    result: CheckResult,
    calls: Sequence[Invocation] | None,
    view: CommandView | None,
    *,
    how: How | None = None,
    tool_version: str | None = None,
    inputs_hash: str | None = None,
    commit: str | None = None,
    dirty: bool | None = None,
) -> Evidence:
    """The evidence of ``result``. ``calls``: the programs its check ran, None when they
    were not recorded (the rule is then left empty: unknown). ``how``: instead of
    :func:`how_of`'s answer."""
    how = how or how_of(result)
    # a skipped check was judged by nothing; a cached result's judge is not known here,
    # and neither is the judge of a result whose programs were not recorded
    known = calls is not None and how in ("ran", "not_run")
    calls = calls if calls is not None else ()
    rule = rule_of(calls) if known else ""
    kept = calls[:MAX_COMMANDS]
    return Evidence(
        how=how,
        rule=rule,
        commands=[view.argv(c.argv) if view else list(c.argv) for c in kept],
        exit_codes=[c.returncode for c in kept],
        tool_version=tool_version,
        duration_s=round(sum(c.duration_s for c in calls), 6),
        commit=commit,
        dirty=dirty,
        inputs_hash=inputs_hash,
        timed_out=any(c.timed_out for c in calls),
    )


def workspace_commit(root: Path, *, status: bool = True) -> tuple[str | None, bool | None]:
    """``(HEAD commit, dirty)`` of the git work tree ``root`` is in; ``(None, None)``
    outside one (or without git, or before the first commit). ``dirty``: ``git status
    --porcelain`` lists something under ``root`` (phasegate's own state folder left
    out); None when not asked (``status=False``) or when it failed. Git runs with
    every program the repository configures neutralised (:func:`phasegate.changes.git_argv`)."""
    from phasegate.changes import git_argv, git_env, head_commit
    from phasegate.proc import run_tool
    from phasegate.workspace import STATE_DIR

    commit = head_commit(root)
    if commit is None or not status:
        return commit, None
    res = run_tool(
        git_argv(root, "status", "--porcelain", "--", ".", f":(exclude){STATE_DIR}"),
        cwd=root,
        timeout=STATUS_TIMEOUT,
        env=git_env(),
        max_output=4096,  # only whether it is empty matters
        binary_stdout=True,
    )
    if res.returncode != 0:
        return commit, None
    return commit, bool((res.stdout_bytes or b"").strip())


# -- summaries ------------------------------------------------------------------------------
def _how(check: CheckResult) -> How:
    return check.evidence.how if check.evidence is not None else how_of(check)


def counts(checks: Iterable[CheckResult]) -> dict[How, int]:
    """How many of ``checks`` ran, came from the cache, were skipped or could not run."""
    out: dict[How, int] = {"ran": 0, "cached": 0, "skipped": 0, "not_run": 0}
    for check in checks:
        out[_how(check)] += 1
    return out


def summary_line(gates: Iterable[GateResult]) -> str:
    """``checks: 9 ran, 3 from cache, 1 skipped (untrusted), 1 could not run``; the
    parts that are zero left out (``ran`` always said); "" when there are no checks."""
    checks = [c for g in gates for c in g.checks]
    if not checks:
        return ""
    n = counts(checks)
    parts = [f"{n['ran']} ran"]
    if n["cached"]:
        parts.append(f"{n['cached']} from cache")
    if n["skipped"]:
        untrusted = all(
            (c.skipped or "").startswith("untrusted") for c in checks if _how(c) == "skipped"
        )
        parts.append(f"{n['skipped']} skipped" + (" (untrusted)" if untrusted else ""))
    if n["not_run"]:
        parts.append(f"{n['not_run']} could not run")
    return "checks: " + ", ".join(parts)
