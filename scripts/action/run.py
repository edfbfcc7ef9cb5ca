#!/usr/bin/env python3
"""The step of the phasegate GitHub Action (``action.yml``): run the gates, say how they
went, and decide the step's outcome.

It runs ``phasegate validate --format sarif`` in the current folder (the action's
``working-directory``; phasegate judges the project root it finds from there) with
the interpreter running this script (the one phasegate is installed in), once, or once
per phase when ``phases`` names several (``validate`` takes one ``--phase``; the logs
are merged into one SARIF run). The SARIF log carries
everything the summary needs: each gate's score, threshold and verdict
(``runs[0].properties.gates``), each check's status
(``invocations[0].properties.checks``), each finding's ``baselineState`` in new-code
mode. Then it

* writes the log to ``sarif-file`` (for ``github/codeql-action/upload-sarif``), its
  paths made relative to the repository's top when the workspace validate judged (its
  ``%SRCROOT%``) is below it (code scanning resolves them from there);
* appends a Markdown summary to ``$GITHUB_STEP_SUMMARY``: a table of gates (phase,
  status, score, threshold, new and unchanged findings in new-code mode, failed checks),
  the checks that could not run, and the first findings;
* writes the outputs ``passed`` (``true``/``false``), ``sarif-file`` (empty when
  validate could not run) and ``exit-code`` (validate's) to ``$GITHUB_OUTPUT``;
* exits by ``fail-on``: ``gate`` (default) 1 when a gate failed, ``never`` 0 whatever
  the gates say. A configuration or usage error (validate's exit 2) always fails.

Inputs come from the environment (``action.yml`` maps the action's inputs there, so
that no input is ever pasted into a shell command): ``PHASEGATE_PHASES`` (names,
separated by commas or spaces; empty: every phase), ``PHASEGATE_SINCE``,
``PHASEGATE_BASELINE``, ``PHASEGATE_ARGS`` (more ``validate`` options, split like a
shell would), ``PHASEGATE_FAIL_ON`` and ``PHASEGATE_SARIF_FILE`` (default
``$RUNNER_TEMP/phasegate.sarif``). Only the standard library is used.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

SRCROOT = "%SRCROOT%"
FAIL_ON = ("gate", "never")
MAX_FINDINGS = 50
EXIT_ERROR = 2


class ActionError(Exception):
    """An input the action cannot use."""


# -- inputs -----------------------------------------------------------------------------
def phases_of(value: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", value.strip()) if p]


def validate_argv(env: Mapping[str, str], phase: str | None) -> list[str]:
    argv = [sys.executable, "-m", "phasegate", "validate", ".", "--format", "sarif", "--compact"]
    if phase:
        argv += ["--phase", phase]
    since = env.get("PHASEGATE_SINCE", "").strip()
    if since:
        argv += ["--since", since]
    baseline = env.get("PHASEGATE_BASELINE", "").strip()
    if baseline:
        argv += ["--baseline", baseline]
    extra = env.get("PHASEGATE_ARGS", "").strip()
    if extra:
        argv += shlex.split(extra)
    return argv


def fail_on(env: Mapping[str, str]) -> str:
    value = env.get("PHASEGATE_FAIL_ON", "").strip().lower() or "gate"
    if value not in FAIL_ON:
        raise ActionError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {value!r}")
    return value


def sarif_path(env: Mapping[str, str]) -> Path:
    given = env.get("PHASEGATE_SARIF_FILE", "").strip()
    if given:
        return Path(given).resolve()
    temp = env.get("RUNNER_TEMP", "").strip() or tempfile.gettempdir()
    return Path(temp).resolve() / "phasegate.sarif"


# -- SARIF ------------------------------------------------------------------------------
def merge_sarif(logs: list[dict[str, Any]]) -> dict[str, Any]:
    """One SARIF log of one run from the logs of several validate runs (one phase each):
    rules deduplicated and re-indexed, results, notifications, check evidence and gates
    put together."""
    merged = copy.deepcopy(logs[0])
    run = merged["runs"][0]
    rules: list[dict[str, Any]] = run["tool"]["driver"].setdefault("rules", [])
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    invocation = run["invocations"][0]
    props = run.setdefault("properties", {})
    for log in logs[1:]:
        other = copy.deepcopy(log["runs"][0])
        remap: dict[int, int] = {}
        for i, rule in enumerate(other["tool"]["driver"].get("rules", [])):
            if rule["id"] not in index:
                index[rule["id"]] = len(rules)
                rules.append(rule)
            remap[i] = index[rule["id"]]
        for result in other.get("results", []):
            if "ruleIndex" in result:
                result["ruleIndex"] = remap[result["ruleIndex"]]
            run.setdefault("results", []).append(result)
        other_inv = other["invocations"][0]
        invocation["executionSuccessful"] = bool(
            invocation.get("executionSuccessful", True)
            and other_inv.get("executionSuccessful", True)
        )
        for note in other_inv.get("toolExecutionNotifications", []):
            assoc = note.get("associatedRule")
            if isinstance(assoc, dict) and "index" in assoc:
                assoc["index"] = remap[assoc["index"]]
            invocation.setdefault("toolExecutionNotifications", []).append(note)
        checks = other_inv.get("properties", {}).get("checks", [])
        invocation.setdefault("properties", {}).setdefault("checks", []).extend(checks)
        other_props = other.get("properties", {})
        props.setdefault("gates", []).extend(other_props.get("gates", []))
        if "newCodeCounts" in other_props:
            counts = props.setdefault("newCodeCounts", {})
            for key, n in other_props["newCodeCounts"].items():
                counts[key] = counts.get(key, 0) + n
            props.setdefault("newCode", other_props.get("newCode"))
        for key in ("commit", "dirty"):
            if key in other_props:
                props.setdefault(key, other_props[key])
    return merged


def repository_root(cwd: Path, env: Mapping[str, str]) -> Path | None:
    """The repository's top: ``$GITHUB_WORKSPACE`` when the folder is in it, else git's."""
    workspace = env.get("GITHUB_WORKSPACE", "").strip()
    if workspace:
        top = Path(workspace).resolve()
        if cwd == top or top in cwd.parents:
            return top
    try:
        res = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = res.stdout.strip()
    return Path(out).resolve() if res.returncode == 0 and out else None


def _rebase(node: Any, prefix: str) -> None:
    if isinstance(node, dict):
        if node.get("uriBaseId") == SRCROOT and isinstance(node.get("uri"), str):
            node["uri"] = prefix + node["uri"]
        for value in node.values():
            _rebase(value, prefix)
    elif isinstance(node, list):
        for value in node:
            _rebase(value, prefix)


def judged_workspace(log: dict[str, Any], default: Path) -> Path:
    """The workspace validate judged, which its paths are relative to: the log's
    ``%SRCROOT%`` (the project root phasegate found from the working directory), else
    ``default``."""
    try:
        uri = log["runs"][0]["originalUriBaseIds"][SRCROOT]["uri"]
    except (KeyError, IndexError, TypeError):
        return default
    if not isinstance(uri, str) or not uri.startswith("file:"):
        return default
    return Path(url2pathname(urlparse(uri).path)).resolve()


def rebase_sarif(log: dict[str, Any], workspace: Path, top: Path | None) -> None:
    """Make the paths relative to the repository's top ``top`` when the workspace is a
    folder below it (``%SRCROOT%`` then names the top)."""
    if top is None or workspace == top or top not in workspace.parents:
        return
    prefix = workspace.relative_to(top).as_posix().rstrip("/") + "/"
    for run in log.get("runs", []):
        _rebase(run.get("results", []), prefix)
        bases = run.setdefault("originalUriBaseIds", {})
        bases[SRCROOT] = {"uri": top.as_uri().rstrip("/") + "/"}


# -- summary ----------------------------------------------------------------------------
def _cell(text: str) -> str:
    """``text`` in a table cell: Markdown escaped, ``|`` too (no code span: a ``|`` in
    one would still end the cell)."""
    return _md(text.replace("`", "'"))


_MD_SPECIAL = re.compile(r"([\\*_\[\]#~|])")
_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def _md(text: str) -> str:
    """``text`` as Markdown prose on one line: its code spans (`...`) kept, everything
    else that Markdown or HTML would interpret escaped."""
    parts = re.split(r"(`[^`\n]+`)", text.replace("\n", " "))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
        else:
            part = _MD_SPECIAL.sub(r"\\\1", part)
            out.append("".join(_HTML.get(c, c) for c in part))
    return "".join(out)


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def summary(log: dict[str, Any], *, title: str = "phasegate") -> str:
    """The Markdown summary of a validate SARIF log."""
    run = log["runs"][0]
    props = run.get("properties", {})
    gates: list[dict[str, Any]] = props.get("gates", [])
    rules = {r["id"]: r for r in run["tool"]["driver"].get("rules", [])}
    invocation = run.get("invocations", [{}])[0]
    checks: list[dict[str, Any]] = invocation.get("properties", {}).get("checks", [])
    new_code = props.get("newCode")
    results: list[dict[str, Any]] = run.get("results", [])
    counts: dict[str, dict[str, int]] = {}
    for res in results:
        state = res.get("baselineState")
        phase = res.get("properties", {}).get("phase", "")
        if state in ("new", "unchanged"):
            per = counts.setdefault(phase, {"new": 0, "unchanged": 0})
            per[state] += 1
    passed = sum(1 for g in gates if g.get("passed"))
    mark = "✅" if passed == len(gates) else "❌"
    lines = [f"## {mark} {title}: {passed} of {len(gates)} gates passed", ""]
    if new_code:
        nc = props.get("newCodeCounts", {})
        lines += [
            f"New code {_cell(str(new_code))}: {nc.get('new', 0)} new, "
            f"{nc.get('unchanged', 0)} unchanged (inherited, never blocking), "
            f"{nc.get('absent', 0)} fixed.",
            "",
        ]
    head = ["Phase", "Status", "Score", "Threshold"]
    align = ["---", "---", "---:", "---:"]
    if new_code:
        head += ["New", "Unchanged"]
        align += ["---:", "---:"]
    head.append("Failed checks")
    align.append("---")
    lines += ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    for gate in gates:
        phase = str(gate.get("phase", ""))
        failed = []
        for check in checks:
            if check.get("phase") != phase or check.get("status") not in ("failed", "error"):
                continue
            label = str(check.get("id", ""))
            if rules.get(label, {}).get("properties", {}).get("blocking"):
                label += " (blocking)"
            if check.get("status") == "error":
                label += " (could not run)"
            if label.split(" ")[0] in gate.get("held", []):
                label += " (new findings)"
            failed.append(label)
        status = "✅ passed" if gate.get("passed") else "❌ failed"
        row = [
            _cell(phase),
            status,
            f"{float(gate.get('score', 0.0)):.2f}",
            f"{float(gate.get('threshold', 0.0)):.2f}",
        ]
        if new_code:
            per = counts.get(phase, {"new": 0, "unchanged": 0})
            row += [str(per["new"]), str(per["unchanged"])]
        row.append(_cell(", ".join(failed)) or "-")
        lines.append("| " + " | ".join(row) + " |")
    notes = invocation.get("toolExecutionNotifications", [])
    not_run = [n for n in notes if n.get("level") == "error"]
    if not_run:
        lines += ["", "**Checks that could not run** (their result is unknown):", ""]
        lines += [f"- {_md(n.get('message', {}).get('text', ''))}" for n in not_run]
    skipped = [n for n in notes if n.get("level") != "error"]
    if skipped:
        lines += ["", "Not run: " + "; ".join(_md(n["message"]["text"]) for n in skipped)]
    shown = [r for r in results if r.get("baselineState") != "absent"]
    if new_code:  # the new ones first
        shown.sort(key=lambda r: 0 if r.get("baselineState") == "new" else 1)
    if shown:
        lines += ["", f"<details><summary>Findings ({len(shown)})</summary>", ""]
        for res in shown[:MAX_FINDINGS]:
            loc = res.get("locations", [{}])[0].get("physicalLocation", {})
            uri = loc.get("artifactLocation", {}).get("uri", "")
            line = loc.get("region", {}).get("startLine", 1)
            state = res.get("baselineState")
            tag = f" ({state})" if state else ""
            message = res.get("message", {}).get("text", "")
            lines.append(
                f"- {_code(f'{uri}:{line}')} **{_md(res.get('ruleId', ''))}** {_md(message)}{tag}"
            )
        if len(shown) > MAX_FINDINGS:
            lines.append(f"- … and {len(shown) - MAX_FINDINGS} more (see the SARIF file)")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# -- the step ---------------------------------------------------------------------------
def _append(path: str, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def _outputs(env: Mapping[str, str], values: dict[str, str]) -> None:
    _append(env.get("GITHUB_OUTPUT", ""), "".join(f"{k}={v}\n" for k, v in values.items()))


def _error(env: Mapping[str, str], message: str, code: int) -> int:
    print(f"::error title=phasegate::{message.splitlines()[0] if message else 'failed'}")
    _append(
        env.get("GITHUB_STEP_SUMMARY", ""),
        f"## ❌ phasegate could not validate\n\n```text\n{message.strip()}\n```\n",
    )
    _outputs(env, {"passed": "false", "sarif-file": "", "exit-code": str(code)})
    return code


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    cwd = Path.cwd().resolve()
    try:
        policy = fail_on(env)
        phases: list[str | None] = [*phases_of(env.get("PHASEGATE_PHASES", ""))] or [None]
        runs = [validate_argv(env, phase) for phase in phases]
    except (ActionError, ValueError) as exc:
        return _error(env, str(exc), EXIT_ERROR)
    logs: list[dict[str, Any]] = []
    worst = 0
    for argv in runs:
        print("+ " + shlex.join(["phasegate", *argv[3:]]), flush=True)
        res = subprocess.run(argv, capture_output=True, check=False)
        stderr = res.stderr.decode("utf-8", "replace")
        if stderr:
            sys.stderr.write(stderr)
            sys.stderr.flush()
        if res.returncode not in (0, 1):
            return _error(env, stderr or f"phasegate exited {res.returncode}", res.returncode)
        try:
            logs.append(json.loads(res.stdout))
        except ValueError as exc:
            return _error(env, f"phasegate wrote no SARIF log: {exc}", EXIT_ERROR)
        worst = max(worst, res.returncode)
    log = merge_sarif(logs)
    rebase_sarif(log, judged_workspace(log, cwd), repository_root(cwd, env))
    out = sarif_path(env)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(log, ensure_ascii=False), encoding="utf-8")
    gates = log["runs"][0].get("properties", {}).get("gates", [])
    passed = worst == 0 and all(g.get("passed") for g in gates)
    text = summary(log)
    _append(env.get("GITHUB_STEP_SUMMARY", ""), text)
    _outputs(
        env,
        {"passed": "true" if passed else "false", "sarif-file": str(out), "exit-code": str(worst)},
    )
    print(text, end="")
    if not passed:
        failed = ", ".join(str(g.get("phase")) for g in gates if not g.get("passed"))
        level = "error" if policy == "gate" else "warning"
        print(f"::{level} title=phasegate::gates failed: {failed}")
    return 1 if not passed and policy == "gate" else 0


if __name__ == "__main__":
    sys.exit(main())
