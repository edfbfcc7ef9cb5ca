"""A plugin registry filled from an entry-point group, one plugin at a time.

:class:`EntryPointRegistry` is a ``dict`` of name -> class. Looking one name up
(``reg[name]``, ``name in reg``, ``reg.get(name)``) imports only that plugin's module, so
a run that uses one check does not import every check's dependencies; anything that
lists the registry (iteration, ``len``, ``keys``/``values``/``items``, ``copy``, ``==``)
imports them all first. Names set or deleted by hand win over the entry points. A plugin
that fails to import, or is not a subclass of the registry's base class, is left out.
When several entry points share a name, the last one that loads wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values
    from importlib.metadata import EntryPoint

_V = TypeVar("_V")


class EntryPointRegistry(dict[str, type[_V]]):
    def __init__(self, group: str, base: type) -> None:
        super().__init__()
        self.group = group
        self.base = base
        self._pending: dict[str, list[EntryPoint]] | None = None
        self._removed: set[str] = set()

    # -- loading -------------------------------------------------------------------------
    def _entry_points(self) -> dict[str, list[EntryPoint]]:
        if self._pending is None:
            from importlib.metadata import entry_points

            pending: dict[str, list[EntryPoint]] = {}
            for ep in entry_points(group=self.group):
                if ep.name not in self._removed and not dict.__contains__(self, ep.name):
                    pending.setdefault(ep.name, []).append(ep)
            self._pending = pending
        return self._pending

    def _load(self, name: object) -> bool:
        if not isinstance(name, str) or name in self._removed:
            return False
        eps = self._entry_points().pop(name, None)
        found: type[_V] | None = None
        for ep in eps or ():
            try:
                obj = ep.load()
            except Exception:  # a broken plugin must not break the others
                continue
            if isinstance(obj, type) and issubclass(obj, self.base):
                found = cast("type[_V]", obj)
        if found is None:
            return False
        dict.__setitem__(self, name, found)
        return True

    def load_all(self) -> None:
        """Import every plugin of the group not loaded yet."""
        for name in list(self._entry_points()):
            self._load(name)

    # -- one name ------------------------------------------------------------------------
    def __missing__(self, key: str) -> type[_V]:
        if self._load(key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or self._load(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: type[_V]) -> None:
        self._removed.discard(key)
        if self._pending is not None:
            self._pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        dict.__delitem__(self, key)
        self._removed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = dict.__getitem__(self, key)
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: type[_V]) -> None:
        items: Iterable[tuple[str, type[_V]]]
        for arg in args:
            items = arg.items() if isinstance(arg, Mapping) else arg
            for k, v in items:
                self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def clear(self) -> None:
        self._removed.update(self._entry_points())
        self._removed.update(dict.keys(self))
        self._pending = {}
        dict.clear(self)

    # -- the whole registry --------------------------------------------------------------
    def __iter__(self) -> Iterator[str]:
        self.load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.load_all()
        return dict.__len__(self)

    def keys(self) -> dict_keys[str, type[_V]]:
        self.load_all()
        return dict.keys(self)

    def values(self) -> dict_values[str, type[_V]]:
        self.load_all()
        return dict.values(self)

    def items(self) -> dict_items[str, type[_V]]:
        self.load_all()
        return dict.items(self)

    def copy(self) -> dict[str, type[_V]]:
        self.load_all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self.load_all()
        if isinstance(other, EntryPointRegistry):
            other.load_all()
        return dict.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self.load_all()
        return f"{type(self).__name__}({self.group!r}, {dict.__repr__(self)})"
