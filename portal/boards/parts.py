"""The rendered parts of boards and monthly reports, kept per worker under their scope's stamp.

A board's figures, trends, hotspots, tiles, rankings and categories are made of its numbers (kept under the scope's
stamp by ``board.board_for``) and of how this request shows them: its language, its period and the query string its
links carry, the address the portal is served under, the names of places and categories, and who reads it (which
places' boards they may open, whether they may choose the month's topic). Under a key of all of those each worker
keeps the HTML of each such part, so a board asked again renders only what must be fresh: the time-relative text
("checked 10:05:12", "overdue by 2 h"), the most overdue cases (who asks decides which, and now decides how late),
the month's topic, the reader's own links and forms (a CSRF token is never kept). A part names what it uses in the
template; anything else it came to use would have to join the key (``routes._board_parts``).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_babel import get_locale, get_timezone
from markupsafe import Markup

from portal import clock
from portal.domain.platform import shelves, snapshot

# At most this many characters of kept HTML in a worker (a district board's parts are about 22,000, 2 bytes each
# when any is Chinese): at most 4 MB, about a hundred boards; the least recently used dropped first.
BUDGET = 2_000_000
_PARTS = shelves.shelf(size=2_000, budget=BUDGET, weigh=len)


class Parts:
    """The kept parts of one page as this request shows it; a template wraps each in ``{% call parts.keep(name) %}``.
    With no key (the directory changing in this transaction, a database without marks) nothing is kept."""

    def __init__(self, key: tuple | None):
        self.key, self.found = key, {}

    def has(self, name: str) -> bool:
        """Whether the part ``name`` is kept (then what it is made of need not be loaded): held for this request."""
        if self.key is not None and name not in self.found:
            part = _PARTS.get((*self.key, name))
            if part is not None:
                self.found[name] = part
        return name in self.found

    def keep(self, name: str, caller: Callable[[], str]) -> Markup:
        if self.key is None:
            return Markup(caller())
        if not self.has(name):
            self.found[name] = Markup(caller())
            _PARTS.put((*self.key, name), self.found[name])
        return self.found[name]


def parts_for(what: tuple, stamp: str) -> Parts:
    """The parts of ``what`` (the page, its subject, its period, and whatever of the reader's access it shows) under
    the scope's ``stamp``, as this request shows them."""
    names = snapshot.stamps()
    if names is None:
        return Parts(None)
    return Parts((*what, stamp, clock.today(), str(get_locale()), str(get_timezone()), names, request.script_root,
                  tuple(sorted(request.args.items(multi=True)))))

