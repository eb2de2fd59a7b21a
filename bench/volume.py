"""`make bench-volume`: a city's volume. Each page's SQL at 1,000,000 and at 5,000,000 cases, on PostgreSQL.

For each volume in BENCH_VOLUMES (cases:households[:districts], by default 1,000,000 cases in one district and
5,000,000 in a city of five; the databases that `bench/run.py` builds: `BENCH_CASES=5000000 BENCH_HOUSEHOLDS=750000
BENCH_DISTRICTS=5 BENCH_DATABASES=postgresql BENCH_BUILD_ONLY=1 python bench/run.py` builds the city, and without
BENCH_DISTRICTS one district with five times the cases, measured by naming 5000000:750000), in a process of its own: every page of the
benchmark (`bench/run.py`'s list, and each board and the report again with nothing kept, as on the first
request after a change of its scope), signed in as its user, in process, warmed, then BENCH_VOLUME_REQUESTS
requests, recording the SQL statements each runs and the time waiting on them (the client's side: on a shared
machine mostly scheduling noise). Then each read statement of the page runs again under
`EXPLAIN (ANALYZE, BUFFERS)`, with the parameters it ran with, three times: its execution time on the server
(the least of the three) and the pages of tables and indexes it touched (shared buffers hit or read: the same
on a busy machine as on an idle one). A page's figures are the sums over its statements.

Prints, and writes to bench/data/volume.md, a table per volume after the first, against the first (server ms and
buffers per page at each, the ratios, the target: within 1.5 times) and the plans of each page's slowest statements; the table also between
the volume markers of docs/PERFORMANCE.md, the figures to bench/data/volume.json. Read only, but for the
sign-ins and what a page itself writes (the audit of a caller history look-up).
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DATA, DOC, POSTGRES_ADMIN, flask, machine, pages, postgres_name, samples  # noqa: E402

VOLUMES = [(*(int(n) for n in pair.split(":")), 1)[:3]
           for pair in os.environ.get("BENCH_VOLUMES", "1000000:150000,5000000:750000:5").split(",")]
REQUESTS = int(os.environ.get("BENCH_VOLUME_REQUESTS", 20))
HOT = 2  # statements of each page whose plans are printed
AFRESH = " (built afresh)"  # a board or report with nothing kept: as on the first request after its scope changed
TARGET = 1.5
LARGE = 100  # pages: a sequential scan of a table this large is reported


def shape(statement: str) -> str:
    """The statement without its parameters, an IN list of any length the same: the key to match it by."""
    text = re.sub(r"%\(\w+\)s(::(TIMESTAMP WITH(OUT)? TIME ZONE|[A-Z]+(\(\d+\))?)(\[\])?)?", "?", statement)
    text = re.sub(r"\?(, \?)+", "?…", text)
    return re.sub(r"\s+", " ", text).strip()


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def explain(connection, statement: str, parameters) -> dict:
    """The statement's server time (least of three runs), the buffers it touched, its sequential scans of
    large tables, and its plan as text."""
    runs = [connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters).scalar()[0]
            for _ in range(3)]
    best = min(runs, key=lambda run: run["Execution Time"])
    top = best["Plan"]
    text = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
    return {"server_ms": best["Execution Time"], "buffers": top.get("Shared Hit Blocks", 0)
            + top.get("Shared Read Blocks", 0), "rows": top.get("Actual Rows", 0),
            "seq_scans": sorted({n["Relation Name"] for n in _nodes(top) if n["Node Type"] == "Seq Scan"
                                 and n.get("Shared Hit Blocks", 0) + n.get("Shared Read Blocks", 0) >= LARGE}),
            "plan": text}


def measure(url: str, wanted: list[tuple[str, str, str, bool]]) -> list[dict]:
    """In this process, on ``url``: each page's statements, their times and plans."""
    from bench.breakdown import portal_on, signed_in

    app, engine = portal_on(url)
    from portal.domain.platform import shelves

    record: dict = {"on": False, "statements": []}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _starts(conn, _cursor, statement, parameters, _context, executemany):
        conn.info["volume_started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _ends(conn, _cursor, statement, parameters, _context, executemany):
        took = (time.perf_counter() - conn.info.pop("volume_started")) * 1000
        if record["on"]:
            record["statements"].append((statement, None if executemany else parameters, took))

    results = []
    for key, username, path, poll in wanted:
        try:
            client, headers = signed_in(app, username, path, poll)
        except AttributeError:  # no ETag on the page: it failed
            client, headers = None, {}
        statuses = {client.get(path, headers=headers).status_code for _ in range(5)} if client else {500}
        if statuses - {200, 304}:  # warm (the worker's kept directory and boards, the statement cache), or failed
            results.append({"key": key, "error": f"HTTP {sorted(statuses)}"})
            continue
        waits = []
        for _ in range(REQUESTS):
            if key.endswith(AFRESH):
                shelves.forget_all()
            record.update(on=True, statements=[])
            client.get(path, headers=headers)
            record["on"] = False
            waits.append(sum(took for *_, took in record["statements"]))
        statements = []
        with engine.connect() as connection:
            for statement, parameters, _took in record["statements"]:  # those of the last request
                figures = {"sql": shape(statement)}
                if parameters is not None and re.match(r"\s*(SELECT|WITH)\b", statement, re.IGNORECASE):
                    figures.update(explain(connection, statement, parameters))
                statements.append(figures)
            connection.rollback()
        results.append({"key": key, "client_ms": statistics.median(waits), "statements": statements,
                        "server_ms": sum(s.get("server_ms", 0.0) for s in statements),
                        "buffers": sum(s.get("buffers", 0) for s in statements)})
    return results


def wanted_pages(url: str) -> list[tuple[str, str, str, bool]]:
    """The benchmark's pages, and each board and report again with nothing kept."""
    listed = pages(samples(url))
    return listed + [(key + AFRESH, user, path, poll) for key, user, path, poll in listed
                     if path.startswith("/boards/") and not poll]


def database(cases: int, households: int, districts: int) -> str:
    return sa.make_url(POSTGRES_ADMIN).set(database=postgres_name(cases, households, districts)).render_as_string(
        hide_password=False)


def label(cases: int, households: int, districts: int) -> str:
    return f"{cases:,} cases" + (f" in {districts} districts" if districts > 1 else "")


def _ratio(after: float, before: float) -> float:
    return after / before if before else 1.0


def comparisons(runs: dict[str, list[dict]]) -> list[tuple[str, str]]:
    """For each volume after the first, against the first: its table and the plans of its slowest statements."""
    (small, smaller), *rest = list(runs.items())
    return [compare(small, smaller, large, larger) for large, larger in rest]


def compare(small: str, smaller: list[dict], large: str, larger: list[dict]) -> tuple[str, str]:
    rows = [f"**{large} against {small}**\n",
            f"| page | statements | server ms at {small} | at {large} | × | buffers at {small} | at {large} | × "
            f"| target (≤ {TARGET}×) | sequential scans of large tables |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    plans = [f"### The slowest statements' plans at {large}\n"]
    for before, after in zip(smaller, larger, strict=True):
        if "error" in before or "error" in after:
            rows.append(f"| {after['key']} | failed: {before.get('error') or after.get('error')} |" + " |" * 8)
            continue
        ratio = _ratio(after["server_ms"], before["server_ms"])
        scans = sorted({t for s in after["statements"] for t in s.get("seq_scans", [])})
        rows.append(f"| {after['key']} | {len(after['statements'])} | {before['server_ms']:.2f} | "
                    f"{after['server_ms']:.2f} | {ratio:.2f} | {before['buffers']:,} | {after['buffers']:,} | "
                    f"{_ratio(after['buffers'], before['buffers']):.2f} | "
                    f"{'met' if ratio <= TARGET else '**not met**'} | {', '.join(scans) or 'none'} |")
        was = {s["sql"]: s for s in before["statements"] if "plan" in s}
        for statement in sorted((s for s in after["statements"] if "plan" in s), key=lambda s: -s["server_ms"])[:HOT]:
            earlier = was.get(statement["sql"], {})
            plans.append(f"#### {after['key']}: {earlier.get('server_ms', float('nan')):.3f} ms and "
                         f"{earlier.get('buffers', '?')} buffers at {small}, {statement['server_ms']:.3f} ms and "
                         f"{statement['buffers']} buffers at {large}\n\n```sql\n{statement['sql']}\n```\n\n```\n"
                         + "\n".join(statement["plan"]) + "\n```\n")
    return "\n".join(rows), "\n".join(plans)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        print(json.dumps(measure(sys.argv[2], [tuple(page) for page in json.loads(sys.argv[3])])))
        return
    runs: dict[str, list[dict]] = {}
    for volume in VOLUMES:
        url = database(*volume)
        flask(url, "db", "upgrade")  # data built by an older checkout gets the newer indexes (as bench/run.py)
        env = {**os.environ, "PORTAL_SECRET_KEY": "bench"}
        output = subprocess.run([sys.executable, __file__, "measure", url, json.dumps(wanted_pages(url))],
                                cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        runs[label(*volume)] = json.loads(output.strip().splitlines()[-1])
        print(f"measured {label(*volume)}", flush=True)
    (DATA / "volume.json").write_text(json.dumps(runs, indent=1, ensure_ascii=False))
    tables = comparisons(runs)
    text = "\n\n".join(f"{table}\n\n{plans}" for table, plans in tables)
    (DATA / "volume.md").write_text(text, encoding="utf-8")
    print(text)
    # The tables (not the plans: those are in bench/data/volume.md) between the volume markers of the doc.
    start, end = "<!-- volume:start -->", "<!-- volume:end -->"
    block = (f"{start}\nMeasured {time.strftime('%Y-%m-%d %H:%M')} on {machine().split('; gunicorn')[0]}, in process, on PostgreSQL "
             f"({'; '.join(f'{label(*v)} with {v[1]:,} households' for v in VOLUMES)}).\n\n"
             + "\n\n".join(table for table, _ in tables) + f"\n{end}")
    doc = DOC.read_text(encoding="utf-8")
    DOC.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, doc, flags=re.S),
                   encoding="utf-8")


if __name__ == "__main__":
    main()
