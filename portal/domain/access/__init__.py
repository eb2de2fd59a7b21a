"""Who may see and do what: every rule about people and objects, in this package, one module per kind.

    cases        seeing, signing for, working, dispatching, returning, noting, editing a case; its photos and files
    households   seeing a household; which household a new case may name (the caller look-up)
    heating      stations, incidents, campaigns and their doors and findings, duty rosters, cards
    boards       boards, monthly reports, wall screens
    visits       booking, planning and carrying out home visits; the care register
    supervision  extensions and supervision
    notices      where a notice may be published, who edits it
    jobs         a background job is its starter's alone
    errands      the proxy's errand limit, handing in

Each rule has a name (``"case.claim"``) and a test on one object; where lists need it, the same rule as
an SQL condition (``scope(user, "case.view")``). tests/test_access.py checks that the two forms agree on
the demo data for every user, and tests the route-level consequences: an object of another scope answers
404. The domain asks ``require``; routes ask ``load`` or ``can``; templates ask ``can(permission, obj)``.
None of them decides on their own.

To give a new kind of object its rules: write a module here with ``@rule("kind.verb", Model, sql=...)``
functions, import it below, and add the kind's id parameter to the object matrix in tests/test_access.py.
"""
from portal.domain.access import (  # noqa: F401
    attendance,
    boards,
    calendar,
    cases,
    errands,
    heating,
    households,
    jobs,
    notices,
    supervision,
    visits,
)
from portal.domain.access.cases import can_view, case_scope, claimable, load_case
from portal.domain.access.people import WORKERS, covers, place_ids, sees_everything
from portal.domain.access.policy import RULES, can, load, require, scope

__all__ = ["RULES", "WORKERS", "can", "can_view", "case_scope", "claimable", "covers", "load", "load_case",
           "place_ids", "require", "scope", "sees_everything"]
