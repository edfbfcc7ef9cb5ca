"""IMPL-SYNTAX: every Python source file compiles (blocking).

Each file is decoded as Python decodes it (a BOM or a ``# -*- coding: ... -*-`` cookie,
else UTF-8), then compiled (``compile(..., "exec")``, which also catches errors such as
``return`` outside a function); nothing is executed. A file that cannot be decoded, has
an unknown coding, or holds NUL bytes is a finding too. Files larger than ``max_bytes``
are neither read nor compiled (their size comes from ``stat``; an information finding
says so).

Syntax as the project's Python parses it: phasegate's own interpreter may be older than
the project's (valid 3.12 f-strings do not parse on 3.11). A file that phasegate's
Python cannot *parse* is therefore parsed again by ruff's parser, which knows every
Python grammar, at the project's target version (the lowest Python its
``requires-python`` allows): only when ruff rejects it too is it a finding. Errors found
after parsing (``return`` outside a function) need no second opinion.

A file is compiled through the parse memo (:mod:`phasegate.parsed`): when IMPL-STUB has
parsed the same content already, its tree is compiled and the text is not parsed again.

A workspace whose sources are all in other languages gets "not applicable"; one with no
source file at all fails (nothing is implemented yet).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field

from phasegate import parsed
from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.implementation.ruff_project import bundled_ruff, ruff_version
from phasegate.languages import no_python_reason
from phasegate.model import Finding, Range, Severity
from phasegate.proc import run_tool
from phasegate.toml_locate import TOMLDecodeError, toml_loads
from phasegate.workspace import FileTooLarge, PathOutsideWorkspace

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.workspace import Workspace

PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")
OWNER = "backend_developer"


@dataclass(frozen=True)
class SourceProblem:
    """Why a file does not compile: message and a 0-based range."""

    message: str
    line: int
    start: int
    end: int
    end_line: int | None = None


def _line_of_byte(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos)
    begin = data.rfind(b"\n", 0, pos) + 1
    return line, len(data[begin:pos].decode("utf-8", errors="replace"))


def _plain_utf8(data: bytes) -> str | None:
    """``data`` decoded as UTF-8 when that is certainly how Python decodes it: no BOM and
    no ``coding`` in the two lines a cookie can be on (so ``tokenize.detect_encoding``
    would say ``utf-8``), and valid UTF-8 throughout; None when the careful path decides
    (it also gives the precise reason a file cannot be decoded)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return None
    end = data.find(b"\n")
    if end >= 0:
        end = data.find(b"\n", end + 1)
    if b"coding" in (data if end < 0 else data[:end]):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_source(data: bytes) -> tuple[str | None, SourceProblem | None]:
    """The text of a Python file as the interpreter decodes it, or why it cannot be."""
    text = _plain_utf8(data)
    if text is not None:
        return _without_nul(text)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        head = data.split(b"\n", 2)[:2]
        line = next((i for i, ln in enumerate(head) if b"coding" in ln), 0)
        length = len(head[line].decode("utf-8", errors="replace")) if head else 0
        return None, SourceProblem(f"SyntaxError: {exc.msg}", line, 0, length)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, char = _line_of_byte(data, exc.start)
        msg = f"cannot be decoded as {encoding}: byte {data[exc.start]:#04x} (binary file?)"
        return None, SourceProblem(msg, line, char, char + 1)
    except LookupError:
        return None, SourceProblem(f"SyntaxError: unknown encoding: {encoding}", 0, 0, 1)
    return _without_nul(text)


def _without_nul(text: str) -> tuple[str | None, SourceProblem | None]:
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul)
        char = nul - (text.rfind("\n", 0, nul) + 1)
        return None, SourceProblem("contains a NUL byte (binary file?)", line, char, char + 1)
    return text, None


def _error_range(exc: SyntaxError, lines: list[str]) -> tuple[int, int, int, int]:
    line = max(0, (exc.lineno or 1) - 1)
    line = min(line, max(0, len(lines) - 1))
    text = lines[line] if lines else ""
    start = max(0, (exc.offset or 1) - 1)
    start = min(start, len(text))
    end_line = (exc.end_lineno or exc.lineno or 1) - 1
    end = (exc.end_offset or 0) - 1
    if end_line < line or (end_line == line and end <= start) or end < 0:
        end_line, end = line, start + 1
    return line, start, end_line, end


def compile_problem(
    text: str, path: str, feature_version: tuple[int, int] | None = None
) -> SourceProblem | None:
    """Why ``text`` does not compile (None when it does). Never raises.

    Compiled through the parse memo (:func:`phasegate.parsed.compile_error`): a tree
    another check parsed already is compiled without parsing the text again."""
    exc = parsed.compile_error(text, path)
    if exc is None and feature_version is not None:
        try:
            with parsed.warnings_off():
                ast.parse(text, path, feature_version=feature_version)
        except parsed.PARSE_ERRORS as late:
            exc = late
    if isinstance(exc, SyntaxError):
        lines = text.splitlines()
        line, start, end_line, end = _error_range(exc, lines)
        where = f" (Python {feature_version[0]}.{feature_version[1]})" if feature_version else ""
        msg = f"{type(exc).__name__}: {exc.msg}{where}"
        return SourceProblem(msg, line, start, end, end_line)
    if isinstance(exc, (RecursionError, MemoryError)):
        return SourceProblem("too deeply nested to compile", 0, 0, 1)
    if isinstance(exc, ValueError):  # NUL bytes on older Pythons
        return SourceProblem(f"cannot compile: {exc}", 0, 0, 1)
    return None


# CPython's own limits, the same in every version: no other parser's opinion changes them.
_INTERPRETER_LIMIT = re.compile(r"too many nested|too deeply nested|too many statically")


def _parses(text: str, path: str) -> bool:
    return parsed.parse(text, path).tree is not None


def target_version(workspace: Workspace) -> str | None:
    """``py3X``: the lowest Python 3 release that the workspace's ``requires-python``
    (``pyproject.toml`` ``[project]``) allows, or None when it says nothing."""
    text = workspace.read_text("pyproject.toml")
    if not text:
        return None
    try:
        data = toml_loads(text)
        spec = SpecifierSet(str(data["project"]["requires-python"]))
    except (TOMLDecodeError, KeyError, TypeError, InvalidSpecifier, ValueError):
        return None
    for minor in range(7, 15):
        if spec.contains(f"3.{minor}", prereleases=True) or spec.contains(
            f"3.{minor}.99", prereleases=True
        ):
            return f"py3{minor}"
    return None


def ruff_syntax_problem(
    workspace: Workspace, path: str, timeout: float
) -> tuple[SourceProblem | None, str]:
    """ruff's verdict on one file's syntax at the project's target version:
    ``(problem or None, what judged it)``; ``(None, "")`` when ruff could not say."""
    ruff = bundled_ruff()
    if ruff is None:
        return None, ""
    target = target_version(workspace)
    argv = [ruff, "check", "--isolated", "--no-cache", "--no-fix", "--exit-zero"]
    argv += ["--output-format", "json", "--select", "E9"]
    if target:
        argv += ["--target-version", target]
    try:
        abspath = workspace.abspath(path)
    except PathOutsideWorkspace:
        return None, ""
    res = run_tool([*argv, "--", str(abspath)], cwd=workspace.root, timeout=timeout)
    if res.returncode != 0:
        return None, ""
    try:
        diags = json.loads(res.stdout or "[]")
    except ValueError:
        return None, ""
    judged = f"ruff {ruff_version(ruff) or ''}".strip()
    if target:
        judged += f" for Python 3.{target[3:]}"
    for d in diags if isinstance(diags, list) else []:
        if not isinstance(d, dict) or d.get("code") not in (None, "", "E999", "invalid-syntax"):
            continue
        loc = d.get("location") or {}
        end = d.get("end_location") or loc
        line = max(0, int(loc.get("row") or 1) - 1)
        start = max(0, int(loc.get("column") or 1) - 1)
        end_line = max(line, int(end.get("row") or 1) - 1)
        end_char = max(0, int(end.get("column") or 1) - 1)
        if end_line == line and end_char <= start:
            end_char = start + 1
        msg = f"SyntaxError: {d.get('message') or 'invalid syntax'}"
        return SourceProblem(msg, line, start, end_char, end_line), judged
    return None, judged


class SyntaxOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(
        5_000_000, gt=0, description="Larger files are not compiled (an info finding says so)."
    )
    python_version: str | None = Field(
        None,
        pattern=r"^3\.\d{1,2}$",
        description="Also reject syntax newer than this Python (e.g. `3.9`), best effort.",
    )


class Syntax(Check):
    id = "IMPL-SYNTAX"
    title = "Python files compile"
    description = (
        "Every Python file among the sources compiles (decoded as Python decodes it: BOM, "
        "coding cookie, else UTF-8); nothing is run. A file phasegate's Python cannot "
        "parse is parsed again by ruff at the project's target version (from "
        "`requires-python`), so newer valid syntax is never an error. A syntax error is a "
        "finding at its exact line and column. Blocking. Score: the share of files that "
        "compile; not applicable where all sources are in other languages; no source file "
        "at all fails (there is nothing implemented yet)."
    )
    scope = "file"
    default_owner = OWNER
    default_weight = 1.0
    default_blocking = True
    default_severity = Severity.ERROR
    Options = SyntaxOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return list(config.artifacts.sources)

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        if not path.endswith(PYTHON_SUFFIXES):
            return []
        opts = ctx.options
        assert isinstance(opts, SyntaxOptions)
        try:  # a file over the limit is never read: its size comes from stat
            data = ctx.workspace.read_bytes(path, max_bytes=opts.max_bytes)
        except FileTooLarge as big:
            msg = f"not compiled: {big.size} bytes is more than max_bytes ({opts.max_bytes})"
            return [ctx.finding(path, msg, line=0, severity=Severity.INFO)]
        if data is None:
            return []
        text, problem = decode_source(data)
        if text is not None:
            fv = None
            if opts.python_version:
                major, minor = (int(x) for x in re.split(r"\.", opts.python_version))
                fv = (major, minor)
            problem = compile_problem(text, path, fv)
            if (
                problem is not None
                and fv is None
                and not _INTERPRETER_LIMIT.search(problem.message)
                and not _parses(text, path)
            ):
                # phasegate's Python cannot parse it: maybe newer syntax than it knows
                confirmed, judged = ruff_syntax_problem(ctx.workspace, path, ctx.timeout)
                if judged and confirmed is None:
                    return []  # valid for the project's Python
                if confirmed is not None and confirmed.line != problem.line:
                    problem = confirmed
                if judged:
                    problem = SourceProblem(
                        f"{problem.message} (also rejected by {judged})",
                        problem.line,
                        problem.start,
                        problem.end,
                        problem.end_line,
                    )
        if problem is None:
            return []
        end_line = problem.line if problem.end_line is None else problem.end_line
        rng = Range.span(problem.line, problem.start, end_line, problem.end)
        return [ctx.finding(path, problem.message, rng)]

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        """The share of files that compile; not applicable in a workspace whose sources
        are all in other languages; a workspace without any source fails."""
        if not per_file:
            reason = no_python_reason(ctx.workspace)
            if reason is not None:
                return CheckOutcome(score=1.0, not_applicable=reason)
            patterns = ", ".join(ctx.inputs) or "(no inputs)"
            msg = f"no source files: nothing matches {patterns}"
            return missing_file_outcome(ctx, ".", msg, passed=False)
        return super().score_files(ctx, per_file)
