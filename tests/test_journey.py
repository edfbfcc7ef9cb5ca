"""The whole journey of a new user, from an empty folder to a completed session.

The real CLI (``python -m phasegate``) runs on an empty folder with the built-in default
pipeline (no ``phasegate.toml``); the workspace's tests run with a real interpreter that
has pytest and coverage. The scaffold personas write each phase's starting artifacts;
"a person" (this test) completes each document, the code and the tests by hand, and
``phasegate resume`` moves the session on, one phase at a time. At every step the test
checks the exit code, exactly which files phasegate created, that it changed no file
that already existed (in particular none the person wrote), and what ``status`` says.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phasegate.config import Config
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

REQUIREMENT = "Create a task management system with users and due dates"
PHASES = ["requirements", "design", "implementation", "testing", "deployment"]
WAITING = {"stalled", "blocked"}
IGNORED_PARTS = {".phasegate", "__pycache__"}


# -- the terminal ------------------------------------------------------------------------


def pg(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m phasegate ARGS`` as typed in a terminal. ``python3`` on PATH (what
    phasegate runs the workspace's tests with, as it has no ``.venv``) is this
    interpreter's, which has pytest and coverage."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "200"
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=ws.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def output(res: subprocess.CompletedProcess[str]) -> str:
    return res.stdout + res.stderr


def status(ws: Path) -> tuple[int, dict[str, Any]]:
    res = pg(ws, "status", "--workspace", str(ws), "--format", "json")
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


class Person:
    """Writes files by hand and remembers their hashes."""

    def __init__(self, ws: Path) -> None:
        self.ws = ws
        self.wrote: dict[str, str] = {}

    def write(self, rel: str, text: str) -> None:
        path = self.ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.wrote[rel] = hashlib.sha256(text.encode()).hexdigest()

    def edit(self, rel: str, change: Callable[[str], str]) -> str:
        text = change((self.ws / rel).read_text(encoding="utf-8"))
        self.write(rel, text)
        return text


def step(
    ws: Path, person: Person, *args: str, created: set[str], rc: int
) -> subprocess.CompletedProcess[str]:
    """Run phasegate; check its exit code, that it created exactly ``created``, and that
    it changed no file that existed before (none of the person's, none of its own)."""
    before = snapshot(ws)
    res = pg(ws, *args)
    after = snapshot(ws)
    assert res.returncode == rc, output(res)
    assert set(after) - set(before) == created, output(res)
    assert not set(before) - set(after), "files disappeared"
    changed = {p for p in before if before[p] != after[p]}
    assert not changed, f"phasegate changed existing files: {changed}"
    for rel, digest in person.wrote.items():
        assert after[rel] == digest, f"{rel}, written by a person, was changed"
    return res


def fill_todos(text: str, answers: dict[str, str]) -> str:
    """Replace each placeholder line with the answer for the heading it sits under
    (headings are matched by prefix); every answer must be used, no TODO may remain."""
    heading = ""
    used: set[str] = set()
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if "TODO" in line:
            key = next(k for k in answers if heading.startswith(k))
            used.add(key)
            line = answers[key]
        out.append(line)
    assert used == set(answers), set(answers) - used
    filled = "\n".join(out) + "\n"
    assert "TODO" not in filled
    return filled


# -- what the person writes --------------------------------------------------------------

REQ_002 = """\
### REQ-002: Tasks with due dates

A user adds tasks, each with a title and a due date, and lists the tasks that are overdue.

Acceptance criteria:

- Given a registered user, when they add a task with a due date, then it is listed for them.
- Given tasks with due dates, when the user lists them, then they are ordered by due date.
- Given a date, when the user asks for overdue tasks, then only open tasks due before it
  are listed.
"""


def complete_requirements(text: str) -> str:
    text = re.sub(r"^# Requirements: .*$", "# Requirements: Task board", text, count=1, flags=re.M)
    text = re.sub(r"^### REQ-001: .*$", "### REQ-001: Users", text, count=1, flags=re.M)
    text = re.sub(
        r"(### REQ-001: Users\n\n).*?\n",
        r"\1A user registers with a unique name and can be looked up by that name.\n",
        text,
        count=1,
    )
    text = fill_todos(
        text,
        {
            "REQ-001": "- Given a new name, when a user registers, then the user can be looked"
            " up by name.\n- Given a name already taken, when a user registers with it, then"
            " registration is refused.",
            "Non-functional": "- Listing 1000 tasks takes under 100 ms.\n"
            "- Nothing is stored outside the process.",
        },
    )
    return text.replace(
        "## Non-functional requirements", REQ_002 + "\n## Non-functional requirements"
    )


DESIGN_ANSWERS = {
    "Design": "An in-memory task manager: a user registry and the users' tasks, as a small"
    " Python API.",
    "Architecture": "One Python package; callers use its classes directly, and all state lives"
    " in the objects the caller creates.",
    "Components": "Two modules, one per requirement.",
    "REQ-001": "`taskboard.req_001.Users` registers users and refuses a name already taken.",
    "REQ-002": "`taskboard.req_002.Tasks` adds tasks, lists them by due date and finds the"
    " overdue ones.",
    "Data model": "A user is a name; a task has an owner, a title, a due date and a done flag.",
    "Interfaces": "`Users.register(name)`, `Users.lookup(name)`, `Tasks.add_task(owner, title,"
    " due)`, `Tasks.tasks_for(owner)`, `Tasks.overdue(owner, today)`; a blank, taken or"
    " unknown name raises `ValueError`.",
    "Risks": "Names come from callers: blank names are refused, so no anonymous user exists.",
}

USERS_PY = '''\
"""REQ-001: Users, a registry of users by unique name."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class User:
    """A registered user."""

    name: str


@dataclass
class Users:
    """The users of the system, by name."""

    _by_name: dict[str, User] = field(default_factory=dict)

    def register(self, name: str) -> User:
        """Register ``name``; a blank or taken name raises ``ValueError``."""
        name = name.strip()
        if not name:
            raise ValueError("a user needs a name")
        if name in self._by_name:
            raise ValueError(f"the name {name!r} is taken")
        user = User(name)
        self._by_name[name] = user
        return user

    def lookup(self, name: str) -> User:
        """The user called ``name``; an unknown name raises ``ValueError``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"no user called {name!r}") from None
'''

TASKS_PY = '''\
"""REQ-002: Tasks with due dates, each user's tasks ordered by due date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from taskboard.req_001 import Users


@dataclass
class Task:
    """A task of one user."""

    owner: str
    title: str
    due: date
    done: bool = False


@dataclass
class Tasks:
    """The tasks of the registered users."""

    users: Users
    _tasks: list[Task] = field(default_factory=list)

    def add_task(self, owner: str, title: str, due: date) -> Task:
        """Add a task for a registered ``owner``; a blank title raises ``ValueError``."""
        self.users.lookup(owner)
        if not title.strip():
            raise ValueError("a task needs a title")
        task = Task(owner, title.strip(), due)
        self._tasks.append(task)
        return task

    def tasks_for(self, owner: str) -> list[Task]:
        """The tasks of ``owner``, the earliest due first."""
        return sorted((t for t in self._tasks if t.owner == owner), key=lambda t: t.due)

    def overdue(self, owner: str, today: date) -> list[Task]:
        """The open tasks of ``owner`` due before ``today``."""
        return [t for t in self.tasks_for(owner) if not t.done and t.due < today]
'''

TEST_USERS_PY = '''\
"""Tests for REQ-001: Users."""

import pytest

from taskboard.req_001 import User, Users


@pytest.mark.req("REQ-001")
def test_a_registered_user_can_be_looked_up() -> None:
    users = Users()
    assert users.register(" ada ") == User("ada")
    assert users.lookup("ada") == User("ada")


@pytest.mark.req("REQ-001")
def test_a_taken_blank_or_unknown_name_is_refused() -> None:
    users = Users()
    users.register("ada")
    with pytest.raises(ValueError, match="taken"):
        users.register("ada")
    with pytest.raises(ValueError, match="needs a name"):
        users.register("   ")
    with pytest.raises(ValueError, match="no user"):
        users.lookup("bob")
'''

TEST_TASKS_PY = '''\
"""Tests for REQ-002: Tasks with due dates."""

from datetime import date

import pytest

from taskboard.req_001 import Users
from taskboard.req_002 import Tasks


@pytest.fixture
def tasks() -> Tasks:
    users = Users()
    users.register("ada")
    users.register("bob")
    return Tasks(users)


@pytest.mark.req("REQ-002")
def test_tasks_are_listed_by_due_date(tasks: Tasks) -> None:
    tasks.add_task("ada", "write report", date(2025, 3, 2))
    tasks.add_task("ada", "book train", date(2025, 3, 1))
    tasks.add_task("bob", "not ada's", date(2025, 1, 1))
    assert [t.title for t in tasks.tasks_for("ada")] == ["book train", "write report"]


@pytest.mark.req("REQ-002")
def test_overdue_lists_only_open_tasks_due_before_the_date(tasks: Tasks) -> None:
    late = tasks.add_task("ada", "late", date(2025, 1, 1))
    tasks.add_task("ada", "done", date(2025, 1, 2)).done = True
    tasks.add_task("ada", "later", date(2025, 6, 1))
    assert tasks.overdue("ada", date(2025, 2, 1)) == [late]


@pytest.mark.req("REQ-002")
def test_a_task_needs_a_registered_owner_and_a_title(tasks: Tasks) -> None:
    with pytest.raises(ValueError, match="no user"):
        tasks.add_task("eve", "x", date(2025, 1, 1))
    with pytest.raises(ValueError, match="title"):
        tasks.add_task("ada", " ", date(2025, 1, 1))
'''


# -- the journey -------------------------------------------------------------------------


def test_empty_folder_to_completed_session(tmp_path: Path) -> None:
    ws = tmp_path / "taskboard"
    ws.mkdir()
    person = Person(ws)
    w = ("--workspace", str(ws))

    # 1. run: the requirements scaffold, whose placeholders fail the gate
    res = step(
        ws, person, "run", "--requirement", REQUIREMENT, *w, created={"docs/requirements.md"}, rc=1
    )
    reqs = (ws / "docs/requirements.md").read_text()
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
    person.edit("docs/requirements.md", complete_requirements)
    step(ws, person, "resume", *w, created={"docs/design.md"}, rc=1)
    rc, st = status(ws)
    phases = phase_statuses(st)
    assert phases["requirements"] == "completed"
    assert phases["design"] in WAITING and st["session"]["current_phase"] == "design"
    assert all(phases[p] == "pending" for p in PHASES[2:])
    design = (ws / "docs/design.md").read_text()
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
    person.edit("docs/design.md", lambda t: fill_todos(t, DESIGN_ANSWERS))
    package = {"taskboard/__init__.py", "taskboard/req_001.py", "taskboard/req_002.py"}
    res = step(ws, person, "resume", *w, created=package, rc=1)
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
    person.write("taskboard/req_001.py", USERS_PY)
    person.write("taskboard/req_002.py", TASKS_PY)
    scaffold_tests = {"conftest.py", "tests/test_req_001.py", "tests/test_req_002.py"}
    res = step(ws, person, "resume", *w, created=scaffold_tests, rc=1)
    rc, st = status(ws)
    phases = phase_statuses(st)
    assert phases["implementation"] == "completed"
    assert set(gate_checks(st, "implementation").values()) == {True}  # no stub, ruff-clean
    assert phases["testing"] in WAITING and phases["deployment"] == "pending"
    for rid, rel in (("REQ-001", "tests/test_req_001.py"), ("REQ-002", "tests/test_req_002.py")):
        text = (ws / rel).read_text()
        assert f"@pytest.mark.req({rid!r})" in text and "pytest.fail(" in text
        assert re.search(rf"{re.escape(rel)}:\d+:\d+: TEST-PYTEST .*{rid} not tested", output(res))
    checks = gate_checks(st, "testing")
    assert checks["TEST-EXISTS"] and checks["TEST-TRACE"] and not checks["TEST-PYTEST"]
    assert files_written_by_personas(st, "testing") == scaffold_tests

    # 5. a person writes real tests: Testing passes (tests pass, coverage >= 80%, every id
    # tested) and the deployment scaffold completes the last phase
    person.write("tests/test_req_001.py", TEST_USERS_PY)
    person.write("tests/test_req_002.py", TEST_TASKS_PY)
    shipped = {
        "pyproject.toml",
        "Dockerfile",
        ".dockerignore",
        ".github/workflows/ci.yml",
        "CHANGELOG.md",
        "README.md",
    }
    res = step(ws, person, "resume", *w, created=shipped, rc=0)
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

    # the report's numbers are the checkpoint's
    rep = pg(ws, "report", *w, "--format", "json", "--output", "-")
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

    (pkg / "req_users.py").write_text(USERS_PY)
    (pkg / "req_tasks.py").write_text(TASKS_PY.replace("taskboard.req_001", "taskboard.req_users"))
    score, passed, checks = gate()
    assert passed and score == 1.0, checks
