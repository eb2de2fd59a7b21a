"""What a worker process keeps between requests: boards and reports (``boards.board``), the directory and the
catalog (``platform.snapshot``). Everything is kept under a key that holds the stamp of what it came from (the
marks the database writes with every change), so an entry is never stale, only unused; the least recently used
go first. ``forget_all`` drops everything (a new app: its database may not be the one they came from)."""
from __future__ import annotations

import threading
from collections import OrderedDict


class Shelf:
    """Entries kept by this process, at most ``size``, the least recently used dropped first."""

    def __init__(self, size: int = 64):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key: tuple, value) -> None:
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_SHELVES: list[Shelf] = []


def shelf(size: int = 64) -> Shelf:
    """A shelf of the process's own, emptied with all the others by ``forget_all``."""
    _SHELVES.append(kept := Shelf(size))
    return kept


def forget_all() -> None:
    """Drop everything this process keeps."""
    for kept in _SHELVES:
        kept.clear()
