from __future__ import annotations

from datetime import date, datetime

import pytest

from taskboard.repository import InMemoryRepository
from taskboard.service import complete_task, create_task, list_overdue

TODAY = date(2024, 5, 10)


@pytest.mark.req("REQ-005")
def test_past_due_open_tasks_are_listed_oldest_first(repo: InMemoryRepository) -> None:
    late = create_task(repo, "Late", due=date(2024, 5, 8))
    later = create_task(repo, "Very late", due=date(2024, 5, 1))
    create_task(repo, "Future", due=date(2024, 6, 1))
    create_task(repo, "Undated")
    assert [t.id for t in list_overdue(repo, today=TODAY)] == [later.id, late.id]


@pytest.mark.req("REQ-005")
def test_completed_tasks_are_never_overdue(repo: InMemoryRepository) -> None:
    task = create_task(repo, "Done late", due=date(2024, 5, 1))
    complete_task(repo, task.id, now=datetime(2024, 5, 9))
    assert list_overdue(repo, today=TODAY) == []


@pytest.mark.req("REQ-005")
def test_task_due_today_is_not_overdue(repo: InMemoryRepository) -> None:
    create_task(repo, "Due today", due=TODAY)
    overdue = [t.title for t in list_overdue(repo, today=TODAY)]
    assert overdue == [], f"a task due today must not be overdue, got {overdue}"
