"""Per-file checks across all cores: a pool of worker processes for big batches.

The per-file checks (``scope = "file"``: syntax, stubs...) are plain Python: threads
share one interpreter lock, so only processes use more than one core. When a workspace
is analysed whole (it opens, its configuration changes, the user asks for it) and many
files need analysing, :class:`CheckPool` sends them to worker processes in batches; the
calling thread gets the findings back batch by batch, and the live results and the result
cache are filled in from them exactly as if the checks had run in that thread
(:meth:`phasegate.live.results.LiveResults.compute_file_checks`).

* The workers are started with ``spawn`` (``PHASEGATE_CHECK_START=forkserver`` to try
  the other), never a plain ``fork`` of a server that runs threads; one per core
  (``PHASEGATE_CHECK_WORKERS`` says how many; 0 or 1: none, everything in the calling
  thread). Each worker builds the checks once per configuration (:class:`PoolSpec`: the
  workspace root, the configuration, and where each check class lives, so a check
  registered at run time is found too), and stops by itself when the process that
  started it is gone.
* A batch holds whole files (every check a file needs), so that a worker reads a file
  once.
* A small batch never pays for starting processes: fewer than :data:`POOL_MIN_FILES`
  files are analysed in the calling thread; so is everything on a machine with one core.
* Memory stays bounded: the workers stop :data:`IDLE_STOP` seconds after their last
  batch (a save never needs them), and start again for the next big batch.
* A pair a worker could not analyse (its check raised, a worker died) comes back as
  such: the caller analyses it in its own thread, where a check's exception is reported
  as the check crashing, as always.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.proc import CancelToken
    from phasegate.runner import ResolvedCheck

POOL_MIN_FILES = 2000  # fewer files to analyse than this: the calling thread does it
BATCH_FILES = 48  # files per task sent to a worker
IDLE_STOP = 20.0  # seconds without a batch before the workers stop
MAX_WORKERS = 8
# Workers analyse in the background at a lower priority: the server's own threads (the
# editor's requests, the documents shown) and the workspace's test run, the longest
# single step of a whole analysis, keep a core when they need one.
WORKER_NICENESS = 10
PARENT_CHECK = 0.5  # seconds between two looks of a worker at its parent
WORKERS_ENV = "PHASEGATE_CHECK_WORKERS"  # how many worker processes (0 or 1: none)
START_METHOD_ENV = "PHASEGATE_CHECK_START"  # "spawn" (default) or "forkserver"

# One analysed pair: (check key, path, findings as JSON, or None: not analysed here)
Pair = tuple[str, str, "bytes | None"]


@dataclass(frozen=True, eq=False)
class PoolSpec:
    """What a worker needs to build the checks of one configuration (compared by
    identity: the live results make one per configuration)."""

    root: str
    config: Config
    trusted: bool
    # check kind -> (module, qualified name) of its class
    classes: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, root: str, config: Config, trusted: bool, rcs: list[ResolvedCheck]) -> PoolSpec:
        classes = tuple(
            sorted({(rc.config.kind_name, rc.cls.__module__, rc.cls.__qualname__) for rc in rcs})
        )
        return cls(root, config, trusted, classes)


# -- worker side -------------------------------------------------------------------------------
_built: dict[str, dict[str, ResolvedCheck]] = {}


def _worker_start(parent: int) -> None:
    """In a worker, first: run at a lower priority (:data:`WORKER_NICENESS`); let go of
    the standard input and output it inherited (a language server's are its connection
    to the client: nothing of a worker may reach them); stop when the server that
    started it is gone (killed without a chance to stop its workers), rather than finish
    batches nobody reads."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICENESS)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="phasegate-parent-watch", daemon=True).start()


def _checks(spec_id: str, blob: bytes) -> dict[str, ResolvedCheck]:
    checks = _built.get(spec_id)
    if checks is not None:
        return checks
    import importlib

    from phasegate.checks.base import register_check, registered_checks
    from phasegate.runner import GateRunner
    from phasegate.workspace import Workspace

    spec: PoolSpec = pickle.loads(blob)
    for kind, module, qualname in spec.classes:
        known = registered_checks().get(kind)
        if known is not None and (known.__module__, known.__qualname__) == (module, qualname):
            continue
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        register_check(kind, obj)
    runner = GateRunner(Workspace(spec.root), spec.config, trusted=spec.trusted)
    checks = {rc.key: rc for rc in runner.all_checks()}
    _built.clear()  # one configuration at a time
    _built[spec_id] = checks
    return checks


def analyse_batch(spec_id: str, blob: bytes, batch: list[tuple[str, list[str]]]) -> list[Pair]:
    """In a worker: the findings of each (path, check keys) of ``batch``."""
    from phasegate.cache import FINDINGS

    checks = _checks(spec_id, blob)
    out: list[Pair] = []
    for path, keys in batch:
        for key in keys:
            rc = checks.get(key)
            if rc is None:
                out.append((key, path, None))
                continue
            try:
                found = rc.check.check_file(rc.ctx, path)
            except Exception:  # the caller runs it again, and reports the crash
                out.append((key, path, None))
                continue
            out.append((key, path, FINDINGS.dump_json(found) if found else b""))
    return out


# -- caller side -------------------------------------------------------------------------------
def default_workers() -> int:
    """One worker per core the process may use (at most :data:`MAX_WORKERS`), or what
    ``PHASEGATE_CHECK_WORKERS`` says (0 or 1: every file in the calling thread)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw.isdigit():
        return min(MAX_WORKERS, int(raw))
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _context() -> multiprocessing.context.BaseContext:
    method = os.environ.get(START_METHOD_ENV, "spawn")
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    return multiprocessing.get_context(method)


class CheckPool:
    """Worker processes for per-file checks, started when a big batch comes and stopped
    when idle. Thread-safe: the scheduler's worker threads call :meth:`analyse`."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        min_files: int = POOL_MIN_FILES,
        idle_stop: float = IDLE_STOP,
    ) -> None:
        self.workers = workers if workers is not None else default_workers()
        self.min_files = min_files
        self.idle_stop = idle_stop
        self._executor: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._users = 0
        self._timer: threading.Timer | None = None
        self._spec_of: tuple[PoolSpec, str, bytes] | None = None
        self.batches = 0  # batches analysed by workers (for the stats)
        self.starts = 0  # times the workers were started
        self.broken = False  # the workers cannot be started here: never try again

    def wanted(self, files: int) -> bool:
        """Whether ``files`` files are worth the workers."""
        return not self.broken and self.workers > 1 and files >= self.min_files

    def _spec(self, spec: PoolSpec) -> tuple[str, bytes]:
        known = self._spec_of
        if known is not None and known[0] is spec:
            return known[1], known[2]
        blob = pickle.dumps(spec)
        spec_id = hashlib.sha1(blob).hexdigest()
        self._spec_of = (spec, spec_id, blob)
        return spec_id, blob

    def _acquire(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._executor is None:
                self._executor = cf.ProcessPoolExecutor(
                    self.workers,
                    mp_context=_context(),
                    initializer=_worker_start,
                    initargs=(os.getpid(),),
                )
                self.starts += 1
            self._users += 1
            return self._executor

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._executor is not None and self._timer is None:
                self._timer = threading.Timer(self.idle_stop, self._stop_idle)
                self._timer.daemon = True
                self._timer.start()

    def _stop_idle(self) -> None:
        with self._lock:
            self._timer = None
            if self._users or self._executor is None:
                return
            executor, self._executor = self._executor, None
        executor.shutdown(wait=True, cancel_futures=True)  # in the timer's thread

    @property
    def running(self) -> bool:
        """Whether worker processes are up (or being started)."""
        return self._executor is not None

    def prepare(self, spec: PoolSpec) -> None:
        """Start the workers now, building ``spec``'s checks, when a batch big enough for
        them is on its way: they start while the caller still looks for its files."""
        if self.broken or self.workers <= 1:
            return
        spec_id, blob = self._spec(spec)
        try:
            executor = self._acquire()
        except Exception:
            self.broken = True
            return
        try:
            for _ in range(self.workers):
                executor.submit(analyse_batch, spec_id, blob, [])
        except Exception:
            pass  # analyse() finds out
        finally:
            self._release()

    def analyse(
        self, spec: PoolSpec, todo: dict[str, list[str]], token: CancelToken
    ) -> Iterator[list[Pair]]:
        """The findings of each (path -> check keys) of ``todo``, batch by batch as the
        workers finish them (in no particular order). Stops early when ``token`` is
        cancelled. A pair that comes back with ``None`` was not analysed."""
        spec_id, blob = self._spec(spec)
        items = list(todo.items())
        # small enough that every worker gets several, at most BATCH_FILES
        size = max(1, min(BATCH_FILES, -(-len(items) // (4 * self.workers))))
        batches = [items[i : i + size] for i in range(0, len(items), size)]
        try:
            executor = self._acquire()
        except Exception:
            self.broken = True
            yield [(k, p, None) for p, keys in items for k in keys]
            return
        futures: dict[cf.Future[list[Pair]], list[tuple[str, list[str]]]] = {}
        try:
            try:
                for b in batches:
                    futures[executor.submit(analyse_batch, spec_id, blob, b)] = b
            except Exception:  # broken pool: what was not submitted is not analysed
                self.broken = True
                sent = {id(b) for b in futures.values()}
                lost = [b for b in batches if id(b) not in sent]
                yield [(k, p, None) for b in lost for p, ks in b for k in ks]
            pending = set(futures)
            while pending:
                if token.cancelled:
                    return
                done, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    try:
                        result = fut.result()
                        self.batches += 1
                    except Exception:  # a worker died: the caller analyses the batch
                        result = [(k, p, None) for p, ks in futures[fut] for k in ks]
                    yield result
        finally:
            for fut in futures:
                fut.cancel()
            self._release()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            executor, self._executor = self._executor, None
        if executor is not None:
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The live workers' process ids (for the stats)."""
        executor = self._executor
        procs = getattr(executor, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None]
