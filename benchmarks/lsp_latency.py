"""Language-server latency with the default settings, on realistic generated workspaces.

Each workspace is the one ``benchmarks/hook_latency.py`` makes (a git repository of
modules of about 70 lines in packages of 100, tests, requirements, design, README,
``pyproject.toml`` with a ruff section). The real server (``python -m phasegate serve``)
is driven over stdio by pygls' client, with the **default settings** (only ``trusted``
is sent, as a trusting editor does), and the client opens one module right after
``initialized``, as an editor restoring its tabs does. Per workspace size it reports:

* **cold open** (no ``.phasegate``): first diagnostics of the opened file, and the
  whole workspace analysed (the server idle), from the server's spawn and from the
  ``didOpen``; the CPU the server used meanwhile (its processes and their children);
* **reopen with a warm cache**: the same again after a cold open wrote the cache;
* **anchor**: ``ruff server`` (the ruff phasegate runs) spawned on the same workspace
  with the same client: time to the opened file's first diagnostics;
* **saves** (the module, toggling a stub in and out): save -> the saved file's
  diagnostics, p50/p95/max, and -> every check done (the project checks the save
  triggers, the workspace's tests included, as the defaults do); the same with saves one
  second apart, never waiting for the checks of the last one (a person saving as they
  type: the tests of the save before are still running); a requirements document; a
  change reported by the client's watcher;
* a workspace over ``maxEagerFiles`` (50k files with the defaults) opens analysing only
  what is shown: then what *Analyse the whole workspace* costs;
* the server's memory (RSS of the server, and of it plus its live child processes) and
  the event loop's worst lag; the load average and the number of cores;
* the 10k/1k (largest/smallest) ratio of the save p50.

Servers are compared A/B, interleaved: ``--variant NAME=PATH`` runs phasegate from the
package under PATH (``PYTHONPATH``), e.g. the code before a change; rounds alternate the
variants (and the ruff anchor) so that a change in the machine's load hits all alike.

    python benchmarks/lsp_latency.py                       # 1k and 10k
    python benchmarks/lsp_latency.py --sizes 1000,10000,50000 --rounds 3
    python benchmarks/lsp_latency.py --variant before=/tmp/old/server --variant after=server

To see where a server spends its time, sample it with py-spy (``pip install py-spy``):

    py-spy record --subprocesses --rate 1000 --format raw -o prof.txt -- \\
        python benchmarks/lsp_latency.py --sizes 10000 --runs 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hook_latency import git, make_workspace

# Seconds between two timed saves: more than the server's throttle window (150 ms), as
# between two saves by a person; changes closer than that are batched on purpose.
PAUSE = 0.2
BUSY_PAUSE = 1.0  # seconds between two saves while the checks of the last one still run
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# What the toggled module gets: a stub (IMPL-STUB, in-process) ...
STUB = '''

def pending_feature(value: int) -> int:
    """Not written yet."""
    raise NotImplementedError
'''
# ... and, in the state it is opened in, an unused import (ruff's F401) too, so that both
# phasegate and ruff have something to show for it.
UNUSED = "import sys\n"
REQ_GOOD = "  - Acceptance: a cancelled order is not listed."
REQ_BAD = "  - Acceptance: TBD"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "max": round(max(values), 1) if values else float("nan"),
        "n": len(values),
    }


# -- processes ------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children", encoding="ascii") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            raw = fh.read()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, its finished children (reaped) and its live descendants."""
    total = 0
    fields = _stat(pid)
    if fields is not None:  # utime stime cutime cstime: fields 14-17 (11-14 here)
        total += sum(int(x) for x in fields[11:15])
    for kid in _descendants(pid):
        f = _stat(kid)
        if f is not None:
            total += int(f[11]) + int(f[12])
    return total / CLK_TCK


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE / 2**20
    except OSError:
        return 0.0


def peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- one server -----------------------------------------------------------------------------
class Server:
    """One server process on one workspace, with a minimal JSON-RPC client of its own that
    timestamps what arrives (the same client for every server: pygls' own client cannot
    read ruff's ``initialize`` answer, and it would add its own parsing costs)."""

    def __init__(self, root: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.root = root
        self.argv = argv
        self.env = env
        self.published: list[tuple[float, str, int, set[str]]] = []
        self.spawned = 0.0
        self.initialized = 0.0
        self.stderr_tail: list[str] = []
        self.pid = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- JSON-RPC --------------------------------------------------------------------------
    def _send(self, msg: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any, timeout: float = 600.0) -> Any:
        self._ids += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[self._ids] = fut
        self._send({"id": self._ids, "method": method, "params": params})
        return await asyncio.wait_for(fut, timeout)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            msg = json.loads(await out.readexactly(length))
            now = time.perf_counter()
            method = msg.get("method")
            if method is None:
                fut = self._waiting.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        fut.set_exception(RuntimeError(str(msg["error"])))
                    else:
                        fut.set_result(msg.get("result"))
            elif method == "textDocument/publishDiagnostics":
                diags = msg["params"]["diagnostics"]
                codes = {str(d.get("code")) for d in diags}
                self.published.append((now, msg["params"]["uri"], len(diags), codes))
            elif "id" in msg:  # a request of the server's: answered as an editor would
                result: Any = None
                if method == "workspace/configuration":
                    result = [None for _ in msg["params"].get("items", [])]
                self._send({"id": msg["id"], "result": result})

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())
            del self.stderr_tail[:-50]

    # -- the editor's side -----------------------------------------------------------------
    async def start(self, options: dict[str, Any] | None, open_rel: str | None) -> None:
        self.spawned = time.perf_counter()
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=str(self.root),
            env=self.env,
            limit=2**24,
        )
        self.pid = self._proc.pid
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._read_stderr())]
        uri = self.root.as_uri()
        caps = {
            "workspace": {
                "didChangeWatchedFiles": {"dynamicRegistration": True},
                "workspaceEdit": {"documentChanges": True},
                "configuration": True,
            },
            "textDocument": {
                "publishDiagnostics": {"dataSupport": True, "codeDescriptionSupport": True},
                "synchronization": {"didSave": True},
            },
            "window": {"workDoneProgress": True},
        }
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "capabilities": caps,
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "bench"}],
        }
        if options is not None:
            params["initializationOptions"] = options
        await self.request("initialize", params, timeout=120)
        self.notify("initialized", {})
        self.initialized = time.perf_counter()
        if open_rel is not None:
            self.open(open_rel)

    def open(self, rel: str) -> None:
        path = self.root / rel
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": path.as_uri(),
                    "languageId": "python" if rel.endswith(".py") else "markdown",
                    "version": 1,
                    "text": path.read_text(encoding="utf-8"),
                }
            },
        )

    def _tail(self) -> str:
        return "\n".join(self.stderr_tail)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("phasegate/stats", {})
        return result

    async def idle(self, timeout: float = 900.0, after_jobs: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            st = await self.stats()
            if st["ready"] and not st["busy"] and st["jobs"] > after_jobs:
                return st
            if time.monotonic() > deadline:
                raise TimeoutError(f"server still busy: {st}\nserver stderr:\n{self._tail()}")
            await asyncio.sleep(0.02)

    async def first_publish(
        self,
        rel: str,
        since: int = 0,
        code: str | None = None,
        present: bool = True,
        timeout: float = 900.0,
    ) -> float:
        """Time of the first publish for ``rel`` after index ``since`` with diagnostics (or
        where ``code`` is present, or absent)."""
        uri = (self.root / rel).as_uri()
        deadline = time.monotonic() + timeout
        while True:
            for t, u, n, codes in self.published[since:]:
                if u != uri:
                    continue
                if (code is None and n > 0) or (code is not None and (code in codes) == present):
                    return t
            if time.monotonic() > deadline:
                raise TimeoutError(f"no publish of {rel} ({code}, {present}):\n{self._tail()}")
            await asyncio.sleep(0.001)

    def save(self, rel: str) -> None:
        self.notify("textDocument/didSave", {"textDocument": {"uri": (self.root / rel).as_uri()}})

    def watched(self, rel: str) -> None:
        self.notify(
            "workspace/didChangeWatchedFiles",
            {"changes": [{"uri": (self.root / rel).as_uri(), "type": 2}]},
        )

    async def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            await self.request("shutdown", None, timeout=60)
            self.notify("exit", None)
            await asyncio.wait_for(proc.wait(), 30)
        except Exception:
            proc.kill()
            await proc.wait()
        for t in self._tasks:
            t.cancel()


# -- variants -------------------------------------------------------------------------------
class Variant:
    def __init__(self, name: str, pythonpath: str | None) -> None:
        self.name = name
        self.pythonpath = pythonpath

    def server(self, root: Path) -> Server:
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                [self.pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
            )
        return Server(root, [sys.executable, "-m", "phasegate", "serve"], env)


DEFAULTS: dict[str, Any] = {"trusted": True}  # what a trusting editor sends; nothing else


def ruff_binary() -> str | None:
    try:
        from phasegate.checks.implementation.ruff_project import bundled_ruff

        found = bundled_ruff()
    except Exception:
        found = None
    return found or shutil.which("ruff")


# -- measurements ---------------------------------------------------------------------------
class Workspace:
    def __init__(self, root: Path, size: int) -> None:
        self.root = root
        self.size = size
        t0 = time.perf_counter()
        self.target = make_workspace(root, size)
        self.generate_s = round(time.perf_counter() - t0, 1)
        self.original = (root / self.target).read_text(encoding="utf-8")
        self.requirements = (root / "docs/requirements.md").read_text(encoding="utf-8")
        lines = self.original.split("\n")
        at = lines.index("from __future__ import annotations") + 1
        self.opened_text = "\n".join([*lines[:at], UNUSED.rstrip(), *lines[at:]]) + STUB
        self.good = self.original
        self.bad = self.original + STUB

    def write_target(self, text: str) -> None:
        (self.root / self.target).write_text(text, encoding="utf-8")

    def reset_state(self) -> None:
        shutil.rmtree(self.root / ".phasegate", ignore_errors=True)


async def open_once(ws: Workspace, v: Variant) -> dict[str, Any]:
    """Open the workspace (with whatever cache it has), the target module shown."""
    s = v.server(ws.root)
    await s.start(DEFAULTS, ws.target)
    opened = s.initialized
    t_first = await s.first_publish(ws.target)
    st = await s.idle()
    t_idle = time.perf_counter()
    out = {
        "first_from_spawn_ms": round((t_first - s.spawned) * 1000, 1),
        "first_from_open_ms": round((t_first - opened) * 1000, 1),
        "initialize_ms": round((opened - s.spawned) * 1000, 1),
        "idle_from_spawn_s": round(t_idle - s.spawned, 2),
        "cpu_s": round(tree_cpu_s(s.pid), 2),
        "rss_server_mb": round(rss_mb(s.pid), 1),
        "rss_tree_mb": round(rss_mb(s.pid) + sum(rss_mb(k) for k in _descendants(s.pid)), 1),
        "rss_peak_server_mb": round(peak_rss_mb(s.pid), 1),
        "checks_analysed": {
            a["check"]: a["count"] for j in st["history"] for a in j["analysed"] if a["count"]
        },
        "first_publish_in_server_s": st.get("firstPublishS"),
        "loop_lag_max_ms": st.get("loopLagMaxMs"),
    }
    first_uri = next((u for _t, u, n, _c in s.published if n > 0), None)
    out["first_published_file"] = (
        Path(first_uri.removeprefix("file://")).relative_to(ws.root).as_posix()
        if first_uri
        else None
    )
    if st.get("wholeWorkspace") is False:  # over maxEagerFiles: what asking for it costs
        out["whole_workspace"] = False
        t0, cpu0 = time.perf_counter(), tree_cpu_s(s.pid)
        command = {"command": "phasegate.analyseWorkspace", "arguments": []}
        await s.request("workspace/executeCommand", command, timeout=3600)
        out["analyse_whole_s"] = round(time.perf_counter() - t0, 2)
        out["analyse_whole_cpu_s"] = round(tree_cpu_s(s.pid) - cpu0, 2)
        out["analyse_rss_tree_mb"] = round(
            rss_mb(s.pid) + sum(rss_mb(k) for k in _descendants(s.pid)), 1
        )
    await s.stop()
    return out


async def ruff_open(ws: Workspace, ruff: str) -> dict[str, Any]:
    s = Server(ws.root, [ruff, "server"])
    await s.start(None, ws.target)
    t_first = await s.first_publish(ws.target, timeout=120)
    out = {
        "first_from_spawn_ms": round((t_first - s.spawned) * 1000, 1),
        "first_from_open_ms": round((t_first - s.initialized) * 1000, 1),
        "initialize_ms": round((s.initialized - s.spawned) * 1000, 1),
        "rss_mb": round(rss_mb(s.pid), 1),
    }
    await s.stop()
    return out


async def toggle(
    s: Server,
    rel: str,
    texts: tuple[str, str],
    code: str,
    runs: int,
    how: str,
    ws: Workspace,
    *,
    busy: bool = False,
) -> tuple[list[float], list[float], list[str]]:
    """Alternate bad/good content of ``rel``; time the change -> the diagnostics that show
    it, and -> every check done. ``busy``: one change every :data:`BUSY_PAUSE` seconds,
    never waiting for the checks of the one before (a person saving as they type: the
    project checks, the workspace's tests among them, are still running)."""
    good, bad = texts
    lat: list[float] = []
    settled: list[float] = []
    checks: set[str] = set()
    for k in range(runs):
        if busy:
            since = len(s.published)
            (ws.root / rel).write_text(bad if k % 2 == 0 else good, encoding="utf-8")
            t0 = time.perf_counter()
            s.save(rel)
            t1 = await s.first_publish(rel, since, code, k % 2 == 0, timeout=120)
            lat.append((t1 - t0) * 1000)
            await asyncio.sleep(max(0.0, BUSY_PAUSE - (time.perf_counter() - t0)))
            continue
        await asyncio.sleep(PAUSE)
        bad_now = k % 2 == 0
        since = len(s.published)
        st0 = await s.stats()
        (ws.root / rel).write_text(bad if bad_now else good, encoding="utf-8")
        t0 = time.perf_counter()
        if how == "save":
            s.save(rel)
        else:
            s.watched(rel)
        t1 = await s.first_publish(rel, since, code, bad_now, timeout=120)
        lat.append((t1 - t0) * 1000)
        st = await s.idle(after_jobs=st0["jobs"])
        settled.append((time.perf_counter() - t0) * 1000)
        checks |= {c for j in st["history"] if j["id"] > st0["jobs"] for c in j["checks"]}
    if runs % 2 == 1:  # the last change left it bad: back to good, and the server told
        await asyncio.sleep(PAUSE)
        since = len(s.published)
        (ws.root / rel).write_text(good, encoding="utf-8")
        s.save(rel)
        await s.first_publish(rel, since, code, False, timeout=300)
    await s.idle(after_jobs=0)
    return lat, settled, sorted(checks)


async def saves(ws: Workspace, v: Variant, runs: int) -> dict[str, Any]:
    ws.write_target(ws.good)
    s = v.server(ws.root)
    await s.start(DEFAULTS, ws.target)
    await s.idle()
    mod, mod_all, mod_checks = await toggle(
        s, ws.target, (ws.good, ws.bad), "IMPL-STUB", runs, "save", ws
    )
    req = ws.requirements
    doc, _doc_all, doc_checks = await toggle(
        s,
        "docs/requirements.md",
        (req, req.replace(REQ_GOOD, REQ_BAD)),
        "REQ-PLACEHOLDER",
        runs,
        "save",
        ws,
    )
    ext, _e, _c = await toggle(
        s, ws.target, (ws.good, ws.bad), "IMPL-STUB", max(2, runs // 2), "watched", ws
    )
    busy, _b, _c = await toggle(
        s, ws.target, (ws.good, ws.bad), "IMPL-STUB", runs, "save", ws, busy=True
    )
    st = await s.stats()
    out = {
        "module": mod,
        "module_busy": busy,
        "module_all_checks": mod_all,
        "module_checks": mod_checks,
        "doc": doc,
        "doc_checks": doc_checks,
        "watched": ext,
        "rss_server_mb": round(rss_mb(s.pid), 1),
        "rss_tree_mb": round(rss_mb(s.pid) + sum(rss_mb(k) for k in _descendants(s.pid)), 1),
        "loop_lag_max_ms": st.get("loopLagMaxMs"),
        "loop_stall_stack": st.get("loopStallStack") or [],
    }
    await s.stop()
    return out


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several measurements of the same thing: the median of each number, lists joined."""
    out: dict[str, Any] = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
            out[key] = round(statistics.median(values), 2)
            if len(values) > 1:
                out[key + "_all"] = values
        else:
            out[key] = values[-1]
    return out


async def bench_size(
    size: int, args: argparse.Namespace, variants: list[Variant], base: Path
) -> dict[str, Any]:
    root = base / f"ws-{size}"
    if root.exists():
        shutil.rmtree(root)
    ws = Workspace(root, size)
    res: dict[str, Any] = {"files": size, "generate_s": ws.generate_s, "target": ws.target}
    ruff = ruff_binary() if args.anchor else None
    cold: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    warm: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    anchor: list[dict[str, Any]] = []
    for _round in range(args.rounds):
        for v in variants:
            ws.reset_state()
            ws.write_target(ws.opened_text)
            cold[v.name].append(await open_once(ws, v))
            warm[v.name].append(await open_once(ws, v))
        if ruff:
            anchor.append(await ruff_open(ws, ruff))
    per_variant_saves: dict[str, list[dict[str, Any]]] = {v.name: [] for v in variants}
    per_round = max(2, args.runs // args.rounds)
    for _round in range(args.rounds if args.saves else 0):
        for v in variants:
            per_variant_saves[v.name].append(await saves(ws, v, per_round))
    for v in variants:
        rs = per_variant_saves[v.name]
        if not rs:
            res[v.name] = {"cold_open": merge(cold[v.name]), "reopen_warm": merge(warm[v.name])}
            continue
        kinds = ("module", "module_busy", "module_all_checks", "doc")
        joined = {k: [x for r in rs for x in r[k]] for k in kinds}
        joined["watched"] = [x for r in rs for x in r["watched"]]
        res[v.name] = {
            "cold_open": merge(cold[v.name]),
            "reopen_warm": merge(warm[v.name]),
            "save_module_ms": summary(joined["module"]),
            "save_module_busy_ms": summary(joined["module_busy"]),
            "save_module_all_checks_done_ms": summary(joined["module_all_checks"]),
            "save_module_checks": rs[-1]["module_checks"],
            "save_doc_ms": summary(joined["doc"]),
            "save_doc_checks": rs[-1]["doc_checks"],
            "watched_change_ms": summary(joined["watched"]),
            "saves_rss_server_mb": max(r["rss_server_mb"] for r in rs),
            "saves_rss_tree_mb": max(r["rss_tree_mb"] for r in rs),
            "saves_loop_lag_max_ms": max(r["loop_lag_max_ms"] or 0 for r in rs),
            # where the loop was in the worst stall of the run with the worst lag
            "saves_loop_stall_stack": max(rs, key=lambda r: r["loop_lag_max_ms"] or 0).get(
                "loop_stall_stack", []
            ),
        }
    if anchor:
        res["ruff_server"] = merge(anchor)
    git(root, "checkout", "-q", "--", ".")
    return res


def print_report(report: dict[str, Any], names: list[str]) -> None:
    print(
        f"{report['cpus']} cores; load average {report['load_average_start']} at start, "
        f"{report['load_average_end']} at end; default settings; {report['rounds']} round(s)"
    )
    for r in report["sizes"]:
        print(f"\n{r['files']} files (generated in {r['generate_s']} s), opened {r['target']}")
        if "ruff_server" in r:
            a = r["ruff_server"]
            print(
                f"  ruff server: first diagnostics {a['first_from_spawn_ms']:.0f} ms from spawn "
                f"({a['first_from_open_ms']:.0f} ms from didOpen)"
            )
        for name in names:
            v = r[name]
            print(f"  [{name}]")
            for label, key in (("cold open  ", "cold_open"), ("warm reopen", "reopen_warm")):
                o = v[key]
                print(
                    f"    {label}: opened file {o['first_from_spawn_ms']:.0f} ms from spawn "
                    f"({o['first_from_open_ms']:.0f} ms from didOpen; initialize "
                    f"{o['initialize_ms']:.0f} ms), first published {o['first_published_file']}; "
                    f"idle {o['idle_from_spawn_s']:.2f} s, CPU {o['cpu_s']:.1f} s, RSS "
                    f"{o['rss_server_mb']:.0f} MB (tree {o['rss_tree_mb']:.0f}, peak "
                    f"{o['rss_peak_server_mb']:.0f})"
                )
                if "analyse_whole_s" in o:
                    print(
                        f"      over maxEagerFiles: analyse the whole workspace "
                        f"{o['analyse_whole_s']:.2f} s, CPU {o['analyse_whole_cpu_s']:.1f} s, "
                        f"RSS tree {o['analyse_rss_tree_mb']:.0f} MB"
                    )
            if "save_module_ms" not in v:
                continue
            for label, key in (
                ("save module -> its diagnostics", "save_module_ms"),
                ("  same, saves 1 s apart (checks still running)", "save_module_busy_ms"),
                ("save module -> all checks done", "save_module_all_checks_done_ms"),
                ("save requirements -> diagnostics", "save_doc_ms"),
                ("client watcher -> diagnostics", "watched_change_ms"),
            ):
                m = v[key]
                print(
                    f"    {label}: p50 {m['p50']:.1f} ms, p95 {m['p95']:.1f} ms, "
                    f"max {m['max']:.1f} ms (n={m['n']})"
                )
            print(
                f"    saves: RSS {v['saves_rss_server_mb']:.0f} MB (tree "
                f"{v['saves_rss_tree_mb']:.0f}), loop lag max {v['saves_loop_lag_max_ms']} ms; "
                f"a module save runs {', '.join(v['save_module_checks'])}"
            )
            if v.get("saves_loop_stall_stack"):
                print("    the loop's worst stall was in (innermost last):")
                for frame in v["saves_loop_stall_stack"]:
                    print(f"      {frame}")
    for name, ratio in report.get("ratios", {}).items():
        print(
            f"\n[{name}] one-file change, {ratio['label']}: save p50 {ratio['save_module_p50']}x"
            f" (saves 1 s apart: {ratio['save_module_busy_p50']}x)"
        )


async def run(args: argparse.Namespace, variants: list[Variant], base: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "rounds": args.rounds,
        "variants": {v.name: v.pythonpath for v in variants},
        "sizes": [],
    }
    for size in args.sizes:
        r = await bench_size(size, args, variants, base)
        report["sizes"].append(r)
        if not args.json:
            print(json.dumps(r), file=sys.stderr, flush=True)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    sizes = report["sizes"]
    if len(sizes) >= 2 and args.saves:
        small, big = sizes[0], sizes[-1]
        report["ratios"] = {
            v.name: {
                "label": f"{big['files']} vs {small['files']} files",
                "save_module_p50": round(
                    big[v.name]["save_module_ms"]["p50"] / small[v.name]["save_module_ms"]["p50"],
                    2,
                ),
                "save_module_busy_p50": round(
                    big[v.name]["save_module_busy_ms"]["p50"]
                    / small[v.name]["save_module_busy_ms"]["p50"],
                    2,
                ),
            }
            for v in variants
        }
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="workspace sizes (Python modules)")
    ap.add_argument("--runs", type=int, default=20, help="saves timed per size and variant")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (A/B)")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a phasegate to compare, run from PATH (PYTHONPATH); default: the installed one",
    )
    ap.add_argument("--no-anchor", dest="anchor", action="store_false", help="skip ruff server")
    ap.add_argument("--no-saves", dest="saves", action="store_false", help="open and reopen only")
    ap.add_argument("--keep", type=Path, help="generate the workspaces here and keep them")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    args.rounds = max(1, args.rounds)
    variants = []
    for spec in args.variant:
        name, _, path = spec.partition("=")
        variants.append(Variant(name, str(Path(path).resolve()) if path else None))
    if not variants:
        variants = [Variant("phasegate", None)]
    base = args.keep or Path(tempfile.mkdtemp(prefix="phasegate-lsp-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        report = asyncio.run(run(args, variants, base.resolve()))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report, [v.name for v in variants])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
