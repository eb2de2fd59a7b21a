"""Query budgets: each main page runs the same number of SQL statements with 10 cases as with 2,000
(counted with an SQLAlchemy event listener), so that no page issues a query per row and every list is
bounded. The boards have their own such test in tests/test_boards.py."""
import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.boards import counters
from portal.extensions import db
from portal.models import CaseStatus, ServicePoint
from tests.query_count import counting_queries

# (user, page): what each role opens most.
PAGES = [
    ("staff-p01", "/"),
    ("staff-p01", "/cases/?tab=mine"),
    ("staff-p01", "/cases/?tab=claimable"),
    ("staff-p01", "/cases/?tab=point"),
    ("staff-p01", "/cases/?tab=overdue"),
    ("staff-p01", "/cases/?tab=callbacks"),
    ("staff-p01", "/intake/caller?requester_phone=13912345678"),
    ("proxy-h01", "/errands/"),
    ("proxy-h01", "/cases/?tab=claimable"),
    ("leader", "/cases/?tab=all"),
    ("leader", "/supervision/"),
    ("leader", "/boards/wall"),
    ("leader", "/boards/report"),
    ("root", "/directory/audit/"),
]


@pytest.fixture
def many(world, make):
    """Adds ``n`` cases of 东岙 of every kind a page lists: waiting, the staff member's own, overdue,
    awaiting a callback, all with the caller's phone."""
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()

    def add(n: int) -> None:
        quarter = max(n // 4, 1)
        common = dict(requester_phone="13912345678", household_id=world.household.id)
        make.cases(quarter, world.plain_errand, world.h01, point, **common)
        make.cases(quarter, world.plain_errand, world.h01, point, status=CaseStatus.IN_PROGRESS, owner=world.staff,
                   **common)
        make.cases(quarter, world.plain_errand, world.h01, point, status=CaseStatus.IN_PROGRESS, owner=world.proxy,
                   overdue_flagged_at=clock.now(), **common)
        make.cases(n - 3 * quarter, world.plain_errand, world.h01, point, status=CaseStatus.RESOLVED,
                   owner=world.staff, resolved_at=clock.now(), callback_due_at=clock.now(), **common)
        counters.rebuild()

    return add


@pytest.mark.parametrize("username, page", PAGES)
def test_a_page_runs_as_many_queries_with_2000_cases_as_with_10(app, client, auth, many, username, page):
    auth.login(username)

    def queries() -> int:
        client.get(page)  # warm: the first request of a session may do one-off work
        with counting_queries(app) as statements:
            response = client.get(page)
        assert response.status_code == 200, page
        return len(statements)

    many(10)
    few = queries()
    many(1990)
    assert queries() == few, page


def test_a_case_page_runs_as_many_queries_with_a_long_timeline(app, client, auth, world):
    from portal.domain.cases import lifecycle
    from tests.stories import in_progress

    case = in_progress(world)
    auth.login("staff-p01")

    def queries() -> int:
        client.get(f"/cases/{case.number}")
        with counting_queries(app) as statements:
            assert client.get(f"/cases/{case.number}").status_code == 200
        return len(statements)

    few = queries()
    for n in range(60):
        lifecycle.add_note(case, world.proxy, f"第{n}次联系", public=n % 2 == 0)
    assert queries() == few
