"""The whole journey of a new user, from an empty folder to a completed session: the
tutorial (``docs/tutorial.md``), executed.

The tutorial is the source. Its blocks marked ``<!-- journey: KIND ARG -->`` are, in the
order they appear:

* ``run NAME``: a ``console`` block; each ``$`` line is run (``phasegate ...`` as
  ``python -m phasegate ...``, ``echo $?``, and the first ``mkdir DIR && cd DIR``), and
  the lines after it are what it printed;
* ``write PATH``: a file the reader writes by hand; the test writes exactly that block;
* ``show PATH``: a file as phasegate wrote it at that point;
* ``report KEY``: a part of ``phasegate report --format json --output -``.

The test executes the ``run`` and ``write`` blocks and compares the ``run``, ``show`` and
``report`` blocks with what the real run printed or wrote; when they differ it fails with
a diff naming the block. ``PHASEGATE_WRITE_TUTORIAL=1`` (or
``python tests/test_journey.py --write``) rewrites them from the run instead.

The commands run with standard output on a terminal 100 columns wide (a pseudo-terminal,
so the tables are drawn as a reader sees them) and standard error on a pipe; the output
shown is standard error then standard output (run and resume print their progress on
standard error and the table at the end on standard output). :func:`normalise` makes the
output the same on every machine: escape sequences are removed, the temporary folder the
test runs in is shown as ``/home/you`` and durations as ``0.0s``; nothing is shortened.

Between the blocks the test checks what the tutorial tells the reader: the exit codes,
exactly which files phasegate created, that it changed no file that already existed (in
particular none the person wrote), and what ``status`` says.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phasegate.config import Config
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TUTORIAL_PATH = REPO / "docs" / "tutorial.md"
WRITE_ENV = "PHASEGATE_WRITE_TUTORIAL"
COLUMNS = 100
HOME = "/home/you"  # the folder the reader starts in, as the tutorial shows it

REQUIREMENT = "Create a task management system with users and due dates"
PHASES = ["requirements", "design", "implementation", "testing", "deployment"]
WAITING = {"stalled", "blocked"}
IGNORED_PARTS = {".phasegate", "__pycache__"}


# -- the tutorial ------------------------------------------------------------------------

_MARKER = re.compile(r"^<!-- journey: (run|write|show|report) (\S+) -->$")
_FENCE = re.compile(r"^(`{3,})([\w-]*)$")


@dataclass
class Block:
    """A fenced block of the tutorial under a ``<!-- journey: KIND ARG -->`` line."""

    kind: str
    arg: str
    line: int  # 1-based line of the marker
    fence: str
    lang: str
    start: int  # 0-based index of the first line of the body
    end: int  # 0-based index of the closing fence
    body: str  # the lines between the fences, each ending with a newline

    @property
    def label(self) -> str:
        return f"<!-- journey: {self.kind} {self.arg} --> (docs/tutorial.md:{self.line})"


def parse_tutorial(text: str) -> list[Block]:
    """The marked blocks, in order. A marker must be followed by a fenced block."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if m is None:
            assert not line.startswith("<!-- journey:"), f"docs/tutorial.md:{i + 1}: {line}"
            continue
        fence = _FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        assert fence, f"docs/tutorial.md:{i + 1}: a journey marker must precede a ``` block"
        end = next((j for j in range(i + 2, len(lines)) if lines[j] == fence.group(1)), None)
        assert end is not None, f"docs/tutorial.md:{i + 2}: the block is not closed"
        body = "".join(f"{b}\n" for b in lines[i + 2 : end])
        blocks.append(Block(m[1], m[2], i + 1, fence[1], fence[2], i + 2, end, body))
    return blocks


def tutorial_file(path: str) -> str:
    """The content of the file the tutorial tells the reader to write at ``path``."""
    (block,) = (
        b
        for b in parse_tutorial(TUTORIAL_PATH.read_text(encoding="utf-8"))
        if (b.kind, b.arg) == ("write", path)
    )
    return block.body


# -- the terminal ------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """The environment of a command: ``python3`` on PATH (what phasegate runs the
    workspace's tests with, as it has no ``.venv``) is this interpreter's, which has
    pytest and coverage; nothing that changes how rich draws."""
    drop = {"PYTHONPATH", "COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"}
    drop |= {"TTY_INTERACTIVE", "PHASEGATE_PROGRESS", "TERM"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def pg(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m phasegate ARGS`` with its output on pipes (for the test's own look)."""
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )


def in_terminal(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m phasegate ARGS`` as typed in a terminal ``COLUMNS`` wide: standard
    output is a pseudo-terminal of that size, standard error a pipe."""
    import fcntl
    import pty
    import struct
    import termios

    env = {**_env(), "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "NO_COLOR": "1"}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phasegate", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(slave)
    out = bytearray()

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not data:
                return
            out.extend(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
        reader.join(timeout=30)
        os.close(master)
    return subprocess.CompletedProcess(
        args, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")
_DURATION = re.compile(r"\b(done in|after) \d+(\.\d+)?s\b")


def normalise(text: str, home: Path) -> str:
    """What a command printed, the same on every machine: no escape sequences (styles),
    ``\\n`` line ends, no trailing spaces, the folder the test runs in shown as
    ``/home/you`` and the durations of persona runs as ``0.0s``. Nothing else in these
    outputs varies between runs; a block that came to show something that does (a date,
    a version) would fail on the next run, and this is where its rule goes."""
    text = _ESCAPES.sub("", text).replace("\r\n", "\n")
    for folder in sorted({str(home.resolve()), str(home)}, key=len, reverse=True):
        text = text.replace(folder, HOME)
    text = _DURATION.sub(r"\1 0.0s", text)
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def output(res: subprocess.CompletedProcess[str]) -> str:
    return res.stderr + res.stdout


def status(ws: Path) -> tuple[int, dict[str, Any]]:
    res = pg(ws, "status", "--format", "json")
    return res.returncode, json.loads(res.stdout)


def phase_statuses(data: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["status"] for p in data["session"]["phases"]}


def gate_checks(data: dict[str, Any], phase: str) -> dict[str, bool]:
    gate = next(g for g in data["gates"] if g["name"] == phase)
    return {c["id"]: c["passed"] for c in gate["checks"]}


def files_written_by_personas(data: dict[str, Any], phase: str) -> set[str]:
    ps = next(p for p in data["session"]["phases"] if p["name"] == phase)
    return {f for it in ps["iterations"] for run in it["personas"] for f in run["files_changed"]}


# -- the folder --------------------------------------------------------------------------


def snapshot(ws: Path) -> dict[str, str]:
    """Every file of the workspace (phasegate's own state and bytecode aside) -> sha256."""
    out = {}
    for p in ws.rglob("*"):
        rel = p.relative_to(ws)
        if p.is_file() and not IGNORED_PARTS.intersection(rel.parts):
            out[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass
class Journey:
    """The tutorial's blocks, taken in order: each call names the block it expects next,
    so the tutorial and the journey cannot disagree on the order of the steps."""

    home: Path
    blocks: list[Block] = field(default_factory=list)
    ws: Path | None = None
    wrote: dict[str, str] = field(default_factory=dict)  # the person's files -> sha256
    generated: dict[int, str] = field(default_factory=dict)  # block index -> real body
    taken: int = 0

    def __post_init__(self) -> None:
        self.text = TUTORIAL_PATH.read_text(encoding="utf-8")
        self.blocks = parse_tutorial(self.text)

    @property
    def folder(self) -> Path:
        assert self.ws is not None, "the tutorial runs a command before `mkdir DIR && cd DIR`"
        return self.ws

    def _take(self, kind: str, arg: str) -> Block:
        assert self.taken < len(self.blocks), f"the tutorial has no more blocks: {kind} {arg}"
        block = self.blocks[self.taken]
        assert (block.kind, block.arg) == (kind, arg), (
            f"the tutorial's next block is {block.label}; the journey expects "
            f"<!-- journey: {kind} {arg} -->"
        )
        self.taken += 1
        return block

    def write(self, rel: str) -> str:
        """The person writes the file the tutorial shows at ``rel``."""
        text = self._take("write", rel).body
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.wrote[rel] = hashlib.sha256(text.encode()).hexdigest()
        return text

    def show(self, rel: str) -> str:
        """The tutorial shows ``rel`` as phasegate wrote it."""
        text = (self.folder / rel).read_text(encoding="utf-8")
        self.generated[self.taken] = text if text.endswith("\n") else text + "\n"
        self._take("show", rel)
        return text

    def report(self, key: str, value: Any) -> None:
        """The tutorial shows ``value``, a part of the report, as JSON."""
        self.generated[self.taken] = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
        self._take("report", key)

    def run(
        self, name: str, *, created: set[str], rc: int
    ) -> list[subprocess.CompletedProcess[str]]:
        """Run the block's commands; check that each phasegate command exits with ``rc``,
        that they created exactly ``created``, and that they changed no file that existed
        before (none of the person's, none of phasegate's own)."""
        index = self.taken
        block = self._take("run", name)
        commands = [line[2:] for line in block.body.splitlines() if line.startswith("$ ")]
        assert commands, f"{block.label} runs no command"
        before = snapshot(self.ws) if self.ws else {}
        shown: list[str] = []
        results: list[subprocess.CompletedProcess[str]] = []
        last = 0
        for command in commands:
            shown.append(f"$ {command}\n")
            words = shlex.split(command, comments=True)
            if words[:1] == ["phasegate"]:
                res = in_terminal(words[1:], self.folder)
                assert res.returncode == rc, f"{block.label}: $ {command}\n{output(res)}"
                results.append(res)
                last = res.returncode
                shown.append(normalise(output(res), self.home))
            elif words == ["echo", "$?"]:
                shown.append(f"{last}\n")
            elif len(words) == 5 and words[0] == "mkdir" and words[2:4] == ["&&", "cd"]:
                assert self.ws is None and words[1] == words[4], command
                self.ws = self.home / words[1]
                self.ws.mkdir()
            else:
                raise AssertionError(f"{block.label}: the journey cannot run `{command}`")
        self.generated[index] = "".join(shown)
        after = snapshot(self.folder)
        assert set(after) - set(before) == created, "".join(shown)
        assert not set(before) - set(after), "files disappeared"
        changed = {p for p in before if before[p] != after[p]}
        assert not changed, f"phasegate changed existing files: {changed}"
        for rel, digest in self.wrote.items():
            assert after[rel] == digest, f"{rel}, written by a person, was changed"
        return results

    def finish(self) -> None:
        """Every marked block was taken; the tutorial shows what the run printed and
        wrote, or (PHASEGATE_WRITE_TUTORIAL=1) is rewritten from it."""
        assert self.taken == len(self.blocks), (
            f"the journey ended before {self.blocks[self.taken].label}"
        )
        lines = self.text.splitlines(keepends=True)
        drifts = []
        for index in sorted(self.generated, reverse=True):
            block = self.blocks[index]
            real = self.generated[index]
            if real == block.body:
                continue
            fence = block.fence
            while re.search(rf"^{fence}", real, re.M):  # content with ``` needs more
                fence += "`"
            diff = difflib.unified_diff(
                block.body.splitlines(keepends=True),
                real.splitlines(keepends=True),
                f"{block.label}: the tutorial",
                "the real run",
            )
            drifts.append("".join(diff))
            lines[block.start - 1 : block.end + 1] = [
                f"{fence}{block.lang}\n",
                real,
                f"{fence}\n",
            ]
        if os.environ.get(WRITE_ENV) == "1":
            if drifts:
                TUTORIAL_PATH.write_text("".join(lines), encoding="utf-8")
            return
        assert not drifts, (
            "docs/tutorial.md differs from the real run (PHASEGATE_WRITE_TUTORIAL=1 or "
            "`python tests/test_journey.py --write` rewrites it):\n" + "\n".join(reversed(drifts))
        )


# -- the journey -------------------------------------------------------------------------


def test_empty_folder_to_completed_session(tmp_path: Path) -> None:
    j = Journey(tmp_path)

    # 0. an empty folder
    j.run("setup", created=set(), rc=0)
    ws = j.folder
    assert ws.name == "taskboard" and not any(ws.iterdir())

    # 1. run: the requirements scaffold, whose placeholders fail the gate
    (res,) = j.run("start", created={"docs/requirements.md"}, rc=1)
    reqs = j.show("docs/requirements.md")
    assert re.search(r"^### REQ-001: ", reqs, re.M), reqs
    found = re.findall(r"docs/requirements\.md:(\d+):(\d+): REQ-PLACEHOLDER", output(res))
    assert found, output(res)
    lines = reqs.splitlines()
    for line_no, col in found:  # 1-based positions, each on a placeholder
        assert lines[int(line_no) - 1][int(col) - 1 :].startswith("TODO"), (line_no, col)
    rc, st = status(ws)
    assert rc == 1 and st["session"]["status"] == "waiting"
    assert st["session"]["requirement"] == REQUIREMENT
    phases = phase_statuses(st)
    assert list(phases) == PHASES
    assert phases["requirements"] in WAITING
    assert all(phases[p] == "pending" for p in PHASES[1:])
    assert files_written_by_personas(st, "requirements") == {"docs/requirements.md"}

    # 2. a person completes the requirements (same document, same id, one more id)
    text = j.write("docs/requirements.md")
    assert "TODO" not in text and "### REQ-001:" in text and "### REQ-002:" in text
    j.run("requirements-done", created={"docs/design.md"}, rc=1)
    design = j.show("docs/design.md")
    rc, st = status(ws)
    phases = phase_statuses(st)
    assert phases["requirements"] == "completed"
    assert phases["design"] in WAITING and st["session"]["current_phase"] == "design"
    assert all(phases[p] == "pending" for p in PHASES[2:])
    for rid in ("REQ-001", "REQ-002"):  # a subsection per requirement id
        assert re.search(rf"^#{{2,4}} {rid}\b", design, re.M), design
    for section in ("Architecture", "Components", "Data model", "Interfaces", "Risks"):
        assert re.search(rf"^## {section}$", design, re.M), section
    assert design.startswith("# Design: Task board\n")  # titled after the requirements
    assert gate_checks(st, "design")["DES-TRACE"] is True
    assert gate_checks(st, "design")["DES-PLACEHOLDER"] is False
    assert files_written_by_personas(st, "design") == {"docs/design.md"}

    # 3. a person completes the design: the implementation scaffold writes a package of
    # stubs, one module per requirement, which IMPL-STUB rejects
    assert "TODO" not in j.write("docs/design.md")
    package = {"taskboard/__init__.py", "taskboard/req_001.py", "taskboard/req_002.py"}
    (res,) = j.run("design-done", created=package, rc=1)
    j.show("taskboard/req_001.py")
    rc, st = status(ws)
    phases = phase_statuses(st)
    assert phases["design"] == "completed"
    assert phases["implementation"] in WAITING
    assert all(phases[p] == "pending" for p in PHASES[3:])
    for rel in ("taskboard/req_001.py", "taskboard/req_002.py"):
        assert "raise NotImplementedError" in (ws / rel).read_text()
        assert re.search(rf"{re.escape(rel)}:\d+:\d+: IMPL-STUB", output(res)), output(res)
    checks = gate_checks(st, "implementation")
    assert checks["IMPL-SYNTAX"] and checks["IMPL-LINT"] and not checks["IMPL-STUB"]
    assert files_written_by_personas(st, "implementation") == package

    # 4. a person writes the code: the testing scaffold writes a failing test per id
    j.write("taskboard/req_001.py")
    j.write("taskboard/req_002.py")
    scaffold_tests = {"conftest.py", "tests/test_req_001.py", "tests/test_req_002.py"}
    (res,) = j.run("implementation-done", created=scaffold_tests, rc=1)
    j.show("tests/test_req_001.py")
    rc, st = status(ws)
    phases = phase_statuses(st)
    assert phases["implementation"] == "completed"
    assert set(gate_checks(st, "implementation").values()) == {True}  # no stub, ruff-clean
    assert phases["testing"] in WAITING and phases["deployment"] == "pending"
    for rid, rel in (("REQ-001", "tests/test_req_001.py"), ("REQ-002", "tests/test_req_002.py")):
        text = (ws / rel).read_text()
        assert f'@pytest.mark.req("{rid}")' in text and "pytest.fail(" in text
        assert re.search(rf"{re.escape(rel)}:\d+:\d+: TEST-PYTEST .*{rid} not tested", output(res))
    checks = gate_checks(st, "testing")
    assert checks["TEST-EXISTS"] and checks["TEST-TRACE"] and not checks["TEST-PYTEST"]
    assert files_written_by_personas(st, "testing") == scaffold_tests

    # 5. a person writes real tests: Testing passes (tests pass, coverage >= 80%, every id
    # tested) and the deployment scaffold completes the last phase
    j.write("tests/test_req_001.py")
    j.write("tests/test_req_002.py")
    shipped = {
        "pyproject.toml",
        "Dockerfile",
        ".dockerignore",
        ".github/workflows/ci.yml",
        "CHANGELOG.md",
        "README.md",
    }
    (res,) = j.run("testing-done", created=shipped, rc=0)
    assert "completed" in output(res)
    dockerfile = (ws / "Dockerfile").read_text()
    assert "USER " in dockerfile and ":latest" not in dockerfile
    readme = (ws / "README.md").read_text()
    assert "## Installation" in readme and "## Usage" in readme

    rc, st = status(ws)
    assert rc == 0 and st["session"]["status"] == "completed"
    assert phase_statuses(st) == dict.fromkeys(PHASES, "completed")
    assert set(gate_checks(st, "testing").values()) == {True}
    assert set(gate_checks(st, "deployment").values()) == {True}
    assert files_written_by_personas(st, "deployment") == shipped

    # 6. status and the report, whose numbers are the checkpoint's
    j.run("report", created=set(), rc=0)
    rep = pg(ws, "report", "--format", "json", "--output", "-")
    assert rep.returncode == 0, output(rep)
    report = json.loads(rep.stdout)
    session = st["session"]
    assert report["session"]["id"] == session["id"]
    assert report["session"]["status"] == "completed"
    assert report["totals"]["phases"] == report["totals"]["phases_completed"] == 5
    assert report["totals"]["iterations"] == session["global_iterations"]
    assert report["totals"]["open_findings"] == 0
    by_name = {p["name"]: p for p in report["phases"]}
    persona_iterations = 0
    for ps in session["phases"]:
        rp = by_name[ps["name"]]
        assert rp["status"] == ps["status"] == "completed"
        assert [i["number"] for i in rp["iterations"]] == [i["number"] for i in ps["iterations"]]
        assert [i["score"] for i in rp["iterations"]] == [i["score"] for i in ps["iterations"]]
        worked = sum(1 for i in ps["iterations"] if i["number"] > 0)
        assert rp["persona_iterations"] == worked >= 1  # every phase's scaffold ran
        assert rp["last_score"] == ps["last_score"] == 1.0
        persona_iterations += worked
    assert persona_iterations == session["global_iterations"]
    trace = {row["id"]: row for row in report["traceability"]["rows"]}
    assert set(trace) == {"REQ-001", "REQ-002"}
    assert trace["REQ-001"]["code"] == ["taskboard/req_001.py"]
    assert trace["REQ-002"]["code"] == ["taskboard/req_002.py"]
    for row in trace.values():  # designed, implemented and tested, with no gap
        assert row["design"] and row["tests"] and not row["gaps"], row
    j.report("totals", report["totals"])
    j.report("traceability:REQ-001", trace["REQ-001"])

    j.finish()


# -- the implementation gate's two calibrations the journey depends on ------------------


def test_implementation_gate_needs_code_that_is_more_than_stubs(tmp_path: Path) -> None:
    """No source at all fails (IMPL-SYNTAX, blocking), so the scaffold gets to run; a
    package of the scaffold's stubs stays under the first threshold; real code passes."""
    config = Config()

    def gate() -> tuple[float, bool, dict[str, float]]:
        g = GateRunner(Workspace(tmp_path), config).evaluate("implementation", config.threshold(1))
        return g.score, g.passed, {c.id: c.score for c in g.checks if c.skipped is None}

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/requirements.md").write_text("# Requirements\n")
    score, passed, checks = gate()
    assert not passed and checks["IMPL-SYNTAX"] == 0.0

    pkg = tmp_path / "taskboard"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""Tasks."""\n\n__version__ = "0.1.0"\n')
    stub = '"""{0}."""\n\n\ndef {0}() -> None:\n    """{0}."""\n    raise NotImplementedError\n'
    for name in ("users", "tasks"):
        (pkg / f"req_{name}.py").write_text(stub.format(name))
    score, passed, checks = gate()
    assert checks["IMPL-SYNTAX"] == 1.0 and checks["IMPL-STUB"] == 0.0  # __init__ not counted
    assert not passed and score < config.threshold(1)

    (pkg / "req_users.py").write_text(tutorial_file("taskboard/req_001.py"))
    tasks = tutorial_file("taskboard/req_002.py")
    (pkg / "req_tasks.py").write_text(tasks.replace("taskboard.req_001", "taskboard.req_users"))
    score, passed, checks = gate()
    assert passed and score == 1.0, checks


if __name__ == "__main__":  # python tests/test_journey.py --write: rewrite the tutorial
    import pytest

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_journey.py --write")
    os.environ[WRITE_ENV] = "1"
    sys.exit(pytest.main([__file__, "-q", "-k", "test_empty_folder_to_completed_session"]))
