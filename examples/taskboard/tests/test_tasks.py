from __future__ import annotations

from datetime import date, datetime

import pytest

from taskboard.models import TaskboardError
from taskboard.repository import InMemoryRepository
from taskboard.service import add_user, assign_task, complete_task, create_task, set_due_date


@pytest.mark.req("REQ-002")
def test_new_task_gets_an_id_and_is_open(repo: InMemoryRepository) -> None:
    first = create_task(repo, "Write the release notes")
    second = create_task(repo, "Book the room")
    assert (first.id, second.id) == (1, 2)
    assert first.is_open


@pytest.mark.req("REQ-002")
def test_empty_title_is_rejected(repo: InMemoryRepository) -> None:
    with pytest.raises(TaskboardError, match="needs a title"):
        create_task(repo, "   ")


@pytest.mark.req("REQ-002")
def test_complete_records_when_and_only_once(repo: InMemoryRepository) -> None:
    task = create_task(repo, "Ship it")
    when = datetime(2024, 5, 1, 12, 0)
    assert complete_task(repo, task.id, now=when).done_at == when
    with pytest.raises(TaskboardError, match="already done"):
        complete_task(repo, task.id)


@pytest.mark.req("REQ-003")
def test_due_date_is_optional_and_can_change(repo: InMemoryRepository) -> None:
    undated = create_task(repo, "Someday")
    dated = create_task(repo, "Taxes", due=date(2024, 4, 30))
    assert undated.due is None
    assert dated.due == date(2024, 4, 30)
    assert set_due_date(repo, dated.id, date(2024, 5, 15)).due == date(2024, 5, 15)


@pytest.mark.req("REQ-004")
def test_assign_and_reassign(repo: InMemoryRepository) -> None:
    add_user(repo, "ada", "Ada Lovelace")
    add_user(repo, "alan", "Alan Turing")
    task = create_task(repo, "Review the design")
    assert assign_task(repo, task.id, "ada").assignee == "ada"
    assert assign_task(repo, task.id, "alan").assignee == "alan"


@pytest.mark.req("REQ-004")
def test_assign_to_unknown_user_is_rejected(repo: InMemoryRepository) -> None:
    task = create_task(repo, "Review the design")
    with pytest.raises(TaskboardError, match="no user with handle 'bob'"):
        assign_task(repo, task.id, "bob")
