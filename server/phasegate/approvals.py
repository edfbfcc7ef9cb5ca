"""Approvals: the changes GATE-INTEGRITY flags that a person has looked at and accepted.

GATE-INTEGRITY reports changes a person must approve (a deleted or skipped test, a
removed assertion, a new suppression, a loosened gate policy). ``phasegate approve``
records the approval of such findings in ``.phasegate/approvals.json`` — who, when, why
— and the check leaves approved findings out from then on. An approval is for one
finding exactly (check, file and message): the same kind of change elsewhere, or a
further loosening of the same setting, is flagged again.

Personas cannot approve their own changes: ``phasegate approve`` refuses to run inside
a program phasegate started (a persona, a check's tool), and personas are told not to
touch ``.phasegate/``. The file lives in the state folder, so it is local to the
workspace; in CI, approval is the review of the pull request.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from phasegate.fsutil import atomic_write_text
from phasegate.model import Finding
from phasegate.workspace import STATE_DIR

APPROVALS_FILE = "approvals.json"


class ApprovalError(Exception):
    """The approvals cannot be read or written, or approving is not allowed here."""


def approval_key(finding: Finding) -> str:
    """What an approval is for: one finding exactly (check, file and message)."""
    key = f"{finding.code}|{finding.path}|{finding.message}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


@dataclass
class Approval:
    key: str
    code: str
    path: str
    message: str
    by: str
    at: float
    note: str = ""


def approvals_path(root: Path) -> Path:
    return Path(root) / STATE_DIR / APPROVALS_FILE


def load_approvals(root: Path) -> dict[str, Approval]:
    """The recorded approvals by key; none when the file does not exist. Raises
    :class:`ApprovalError` when it exists but cannot be read as approvals."""
    path = approvals_path(root)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ApprovalError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw)
        items = doc["approvals"]
        out = {}
        for item in items:
            a = Approval(
                key=str(item["key"]),
                code=str(item["code"]),
                path=str(item["path"]),
                message=str(item["message"]),
                by=str(item.get("by", "")),
                at=float(item.get("at", 0.0)),
                note=str(item.get("note", "")),
            )
            out[a.key] = a
        return out
    except (ValueError, KeyError, TypeError) as exc:
        raise ApprovalError(f"{path} is damaged ({exc}): move it aside to start over") from None


def inside_phasegate_run() -> bool:
    """Whether this process was started by phasegate (a persona or a check's tool)."""
    from phasegate.proc import RUN_MARKER

    return bool(os.environ.get(RUN_MARKER))


def approve(root: Path, findings: list[Finding], note: str = "") -> list[Approval]:
    """Record the approval of ``findings``; returns the approvals added."""
    if inside_phasegate_run():
        raise ApprovalError(
            "approvals are a person's: this process was started by phasegate (a persona "
            "or a check's tool), which cannot approve its own changes"
        )
    known = load_approvals(root)
    try:
        who = getpass.getuser()
    except Exception:  # no user name: still record the approval
        who = ""
    added = []
    for f in findings:
        key = approval_key(f)
        if key in known:
            continue
        a = Approval(key, f.code, f.path, f.message, who, time.time(), note)
        known[key] = a
        added.append(a)
    if added:
        doc = {"version": 1, "approvals": [vars(a) for a in known.values()]}
        path = approvals_path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(doc, indent=2) + "\n", fsync_dir=True)
    return added
