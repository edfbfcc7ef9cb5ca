"""Precision of every check, and the verdict of every gate, on real projects.

    python benchmarks/truth.py [--only NAME ...] [--dest DIR] [--sample N]
                               [--write-stubs] [--json FILE] [--venvs]

For each project of the corpus (``benchmarks/corpus.toml``, materialised by
``benchmarks/corpus.py``: PyPI sdists pinned by version everywhere, public repositories
where a local mirror of them exists), this runs ``phasegate validate --format json`` with
the default settings — trusted, as the CLI is, unless the corpus entry says
``trusted = false`` — on a fresh result cache, and compares the findings with the hand
labels in
``benchmarks/truth/<project>.json``::

    {
      "gates": {"requirements": "fail", "implementation": "pass"},
      "labels": [
        {"check": "IMPL-STUB", "path": "src/app/cli.py", "line": 12, "match": "main",
         "label": false, "why": "a Typer callback: the body is meant to be empty"}
      ]
    }

``line`` is 1-based (as editors show it); ``match`` (optional) is a piece of the
message that tells two findings of one line apart. ``label`` is true when the project's
maintainer would agree the finding is right (a real instance of what the check claims),
false when it is wrong.

Which findings are judged: per project and check, a deterministic sample of at most
``--sample`` findings (default 20), chosen by a hash of check, path and message (not the
line, so a sample survives lines moving). Precision of a check = true / (true + false)
over its labelled sampled findings, across projects. A sampled finding without a label
is counted as *unlabelled* and shown: label it (``--write-stubs`` writes the missing
labels as ``"label": null`` entries into the project's file, to be filled in by hand).

Gate verdicts: ``gates`` holds what a maintainer would expect of each phase (``pass`` /
``fail``); the table shows expected against actual. ``known_gate_misses`` maps a phase to
why phasegate's verdict is known to differ (an open issue): shown, not counted as a
surprise by ``--strict``.

``--venvs``: the projects whose corpus entry has ``venv`` get a ``.venv`` with their test
dependencies first (``benchmarks/corpus.py``), so their suites run in their own
environment and the Testing verdicts judge phasegate, not this machine's ``python3``.
Such a corpus lives apart (default ``~/.cache/phasegate/corpus-venvs``): phasegate finds a
workspace's ``.venv`` by itself, so the runs without ``--venvs`` must not see one.

The figures go in ``docs/truth.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LABELS_DIR = HERE / "truth"
ROOT = HERE.parent


def _corpus_module() -> Any:
    spec = importlib.util.spec_from_file_location("phasegate_corpus", HERE / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phasegate_corpus"] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Seen:
    """A finding of a validation, as the benchmark keys it."""

    check: str
    path: str
    line: int  # 1-based
    message: str

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.check}|{self.path}|{self.message}".encode()).hexdigest()


@dataclass
class ProjectRun:
    name: str
    findings: list[Seen] = field(default_factory=list)
    gates: dict[str, str] = field(default_factory=dict)  # phase -> pass/fail
    statuses: dict[str, str] = field(default_factory=dict)  # check -> status
    seconds: float = 0.0
    error: str = ""


def validate(workspace: Path, trusted: bool) -> ProjectRun:
    """``phasegate validate --format json`` on ``workspace`` with a fresh cache."""
    shutil.rmtree(workspace / ".phasegate", ignore_errors=True)
    argv = [sys.executable, "-m", "phasegate", "validate", str(workspace)]
    argv += ["--format", "json", "--compact"]
    if not trusted:
        argv.append("--untrusted")
    run = ProjectRun(workspace.name)
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    run.seconds = time.monotonic() - start
    shutil.rmtree(workspace / ".phasegate", ignore_errors=True)
    if proc.returncode not in (0, 1):
        run.error = (proc.stderr or proc.stdout).strip()[-2000:]
        return run
    data = json.loads(proc.stdout)
    for phase in data["phases"]:
        run.gates[phase["name"]] = "pass" if phase["status"] == "passed" else "fail"
        for check in phase["checks"]:
            run.statuses[check["id"]] = check.get("status", "")
            for f in check["findings"]:
                line = int(f["range"]["start"]["line"]) + 1
                run.findings.append(Seen(check["id"], f["path"], line, f["message"]))
    return run


def sample(findings: list[Seen], per_check: int) -> list[Seen]:
    """At most ``per_check`` findings of each check, chosen by their hash."""
    by_check: dict[str, list[Seen]] = defaultdict(list)
    for f in findings:
        by_check[f.check].append(f)
    out: list[Seen] = []
    for check in sorted(by_check):
        out += sorted(by_check[check], key=lambda f: (f.key, f.line))[:per_check]
    return out


def load_labels(name: str) -> dict[str, Any]:
    path = LABELS_DIR / f"{name}.json"
    if not path.is_file():
        return {"gates": {}, "labels": []}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("gates", {})
    data.setdefault("labels", [])
    return data


def find_label(labels: list[dict[str, Any]], f: Seen) -> dict[str, Any] | None:
    for lab in labels:
        if (lab.get("check"), lab.get("path"), lab.get("line")) != (f.check, f.path, f.line):
            continue
        if lab.get("match") and str(lab["match"]) not in f.message:
            continue
        return lab
    return None


def write_stubs(name: str, unlabelled: list[Seen]) -> None:
    """Append ``"label": null`` entries for the unlabelled sampled findings."""
    data = load_labels(name)
    for f in unlabelled:
        data["labels"].append(
            {
                "check": f.check,
                "path": f.path,
                "line": f.line,
                "match": f.message[:60],
                "label": None,
                "why": "",
                "message": f.message,
            }
        )
    LABELS_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    (LABELS_DIR / f"{name}.json").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--only", nargs="*", default=None, help="project names")
    ap.add_argument("--dest", type=Path, default=None, help="where the corpus is materialised")
    ap.add_argument("--sample", type=int, default=20, help="findings judged per check")
    ap.add_argument("--write-stubs", action="store_true", help="add missing labels as null")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--source", choices=["pypi", "github"], help="only projects from there")
    ap.add_argument(
        "--ignore", default="", help="check ids left out (comma-separated), e.g. checks "
        "whose findings depend on the machine (TEST-PYTEST,TEST-COVERAGE)"
    )  # fmt: skip
    ap.add_argument("--ignore-phase", default="", help="phases whose verdict is not compared")
    ap.add_argument(
        "--venvs", action="store_true", help="give the projects with `venv` their .venv first"
    )
    ap.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a sampled finding has no label, a check with >= 10 judged "
        "findings is below 90 %% precision, or a gate verdict differs from its label",
    )
    args = ap.parse_args(argv)
    ignored = {c.strip() for c in args.ignore.split(",") if c.strip()}
    ignored_phases = {p.strip() for p in args.ignore_phase.split(",") if p.strip()}

    corpus = _corpus_module()
    projects = corpus.load_manifest()
    if args.only:
        projects = [p for p in projects if p.name in set(args.only)]
    if args.source:
        projects = [p for p in projects if p.source == args.source]
    dest = args.dest or corpus.default_dest(venvs=args.venvs)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {len(projects)} projects")

    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    unl: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    gate_rows: list[tuple[str, str, str, str]] = []
    known: dict[tuple[str, str], str] = {}
    per_project: dict[str, Any] = {}
    skipped: list[str] = []
    for project in projects:
        workspace = corpus.materialize(project, dest)
        if workspace is None:
            skipped.append(project.name)
            continue
        if args.venvs:
            corpus.make_venv(project, Path(workspace))
        run = validate(Path(workspace), bool(getattr(project, "trusted", True)))
        if run.error:
            print(f"{project.name}: validate failed: {run.error}")
            per_project[project.name] = {"error": run.error}
            continue
        labels = load_labels(project.name)
        run.findings = [f for f in run.findings if f.check not in ignored]
        missing: list[Seen] = []
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for f in run.findings:
            total[f.check] += 1
            counts[f.check]["findings"] += 1
        for f in sample(run.findings, args.sample):
            lab = find_label(labels["labels"], f)
            if lab is None or lab.get("label") is None:
                unl[f.check] += 1
                counts[f.check]["unlabelled"] += 1
                if lab is None:
                    missing.append(f)
            elif lab["label"]:
                tp[f.check] += 1
                counts[f.check]["true"] += 1
            else:
                fp[f.check] += 1
                counts[f.check]["false"] += 1
        for phase, actual in run.gates.items():
            if phase in ignored_phases:
                continue
            expected = labels["gates"].get(phase, "?")
            gate_rows.append((project.name, phase, expected, actual))
            why = labels.get("known_gate_misses", {}).get(phase)
            if why and expected not in ("?", actual):
                known[(project.name, phase)] = str(why)
        per_project[project.name] = {
            "seconds": round(run.seconds, 2),
            "checks": {k: dict(v) for k, v in counts.items()},
            "gates": run.gates,
        }
        n = len(run.findings)
        print(f"{project.name}: {n} findings in {run.seconds:.1f} s", flush=True)
        if args.write_stubs and missing:
            write_stubs(project.name, missing)

    print()
    print(f"{'check':<18} {'findings':>8} {'judged':>6} {'true':>5} {'false':>5} "
          f"{'unlab.':>6} {'precision':>9}")  # fmt: skip
    figures: dict[str, Any] = {}
    for check in sorted(set(total) | set(tp) | set(fp)):
        judged = tp[check] + fp[check]
        prec = tp[check] / judged if judged else None
        shown = f"{prec:.1%}" if prec is not None else "-"
        flag = "" if prec is None or judged < 10 or prec >= 0.9 else "  < 90 %"
        print(
            f"{check:<18} {total[check]:>8} {judged:>6} {tp[check]:>5} {fp[check]:>5} "
            f"{unl[check]:>6} {shown:>9}{flag}"
        )
        figures[check] = {
            "findings": total[check],
            "true": tp[check],
            "false": fp[check],
            "unlabelled": unl[check],
            "precision": prec,
        }
    print()
    agree = sum(1 for *_x, e, a in gate_rows if e == a)
    labelled = sum(1 for *_x, e, _a in gate_rows if e != "?")
    print(f"gate verdicts: {agree}/{labelled} as expected")
    for name, phase, expected, actual in gate_rows:
        if expected != "?" and expected != actual:
            note = f" (known: {known[(name, phase)]})" if (name, phase) in known else ""
            print(f"  {name} {phase}: expected {expected}, got {actual}{note}")
    if skipped:
        print(f"not available here (skipped): {', '.join(skipped)}")
    if args.json:
        doc = {"checks": figures, "projects": per_project, "skipped": skipped}
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if args.strict:
        problems = [f"{c}: {n} sampled findings without a label" for c, n in unl.items() if n]
        problems += [
            f"{c}: precision {v['precision']:.1%} < 90 %"
            for c, v in figures.items()
            if v["precision"] is not None and v["true"] + v["false"] >= 10
            and v["precision"] < 0.9
        ]  # fmt: skip
        problems += [
            f"{n} {p}: expected {e}, got {a}"
            for n, p, e, a in gate_rows
            if e not in ("?", a) and (n, p) not in known
        ]
        problems += [f"{n}: {d['error']}" for n, d in per_project.items() if "error" in d]
        for line in problems:
            print(f"STRICT: {line}")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
