"""The speed targets of phasegate in one table: each measure, its anchor and its target.

Runs the benchmarks that measure them, each with ``--json`` (read their docstrings for
what exactly each one does), and prints one row per target:

* ``lsp_latency.py --sizes SIZES``: the language server with the default settings on
  generated workspaces: cold open (the opened file's first diagnostics; the whole
  workspace analysed), reopen with a warm cache, saves (p50/p95), the largest/smallest
  save ratio, the server's memory; ``ruff server`` as the anchor;
* ``startup.py``: ``status`` against ``python -c pass``, ``run`` until its session
  exists, ``validate`` on a one-file workspace (cold) against ``ruff check``;
* ``per_file_cpu.py``: the in-process file checks' CPU per file against a bare
  ``ast.parse``;
* ``validate_overhead.py``: a lint-only ``validate`` of a copy of the standard library,
  cold, against ``ruff check`` (CPU).

Targets come from the project's design. Each benchmark prints the machine's cores and
load average, interleaves its sides (A/B) and reports CPU beside wall-clock time; this
table keeps the load averages they saw. ``--only`` runs some of them
(``lsp,startup,per_file,lint``).

    python benchmarks/at_any_size.py [--sizes 1000,10000] [--only lsp,startup] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run_json(script: str, *args: str) -> dict[str, Any]:
    """Run ``benchmarks/SCRIPT --json ARGS`` and return the last JSON document it printed."""
    proc = subprocess.run(
        [sys.executable, str(HERE / script), "--json", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    decoder = json.JSONDecoder()
    text, i, last = proc.stdout, 0, None
    while i < len(text):
        j = text.find("{", i)
        if j < 0:
            break
        try:
            last, i = decoder.raw_decode(text, j)
        except json.JSONDecodeError:
            i = j + 1
    if not isinstance(last, dict):
        raise SystemExit(f"{script} printed no JSON:\n{proc.stdout[-2000:]}")
    return last


Row = tuple[str, str, str, str, bool | None]  # measure, figure, anchor, target, met


def lsp_rows(report: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    sizes = report.get("sizes", [])
    for r in sizes:
        n = r["files"]
        pg = r.get("phasegate", {})
        anchor = r.get("ruff_server", {})
        cold, warm = pg.get("cold_open", {}), pg.get("reopen_warm", {})
        label = f"{n:,} files"
        first = cold.get("first_from_open_ms")
        if first is not None:
            a = anchor.get("first_from_open_ms")
            rows.append(
                (
                    f"LSP cold open, {label}: opened file's first diagnostics",
                    f"{first:.0f} ms",
                    f"ruff server {a:.0f} ms" if a is not None else "-",
                    "<= 300 ms",
                    first <= 300,
                )
            )
        idle = cold.get("idle_from_spawn_s")
        if idle is not None:
            rows.append(
                (
                    f"LSP cold open, {label}: whole workspace analysed (idle)",
                    f"{idle:.1f} s ({cold.get('cpu_s', 0):.1f} s CPU)",
                    "-",
                    "<= 10 s" if n <= 10_000 else "reported",
                    idle <= 10 if n <= 10_000 else None,
                )
            )
        if pg.get("whole_workspace") is False or cold.get("whole_workspace") is False:
            rows.append((f"LSP, {label}", "over maxEagerFiles: open files only", "-", "-", None))
        wfirst = warm.get("first_from_open_ms")
        if wfirst is not None:
            rows.append(
                (
                    f"LSP reopen (warm cache), {label}: first diagnostics",
                    f"{wfirst:.0f} ms (idle {warm.get('idle_from_spawn_s', 0):.1f} s)",
                    "-",
                    "<= 1 s",
                    wfirst <= 1000,
                )
            )
        save = pg.get("save_module_ms")
        if save:
            ok = save["p50"] <= 20 and save["p95"] <= 100
            rows.append(
                (
                    f"LSP save -> diagnostics, {label}",
                    f"p50 {save['p50']:.1f} ms, p95 {save['p95']:.1f} ms",
                    "-",
                    "p50 <= 20 ms, p95 <= 100 ms",
                    ok if n <= 10_000 else None,
                )
            )
        rss = cold.get("rss_peak_server_mb")
        if rss is not None:
            rows.append((f"LSP server memory, {label}", f"{rss:.0f} MB RSS", "-", "reported", None))
    ratios = report.get("ratios", {}).get("phasegate")
    if ratios:
        v = ratios["save_module_p50"]
        rows.append(
            (f"LSP one-file save, {ratios['label']}", f"{v:.2f}x", "-", "<= 1.5x", v <= 1.5)
        )
    return rows


def startup_rows(report: dict[str, Any]) -> list[Row]:
    by = {r["command"]: r for r in report.get("commands", [])}
    rows: list[Row] = []
    floor = by.get("python -c pass", {}).get("cpu_ms")
    st = by.get("status")
    if st is not None and "cpu_ratio" in st:
        rows.append(
            (
                "`phasegate status` (runs nothing; its memo valid), CPU",
                f"{st['cpu_ms']:.0f} ms = {st['cpu_ratio']:.1f}x",
                f"python -c pass {floor:.0f} ms" if floor else "-",
                "<= 5x",
                st["cpu_ratio"] <= 5,
            )
        )
    cold = by.get("status (memo cold)")
    if cold is not None and "cpu_ratio" in cold:
        rows.append(
            (
                "`phasegate status`, first after a change (memo made anew), CPU",
                f"{cold['cpu_ms']:.0f} ms = {cold['cpu_ratio']:.1f}x",
                f"python -c pass {floor:.0f} ms" if floor else "-",
                "reported",
                None,
            )
        )
    run = by.get("run until the session exists")
    if run is not None:
        rows.append(
            (
                "`phasegate run` until its session exists",
                f"{run['wall_ms']:.0f} ms wall, {run['cpu_ms']:.0f} ms CPU",
                f"python -c pass {floor:.0f} ms" if floor else "-",
                "<= 150 ms",
                run["wall_ms"] <= 150,
            )
        )
    one = by.get("validate one-file cold")
    ruff = by.get("ruff check")
    if one is not None:
        rows.append(
            (
                "`phasegate validate`, one-file workspace (cold)",
                f"{one['wall_ms']:.0f} ms wall, {one['cpu_ms']:.0f} ms CPU",
                f"ruff check {ruff['wall_ms']:.0f} ms" if ruff else "-",
                "<= 250 ms",
                one["wall_ms"] <= 250,
            )
        )
    return rows


def per_file_rows(report: dict[str, Any]) -> list[Row]:
    v = report.get("checks_over_parse")
    if v is None:
        return []
    return [
        (
            f"in-process checks, CPU per file ({report.get('tree')})",
            f"{report['checks_cpu_ms_per_file']:.2f} ms = {v:.2f}x",
            f"ast.parse {report['parse_cpu_ms_per_file']:.2f} ms; "
            f"ruff {report.get('ruff_cpu_ms_per_file', 0):.2f} ms",
            "<= 1.5x ast.parse",
            v <= 1.5,
        )
    ]


def lint_rows(report: dict[str, Any]) -> list[Row]:
    v = report.get("validate_over_ruff_cpu")
    if v is None:
        return []
    return [
        (
            f"lint-only validate, stdlib copy ({report['python_files']} files), cold, CPU",
            f"{report['validate_cpu_s']:.2f} s = {v:.2f}x",
            f"ruff check {report['ruff_cpu_s']:.2f} s",
            "<= 1.2x",
            v <= 1.2,
        )
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="language-server workspace sizes")
    ap.add_argument("--only", default="lsp,startup,per_file,lint", help="benchmarks to run")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    loads: dict[str, Any] = {"start": [round(x, 2) for x in os.getloadavg()]}
    reports: dict[str, dict[str, Any]] = {}
    rows: list[Row] = []
    if "lsp" in only:
        reports["lsp"] = run_json("lsp_latency.py", "--sizes", args.sizes)
        rows += lsp_rows(reports["lsp"])
    if "startup" in only:
        reports["startup"] = run_json(
            "startup.py",
            "--only",
            "python -c pass,ruff check,status,run until the session exists,validate one-file cold",
        )
        rows += startup_rows(reports["startup"])
    if "per_file" in only:
        reports["per_file"] = run_json("per_file_cpu.py")
        rows += per_file_rows(reports["per_file"])
    if "lint" in only:
        reports["lint"] = run_json("validate_overhead.py")
        rows += lint_rows(reports["lint"])
    loads["end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps({"load_average": loads, "rows": rows, "reports": reports}, indent=1))
        return 0
    print(f"{os.cpu_count()} cores; load average {loads['start']} at start, {loads['end']} at end")
    cells = [r[:4] for r in rows]
    widths = [max((len(c[i]) for c in cells), default=0) for i in range(4)]
    header = ("measure", "figure", "anchor", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  met")
    for r in rows:
        met = "-" if r[4] is None else ("yes" if r[4] else "NO")
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + f"  {met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
