from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from taskboard.repository import JsonFileRepository
from taskboard.service import add_user, assign_task, create_task


@pytest.mark.req("REQ-006")
def test_save_then_load_gives_the_same_board(tmp_path: Path) -> None:
    path = tmp_path / "board.json"
    repo = JsonFileRepository(path)
    add_user(repo, "ada", "Ada Lovelace")
    task = create_task(repo, "Persist me", due=date(2024, 5, 20))
    assign_task(repo, task.id, "ada")

    loaded = JsonFileRepository(path).load()
    assert loaded.users["ada"].name == "Ada Lovelace"
    assert loaded.tasks[task.id].due == date(2024, 5, 20)
    assert loaded.tasks[task.id].assignee == "ada"
    assert loaded.next_id == 2


@pytest.mark.req("REQ-006")
def test_missing_file_is_an_empty_board(tmp_path: Path) -> None:
    board = JsonFileRepository(tmp_path / "absent.json").load()
    assert board.users == {} and board.tasks == {}


@pytest.mark.req("REQ-006")
def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    repo = JsonFileRepository(tmp_path / "board.json")
    create_task(repo, "One")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.json"]
