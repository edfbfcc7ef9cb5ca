"""The operations of a taskboard. Each loads the board, changes it and saves it."""

from __future__ import annotations

import os
from datetime import date, datetime

from taskboard.models import Task, TaskboardError, User
from taskboard.repository import Repository


def add_user(repo: Repository, handle: str, name: str) -> User:
    board = repo.load()
    if handle in board.users:
        raise TaskboardError(f"a user with handle {handle!r} already exists")
    user = User(handle=handle, name=name)
    board.users[handle] = user
    repo.save(board)
    return user


def create_task(
    repo: Repository, title: str, description: str = "", due: date | None = None
) -> Task:
    if not title.strip():
        raise TaskboardError("a task needs a title")
    board = repo.load()
    task = Task(id=board.next_id, title=title.strip(), description=description, due=due)
    board.tasks[task.id] = task
    board.next_id += 1
    repo.save(board)
    return task


def set_due_date(repo: Repository, task_id: int, due: date | None) -> Task:
    board = repo.load()
    task = board.task(task_id)
    if not task.is_open:
        raise TaskboardError(f"task {task_id} is done; its due date cannot change")
    task.due = due
    repo.save(board)
    return task


def assign_task(repo: Repository, task_id: int, handle: str) -> Task:
    board = repo.load()
    task = board.task(task_id)
    if handle not in board.users:
        raise TaskboardError(f"no user with handle {handle!r}")
    task.assignee = handle
    repo.save(board)
    return task


def complete_task(repo: Repository, task_id: int, now: datetime | None = None) -> Task:
    board = repo.load()
    task = board.task(task_id)
    if not task.is_open:
        raise TaskboardError(f"task {task_id} is already done")
    task.done_at = now or datetime.now()
    repo.save(board)
    return task


def reopen_task(repo: Repository, task_id: int) -> Task:
    raise NotImplementedError


def list_overdue(repo: Repository, today: date | None = None) -> list[Task]:
    """Open tasks whose due date has passed, oldest due date first."""
    today = today or date.today()
    board = repo.load()
    overdue = [t for t in board.tasks.values() if t.is_open and t.due and t.due <= today]
    return sorted(overdue, key=lambda t: (t.due or today, t.id))
