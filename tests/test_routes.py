"""The route x role matrix, generated from the URL map: every route, with every method, tried by every
role and anonymously. A route added without an access rule fails here; a route that answers 500 to
anyone fails here; a page that prints "None" into an attribute fails here."""
import re

import pytest
from werkzeug.routing import IntegerConverter

from portal.models import Role
from portal.web.guards import rule_of

USERS = {"staff-p01": Role.STAFF, "proxy-h01": Role.PROXY, "team1-a": Role.TEAM, "butler-e01": Role.BUTLER,
         "leader": Role.LEAD, "root": Role.ADMIN, None: None}
# Routes whose side effect would end the client's own session for the rest of the matrix.
SKIP = {("auth.logout", "POST")}
# Allowed by role, refused by what the user is: staff of an island post have no heating station; only
# a team's lead moves visits or sees every team's calendar.
REFUSED_BY_SCOPE = {("heating.index", Role.STAFF), ("visits.move", Role.TEAM), ("visits.calendar", Role.TEAM)}
MISSING_ID = 999_999  # no row has it: a POST reaches its view and finds nothing to change


def sample_values(rule) -> dict:
    values = {}
    for name, converter in rule._converters.items():
        choice = re.search(rf"<any\(([^)]*)\):{name}>", rule.rule)
        if choice:
            values[name] = choice.group(1).split(",")[0].strip()
        elif isinstance(converter, IntegerConverter):
            values[name] = MISSING_ID
        else:
            values[name] = "ZZ-NOT-THERE"
    return values


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) not in SKIP:
                yield rule, method


def test_every_route_declares_who_may_call_it(app):
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint != "static" and rule_of(app.view_functions[rule.endpoint]) == "missing"]
    assert missing == []


def test_every_route_answers_every_role_as_its_rule_says(app, world):
    clients = {}
    for username in USERS:
        client = app.test_client()
        if username:
            assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}
                               ).status_code == 303
        clients[username] = client
    adapter = app.url_map.bind("localhost")
    problems = []
    tried = 0
    for rule, method in routes(app):
        url = adapter.build(rule.endpoint, sample_values(rule), method=method)
        allowed = rule_of(app.view_functions[rule.endpoint])
        for username, role in USERS.items():
            response = clients[username].open(url, method=method, data={} if method == "POST" else None)
            tried += 1
            status = response.status_code
            where = f"{method} {url} as {username or 'anonymous'}: {status}"
            if status >= 500:
                problems.append(where + " (server error)")
            elif allowed is None:
                continue  # public: any clear answer will do
            elif role is None:
                if status not in (302, 303) or "/auth/login" not in response.headers.get("Location", ""):
                    problems.append(where + " (anonymous not sent to sign in)")
            elif role not in allowed and status != 403:
                problems.append(where + " (should be refused)")
            elif role in allowed and status == 403 and (rule.endpoint, role) not in REFUSED_BY_SCOPE:
                problems.append(where + " (refused though the rule allows it)")
            if status == 200 and response.mimetype == "text/html" and '="None"' in response.get_data(as_text=True):
                problems.append(where + ' (prints ="None")')
    assert tried > 500
    assert problems == [], "\n".join(problems)


def test_a_refused_read_of_another_places_case_is_404_and_audited(client, auth, world):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import AuditEntry
    from tests.stories import log

    case = log(world)
    auth.login("proxy-h02")
    assert client.get(f"/cases/{case.number}").status_code == 404
    denied = db.session.scalars(sa.select(AuditEntry).filter_by(action="denied", object_id=str(case.id))).one()
    assert denied.actor_name == "proxy-h02" and denied.reason == "read"


@pytest.mark.parametrize("username", ["staff-p01", "leader"])
def test_a_role_refused_a_route_is_audited(client, auth, world, username):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import AuditEntry

    auth.login(username)
    assert client.get("/directory/").status_code == 403
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="denied", object_id="directory.index")).one()


def test_the_full_id_number_shows_only_on_a_click_that_is_audited(client, auth, world):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import AuditEntry, Resident
    from tests.stories import log

    resident = db.session.scalars(sa.select(Resident).filter_by(household_id=world.household.id)).first()
    resident.id_number = "370211195001011236"
    db.session.commit()
    case = log(world, resident=resident)
    auth.login("staff-p01")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "370211********1236" in page and "370211195001011236" not in page
    revealed = client.post(f"/cases/{case.number}/id-number", headers={"HX-Request": "true"})
    assert "370211195001011236" in revealed.get_data(as_text=True)
    assert revealed.headers["Cache-Control"] == "no-store"
    entry = db.session.scalars(sa.select(AuditEntry).filter_by(action="reveal")).one()
    assert entry.actor_name == "staff-p01" and entry.object_id == str(resident.id) and case.number in entry.reason
    auth.logout()
    auth.login("proxy-h02")  # not in scope: nothing revealed, the refusal audited
    assert client.post(f"/cases/{case.number}/id-number").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).filter_by(action="reveal")) == 1


def test_every_view_says_what_it_does(app):
    """A newcomer reads the URL map with ``flask routes`` and each view's first line."""
    assert sorted(f"{v.__module__}.{v.__name__}" for name, v in app.view_functions.items()
                  if name != "static" and not (v.__doc__ or "").strip()) == []
