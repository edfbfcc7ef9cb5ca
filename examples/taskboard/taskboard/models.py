"""The data: users, tasks and the board that holds them. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

HANDLE_RE = re.compile(r"^[a-z0-9_-]{1,32}$")


class TaskboardError(ValueError):
    """Bad input to a taskboard operation; the message says what is wrong."""


@dataclass
class User:
    handle: str
    name: str

    def __post_init__(self) -> None:
        if not HANDLE_RE.match(self.handle):
            raise TaskboardError(
                f"invalid handle {self.handle!r}: use 1-32 lowercase letters, digits, - or _"
            )


@dataclass
class Task:
    id: int
    title: str
    description: str = ""
    due: date | None = None
    assignee: str | None = None
    done_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "due": self.due.isoformat() if self.due else None,
            "assignee": self.assignee,
            "done_at": self.done_at.isoformat() if self.done_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return cls(
            id=int(data["id"]),
            title=str(data["title"]),
            description=str(data.get("description", "")),
            due=date.fromisoformat(data["due"]) if data.get("due") else None,
            assignee=data.get("assignee"),
            done_at=datetime.fromisoformat(data["done_at"]) if data.get("done_at") else None,
        )


@dataclass
class Board:
    users: dict[str, User] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    next_id: int = 1

    def task(self, task_id: int) -> Task:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise TaskboardError(f"no task with id {task_id}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": [{"handle": u.handle, "name": u.name} for u in self.users.values()],
            "tasks": [t.to_dict() for t in self.tasks.values()],
            "next_id": self.next_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Board:
        board = cls(next_id=int(data.get("next_id", 1)))
        for u in data.get("users", []):
            board.users[u["handle"]] = User(handle=u["handle"], name=u["name"])
        for t in data.get("tasks", []):
            task = Task.from_dict(t)
            board.tasks[task.id] = task
        return board
