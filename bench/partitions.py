"""The timeline partitioned by month, tried on a copy of the city's database (docs/PERFORMANCE.md, "What a district
adds first"): `python bench/partitions.py`, after `bench/run.py` built the city (BENCH_CASES=5000000
BENCH_HOUSEHOLDS=750000 BENCH_DISTRICTS=5 BENCH_DATABASES=postgresql BENCH_BUILD_ONLY=1), or another that
BENCH_PARTITION_SOURCE names (cases:households:districts).

Copies the database (``CREATE DATABASE … TEMPLATE``, once, kept as <name>_by_month), turns its ``case_events`` into
a table partitioned by the month of ``at`` (one partition a month, the primary key (id, at), the same indexes, the
same foreign keys; nothing refers to a timeline row), then measures on both, as `make bench-volume` does
(``bench/volume.py``: each page's statements under EXPLAIN (ANALYZE, BUFFERS)), every page of the benchmark and two
statements that read the timeline directly: one case's timeline (the case page's) and a month's resolutions (a
board's drill-down, a report's period). Writes bench/data/partitions.md and prints it. Read only on the original.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DATA, POSTGRES_ADMIN, flask, samples  # noqa: E402
from bench.volume import compare, database, explain, label, wanted_pages  # noqa: E402

# cases:households:districts of the database copied (the city by default; a smaller one to try the script)
VOLUME = tuple(int(n) for n in os.environ.get("BENCH_PARTITION_SOURCE", "5000000:750000:5").split(":"))
SOURCE = database(*VOLUME)
COPY = sa.make_url(SOURCE).set(database=sa.make_url(SOURCE).database + "_by_month").render_as_string(
    hide_password=False)
# A month's resolutions (a board's drill-down over a period), and one case's timeline (the case page's statement).
STATEMENTS = {
    "a month's resolutions": ("SELECT count(*) FROM case_events WHERE kind = 'resolved' AND at >= %(first)s "
                              "AND at < %(next)s", {"first": date(2026, 10, 1), "next": date(2026, 11, 1)}),
    "one case's timeline": ("SELECT * FROM case_events WHERE case_id = %(case)s ORDER BY id", None),
}


def engine_of(url: str, **options) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), **options)


def copy_by_month() -> None:
    marker = DATA / (sa.make_url(COPY).database + ".done")
    admin = engine_of(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    name, source = sa.make_url(COPY).database, sa.make_url(SOURCE).database
    with admin.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and marker.exists():
            return
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(f"copying {source} to {name}", flush=True)
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    admin.dispose()
    engine = engine_of(COPY)
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        first, last = run("SELECT date_trunc('month', min(at)), date_trunc('month', max(at)) FROM case_events").one()
        run("ALTER TABLE case_events RENAME TO case_events_flat")
        run("ALTER TABLE case_events_flat RENAME CONSTRAINT pk_case_events TO pk_case_events_flat")
        for index in ("ix_case_events_at", "ix_case_events_case_id_id"):
            run(f"ALTER INDEX {index} RENAME TO {index}_flat")
        for constraint in ("fk_case_events_actor_id_users", "fk_case_events_case_id_cases"):
            run(f"ALTER TABLE case_events_flat DROP CONSTRAINT {constraint}")
        run("CREATE TABLE case_events (LIKE case_events_flat INCLUDING DEFAULTS) PARTITION BY RANGE (at)")
        months = run("SELECT generate_series(%(first)s::timestamp, %(last)s::timestamp + interval '2 months', "
                     "interval '1 month')", {"first": first, "last": last}).scalars().all()
        for start, end in zip(months, months[1:], strict=False):
            run(f"CREATE TABLE case_events_{start:%Y_%m} PARTITION OF case_events "
                f"FOR VALUES FROM ('{start:%Y-%m-%d}') TO ('{end:%Y-%m-%d}')")
        print(f"{len(months) - 1} partitions; moving the rows", flush=True)
        run("INSERT INTO case_events SELECT * FROM case_events_flat")
        run("SET LOCAL maintenance_work_mem = '512MB'")
        run("ALTER TABLE case_events ADD CONSTRAINT pk_case_events PRIMARY KEY (id, at)")
        run("CREATE INDEX ix_case_events_at ON case_events (at)")
        run("CREATE INDEX ix_case_events_case_id_id ON case_events (case_id, id)")
        run("ALTER TABLE case_events ADD CONSTRAINT fk_case_events_case_id_cases FOREIGN KEY (case_id) "
            "REFERENCES cases (id) ON DELETE CASCADE")
        run("ALTER TABLE case_events ADD CONSTRAINT fk_case_events_actor_id_users FOREIGN KEY (actor_id) "
            "REFERENCES users (id)")
        run("ALTER SEQUENCE case_events_id_seq OWNED BY case_events.id")
        run("DROP TABLE case_events_flat")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE case_events")
    engine.dispose()
    marker.touch()


def statements(url: str, case_number: str) -> list[dict]:
    engine = engine_of(url)
    with engine.connect() as connection:
        case = connection.exec_driver_sql("SELECT id FROM cases WHERE number = %(n)s", {"n": case_number}).scalar()
        found = [{"key": key, "sql": sql, **explain(connection, sql, parameters or {"case": case})}
                 for key, (sql, parameters) in STATEMENTS.items()]
    engine.dispose()
    return [{**figures, "statements": [figures]} for figures in found]


def main() -> None:
    copy_by_month()
    runs = {}
    for name, url in ((f"{label(*VOLUME)} (one timeline)", SOURCE), (f"{label(*VOLUME)} (the timeline by month)", COPY)):
        flask(url, "db", "upgrade")
        output = subprocess.run([sys.executable, str(ROOT / "bench" / "volume.py"), "measure", url,
                                 json.dumps(wanted_pages(url))], cwd=ROOT, check=True, capture_output=True, text=True,
                                env={**os.environ, "PORTAL_SECRET_KEY": "bench"}).stdout
        runs[name] = json.loads(output.strip().splitlines()[-1]) + statements(url, samples(url)["case"])
        print(f"measured {name}", flush=True)
    (small, smaller), (large, larger) = runs.items()
    table, plans = compare(small, smaller, large, larger)
    text = f"{table}\n\n{plans}"
    (DATA / "partitions.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
