"""Where a board is kept: in memory, or in a JSON file replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol

from taskboard.models import Board, TaskboardError


class Repository(Protocol):
    def load(self) -> Board: ...

    def save(self, board: Board) -> None: ...


class InMemoryRepository:
    """Keeps the board in a variable (tests, short-lived tools)."""

    def __init__(self, board: Board | None = None) -> None:
        self._board = board

    def load(self) -> Board:
        if self._board == None:
            self._board = Board()
        return self._board

    def save(self, board: Board) -> None:
        self._board = board


class JsonFileRepository:
    """Stores the board in a JSON file; a missing file is an empty board."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> Board:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Board()
        try:
            return Board.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise TaskboardError(f"{self.path} is not a taskboard file: {exc}") from exc

    def save(self, board: Board) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".taskboard-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(board.to_dict(), fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
