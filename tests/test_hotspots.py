"""Hotspots for proactive work (portal.domain.boards.hotspots): the place x category pairs of a board whose cases
recur or rise over 90 days, and the month's topic (每月一题) a lead makes of one and follows on the board."""
import sqlalchemy as sa

from portal.domain.boards import hotspots, scopes
from portal.extensions import db
from portal.models import AuditEntry, MonthlyTopic
from tests.stories import at, log


def spots(code="V1"):
    return [(h.place_id, h.category, h.total, h.recent, h.rising)
            for h in hotspots.hotspots(scopes.scope_for("place", code).counts)]


def test_a_place_and_category_that_recur_or_rise_is_a_hotspot(world, monkeypatch):
    category = world.errand_item.category_zh
    for month, day in ((9, 10), (10, 5)):  # two in the 60 days before, one in the last 30: recurring, not rising
        at(monkeypatch, 2026, month, day, 10, 0)
        log(world)
    at(monkeypatch, 2026, 11, 20, 10, 0)
    log(world)
    at(monkeypatch, 2026, 11, 27, 10, 0)
    assert spots() == [(world.h01.id, category, 3, 1, False)]
    log(world, place=world.h01)
    log(world)  # three in the last 30 days against one a month before: rising too
    assert spots() == [(world.h01.id, category, 5, 3, True)]
    assert spots("H02") == []


def test_a_lead_makes_a_hotspot_the_months_topic_and_the_board_follows_it(world, client, auth, monkeypatch):
    category = world.errand_item.category_zh
    at(monkeypatch, 2026, 11, 27, 10, 0)
    for _ in range(3):
        log(world)
    auth.login("leader")
    board = client.get("/boards/place/V1").get_data(as_text=True)
    assert "近90天热点" in board and "设为本月一题" in board
    refused = client.post("/boards/place/V1/topic", data={"topic": f"{world.h02.id}|{category}"}, follow_redirects=True)
    assert "请选择本看板的一个热点。" in refused.get_data(as_text=True)
    assert client.post("/boards/place/V1/topic", data={"topic": f"{world.h01.id}|{category}"}).status_code == 303
    [topic] = db.session.scalars(sa.select(MonthlyTopic)).all()
    assert (topic.scope_key, topic.place_id, topic.category) == (f"place:{world.h01.parent_id}", world.h01.id, category)
    board = client.get("/boards/place/V1").get_data(as_text=True)
    assert f"本月一题: {world.h01.name_zh} · {category}</h2>" in board
    assert "本月受理 3 件，上月 0 件。" in board
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "topic")) == "topic"


def test_only_the_boards_leads_choose_its_topic(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    for _ in range(3):
        log(world)
    auth.login("staff-p01")
    assert "设为本月一题" not in client.get("/boards/place/H01").get_data(as_text=True)
    topic = f"{world.h01.id}|{world.errand_item.category_zh}"
    assert client.post("/boards/place/H01/topic", data={"topic": topic}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyTopic)) == 0
