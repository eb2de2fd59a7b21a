"""Where a write's time goes, measured in process: a kiosk's Open311 POST (a case logged) and a claim.

Run on a copy of a benchmark database (never on the benchmark's own):
``python bench/writes.py sqlite:////tmp/copy.sqlite3 [N]``. For each kind of write it prints the CPU of one request
(``time.process_time``; on SQLite that includes the database), the statements it runs, and, from ``cProfile``, the
share of that time by package (SQLAlchemy's ORM, its Core and engine, the driver, Flask, the portal...).
"""
from __future__ import annotations

import cProfile
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTS = [("sqlalchemy/orm", "SQLAlchemy ORM"), ("sqlalchemy/", "SQLAlchemy Core and engine"),
         ("sqlite3", "sqlite3 driver"), ("psycopg", "psycopg driver"), ("flask_babel", "Flask and extensions"),
         ("babel/", "Flask and extensions"), ("flask", "Flask and extensions"), ("werkzeug", "Flask and extensions"),
         ("wtforms", "Flask and extensions"), ("jinja2", "Flask and extensions"), ("/portal/", "the portal"),
         ("<built-in method _sqlite3", "sqlite3 driver"), ("{method 'execute' of 'sqlite3", "sqlite3 driver"),
         ("{method 'commit' of 'sqlite3", "sqlite3 driver")]


def part_of(filename: str) -> str:
    for needle, name in PARTS:
        if needle in filename:
            return name
    return "the standard library and the rest"


def shares(profile: cProfile.Profile) -> dict[str, float]:
    """Each part's share of the own time (tottime) of every function profiled."""
    stats = pstats.Stats(profile)
    total, parts = 0.0, defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        label = filename if filename != "~" else name
        parts[part_of(label)] += tottime
        total += tottime
    return {name: value / total for name, value in sorted(parts.items(), key=lambda kv: -kv[1])}


def main(url: str, count: int) -> None:
    os.environ.update(DATABASE_URL=url, PORTAL_SECRET_KEY="bench")
    from portal import create_app
    from portal.domain.credentials import apikeys
    from portal.extensions import db
    from portal.models import Channel, ServicePoint

    app = create_app()
    app.config.update(LOGIN_THROTTLE_ATTEMPTS=10**9, OPEN311_KEY_RATE_PER_MINUTE=10**9)
    with app.app_context():
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        _key, secret = apikeys.create(None, point, f"writes-{time.time_ns()}", Channel.KIOSK, actor_name="bench")
        engine = db.engine
    statements = [0]
    held = {"wall": 0.0, "cpu": 0.0, "since": None}  # SQLite's write lock: from BEGIN IMMEDIATE to the commit

    @sa.event.listens_for(engine, "begin")
    def _begins(_conn):
        from portal.extensions import current_begin_mode
        if current_begin_mode() == "IMMEDIATE":
            held["since"] = (time.perf_counter(), time.process_time())

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _ends(_conn):
        if held["since"] is not None:
            wall, cpu = held["since"]
            held["wall"] += time.perf_counter() - wall
            held["cpu"] += time.process_time() - cpu
            held["since"] = None

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _counted(_conn, _cursor, statement, *_args):
        statements[0] += 1
        if os.environ.get("BENCH_SQL") and statements[0] <= 60:
            print("   ", " ".join(statement.split())[:150])

    kiosk = app.test_client()
    body = {"api_key": secret, "service_code": "CV05", "address_id": "H01", "phone": "13912345678",
            "description": "bench"}
    numbers = []

    def create():
        response = kiosk.post("/open311/v2/requests.json", data=body)
        assert response.status_code == 201, response.text
        numbers.append(response.json[0]["service_request_id"])

    leader = app.test_client()
    page = leader.get("/auth/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert leader.post("/auth/login", data={"username": "leader", "password": "demo2026",
                                            "csrf_token": token}).status_code == 303
    home = leader.get("/").text
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    waiting = []

    def claim():
        number = waiting.pop()
        response = leader.post(f"/cases/{number}/act/claim", data={"claim-version": "1"},
                               headers={"X-CSRFToken": csrf})
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])

    with app.app_context():
        resolved = [tuple(row) for row in db.session.execute(sa.text(
            "SELECT number, version FROM cases WHERE status = 'resolved' ORDER BY id DESC LIMIT :n"),
            {"n": 2 * count + 10})]

    def callback():
        number, version = resolved.pop()
        response = leader.post(f"/cases/{number}/act/close", data={
            "close-version": str(version), "close-outcome": "solved", "close-satisfaction": "satisfied"},
            headers={"X-CSRFToken": csrf})
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])

    total = count
    for label, action, warm in (("creation (a kiosk's Open311 POST)", create, 10), ("claim", claim, 10),
                                ("callback (close)", callback, 10)):
        count = total if action is not callback else min(total, (len(resolved) - warm) // 2)  # as many as wait
        if action is claim:
            waiting[:] = list(reversed(numbers))
        for _ in range(warm):
            action()
        if os.environ.get("BENCH_SQL"):
            statements[0] = 0
            print(label)
            action()
        statements[0] = 0
        held.update(wall=0.0, cpu=0.0)
        started = time.process_time()
        for _ in range(count):
            action()
        cpu = (time.process_time() - started) * 1000 / count
        counted = statements[0] / count
        locked, locked_cpu = held["wall"] * 1000 / count, held["cpu"] * 1000 / count
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            action()
        profile.disable()
        print(f"{label}: {cpu:.2f} ms CPU a request, {counted:.1f} statements; write lock held "
              f"{locked:.2f} ms ({locked_cpu:.2f} ms CPU) in all its transactions with BEGIN IMMEDIATE")
        for name, share in shares(profile).items():
            print(f"    {name:<36} {share * 100:5.1f} %")
        if os.environ.get("BENCH_TOP"):
            stats = pstats.Stats(profile).sort_stats("cumulative")
            stats.print_stats(int(os.environ["BENCH_TOP"]))
            for (filename, line, name), (_cc, calls, _tt, cumtime, _callers) in sorted(
                    stats.stats.items(), key=lambda item: -item[1][3])[:400]:
                if "/portal/" in filename or "/bench/" in filename:
                    where = filename.split("/portal/")[-1]
                    print(f"    {cumtime * 1000 / count:8.2f} ms  {calls / count:5.1f}x  {where}:{line} {name}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)
