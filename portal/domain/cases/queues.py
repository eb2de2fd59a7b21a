"""Case queues: the tabs (mine, my point's, claimable, overdue, awaiting the office, returned, all),
their filters, search, sorting and counts.

Every list is limited to what the user may see (``access.case_scope``), and loads in a fixed number of
queries however many cases there are: one for the tab counts, one for the total, one for the page. A page is
plain rows (``LINE``: the columns a row shows, and the names of its item, place and owner), never ORM objects.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import access
from portal.domain.platform import privacy
from portal.extensions import MAX_ID, db
from portal.models import OPEN_STATUSES, Case, CaseStatus, Channel, Place, Role, ServiceItem, User

PAGE_SIZE = 20
# A list counts at most this many cases; beyond it the page says "more than" (filters narrow it).
COUNT_CAP = 10_000
MAX_PAGE = COUNT_CAP // PAGE_SIZE
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class Tab:
    key: str
    label: object
    roles: frozenset


TABS = [
    Tab("mine", _l("Mine"), frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD})),
    Tab("claimable", _l("To claim"), frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD})),
    Tab("point", _l("My point and places"), frozenset({Role.STAFF})),
    Tab("overdue", _l("Overdue"), frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD, Role.ADMIN})),
    Tab("awaiting", _l("Awaiting higher office"), frozenset({Role.STAFF, Role.PROXY, Role.LEAD})),
    Tab("returned", _l("Returned"), frozenset({Role.STAFF, Role.LEAD})),
    Tab("callbacks", _l("Callbacks"), frozenset({Role.STAFF, Role.LEAD})),
    Tab("all", _l("All"), frozenset({Role.LEAD, Role.ADMIN})),
]
# Each order is written on the columns of a list's rows (``c``: the case table, or the rows of a union).
SORTS = {
    # Urgent cases (a leak) come first in every queue unless the user sorts otherwise.
    "new": (_l("Urgent first, then newest"),
            lambda c: (sa.case((c.priority == "urgent", 0), else_=1), c.created_at.desc(), c.id.desc())),
    "due": (_l("Due soonest"), lambda c: (sa.case((c.due_at.is_(None), 1), else_=0), c.due_at.asc(), c.id)),
    "updated": (_l("Recently changed"), lambda c: (c.updated_at.desc(), c.id.desc())),
    "newest": (_l("Newest first"), lambda c: (c.created_at.desc(), c.id.desc())),
    "callback": (_l("Callback due first"), lambda c: (c.callback_due_at.asc(), c.id)),
}


# A tab's order unless the user picks one: callbacks by when they are due; "all", which is mostly
# closed cases, newest first (an index walk; any other order sorts every case the filters leave).
DEFAULT_SORT = {"callbacks": "callback", "all": "newest"}


def tabs_for(user: User) -> list[Tab]:
    return [tab for tab in TABS if user.role in tab.roles]


def default_tab(user: User, counts: dict[str, int | None] | None = None) -> str:
    """The tab a queue opens on when the user has not picked one: for those who work cases, the first tab
    (in the tabs' order) that holds any, so a clerk who has just logged cases for the point does not land
    on an empty "mine"; "mine" when every tab is empty. Those who only watch (the admin) open on "all"."""
    if user.role is Role.ADMIN:
        return "all"
    for tab in tabs_for(user):
        if (counts or {}).get(tab.key):
            return tab.key
    return "mine"


def tab_condition(key: str, user: User, status_chosen: bool = False) -> sa.ColumnElement[bool]:
    """The cases of one tab. "Mine" and "my service point" hold open cases, unless the user picked a
    status in the filters: then that status wins (to find resolved or closed cases)."""
    now = clock.now()
    open_ = sa.true() if status_chosen else Case.status.in_(OPEN_STATUSES)
    if key == "mine":
        return sa.and_(Case.owner_id == user.id, open_)
    if key == "claimable":
        return access.claimable(user)
    if key == "point":  # with the staff scope applied: the open cases of their point and of the places they cover
        return open_
    if key == "overdue":
        return sa.and_(Case.status.in_(OPEN_STATUSES), Case.due_at < now)
    # The tabs of work list only the cases the viewer can act on there: the office's answer is recorded by
    # whoever works the case or by the off-island hall that chases it (and followed up by its dispatchers);
    # returned cases are routed again, and callbacks made, by their dispatchers.
    if key == "awaiting":
        return sa.and_(Case.status == CaseStatus.AWAITING_OFFICE,
                       sa.or_(access.scope(user, "case.office_answer"), access.scope(user, "case.dispatch")))
    if key == "returned":
        return sa.and_(Case.status == CaseStatus.RETURNED, access.scope(user, "case.dispatch"))
    if key == "callbacks":  # resolved cases waiting for their callback (回访), due ones first; a case whose
        # resident may still answer by the link of the result's SMS waits for that answer first
        return sa.and_(Case.status == CaseStatus.RESOLVED, access.scope(user, "case.dispatch"),
                       sa.or_(Case.answer_until.is_(None), Case.answer_until <= now))
    return sa.true()


@dataclass
class Filters:
    """What a queue is narrowed to; every field round-trips through the URL."""

    status: str = ""
    category: str = ""
    place: int | None = None
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "new"
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args, default_sort: str = "new") -> Filters:
        filters = cls(
            status=args.get("status", "") if args.get("status", "") in {s.value for s in CaseStatus} else "",
            category=args.get("category", "")[:40],
            place=_bounded(args.get("place", type=int)),
            channel=args.get("channel", "") if args.get("channel", "") in {c.value for c in Channel} else "",
            q=args.get("q", "").strip()[:100],
            sort=args.get("sort") if args.get("sort") in SORTS else default_sort,
            page=min(max(args.get("page", 1, type=int) or 1, 1), MAX_PAGE),
        )
        for name in ("date_from", "date_to"):
            raw = args.get(name, "")
            if raw:
                try:
                    value = date.fromisoformat(raw)
                except ValueError:
                    filters.errors[name] = _l("Use a date like 2026-11-28.")
                    continue
                if not EARLIEST <= value <= LATEST:
                    filters.errors[name] = _l("Use a date between 2000 and 2099.")
                    continue
                setattr(filters, name, value)
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            filters.errors["date_to"] = _l("The end date is before the start date.")
        return filters

    def as_args(self, **override) -> dict:
        values = {
            "status": self.status, "category": self.category, "place": self.place, "channel": self.channel,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "", "q": self.q,
            "sort": self.sort,  # always, as a tab's own order may differ (DEFAULT_SORT)
            "page": self.page if self.page > 1 else "",
        }
        values.update(override)
        return {k: v for k, v in values.items() if v not in ("", None)}


def _bounded(value: int | None) -> int | None:
    return value if value is not None and 0 < value <= MAX_ID else None


_NUMBER = re.compile(r"^[A-Za-z]{1,8}-\d{0,8}(-\d{0,4})?$")
_PHONE = re.compile(r"^\s*\+?[0-9(][0-9 ()./-]*$")  # digits, and what people write between them


def search_condition(q: str) -> sa.ColumnElement[bool]:
    """Match a case number, a phone number, a name or words of the description."""
    if _NUMBER.match(q):
        return Case.number.startswith(q.upper())
    if _PHONE.match(unicodedata.normalize("NFKC", q)):
        # A whole number, however written, is matched in the form phones are stored in; a part, as typed.
        phone = privacy.normalise_phone(q)
        if len(phone) >= 7:
            return Case.requester_phone.startswith(phone)
        if len(phone) == 4:
            return Case.requester_phone.endswith(phone)
    return sa.or_(Case.requester_name.contains(q), Case.description.contains(q), Case.number.contains(q.upper()))


def filter_conditions(filters: Filters) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if filters.status:
        conditions.append(Case.status == CaseStatus(filters.status))
    if filters.category:
        conditions.append(Case.item_id.in_(sa.select(ServiceItem.id).where(ServiceItem.category_zh == filters.category)))
    if filters.place:
        conditions.append(Case.place_id == filters.place)
    if filters.channel:
        conditions.append(Case.channel == Channel(filters.channel))
    if filters.date_from and "date_from" not in filters.errors:
        conditions.append(Case.created_at >= clock.local_midnight(filters.date_from))
    if filters.date_to and "date_to" not in filters.errors:
        conditions.append(Case.created_at < clock.local_midnight(filters.date_to + timedelta(days=1)))
    if filters.q:
        conditions.append(search_condition(filters.q))
    return conditions


# Every tab but "all" holds only cases still moving (open, or resolved and waiting for the callback),
# so the counts read those alone: a small share of the cases, through the status indexes, however many
# closed cases the years pile up.
LIVE_STATUSES = OPEN_STATUSES | {CaseStatus.RESOLVED}


def counts(user: User) -> dict[str, int | None]:
    """How many cases each of the user's tabs holds, in one query; None for "all", which is not a
    to-do list and would cost a count of every case."""
    tabs = [tab for tab in tabs_for(user) if tab.key != "all"]
    if not tabs:
        return {"all": None}
    columns = [sa.func.count().filter(tab_condition(tab.key, user)).label(tab.key) for tab in tabs]
    row = db.session.execute(sa.select(*columns).select_from(Case)
                             .where(access.case_scope(user), Case.status.in_(LIVE_STATUSES))).one()
    return {**dict(row._mapping), "all": None}


# What a row of a case list shows (templates/cases/_row.html, templates/errands/_pool_item.html), read as plain
# rows: the case's own columns and the names of its item, place and owner (``lines``).
LINE = (Case.id, Case.number, Case.status, Case.priority, Case.requester_name, Case.requester_phone, Case.address,
        Case.place_id, Case.owner_id, Case.incident_id, Case.due_at, Case.created_at, Case.version,
        ServiceItem.name_zh.label("item_name_zh"), ServiceItem.name_en.label("item_name_en"),
        Place.name_zh.label("place_name_zh"), Place.name_en.label("place_name_en"),
        User.display_name.label("owner_name"))
# The columns the orders of ``SORTS`` read: a list is found as these, and its page's rows then read as ``LINE``.
ORDERED = (Case.id, Case.priority, Case.created_at, Case.due_at, Case.updated_at, Case.callback_due_at)


@dataclass
class Page:
    cases: list[sa.Row]  # rows of ``LINE`` with the names (``lines``)
    total: int
    page: int

    @property
    def cap(self) -> int:
        return COUNT_CAP

    @property
    def capped(self) -> bool:
        """Whether there are more than ``cap`` cases (the total then says "more than")."""
        return self.total > self.cap

    @property
    def pages(self) -> int:
        return max((min(self.total, self.cap) + PAGE_SIZE - 1) // PAGE_SIZE, 1)


def conditions(user: User, tab: str, filters: Filters) -> list[list[sa.ColumnElement[bool]]]:
    """What one tab's list holds: the one condition its page, its total and the badge that opens it share. "To
    claim" is two, the halves of ``claimable`` (read as a UNION ALL, each one index look-up); any other tab one."""
    common = [access.case_scope(user), *filter_conditions(filters)]
    if tab == "claimable":
        return [[half, *common] for half in access.cases.claimable_halves(user)]
    return [[tab_condition(tab, user, bool(filters.status)), *common]]


def listed(where: list[list[sa.ColumnElement[bool]]], *columns) -> sa.Select | sa.CompoundSelect:
    """The ``columns`` of the cases of ``where`` (``conditions``), unordered: one select, or the union of several."""
    selects = [sa.select(*columns).where(*condition) for condition in where]
    return selects[0] if len(selects) == 1 else sa.union_all(*selects)


def total_of(rows: sa.Select | sa.CompoundSelect) -> int:
    """How many ``rows`` there are, counted up to one more than ``COUNT_CAP``."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(rows.limit(COUNT_CAP + 1).subquery())) or 0


def lines(rows: sa.Select | sa.CompoundSelect, order, page: int = 1) -> list[sa.Row]:
    """One page of ``rows`` (a select of ``ORDERED``, or a union of such) in ``order`` (a function of the rows'
    columns, as in ``SORTS``), read as ``LINE``: the names are looked up for the page's rows alone."""
    if isinstance(rows, sa.CompoundSelect):
        found = rows.subquery("listed")
        on_page = sa.select(found.c.id).order_by(*order(found.c))
    else:
        on_page = rows.with_only_columns(Case.id).order_by(*order(Case))
    on_page = on_page.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return db.session.execute(_named().where(Case.id.in_(on_page)).order_by(*order(Case))).all()


def line(user: User, number: str) -> sa.Row | None:
    """One case as a row of a list, if ``user`` may see it (after an action on the row, to show it again)."""
    return db.session.execute(_named().where(Case.number == number, access.case_scope(user))).first()


def _named() -> sa.Select:
    return sa.select(*LINE).join(Case.item).outerjoin(Case.place).outerjoin(User, User.id == Case.owner_id)


def page_of(user: User, tab: str, filters: Filters) -> Page:
    """The cases of one tab, filtered, sorted and paginated, as rows."""
    where = conditions(user, tab, filters)
    return Page(lines(listed(where, *ORDERED), SORTS[filters.sort][1], filters.page), total_of(listed(where, Case.id)),
                filters.page)


def todo_list(user: User) -> dict[str, str]:
    """The list the badge opens, as the queue's URL arguments: the cases waiting for the user to sign for
    them (签收). A lead may sign for any case of their places, but only what is given to them waits for
    them: the pool is the front line's (the lead watches it on the boards), so a lead's badge opens their
    own cases still waiting to be signed for."""
    if user.role is Role.LEAD:
        return {"tab": "mine", "status": CaseStatus.LOGGED.value}
    return {"tab": "claimable"}


def todo_count(user: User) -> int:
    """The number on the user's badge: exactly the total of the list the badge opens (``todo_list``), by
    the same condition, so the badge never promises more or fewer cases than that list shows."""
    if user.role not in access.WORKERS:
        return 0
    args = todo_list(user)
    return total_of(listed(conditions(user, args["tab"], Filters(status=args.get("status", ""))), Case.id))
