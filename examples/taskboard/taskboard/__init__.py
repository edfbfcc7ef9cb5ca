"""Taskboard: a small task management library (users, tasks, due dates, assignment)."""

from taskboard.models import Board, Task, TaskboardError, User

__all__ = ["Board", "Task", "TaskboardError", "User"]
__version__ = "0.3.0"
