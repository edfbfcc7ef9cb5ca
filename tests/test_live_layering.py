"""The layers of docs/architecture.md, checked over every module's import statements
(including imports inside functions and under ``TYPE_CHECKING``): the engine — the live
core (``phasegate.live``) included — knows nothing of the faces or of the libraries that
only faces use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "phasegate"

# Faces: what drives the engine. Everything else in the package is the engine.
FACES = (
    "phasegate.cli",
    "phasegate.__main__",
    "phasegate.commands",
    "phasegate.lsp",
    "phasegate.hooks",
    "phasegate.mcp_server",
)
# Libraries only faces use: terminals, editors, agents.
FACE_LIBRARIES = ("click", "rich", "pygls", "lsprotocol", "mcp")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.add(module)
            out |= {f"{module}.{alias.name}" for alias in node.names}
    return out


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


MODULES = {
    _module_name(p): _imports(p)
    for p in sorted(PACKAGE.rglob("*.py"))
    if "__pycache__" not in p.parts
}
ENGINE = {m: imps for m, imps in MODULES.items() if not _within(m, FACES)}


def test_the_live_core_is_part_of_the_engine() -> None:
    live = sorted(m for m in ENGINE if _within(m, ("phasegate.live",)))
    for module in ("core", "engine", "results", "scheduler", "watch", "delta", "options"):
        assert f"phasegate.live.{module}" in live
    # what moved out of the editor face is not left behind in it
    for gone in ("phasegate.lsp.live", "phasegate.lsp.engine", "phasegate.lsp.incremental"):
        assert gone not in MODULES


@pytest.mark.parametrize("module", sorted(ENGINE))
def test_engine_modules_import_no_face_and_no_face_library(module: str) -> None:
    bad = sorted(i for i in ENGINE[module] if _within(i, FACES + FACE_LIBRARIES))
    assert not bad, f"{module} imports {bad}"


def test_editor_libraries_only_in_the_language_server() -> None:
    bad = {
        m: sorted(i for i in imps if _within(i, ("pygls", "lsprotocol")))
        for m, imps in MODULES.items()
        if not _within(m, ("phasegate.lsp",))
    }
    assert not {m: i for m, i in bad.items() if i}


def test_watchfiles_only_in_the_live_watcher() -> None:
    users = {m for m, imps in MODULES.items() if any(_within(i, ("watchfiles",)) for i in imps)}
    assert users == {"phasegate.live.watch"}


def test_the_language_server_uses_no_other_face() -> None:
    others = ("phasegate.cli", "phasegate.commands", "phasegate.hooks", "phasegate.mcp_server")
    bad = {
        m: sorted(i for i in imps if _within(i, others))
        for m, imps in MODULES.items()
        if _within(m, ("phasegate.lsp",))
    }
    assert not {m: i for m, i in bad.items() if i}
