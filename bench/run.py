"""`make bench`: the portal under gunicorn on district-scale data, driven by wrk, on SQLite and PostgreSQL.

For each database: build it once (migrate, the directory, then `flask generate` with BENCH_HOUSEHOLDS and
BENCH_CASES, and BENCH_DISTRICTS for a city of several districts; kept under bench/data/ or as the PostgreSQL
database portal_bench_<cases>_<households>[_<districts>d], never in git).
Then start the portal under gunicorn with two workers, and beside it the bare Flask floor (bench/floor.py, also
two workers, on the same database), and run wrk against each page or write for BENCH_SECONDS, interleaved with
the floor (floor, page, floor, page…) BENCH_REPEATS times, signed in afresh each run. Each figure is the median
of its runs, with the CPU the workers spent per request (from /proc, steadier than requests a second on a
shared machine) and the ratio to the floor run just before it. The table goes between the bench markers of
docs/PERFORMANCE.md; the raw figures to bench/data/results-<db>.json.
"""
from __future__ import annotations

import itertools
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.breakdown import table as breakdown_table  # noqa: E402
from tests.servers import Gunicorn  # noqa: E402

DATA = ROOT / "bench" / "data"
DOC = ROOT / "docs" / "PERFORMANCE.md"
LUA = ROOT / "bench" / "report.lua"
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", 150_000))
CASES = int(os.environ.get("BENCH_CASES", 1_000_000))
DISTRICTS = int(os.environ.get("BENCH_DISTRICTS", 1))
SECONDS = int(os.environ.get("BENCH_SECONDS", 8))
REPEATS = int(os.environ.get("BENCH_REPEATS", 2))
THREADS, CONNECTIONS, WRITERS = 2, 8, 20
PASSWORD = "demo2026"
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def flask(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], cwd=ROOT, env=env,
                            check=True, capture_output=True, text=True)
    return result.stdout


def build(url: str) -> None:
    print(f"building {url} with {HOUSEHOLDS:,} households and {CASES:,} cases in {DISTRICTS} district(s) (once)",
          flush=True)
    flask(url, "db", "upgrade")
    flask(url, "demo-data", "--cases", "0")
    started = time.monotonic()
    print(flask(url, "generate", "--households", str(HOUSEHOLDS), "--cases", str(CASES),
                "--districts", str(DISTRICTS)).strip().splitlines()[-1])
    generated(url).write_text(json.dumps({"seconds": round(time.monotonic() - started)}))


def generated(url: str) -> Path:
    """Where the time the data of ``url`` took to generate is kept (one file per database built)."""
    return DATA / f"generate-{Path(sa.make_url(url).database).stem}.json"


def sqlite_database() -> str:
    path = DATA / f"bench-{CASES}-{HOUSEHOLDS}{f'-{DISTRICTS}d' if DISTRICTS > 1 else ''}.sqlite3"
    url = f"sqlite:///{path}"
    marker = path.with_name(path.name + ".done")
    if not marker.exists():
        path.unlink(missing_ok=True)
        build(url)
        marker.touch()
    return url


def postgres_name(cases: int, households: int, districts: int = 1) -> str:
    return f"portal_bench_{cases}_{households}" + (f"_{districts}d" if districts > 1 else "")


def postgres_database() -> str | None:
    admin = sa.create_engine(POSTGRES_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            name = postgres_name(CASES, HOUSEHOLDS, DISTRICTS)
            url = admin.url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
            marker = DATA / f"{name}.done"
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not (exists and marker.exists()):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                build(url)
                marker.touch()
            return url
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL not reachable ({error.__class__.__name__}); benchmarking SQLite only")
        return None
    finally:
        admin.dispose()


# --- driving the server ------------------------------------------------------------------------------------

def session_of(base: str, username: str) -> tuple[str, str]:
    """The session cookie and CSRF token of ``username``, signed in."""
    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=60).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/auth/login", data={"username": username, "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False, timeout=60)
    assert response.status_code == 303, (username, response.status_code)
    home = session.get(f"{base}/", timeout=60).text
    return f"portal_session={session.cookies['portal_session']}", re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)


def wrk(base: str, path: str, headers: dict[str, str], connections: int = CONNECTIONS, lines: list[str] | None = None,
        method: str = "GET", body: str = "") -> dict:
    env = {**os.environ, "BENCH_THREADS": str(THREADS)}
    if lines:
        handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)  # noqa: SIM115 - removed below
        handle.write("\n".join(lines) + "\n")
        handle.close()
        env["BENCH_LINES"] = handle.name
    elif method != "GET":
        handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)  # noqa: SIM115
        handle.write(f"{method} {path} {body}\n")
        handle.close()
        env["BENCH_LINES"], env["BENCH_THREADS"] = handle.name, "1"
    args = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{SECONDS}s", "--timeout", "10s", "-s", str(LUA)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, base + path], capture_output=True, text=True, env=env, check=True).stdout
    if "BENCH_LINES" in env:
        Path(env["BENCH_LINES"]).unlink()
    return json.loads(output.strip().splitlines()[-1])


def worker_memory(master: int) -> list[float]:
    """Resident memory (MB) of each gunicorn worker."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        except (OSError, AttributeError, IndexError):
            continue
    return sizes


def select(url: str, *queries: str) -> list[list[tuple]]:
    """The rows of each read-only query, on a connection of its own."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = [connection.execute(sa.text(query)).all() for query in queries]
    engine.dispose()
    return rows


def fixtures(url: str) -> dict:
    """What the scenarios need from the data: a case of the post, a phone with history, an API key."""
    key = flask(url, "api-key", "create", "--point", "LS-P01", "--name", f"bench-{time.time_ns()}").split()[-1]
    return {**samples(url), "key": key}


def samples(url: str) -> dict:
    """A closed case of the post LS-P01 and a phone with history (read only)."""
    [(case,)], [(phone,)] = select(
        url,
        "SELECT c.number FROM cases c JOIN service_points p ON p.id = c.service_point_id "
        "WHERE p.code = 'LS-P01' AND c.status = 'closed' ORDER BY c.id DESC LIMIT 1",
        "SELECT requester_phone FROM cases WHERE place_id = (SELECT id FROM places WHERE code = 'H01') "
        "AND description <> 'bench' "
        "ORDER BY id DESC LIMIT 1")
    return {"case": case, "phone": phone}


def writers_lines(url: str, create: str | None = None) -> list[str]:
    """Claims of the cases the creation run just logged, and callbacks of resolved cases, interleaved; with
    ``create`` (a kiosk's POST line), a new case between each (the mixed writers)."""
    waiting, resolved = select(
        url,
        "SELECT number, version FROM cases WHERE status = 'logged' AND channel = 'kiosk' ORDER BY id DESC "
        "LIMIT 20000",
        "SELECT number, version FROM cases WHERE status = 'resolved' ORDER BY id DESC LIMIT 20000")
    claims = [f"POST /cases/{n}/act/claim claim-version={v}" for n, v in waiting]
    closes = [f"POST /cases/{n}/act/close close-version={v}&close-outcome=solved&close-satisfaction=satisfied"
              for n, v in resolved]
    # Interleaved while both last, then the rest: a line is never sent twice (a second claim would be a 409).
    lines = [line for pair in itertools.zip_longest(claims, closes) for line in pair if line is not None]
    return [line for each in lines for line in (each, create)] if create else lines


def floor_session(base: str) -> dict[str, str]:
    """A fresh sign-in on the bare Flask floor."""
    session = requests.Session()
    assert session.post(f"{base}/login", data={"username": "staff-ls-p01"}, allow_redirects=False,
                        timeout=60).status_code == 303
    return {"Cookie": f"session={session.cookies['session']}"}


def measure(server: Gunicorn, path: str, headers: dict[str, str], **options) -> dict:
    """One wrk run against ``server``, with the CPU its workers spent per request."""
    before = server.cpu_seconds()
    figures = wrk(server.url, path, headers, **options)
    figures["cpu_ms"] = (server.cpu_seconds() - before) * 1000 / max(figures["requests"], 1)
    return figures


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def paired(server: Gunicorn, floor: Gunicorn, run_once) -> dict:
    """``run_once`` interleaved with the bare floor (floor, it, floor, it…), REPEATS times; the medians of each
    side and of the ratio of each pair."""
    pairs = []
    for _ in range(REPEATS):
        bare = measure(floor, "/", floor_session(floor.url))
        pairs.append((bare, run_once(server)))
    figures = {key: median([it[key] for _, it in pairs]) for key in pairs[0][1] if key != "label"}
    figures["errors"] = sum(it["bad_status"] + it["socket_errors"] for _, it in pairs)
    figures["floor_rps"] = median([bare["rps"] for bare, _ in pairs])
    figures["floor_cpu_ms"] = median([bare["cpu_ms"] for bare, _ in pairs])
    figures["ratio"] = median([it["rps"] / bare["rps"] for bare, it in pairs if bare["rps"]])
    return figures


def run(backend: str, url: str) -> dict:
    flask(url, "db", "upgrade")  # data built by an older checkout gets the newer indexes
    flask(url, "sweep")  # as cron does every five minutes: folds what the last run's writers added
    data = fixtures(url)
    results: dict[str, dict] = {}
    log = DATA / f"gunicorn-{backend}.log"
    settings = {"OPEN311_KEY_RATE_PER_MINUTE": 10**9, "LOOKUP_ADDRESS_ATTEMPTS": 10**9}
    with Gunicorn(url, workers=2, log=log, settings=settings) as server, \
            Gunicorn(url, workers=2, log=DATA / f"floor-{backend}.log", app="floor:app", ready="/",
                     pythonpath=str(ROOT / "bench")) as floor:
        base = server.url

        def page(username: str, path: str, **extra):
            def once(target: Gunicorn) -> dict:  # signed in afresh for each run
                cookie, token = session_of(base, username)
                headers = {"Cookie": cookie, **({"X-CSRFToken": token} if extra.get("method") or extra.get("lines")
                                                else {})}
                if "etag_of" in extra:
                    board = requests.get(base + extra["etag_of"], headers={"Cookie": cookie}, timeout=60).text
                    etag = re.search(r'data-etag="([^"]+)"', board).group(1)
                    headers.update({"HX-Request": "true", "X-Portal-Poll": "1", "If-None-Match": f'"{etag}"'})
                if extra.get("form"):
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                lines = extra["lines"]() if "lines" in extra else None
                options = {k: v for k, v in extra.items() if k in ("method", "body", "connections")}
                requests.get(base + path, headers={"Cookie": cookie}, timeout=60)  # warm the worker's caches
                return measure(target, path, headers, lines=lines, **options)
            return once

        body = (f"api_key={data['key']}&service_code=CV05&address_id=H01&phone=13912345678&description=bench")
        scenarios = [
            ("floor", "the portal's own floor (a signed-in page with a form)", page("staff-ls-p01", "/auth/password")),
            ("queue", "my queue", page("staff-ls-p01", "/cases/?tab=mine")),
            ("errands", "claimable errands (a proxy's pool)", page("proxy-h01", "/errands/")),
            ("case", "a case page", page("staff-ls-p01", f"/cases/{data['case']}")),
            ("village", "a village board (东岙村)", page("leader", "/boards/place/V1")),
            ("estate", "an estate board (金色环海)", page("leader", "/boards/place/E01")),
            ("wall", "the district wall view", page("leader", "/boards/wall")),
            ("caller", "caller history by phone", page("staff-ls-p01",
                                                       f"/intake/caller?requester_phone={data['phone']}")),
            ("heating", "the heating desk (a butler)", page("butler-e01", "/heating/")),
            ("report", "the monthly report", page("leader", "/boards/report")),
            ("poll", "an unchanged board poll (304)", page("leader", "/boards/place/V1", etag_of="/boards/place/V1")),
            ("create", "case creation (a kiosk's Open311 POST)", page(
                "leader", "/open311/v2/requests.json", method="POST", body=body, form=True)),
            ("writers", f"claim and callback, {WRITERS} concurrent writers", page(
                "leader", "/", lines=lambda: writers_lines(url), connections=WRITERS, form=True)),
            ("mixed", f"mixed: kiosk POSTs, claims and callbacks, {WRITERS} writers", page(
                "leader", "/", lines=lambda: writers_lines(url, f"POST /open311/v2/requests.json {body}"),
                connections=WRITERS, form=True)),
        ]
        for key, label, once in scenarios:
            results[key] = {"label": label, **paired(server, floor, once)}
            figures = results[key]
            print(f"{backend:10} {label:50} {figures['rps']:7.1f}/s {figures['cpu_ms']:6.1f} ms CPU  "
                  f"floor {figures['floor_rps']:7.1f}/s {figures['floor_cpu_ms']:5.1f} ms  "
                  f"x{figures['ratio']:.2f}  p95 {figures['p95']:6.1f} ms", flush=True)
        memory = worker_memory(server.process.pid)
    log_text = log.read_text(errors="replace")
    return {"backend": backend, "url": url, "results": results, "memory_mb": memory, "breakdown": breakdown(url, data),
            "locked": "database is locked" in log_text, "server_errors": log_text.count("Traceback")}


def pages(data: dict) -> list[tuple[str, str, str, bool]]:
    """The pages measured in process (here and by bench/volume.py): (name, username, path, poll) each."""
    return [("the portal's own floor", "staff-ls-p01", "/auth/password", False),
            ("my queue", "staff-ls-p01", "/cases/?tab=mine", False),
            ("claimable errands", "proxy-h01", "/errands/", False),
            ("a case page", "staff-ls-p01", f"/cases/{data['case']}", False),
            ("a village board", "leader", "/boards/place/V1", False),
            ("an estate board", "leader", "/boards/place/E01", False),
            ("the district wall view", "leader", "/boards/wall", False),
            ("caller history", "staff-ls-p01", f"/intake/caller?requester_phone={data['phone']}", False),
            ("the heating desk", "butler-e01", "/heating/", False),
            ("the monthly report", "leader", "/boards/report", False),
            ("an unchanged board poll", "leader", "/boards/place/V1", True)]


def breakdown(url: str, data: dict) -> dict:
    """Where each page's time goes, in process (bench/breakdown.py, in a process of its own)."""
    env = {**os.environ, "PORTAL_SECRET_KEY": "bench"}
    output = subprocess.run([sys.executable, str(ROOT / "bench" / "breakdown.py"), url, json.dumps(pages(data))],
                            cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


# --- the report ----------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    try:
        postgres = subprocess.run(["psql", POSTGRES_ADMIN, "-Atc", "SHOW server_version"], capture_output=True,
                                  text=True, timeout=10).stdout.strip() or "n/a"
    except OSError:
        postgres = "n/a"
    return (f"{cpu}, {os.cpu_count()} cores, {memory:,} MB RAM; {platform.platform()}; Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres}; gunicorn with 2 "
            f"sync workers; wrk with {THREADS} threads and {CONNECTIONS} connections ({WRITERS} for the writers), "
            f"{SECONDS} s a run, each run after a run of the bare floor, {REPEATS} times, on the same machine over "
            f"loopback")


def verdict(key: str, figures: dict) -> str:
    """Against the targets of docs/PERFORMANCE.md: pages at least half the bare floor's requests a second, the
    unchanged poll 0.9 of it, 300 creations a second, writers with a p95 within 100 ms; never an error."""
    checks = [figures["errors"] == 0]
    if key == "poll":
        checks.append(figures["ratio"] >= 0.9)
    elif key == "create":
        checks.append(figures["rps"] >= 300)
    elif key in ("writers", "mixed"):
        checks.append(figures["p95"] <= 100)
    else:
        checks.append(figures["ratio"] >= 0.5)
    return "met" if all(checks) else "**not met**"


def table(run_: dict) -> str:
    rows = ["| what | requests/s | CPU ms a request | bare floor requests/s | its CPU ms | × floor (requests/s) "
            "| p95 ms | errors | target |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for key, figures in run_["results"].items():
        rows.append(f"| {figures['label']} | {figures['rps']:.0f} | {figures['cpu_ms']:.1f} | {figures['floor_rps']:.0f} "
                    f"| {figures['floor_cpu_ms']:.1f} | {figures['ratio']:.2f} | {figures['p95']:.1f} | "
                    f"{figures['errors']} | {verdict(key, figures)} |")
    memory = ", ".join(f"{m:.0f}" for m in run_["memory_mb"])
    rows.append("")
    rows.append(f"Resident memory per worker after the run: {memory} MB (target ≤ 150 MB: "
                f"{'met' if run_['memory_mb'] and max(run_['memory_mb']) <= 150 else '**not met**'}). "
                f"\"database is locked\" in the server log: {'yes' if run_['locked'] else 'never'}; "
                f"server errors: {run_['server_errors']}.")
    return "\n".join(rows)


def write_report(runs: list[dict]) -> None:
    parts = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}. Data: {HOUSEHOLDS:,} households and "
             f"{CASES:,} generated cases over three years (plus the demo directory)."]
    for run_ in runs:
        kept = generated(run_["url"])
        took = json.loads(kept.read_text())["seconds"] if kept.exists() else None
        parts.append(f"### {'SQLite' if run_['backend'] == 'sqlite' else 'PostgreSQL'}\n\n"
                     + (f"Generating the data took {took // 60} min {took % 60} s.\n\n" if took else "")
                     + table(run_)
                     + "\n\nWhere the time goes, in process (`bench/breakdown.py`: one request's CPU, its statements and "
                       "the time waiting on them, rendering, and the rest: Flask, the session, the access rules, building "
                       "statements, the ORM):\n\n"
                     + breakdown_table(run_["breakdown"]["pages"], run_["breakdown"]["floor_ms"]))
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    block = f"{start}\n" + "\n\n".join(parts) + f"\n{end}"
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    runs = []
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    urls = {"sqlite": sqlite_database()} if "sqlite" in wanted else {}
    if "postgresql" in wanted and (url := postgres_database()):
        urls["postgresql"] = url
    if os.environ.get("BENCH_BUILD_ONLY"):
        return
    for backend, url in urls.items():
        runs.append(run(backend, url))
    for run_ in runs:
        (DATA / f"results-{run_['backend']}.json").write_text(json.dumps(run_, indent=1))
    write_report(runs)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
