"""The holes that scattered access rules left open (issue 16), each tried as the attacker tried it."""
import io
import os
import stat
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.config import from_environment
from portal.domain import heating, notices
from portal.extensions import db
from portal.models import Attachment, AuditEntry, CampaignVisit, Case, DutyShift, Finding, VisitResult
from tests.test_errands import claimed


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def _cases():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


# --- 1. a guessed household or resident on a new case -------------------------------------------------

def test_intake_refuses_a_household_of_another_station_and_logs_nothing(app, world):
    other = _client(app, "staff-p02")  # LS-P02, 西岙 (H02); the household lives in 东岙 (H01)
    resident = world.household.residents[0]
    response = other.post("/intake/", data={
        "requester_phone": "13911110000", "household_id": world.household.id, "resident_id": resident.id,
        "item_query": "dbsq", "item_id": world.errand_item.id, "channel": "counter", "description": "申请低保"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="household_id-error"' in html
    assert "王大爷" not in html and "东岙8号" not in html
    assert _cases() == 0


def test_intake_refuses_a_resident_who_does_not_belong_to_the_household(app, world, make):
    own = make.household(world.h02, address="西岙1号", phone="13911110000", residents=("李四",))
    stranger = world.household.residents[0]
    response = _client(app, "staff-p02").post("/intake/", data={
        "requester_phone": "13911110000", "household_id": own.id, "resident_id": stranger.id,
        "item_query": "dbsq", "item_id": world.errand_item.id, "channel": "counter", "description": "申请低保"})
    assert response.status_code == 422 and 'id="resident_id-error"' in response.get_data(as_text=True)
    assert _cases() == 0


def test_the_hotline_refuses_a_flat_of_another_estate(app, district):
    response = _client(app, "butler-e02").post("/heating/hotline", data={
        "requester_phone": "13911110000", "household_id": district.flat.id, "item": "HT03"})
    assert response.status_code == 422 and "金色环海1号楼1单元101" not in response.get_data(as_text=True)
    assert _cases() == 0


def test_the_caller_lookup_names_only_households_of_ones_area_and_is_audited(app, world):
    """A clerk of another post on the island may find a walk-in resident by phone; the heating district's
    butler may not."""
    found = _client(app, "staff-p02").get("/intake/caller", query_string={"requester_phone": "13912345678"},
                                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "东岙8号" in found
    hidden = _client(app, "butler-e01").get("/intake/caller", query_string={"requester_phone": "13912345678"},
                                           headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "东岙8号" not in hidden and "王大爷" not in hidden
    reasons = db.session.scalars(sa.select(AuditEntry.reason).where(AuditEntry.action == "caller_lookup")).all()
    assert len(reasons) == 2 and all("13912345678" not in r and r.startswith("139") for r in reasons)


# --- 2, 3. another estate's campaign -------------------------------------------------------------------

def _campaign_with_finding(district):
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(),
                                       clock.today() + timedelta(days=7))
    heating.record_visit(campaign, district.flat, district.butler, VisitResult.FINDING, Finding.AIR_LOCK, "")
    return campaign, db.session.scalars(sa.select(CampaignVisit)).one()


def test_a_finding_of_another_estate_cannot_become_ones_case(app, district):
    _campaign, visit = _campaign_with_finding(district)
    for username in ("butler-e02", "staff-p01"):
        assert _client(app, username).post(f"/heating/campaigns/visits/{visit.id}/case").status_code == 404
    assert _cases() == 0


def test_the_households_of_another_estate_cannot_be_walked_or_recorded(app, district, make):
    campaign, visit = _campaign_with_finding(district)
    for username in ("butler-e02", "staff-p01"):
        client = _client(app, username)
        walk = client.get(f"/heating/campaigns/{campaign.id}/walk", query_string={"place": district.e01.id})
        assert walk.status_code == 404 and "金色环海1号楼1单元101" not in walk.get_data(as_text=True)
        door = client.post(f"/heating/campaigns/{campaign.id}/households/{district.flat.id}",
                           data={"result": "absent"})
        assert door.status_code == 404
    db.session.expire_all()
    assert db.session.scalars(sa.select(CampaignVisit.result)).all() == [VisitResult.FINDING]


# --- 4. the duty roster and the cards ------------------------------------------------------------------

def test_the_duty_roster_takes_only_people_of_the_station(app, district):
    desk = _client(app, "desk-sqt")
    refused = desk.post("/heating/duty", data={"station": district.station.id,
                                               "day": (clock.today() + timedelta(days=1)).isoformat(),
                                               "user": district.staff.id})
    assert refused.status_code == 422 and 'id="user-error"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DutyShift)) == 0


def test_a_butler_prints_cards_only_for_their_own_estates(app, district, make):
    make.household(district.e02, address="海之韵2号楼101", phone="13700000002")
    butler = _client(app, "butler-e02")
    with butler.get("/heating/cards?estate=E01") as foreign:
        assert 'class="card-sheet"' not in foreign.get_data(as_text=True)
    with butler.get("/heating/cards?estate=E02") as own:
        assert own.status_code == 200 and 'class="card-sheet"' in own.get_data(as_text=True)


# --- 5. the small ones ---------------------------------------------------------------------------------

def test_a_notice_link_with_a_backslash_stays_on_the_portal(app):
    with app.test_request_context():
        for body in ("[x](/\\evil.example)", "[x](/\t/evil.example)", "[x](\\\\\\\\evil.example)", '<a href="\\\\evil.example">x</a>'):
            assert "evil.example" not in str(notices.html(body)), body
        assert 'href="/lookup"' in str(notices.html("[查询](/lookup)"))


def test_scans_of_residents_documents_are_private_on_disk_and_never_cached(app, world):
    case = claimed(world)
    proxy = _client(app, "proxy-h01")
    proxy.post(f"/errands/{case.number}/attachments", data={"file": (io.BytesIO(b"%PDF-1.4 id card"), "身份证.pdf")},
               content_type="multipart/form-data")
    attachment = db.session.scalars(sa.select(Attachment)).one()
    with proxy.get(f"/cases/files/{attachment.id}") as download:
        assert download.headers["Cache-Control"] == "no-store"
    with app.app_context():
        from portal.domain.platform import files

        path = files.path_of(attachment.sha256)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_ids_too_large_for_the_database_answer_404_not_500(app, world):
    staff = _client(app, "staff-p01")
    for url in ("/cases/files/99999999999999999999", "/visits/9223372036854775808/move",
                "/heating/incidents/99999999999999999999"):
        assert staff.get(url).status_code == 404, url
    assert staff.get("/intake/item", query_string={"item_id": "99999999999999999999"}).status_code in (200, 404)


def test_the_readmes_secret_key_is_read():
    assert from_environment({"SECRET_KEY": "from-readme"})["SECRET_KEY"] == "from-readme"
    both = {"SECRET_KEY": "from-readme", "PORTAL_SECRET_KEY": "portal"}
    assert from_environment(both)["SECRET_KEY"] == "portal"
