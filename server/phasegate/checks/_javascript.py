"""What the JavaScript/TypeScript checks share: the workspace's Node projects and tools.

A *Node project* is a folder of the workspace holding a ``package.json`` (the root, and
sub-projects such as ``frontend/`` or ``packages/api/``; ``node_modules`` is never
looked into). The checks IMPL-JSLINT, IMPL-TSC, TEST-JSTESTS and TEST-JSCOVERAGE judge
each project with its own tools, as its own scripts would:

* **Which program.** The project's own, from ``node_modules/.bin`` of its folder or of a
  folder above it inside the workspace (npm, yarn and pnpm workspaces hoist them to the
  root) — never a global install and never an ``npx`` download. These programs are files
  of the workspace, so every one of these checks runs workspace code: skipped in an
  untrusted workspace.
* **Not installed.** A tool the project declares in ``package.json`` (or configures) whose
  program is missing from ``node_modules/.bin`` means the dependencies were not
  installed: the check *could not run* and says which install command to run (``npm ci``
  for a ``package-lock.json``…) — never a pass. A tool the project neither declares nor
  configures is *not applicable*.
* **No Node.js.** ``node`` missing from ``PATH``: the check could not run.

Nothing is written in the workspace: reports go to a per-run folder under
``.phasegate/tmp/``, removed afterwards, and the tools' caches are switched off where they
would write into the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phasegate.workspace import Workspace

# Source files of JavaScript and TypeScript, as globs (the workspace index ignores
# node_modules, build and dist).
JS_SOURCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
TS_SOURCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
JS_SOURCE_GLOBS = [f"*{s}" for s in JS_SOURCE_SUFFIXES]
# A change to these means the project's tools or dependencies changed.
PACKAGE_FILES = [
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
]
# Where JavaScript test runners find tests by default (vitest, jest): what is a test file
# rather than a source file, for coverage.
JS_TEST_GLOBS = [
    "*.test.ts",
    "*.test.tsx",
    "*.test.mts",
    "*.test.cts",
    "*.test.js",
    "*.test.jsx",
    "*.test.mjs",
    "*.test.cjs",
    "*.spec.ts",
    "*.spec.tsx",
    "*.spec.mts",
    "*.spec.cts",
    "*.spec.js",
    "*.spec.jsx",
    "*.spec.mjs",
    "*.spec.cjs",
    "**/__tests__/**",
    "**/__mocks__/**",
]
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
# The install command of each lock file, in the order package managers prefer them.
INSTALL_COMMANDS = (
    ("package-lock.json", "npm ci"),
    ("npm-shrinkwrap.json", "npm ci"),
    ("pnpm-lock.yaml", "pnpm install --frozen-lockfile"),
    ("yarn.lock", "yarn install --frozen-lockfile"),
    ("bun.lock", "bun install --frozen-lockfile"),
    ("bun.lockb", "bun install --frozen-lockfile"),
)
NO_COLOR_ENV = {"CI": "1", "FORCE_COLOR": "0", "NO_COLOR": "1", "NODE_DISABLE_COLORS": "1"}


@dataclass
class NodeProject:
    """A folder with a ``package.json``: ``dir`` is workspace-relative ("" = the root)."""

    workspace: Workspace
    dir: str
    package: dict[str, Any] = field(default_factory=dict)
    package_error: str | None = None  # package.json unreadable: why

    @property
    def path(self) -> Path:
        return self.workspace.root / self.dir if self.dir else self.workspace.root

    def rel(self, name: str) -> str:
        """Workspace-relative path of ``name`` inside this project."""
        return f"{self.dir}/{name}" if self.dir else name

    @property
    def label(self) -> str:
        """How messages name the project: its folder, or "the workspace root"."""
        return f"{self.dir}/" if self.dir else "the workspace root"

    @property
    def scripts(self) -> dict[str, str]:
        scripts = self.package.get("scripts")
        if not isinstance(scripts, dict):
            return {}
        return {str(k): v for k, v in scripts.items() if isinstance(v, str)}

    def declares(self, name: str) -> bool:
        """Whether ``package.json`` lists ``name`` among its dependencies (any kind)."""
        for key in DEPENDENCY_FIELDS:
            deps = self.package.get(key)
            if isinstance(deps, dict) and name in deps:
                return True
        return False

    def has_file(self, name: str) -> bool:
        return (self.path / name).is_file()

    def first_file(self, names: tuple[str, ...] | list[str]) -> str | None:
        """The first of ``names`` that exists in the project folder (its name)."""
        for name in names:
            if self.has_file(name):
                return name
        return None

    def ancestors(self) -> Iterator[Path]:
        """The project folder, then each folder above it up to the workspace root."""
        root = self.workspace.root
        here = self.path
        while True:
            yield here
            if here == root or root not in here.parents:
                return
            here = here.parent

    def bin(self, program: str) -> str | None:
        """``node_modules/.bin/<program>`` of this project or of a folder above it inside
        the workspace; None when not installed. Never a global program."""
        for folder in self.ancestors():
            cand = folder / "node_modules" / ".bin" / program
            if cand.is_file() and os.access(cand, os.X_OK):
                return str(cand)
        return None

    def package_dir(self, name: str) -> Path | None:
        """Where the installed package ``name`` lives (``node_modules/<name>``, looked for
        as Node resolves it from the project folder), or None."""
        for folder in self.ancestors():
            cand = folder / "node_modules" / name
            if (cand / "package.json").is_file():
                return cand
        return None

    def package_version(self, name: str) -> str | None:
        """The installed version of package ``name`` (its ``package.json``), or None."""
        where = self.package_dir(name)
        if where is None:
            return None
        data = read_json(where / "package.json")
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if isinstance(version, str) else None

    def install_hint(self) -> str:
        """``npm ci in frontend/`` — the command that installs this project's dependencies,
        from the lock file found in its folder or above it."""
        for folder in self.ancestors():
            for lock, command in INSTALL_COMMANDS:
                if (folder / lock).is_file():
                    rel = self.workspace.relpath(folder) if folder != self.workspace.root else ""
                    where = f"{rel}/" if rel and rel != "." else "the workspace root"
                    return f"`{command}` in {where}"
        return f"`npm install` in {self.label}"

    def not_installed(self, tool: str, why: str) -> str:
        """The *could not run* message of a tool the project wants but has not installed."""
        return (
            f"{tool} is not installed in {self.label} ({why}, and node_modules/.bin/{tool} "
            f"is missing): install the project's dependencies ({self.install_hint()}), "
            "then validate again"
        )


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None


def node_projects(workspace: Workspace) -> list[NodeProject]:
    """Every folder of the workspace holding a ``package.json``, shallowest first."""
    files = workspace.glob(["package.json"])
    out: list[NodeProject] = []
    for rel in sorted(files, key=lambda p: (p.count("/"), p)):
        folder = rel.rpartition("/")[0]
        text = workspace.read_text(rel)
        data: Any = None
        error: str | None = None
        if text is None:
            error = "unreadable"
        else:
            try:
                data = json.loads(text.lstrip("\ufeff"))
            except ValueError as exc:
                error = f"not valid JSON: {exc}"
        if data is not None and not isinstance(data, dict):
            error, data = "not a JSON object", None
        out.append(NodeProject(workspace, folder, data or {}, error))
    return out


def nested_dirs(project: NodeProject, others: list[NodeProject]) -> list[str]:
    """The folders of ``others`` inside ``project``, relative to the project folder."""
    prefix = f"{project.dir}/" if project.dir else ""
    out = []
    for other in others:
        if other.dir and other.dir != project.dir and other.dir.startswith(prefix):
            out.append(other.dir[len(prefix) :])
    return out


def node_error() -> str | None:
    """Why Node.js programs cannot run here (``node`` is not on PATH), or None."""
    if shutil.which("node") is None:
        return (
            "Node.js is not installed (no `node` on PATH): the project's JavaScript tools "
            "need it; install Node.js, then validate again"
        )
    return None


def no_projects_reason() -> str:
    return "no package.json in this workspace: it has no JavaScript/TypeScript project"


# -- the project's own scripts ---------------------------------------------------------
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
_RUNNERS = {"npx", "pnpx", "bunx"}
_RUN_SCRIPT = {"npm": ("run", "run-script"), "pnpm": ("run",), "yarn": ("run",), "bun": ("run",)}


def script_invocation(
    project: NodeProject, programs: tuple[str, ...], preferred: tuple[str, ...]
) -> list[str] | None:
    """The arguments the project's own scripts give one of ``programs``: the first
    script of ``preferred`` (then any script) with a command ``<program> <args>``, its
    ``<args>`` as written (``eslint src tests --ext .ts`` -> ``["src", "tests", "--ext",
    ".ts"]``). A script that runs another script (``npm run lint:js``) is followed once.
    None when no script runs any of ``programs``."""
    scripts = project.scripts
    order = [n for n in preferred if n in scripts] + [n for n in scripts if n not in preferred]
    for name in order:
        found = _in_script(scripts, scripts[name], programs, depth=0)
        if found is not None:
            return found
    return None


def _in_script(
    scripts: dict[str, str], text: str, programs: tuple[str, ...], depth: int
) -> list[str] | None:
    for segment in _SEPARATORS.split(text):
        try:
            words = shlex.split(segment)
        except ValueError:
            continue
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # FOO=1 eslint .
        if words and words[0] in _RUNNERS:  # npx eslint . (never run so: read only)
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[1:]
        if len(words) >= 2 and words[0] in ("pnpm", "yarn") and words[1] == "exec":
            words = words[2:]
        if not words:
            continue
        if os.path.basename(words[0]) in programs:
            return words[1:]
        runs = _RUN_SCRIPT.get(words[0])
        if runs is not None and depth == 0 and len(words) >= 2:
            target = words[2] if words[1] in runs and len(words) >= 3 else words[1]
            if target in scripts:
                found = _in_script(scripts, scripts[target], programs, depth + 1)
                if found is not None:
                    return found
    return None


@dataclass
class ScriptArgs:
    """A tool's arguments from the project's script, sorted: what may be passed on."""

    paths: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # options read, not passed on


def sort_script_args(
    project: NodeProject,
    words: list[str],
    keep_with_value: frozenset[str],
    keep_flags: frozenset[str],
    read_with_value: frozenset[str] = frozenset(),
    drop_with_value: frozenset[str] = frozenset(),
) -> ScriptArgs:
    """Split a script's arguments: options in ``keep_*`` are passed on; those in
    ``read_with_value`` are only read (``--max-warnings 0``); anything else that starts
    with ``-`` is left out (output format, fixing, caching: phasegate chooses those), its
    value too when it is in ``drop_with_value``; the other words are paths or globs, kept
    when they exist in the project or are patterns."""
    out = ScriptArgs()
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if word.startswith("-") and word != "-":
            takes = name in keep_with_value or name in read_with_value or name in drop_with_value
            if takes and not eq:
                value = words[i + 1] if i + 1 < len(words) else ""
                i += 1
            if name in keep_with_value:
                out.options += [name, value]
            elif name in keep_flags and not eq:
                out.options.append(name)
            elif name in read_with_value:
                out.seen[name] = value
            i += 1
            continue
        if any(c in word for c in "*?[{") or (project.path / word).exists():
            out.paths.append(word)
        i += 1
    return out


# -- a run's temporary folder ----------------------------------------------------------
@contextlib.contextmanager
def run_folder(workspace: Workspace, what: str) -> Iterator[Path]:
    """A fresh folder under ``.phasegate/tmp/`` for one run's reports, removed after."""
    tmp = workspace.state_dir / "tmp" / f"{what}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            (workspace.state_dir / "tmp").rmdir()  # only when empty


# -- positions -------------------------------------------------------------------------
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class TextPositions:
    """Offsets in a file's text (UTF-16 code units, as JavaScript tools count them) ->
    0-based LSP line/character."""

    def __init__(self, text: str) -> None:
        self.text = text[1:] if text.startswith("\ufeff") else text  # tools drop the BOM
        self._starts: list[int] | None = None  # UTF-16 offset of each line's start

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            pos = 0
            last = 0
            for m in _LINE_BREAK.finditer(self.text):
                pos += utf16_len(self.text[last : m.end()])
                last = m.end()
                starts.append(pos)
            self._starts = starts
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        starts = self._line_starts()
        line = max(0, bisect.bisect_right(starts, max(0, offset)) - 1)
        return line, max(0, offset - starts[line])


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def version_label(tool: str, version: str | None) -> str:
    return f"{tool} {version}" if version else tool


# -- the Node.js the project supports (package.json "engines") -----------------------------
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?$")
_COMPARATOR = re.compile(r"^(<=|>=|<|>|=|\^|~)?\s*(.+)$")
_node_version: tuple[int, int, int] | None = None


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION.match(text.strip())
    if m is None:
        return None
    parts = [int(p) if p and p.isdigit() else 0 for p in m.groups()]
    return parts[0], parts[1], parts[2]


def _partial(text: str) -> tuple[list[int], int] | None:
    """``20`` -> ([20, 0, 0], 1 given part); ``20.x`` -> ([20, 0, 0], 1); None if invalid."""
    m = _VERSION.match(text.strip())
    if m is None:
        return None
    given = 0
    out: list[int] = []
    for p in m.groups():
        if p is not None and p.isdigit() and given == len(out):
            given += 1
        out.append(int(p) if p and p.isdigit() else 0)
    return out, given


def _bump(parts: list[int], given: int) -> tuple[int, int, int]:
    """The first version above the partial one: 20 -> 21.0.0, 20.1 -> 20.2.0."""
    if given <= 0:
        return (10**9, 0, 0)
    bumped = [*parts[:given], 0, 0, 0][:3]
    bumped[given - 1] += 1
    return bumped[0], bumped[1], bumped[2]


def _comparators(text: str) -> list[tuple[str, tuple[int, int, int]]] | None:
    """One ``||`` alternative of an npm range as ``(operator, version)`` pairs."""
    text = text.strip()
    if text in ("", "*", "x", "X"):
        return []
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        lo, hi = _partial(hyphen.group(1)), _partial(hyphen.group(2))
        if lo is None or hi is None:
            return None
        upper = [("<", _bump(*hi))] if hi[1] < 3 else [("<=", (hi[0][0], hi[0][1], hi[0][2]))]
        return [(">=", (lo[0][0], lo[0][1], lo[0][2])), *upper]
    out: list[tuple[str, tuple[int, int, int]]] = []
    for word in re.sub(r"(<=|>=|<|>|=|\^|~)\s+", r"\1", text).split():
        m = _COMPARATOR.match(word)
        if m is None:
            return None
        op, raw = m.group(1) or "", m.group(2)
        got = _partial(raw)
        if got is None:
            return None
        parts, given = got
        v = (parts[0], parts[1], parts[2])
        if op == "^":
            if given == 0:
                continue
            first = next((i for i, n in enumerate(parts[:given]) if n), given - 1)
            out += [(">=", v), ("<", _bump(parts, first + 1))]
        elif op == "~":
            out += [(">=", v), ("<", _bump(parts, min(given, 2) if given > 1 else 1))]
        elif op in ("", "=") and given < 3:
            if given:
                out += [(">=", v), ("<", _bump(parts, given))]
        elif op == ">" and given < 3:
            out.append((">=", _bump(parts, given)))
        elif op == "<=" and given < 3:
            out.append(("<", _bump(parts, given)))
        else:
            out.append((op or "=", v))
    return out


def satisfies(version: tuple[int, int, int], spec: str) -> bool | None:
    """Whether ``version`` is in the npm range ``spec`` (``>=18``, ``^20 || >=22``,
    ``18.x``, ``16 - 20``); None when the range cannot be read."""
    checks = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "=": lambda a, b: a == b,
    }
    readable = False
    for alternative in spec.split("||"):
        comps = _comparators(alternative)
        if comps is None:
            continue
        readable = True
        if all(checks[op](version, v) for op, v in comps):
            return True
    return False if readable else None


def node_version() -> tuple[int, int, int] | None:
    """The version of ``node`` on PATH (asked once per process)."""
    global _node_version
    if _node_version is None:
        from phasegate.proc import run_tool

        node = shutil.which("node")
        if node is None:
            return None
        res = run_tool([node, "--version"], cwd=Path.cwd(), timeout=30.0)
        _node_version = parse_version(res.stdout.strip()) if res.ok else None
    return _node_version


def engines_error(project: NodeProject) -> str | None:
    """Why a run of the project's code here may not say anything about it: ``engines.node``
    of its package.json excludes the installed Node.js. None when it does not (or says
    nothing the range syntax can read)."""
    engines = project.package.get("engines")
    spec = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(spec, str) or not spec.strip():
        return None
    version = node_version()
    if version is None or satisfies(version, spec) is not False:
        return None
    shown = ".".join(str(n) for n in version)
    return (
        f"{project.label} requires Node.js {spec.strip()} (package.json `engines`) and node "
        f"is {shown}: run phasegate with a Node.js the project supports (nvm, .nvmrc)"
    )
