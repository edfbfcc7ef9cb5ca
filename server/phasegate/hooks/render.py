"""The text an agent reads: findings after an edit, the gate at a stop, a session's state.

Findings travel as :class:`Item` (plain data, so an answer can be kept in the memo and
rendered again without the engine). Lines read ``path:line:col: CODE message`` with
1-based line and column, as the command line prints them; at most :data:`LIMIT` lines,
then ``N more: run `phasegate validate```.

Order (most useful first): after an edit in new-code mode, new findings before inherited
ones; then findings on the lines the edit wrote; then errors before warnings; then by
place. At a stop: checks that could not run, then new findings, findings of blocking
checks, errors, by place. Outside new-code mode nothing is called new: a finding is
only said to be on an edited line when it is.
"""

from __future__ import annotations

from typing import Any, TypedDict

LIMIT = 8
MESSAGE_LIMIT = 300
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2, "hint": 3}


class Item(TypedDict):
    path: str
    line: int  # 1-based
    col: int  # 1-based
    end_line: int  # 1-based, the last line of the finding's range
    code: str
    message: str
    severity: str  # error, warning, info, hint
    state: str | None  # new-code mode: "new" or "unchanged"
    touched: bool  # on a line the edit wrote (an edit, not a whole-file write)
    blocking: bool  # of a blocking check, or held (new, of a blocking severity)


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def item_line(it: Item, *, new_code: bool) -> str:
    mark = ""
    if new_code and it["state"] == "new":
        mark = " [new]"
    elif it["touched"]:
        mark = " [edited line]"
    return f"- {it['path']}:{it['line']}:{it['col']}: {it['code']} {one_line(it['message'])}{mark}"


def _edit_order(it: Item, new_code: bool) -> tuple[Any, ...]:
    return (
        0 if (new_code and it["state"] == "new") else 1,
        0 if it["touched"] else 1,
        SEVERITY_RANK.get(it["severity"], 4),
        it["path"],
        it["line"],
        it["col"],
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _capped(lines: list[str], total: int) -> list[str]:
    shown = lines[:LIMIT]
    if total > len(shown):
        shown.append(f"{total - len(shown)} more: run `phasegate validate`.")
    return shown


def post_edit_text(items: list[Item], files: list[str], *, new_code: str | None, held: bool) -> str:
    """What the agent reads after an edit."""
    ordered = sorted(items, key=lambda it: _edit_order(it, new_code is not None))
    where = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    head = f"phasegate: {_plural(len(items), 'finding')} in {where} after this edit"
    if new_code is not None:
        n_new = sum(1 for it in items if it["state"] == "new")
        head += f" ({n_new} new, {len(items) - n_new} inherited; new code: {new_code})"
    lines = [head + ":"]
    lines += _capped([item_line(it, new_code=new_code is not None) for it in ordered], len(items))
    if held:
        lines.append(
            "New findings of a blocking severity fail their gate whatever its score: "
            "fix them before you stop."
        )
    return "\n".join(lines)


def _stop_order(it: Item) -> tuple[Any, ...]:
    return (
        0 if it["state"] == "new" else 1,
        0 if it["blocking"] else 1,
        SEVERITY_RANK.get(it["severity"], 4),
        it["path"],
        it["line"],
        it["col"],
    )


def gate_text(
    gates: list[dict[str, Any]],
    items: list[Item],
    problems: list[str],
    *,
    new_code: str | None,
    what_to_run: str,
    ask: str = "Fix these before you stop:",
) -> str:
    """Why stopping is refused: the failing gates (``phase``, ``score``, ``threshold``,
    ``blocking_failed``, ``held``), ``problems`` (checks that could not run or failed
    without findings) and the findings of the failed checks."""
    parts = []
    for g in gates:
        why = [f"score {g['score']:.2f}, threshold {g['threshold']:.2f}"]
        if g.get("blocking_failed"):
            why.append("blocking check failed: " + ", ".join(g["blocking_failed"]))
        if g.get("held"):
            why.append("new findings hold: " + ", ".join(g["held"]))
        parts.append(f"{g['phase']} ({'; '.join(why)})")
    head = (
        f"phasegate: the {parts[0]} gate fails."
        if len(parts) == 1
        else f"phasegate: {len(parts)} gates fail: " + "; ".join(parts) + "."
    )
    lines = [head]
    if new_code is not None:
        n_new = sum(1 for it in items if it["state"] == "new")
        lines.append(f"New code ({new_code}): {n_new} new findings.")
    lines.append(ask)
    ordered = sorted(items, key=_stop_order)
    body = [f"- {p}" for p in problems] + [
        item_line(it, new_code=new_code is not None) for it in ordered
    ]
    lines += _capped(body, len(body))
    lines.append(what_to_run)
    return "\n".join(lines)
