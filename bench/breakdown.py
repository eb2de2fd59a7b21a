"""Where a page's time goes, measured in process (part of `make bench`, after the wrk runs).

For each page of the benchmark, signed in as its user, on the benchmark's database: the CPU of one request
(the Python process's; on SQLite that includes the database, on PostgreSQL not the server's) and its time,
the SQL statements it runs (SQLite's BEGIN among them) and the time spent waiting on them, the time spent
rendering templates (from Flask's template signals), and the rest of the time (Flask, the session, the access
rules, building statements, the ORM turning rows into objects). Written to bench/data/breakdown-<db>.json and to docs/PERFORMANCE.md.
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from flask import before_render_template, template_rendered

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUESTS = int(os.environ.get("BENCH_BREAKDOWN_REQUESTS", 100))


def portal_on(url: str):
    """The portal on ``url`` in this process (sign-ins not throttled), and its engine."""
    os.environ.update(DATABASE_URL=url, PORTAL_SECRET_KEY="bench")
    from portal import create_app
    from portal.extensions import db

    app = create_app()
    app.config.update(LOGIN_THROTTLE_ATTEMPTS=10**9)
    with app.app_context():
        return app, db.engine


def measure(url: str, pages: list[tuple[str, str, str, bool]]) -> list[dict]:
    """``pages``: (key, username, path, poll) each; the figures of each."""
    app, engine = portal_on(url)
    clocks = {"sql": 0.0, "statements": 0, "render": 0.0}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _sql_starts(conn, *_args):
        conn.info["bench_started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _sql_ends(conn, *_args):
        clocks["sql"] += time.perf_counter() - conn.info.pop("bench_started")
        clocks["statements"] += 1

    def render_starts(_app, **_extra):
        clocks["render_started"] = time.perf_counter()

    def render_ends(_app, **_extra):
        clocks["render"] += time.perf_counter() - clocks.pop("render_started", time.perf_counter())

    before_render_template.connect(render_starts, app)
    template_rendered.connect(render_ends, app)
    results = []
    for key, username, path, poll in pages:
        client, headers = signed_in(app, username, path, poll)
        for _ in range(5):  # warm: the worker's kept directory and boards, the statement cache
            client.get(path, headers=headers)
        clocks.update(sql=0.0, statements=0, render=0.0)
        started, wall = time.process_time(), time.perf_counter()
        for _ in range(REQUESTS):
            client.get(path, headers=headers)
        cpu = (time.process_time() - started) * 1000 / REQUESTS
        wall = (time.perf_counter() - wall) * 1000 / REQUESTS
        sql, render = clocks["sql"] * 1000 / REQUESTS, clocks["render"] * 1000 / REQUESTS
        results.append({"key": key, "cpu_ms": cpu, "wall_ms": wall, "statements": clocks["statements"] / REQUESTS,
                        "sql_ms": sql, "render_ms": render, "rest_ms": max(wall - sql - render, 0.0)})
    return results


def signed_in(app, username: str, path: str, poll: bool):
    """A test client signed in as ``username``, and the headers of its requests to ``path`` (a poll carries the
    page's ETag, as a board's browser does)."""
    client = app.test_client()
    page = client.get("/auth/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/auth/login", data={"username": username, "password": "demo2026",
                                            "csrf_token": token}).status_code == 303
    headers = {}
    if poll:
        etag = re.search(r'data-etag="([^"]+)"', client.get(path).text).group(1)
        headers = {"HX-Request": "true", "X-Portal-Poll": "1", "If-None-Match": f'"{etag}"'}
    return client, headers


def table(results: list[dict], floor_ms: float | None) -> str:
    rows = ["| page | CPU ms | time ms | statements | waiting on SQL ms | rendering ms | the rest ms |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        rows.append(f"| {r['key']} | {r['cpu_ms']:.1f} | {r['wall_ms']:.1f} | {r['statements']:.0f} | {r['sql_ms']:.1f} "
                    f"| {r['render_ms']:.1f} | {r['rest_ms']:.1f} |")
    if floor_ms is not None:
        rows.append(f"| bare Flask floor (`bench/floor.py`), for scale | {floor_ms:.1f} | | 1 | | | |")
    return "\n".join(rows)


def floor_cpu(url: str) -> float:
    """The bare floor's CPU a request in process, for scale."""
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT / "bench"))
    from floor import app

    client = app.test_client()
    client.post("/login", data={"username": "staff-ls-p01"})
    for _ in range(5):
        client.get("/")
    started = time.process_time()
    for _ in range(REQUESTS * 3):
        client.get("/")
    return (time.process_time() - started) * 1000 / (REQUESTS * 3)


if __name__ == "__main__":
    import json

    measured = measure(sys.argv[1], [tuple(page) for page in json.loads(sys.argv[2])])
    print(json.dumps({"pages": measured, "floor_ms": floor_cpu(sys.argv[1])}))
