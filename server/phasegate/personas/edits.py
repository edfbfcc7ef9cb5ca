"""Structured file edits from a model: parse, validate, apply all-or-nothing.

The answer format::

    {"edits": [{"path": "src/app.py", "content": "...whole file..."},
               {"path": "src/util.py", "search": "old text", "replace": "new text"}],
     "summary": "what was done"}

Every path must be relative, normalised and inside the workspace: absolute paths, ``..``,
backslashes, paths through a symlink that leaves the workspace, and anything under
``.git/`` or ``.phasegate/`` are refused. One bad edit refuses the whole answer. Edits are
applied in two steps — every new content is computed and staged in a temporary file next
to its target first, then the previous contents are backed up and the files replaced — so
either every edit lands or none does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phasegate.backups import BackupRecorder
from phasegate.fsutil import atomic_write_bytes
from phasegate.workspace import Workspace

FORBIDDEN_DIRS = frozenset({".git", ".phasegate", ".hg", ".svn"})
MAX_EDITS = 200
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class EditError(ValueError):
    """The answer is refused; nothing was written."""


class WriteEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1)
    content: str


class ReplaceEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1)
    search: str = Field(min_length=1)
    replace: str


class EditAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    edits: list[WriteEdit | ReplaceEdit] = Field(max_length=MAX_EDITS)
    summary: str = ""


def extract_json(text: str) -> str:
    """The JSON object in a model's answer: the whole text, or a fenced ```json block."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return stripped
    m = _FENCE_RE.search(text)
    if m:
        return m.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        return text[start : end + 1]
    return stripped


def parse_answer(text: str) -> EditAnswer:
    """Parse and validate a model's answer; :class:`EditError` says what is wrong."""
    if not text or not text.strip():
        raise EditError("the answer is empty")
    raw = extract_json(text)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise EditError(f"the answer is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EditError("the answer must be a JSON object with an 'edits' list")
    try:
        return EditAnswer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        raise EditError(f"the answer does not have the expected shape: {problems}") from None


def check_path(workspace: Workspace, rel: str) -> str:
    """The normalised workspace-relative path, or :class:`EditError` when it is refused."""
    if not rel or "\x00" in rel:
        raise EditError(f"invalid path {rel!r}")
    if "\\" in rel:
        raise EditError(f"{rel!r}: use forward slashes")
    p = PurePosixPath(rel)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        raise EditError(f"{rel!r}: absolute paths are refused")
    parts = [part for part in p.parts if part != "."]
    if not parts:
        raise EditError(f"invalid path {rel!r}")
    if ".." in parts:
        raise EditError(f"{rel!r}: '..' is refused")
    if any(part in FORBIDDEN_DIRS for part in parts):
        raise EditError(f"{rel!r}: {', '.join(sorted(FORBIDDEN_DIRS))} are off limits")
    norm = "/".join(parts)
    root = workspace.root
    # Every existing component must stay inside the root once symlinks are followed.
    cur = root
    for part in parts:
        cur = cur / part
        if cur.is_symlink() or cur.exists():
            resolved = cur.resolve()
            if resolved != root and root not in resolved.parents:
                raise EditError(f"{rel!r}: leads outside the workspace through a symlink")
    target = root / norm
    if target.is_symlink():
        raise EditError(f"{rel!r} is a symlink; edit the file it points to")
    if target.exists() and not target.is_file():
        raise EditError(f"{rel!r} is not a regular file")
    return norm


@dataclass
class PlannedEdit:
    path: str
    content: bytes
    existed: bool


def plan_edits(
    workspace: Workspace,
    answer: EditAnswer,
    *,
    partial_views: set[str] | None = None,
) -> list[PlannedEdit]:
    """Compute every file's new content in memory (edits to one file apply in order).

    ``partial_views`` are files the model saw only truncated: rewriting them whole would
    lose what it did not see, so only search/replace edits are allowed there.
    """
    contents: dict[str, str] = {}
    existed: dict[str, bool] = {}
    order: list[str] = []
    for i, edit in enumerate(answer.edits, 1):
        rel = check_path(workspace, edit.path)
        if rel not in contents:
            path = workspace.root / rel
            if path.is_file():
                try:
                    contents[rel] = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise EditError(f"edit {i}: {rel} is not UTF-8 text") from None
                existed[rel] = True
            else:
                contents[rel] = ""
                existed[rel] = False
            order.append(rel)
        if isinstance(edit, WriteEdit):
            if partial_views and rel in partial_views:
                raise EditError(
                    f"edit {i}: {rel} was shown truncated; use search/replace, not content"
                )
            contents[rel] = edit.content
        else:
            if not existed[rel] and not contents[rel]:
                raise EditError(f"edit {i}: {rel} does not exist; search/replace needs a file")
            count = contents[rel].count(edit.search)
            if count == 0:
                raise EditError(f"edit {i}: search text not found in {rel}")
            if count > 1:
                raise EditError(
                    f"edit {i}: search text occurs {count} times in {rel}; make it unique"
                )
            contents[rel] = contents[rel].replace(edit.search, edit.replace, 1)
    planned = []
    for rel in order:
        data = contents[rel].encode("utf-8")
        if existed[rel] and (workspace.root / rel).read_bytes() == data:
            continue  # no change
        planned.append(PlannedEdit(rel, data, existed[rel]))
    return planned


def apply_edits(
    workspace: Workspace, planned: list[PlannedEdit], backups: BackupRecorder | None
) -> list[str]:
    """Apply ``planned`` all-or-nothing; returns the changed paths.

    Stage: each new content is written to a temporary file beside its target (creating
    missing directories). Commit: previous contents are backed up, then each temporary
    file replaces its target. A failure while staging removes the temporary files and the
    directories made; a failure while committing puts back what was already replaced.
    """
    staged: list[tuple[PlannedEdit, Path, Path]] = []
    made_dirs: list[Path] = []
    try:
        for pe in planned:
            target = workspace.root / pe.path
            missing = []
            d = target.parent
            while not d.exists():
                missing.append(d)
                d = d.parent
            for m in reversed(missing):
                m.mkdir()
                made_dirs.append(m)
            # Re-check after creating directories: nothing may have moved outside.
            check_path(workspace, pe.path)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".pg")
            with os.fdopen(fd, "wb") as fh:
                fh.write(pe.content)
                fh.flush()
                os.fsync(fh.fileno())
            if pe.existed:
                with contextlib.suppress(OSError):
                    os.chmod(tmp, target.stat().st_mode & 0o7777)
            staged.append((pe, target, Path(tmp)))
        if backups is not None:
            backups.save_many(pe.path for pe in planned)
    except BaseException:
        for _, _, tmp_path in staged:
            tmp_path.unlink(missing_ok=True)
        for m in reversed(made_dirs):
            with contextlib.suppress(OSError):
                m.rmdir()
        raise
    done: list[tuple[PlannedEdit, bytes | None]] = []
    try:
        for pe, target, tmp_path in staged:
            old = target.read_bytes() if pe.existed else None
            os.replace(tmp_path, target)
            done.append((pe, old))
    except BaseException:
        for pe, old in reversed(done):
            target = workspace.root / pe.path
            with contextlib.suppress(OSError):
                if old is None:
                    target.unlink()
                else:
                    atomic_write_bytes(target, old)
        for _, _, tmp_path in staged:
            tmp_path.unlink(missing_ok=True)
        raise
    changed = [pe.path for pe in planned]
    workspace.notify_changed(changed)
    return changed
