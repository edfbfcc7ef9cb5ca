"""Offline scaffolds for the implementation, testing and deployment phases.

Deterministic (the same workspace gives the same files), offline, and never overwriting
what a person wrote: a file that exists is left alone (the one exception, a README
without install or usage sections, gets those sections appended — its text is kept as
it was, and the previous version is backed up).

* **Implementation** — only when the workspace has no source file yet: a package named
  after the project with one module per requirement, each holding a documented function
  that raises ``NotImplementedError``. IMPL-STUB reports these on purpose: they are a
  starting point that a person or an agent completes, not an implementation.
* **Testing** — one test module per requirement id no test references yet
  (``tests/test_req_001.py``), marked ``@pytest.mark.req("REQ-001")``, that FAILS with
  ``pytest.fail("REQ-001 not tested yet: ...")`` until a real test replaces it; plus a
  ``conftest.py`` registering the ``req`` marker when nothing registers it.
* **Deployment** — fitted to the project: with ``pyproject.toml`` (or Python sources) a
  Python ``Dockerfile`` (pinned base image, non-root ``USER``, ``EXPOSE`` and
  ``HEALTHCHECK`` only for a web service), ``.dockerignore``, a GitHub Actions workflow
  (ruff + pytest), ``CHANGELOG.md`` and README install/usage sections; with
  ``package.json`` the Node equivalents (``npm ci``, ``npm test``).
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phasegate.workspace import matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

from phasegate.personas.base import PersonaContext, PersonaResult, PersonaTask

if TYPE_CHECKING:
    from phasegate.documents import Requirement
    from phasegate.workspace import Workspace

PYTHON_IMAGE = "python:3.12.8-slim-bookworm"
NODE_IMAGE = "node:20.18.1-bookworm-slim"
PY_SERVICES = {
    "fastapi": "uvicorn",
    "starlette": "uvicorn",
    "uvicorn": "uvicorn",
    "flask": "gunicorn",
    "django": "gunicorn",
    "gunicorn": "gunicorn",
    "aiohttp": "aiohttp",
}
NODE_SERVICES = ("express", "fastify", "koa", "@hapi/hapi", "next", "@nestjs/core")
CI_FILES = (
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    ".travis.yml",
    "bitbucket-pipelines.yml",
    "Jenkinsfile",
)
_INSTALL_RE = re.compile(
    r"^\s{0,3}#{1,6}\s*(installation|installing|install|setup|getting started|quick ?start)\b",
    re.I | re.M,
)
_USAGE_RE = re.compile(
    r"^\s{0,3}#{1,6}\s*(usage|examples?|how to use|getting started|quick ?start)\b", re.I | re.M
)


@dataclass
class ScaffoldOutcome:
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = []
        if self.written:
            parts.append("wrote " + ", ".join(self.written))
        parts += self.notes
        return "; ".join(parts) or "nothing to scaffold"


# -- project facts ---------------------------------------------------------------------------


def _read_toml(ws: Workspace, rel: str) -> dict[str, Any]:
    text = ws.read_text(rel)
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _read_json(ws: Workspace, rel: str) -> dict[str, Any]:
    text = ws.read_text(rel)
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def package_name(name: str) -> str:
    """A Python package name from a project name: ``My-App 2`` -> ``my_app_2``."""
    ident = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "app"
    if ident[0].isdigit():
        ident = f"p_{ident}"
    if keyword.iskeyword(ident) or ident in ("test", "tests", "src", "docs"):
        ident += "_pkg"
    return ident


def project_name(ws: Workspace) -> str:
    pyproject = _read_toml(ws, "pyproject.toml")
    name = pyproject.get("project", {}).get("name") or pyproject.get("tool", {}).get(
        "poetry", {}
    ).get("name")
    if not name:
        name = _read_json(ws, "package.json").get("name")
    return str(name or ws.root.name)


def _slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()[:limit].strip("_")
    return s


def _module_name(rid: str) -> str:
    return _slug(rid, 64) or "req"


def _requirements(ws: Workspace, config: Any) -> list[Requirement]:
    from phasegate.documents import load_requirements

    seen: set[str] = set()
    out = []
    for r in load_requirements(ws, config):
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out


def _literal(text: str) -> str:
    """``text`` as a Python string literal in the quotes ruff format and black choose:
    double, unless that would need more escapes (the scaffold is left as formatted)."""
    lit = repr(text)
    if lit.startswith("'") and '"' not in text:
        return f'"{lit[1:-1]}"'
    return lit


def _call(head: str, arg: str, limit: int = 88) -> str:
    """``head(arg)`` as a line, or split as ruff format splits it past its default 88
    columns."""
    line = f"{head}({arg})"
    if len(line) <= limit:
        return line + "\n"
    indent = head[: len(head) - len(head.lstrip())]
    return f"{head}(\n{indent}    {arg}\n{indent})\n"


def _doc_text(text: str) -> str:
    """Safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', "'''").strip()


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, width=88, initial_indent=indent, subsequent_indent=indent)


# -- implementation --------------------------------------------------------------------------


def write_implementation(task: PersonaTask, ctx: PersonaContext) -> ScaffoldOutcome:
    """A package skeleton with a module per requirement, when there is no source yet."""
    ws, config = ctx.workspace, ctx.config
    out = ScaffoldOutcome()
    tests = config.artifacts.tests
    sources = [p for p in ws.glob(config.artifacts.sources) if not matches(p, tests)]
    sources = [p for p in sources if p.rsplit("/", 1)[-1] not in ("conftest.py", "setup.py")]
    if sources:
        out.notes.append(
            f"{len(sources)} source file(s) exist; implementation is left to a person or an agent"
        )
        return out
    pkg = package_name(project_name(ws))
    reqs = _requirements(ws, config)
    title = _doc_text(task.requirement) or f"The {pkg} package."
    init = f'"""{title}"""\n\n__version__ = "0.1.0"\n'
    if ctx.write_text(f"{pkg}/__init__.py", init):
        out.written.append(f"{pkg}/__init__.py")
    for r in reqs:
        mod = _module_name(r.id)
        func = _slug(r.title) or mod
        if not func.isidentifier() or keyword.iskeyword(func) or func[0].isdigit():
            func = mod
        where = f"{r.path}:{r.line + 1}"
        doc = _doc_text(f"{r.id}: {r.title}")
        note = _wrap(
            f"Defined in {where}. Scaffolded as a starting point: implement the function "
            "below (IMPL-STUB reports it until it does real work)."
        )
        body = (
            f'"""{doc}\n\n{note}\n"""\n\n'
            "from __future__ import annotations\n\n\n"
            f"def {func}() -> None:\n"
            f'    """{_doc_text(r.title) or r.id} ({r.id})."""\n'
            + _call("    raise NotImplementedError", _literal(f"{r.id} is not implemented yet"))
        )
        rel = f"{pkg}/{mod}.py"
        if ctx.write_text(rel, body):
            out.written.append(rel)
    if not reqs:
        out.notes.append("no requirement ids found: only the package was created")
    return out


# -- testing ---------------------------------------------------------------------------------

CONFTEST = '''\
"""Test configuration: the ``req`` marker ties a test to a requirement id."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(id): the requirement a test verifies")
'''


def _id_re(rid: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(rid)}(?![\w])")


def _marker_registered(ws: Workspace) -> bool:
    for rel in ("conftest.py", "tests/conftest.py"):
        text = ws.read_text(rel) or ""
        if re.search(r"""["']req\s*[(:]""", text):
            return True
    for rel in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"):
        text = ws.read_text(rel) or ""
        if re.search(r"""^\s*["']?req\s*[(:]""", text, re.M):
            return True
    return False


def write_testing(task: PersonaTask, ctx: PersonaContext) -> ScaffoldOutcome:
    """A failing test module per requirement id that no test references yet."""
    ws, config = ctx.workspace, ctx.config
    out = ScaffoldOutcome()
    reqs = _requirements(ws, config)
    if not reqs:
        out.notes.append("no requirement ids found: no test to scaffold")
        return out
    test_text = "\n".join(ws.read_text(p) or "" for p in ws.glob(config.artifacts.tests))
    todo = [r for r in reqs if not _id_re(r.id).search(test_text)]
    if not todo:
        out.notes.append("every requirement id is referenced by a test already")
        return out
    if not _marker_registered(ws):
        for rel in ("conftest.py", "tests/conftest.py"):
            if ctx.write_text(rel, CONFTEST):
                out.written.append(rel)
                break
        else:
            out.notes.append("both conftest.py files exist: register the `req` marker there")
    for r in todo:
        rel = f"tests/test_{_module_name(r.id)}.py"
        where = f"{r.path}:{r.line + 1}"
        title = _doc_text(r.title) or r.id
        reason = f"{r.id} not tested yet: write a test for {r.title or r.id} ({where})"
        body = (
            f'"""Tests for {r.id}: {title}."""\n\n'
            "import pytest\n\n\n"
            f"@pytest.mark.req({_literal(r.id)})\n"
            f"def test_{_module_name(r.id)}() -> None:\n"
            f'    """{r.id}: {title}."""\n' + _call("    pytest.fail", _literal(reason))
        )
        if ctx.write_text(rel, body):
            out.written.append(rel)
        else:
            out.notes.append(f"{rel} exists and does not mention {r.id}")
    return out


# -- deployment ------------------------------------------------------------------------------


def _has_ci(ws: Workspace) -> bool:
    if ws.glob([".github/workflows/*.yml", ".github/workflows/*.yaml"]):
        return True
    return any(ws.exists(p) for p in CI_FILES)


def _has_changelog(ws: Workspace) -> bool:
    names = ("changelog", "changes", "history", "news")
    return any("/" not in p and p.lower().split(".")[0] in names for p in ws.files())


def _python_facts(ws: Workspace) -> dict[str, Any]:
    data = _read_toml(ws, "pyproject.toml")
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    deps = " ".join(str(d).lower() for d in project.get("dependencies", []) or [])
    req_txt = (ws.read_text("requirements.txt") or "").lower()
    service = ""
    for name, server in PY_SERVICES.items():
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", f"{deps} {req_txt}"):
            service = server
            break
    scripts = project.get("scripts", {}) or {}
    name = project_name(ws)
    pkg = package_name(name)
    return {
        "name": name,
        "pkg": pkg,
        "has_pkg": ws.exists(f"{pkg}/__init__.py") or ws.exists(f"src/{pkg}/__init__.py"),
        "version": str(project.get("version") or "0.1.0"),
        "script": next(iter(scripts), None),
        "service": service,
        "installable": bool(project) or ws.exists("setup.py") or ws.exists("setup.cfg"),
    }


def _python_dockerfile(f: dict[str, Any]) -> str:
    pkg, service = f["pkg"], f["service"]
    if service == "uvicorn":
        cmd = f'["uvicorn", "{pkg}.app:app", "--host", "0.0.0.0", "--port", "8000"]'
    elif service == "gunicorn":
        cmd = f'["gunicorn", "--bind", "0.0.0.0:8000", "{pkg}.app:app"]'
    elif service == "aiohttp":
        cmd = f'["python", "-m", "aiohttp.web", "-H", "0.0.0.0", "-P", "8000", "{pkg}.app:init"]'
    elif f["script"]:
        cmd = f'["{f["script"]}"]'
    else:
        cmd = f'["python", "-m", "{pkg}"]'
    install = (
        "RUN pip install --no-cache-dir ."
        if f["installable"]
        else "RUN if [ -f requirements.txt ]; then "
        "pip install --no-cache-dir -r requirements.txt; fi"
    )
    lines = [
        "# Scaffolded by phasegate: check the CMD (and the port) before shipping.",
        f"FROM {PYTHON_IMAGE}",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        "WORKDIR /app",
        "RUN useradd --create-home --uid 10001 app",
        "COPY . .",
        install,
        "USER app",
    ]
    if service:
        lines += [
            "EXPOSE 8000",
            "HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD python -c "
            "\"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')\"",
        ]
    lines.append(f"CMD {cmd}")
    return "\n".join(lines) + "\n"


def _python_ci(f: dict[str, Any]) -> str:
    install = (
        "python -m pip install -e . pytest ruff"
        if f["installable"]
        else "python -m pip install pytest ruff && "
        "if [ -f requirements.txt ]; then pip install -r requirements.txt; fi"
    )
    return textwrap.dedent(
        f"""\
        name: CI
        on:
          push:
          pull_request:
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.12"
              - run: {install}
              - run: ruff check .
              - run: python -m pytest
        """
    )


def _python_readme_sections(f: dict[str, Any]) -> tuple[str, str]:
    install = "## Installation\n\n```bash\npip install .\n```\n"
    if f["script"]:
        use = f"```bash\n{f['script']} --help\n```"
    elif f["service"]:
        use = "Start the service, then open http://127.0.0.1:8000/:\n\n"
        use += f"```bash\ndocker build -t {f['pkg']} . && docker run -p 8000:8000 {f['pkg']}\n```"
    else:
        use = f"```python\nimport {f['pkg']}\n```"
    return install, f"## Usage\n\n{use}\n"


def _pyproject(f: dict[str, Any], description: str) -> str:
    desc = json.dumps(description)
    text = textwrap.dedent(
        f"""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{f["name"] if re.fullmatch(r"[A-Za-z0-9._-]+", f["name"]) else f["pkg"]}"
        version = "0.1.0"
        description = {desc}
        readme = "README.md"
        requires-python = ">=3.10"
        dependencies = []

        [project.optional-dependencies]
        test = ["pytest>=8"]
        """
    )
    if f["has_pkg"]:
        text += f'\n[tool.setuptools.packages.find]\ninclude = ["{f["pkg"]}*"]\n'
    return text


def _node_facts(ws: Workspace) -> dict[str, Any]:
    pkg = _read_json(ws, "package.json")
    deps = {**(pkg.get("dependencies") or {}), **(pkg.get("devDependencies") or {})}
    scripts = pkg.get("scripts") or {}
    return {
        "name": str(pkg.get("name") or ws.root.name),
        "version": str(pkg.get("version") or "0.1.0"),
        "service": any(d in (pkg.get("dependencies") or {}) for d in NODE_SERVICES),
        "start": "start" in scripts,
        "test": "test" in scripts,
        "main": str(pkg.get("main") or "index.js"),
        "lock": ws.exists("package-lock.json"),
        "deps": deps,
    }


def _node_dockerfile(f: dict[str, Any]) -> str:
    cmd = '["npm", "start"]' if f["start"] else f'["node", "{f["main"]}"]'
    install = "RUN npm ci --omit=dev" if f["lock"] else "RUN npm install --omit=dev"
    lines = [
        "# Scaffolded by phasegate: check the CMD (and the port) before shipping.",
        f"FROM {NODE_IMAGE}",
        "ENV NODE_ENV=production",
        "WORKDIR /app",
        "COPY package*.json ./",
        install,
        "COPY . .",
        "USER node",
    ]
    if f["service"]:
        lines += [
            "EXPOSE 3000",
            "HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD node -e "
            "\"fetch('http://127.0.0.1:3000/').then(r => process.exit(r.ok ? 0 : 1))"
            '.catch(() => process.exit(1))"',
        ]
    lines.append(f"CMD {cmd}")
    return "\n".join(lines) + "\n"


def _node_ci(f: dict[str, Any]) -> str:
    install = "npm ci" if f["lock"] else "npm install"
    test = "npm test" if f["test"] else "npm run build --if-present"
    return textwrap.dedent(
        f"""\
        name: CI
        on:
          push:
          pull_request:
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v4
                with:
                  node-version: "20"
              - run: {install}
              - run: {test}
        """
    )


def _node_readme_sections(f: dict[str, Any]) -> tuple[str, str]:
    install = "## Installation\n\n```bash\nnpm install\n```\n"
    use = "npm start" if f["start"] else f"node {f['main']}"
    return install, f"## Usage\n\n```bash\n{use}\n```\n"


DOCKERIGNORE = "\n".join(
    [
        ".git",
        ".phasegate",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        "*.pyc",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "dist",
        "build",
        "",
    ]
)


def _readme(
    ctx: PersonaContext, out: ScaffoldOutcome, title: str, desc: str, sections: tuple[str, str]
) -> None:
    ws = ctx.workspace
    existing = [p for p in ("README.md", "README.rst", "README.txt", "README") if ws.exists(p)]
    install, usage = sections
    if not existing:
        text = f"# {title}\n\n{desc}\n\n{install}\n{usage}"
        if ctx.write_text("README.md", text):
            out.written.append("README.md")
        return
    rel = existing[0]
    if rel != "README.md":
        out.notes.append(f"{rel} is not Markdown: add install/usage sections by hand")
        return
    text = ws.read_text(rel) or ""
    add = []
    if not _INSTALL_RE.search(text):
        add.append(install)
    if not _USAGE_RE.search(text):
        add.append(usage)
    if add:
        sep = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        ctx.write_text(rel, text + sep + "\n".join(add), overwrite=True)
        out.written.append(rel)


def write_deployment(task: PersonaTask, ctx: PersonaContext) -> ScaffoldOutcome:
    """Packaging, container, CI, changelog and README, fitted to the project type."""
    ws = ctx.workspace
    out = ScaffoldOutcome()
    description = " ".join(task.requirement.split())[:200] or f"The {project_name(ws)} project."

    def put(rel: str, text: str) -> None:
        if ctx.write_text(rel, text):
            out.written.append(rel)

    is_node = ws.exists("package.json") and not ws.exists("pyproject.toml")
    is_python = not is_node and (
        ws.exists("pyproject.toml") or ws.exists("setup.py") or bool(ws.glob(["*.py"]))
    )
    if is_node:
        f = _node_facts(ws)
        put("Dockerfile", _node_dockerfile(f))
        sections = _node_readme_sections(f)
        ci = _node_ci(f)
    elif is_python:
        if not ws.exists("pyproject.toml") and not ws.exists("setup.py"):
            put("pyproject.toml", _pyproject(_python_facts(ws), description))
        f = _python_facts(ws)
        put("Dockerfile", _python_dockerfile(f))
        sections = _python_readme_sections(f)
        ci = _python_ci(f)
    else:
        out.notes.append("no pyproject.toml, package.json or Python source: no Dockerfile or CI")
        f = {"name": project_name(ws), "version": "0.1.0"}
        sections = (
            "## Installation\n\nDescribe how to install.\n",
            "## Usage\n\nDescribe how to use.\n",
        )
        ci = ""
    if (is_node or is_python) and ws.exists("Dockerfile"):
        put(".dockerignore", DOCKERIGNORE)
    if ci and not _has_ci(ws):
        put(".github/workflows/ci.yml", ci)
    if not _has_changelog(ws):
        put(
            "CHANGELOG.md",
            "# Changelog\n\nAll notable changes to this project are documented here.\n\n"
            f"## [{f['version']}]\n\n### Added\n\n- First version.\n",
        )
    _readme(ctx, out, str(f["name"]), description, sections)
    return out


Writer = Callable[[PersonaTask, PersonaContext], ScaffoldOutcome]

PROJECT_WRITERS: dict[str, Writer] = {
    "implementation": write_implementation,
    "testing": write_testing,
    "deployment": write_deployment,
}


def _as_persona_writer(writer: Writer) -> Callable[[PersonaTask, PersonaContext], PersonaResult]:
    def run(task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        try:
            outcome = writer(task, ctx)
        except (OSError, ValueError) as exc:  # PathOutsideWorkspace is a ValueError
            return PersonaResult(ok=False, error=f"scaffold {task.phase}: {exc}")
        return PersonaResult(ok=True, files_changed=outcome.written, message=outcome.message)

    return run


def _register() -> None:
    from phasegate.personas.scaffold import register_phase_writer

    for phase, writer in PROJECT_WRITERS.items():
        register_phase_writer(phase, _as_persona_writer(writer))


_register()
