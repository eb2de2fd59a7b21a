"""What a worker process keeps between requests: boards and reports (``boards.board``), the directory and the
catalog (``platform.snapshot``). Everything is kept under a key that holds the stamp of what it came from (the
marks the database writes with every change), so an entry is never stale, only unused; the least recently used
go first. ``forget_all`` drops everything (a new app: its database may not be the one they came from)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class Shelf:
    """Entries kept by this process, at most ``size``, the least recently used dropped first; with ``weigh``, also at
    most ``budget`` in all, each entry weighing what ``weigh`` says (the characters of a rendered part)."""

    def __init__(self, size: int = 64, budget: int | None = None, weigh: Callable[[object], int] | None = None):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()
        self.budget, self.weigh, self.weight = budget, weigh, 0

    def get(self, key: tuple):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key: tuple, value) -> None:
        with self.lock:
            if self.weigh is not None:
                self.weight += self.weigh(value) - (self.weigh(self.entries[key]) if key in self.entries else 0)
            self.entries[key] = value
            self.entries.move_to_end(key)
            while self.entries and (len(self.entries) > self.size
                                    or (self.budget is not None and self.weight > self.budget)):
                _key, dropped = self.entries.popitem(last=False)
                if self.weigh is not None:
                    self.weight -= self.weigh(dropped)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.weight = 0


_SHELVES: list[Shelf] = []


def shelf(size: int = 64, budget: int | None = None, weigh: Callable[[object], int] | None = None) -> Shelf:
    """A shelf of the process's own, emptied with all the others by ``forget_all``."""
    _SHELVES.append(kept := Shelf(size, budget, weigh))
    return kept


def forget_all() -> None:
    """Drop everything this process keeps."""
    for kept in _SHELVES:
        kept.clear()
