"""Language-server latency on generated workspaces of 1,000 and 10,000 files.

Drives the real server (``python -m phasegate serve``) over stdio with pygls' client and
prints, per workspace size:

* save -> updated diagnostics, p50/p95: a requirements document (only in-process
  checks read it) and a Python module (the per-file checks' diagnostics; the project
  checks such as ruff over the whole workspace run in parallel and are reported apart);
* a change made outside the editor -> diagnostics, p50: through the client's watcher
  (``workspace/didChangeWatchedFiles``) and through the server's own watcher (watchfiles);
* reopen with a session checkpoint and a warm cache -> first diagnostics;
* the server's RSS and the event loop's worst lag;
* which checks each kind of change re-ran, and how many files they re-analysed;

and, at the end, the cost ratio of a one-file change at 10k vs 1k files.

    python benchmarks/lsp_latency.py            # 1k and 10k (a few minutes)
    python benchmarks/lsp_latency.py --sizes 1000 --runs 10

Checks that run the workspace's tests are switched off on changes
(``runWorkspaceChecksOnChange: false``): the figures are about the server, not pytest.

To see where a server spends its time, sample it with py-spy (``pip install py-spy``):

    py-spy record --subprocesses --rate 1000 --threads --format raw -o prof.txt -- \
        python benchmarks/lsp_latency.py --sizes 10000 --runs 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

N_REQS = 20
# Seconds between two timed changes: more than the server's throttle window (150 ms), as
# between two saves by a person; changes closer than that are batched on purpose.
PAUSE = 0.2
FILES_PER_DIR = 100

REQ_HEAD = """# Requirements

## Overview

A generated workspace for measuring the language server.

## Functional requirements
"""
REQ_ITEM = """
### REQ-{n:03d}: Feature {n}

The system provides feature {n}.

Acceptance criteria:
- Feature {n} returns its result for a valid input.
- Feature {n} rejects an invalid input with an error.
"""
REQ_TAIL = """
## Non-functional requirements

Each call answers within a second.
"""
DESIGN = """# Design

## Architecture

Modules under pkg/, one per feature: {ids}.

## Components

Each module exposes one function.

## Data

Plain values.

## Interfaces

Python functions.

## Risks

None known.
"""
MODULE = '''"""Module {i}: part of REQ-{r:03d}."""


def feature_{i}(value: int) -> int:
    """Return the value, doubled."""
    if value < 0:
        raise ValueError("negative")
    return value * 2
'''
STUB = '''"""Module {i}: part of REQ-{r:03d}."""


def feature_{i}(value: int) -> int:
    """Return the value, doubled."""
    pass
'''
TEST = '''"""Tests of REQ-{r:03d}."""

from pkg.d0.m0 import feature_0


def test_feature() -> None:
    assert feature_0(2) == 4
'''


def generate(root: Path, n_files: int) -> dict[str, Path]:
    """``n_files`` files: a few documents, tests, and Python modules in folders of 100."""
    reqs = REQ_HEAD + "".join(REQ_ITEM.format(n=n) for n in range(1, N_REQS + 1)) + REQ_TAIL
    fixed = {
        "docs/requirements.md": reqs,
        "docs/design.md": DESIGN.format(
            ids=", ".join(f"REQ-{n:03d}" for n in range(1, N_REQS + 1))
        ),
        "README.md": "# Bench\n\n## Installation\n\npip install bench\n\n## Usage\n\nimport it\n",
        "CHANGELOG.md": "# Changelog\n\n## 0.1.0\n\n- first\n",
        "pyproject.toml": '[project]\nname = "bench"\nversion = "0.1.0"\ndescription = "b"\n',
        "pkg/__init__.py": "",
    }
    for r in range(1, N_REQS + 1):
        fixed[f"tests/test_req{r:03d}.py"] = TEST.format(r=r)
    n_modules = max(1, n_files - len(fixed))
    for rel, text in fixed.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for i in range(n_modules):
        d = root / "pkg" / f"d{i // FILES_PER_DIR}"
        if i % FILES_PER_DIR == 0:
            d.mkdir(parents=True, exist_ok=True)
            (d / "__init__.py").write_text("", encoding="utf-8")
        (d / f"m{i % FILES_PER_DIR}.py").write_text(
            MODULE.format(i=i, r=i % N_REQS + 1), encoding="utf-8"
        )
    return {"req": root / "docs/requirements.md", "module": root / "pkg/d0/m1.py"}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def plain(o: Any) -> Any:
    if hasattr(o, "_asdict"):
        return {k: plain(v) for k, v in o._asdict().items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    return o


class Bench:
    """One server process on one workspace, with a client that timestamps what arrives."""

    def __init__(self, root: Path, settings: dict[str, Any], register_watchers: bool) -> None:
        self.root = root
        self.settings = settings
        self.register_watchers = register_watchers
        self.client = LanguageClient("phasegate-bench", "1")
        self.published: list[tuple[float, str, set[str]]] = []
        self.started = 0.0
        self.stderr_tail: list[str] = []
        c = self.client

        @c.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diags(params: types.PublishDiagnosticsParams) -> None:
            codes = {str(d.code) for d in params.diagnostics}
            self.published.append((time.perf_counter(), params.uri, codes))

        @c.feature(types.CLIENT_REGISTER_CAPABILITY)
        def _register(params: types.RegistrationParams) -> None:
            if not self.register_watchers:
                raise RuntimeError("no dynamic registration")

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        for method in ("phasegate/status", types.PROGRESS, types.WINDOW_LOG_MESSAGE):
            c.feature(method)(lambda params: None)

    async def start(self) -> None:
        self.started = time.perf_counter()
        await self.client.start_io(sys.executable, "-m", "phasegate", "serve")
        # The server's stderr is a pipe: read it, or a chatty server blocks on a full pipe.
        self._drain = asyncio.ensure_future(self._read_stderr())
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=self.register_watchers
                ),
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            ),
            text_document=types.TextDocumentClientCapabilities(
                publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                    data_support=True, code_description_support=True
                ),
                synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            ),
            window=types.WindowClientCapabilities(work_done_progress=True),
        )
        uri = self.root.as_uri()
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=caps,
                root_uri=uri,
                workspace_folders=[types.WorkspaceFolder(uri=uri, name="bench")],
                initialization_options={"trusted": True, "settings": self.settings},
            )
        )
        self.client.initialized(types.InitializedParams())

    async def _read_stderr(self) -> None:
        proc = getattr(self.client, "_server", None)
        stream = proc.stderr if proc is not None else None
        if stream is None:
            return
        while line := await stream.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())
            del self.stderr_tail[:-50]

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = plain(
            await self.client.protocol.send_request_async("phasegate/stats", {})
        )
        return result

    async def idle(self, timeout: float = 180.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            st = await self.stats()
            if st["ready"] and not st["busy"] and st["jobs"] > 0:
                return st
            if time.monotonic() > deadline:
                tail = "\n".join(self.stderr_tail)
                raise TimeoutError(f"server still busy: {st}\nserver stderr:\n{tail}")
            await asyncio.sleep(0.05)

    async def wait_publish(
        self, uri: str, since: int, want: str, present: bool, timeout: float = 60.0
    ) -> float:
        """Time of the first publish for ``uri`` after index ``since`` where code ``want``
        is present (or absent)."""
        deadline = time.monotonic() + timeout
        while True:
            for t, u, codes in self.published[since:]:
                if u == uri and (want in codes) == present:
                    return t
            if time.monotonic() > deadline:
                tail = "\n".join(self.stderr_tail)
                raise TimeoutError(
                    f"no publish of {uri} with {want} present={present}\nserver stderr:\n{tail}"
                )
            await asyncio.sleep(0.001)

    def save(self, path: Path) -> None:
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri())
            )
        )

    def watched(self, path: Path) -> None:
        self.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]
            )
        )

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()


async def toggle_runs(
    b: Bench, path: Path, good: str, bad: str, code: str, runs: int, how: str
) -> tuple[list[float], list[list[str]], list[float]]:
    """Alternate ``bad``/``good`` content; time the change -> diagnostics that show it."""
    lat: list[float] = []
    checks: list[list[str]] = []
    settled: list[float] = []
    for k in range(runs):
        await asyncio.sleep(PAUSE)
        bad_now = k % 2 == 0
        since = len(b.published)
        st0 = await b.stats()
        path.write_text(bad if bad_now else good, encoding="utf-8")
        t0 = time.perf_counter()
        if how == "save":
            b.save(path)
        elif how == "client":
            b.watched(path)
        t1 = await b.wait_publish(path.as_uri(), since, code, bad_now)
        lat.append((t1 - t0) * 1000)
        st = await b.idle()
        settled.append((time.perf_counter() - t0) * 1000)
        new = [j for j in st["history"] if j["id"] > st0["jobs"]]
        checks.append(sorted({f"{c}" for j in new for c in j["checks"]}))
    return lat, checks, settled


def analysed(st: dict[str, Any], after_job: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for j in st["history"]:
        if j["id"] > after_job:
            for a in j["analysed"]:
                out[a["check"]] = out.get(a["check"], 0) + a["count"]
    return out


async def measure(size: int, runs: int, work: Path) -> dict[str, Any]:
    root = work / f"ws{size}"
    t = time.perf_counter()
    paths = generate(root, size)
    gen_s = time.perf_counter() - t
    res: dict[str, Any] = {"files": size, "generate_s": round(gen_s, 2)}
    req_text = paths["req"].read_text(encoding="utf-8")
    req_bad = req_text.replace("The system provides feature 3.", "TBD")
    mod_text = paths["module"].read_text(encoding="utf-8")
    mod_bad = STUB.format(i=1, r=2)
    base = {"runWorkspaceChecksOnChange": False}

    # -- editor saves, client watcher ------------------------------------------------
    b = Bench(root, {**base, "watch": "client"}, register_watchers=True)
    await b.start()
    st = await b.idle()
    res["open_full_run_s"] = round(time.perf_counter() - b.started, 2)
    res["watch_kind_client_run"] = st["watch"]
    lat, checks, settled = await toggle_runs(
        b, paths["req"], req_text, req_bad, "REQ-PLACEHOLDER", runs, "save"
    )
    res["save_doc_ms"] = {"p50": pct(lat, 50), "p95": pct(lat, 95), "runs": len(lat)}
    res["save_doc_checks"] = checks[0]
    job0 = (await b.stats())["jobs"]
    lat, checks, settled = await toggle_runs(
        b, paths["module"], mod_text, mod_bad, "IMPL-STUB", runs, "save"
    )
    st = await b.stats()
    res["save_module_ms"] = {"p50": pct(lat, 50), "p95": pct(lat, 95), "runs": len(lat)}
    res["save_module_all_checks_done_ms"] = {"p50": pct(settled, 50), "p95": pct(settled, 95)}
    res["save_module_checks"] = checks[0]
    res["save_module_analysed"] = analysed(st, job0)
    lat, _checks, _settled = await toggle_runs(
        b, paths["req"], req_text, req_bad, "REQ-PLACEHOLDER", runs, "client"
    )
    res["external_change_client_watcher_ms"] = {"p50": pct(lat, 50), "p95": pct(lat, 95)}
    st = await b.stats()
    res["rss_mb"] = round(st["rssBytes"] / 2**20, 1)
    res["loop_lag_max_ms"] = st["loopLagMaxMs"]
    res["loop_lag_p99_ms"] = st["loopLagP99Ms"]
    await b.stop()

    # -- changes outside the editor, server watcher (watchfiles) ------------------------
    b = Bench(root, {**base, "watch": "server"}, register_watchers=False)
    await b.start()
    st = await b.idle()
    res["watch_kind_server_run"] = st["watch"]
    await asyncio.sleep(0.5)  # let the watcher settle on the tree
    lat, _checks, _settled = await toggle_runs(
        b, paths["req"], req_text, req_bad, "REQ-PLACEHOLDER", runs, "watchfiles"
    )
    res["external_change_watchfiles_ms"] = {"p50": pct(lat, 50), "p95": pct(lat, 95)}
    await b.stop()

    # -- reopen with a session checkpoint and a warm cache ------------------------------
    from phasegate.model import PhaseState, SessionState
    from phasegate.store import SessionStore

    store = SessionStore(root)
    if not store.exists("bench"):
        names = ["requirements", "design", "implementation", "testing", "deployment"]
        store.create(
            SessionState(
                id="bench", requirement="bench", phases=[PhaseState(name=n) for n in names]
            )
        )
    store.set_active("bench")
    paths["module"].write_text(mod_bad, encoding="utf-8")  # a finding to republish
    b0 = Bench(root, {**base, "watch": "off"}, register_watchers=False)
    await b0.start()
    await b0.idle()
    await b0.stop()
    b = Bench(root, {**base, "watch": "off"}, register_watchers=False)
    await b.start()
    t_first = await b.wait_publish(paths["module"].as_uri(), 0, "IMPL-STUB", True, 120)
    st = await b.idle()
    res["reopen_first_diagnostics_ms"] = round((t_first - b.started) * 1000, 1)
    res["reopen_first_publish_in_server_s"] = st["firstPublishS"]
    res["reopen_checks_analysed"] = {k: v for k, v in analysed(st, 0).items() if v}
    await b.stop()
    paths["module"].write_text(mod_text, encoding="utf-8")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=20, help="changes timed per measurement")
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--keep", type=Path, help="generate the workspaces here and keep them")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="phasegate-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            r = asyncio.run(measure(size, args.runs, work.resolve()))
            results.append(r)
            if not args.json:
                print(json.dumps(r, indent=2), flush=True)
    out: dict[str, Any] = {"results": results}
    if len(results) >= 2:
        small, big = results[0], results[-1]
        out["ratio_save_module_p50"] = round(
            big["save_module_ms"]["p50"] / small["save_module_ms"]["p50"], 2
        )
        out["ratio_save_doc_p50"] = round(
            big["save_doc_ms"]["p50"] / small["save_doc_ms"]["p50"], 2
        )
        label = f"{big['files']} vs {small['files']} files"
        if not args.json:
            print(f"one-file change cost ratio, {label}:")
            print(f"  python module save p50: {out['ratio_save_module_p50']}x")
            print(f"  requirements save p50:  {out['ratio_save_doc_p50']}x")
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
