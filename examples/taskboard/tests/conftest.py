from __future__ import annotations

import pytest

from taskboard.repository import InMemoryRepository


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(id): the requirement a test verifies")


@pytest.fixture
def repo() -> InMemoryRepository:
    return InMemoryRepository()
