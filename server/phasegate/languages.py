"""Which programming languages a workspace's sources are written in.

The Python checks (syntax, stubs, lint, the test suite, coverage) have nothing to judge in
a workspace without Python: there they are *not applicable* (left out of the gate score,
said plainly) rather than failing. A workspace with no source file of any language is
different: nothing is implemented yet, and the syntax check says so.

Counting is by file extension over the workspace's (gitignore-aware) file index, so it
costs one pass over file names.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phasegate.workspace import Workspace

PYTHON_EXTENSIONS = frozenset({".py", ".pyi", ".pyw", ".ipynb"})

# Extensions of source code in other languages (not markup, data or configuration).
OTHER_EXTENSIONS: dict[str, str] = {
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".js": "JavaScript",
    ".jsx": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".rb": "Ruby",
    ".php": "PHP",
    ".cs": "C#",
    ".fs": "F#",
    ".swift": "Swift",
    ".m": "Objective-C",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hpp": "C++",
    ".dart": "Dart",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hs": "Haskell",
    ".lua": "Lua",
    ".r": "R",
    ".jl": "Julia",
    ".zig": "Zig",
    ".clj": "Clojure",
    ".sh": "Shell",
}


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def source_languages(workspace: Workspace) -> Counter[str]:
    """Source files per language (``"Python"`` included), by extension."""
    counts: Counter[str] = Counter()
    for path in workspace.files():
        ext = _suffix(path)
        if ext in PYTHON_EXTENSIONS:
            counts["Python"] += 1
        else:
            lang = OTHER_EXTENSIONS.get(ext)
            if lang is not None and lang != "Shell":
                counts[lang] += 1
    return counts


def no_python_reason(workspace: Workspace, what: str = "Python source files") -> str | None:
    """Why a Python check is not applicable: the workspace has sources in other
    languages and none in Python. None when there is Python, or no source at all."""
    counts = source_languages(workspace)
    if counts.get("Python") or not counts:
        return None
    langs = ", ".join(f"{lang} ({n} files)" for lang, n in counts.most_common(3))
    return f"no {what} in this workspace; its sources are {langs}"
